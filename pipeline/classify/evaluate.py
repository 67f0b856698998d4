"""Agreement of a classifier with human labels: the figures issue-level targets are stated in.

Input lines: `{"id", "text", "sentiment", "themes": [codes]}`. Output: sentiment macro-F1 and
accuracy, "felt threatened" F1 (derived from the themes and the taxonomy's threatened composite),
per-theme precision/recall/F1 and theme micro-F1, with the counts behind them.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from pipeline.classify.classifier import HybridClassifier
from pipeline.records import SENTIMENTS


@dataclass(frozen=True)
class Example:
    """One labelled statement.

    `known` says which theme labels are known: "all" (interview statements, benign sentences),
    "threats" (only that no threat theme applies: a joyful tweet) or "none" (sentiment only).
    `source` names who wrote it (the file it came from): `ascolto train --folds-by source` keeps
    one source's statements in one cross-validation fold.
    """

    id: str
    text: str
    sentiment: str
    themes: frozenset[str]
    known: Literal["all", "threats", "none"] = "all"
    source: str = ""


def _scores(actual: Any, predicted: Any, labels: list[Any]) -> list[dict[str, float | int | None]]:
    """Precision, recall, F1 and support of each label (scikit-learn's counts).

    A precision or recall with nothing to divide by is None. F1 is their harmonic mean, not
    scikit-learn's 2tp / (2tp + fp + fn): the two differ in the last bit, which changes the
    third decimal for some counts (tp 1, fp 9, fn 21: 0.063 against 0.062) and so the figures
    already published. F1 is 0.0 when either is None or both are 0, and None when nothing was
    found or expected.
    """
    from sklearn.metrics import precision_recall_fscore_support

    if not len(actual):
        precision = recall = np.full(len(labels), np.nan)
        support = np.zeros(len(labels), dtype=int)
    else:
        precision, recall, _, support = precision_recall_fscore_support(
            actual, predicted, labels=labels, average=None, zero_division=np.nan
        )
    out: list[dict[str, float | int | None]] = []
    for p, r, n in zip(precision.tolist(), recall.tolist(), support.tolist(), strict=True):
        p, r = (None if math.isnan(p) else p), (None if math.isnan(r) else r)
        f1 = (
            2 * p * r / (p + r)
            if p is not None and r is not None and p + r
            else (None if p is None and r is None else 0.0)
        )
        out.append(
            {"precision": _round(p), "recall": _round(r), "f1": _round(f1), "support": int(n)}
        )
    return out


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


@dataclass(frozen=True)
class Judgement:
    """What one reader (a person or a classifier) said of one statement."""

    sentiment: str
    themes: frozenset[str]
    threatened: bool


def judgement_of(example: Example, threatened_codes: frozenset[str]) -> Judgement:
    """A human label as a judgement: "felt threatened" is any of the threatened themes."""
    return Judgement(example.sentiment, example.themes, bool(example.themes & threatened_codes))


def compare(
    reference: Sequence[Judgement], other: Sequence[Judgement], codes: Sequence[str]
) -> dict[str, Any]:
    """Agreement of `other` with `reference`, statement by statement: `evaluate`'s figures.

    Precision and recall take `reference` as the truth; threatened and theme micro-F1 are the
    same whichever way round two readers are compared.
    """
    from sklearn.metrics import accuracy_score

    if len(reference) != len(other):
        raise ValueError(f"{len(reference)} reference judgements against {len(other)}")
    codes = list(codes)
    actual_themes = np.array([[c in j.themes for c in codes] for j in reference], dtype=int)
    found_themes = np.array([[c in j.themes for c in codes] for j in other], dtype=int)
    actual_themes = actual_themes.reshape(len(reference), len(codes))
    found_themes = found_themes.reshape(len(other), len(codes))
    actual_sentiment = [j.sentiment for j in reference]
    found_sentiment = [j.sentiment for j in other]
    per_sentiment = dict(
        zip(SENTIMENTS, _scores(actual_sentiment, found_sentiment, list(SENTIMENTS)), strict=True)
    )
    macro = [m["f1"] for m in per_sentiment.values() if m["support"]]
    (threatened,) = _scores(
        np.array([j.threatened for j in reference], dtype=int),
        np.array([j.threatened for j in other], dtype=int),
        [1],
    )
    (micro,) = _scores(actual_themes.ravel(), found_themes.ravel(), [1])
    per_theme = [
        _scores(actual_themes[:, j], found_themes[:, j], [1])[0] for j in range(len(codes))
    ]
    total = len(reference)
    return {
        "sentiment_accuracy": _round(float(accuracy_score(actual_sentiment, found_sentiment)))
        if total
        else None,
        "sentiment_macro_f1": _round(sum(m for m in macro if m is not None) / len(macro))
        if macro
        else None,
        "sentiment": per_sentiment,
        "threatened": threatened,
        "theme_micro_f1": micro["f1"],
        "themes": {
            code: m for code, m in zip(codes, per_theme, strict=True) if m["f1"] is not None
        },
    }


def evaluate(examples: Iterable[Example], classifier: HybridClassifier) -> dict[str, Any]:
    """Compare the classifier's labels with the human ones."""
    examples = list(examples)
    labels = classifier.classify_many([e.text for e in examples])
    threatened_codes = classifier.taxonomy.threatened
    figures = compare(
        [judgement_of(e, threatened_codes) for e in examples],
        [Judgement(label.sentiment, frozenset(label.themes), label.threatened) for label in labels],
        [t.code for t in classifier.taxonomy.themes],
    )
    return {"examples": len(examples), "classifier": classifier.method, **figures}
