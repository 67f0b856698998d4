"""Runs, their scorecards and the erasure audit."""

from __future__ import annotations

import json
from typing import Any

import pandas as pd

from pipeline.store.base import StoreBase, now


class RunsMixin(StoreBase):
    """Run bookkeeping and the scorecard each run computed."""

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

    def latest_scorecard(self) -> pd.DataFrame:
        """The agency scorecard of the latest completed run, one row per agency."""
        rows = self.query(
            "SELECT metrics FROM scorecards WHERE run_id = (SELECT run_id FROM runs "
            "WHERE status = 'completed' ORDER BY finished_at DESC LIMIT 1) ORDER BY agency_id"
        )
        return pd.DataFrame([json.loads(m) for m in rows["metrics"]])

    def latest_classify_key(self) -> str | None:
        """The classify key of the latest completed run (None before the first)."""
        value = self._scalar(
            "SELECT config_hash FROM runs WHERE status = 'completed' ORDER BY finished_at DESC "
            "LIMIT 1"
        )
        return None if value is None else str(value)

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

    def recent_runs(self, limit: int = 5) -> pd.DataFrame:
        """The latest runs, newest first: id, start, end, status, summary JSON."""
        return self.query(
            "SELECT run_id, started_at, finished_at, status, summary FROM runs "
            "ORDER BY started_at DESC LIMIT ?",
            [limit],
        )

    def erasure_count(self) -> int:
        """Erasures (forget, purge) recorded in the audit table."""
        return int(self._scalar("SELECT count(*) FROM deletions"))
