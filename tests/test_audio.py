from pathlib import Path

import numpy as np
import pytest

from pipeline.asr.audio import AudioError, decode
from tests.conftest import bursts, encode_audio, interview_wav, write_wav


def test_stereo_8k_is_resampled_to_16k_keeping_channels(tmp_path: Path):
    audio = decode(interview_wav(tmp_path / "x.wav", stereo=True, rate=8000))
    assert audio.channels == 2
    assert audio.duration_s == pytest.approx(8.0, abs=0.05)
    left_energy, right_energy = (np.abs(audio.samples[c, :16000]).mean() for c in (0, 1))
    assert left_energy > 0.1 and right_energy < 0.01


def test_corrupt_and_non_audio_files_name_the_file(tmp_path: Path):
    corrupt = tmp_path / "broken.ogg"
    corrupt.write_bytes(b"OggS" + bytes(200))
    with pytest.raises(AudioError, match="broken.ogg"):
        decode(corrupt)
    text = tmp_path / "notes.wav"
    text.write_text("this is not audio")
    with pytest.raises(AudioError, match="notes.wav"):
        decode(text)


def test_over_length_is_refused(tmp_path: Path):
    path = write_wav(tmp_path / "long.wav", bursts([1, 1, 1])[None, :])
    with pytest.raises(AudioError, match="limit"):
        decode(path, max_duration_s=1.0)


@pytest.mark.parametrize(
    ("suffix", "codec"),
    [
        ("wav", "pcm_s16le"),
        ("flac", "flac"),
        ("mp3", "libmp3lame"),
        ("m4a", "aac"),
        ("ogg", "libopus"),
    ],
)
@pytest.mark.parametrize("rate", [8000, 16000])
def test_every_listed_format_decodes_to_16k(tmp_path: Path, suffix, codec, rate):
    path = tmp_path / f"tone.{suffix}"
    seconds = 2.0
    t = np.arange(int(rate * seconds)) / rate
    encode_audio(path, (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), rate, codec)
    audio = decode(path)
    assert audio.channels == 1
    assert abs(audio.duration_s - seconds) < 0.25, audio.duration_s  # codec priming/padding
    assert 0.15 < float(np.abs(audio.samples).max()) < 0.6  # the 0.3 tone, not silence or clipping
