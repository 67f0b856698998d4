"""What a data directory holds and what a run with today's config would still have to do."""

from __future__ import annotations

import json
from typing import Any

from pipeline.store import Store


def store_status(store: Store, current: dict[str, str]) -> dict[str, Any]:
    """Per-stage done / pending / stale counts, last runs, quarantine and erasures.

    `current` holds today's stage keys (transcript, classify, embed): results stored under other
    keys are stale and would be recomputed by the next run.
    """
    recordings = int(store.query("SELECT count(*) AS n FROM recordings")["n"].iloc[0])
    stages = {}
    for stage, table, column in (
        ("transcribe", "transcripts", "transcript_key"),
        ("classify", "interview_labels", "classify_key"),
        ("embed", "embeddings", "embed_key"),
    ):
        counts = store.query(
            f"SELECT count(DISTINCT recording_id) FILTER (WHERE {column} = ?) AS current, "
            f"count(DISTINCT recording_id) FILTER (WHERE {column} <> ?) AS stale FROM {table}",
            [current[stage], current[stage]],
        ).iloc[0]
        done = int(counts["current"])
        stages[stage] = {"done": done, "stale": int(counts["stale"]), "pending": recordings - done}
    runs = store.query(
        "SELECT run_id, started_at, finished_at, status, summary FROM runs "
        "ORDER BY started_at DESC LIMIT 5"
    )
    last_runs = [
        {
            "run_id": r.run_id,
            # read only when no live process holds the data directory: a run still marked
            # running was killed (the next run marks it so in the store too)
            "status": "interrupted" if r.status == "running" else r.status,
            "started_at": str(r.started_at),
            "duration_s": (r.finished_at - r.started_at).total_seconds() if r.finished_at else None,
            "models": (json.loads(r.summary).get("keys") if r.summary else None),
            "timings": (json.loads(r.summary).get("timings") if r.summary else None),
        }
        for r in runs.itertuples()
    ]
    latest = runs["run_id"].iloc[0] if len(runs) else ""
    quarantine = store.query(
        "SELECT stage, source, row_number, reason FROM quarantine WHERE run_id = ?", [latest]
    ).to_dict(orient="records")
    models = store.query("SELECT DISTINCT backend, model FROM transcripts").to_dict(
        orient="records"
    )
    erasures = int(store.query("SELECT count(*) AS n FROM deletions")["n"].iloc[0])
    return {
        "recordings": recordings,
        "stages": stages,
        "models": models,
        "last_runs": last_runs,
        "quarantined_last_run": quarantine,
        "erasures": erasures,
    }
