"""The leave-one-writer-out benchmark (`benchmarks/writers.py`): its plan and its arithmetic."""

from __future__ import annotations

import json
from pathlib import Path

from benchmarks import writers
from pipeline.classify import corpora

RESULTS = Path(writers.ROOT) / "benchmarks" / "results" / "writers.json"


def scored(sentiment: float, threatened: float, themes: float) -> dict[str, float]:
    return {"sentiment_macro_f1": sentiment, "threatened_f1": threatened, "theme_micro_f1": themes}


def condition(benign: float, **files: dict[str, float]) -> dict:
    return {"benign_threatened_rate": {"fortunes": benign}, "scored": files}


def test_base_training_is_the_shipped_heads_files_without_the_seventeenth() -> None:
    names = [p.name for p in writers.base_training()]
    assert "train.jsonl" in names and "train_extra.jsonl" in names
    assert not any("seventeenth" in name or name.startswith("dev") for name in names)
    assert writers.writer_name(Path("statements_twentyfirst_it.jsonl")) == "twentyfirst"


def test_summary_compares_each_writer_with_the_base_heads_on_the_same_lines() -> None:
    conditions = {
        "base": condition(
            0.02,
            dev=scored(0.8, 0.8, 0.7),
            statements_a_it=scored(0.7, 0.6, 0.5),
            statements_b_it=scored(0.7, 0.9, 0.5),
        ),  # fmt: skip
        "a": condition(0.04, dev=scored(0.8, 0.7, 0.7), statements_a_it=scored(0.8, 0.7, 0.5)),
        "b": condition(0.01, dev=scored(0.8, 0.9, 0.7), statements_b_it=scored(0.7, 0.8, 0.6)),
    }
    summary = writers.summarize(conditions)
    assert summary["writers"]["a"]["gain"] == {
        "sentiment_macro_f1": 0.1, "threatened_f1": 0.1, "theme_micro_f1": 0.0,
    }  # fmt: skip
    assert summary["writers"]["b"]["gain"]["threatened_f1"] == -0.1
    assert summary["mean_gain_on_the_unseen_writer"]["threatened_f1"] == 0.0
    assert summary["writers_up_on_threatened_f1"] == 1
    assert summary["dev_splits_mean_over_conditions"]["threatened_f1"] == 0.8
    assert summary["most_benign_threatened_rate"] == 0.04
    assert writers.summarize({}) == {}


def test_committed_results_cover_every_held_out_writer_and_match_their_summary() -> None:
    result = json.loads(RESULTS.read_text(encoding="utf-8"))
    names = [writers.writer_name(p) for p in corpora.heldout_authors()]
    assert list(result["conditions"]) == ["base", *names]
    for name in names:
        files = result["conditions"][name]["training_files"]
        assert f"statements_{name}_it.jsonl" not in files
        assert len([f for f in files if f.startswith("statements_")]) == len(names) - 1
    assert result["summary"] == writers.summarize(result["conditions"])
