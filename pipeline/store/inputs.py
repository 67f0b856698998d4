"""Recordings, cases and quarantine: what ingest registers and what it set aside."""

from __future__ import annotations

import pandas as pd

from pipeline.records import InputWarning, Quarantined, Recording
from pipeline.store.base import StoreBase, marks, now

_KEPT = ("recording_id", "first_seen")  # a known recording keeps its id and first sighting


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
                    "case_id_as_written": r.written_ids[0],
                    "agency_id_as_written": r.written_ids[1],
                }
                for r in recordings
            ]
        )
        columns = ", ".join(frame.columns)
        updates = ", ".join(f"{c} = excluded.{c}" for c in frame.columns if c not in _KEPT)
        self.con.register("incoming", frame)
        self.con.execute(
            f"INSERT INTO recordings ({columns}) SELECT {columns} FROM incoming "
            f"ON CONFLICT (recording_id) DO UPDATE SET {updates}"
        )
        self.con.unregister("incoming")

    def stored_recordings(self, recording_ids: list[str]) -> dict[str, tuple[str, str]]:
        """Case id and file of the recordings already in the store, by recording id."""
        rows = self.con.execute(
            f"SELECT recording_id, case_id, file FROM recordings "
            f"WHERE recording_id IN ({marks(recording_ids)})",
            recording_ids,
        ).fetchall()
        return {str(r): (str(c), str(f)) for r, c, f in rows}

    def upsert_cases(self, cases: pd.DataFrame) -> dict[str, int]:
        """Add new cases, update those whose outcome changed; a case not in `cases` stays.

        A weekly file holds only that week's cases: it must never delete the others. Returns
        how many were added, updated (any value changed) and left unchanged.
        """
        if cases.empty:
            return {"added": 0, "updated": 0, "unchanged": 0}
        columns = list(cases.columns)
        changed = " OR ".join(f"c.{col} IS DISTINCT FROM i.{col}" for col in columns)
        with self.transaction():
            self.con.register("incoming", cases)
            added = int(self._scalar(
                "SELECT count(*) FROM incoming i ANTI JOIN cases c USING (case_id)"
            ))  # fmt: skip
            updated = int(self._scalar(
                f"SELECT count(*) FROM incoming i JOIN cases c USING (case_id) WHERE {changed}"
            ))  # fmt: skip
            updates = ", ".join(f"{col} = excluded.{col}" for col in columns if col != "case_id")
            self.con.execute(
                f"INSERT INTO cases ({', '.join(columns)}) SELECT {', '.join(columns)} FROM incoming "
                f"ON CONFLICT (case_id) DO UPDATE SET {updates}"
            )
            self.con.unregister("incoming")
        return {"added": added, "updated": updated, "unchanged": len(cases) - added - updated}

    def cases(self) -> pd.DataFrame:
        """Every case outcome."""
        return self.query("SELECT * FROM cases")

    def recording_files(self, recordings: list[str]) -> list[str]:
        """File names (as in the manifest) of these recordings, sorted."""
        return sorted(
            self._column(
                f"SELECT file FROM recordings WHERE recording_id IN ({marks(recordings)})",
                recordings,
            )
        )

    def agencies(self) -> list[str]:
        """Every agency id of the recordings and cases, sorted."""
        return sorted(
            self._column("SELECT agency_id FROM recordings UNION SELECT agency_id FROM cases")
            - {"None", ""}
        )

    def recording_count(self) -> int:
        """Recordings registered in the store."""
        return int(self._scalar("SELECT count(*) FROM recordings"))

    def add_quarantine(self, run_id: str, items: list[Quarantined]) -> None:
        """Remember what one step of a run set aside and why (other steps' rejects are kept)."""
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
        stages = sorted({q.stage for q in items})
        with self.transaction():
            self.con.execute(
                f"DELETE FROM quarantine WHERE run_id = ? AND stage IN ({marks(stages)})",
                [run_id, *stages],
            )
            self._insert("quarantine", frame)

    def quarantine(self, run_id: str) -> pd.DataFrame:
        """What one run set aside: stage, source, row number, reason."""
        return self.query(
            "SELECT stage, source, row_number, reason FROM quarantine WHERE run_id = ?", [run_id]
        )

    def add_warnings(self, run_id: str, items: list[InputWarning]) -> None:
        """Remember what one step of a run accepted but wants an analyst to look at."""
        frame = pd.DataFrame(
            [
                {"run_id": run_id, "stage": w.stage, "source": w.source, "row_number": w.row,
                 "message": w.message, "warned_at": now()}
                for w in items
            ],
            columns=["run_id", "stage", "source", "row_number", "message", "warned_at"],
        )  # fmt: skip
        stages = sorted({w.stage for w in items})
        with self.transaction():
            self.con.execute(
                f"DELETE FROM warnings WHERE run_id = ? AND stage IN ({marks(stages)})",
                [run_id, *stages],
            )
            self._insert("warnings", frame)

    def warnings(self, run_id: str) -> pd.DataFrame:
        """What one run warned about: stage, source, row number, message."""
        if not self.has("warnings"):
            return pd.DataFrame(columns=["stage", "source", "row_number", "message"])
        return self.query(
            "SELECT stage, source, row_number, message FROM warnings WHERE run_id = ? "
            "ORDER BY stage, source, row_number",
            [run_id],
        )

    def erased_keys(self, kind: str) -> set[str]:
        """Tombstones of one kind: audio hashes ('recording') or hashed case ids ('case')."""
        return self._column("SELECT key FROM erased WHERE kind = ?", [kind])
