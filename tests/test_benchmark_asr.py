"""The paired interval `benchmarks/asr.py` puts beside the product path's WER difference."""

from __future__ import annotations

from benchmarks.asr import file_edits, paired_difference

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
