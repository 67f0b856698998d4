"""Optional playback: one quote's segment decoded from the original recording into WAV bytes.

Off by default (`review.audio: false`): the audio holds the customer's voice and every personal
detail the redactor removed from the text. When on, the segment is decoded on request and
returned from memory; nothing is written to disk.
"""

from __future__ import annotations

import io
import wave
from pathlib import Path

import numpy as np

from pipeline.asr.audio import SAMPLE_RATE, decode
from pipeline.errors import AscoltoError
from pipeline.ingest import sha256_file


class AudioUnavailable(AscoltoError, LookupError):
    """Playback is off, or the recording is not where the review settings say."""


def recording_path(recordings: Path | None, file: str, recording_id: str) -> Path:
    """The original recording of a quote, checked to be inside `recordings` and the same audio.

    The store keeps the manifest's file name and the audio's SHA-256 (its id), never a path:
    a file that moved, or was replaced by other audio under the same name, is refused.
    """
    if recordings is None:
        raise AudioUnavailable(
            "no recordings folder: set review.recordings (the folder given to `ascolto run`)"
        )
    root = recordings.resolve()
    path = (root / file).resolve()
    if not path.is_relative_to(root) or not path.is_file():
        raise AudioUnavailable(f"recording {file!r} not found under {recordings}")
    if sha256_file(path) != recording_id:
        raise AudioUnavailable(f"{file!r} under {recordings} is not the audio that was analysed")
    return path


def segment_wav(path: Path, start_s: float, end_s: float, channel: int | None) -> bytes:
    """16 kHz 16-bit mono WAV of `start_s`..`end_s`, from `channel` (None or mono: all mixed)."""
    audio = decode(path)
    first = max(0, int(start_s * SAMPLE_RATE))
    last = max(first, int(end_s * SAMPLE_RATE))
    if channel is not None and audio.channels > channel:
        samples = audio.samples[channel]
    else:
        samples = audio.mono()
    pcm = (np.clip(samples[first:last], -1, 1) * 32767).astype(np.int16)
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(SAMPLE_RATE)
        out.writeframes(pcm.tobytes())
    return buffer.getvalue()
