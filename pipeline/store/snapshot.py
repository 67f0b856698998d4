"""The analytics snapshot: a small read-only DuckDB file for notebooks, BI tools and SQL.

The working store holds every version of every result, keyed by hashes, with JSON in strings,
and admits no reader while a run writes. After each run its current results are copied into
`analytics.duckdb` (typed columns, current keys only, topics included), written beside and
renamed over the old one, so a reader holding the old file open never blocks a run.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from pipeline.store.base import StoreBase

SNAPSHOT_FILE = "analytics.duckdb"


class SnapshotMixin(StoreBase):
    """Publishing the analytics snapshot."""

    def publish_snapshot(
        self,
        classify_key: str,
        transcript_key: str,
        topics_key: str,
        topics: pd.DataFrame,
        agencies: pd.DataFrame,
        about: pd.DataFrame,
    ) -> Path:
        """Write `analytics.duckdb` from the current results; returns its path."""
        target = self.data_dir / SNAPSHOT_FILE
        fresh = self.data_dir / f".{SNAPSHOT_FILE}.tmp"
        for leftover in (fresh, fresh.with_name(fresh.name + ".wal")):
            leftover.unlink(missing_ok=True)
        self.con.execute(f"ATTACH '{str(fresh).replace(chr(39), chr(39) * 2)}' AS snap")
        try:
            for name, frame in (("snap_topics", topics), ("snap_agencies", agencies),
                                ("snap_about", about)):  # fmt: skip
                self.con.register(name, frame)
            params = [topics_key, classify_key, transcript_key]
            self.con.execute(_UTTERANCES, params)
            self.con.execute(_INTERVIEWS, [classify_key])
            self.con.execute("CREATE TABLE snap.agencies AS SELECT * FROM snap_agencies")
            self.con.execute("CREATE TABLE snap.topics AS SELECT * FROM snap_topics")
            self.con.execute("CREATE TABLE snap.cases AS SELECT * FROM cases")
            self.con.execute("CREATE TABLE snap.about AS SELECT * FROM snap_about")
        finally:
            for name in ("snap_topics", "snap_agencies", "snap_about"):
                self.con.unregister(name)
            self.con.execute("DETACH snap")
        os.replace(fresh, target)
        return target


_UTTERANCES = """
CREATE TABLE snap.utterances AS
SELECT u.recording_id, u.utt_idx, r.file, r.agency_id, r.case_id, r.interview_date,
       CAST(date_trunc('month', r.interview_date) AS DATE) AS month, u.start_s, u.end_s,
       u.low_confidence, u.text, l.sentiment, l.p_positive, l.p_neutral, l.p_negative,
       l.threatened, l.themes, CAST(l.theme_scores AS JSON) AS theme_scores,
       CAST(l.evidence AS JSON) AS evidence, a.topic_id, t.label AS topic_label
FROM utterance_labels l
JOIN utterances u USING (recording_id, utt_idx)
JOIN recordings r USING (recording_id)
LEFT JOIN topic_assignments a
       ON a.topics_key = ? AND a.recording_id = l.recording_id AND a.utt_idx = l.utt_idx
LEFT JOIN snap_topics t ON t.topic_id = a.topic_id
WHERE l.classify_key = ? AND u.transcript_key = ?
ORDER BY r.agency_id, r.file, u.utt_idx
"""

_INTERVIEWS = """
CREATE TABLE snap.interviews AS
SELECT i.recording_id, r.file, r.agency_id, r.case_id, r.interview_date,
       CAST(date_trunc('month', r.interview_date) AS DATE) AS month, i.sentiment, i.threatened,
       i.empathy_score, i.themes, i.n_utterances, i.n_utterances > 0 AS customer_spoke,
       CAST(i.quotes AS JSON) AS quotes,
       (SELECT list(DISTINCT s.topic_id ORDER BY s.topic_id) FROM snap.utterances s
        WHERE s.recording_id = i.recording_id AND s.topic_id IS NOT NULL) AS topics
FROM interview_labels i JOIN recordings r USING (recording_id)
WHERE i.classify_key = ?
ORDER BY r.agency_id, r.file
"""
