"""The analytics snapshot that readers open: `analytics.duckdb` (tables in docs/store.md)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from pipeline.store import Store


def publish_snapshot(
    store: Store,
    keys: dict[str, str],
    topics_key: str,
    run_id: str,
    names: dict[int, str],
    scorecard: pd.DataFrame | None = None,
) -> Path:
    """Copy the current interviews, utterances, agencies, topics and cases into the snapshot.

    `keys`: the run's stage keys (transcript, classify, embed); `names`: analysts' topic names
    by ID (the topic's words otherwise); `scorecard`: the run's (default: the last completed
    run's).
    """
    info = store.topic_info(topics_key, order="topic_id")
    labels = [
        names.get(int(t), str(x)) for t, x in zip(info["topic_id"], info["label"], strict=True)
    ]
    topics = pd.DataFrame(
        {
            "topic_id": pd.Series(info["topic_id"], dtype="int64"),
            "label": pd.Series(labels, dtype="string"),
            "size": pd.Series(info["size"], dtype="int64"),
            "top_words": pd.Series(info["top_words"], dtype="string"),
        }
    )
    agencies = _typed(store.latest_scorecard() if scorecard is None else scorecard)
    about = pd.DataFrame(
        [
            {
                "run_id": run_id,
                "published_at": pd.Timestamp.now(tz="UTC").tz_localize(None),
                "transcript_key": keys["transcript"],
                "classify_key": keys["classify"],
                "embed_key": keys["embed"],
                "topics_key": topics_key,
            }
        ]
    )
    return store.publish_snapshot(
        keys["classify"], keys["transcript"], topics_key, topics, agencies, about
    )


def _typed(frame: pd.DataFrame) -> pd.DataFrame:
    """Scorecard columns as numbers where they hold numbers (JSON gave None-or-float objects)."""
    out = frame.copy()
    for column in out.columns:
        if out[column].dtype == object:
            numeric = pd.to_numeric(out[column], errors="coerce")
            if numeric.notna().sum() == out[column].notna().sum():
                out[column] = numeric
    return out
