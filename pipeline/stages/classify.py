"""Classify stage: sentiment, themes and "felt threatened" of customer utterances not yet labelled."""

from __future__ import annotations

import json
from typing import Any

import pandas as pd

from pipeline.classify.classifier import (
    make_classifier,
    summarize_interview,
)
from pipeline.classify.taxonomy import load_taxonomy
from pipeline.config import Settings
from pipeline.embed import Embedder
from pipeline.faults import checkpoint
from pipeline.stages.keys import StageKeys
from pipeline.store import Store


def classify_pending(
    store: Store, settings: Settings, keys: StageKeys, embedder: Embedder, force: bool = False
) -> dict[str, int]:
    """Label customer utterances of recordings not yet labelled under the classify key.

    `force`: label every transcribed recording again (`--from classify`).

    Runs after `embed_pending`: when the heads were trained on the configured embedder, the
    stored utterance embeddings are reused instead of computed again.
    """
    done = set() if force else store.labelled_ids(keys.classify)
    transcribed = store.transcribed_ids(keys.transcript)
    todo = sorted(transcribed - done)
    if not todo:  # loading the classifier costs seconds: not for nothing
        return {"classified": 0, "cached": len(transcribed & done)}
    taxonomy = load_taxonomy(settings.themes_file)
    classifier = make_classifier(settings, embedder)
    utterances = store.customer_utterances(keys.transcript)
    stored = (
        store.embedded(keys.embed).set_index(["recording_id", "utt_idx"])["vector"]
        if todo and classifier.embedder_id == embedder.model_id
        else None
    )
    for recording_id in todo:
        rows = utterances[utterances["recording_id"] == recording_id]
        texts = rows["text"].tolist()
        labels = classifier.classify_many(texts, _stored_vectors(stored, recording_id, rows))
        utt_frame = pd.DataFrame(
            [
                {
                    "recording_id": recording_id,
                    "utt_idx": int(idx),
                    "classify_key": keys.classify,
                    "sentiment": lab.sentiment,
                    "p_positive": lab.sentiment_scores["positive"],
                    "p_neutral": lab.sentiment_scores["neutral"],
                    "p_negative": lab.sentiment_scores["negative"],
                    "themes": lab.themes,
                    "theme_scores": json.dumps(lab.theme_scores),
                    "threatened": lab.threatened,
                    "evidence": json.dumps(lab.evidence, ensure_ascii=False),
                    "uncertain": lab.uncertain,
                }
                for idx, lab in zip(rows["utt_idx"], labels, strict=True)
            ]
        )
        # Quotes the recognizer was unsure of carry a visible "(?)" in the report and exports.
        quotes = [
            f"(?) {text}" if unsure else text
            for text, unsure in zip(texts, rows["low_confidence"].fillna(False), strict=True)
        ]
        summary = summarize_interview(labels, quotes, taxonomy)
        interview = pd.DataFrame(
            [
                {
                    "recording_id": recording_id,
                    "classify_key": keys.classify,
                    "sentiment": summary.sentiment,
                    "themes": summary.themes,
                    "threatened": summary.threatened,
                    "empathy_score": summary.empathy_score,
                    "n_utterances": len(texts),
                    "n_uncertain": sum(lab.uncertain is not None for lab in labels),
                    "quotes": json.dumps(summary.quotes, ensure_ascii=False),
                }
            ]
        )
        store.save_labels(recording_id, keys.classify, utt_frame, interview)
        checkpoint("classified")
    return {"classified": len(todo), "cached": len(transcribed & done)}


def _stored_vectors(stored: pd.Series | None, recording_id: str, rows: pd.DataFrame) -> Any:
    """This recording's stored embeddings in utterance order, or None if any is missing."""
    if stored is None:
        return None
    index = [(recording_id, int(i)) for i in rows["utt_idx"]]
    if not all(i in stored.index for i in index):
        return None
    import numpy as np

    return np.vstack([stored.loc[i] for i in index]) if index else None
