"""What a data directory holds and what a run with today's config would still have to do."""

from __future__ import annotations

import json
from typing import Any

import pandas as pd

from pipeline.store import Store


def store_status(store: Store, current: dict[str, str]) -> dict[str, Any]:
    """Per-stage done / pending / stale counts, last runs, quarantine and erasures.

    `current` holds today's stage keys (transcript, classify, embed): results stored under other
    keys are stale and would be recomputed by the next run.
    """
    recordings = store.recording_count()
    stages = {}
    for stage in ("transcribe", "classify", "embed"):
        done, stale = store.stage_counts(stage, current[stage])
        stages[stage] = {"done": done, "stale": stale, "pending": recordings - done}
    runs = store.recent_runs(5)
    last_runs = [
        {
            "run_id": r.run_id,
            # read only when no live process holds the data directory: a run still marked
            # running was killed (the next run marks it so in the store too)
            "status": "interrupted" if r.status == "running" else r.status,
            "started_at": str(r.started_at),
            "duration_s": _seconds(r.started_at, r.finished_at),
            "models": _summary(r.summary).get("keys"),
            "timings": _summary(r.summary).get("timings"),
        }
        for r in runs.itertuples()
    ]
    latest = runs["run_id"].iloc[0] if len(runs) else ""
    quarantine = store.quarantine(latest).to_dict(orient="records")
    models = store.asr_models().to_dict(orient="records")
    erasures = store.erasure_count()
    return {
        "recordings": recordings,
        "stages": stages,
        "models": models,
        "last_runs": last_runs,
        "quarantined_last_run": quarantine,
        "erasures": erasures,
    }


def _seconds(started: Any, finished: Any) -> float | None:
    """Run duration; None while unfinished (killed runs have no end time: NULL, read as NaT)."""
    return None if pd.isna(finished) or pd.isna(started) else (finished - started).total_seconds()


def _summary(value: Any) -> dict[str, Any]:
    """A run's summary JSON; {} for runs that never wrote one (NULL, read as None or NaN)."""
    return json.loads(value) if isinstance(value, str) and value else {}
