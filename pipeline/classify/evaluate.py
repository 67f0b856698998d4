"""Agreement of a classifier with human labels: the figures issue-level targets are stated in.

Input lines: `{"id", "text", "sentiment", "themes": [codes]}`. Output: sentiment macro-F1 and
accuracy, "felt threatened" F1 (derived from the themes and the taxonomy's threatened composite),
per-theme precision/recall/F1 and theme micro-F1, with the counts behind them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from pipeline.classify.classifier import HybridClassifier
from pipeline.records import SENTIMENTS


@dataclass(frozen=True)
class Example:
    """One labelled statement."""

    id: str
    text: str
    sentiment: str
    themes: frozenset[str]


def _f1(tp: int, fp: int, fn: int) -> dict[str, float | int | None]:
    precision = tp / (tp + fp) if tp + fp else None
    recall = tp / (tp + fn) if tp + fn else None
    f1 = (
        2 * precision * recall / (precision + recall)
        if precision is not None and recall is not None and precision + recall
        else (0.0 if tp + fp + fn else None)
    )
    return {
        "precision": _round(precision),
        "recall": _round(recall),
        "f1": _round(f1),
        "support": tp + fn,
    }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def evaluate(examples: Iterable[Example], classifier: HybridClassifier) -> dict[str, Any]:
    """Compare the classifier's labels with the human ones."""
    examples = list(examples)
    threatened_codes = classifier.taxonomy.threatened
    codes = [t.code for t in classifier.taxonomy.themes]
    sentiment_counts = {s: [0, 0, 0] for s in SENTIMENTS}  # tp, fp, fn
    theme_counts = {c: [0, 0, 0] for c in codes}
    threat = [0, 0, 0]
    correct = total = 0
    for ex, label in zip(
        examples, classifier.classify_many([e.text for e in examples]), strict=True
    ):
        total += 1
        correct += label.sentiment == ex.sentiment
        for s in SENTIMENTS:
            _count(sentiment_counts[s], label.sentiment == s, ex.sentiment == s)
        for code in codes:
            _count(theme_counts[code], code in label.themes, code in ex.themes)
        _count(threat, label.threatened, bool(ex.themes & threatened_codes))
    per_sentiment = {s: _f1(*c) for s, c in sentiment_counts.items()}
    macro = [m["f1"] for m in per_sentiment.values() if m["support"]]
    micro = [sum(c[i] for c in theme_counts.values()) for i in range(3)]
    return {
        "examples": total,
        "classifier": classifier.method,
        "sentiment_accuracy": _round(correct / total) if total else None,
        "sentiment_macro_f1": _round(sum(m for m in macro if m is not None) / len(macro))
        if macro
        else None,
        "sentiment": per_sentiment,
        "threatened": _f1(*threat),
        "theme_micro_f1": _f1(*micro)["f1"],
        "themes": {code: _f1(*c) for code, c in theme_counts.items() if sum(c)},
    }


def _count(counts: list[int], predicted: bool, actual: bool) -> None:
    if predicted and actual:
        counts[0] += 1
    elif predicted:
        counts[1] += 1
    elif actual:
        counts[2] += 1
