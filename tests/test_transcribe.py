import hashlib
import time
from pathlib import Path

import numpy as np
import pytest

from pipeline.asr import audio, transcribe
from pipeline.asr.audio import SAMPLE_RATE
from pipeline.asr.transcribe import (
    FakeTranscriber,
    ModelError,
    TimedTranscriber,
    apply_guards,
    is_repetition_loop,
    resolve_model,
)
from pipeline.config import AsrConfig
from pipeline.records import Segment
from tests.conftest import bursts


def test_repetition_loop_detected_but_normal_speech_kept():
    assert is_repetition_loop("grazie grazie grazie grazie grazie grazie")
    assert is_repetition_loop("non lo so non lo so non lo so non lo so non lo so")
    assert not is_repetition_loop("no no, non mi hanno mai chiamato due volte")


def test_guards_drop_invented_text_and_flag_low_confidence():
    cfg = AsrConfig()
    segments = [
        Segment(0, 1, "Sottotitoli a cura di QTSS", avg_logprob=-1.5, no_speech_prob=0.9),
        Segment(1, 2, "ciao ciao ciao ciao ciao ciao", avg_logprob=-0.3),
        Segment(2, 3, "mi hanno chiamato tre volte", avg_logprob=-1.2, no_speech_prob=0.1),
        Segment(3, 4, "tutto chiaro", avg_logprob=-0.2, no_speech_prob=0.1),
    ]
    kept = apply_guards(segments, cfg)
    assert [s.text for s in kept] == ["mi hanno chiamato tre volte", "tutto chiaro"]
    assert [s.low_confidence for s in kept] == [True, False]


def test_fake_yields_nothing_on_silence():
    fake = FakeTranscriber()
    assert fake.transcribe(np.zeros(16000 * 3, dtype=np.float32), "it") == []
    assert len(fake.transcribe(bursts([1, 0, 1]), "it")) == 2


def test_timed_transcriber_adds_up_the_seconds_inside_its_transcriber():
    class Slow(FakeTranscriber):
        def transcribe(self, samples, language):
            time.sleep(0.05)
            return super().transcribe(samples, language)

    inner = Slow()
    timed = TimedTranscriber(inner)
    assert (timed.backend, timed.model_id) == ("fake", "fake")
    assert timed.transcribe(bursts([1, 0, 1]), "it") == inner.transcribe(bursts([1, 0, 1]), "it")
    timed.transcribe(bursts([1]), "it")
    assert timed.detect_language(bursts([1])) == ("it", 0.99)
    assert 0.1 <= timed.seconds < 1.0 and inner.calls == 3


def test_unknown_model_path_gives_a_fix(tmp_path: Path):
    with pytest.raises(ModelError, match="bundled:whisper-base"):
        resolve_model(str(tmp_path / "no-model"))


def _fake_parts(tmp_path: Path, payload: bytes) -> dict[str, Path]:
    parts = {}
    for i, name in enumerate(transcribe.BUNDLED_PACKAGES, 1):
        data = tmp_path / name / "data"
        data.mkdir(parents=True)
        (data / f"model.bin.part{i}").write_bytes(payload[:4] if i == 1 else payload[4:])
        for side in ("config.json", "tokenizer.json", "vocabulary.txt"):
            (data / side).write_text("{}")
        parts[name] = data
    return parts


def test_bundled_weights_are_joined_and_verified(tmp_path: Path, monkeypatch):
    payload = b"abcdefgh"
    parts = _fake_parts(tmp_path, payload)
    monkeypatch.setattr(transcribe, "_package_data", lambda name: parts[name])
    monkeypatch.setenv("ASCOLTO_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(transcribe, "BUNDLED_SHA256", hashlib.sha256(payload).hexdigest())
    folder = transcribe.bundled_model_dir()
    assert (folder / "model.bin").read_bytes() == payload
    assert (folder / "tokenizer.json").is_file()


def test_tampered_bundled_weights_are_refused(tmp_path: Path, monkeypatch):
    parts = _fake_parts(tmp_path, b"abcdefgh")
    monkeypatch.setattr(transcribe, "_package_data", lambda name: parts[name])
    monkeypatch.setenv("ASCOLTO_CACHE", str(tmp_path / "cache"))
    with pytest.raises(ModelError, match="failed verification"):
        transcribe.bundled_model_dir()
    assert not list((tmp_path / "cache").rglob("model.bin"))


def test_device_and_compute_type_auto_fall_back_to_cpu_int8(monkeypatch):
    monkeypatch.setattr(transcribe, "_cuda_available", lambda: False)
    assert transcribe.resolve_device(AsrConfig()) == ("cpu", "int8")
    monkeypatch.setattr(transcribe, "_cuda_available", lambda: True)
    assert transcribe.resolve_device(AsrConfig()) == ("cuda", "float16")
    assert transcribe.resolve_device(AsrConfig(device="cpu", compute_type="float32")) == (
        "cpu",
        "float32",
    )


def test_backend_choice_and_openai_model_resolution(tmp_path: Path, monkeypatch):
    assert transcribe.make_transcriber(AsrConfig()).backend == "faster-whisper"
    assert transcribe.make_transcriber(AsrConfig(backend="openai-whisper")).backend == (
        "openai-whisper"
    )
    with pytest.raises(ModelError, match="official name"):
        transcribe.resolve_openai_model("nonexistent-model")
    checkpoint = tmp_path / "mine.pt"
    checkpoint.write_bytes(b"x")
    assert transcribe.resolve_openai_model(str(checkpoint)) == str(checkpoint)
    assert transcribe.resolve_openai_model("small") == "small"  # downloaded by openai-whisper

    converted = []

    def fake_convert(src, out):
        converted.append(out)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(b"pt")

    monkeypatch.setenv("ASCOLTO_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(transcribe, "bundled_model_dir", lambda: tmp_path / "ct2")
    monkeypatch.setattr("pipeline.asr.whisper_convert.convert", fake_convert)
    first = transcribe.resolve_openai_model(transcribe.BUNDLED_ALIAS)
    again = transcribe.resolve_openai_model(transcribe.BUNDLED_ALIAS)
    assert first == again and len(converted) == 1  # converted once, then reused


def test_unreachable_official_model_is_a_clear_error(monkeypatch):
    whisper = pytest.importorskip("whisper")

    def offline(*args, **kwargs):
        raise OSError("network is unreachable")

    monkeypatch.setattr(whisper, "load_model", offline)
    transcribe._load_openai.cache_clear()
    with pytest.raises(ModelError, match="offline, use 'bundled:whisper-base'"):
        transcribe._load_openai("small", "cpu", 1)


class _RecordingModel:
    """Stands in for WhisperModel: records the options it is given, hears nothing."""

    def __init__(self) -> None:
        self.options: dict = {}

    def transcribe(self, samples, **options):
        self.options = options
        return iter(()), None


def test_vad_and_prompt_settings_reach_faster_whisper(monkeypatch):
    model = _RecordingModel()
    monkeypatch.setattr(transcribe.FasterWhisperTranscriber, "_model", lambda self: model)
    silence = np.zeros(SAMPLE_RATE, dtype=np.float32)
    transcribe.FasterWhisperTranscriber(AsrConfig(device="cpu")).transcribe(silence, "it")
    # the telephone-safe defaults of configs/default.yaml, not Silero's 0.5 / 400 ms
    assert model.options["vad_parameters"] == {"threshold": 0.2, "speech_pad_ms": 600}
    assert model.options["initial_prompt"] is None  # "" in the YAML means no prompt
    config = AsrConfig(device="cpu", vad_threshold=0.5, initial_prompt="recupero crediti")
    transcribe.FasterWhisperTranscriber(config).transcribe(silence, "it")
    assert model.options["vad_parameters"]["threshold"] == 0.5
    assert model.options["initial_prompt"] == "recupero crediti"


def test_vad_threshold_is_validated():
    with pytest.raises(ValueError, match="vad_threshold"):
        AsrConfig(vad_threshold=1.5)


def test_telephone_band_audio_is_told_apart_from_wideband():
    rng = np.random.default_rng(0)
    wide = rng.standard_normal(5 * SAMPLE_RATE).astype(np.float32)
    spectrum = np.fft.rfft(wide)
    spectrum[np.fft.rfftfreq(len(wide), 1 / SAMPLE_RATE) >= 3400] = 0  # what a phone line keeps
    narrow = np.fft.irfft(spectrum, len(wide)).astype(np.float32)
    assert audio.is_narrowband(narrow) and not audio.is_narrowband(wide)
    assert not audio.is_narrowband(np.zeros(SAMPLE_RATE, dtype=np.float32))
    auto = AsrConfig()  # "narrowband": conditioned on the previous text for calls only
    assert transcribe.conditioned(auto, narrow) and not transcribe.conditioned(auto, wide)
    assert transcribe.conditioned(AsrConfig(condition_on_previous_text=True), wide)
    assert not transcribe.conditioned(AsrConfig(condition_on_previous_text=False), narrow)
