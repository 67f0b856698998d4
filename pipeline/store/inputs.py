"""Recordings, cases and quarantine: what ingest registers and what it set aside."""

from __future__ import annotations

import pandas as pd

from pipeline.records import Quarantined, Recording
from pipeline.store.base import StoreBase, now


class InputsMixin(StoreBase):
    """Tables written by ingest."""

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

    def cases(self) -> pd.DataFrame:
        """Every case outcome."""
        return self.query("SELECT * FROM cases")

    def recording_count(self) -> int:
        """Recordings registered in the store."""
        return int(self._scalar("SELECT count(*) FROM recordings"))

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

    def quarantine(self, run_id: str) -> pd.DataFrame:
        """What one run set aside: stage, source, row number, reason."""
        return self.query(
            "SELECT stage, source, row_number, reason FROM quarantine WHERE run_id = ?", [run_id]
        )

    def erased_keys(self, kind: str) -> set[str]:
        """Tombstones of one kind: audio hashes ('recording') or hashed case ids ('case')."""
        return self._column("SELECT key FROM erased WHERE kind = ?", [kind])
