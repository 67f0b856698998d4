"""Load a run's models ahead of its stages, in the order the run needs them, while time allows.

Every model loads on first use and stays cached for the process, so this is never needed for a
correct run. The CLI calls `load_while` while Prefect's temporary server starts: those seconds
would otherwise be spent waiting, and each model loaded then is one the stages find ready. It
stops as soon as the server is up, so a rerun with nothing new never waits for a model it may not
need.
"""

from __future__ import annotations

from collections.abc import Callable

from pipeline.asr.transcribe import make_transcriber
from pipeline.config import Settings
from pipeline.privacy.redact import Redactor
from pipeline.stages.embed import default_embedder


def _loaders(settings: Settings, transcription: bool) -> list[tuple[str, Callable[[], None]]]:
    """(name, loader) in the order a run first uses them."""
    from pipeline.classify.classifier import make_classifier
    from pipeline.imports import import_bertopic

    def classifier() -> None:
        loaded = make_classifier(settings)  # cached parts: spaCy, the heads
        if loaded.embedder is not None:
            loaded.embedder.load()

    return [
        *([("whisper", make_transcriber(settings.asr).load)] if transcription else []),
        ("redaction", Redactor(settings.redact.entities).load),
        ("embedder", default_embedder(settings).load),
        ("classifier", classifier),
        ("bertopic", import_bertopic),
    ]


def load_while(
    settings: Settings, keep_going: Callable[[], bool], transcription: bool = True
) -> list[str]:
    """Load the run's models one by one while `keep_going()` is true; the names loaded.

    `transcription=False` skips Whisper (Dask workers load their own).
    """
    loaded = []
    for name, load in _loaders(settings, transcription):
        if not keep_going():
            break
        load()
        loaded.append(name)
    return loaded
