"""Erasure: every row derived from a subject goes in one transaction, with a tombstone and audit."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import pandas as pd

from pipeline.store.base import StoreBase, marks, now

# Tables keyed by recording id, children first so a crash mid-way never orphans a child row.
_RECORDING_TABLES = (
    "reviews",
    "topic_assignments",
    "embeddings",
    "utterance_labels",
    "interview_labels",
    "utterances",
    "segments",
    "transcripts",
    "recordings",
)
_INTERVIEW_DAY = "coalesce(interview_date, CAST(first_seen AS DATE))"


@dataclass
class Erased:
    """What one erasure removed from the store: rows per table, topic models and their folders."""

    rows: dict[str, int] = field(default_factory=dict)
    topic_models: int = 0
    model_dirs: set[str] = field(default_factory=set)
    at: datetime = field(default_factory=now)


class ErasureMixin(StoreBase):
    """Queries and writes of `forget` and `purge`."""

    def cases_of_customer(self, customer_id: str) -> set[str]:
        """Case ids of one customer."""
        return self._column("SELECT case_id FROM cases WHERE customer_id = ?", [customer_id])

    def recordings_of_cases(self, cases: set[str]) -> set[str]:
        """Recording ids of these cases."""
        return self._column(
            f"SELECT recording_id FROM recordings WHERE case_id IN ({marks(cases)})", sorted(cases)
        )

    def known_cases(self, cases: set[str]) -> set[str]:
        """Which of these case ids have an outcome row."""
        return self._column(
            f"SELECT case_id FROM cases WHERE case_id IN ({marks(cases)})", sorted(cases)
        )

    def recordings_before(self, cutoff: date) -> pd.DataFrame:
        """Recordings (id, case id) interviewed before `cutoff`."""
        return self.query(
            f"SELECT recording_id, case_id FROM recordings WHERE {_INTERVIEW_DAY} < ?", [cutoff]
        )

    def cases_interviewed_since(self, cutoff: date) -> set[str]:
        """Cases with an interview on or after `cutoff` (still within retention)."""
        return self._column(f"SELECT case_id FROM recordings WHERE {_INTERVIEW_DAY} >= ?", [cutoff])

    def subject_identifiers(self, recordings: list[str], cases: list[str]) -> set[str]:
        """File names, case ids and customer ids of a subject: what must leave no trace."""
        files = self._column(
            f"SELECT file FROM recordings WHERE recording_id IN ({marks(recordings)})", recordings
        )
        case_ids = set(cases) | self._column(
            f"SELECT case_id FROM recordings WHERE recording_id IN ({marks(recordings)})",
            recordings,
        )
        customers = self._column(
            f"SELECT customer_id FROM cases WHERE case_id IN ({marks(case_ids)})", sorted(case_ids)
        )
        return {v for v in files | case_ids | customers if v}

    def scrub_mentions(self, identifiers: set[str]) -> int:
        """Remove quarantine notes and run-summary entries that name any of `identifiers`.

        Quarantine reasons quote file names and case ids ("no recorded consent for a.wav");
        run summaries keep those reasons and the files flagged for their language.
        """
        if not identifiers:
            return 0
        needles = sorted(identifiers)
        mentions = " OR ".join("contains(reason, ?)" for _ in needles)
        removed = len(
            self.con.execute(
                f"DELETE FROM quarantine WHERE {mentions} RETURNING 1", needles
            ).fetchall()
        )
        removed += len(
            self.con.execute(
                f"DELETE FROM warnings WHERE {mentions.replace('reason', 'message')} RETURNING 1",
                needles,
            ).fetchall()
        )
        for run_id, summary in self.con.execute(
            "SELECT run_id, summary FROM runs WHERE summary IS NOT NULL"
        ).fetchall():
            cleaned = scrub_summary(json.loads(summary), identifiers)
            if cleaned != json.loads(summary):
                self.con.execute(
                    "UPDATE runs SET summary = ? WHERE run_id = ?",
                    [json.dumps(cleaned, default=str), run_id],
                )
                removed += 1
        return removed

    def compact(self) -> None:
        """Rewrite the store into a fresh file: deleted rows leave no bytes in free pages.

        DuckDB reuses freed blocks but does not wipe them (a checkpoint does not either), so
        after an erasure the live data is copied into a new file that replaces the old one.
        """
        import duckdb

        fresh = self.path.with_name(f".{self.path.name}.compact")
        for leftover in (fresh, fresh.with_name(fresh.name + ".wal")):
            leftover.unlink(missing_ok=True)
        name = self._scalar("SELECT current_database()")
        target = str(fresh).replace("'", "''")
        self.con.execute(f"ATTACH '{target}' AS compacted")
        self.con.execute(f'COPY FROM DATABASE "{name}" TO compacted')
        self.con.execute("DETACH compacted")
        self.con.close()
        os.replace(fresh, self.path)
        self.path.with_name(self.path.name + ".wal").unlink(missing_ok=True)
        self.con = duckdb.connect(str(self.path))

    def erase(
        self,
        recordings: list[str],
        cases: list[str],
        action: str,
        reason: str,
        case_tombstones: list[str],
    ) -> Erased:
        """Delete the recordings, the cases and all derived rows; tombstones; audit row.

        Topic models that included an erased utterance are dropped (their generation rows stay,
        without a model folder, so topic numbers are never reused). `case_tombstones` (hashed case
        ids): later runs skip new interviews of these cases too (an erasure request, not expiry).
        """
        erased = Erased()
        with self.transaction():
            topic_keys = sorted(
                self._column(
                    "SELECT DISTINCT topics_key FROM topic_assignments "
                    f"WHERE recording_id IN ({marks(recordings)})",
                    recordings,
                )
            )
            erased.topic_models = len(topic_keys)
            files = sorted(
                self._column(
                    f"SELECT file FROM recordings WHERE recording_id IN ({marks(recordings)})",
                    recordings,
                )
            )
            erased.model_dirs = self._column(
                f"SELECT model_dir FROM topic_generations WHERE topics_key IN ({marks(topic_keys)})",
                topic_keys,
            )
            for table in ("topic_info", "topic_assignments", "topic_models"):
                erased.rows[table] = self._delete_in(table, "topics_key", topic_keys)
            self.con.execute(
                "UPDATE topic_generations SET model_dir = NULL "
                f"WHERE topics_key IN ({marks(topic_keys)})",
                topic_keys,
            )
            for table in _RECORDING_TABLES:
                erased.rows[table] = erased.rows.get(table, 0) + self._delete_in(
                    table, "recording_id", recordings
                )
            erased.rows["cases"] = self._delete_in("cases", "case_id", cases)
            erased.rows["quarantine"] = self._delete_in("quarantine", "source", files)
            for recording_id in recordings:
                self.con.execute(
                    "INSERT INTO erased VALUES ('recording', ?, ?)", [recording_id, erased.at]
                )
            for tombstone in case_tombstones:
                self.con.execute("INSERT INTO erased VALUES ('case', ?, ?)", [tombstone, erased.at])
            self.record_deletion(action, reason, len(recordings), len(cases), erased.rows)
        return erased

    def record_deletion(
        self, action: str, reason: str, recordings: int, cases: int, rows: dict[str, int]
    ) -> None:
        """The audit row of an erasure: when, why, how many rows per table; no identifier."""
        self.con.execute(
            "INSERT INTO deletions VALUES (?, ?, ?, ?, ?, ?, ?)",
            [now(), action, reason, recordings, cases, sum(rows.values()),
             json.dumps(rows, sort_keys=True)],
        )  # fmt: skip


def scrub_summary(summary: dict[str, Any], identifiers: set[str]) -> dict[str, Any]:
    """A run summary without the quarantine entries and flagged files naming `identifiers`."""

    def names(value: Any) -> bool:
        text = json.dumps(value, ensure_ascii=False, default=str)
        return any(i in text for i in identifiers)

    cleaned = dict(summary)
    if isinstance(cleaned.get("quarantined"), list):
        cleaned["quarantined"] = [q for q in cleaned["quarantined"] if not names(q)]
    if isinstance(cleaned.get("language_mismatch"), list):
        cleaned["language_mismatch"] = [f for f in cleaned["language_mismatch"] if not names(f)]
    return cleaned
