"""Decode any audio container PyAV reads into float32 16 kHz arrays; what the signal holds.

Besides decoding: whether a channel is telephone-band (`is_narrowband`) and where it is
voiced (`voiced_regions`, for the fake transcriber).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from pipeline.errors import AscoltoError

SAMPLE_RATE = 16_000
# Whisper's own loaders (openai-whisper through ffmpeg, faster-whisper through PyAV) hand it
# 16-bit samples. Resampling to 16-bit here too, rounding and clipping the resampler's overshoot
# as they do, gives Whisper the very samples plain Whisper gets: with float samples its words
# moved by up to 2 WER points on telephone audio, as much as inaudible noise moves them
# (benchmarks/asr.py, the noise floor). Part of the transcript cache key.
DECODER = "pyav-s16-16k"


class AudioError(AscoltoError, ValueError):
    """The file is not decodable audio, is empty, or breaks a duration limit."""


@dataclass
class Audio:
    """Decoded audio: `samples` has shape (channels, n) at 16 kHz."""

    samples: np.ndarray

    @property
    def channels(self) -> int:
        """Number of channels kept (1 or 2)."""
        return int(self.samples.shape[0])

    @property
    def duration_s(self) -> float:
        """Length in seconds."""
        return self.samples.shape[1] / SAMPLE_RATE

    def mono(self) -> np.ndarray:
        """Average of the channels."""
        return self.samples.mean(axis=0).astype(np.float32)


NARROWBAND_MAX_SHARE = 1e-4  # of the power above 4 kHz; 16 kHz speech has 3e-3 and more


def is_narrowband(samples: np.ndarray, seconds: float = 60.0) -> bool:
    """True when (almost) no power lies above 4 kHz: telephone audio, whatever its file's rate.

    An 8 kHz call resampled to 16 kHz has about 1e-5 of its power up there; the demo's 16 kHz
    voices 4e-3 to 5e-3, real wideband speech more; white noise half.
    """
    # Averaged over 64 ms Hann frames (Welch): the same shares as one FFT of the whole head,
    # whose length is rarely a fast FFT size (0.2 s a channel against 7 ms).
    frame = 1024
    head = samples[: int(seconds * SAMPLE_RATE)].astype(np.float64)
    frames = head[: len(head) // frame * frame].reshape(-1, frame) * np.hanning(frame)
    power = (np.abs(np.fft.rfft(frames, axis=1)) ** 2).sum(axis=0)
    total = power.sum()
    if total == 0:
        return False
    frequencies = np.fft.rfftfreq(frame, 1 / SAMPLE_RATE)
    return bool(power[frequencies >= 4000].sum() / total < NARROWBAND_MAX_SHARE)


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


def decode(path: Path, max_duration_s: float = 1800.0) -> Audio:
    """Decode and resample a file to 16 kHz, keeping up to two channels.

    The samples are 16-bit values as float32 in [-1, 1), the same as faster-whisper's
    `decode_audio` gives for a mono file.

    Raises AudioError naming the file when it cannot be decoded, holds no audio stream, is silent
    by construction (zero samples) or is longer than `max_duration_s`.
    """
    import av  # deferred: keeps `ascolto --help` fast

    try:
        with av.open(str(path)) as container:
            if not container.streams.audio:
                raise AudioError(f"{path.name}: no audio stream (is it a recording?)")
            stream = container.streams.audio[0]
            layout = "stereo" if stream.codec_context.channels >= 2 else "mono"
            resampler = av.AudioResampler(format="s16p", layout=layout, rate=SAMPLE_RATE)
            chunks: list[np.ndarray] = []
            decoded = 0  # samples so far, kept as a count: summing the chunks is quadratic
            for block in _blocks(container.decode(stream)):
                for out in resampler.resample(block):
                    chunks.append(out.to_ndarray())
                    decoded += chunks[-1].shape[1]
                if decoded > max_duration_s * SAMPLE_RATE:
                    raise AudioError(
                        f"{path.name}: longer than the {max_duration_s:.0f} s limit "
                        "(asr.max_duration_s); split it or raise the limit"
                    )
            for out in resampler.resample(None):
                chunks.append(out.to_ndarray())
    except AudioError:
        raise
    except (av.error.FFmpegError, UnicodeDecodeError, ValueError) as exc:
        raise AudioError(
            f"{path.name}: cannot decode audio ({exc.__class__.__name__}: {exc})"
        ) from exc
    if not chunks:
        raise AudioError(f"{path.name}: decodes to no samples")
    samples = np.concatenate(chunks, axis=1).astype(np.float32) / 32768.0
    if samples.shape[1] < SAMPLE_RATE // 10:
        raise AudioError(f"{path.name}: shorter than 0.1 s")
    return Audio(samples=samples)


BLOCK_S = 10.0  # decoded audio handed to the resampler at once


def _blocks(frames: Iterator[Any]) -> Iterator[Any]:
    """The decoded frames joined into blocks of about `BLOCK_S` seconds, in order.

    The resampler's output does not depend on how its input is cut (the tests check it sample
    for sample), but each call costs: an Opus stream is a frame every 20 ms, and resampling them
    one by one took as long as decoding them. A change of format, layout or rate starts a block.
    """
    pending: list[np.ndarray] = []
    kind: tuple[str, str, int] = ("", "", 0)
    count = 0
    for frame in frames:
        this = (frame.format.name, frame.layout.name, frame.sample_rate)
        if pending and (this != kind or count >= BLOCK_S * frame.sample_rate):
            yield _joined(pending, kind)
            pending, count = [], 0
        kind = this
        pending.append(frame.to_ndarray())
        count += frame.samples
    if pending:
        yield _joined(pending, kind)


def _joined(arrays: list[np.ndarray], kind: tuple[str, str, int]) -> Any:
    import av

    fmt, layout, rate = kind
    frame = av.AudioFrame.from_ndarray(np.concatenate(arrays, axis=1), format=fmt, layout=layout)
    frame.sample_rate = rate
    return frame
