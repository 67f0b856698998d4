"""Scoring stage: the agency scorecard from interview labels and case outcomes."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from pipeline.config import Settings
from pipeline.review.apply import reviewed_interviews
from pipeline.scoring import agency_scorecard
from pipeline.stages.keys import StageKeys
from pipeline.store import Store


def interviews_frame(
    store: Store, keys: StageKeys, themes_file: Path | None = None
) -> pd.DataFrame:
    """Interview labels joined to recording metadata, for the current keys, reviews applied.

    `reviewed` counts the labels analysts reviewed in each interview (see `pipeline.review.apply`).
    """
    return reviewed_interviews(store, keys.classify, keys.transcript, themes_file)


def score(store: Store, settings: Settings, keys: StageKeys, run_id: str) -> pd.DataFrame:
    """Compute and store the agency scorecard."""
    scorecard = agency_scorecard(
        interviews_frame(store, keys, settings.themes_file), store.cases(), settings.scoring
    )
    store.save_scorecard(run_id, scorecard)
    return scorecard
