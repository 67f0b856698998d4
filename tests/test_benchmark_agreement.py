"""The reader-agreement figures (`benchmarks/agreement.py`) and the readers' label files."""

from __future__ import annotations

import json

import pytest

from benchmarks import agreement
from pipeline.classify import corpora
from pipeline.classify.evaluate import Judgement, compare

CODES = ["LEGAL_THREAT", "COURTESY"]


def taxonomy_codes() -> set[str]:
    from pipeline.classify.taxonomy import load_taxonomy
    from pipeline.config import load_settings

    return {t.code for t in load_taxonomy(load_settings().themes_file).themes}


def judge(sentiment: str, *themes: str) -> Judgement:
    return Judgement(sentiment, frozenset(themes), "LEGAL_THREAT" in themes)


A = [judge("negative", "LEGAL_THREAT"), judge("negative", "LEGAL_THREAT"), judge("positive")]
B = [judge("negative", "LEGAL_THREAT"), judge("neutral"), judge("positive", "LEGAL_THREAT")]


def test_flag_f1_is_the_same_either_way_round_and_precision_swaps_with_recall() -> None:
    one, other = compare(A, B, CODES)["threatened"], compare(B, A, CODES)["threatened"]
    assert one["f1"] == other["f1"] == 0.5
    assert (one["precision"], one["recall"]) == (other["recall"], other["precision"])


def test_majority_votes_each_theme_and_breaks_a_three_way_sentiment_tie() -> None:
    vote = agreement.majority(
        [
            judge("negative", "LEGAL_THREAT"),
            judge("neutral", "COURTESY"),
            judge("positive", "LEGAL_THREAT"),
        ],
        tie_breaker=1,
    )
    assert vote == Judgement("neutral", frozenset({"LEGAL_THREAT"}), True)
    assert (
        agreement.majority([judge("positive"), judge("positive"), judge("negative")]).sentiment
        == "positive"
    )


def test_bootstrap_interval_holds_the_observed_f1() -> None:
    flags_a = [True] * 30 + [False] * 70
    flags_b = [True] * 24 + [False] * 6 + [True] * 6 + [False] * 64
    low, high = agreement.bootstrap_f1(flags_a, flags_b, rounds=300)
    assert low < 0.8 < high < 1.0


def test_sample_is_fixed_and_takes_the_same_share_of_every_writer() -> None:
    files = corpora.heldout_authors()
    first, second = agreement.sample(files), agreement.sample(files)
    assert [e.id for e in first] == [e.id for e in second]
    assert len(first) == agreement.PER_WRITER * len(files)
    assert len({e.id for e in first}) == len(first)


@pytest.mark.parametrize("path", sorted(agreement.READERS_DIR.glob("reader_*.jsonl")), ids=str)
def test_reader_files_label_every_sampled_statement_and_carry_no_text(path) -> None:
    ids = [e.id for e in agreement.sample(corpora.heldout_authors())]
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert all(set(row) == {"id", "sentiment", "themes"} for row in rows)
    assert sorted(row["id"] for row in rows) == sorted(ids)
    agreement.read_reader(path, ids, taxonomy_codes())


def test_a_reader_file_missing_an_id_is_refused(tmp_path) -> None:
    path = tmp_path / "reader_x.jsonl"
    path.write_text(json.dumps({"id": "a1", "sentiment": "neutral", "themes": []}) + "\n")
    with pytest.raises(SystemExit, match="no label for 1 sampled ids"):
        agreement.read_reader(path, ["a1", "a2"], set(CODES))
