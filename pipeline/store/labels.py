"""Labels and embeddings of customer utterances, and the tables analysts export."""

from __future__ import annotations

import pandas as pd

from pipeline.store.base import StoreBase


class LabelsMixin(StoreBase):
    """Tables written by the embed and classify stages."""

    def labelled_ids(self, classify_key: str) -> set[str]:
        """Recordings whose interview label exists under this classify key."""
        return self._column(
            "SELECT recording_id FROM interview_labels WHERE classify_key = ?", [classify_key]
        )

    def save_labels(
        self,
        recording_id: str,
        classify_key: str,
        utterances: pd.DataFrame,
        interview: pd.DataFrame,
    ) -> None:
        """Store one recording's utterance labels, then its interview label (the done marker)."""
        params = [recording_id, classify_key]
        where = "recording_id = ? AND classify_key = ?"
        self._replace("utterance_labels", where, params, utterances)
        self._replace("interview_labels", where, params, interview)

    def interview_labels(self, classify_key: str) -> pd.DataFrame:
        """Interview labels under one classify key, joined to their recording's metadata.

        Interviews without a customer utterance (silent channel, truncated file) are left out:
        they are not neutral interviews, they are no interview at all.
        """
        return self.query(
            "SELECT i.*, r.agency_id, r.case_id, r.interview_date, r.file FROM interview_labels i "
            "JOIN recordings r USING (recording_id) WHERE i.classify_key = ? "
            "AND i.n_utterances > 0 ORDER BY r.file",
            [classify_key],
        )

    def utterance_label_count(self, classify_key: str) -> int:
        """Customer utterances labelled under one classify key."""
        return int(
            self._scalar(
                "SELECT count(*) FROM utterance_labels WHERE classify_key = ?", [classify_key]
            )
        )

    def embedded(self, embed_key: str) -> pd.DataFrame:
        """Stored embeddings under one key."""
        return self.query(
            "SELECT recording_id, utt_idx, vector FROM embeddings WHERE embed_key = ?", [embed_key]
        )

    def save_embeddings(self, recording_id: str, embed_key: str, frame: pd.DataFrame) -> None:
        """Replace one recording's embeddings under a key."""
        self._replace(
            "embeddings", "recording_id = ? AND embed_key = ?", [recording_id, embed_key], frame
        )

    # -- what analysts export --------------------------------------------------------------
    def interviews_export(self, classify_key: str, decimals: int) -> pd.DataFrame:
        """One row per labelled interview (themes and quotes as stored)."""
        return self.query(
            "SELECT r.file, r.agency_id, r.case_id, r.interview_date, i.sentiment, i.threatened, "
            "round(i.empathy_score, ?) AS empathy_score, i.themes, i.quotes FROM interview_labels i "
            "JOIN recordings r USING (recording_id) WHERE i.classify_key = ? "
            "ORDER BY r.agency_id, r.file, r.recording_id",
            [decimals, classify_key],
        )

    def utterances_export(
        self, classify_key: str, transcript_key: str, decimals: int
    ) -> pd.DataFrame:
        """One row per labelled customer utterance."""
        return self.query(
            "SELECT r.file, r.agency_id, r.case_id, u.utt_idx, round(u.start_s, ?) AS start_s, "
            "round(u.end_s, ?) AS end_s, u.low_confidence, u.text, l.sentiment, "
            "round(l.p_negative, ?) AS p_negative, l.threatened, l.themes, l.evidence, l.uncertain "
            "FROM utterance_labels l JOIN utterances u USING (recording_id, utt_idx) "
            "JOIN recordings r USING (recording_id) "
            "WHERE l.classify_key = ? AND u.transcript_key = ? "
            "ORDER BY r.agency_id, r.file, r.recording_id, u.utt_idx",
            [decimals, decimals, decimals, classify_key, transcript_key],
        )

    def stage_counts(self, stage: str, key: str) -> tuple[int, int]:
        """Recordings done under `key` and under any other key (stale), for one stage."""
        table, column = _STAGE_TABLES[stage]
        row = self.con.execute(
            f"SELECT count(DISTINCT recording_id) FILTER (WHERE {column} = ?), "
            f"count(DISTINCT recording_id) FILTER (WHERE {column} <> ?) FROM {table}",
            [key, key],
        ).fetchone()
        return (int(row[0]), int(row[1])) if row else (0, 0)

    def write_parquet(self, frame: pd.DataFrame, out: str) -> None:
        """Write a frame as Parquet through DuckDB (no pyarrow needed)."""
        target = out.replace("'", "''")  # a folder may have an apostrophe ("dell'agenzia")
        self.con.register("export_frame", frame)
        try:
            self.con.execute(f"COPY export_frame TO '{target}' (FORMAT parquet)")
        finally:
            self.con.unregister("export_frame")


_STAGE_TABLES = {
    "transcribe": ("transcripts", "transcript_key"),
    "classify": ("interview_labels", "classify_key"),
    "embed": ("embeddings", "embed_key"),
}
