"""DuckDB warehouse: one table per stage output, keyed by recording id plus the stage's key.

Every write replaces the rows of the keys it covers inside one transaction, so a stage that is
rerun (or interrupted and rerun) never leaves duplicates. Only redacted text is ever written here.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from pipeline.errors import NoStore
from pipeline.faults import checkpoint
from pipeline.records import Quarantined, Recording, Transcript, Turn

SCHEMA = """
CREATE TABLE IF NOT EXISTS recordings (
    recording_id VARCHAR PRIMARY KEY, file VARCHAR, case_id VARCHAR, agency_id VARCHAR,
    interview_date DATE, manifest_row INTEGER, first_seen TIMESTAMP);
CREATE TABLE IF NOT EXISTS cases (
    case_id VARCHAR PRIMARY KEY, customer_id VARCHAR, agency_id VARCHAR, amount_due_eur DOUBLE,
    amount_recovered_eur DOUBLE, due_date DATE, paid_date DATE, contract_ended_date DATE,
    annual_value_eur DOUBLE, nps INTEGER, contact_date DATE);
CREATE TABLE IF NOT EXISTS quarantine (
    run_id VARCHAR, stage VARCHAR, source VARCHAR, row_number INTEGER, reason VARCHAR, quarantined_at TIMESTAMP);
CREATE TABLE IF NOT EXISTS transcripts (
    recording_id VARCHAR, transcript_key VARCHAR, backend VARCHAR, model VARCHAR, language VARCHAR,
    duration_s DOUBLE, channels INTEGER, elapsed_s DOUBLE, n_segments INTEGER,
    redacted_counts VARCHAR, created_at TIMESTAMP, PRIMARY KEY (recording_id, transcript_key));
-- Columns added after v0.1: existing stores gain them in place.
ALTER TABLE transcripts ADD COLUMN IF NOT EXISTS detected_language VARCHAR;
ALTER TABLE transcripts ADD COLUMN IF NOT EXISTS language_probability DOUBLE;
ALTER TABLE transcripts ADD COLUMN IF NOT EXISTS language_mismatch BOOLEAN;
CREATE TABLE IF NOT EXISTS segments (
    recording_id VARCHAR, transcript_key VARCHAR, seg_idx INTEGER, start_s DOUBLE, end_s DOUBLE,
    channel INTEGER, role VARCHAR, text VARCHAR, avg_logprob DOUBLE, no_speech_prob DOUBLE,
    compression_ratio DOUBLE, low_confidence BOOLEAN);
CREATE TABLE IF NOT EXISTS utterances (
    recording_id VARCHAR, transcript_key VARCHAR, utt_idx INTEGER, role VARCHAR, start_s DOUBLE,
    end_s DOUBLE, text VARCHAR, low_confidence BOOLEAN);
CREATE TABLE IF NOT EXISTS utterance_labels (
    recording_id VARCHAR, utt_idx INTEGER, classify_key VARCHAR, sentiment VARCHAR,
    p_positive DOUBLE, p_neutral DOUBLE, p_negative DOUBLE, themes VARCHAR[],
    theme_scores VARCHAR, threatened BOOLEAN, evidence VARCHAR);
CREATE TABLE IF NOT EXISTS interview_labels (
    recording_id VARCHAR, classify_key VARCHAR, sentiment VARCHAR, themes VARCHAR[],
    threatened BOOLEAN, empathy_score DOUBLE, n_utterances INTEGER, quotes VARCHAR);
CREATE TABLE IF NOT EXISTS embeddings (
    recording_id VARCHAR, utt_idx INTEGER, embed_key VARCHAR, vector FLOAT[]);
CREATE TABLE IF NOT EXISTS topic_models (
    topics_key VARCHAR PRIMARY KEY, fitted_at TIMESTAMP, n_docs INTEGER, n_topics INTEGER,
    method VARCHAR, note VARCHAR);
CREATE TABLE IF NOT EXISTS topic_info (
    topics_key VARCHAR, topic_id INTEGER, label VARCHAR, size INTEGER, top_words VARCHAR,
    quotes VARCHAR);
CREATE TABLE IF NOT EXISTS topic_assignments (
    topics_key VARCHAR, recording_id VARCHAR, utt_idx INTEGER, topic_id INTEGER);
CREATE TABLE IF NOT EXISTS topic_generations (
    lineage VARCHAR, seq INTEGER, topics_key VARCHAR, created_at TIMESTAMP, model_dir VARCHAR,
    mapping VARCHAR, kept INTEGER[], added INTEGER[], vanished INTEGER[]);
CREATE TABLE IF NOT EXISTS topic_names (
    lineage VARCHAR, topic_id INTEGER, label VARCHAR, renamed_at TIMESTAMP);
-- One row per (topic assignment, classification): topic x agency / month / threatened / sentiment.
CREATE OR REPLACE VIEW topic_utterances AS
SELECT a.topics_key, a.topic_id, a.recording_id, a.utt_idx, r.agency_id, r.interview_date,
       date_trunc('month', r.interview_date) AS month, l.classify_key, l.sentiment, l.threatened
FROM topic_assignments a JOIN recordings r USING (recording_id)
LEFT JOIN utterance_labels l ON l.recording_id = a.recording_id AND l.utt_idx = a.utt_idx;
CREATE TABLE IF NOT EXISTS scorecards (
    run_id VARCHAR, agency_id VARCHAR, metrics VARCHAR);
CREATE TABLE IF NOT EXISTS erased (kind VARCHAR, key VARCHAR, erased_at TIMESTAMP);
CREATE TABLE IF NOT EXISTS deletions (
    deleted_at TIMESTAMP, action VARCHAR, reason VARCHAR, recordings INTEGER, cases INTEGER,
    total_rows INTEGER, rows_by_table VARCHAR);
CREATE TABLE IF NOT EXISTS runs (
    run_id VARCHAR PRIMARY KEY, started_at TIMESTAMP, finished_at TIMESTAMP, status VARCHAR,
    config_hash VARCHAR, summary VARCHAR);
"""


STORE_FILE = "ascolto.duckdb"


def require_store(data_dir: Path) -> None:
    """NoStore unless `data_dir` holds an ascolto store."""
    if not (data_dir / STORE_FILE).is_file():
        raise NoStore(
            f"no ascolto store in {data_dir} (pass the --data-dir used with `ascolto run`)"
        )


def now() -> datetime:
    """UTC timestamp without tz info (DuckDB TIMESTAMP)."""
    return datetime.now(UTC).replace(tzinfo=None)


class Store:
    """A DuckDB file under the data directory (`ascolto.duckdb`)."""

    def __init__(self, data_dir: Path, read_only: bool = False) -> None:
        import duckdb  # deferred: keeps `ascolto --help` fast

        data_dir.mkdir(parents=True, exist_ok=True)
        self.data_dir = data_dir
        self.path = data_dir / STORE_FILE
        self.con = duckdb.connect(str(self.path), read_only=read_only)
        if not read_only:
            self.con.execute(SCHEMA)

    def close(self) -> None:
        """Release the file."""
        self.con.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- generic helpers -------------------------------------------------------------------
    def query(self, sql: str, params: Iterable[Any] = ()) -> pd.DataFrame:
        """Run a SELECT and return a DataFrame."""
        return self.con.execute(sql, list(params)).df()

    def _replace(
        self, table: str, where: str, params: list[Any], frame: pd.DataFrame | None
    ) -> None:
        """Delete the rows matching `where`, then insert `frame`, in one transaction."""
        self.con.execute("BEGIN TRANSACTION")
        try:
            self.con.execute(f"DELETE FROM {table} WHERE {where}", params)
            checkpoint("store-write")
            if frame is not None and len(frame):
                self.con.register("incoming", frame)
                columns = ", ".join(frame.columns)
                self.con.execute(f"INSERT INTO {table} ({columns}) SELECT {columns} FROM incoming")
                self.con.unregister("incoming")
            self.con.execute("COMMIT")
        except Exception:
            self.con.execute("ROLLBACK")
            raise

    # -- ingest ----------------------------------------------------------------------------
    def upsert_recordings(self, recordings: list[Recording]) -> None:
        """Record (or refresh the metadata of) each good recording."""
        if not recordings:
            return
        frame = pd.DataFrame(
            [
                {
                    "recording_id": r.recording_id,
                    "file": r.file,
                    "case_id": r.case_id,
                    "agency_id": r.agency_id,
                    "interview_date": r.interview_date,
                    "manifest_row": r.manifest_row,
                    "first_seen": now(),
                }
                for r in recordings
            ]
        )
        self.con.register("incoming", frame)
        self.con.execute(
            "INSERT INTO recordings SELECT * FROM incoming ON CONFLICT (recording_id) DO UPDATE SET "
            "file = excluded.file, case_id = excluded.case_id, agency_id = excluded.agency_id, "
            "interview_date = excluded.interview_date, manifest_row = excluded.manifest_row"
        )
        self.con.unregister("incoming")

    def replace_cases(self, cases: pd.DataFrame) -> None:
        """The case outcomes file is authoritative: replace the table with it."""
        self._replace("cases", "TRUE", [], cases)

    def add_quarantine(self, run_id: str, items: list[Quarantined]) -> None:
        """Remember what was set aside in this run and why."""
        frame = pd.DataFrame(
            [
                {
                    "run_id": run_id,
                    "stage": q.stage,
                    "source": q.source,
                    "row_number": q.row,
                    "reason": q.reason,
                    "quarantined_at": now(),
                }
                for q in items
            ]
        )
        self._replace("quarantine", "run_id = ?", [run_id], frame)

    # -- transcripts -----------------------------------------------------------------------
    def transcribed_ids(self, transcript_key: str) -> set[str]:
        """Recordings already transcribed under this key."""
        rows = self.con.execute(
            "SELECT recording_id FROM transcripts WHERE transcript_key = ?", [transcript_key]
        ).fetchall()
        return {r[0] for r in rows}

    def save_transcript(self, transcript: Transcript, turns: list[Turn]) -> None:
        """Store one recording's redacted segments and turns, then mark it transcribed."""
        key = [transcript.recording_id, transcript.transcript_key]
        where = "recording_id = ? AND transcript_key = ?"
        segments = pd.DataFrame(
            [
                {
                    "recording_id": key[0],
                    "transcript_key": key[1],
                    "seg_idx": i,
                    "start_s": s.start,
                    "end_s": s.end,
                    "channel": s.channel,
                    "role": s.role,
                    "text": s.text,
                    "avg_logprob": s.avg_logprob,
                    "no_speech_prob": s.no_speech_prob,
                    "compression_ratio": s.compression_ratio,
                    "low_confidence": s.low_confidence,
                }
                for i, s in enumerate(transcript.segments)
            ],
            columns=[
                "recording_id",
                "transcript_key",
                "seg_idx",
                "start_s",
                "end_s",
                "channel",
                "role",
                "text",
                "avg_logprob",
                "no_speech_prob",
                "compression_ratio",
                "low_confidence",
            ],
        )
        utterances = pd.DataFrame(
            [
                {
                    "recording_id": key[0],
                    "transcript_key": key[1],
                    "utt_idx": i,
                    "role": t.role,
                    "start_s": t.start,
                    "end_s": t.end,
                    "text": t.text,
                    "low_confidence": t.low_confidence,
                }
                for i, t in enumerate(turns)
            ],
            columns=[
                "recording_id",
                "transcript_key",
                "utt_idx",
                "role",
                "start_s",
                "end_s",
                "text",
                "low_confidence",
            ],
        )
        meta = pd.DataFrame(
            [
                {
                    "recording_id": key[0],
                    "transcript_key": key[1],
                    "backend": transcript.backend,
                    "model": transcript.model,
                    "language": transcript.language,
                    "duration_s": transcript.duration_s,
                    "channels": transcript.channels,
                    "elapsed_s": transcript.elapsed_s,
                    "n_segments": len(transcript.segments),
                    "redacted_counts": json.dumps(transcript.redacted_counts, sort_keys=True),
                    "created_at": now(),
                    "detected_language": transcript.detected_language,
                    "language_probability": transcript.language_probability,
                    "language_mismatch": transcript.language_mismatch,
                }
            ]
        )
        # One current transcript per recording: rows made under an older key (older redactor
        # included) are deleted with everything derived from them, so no stale text survives.
        rec = [transcript.recording_id]
        for table in (
            "transcripts",
            "utterance_labels",
            "interview_labels",
            "embeddings",
            "topic_assignments",
        ):
            self.con.execute(f"DELETE FROM {table} WHERE recording_id = ?", rec)
        # Segments and turns first, the transcripts row last: a crash in between leaves the
        # recording "not transcribed", so the next run redoes it instead of trusting half a write.
        self._replace("segments", "recording_id = ?", rec, segments)
        self._replace("utterances", "recording_id = ?", rec, utterances)
        self._replace("transcripts", where, key, meta)

    def interview_labels(self, classify_key: str) -> pd.DataFrame:
        """Interview labels under one classify key, joined to their recording's metadata."""
        return self.query(
            "SELECT i.*, r.agency_id, r.case_id, r.interview_date, r.file FROM interview_labels i "
            "JOIN recordings r USING (recording_id) WHERE i.classify_key = ? ORDER BY r.file",
            [classify_key],
        )

    def language_mismatches(self, transcript_key: str) -> list[str]:
        """Files whose detected language differs from the forced one (detection must be on)."""
        return self.query(
            "SELECT r.file FROM transcripts t JOIN recordings r USING (recording_id) "
            "WHERE t.transcript_key = ? AND t.language_mismatch ORDER BY r.file",
            [transcript_key],
        )["file"].tolist()

    def customer_utterances(self, transcript_key: str) -> pd.DataFrame:
        """Customer turns of every recording transcribed under `transcript_key`."""
        return self.query(
            "SELECT u.recording_id, u.utt_idx, u.text, u.start_s, u.end_s, u.low_confidence, "
            "r.agency_id, r.case_id, r.interview_date FROM utterances u "
            "JOIN transcripts t USING (recording_id, transcript_key) "
            "JOIN recordings r USING (recording_id) "
            "WHERE u.transcript_key = ? AND u.role = 'customer' ORDER BY u.recording_id, u.utt_idx",
            [transcript_key],
        )

    # -- labels and embeddings -------------------------------------------------------------
    def labelled_ids(self, classify_key: str) -> set[str]:
        """Recordings whose interview label exists under this classify key."""
        rows = self.con.execute(
            "SELECT recording_id FROM interview_labels WHERE classify_key = ?", [classify_key]
        ).fetchall()
        return {r[0] for r in rows}

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

    # -- topics, scores, runs --------------------------------------------------------------
    def has_topic_model(self, topics_key: str) -> bool:
        """True when topics were already fitted on exactly this corpus and config."""
        row = self.con.execute(
            "SELECT count(*) FROM topic_models WHERE topics_key = ?", [topics_key]
        ).fetchone()
        return bool(row and row[0])

    def save_topics(
        self, topics_key: str, model: dict, info: pd.DataFrame, assignments: pd.DataFrame
    ) -> None:
        """Store a topic fit: info and assignments first, the model row (done marker) last."""
        self._replace("topic_info", "topics_key = ?", [topics_key], info)
        self._replace("topic_assignments", "topics_key = ?", [topics_key], assignments)
        self._replace("topic_models", "topics_key = ?", [topics_key], pd.DataFrame([model]))

    def has(self, name: str) -> bool:
        """Whether a table or view exists (a store written by an older version may lack it)."""
        row = self.con.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [name]
        ).fetchone()
        return bool(row and row[0])

    def current_topics(self, lineage: str) -> dict | None:
        """The latest topic model generation of a lineage (same config and embeddings), if any."""
        if not self.has("topic_generations"):
            return None
        rows = self.query(
            "SELECT * FROM topic_generations WHERE lineage = ? AND model_dir IS NOT NULL "
            "ORDER BY seq DESC LIMIT 1",
            [lineage],
        )
        return None if rows.empty else rows.iloc[0].to_dict()

    def save_topic_generation(self, row: dict) -> None:
        """Record a fitted generation after its model, info and assignments are stored."""
        self._replace(
            "topic_generations", "topics_key = ?", [row["topics_key"]], pd.DataFrame([row])
        )

    def append_topic_assignments(self, topics_key: str, frame: pd.DataFrame) -> None:
        """Add assignments of new utterances and recount the topic sizes, in one transaction."""
        self.con.execute("BEGIN TRANSACTION")
        try:
            self.con.register("new_assignments", frame)
            self.con.execute(
                "INSERT INTO topic_assignments SELECT topics_key, recording_id, utt_idx, topic_id "
                "FROM new_assignments"
            )
            self.con.unregister("new_assignments")
            self.con.execute(
                "UPDATE topic_info SET size = (SELECT count(*) FROM topic_assignments a "
                "WHERE a.topics_key = topic_info.topics_key AND a.topic_id = topic_info.topic_id) "
                "WHERE topics_key = ?",
                [topics_key],
            )
            self.con.execute("COMMIT")
        except Exception:
            self.con.execute("ROLLBACK")
            raise

    def topic_ids(self, topics_key: str) -> list[int]:
        """Topic IDs of one fitted generation."""
        rows = self.con.execute(
            "SELECT topic_id FROM topic_info WHERE topics_key = ? ORDER BY topic_id", [topics_key]
        ).fetchall()
        return [int(r[0]) for r in rows]

    def topic_names(self, lineage: str) -> dict[int, str]:
        """Analyst-given topic names of a lineage, by stable topic ID."""
        if not self.has("topic_names"):
            return {}
        rows = self.query("SELECT topic_id, label FROM topic_names WHERE lineage = ?", [lineage])
        return {int(r.topic_id): str(r.label) for r in rows.itertuples()}

    def rename_topic(self, lineage: str, topic_id: int, label: str) -> None:
        """Give a stable topic ID a name that every later generation keeps."""
        self._replace(
            "topic_names",
            "lineage = ? AND topic_id = ?",
            [lineage, topic_id],
            pd.DataFrame([{"lineage": lineage, "topic_id": topic_id, "label": label,
                           "renamed_at": now()}]),
        )  # fmt: skip

    def save_scorecard(self, run_id: str, scorecard: pd.DataFrame) -> None:
        """Store one run's agency scorecard (metrics as JSON per agency)."""
        frame = pd.DataFrame(
            {
                "run_id": run_id,
                "agency_id": scorecard["agency_id"],
                "metrics": [
                    json.dumps(r, default=str) for r in scorecard.to_dict(orient="records")
                ],
            }
        )
        self._replace("scorecards", "run_id = ?", [run_id], frame)

    def start_run(self, run_id: str, config_hash: str) -> None:
        """Record that a run began."""
        self.con.execute(
            "INSERT INTO runs VALUES (?, ?, NULL, 'running', ?, NULL)", [run_id, now(), config_hash]
        )

    def mark_interrupted(self) -> int:
        """Runs still marked running: call under the data directory lock, where none can be."""
        rows = self.con.execute(
            "UPDATE runs SET status = 'interrupted' WHERE status = 'running' RETURNING run_id"
        ).fetchall()
        return len(rows)

    def last_completed_run(self) -> dict[str, Any]:
        """Summary of the latest completed run (stage keys, topics key, counts), {} if none."""
        rows = self.query(
            "SELECT summary FROM runs WHERE status = 'completed' AND summary IS NOT NULL "
            "ORDER BY finished_at DESC LIMIT 1"
        )
        return dict(json.loads(rows["summary"].iloc[0])) if len(rows) else {}

    def finish_run(self, run_id: str, status: str, summary: dict) -> None:
        """Record how a run ended."""
        self.con.execute(
            "UPDATE runs SET finished_at = ?, status = ?, summary = ? WHERE run_id = ?",
            [now(), status, json.dumps(summary, default=str), run_id],
        )
