"""Quotes as the review page lists them, how unsure the model was, and what a review must say.

No web framework here: `app.py` wires these functions to HTTP, tests call them directly.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal

import pandas as pd
from pydantic import BaseModel, ConfigDict

from pipeline.classify.taxonomy import Taxonomy
from pipeline.errors import AscoltoError
from pipeline.records import Sentiment
from pipeline.store.reviews import text_hash

DEFAULT_THRESHOLD = 0.5  # theme threshold when the classifier has no trained head for it
Status = Literal["all", "reviewed", "unreviewed"]
LabelFilter = Literal["", "threatened", "not_threatened", "positive", "neutral", "negative"]


class ReviewRejected(AscoltoError, ValueError):
    """A review names an unknown quote or theme, or contradicts itself; the message says which."""

    def __init__(self, message: str, status: int = 422) -> None:
        super().__init__(message)
        self.status = status


class ReviewIn(BaseModel):
    """What the page posts: the analyst's labels for one quote (the model's, when confirming)."""

    model_config = ConfigDict(extra="forbid")

    quote_id: str
    sentiment: Sentiment
    threatened: bool
    themes: list[str]


@dataclass(frozen=True)
class QuoteFilter:
    """Which quotes to list: by agency, theme, label and review status (empty: any)."""

    agency: str = ""
    theme: str = ""
    label: LabelFilter = ""
    status: Status = "all"


def quote_id(recording_id: str, utt_idx: int) -> str:
    """The id of a quote in the API: recording id and utterance index."""
    return f"{recording_id}:{int(utt_idx)}"


def parse_quote_id(value: str) -> tuple[str, int]:
    """(recording id, utterance index) of a quote id; ReviewRejected (404) when malformed."""
    recording_id, _, index = value.rpartition(":")
    if not recording_id or not index.isdigit():
        raise ReviewRejected(f"no quote {value!r}: ids look like '<recording id>:<n>'", 404)
    return recording_id, int(index)


def unsureness(row: dict[str, Any], thresholds: dict[str, float]) -> float:
    """How unsure the model was of a quote's labels, 0 (sure) to 1 (a coin toss).

    One minus the smallest margin among its decisions: the sentiment margin (top probability
    minus the runner-up's) and, for each theme it found, how far the theme's calibrated
    probability rose above that theme's threshold, as a share of the room above it
    ((p - t) / (1 - t)). Themes it did not find have no stored probability, so a near miss
    does not count; a quote the classifier itself flagged `uncertain` sorts first anyway.
    """
    probabilities = sorted((row["p_positive"], row["p_neutral"], row["p_negative"]), reverse=True)
    margins = [float(probabilities[0] - probabilities[1])]
    for code, p in row["theme_scores"].items():
        t = thresholds.get(code, DEFAULT_THRESHOLD)
        margins.append(max(0.0, float(p) - t) / (1.0 - t) if t < 1 else 1.0)
    return round(1.0 - min(1.0, min(margins)), 4)


def _effective(quote: dict[str, Any]) -> dict[str, Any]:
    """The labels that count: the analyst's where a review applies, else the model's."""
    return quote["review"] or quote


def quote_records(frame: pd.DataFrame, thresholds: dict[str, float]) -> list[dict[str, Any]]:
    """Rows of `Store.review_quotes` as the API's quotes, most unsure first."""
    quotes = []
    for row in frame.to_dict(orient="records"):
        row["theme_scores"] = json.loads(row["theme_scores"] or "{}")
        review = None
        if isinstance(row.get("verdict"), str):
            review = {
                "sentiment": row["review_sentiment"],
                "threatened": bool(row["review_threatened"]),
                "themes": list(row["review_themes"]),
                "verdict": row["verdict"],
                "reviewer": row["reviewer"],
                "reviewed_at": pd.Timestamp(row["reviewed_at"]).isoformat(timespec="seconds"),
            }
        day = pd.Timestamp(row["interview_date"])
        quotes.append(
            {
                "id": quote_id(row["recording_id"], row["utt_idx"]),
                "text": row["text"],
                "agency_id": row["agency_id"],
                "month": day.strftime("%Y-%m") if not pd.isna(day) else None,
                "sentiment": row["sentiment"],
                "sentiment_scores": {s: round(float(row[f"p_{s}"]), 4)
                                     for s in ("positive", "neutral", "negative")},
                "threatened": bool(row["threatened"]),
                "themes": list(row["themes"]),
                "theme_scores": row["theme_scores"],
                "evidence": json.loads(row["evidence"] or "{}"),
                "low_confidence": bool(row["low_confidence"]),
                "uncertain": row["uncertain"] if isinstance(row["uncertain"], str) else None,
                "unsure": unsureness(row, thresholds),
                "start_s": round(float(row["start_s"]), 2),
                "end_s": round(float(row["end_s"]), 2),
                "review": review,
            }
        )  # fmt: skip
    return sorted(quotes, key=lambda q: (not q["uncertain"], -q["unsure"], q["id"]))


def matches(quote: dict[str, Any], wanted: QuoteFilter) -> bool:
    """Whether a quote passes the filter; theme and label filters read the labels that count."""
    labels = _effective(quote)
    if wanted.agency and quote["agency_id"] != wanted.agency:
        return False
    if wanted.theme and wanted.theme not in labels["themes"]:
        return False
    if wanted.status != "all" and (quote["review"] is not None) != (wanted.status == "reviewed"):
        return False
    if wanted.label in ("threatened", "not_threatened"):
        return labels["threatened"] == (wanted.label == "threatened")
    return not wanted.label or labels["sentiment"] == wanted.label


def check_review(review: ReviewIn, taxonomy: Taxonomy) -> list[str]:
    """The review's themes in taxonomy order; ReviewRejected naming what is wrong.

    "Felt threatened" is the taxonomy's threat composite, so the flag and the themes must agree:
    threatened needs one of its themes, and a threat theme means threatened.
    """
    codes = taxonomy.codes
    if unknown := sorted(set(review.themes) - set(codes)):
        raise ReviewRejected(f"unknown theme(s) {unknown}; known: {codes}")
    themes = [c for c in codes if c in review.themes]
    threat = sorted(taxonomy.threatened & set(themes))
    if review.threatened and not threat:
        raise ReviewRejected(
            f"threatened is true but no threat theme is given; add one of "
            f"{sorted(taxonomy.threatened)}"
        )
    if threat and not review.threatened:
        raise ReviewRejected(f"theme(s) {threat} mean threatened: set threatened to true")
    return themes


def review_row(
    review: ReviewIn, themes: list[str], quote: dict[str, Any], classify_key: str,
    reviewer: str, at: Any,
) -> dict[str, Any]:  # fmt: skip
    """The `reviews` row for an accepted review of `quote` (as `quote_records` gives it)."""
    recording_id, utt_idx = parse_quote_id(quote["id"])
    same = (
        review.sentiment == quote["sentiment"]
        and review.threatened == quote["threatened"]
        and set(themes) == set(quote["themes"])
    )
    return {
        "recording_id": recording_id,
        "utt_idx": utt_idx,
        "text_sha256": text_hash(quote["text"]),
        "reviewer": reviewer,
        "reviewed_at": at,
        "verdict": "confirmed" if same else "corrected",
        "classify_key": classify_key,
        "model_sentiment": quote["sentiment"],
        "model_threatened": quote["threatened"],
        "model_themes": quote["themes"],
        "sentiment": review.sentiment,
        "threatened": review.threatened,
        "themes": themes,
    }
