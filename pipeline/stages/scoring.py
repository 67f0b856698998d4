"""Scoring stage: the agency scorecard from interview labels and case outcomes."""

from __future__ import annotations

import pandas as pd

from pipeline.config import Settings
from pipeline.scoring import agency_scorecard
from pipeline.stages.keys import StageKeys
from pipeline.store import Store


def interviews_frame(store: Store, keys: StageKeys) -> pd.DataFrame:
    """Interview labels joined to recording metadata, for the current keys."""
    return store.interview_labels(keys.classify)


def score(store: Store, settings: Settings, keys: StageKeys, run_id: str) -> pd.DataFrame:
    """Compute and store the agency scorecard."""
    scorecard = agency_scorecard(interviews_frame(store, keys), store.cases(), settings.scoring)
    store.save_scorecard(run_id, scorecard)
    return scorecard
