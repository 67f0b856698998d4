"""Reviews count: interview labels with the analysts' verdicts applied, and the model's agreement.

The one place where reviews change figures: scoring, the report and the monthly scorecard export
all read interviews through `reviewed_interviews`. An interview with a review that applies is
summarised again from its utterances (`summarize_interview`, as the classify stage does), the
reviewed ones with the analyst's sentiment, threatened flag and themes; the others are as stored.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from pipeline.classify.classifier import summarize_interview
from pipeline.classify.taxonomy import load_taxonomy
from pipeline.config import CONFIG_DIR
from pipeline.records import SENTIMENTS, UtteranceLabel
from pipeline.store import Store

_SUMMARY_COLUMNS = (
    "sentiment", "themes", "threatened", "empathy_score", "quotes", "reviewed", "n_uncertain",
)  # fmt: skip


def _label(row: dict[str, Any]) -> UtteranceLabel:
    """The utterance label that counts: the analyst's where a review applies, else the model's."""
    if isinstance(row.get("verdict"), str):
        sentiment = row["review_sentiment"]
        return UtteranceLabel(
            sentiment=sentiment,
            sentiment_scores={s: float(s == sentiment) for s in SENTIMENTS},
            themes=list(row["review_themes"]),
            theme_scores={},
            threatened=bool(row["review_threatened"]),
            evidence={},
        )
    return UtteranceLabel(
        sentiment=row["sentiment"],
        sentiment_scores={s: float(row[f"p_{s}"]) for s in SENTIMENTS},
        themes=list(row["themes"]),
        theme_scores={},
        threatened=bool(row["threatened"]),
        evidence={},
    )


def reviewed_interviews(
    store: Store, classify_key: str, transcript_key: str, themes_file: Path | None = None
) -> pd.DataFrame:
    """`Store.interview_labels` with reviews applied, and `reviewed`: labels reviewed in each.

    `themes_file`: the taxonomy the interviews were classified with (default: the shipped one);
    read only when a review applies.
    """
    interviews = store.interview_labels(classify_key).assign(reviewed=0)
    recordings = store.reviewed_recordings(classify_key, transcript_key)
    if not recordings or interviews.empty:
        return interviews
    taxonomy = load_taxonomy(themes_file or CONFIG_DIR / "themes.yaml")
    quotes = store.review_quotes(classify_key, transcript_key, recordings)
    summaries: dict[str, dict[str, Any]] = {}
    for recording_id, rows in quotes.groupby("recording_id", sort=False):
        records = rows.sort_values("utt_idx").to_dict(orient="records")
        texts = [f"(?) {r['text']}" if r["low_confidence"] else r["text"] for r in records]
        summary = summarize_interview([_label(r) for r in records], texts, taxonomy)
        summaries[str(recording_id)] = {
            "sentiment": summary.sentiment,
            "themes": summary.themes,
            "threatened": summary.threatened,
            "empathy_score": summary.empathy_score,
            "quotes": json.dumps(summary.quotes, ensure_ascii=False),
            "reviewed": sum(isinstance(r.get("verdict"), str) for r in records),
            # A reviewed label is no longer in doubt: the analyst settled it.
            "n_uncertain": sum(
                isinstance(r.get("uncertain"), str) and not isinstance(r.get("verdict"), str)
                for r in records
            ),
        }

    def column(name: str) -> list[Any]:
        ids, stored = interviews["recording_id"], interviews[name]
        return [
            summaries[r][name] if r in summaries else v for r, v in zip(ids, stored, strict=True)
        ]

    return interviews.assign(**{name: column(name) for name in _SUMMARY_COLUMNS})


def agreement(
    store: Store, classify_key: str, transcript_key: str, agency: str | None = None
) -> dict[str, Any]:
    """How often the model agreed with analysts on reviewed quotes, per agency.

    Per agency: quotes reviewed, quotes the model flagged "threatened" among them and how many of
    those the analyst confirmed as threatened (the precision of the flag, `precision`), the
    threatened quotes it missed, and the share whose sentiment the analyst kept. The model is
    the one of this run: after `ascolto train --with-reviews` these quotes were its training
    data, so read these figures as an upper bound. `agency`: only its row (an agency's report).
    """
    recordings = store.reviewed_recordings(classify_key, transcript_key)
    quotes = store.review_quotes(classify_key, transcript_key, recordings)
    reviewed = quotes[quotes["verdict"].notna()] if len(quotes) else quotes
    if agency is not None and len(reviewed):
        reviewed = reviewed[reviewed["agency_id"] == agency]
    rows: list[dict[str, Any]] = []
    for name, part in reviewed.groupby("agency_id", sort=True) if len(reviewed) else []:
        flagged = part[part["threatened"].astype(bool)]
        confirmed = int(flagged["review_threatened"].astype(bool).sum())
        missed = part[~part["threatened"].astype(bool) & part["review_threatened"].astype(bool)]
        rows.append(
            {
                "agency_id": str(name),
                "reviewed": len(part),
                "flagged": len(flagged),
                "confirmed": confirmed,
                "precision": confirmed / len(flagged) if len(flagged) else None,
                "missed": len(missed),
                "sentiment_agreement": float(
                    (part["sentiment"] == part["review_sentiment"]).mean()
                ),
            }
        )
    return {"reviewed": int(sum(r["reviewed"] for r in rows)), "agencies": rows}
