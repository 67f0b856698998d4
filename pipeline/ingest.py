"""Validate the inputs of a run: recordings folder, manifest and case outcomes.

A bad row or file never stops the batch: it is quarantined with a reason that names the file or
row and the fix, and the good ones go on. Only a missing folder or an unreadable CSV stops the run,
since nothing could be processed without it.
"""

from __future__ import annotations

import hashlib
from datetime import date
from pathlib import Path

import pandas as pd

from pipeline.errors import AscoltoError
from pipeline.records import Quarantined, Recording

MANIFEST_COLUMNS = ["file", "case_id", "agency_id", "interview_date", "consent"]
CASE_COLUMNS = [
    "case_id",
    "customer_id",
    "agency_id",
    "amount_due_eur",
    "amount_recovered_eur",
    "due_date",
    "paid_date",
    "contract_ended_date",
    "annual_value_eur",
    "nps",
]
# Optional: the agency's contact date, from which churn is counted (due_date when absent).
OPTIONAL_CASE_COLUMNS = ["contact_date"]
CONSENT_YES = {"yes", "si", "sì", "true", "1", "y"}


class InputError(AscoltoError, ValueError):
    """An input the whole run depends on is missing or unreadable."""


def sha256_file(path: Path, chunk_size: int = 1 << 20) -> str:
    """Hex SHA-256 of a file's bytes, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(chunk_size), b""):
            digest.update(chunk)
    return digest.hexdigest()


def read_csv(path: Path, required: list[str], what: str) -> pd.DataFrame:
    """Read a CSV as strings, failing with the file name and the missing columns."""
    if not path.is_file():
        raise InputError(f"{what} not found: {path} (pass the right path with --{what})")
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise InputError(f"{what} {path} is not a readable UTF-8 CSV: {exc}") from exc
    frame.columns = [c.strip() for c in frame.columns]
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise InputError(
            f"{what} {path} lacks column(s) {', '.join(missing)}; expected: {', '.join(required)}"
        )
    return frame


def load_manifest(
    recordings_dir: Path, manifest_path: Path
) -> tuple[list[Recording], list[Quarantined]]:
    """Check every manifest row and hash its audio; return the good recordings and the rejects."""
    if not recordings_dir.is_dir():
        raise InputError(f"recordings folder not found: {recordings_dir}")
    frame = read_csv(manifest_path, MANIFEST_COLUMNS, "manifest")
    good: list[Recording] = []
    bad: list[Quarantined] = []
    seen: dict[str, int] = {}
    for index, row in frame.iterrows():
        line = int(str(index)) + 2  # header is line 1
        problem, recording = _check_row(recordings_dir, row, line)
        if problem:
            bad.append(Quarantined("ingest", str(manifest_path), problem, line))
            continue
        assert recording is not None
        if recording.recording_id in seen:
            bad.append(
                Quarantined(
                    "ingest",
                    str(manifest_path),
                    f"same audio as line {seen[recording.recording_id]} ({recording.file}); "
                    "remove the duplicate row",
                    line,
                )
            )
            continue
        seen[recording.recording_id] = line
        good.append(recording)
    return good, bad


def _check_row(recordings_dir: Path, row: pd.Series, line: int) -> tuple[str, Recording | None]:
    file = row["file"].strip()
    if not file:
        return "empty 'file' cell; write the recording's file name", None
    for column in ("case_id", "agency_id"):
        if not row[column].strip():
            return f"empty '{column}' for {file}; fill it in", None
    if row["consent"].strip().lower() not in CONSENT_YES:
        return (
            f"no recorded consent for {file} (consent={row['consent']!r}); it is not processed",
            None,
        )
    try:
        interview_date = date.fromisoformat(row["interview_date"].strip())
    except ValueError:
        return (
            f"interview_date {row['interview_date']!r} for {file} is not a date; use YYYY-MM-DD",
            None,
        )
    path = (recordings_dir / file).resolve()
    if not path.is_file():
        return f"recording {file} not found in {recordings_dir}; fix the name or add the file", None
    if path.stat().st_size == 0:
        return f"recording {file} is empty (0 bytes)", None
    return "", Recording(
        recording_id=sha256_file(path),
        path=path,
        file=file,
        case_id=row["case_id"].strip(),
        agency_id=row["agency_id"].strip(),
        interview_date=interview_date,
        manifest_row=line,
    )


def load_cases(cases_path: Path) -> tuple[pd.DataFrame, list[Quarantined]]:
    """Parse case outcomes into typed columns; rows with unparsable values are quarantined."""
    frame = read_csv(cases_path, CASE_COLUMNS, "cases")
    rows, bad = [], []
    seen: dict[str, int] = {}
    for index, row in frame.iterrows():
        line = int(str(index)) + 2
        try:
            parsed = _parse_case(row)
        except ValueError as exc:
            bad.append(
                Quarantined("ingest", str(cases_path), f"case {row['case_id']!r}: {exc}", line)
            )
            continue
        if parsed["case_id"] in seen:
            bad.append(
                Quarantined(
                    "ingest",
                    str(cases_path),
                    f"case_id {parsed['case_id']!r} repeats line {seen[parsed['case_id']]}; kept the first",
                    line,
                )
            )
            continue
        seen[parsed["case_id"]] = line
        rows.append(parsed)
    return pd.DataFrame(rows, columns=CASE_COLUMNS + OPTIONAL_CASE_COLUMNS), bad


def _parse_case(row: pd.Series) -> dict:
    def money(column: str) -> float:
        text = row[column].strip().replace(",", ".")
        try:
            value = float(text) if text else 0.0
        except ValueError:
            raise ValueError(f"{column}={row[column]!r} is not a number") from None
        if value < 0:
            raise ValueError(f"{column}={value} is negative")
        return value

    def day(column: str, required: bool = False) -> date | None:
        text = str(row.get(column, "")).strip()
        if not text:
            if required:
                raise ValueError(f"{column} is empty")
            return None
        try:
            return date.fromisoformat(text)
        except ValueError:
            raise ValueError(f"{column}={text!r} is not a date (YYYY-MM-DD)") from None

    nps_text = row["nps"].strip()
    nps = None
    if nps_text:
        if not nps_text.isdigit() or not 0 <= int(nps_text) <= 10:
            raise ValueError(f"nps={nps_text!r} is not an integer 0-10")
        nps = int(nps_text)
    if not row["case_id"].strip():
        raise ValueError("empty case_id")
    return {
        "case_id": row["case_id"].strip(),
        "customer_id": row["customer_id"].strip(),
        "agency_id": row["agency_id"].strip(),
        "amount_due_eur": money("amount_due_eur"),
        "amount_recovered_eur": money("amount_recovered_eur"),
        "due_date": day("due_date", required=True),
        "paid_date": day("paid_date"),
        "contract_ended_date": day("contract_ended_date"),
        "annual_value_eur": money("annual_value_eur"),
        "nps": nps,
        "contact_date": day("contact_date"),
    }
