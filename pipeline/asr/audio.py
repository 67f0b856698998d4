"""Decode any audio container PyAV reads into float32 16 kHz arrays, one row per channel."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pipeline.errors import AscoltoError

SAMPLE_RATE = 16_000


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


def decode(path: Path, max_duration_s: float = 1800.0) -> Audio:
    """Decode and resample a file to 16 kHz float32, keeping up to two channels.

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
            resampler = av.AudioResampler(format="fltp", layout=layout, rate=SAMPLE_RATE)
            chunks = []
            decoded = 0  # samples so far, kept as a count: summing the chunks is quadratic
            for frame in container.decode(stream):
                for out in resampler.resample(frame):
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
    samples = np.concatenate(chunks, axis=1).astype(np.float32)
    if samples.shape[1] < SAMPLE_RATE // 10:
        raise AudioError(f"{path.name}: shorter than 0.1 s")
    return Audio(samples=samples)
