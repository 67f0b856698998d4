"""Snapshot stage: publish the run's current results as `analytics.duckdb` for readers."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pandas as pd

from pipeline.config import Settings
from pipeline.report.snapshot import publish_snapshot
from pipeline.stages.keys import StageKeys
from pipeline.stages.topics import topic_names
from pipeline.store import Store


def snapshot(
    store: Store,
    settings: Settings,
    keys: StageKeys,
    topics_key: str,
    run_id: str,
    scorecard: pd.DataFrame,
) -> Path:
    """The snapshot of this run, topics under the analysts' names (docs/store.md)."""
    names = topic_names(store, settings, topics_key.rsplit("-", 1)[0])
    return publish_snapshot(store, dataclasses.asdict(keys), topics_key, run_id, names, scorecard)
