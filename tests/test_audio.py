from pathlib import Path

import numpy as np
import pytest

from pipeline.audio import AudioError, decode
from tests.conftest import bursts, interview_wav, write_wav


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
