"""Exports an analyst opens in a spreadsheet, safe against formula injection.

A cell that starts with `=`, `+`, `-`, `@`, a tab or a carriage return is run as a formula by
Excel and LibreOffice. Transcribed speech and agency metadata are untrusted input, so such cells
get a leading apostrophe, which spreadsheets display as plain text.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from pipeline.config import ScoringConfig
from pipeline.files import write_atomic
from pipeline.store import Store

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """Neutralise a text cell a spreadsheet would run as a formula; other values pass through."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


DECIMALS = 4  # exported scores and times: enough for analysis, stable across platforms


def run_keys(store: Store) -> dict[str, str]:
    """Stage keys (`transcript`, `classify`, ...) of the latest completed run ({} if none)."""
    return dict(store.last_completed_run().get("keys") or {})


def interviews_table(store: Store, keys: dict[str, str] | None = None) -> pd.DataFrame:
    """One row per labelled interview: agency, case, sentiment, themes, redacted quotes.

    Only labels under `keys` (default: the latest completed run's), so results of an older
    config never appear twice.
    """
    keys = keys if keys is not None else run_keys(store)
    frame = store.interviews_export(keys.get("classify", ""), DECIMALS)
    frame["themes"] = frame["themes"].map(lambda ts: "; ".join(ts))
    frame["quotes"] = frame["quotes"].map(
        lambda q: " | ".join(t for texts in json.loads(q).values() for t in texts)
    )
    return frame


def utterances_table(store: Store, keys: dict[str, str] | None = None) -> pd.DataFrame:
    """One row per labelled customer utterance: redacted text, sentiment, themes, evidence."""
    keys = keys if keys is not None else run_keys(store)
    frame = store.utterances_export(keys.get("classify", ""), keys.get("transcript", ""), DECIMALS)
    frame["themes"] = frame["themes"].map(lambda ts: "; ".join(ts))
    return frame


def reviews_table(store: Store, keys: dict[str, str] | None = None) -> pd.DataFrame:
    """One row per analyst review: quote, who, when, the model's labels and the analyst's.

    `applies` says whether the review still matches the quote's words under `keys` (default:
    the latest completed run's); the quote's text itself is in `utterances`.
    """
    keys = keys if keys is not None else run_keys(store)
    frame = store.reviews_export(keys.get("transcript", ""))
    for column in ("model_themes", "themes"):
        frame[column] = frame[column].map(lambda ts: "; ".join(ts) if ts is not None else "")
    return frame


def scorecard_table(store: Store) -> pd.DataFrame:
    """The agency scorecard of the latest completed run, one row per agency."""
    return store.latest_scorecard()


def scorecard_by_month_table(store: Store, scoring: ScoringConfig | None = None) -> pd.DataFrame:
    """The scorecard per agency and month, recomputed from the latest run's interviews."""
    from pipeline.review.apply import reviewed_interviews
    from pipeline.scoring import scorecard_by_period

    classify_key = store.latest_classify_key()
    if classify_key is None:
        return pd.DataFrame()
    interviews = reviewed_interviews(store, classify_key, run_keys(store).get("transcript", ""))
    return scorecard_by_period(interviews, store.cases(), scoring or ScoringConfig())


TABLES: dict[str, Callable[..., pd.DataFrame]] = {
    "scorecard": scorecard_table,
    "scorecard_by_month": scorecard_by_month_table,
    "interviews": interviews_table,
    "utterances": utterances_table,
    "reviews": reviews_table,
}


def export_all(
    store: Store,
    out_dir: Path,
    fmt: str,
    scoring: ScoringConfig | None = None,
    tables: tuple[str, ...] = tuple(TABLES),
    keys: dict[str, str] | None = None,
) -> dict[str, int]:
    """Write tables as `<name>.csv` (spreadsheet-safe) or `<name>.parquet`; rows per table.

    `keys`: the stage keys whose results to export (default: the latest completed run's).
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    counts = {}
    for name in tables:
        build = TABLES[name]
        if name == "scorecard_by_month":
            frame = build(store, scoring)
        elif name in ("interviews", "utterances", "reviews"):
            frame = build(store, keys)
        else:
            frame = build(store)
        if fmt == "csv":
            export_csv(frame, out_dir / f"{name}.csv")
        else:
            export_parquet(store, frame, out_dir / f"{name}.parquet")
        counts[name] = len(frame)
    return counts


def export_parquet(store: Store, frame: pd.DataFrame, out: Path) -> Path:
    """Parquet through DuckDB (no pyarrow needed); typed columns, no formula risk."""
    store.write_parquet(frame, out.as_posix())
    return out


def export_csv(frame: pd.DataFrame, out: Path) -> Path:
    """Write `frame` as UTF-8 CSV (with BOM, so Excel reads accents) with every cell made safe."""
    safe = frame.apply(lambda column: column.map(safe_cell))
    return write_atomic(out, safe.to_csv(index=False), encoding="utf-8-sig")
