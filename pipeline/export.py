"""Exports an analyst opens in a spreadsheet, safe against formula injection.

A cell that starts with `=`, `+`, `-`, `@`, a tab or a carriage return is run as a formula by
Excel and LibreOffice. Transcribed speech and agency metadata are untrusted input, so such cells
get a leading apostrophe, which spreadsheets display as plain text.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from pipeline.report import write_atomic
from pipeline.store import Store

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """Neutralise a text cell a spreadsheet would run as a formula; other values pass through."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def interviews_table(store: Store) -> pd.DataFrame:
    """One row per labelled interview: agency, case, sentiment, themes, redacted quotes."""
    frame = store.query(
        "SELECT r.file, r.agency_id, r.case_id, r.interview_date, i.sentiment, i.threatened, "
        "i.empathy_score, i.themes, i.quotes FROM interview_labels i "
        "JOIN recordings r USING (recording_id) ORDER BY r.agency_id, r.file"
    )
    frame["themes"] = frame["themes"].map(lambda ts: "; ".join(ts))
    frame["quotes"] = frame["quotes"].map(
        lambda q: " | ".join(t for texts in json.loads(q).values() for t in texts)
    )
    return frame


def export_csv(frame: pd.DataFrame, out: Path) -> Path:
    """Write `frame` as UTF-8 CSV (with BOM, so Excel reads accents) with every cell made safe."""
    safe = frame.apply(lambda column: column.map(safe_cell))
    return write_atomic(out, safe.to_csv(index=False), encoding="utf-8-sig")
