"""Flow parameters as the Prefect UI shows them: plain fields with defaults, no None toggles.

Prefect builds the Custom-run form from the flows' type hints. An `X | None` parameter shows a
type switch and "Property is type None"; here every optional value has a visible default
instead ("" for no config file or no date limit, "config" for the configured language, "none"
for no forced stage), turned into the library's values by these functions.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Literal

from pipeline.errors import InputError
from pipeline.ingest import parse_day
from pipeline.records import Language, Stage

FromStage = Literal["none", "transcribe", "embed", "classify", "topics", "scoring", "report"]
ReportLanguage = Literal["config", "it", "en"]
Day = str | date  # "" (no limit), "2026-10-14" or "14/10/2026" typed in the form, or a date


def config_path(config: str | Path) -> Path | None:
    """The settings file, or None for configs/default.yaml alone."""
    return Path(config) if str(config).strip() else None


def day(value: Day | None, name: str) -> date | None:
    """A date bound, or None for no limit; a typo is one sentence naming the field."""
    if value is None or isinstance(value, date):
        return value
    if not value.strip():
        return None
    try:
        return parse_day(value)
    except ValueError:
        raise InputError(
            f"{name} {value!r} is not a date: write 2026-10-14 or 14/10/2026"
        ) from None


def language(value: ReportLanguage | None) -> Language | None:
    """The report language, or None for `report.language` of the config."""
    return None if value in (None, "config") else value  # type: ignore[return-value]


def from_stage(value: FromStage | None) -> Stage | None:
    """The stage to recompute from, or None."""
    return None if value in (None, "none") else value  # type: ignore[return-value]
