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


def _frame_by_frame(path: Path) -> np.ndarray:
    """The resampling `decode` did before it joined frames into blocks: one call per frame."""
    import av

    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        layout = "stereo" if stream.codec_context.channels >= 2 else "mono"
        resampler = av.AudioResampler(format="s16p", layout=layout, rate=16_000)
        chunks = [
            out.to_ndarray() for f in container.decode(stream) for out in resampler.resample(f)
        ]
        chunks += [out.to_ndarray() for out in resampler.resample(None)]
    return np.concatenate(chunks, axis=1).astype(np.float32) / 32768.0


@pytest.mark.parametrize("suffix", ["wav", "flac", "mp3", "m4a", "ogg"])
def test_blocks_resample_to_the_same_samples_as_frame_by_frame(tmp_path: Path, suffix):
    rate, seconds = 8000, 23.0  # longer than two blocks
    t = np.arange(int(rate * seconds)) / rate
    tone = (0.3 * np.sin(2 * np.pi * 440 * t) * (1 + np.sin(2 * np.pi * 0.5 * t)) / 2).astype(
        np.float32
    )
    path = encode_audio(tmp_path / f"tone.{suffix}", tone, rate)
    assert np.array_equal(decode(path).samples, _frame_by_frame(path))


def test_a_stereo_demo_recording_resamples_to_the_same_samples_as_frame_by_frame():
    demo = sorted((Path(__file__).parents[1] / "demo" / "recordings").glob("*"))
    stereo = next(p for p in demo if decode(p).channels == 2)
    assert np.array_equal(decode(stereo).samples, _frame_by_frame(stereo))


@pytest.mark.parametrize("codec", ["pcm_mulaw", "pcm_s16le"])
def test_a_mono_call_decodes_to_the_samples_plain_faster_whisper_gets(tmp_path: Path, codec):
    from faster_whisper import decode_audio

    rate = 8000
    t = np.arange(rate * 3) / rate
    # near full scale, so resampling to 16 kHz overshoots and must clip as Whisper's loader does
    tone = (0.99 * np.sign(np.sin(2 * np.pi * 300 * t))).astype(np.float32)
    path = encode_audio(tmp_path / "call.wav", tone, rate, codec=codec)
    ours = decode(path).mono()
    assert float(np.abs(ours).max()) <= 1.0
    assert np.array_equal(ours, decode_audio(str(path), sampling_rate=16_000))
