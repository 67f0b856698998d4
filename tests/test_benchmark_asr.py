"""The paired interval `benchmarks/asr.py` puts beside the product path's WER difference."""

from __future__ import annotations

import numpy as np

from benchmarks.asr import _plain_input, _write_wav, file_edits, paired_difference, summary

REFERENCES = [f"buongiorno la chiamo per una breve intervista numero {i}".split() for i in range(8)]


def test_file_edits_count_substitutions_deletions_and_insertions() -> None:
    reference = ["come", "è", "andato", "il", "contatto"]
    assert file_edits(reference, reference) == 0
    assert file_edits(reference, ["come", "andato", "il", "contratto", "ieri"]) == 3
    assert file_edits(reference, []) == len(reference)


def test_the_same_texts_differ_by_nothing() -> None:
    same = paired_difference(REFERENCES, REFERENCES, REFERENCES)
    assert same["points"] == 0 and same["interval_95"] == [0.0, 0.0]
    assert same["files_same"] == len(REFERENCES)


def test_a_path_worse_on_every_file_has_an_interval_above_zero() -> None:
    worse = [r[1:] for r in REFERENCES]  # the first word of every file lost
    result = paired_difference(REFERENCES, worse, REFERENCES)
    assert result["points"] > 0 and result["interval_95"][0] > 0
    assert result["files_worse"] == len(REFERENCES)


def test_two_paths_each_worse_on_one_file_leave_the_interval_across_zero() -> None:
    first = [r[1:] if i == 0 else r for i, r in enumerate(REFERENCES)]
    second = [r[1:] if i == 1 else r for i, r in enumerate(REFERENCES)]
    result = paired_difference(REFERENCES, first, second)
    assert result["points"] == 0 and result["files_worse"] == result["files_better"] == 1
    low, high = result["interval_95"]
    assert low < 0 < high


def _result(texts: dict[str, str]) -> dict:
    per_set = {"wer": 0.0, "rtf": 0.1, "transcribe_s": 1.0, "texts": texts}
    return {"16k": per_set, "8k-telephone": per_set, "peak_rss_mb": 1, "words_on_probes": {}}


def test_the_summary_scores_each_noise_floor_variant_against_plain_faster_whisper() -> None:
    references = [(f"f{i}", " ".join(r)) for i, r in enumerate(REFERENCES)]
    right = {f: text for f, text in references}
    first_word_lost = {f: text.split(" ", 1)[1] for f, text in references}
    results = {
        "ascolto": _result(right),
        "plain-fw": _result(right),
        "plain-fw-dither-1": _result(first_word_lost),
        "plain-fw-our-decode": _result(right),
    }
    floor = summary(results, references)["plain_fw_variant_minus_plain_fw_by_file"]
    assert set(floor) == {"plain-fw-dither-1", "plain-fw-our-decode"}
    assert floor["plain-fw-dither-1"]["8k-telephone"]["files_worse"] == len(references)
    assert floor["plain-fw-our-decode"]["16k"]["points"] == 0


def test_dither_is_one_sixteen_bit_step_and_the_same_for_a_seed(tmp_path) -> None:
    audio = tmp_path / "tone.wav"
    tone = 0.1 * np.sin(np.arange(16_000) / 16_000 * 2 * np.pi * 440)
    _write_wav(audio, tone.astype(np.float32), 16_000)
    clean = _plain_input("ascolto-decode")(audio)
    first, again = _plain_input("dither-1")(audio), _plain_input("dither-1")(audio)
    other = _plain_input("dither-2")(audio)
    assert np.array_equal(first, again) and not np.array_equal(first, other)
    assert 0.5 / 32768 < float(np.std(first - clean)) < 2 / 32768
