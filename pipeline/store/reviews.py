"""Analysts' reviews of utterance labels: written by `ascolto review`, read by scoring and training.

A review is keyed by recording id and utterance index and carries the SHA-256 of the quote's
redacted text as it was reviewed. Every read joins on that hash (DuckDB's `sha256` of the
current text), so a review whose words changed after a new transcription is kept but no longer
applied to other words. Reviews are never deleted by a rerun or a refit, only by `forget` and
`purge` (the table is keyed by recording id, see `erasure.py`).
"""

from __future__ import annotations

import hashlib
from typing import Any

import pandas as pd

from pipeline.store.base import StoreBase, marks

_REVIEW_COLUMNS = ["recording_id", "utt_idx", "text_sha256", "reviewer", "reviewed_at", "verdict",
                   "classify_key", "model_sentiment", "model_threatened", "model_themes",
                   "sentiment", "threatened", "themes"]  # fmt: skip
# Review columns as the quote listing names them (beside the model's own columns).
_AS_REVIEW = (
    "v.reviewer, v.reviewed_at, v.verdict, v.sentiment AS review_sentiment, "
    "v.threatened AS review_threatened, v.themes AS review_themes"
)
# Customer utterances labelled under a classify key, their recording, and the review that applies.
_QUOTES = (
    "FROM utterance_labels l "
    "JOIN utterances u ON u.recording_id = l.recording_id AND u.utt_idx = l.utt_idx "
    "AND u.transcript_key = ? "
    "JOIN recordings r ON r.recording_id = l.recording_id "
    "LEFT JOIN reviews v ON v.recording_id = l.recording_id AND v.utt_idx = l.utt_idx "
    "AND v.text_sha256 = sha256(u.text) "
    "WHERE l.classify_key = ?"
)


def text_hash(text: str) -> str:
    """SHA-256 of a quote's redacted text, as DuckDB's `sha256` computes it (UTF-8, hex)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class ReviewsMixin(StoreBase):
    """The `reviews` table and the quote listings built on it."""

    def review_quotes(
        self, classify_key: str, transcript_key: str, recordings: list[str] | None = None
    ) -> pd.DataFrame:
        """Labelled customer utterances with their recording's metadata and applying review.

        Review columns (`reviewer`, `reviewed_at`, `verdict`, `review_sentiment`,
        `review_threatened`, `review_themes`) are null where no review applies. `uncertain` is
        the classifier's reason for doubt (null: none, or a label from before uncertainty).
        `recordings`: only these recordings (None: all).
        """
        where, params = "", [transcript_key, classify_key]
        if recordings is not None:
            where = f" AND l.recording_id IN ({marks(recordings)})"
            params += recordings
        return self.query(
            "SELECT l.recording_id, l.utt_idx, u.text, u.start_s, u.end_s, u.low_confidence, "
            "r.agency_id, r.case_id, r.file, r.interview_date, l.sentiment, l.p_positive, "
            "l.p_neutral, l.p_negative, l.themes, l.theme_scores, l.threatened, l.evidence, "
            f"l.uncertain, {_AS_REVIEW} {_QUOTES}{where} "
            "ORDER BY r.agency_id, r.file, l.recording_id, l.utt_idx",
            params,
        )

    def reviewed_recordings(self, classify_key: str, transcript_key: str) -> list[str]:
        """Recordings with at least one review that applies to their current words."""
        return sorted(
            self._column(
                f"SELECT DISTINCT l.recording_id {_QUOTES} AND v.recording_id IS NOT NULL",
                [transcript_key, classify_key],
            )
        )

    def save_review(self, review: dict[str, Any]) -> None:
        """Store an analyst's verdict on one quote, replacing an earlier one on the same quote."""
        frame = pd.DataFrame([{name: review[name] for name in _REVIEW_COLUMNS}])
        self._replace(
            "reviews",
            "recording_id = ? AND utt_idx = ?",
            [review["recording_id"], int(review["utt_idx"])],
            frame,
        )

    def review_count(self) -> int:
        """Reviews stored (applying to the current words or not)."""
        return int(self._scalar("SELECT count(*) FROM reviews"))

    def reviews_export(self, transcript_key: str) -> pd.DataFrame:
        """Every review with its recording, and whether it still applies to the quote's words.

        `applies` is False when the utterance was transcribed again with other words (the review
        is kept, never applied to them) or is no longer a customer utterance of that transcript.
        """
        return self.query(
            "SELECT r.file, r.agency_id, r.case_id, v.utt_idx, v.reviewer, v.reviewed_at, "
            "v.verdict, v.model_sentiment, v.model_threatened, v.model_themes, v.sentiment, "
            "v.threatened, v.themes, coalesce(sha256(u.text) = v.text_sha256, false) AS applies "
            "FROM reviews v JOIN recordings r USING (recording_id) "
            "LEFT JOIN utterances u ON u.recording_id = v.recording_id AND u.utt_idx = v.utt_idx "
            "AND u.transcript_key = ? AND u.role = 'customer' "
            "ORDER BY r.agency_id, r.file, v.recording_id, v.utt_idx",
            [transcript_key],
        )

    def review_examples(self, transcript_key: str) -> pd.DataFrame:
        """Reviewed quotes whose words still match, with the analyst's labels (for training)."""
        return self.query(
            "SELECT v.recording_id, v.utt_idx, u.text, v.sentiment, v.themes, v.threatened "
            "FROM reviews v JOIN utterances u ON u.recording_id = v.recording_id "
            "AND u.utt_idx = v.utt_idx AND u.transcript_key = ? "
            "AND sha256(u.text) = v.text_sha256 "
            "ORDER BY v.recording_id, v.utt_idx",
            [transcript_key],
        )
