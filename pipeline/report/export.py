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
    frame = store.query(
        "SELECT r.file, r.agency_id, r.case_id, r.interview_date, i.sentiment, i.threatened, "
        "round(i.empathy_score, ?) AS empathy_score, i.themes, i.quotes FROM interview_labels i "
        "JOIN recordings r USING (recording_id) WHERE i.classify_key = ? "
        "ORDER BY r.agency_id, r.file, r.recording_id",
        [DECIMALS, keys.get("classify", "")],
    )
    frame["themes"] = frame["themes"].map(lambda ts: "; ".join(ts))
    frame["quotes"] = frame["quotes"].map(
        lambda q: " | ".join(t for texts in json.loads(q).values() for t in texts)
    )
    return frame


def utterances_table(store: Store, keys: dict[str, str] | None = None) -> pd.DataFrame:
    """One row per labelled customer utterance: redacted text, sentiment, themes, evidence."""
    keys = keys if keys is not None else run_keys(store)
    frame = store.query(
        "SELECT r.file, r.agency_id, r.case_id, u.utt_idx, round(u.start_s, ?) AS start_s, "
        "round(u.end_s, ?) AS end_s, u.low_confidence, u.text, l.sentiment, "
        "round(l.p_negative, ?) AS p_negative, l.threatened, l.themes, l.evidence "
        "FROM utterance_labels l JOIN utterances u USING (recording_id, utt_idx) "
        "JOIN recordings r USING (recording_id) "
        "WHERE l.classify_key = ? AND u.transcript_key = ? "
        "ORDER BY r.agency_id, r.file, r.recording_id, u.utt_idx",
        [DECIMALS, DECIMALS, DECIMALS, keys.get("classify", ""), keys.get("transcript", "")],
    )
    frame["themes"] = frame["themes"].map(lambda ts: "; ".join(ts))
    return frame


def scorecard_table(store: Store) -> pd.DataFrame:
    """The agency scorecard of the latest completed run, one row per agency."""
    rows = store.query(
        "SELECT metrics FROM scorecards WHERE run_id = (SELECT run_id FROM runs "
        "WHERE status = 'completed' ORDER BY finished_at DESC LIMIT 1) ORDER BY agency_id"
    )
    return pd.DataFrame([json.loads(m) for m in rows["metrics"]])


def scorecard_by_month_table(store: Store, scoring: ScoringConfig | None = None) -> pd.DataFrame:
    """The scorecard per agency and month, recomputed from the latest run's interviews."""
    from pipeline.scoring import scorecard_by_period

    latest = store.query(
        "SELECT config_hash FROM runs WHERE status = 'completed' ORDER BY finished_at DESC LIMIT 1"
    )
    if latest.empty:
        return pd.DataFrame()
    interviews = store.interview_labels(latest["config_hash"].iloc[0])
    cases = store.query("SELECT * FROM cases")
    return scorecard_by_period(interviews, cases, scoring or ScoringConfig())


TABLES: dict[str, Callable[..., pd.DataFrame]] = {
    "scorecard": scorecard_table,
    "scorecard_by_month": scorecard_by_month_table,
    "interviews": interviews_table,
    "utterances": utterances_table,
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
        elif name in ("interviews", "utterances"):
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
    store.con.register("export_frame", frame)
    try:
        store.con.execute(f"COPY export_frame TO '{out.as_posix()}' (FORMAT parquet)")
    finally:
        store.con.unregister("export_frame")
    return out


def export_csv(frame: pd.DataFrame, out: Path) -> Path:
    """Write `frame` as UTF-8 CSV (with BOM, so Excel reads accents) with every cell made safe."""
    safe = frame.apply(lambda column: column.map(safe_cell))
    return write_atomic(out, safe.to_csv(index=False), encoding="utf-8-sig")
