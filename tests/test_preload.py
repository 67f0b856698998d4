"""Models loaded while Prefect's temporary server starts (pipeline.stages.models, the CLI)."""

import threading

from ascolto import run_commands
from pipeline.config import load_settings
from pipeline.privacy.redact import _analyzer
from pipeline.stages import models


def test_loading_follows_the_run_order_and_stops_when_the_server_is_up():
    answers = iter([True, True, False])
    loaded = models.load_while(load_settings(), lambda: next(answers), transcription=False)
    assert loaded == ["redaction", "embedder"]
    assert _analyzer.cache_info().currsize == 1
    assert models.load_while(load_settings(), lambda: False) == []


def test_whisper_comes_first_unless_dask_workers_transcribe(monkeypatch):
    settings = load_settings()
    assert [name for name, _ in models._loaders(settings, transcription=True)][:2] == [
        "whisper",
        "redaction",
    ]
    assert "whisper" not in [name for name, _ in models._loaders(settings, transcription=False)]
    calls = []
    monkeypatch.setattr(models, "load_while", lambda s, keep_going, transcription: calls.append(
        (keep_going(), transcription)))  # fmt: skip
    server_up = threading.Event()
    starting = threading.Thread(target=server_up.wait, daemon=True)
    starting.start()
    run_commands._load_models_meanwhile(settings, run_commands.RunOptions(dask="local:2"), starting)
    server_up.set()
    assert calls == [(True, False)]  # the server still starting, Whisper left to the workers
