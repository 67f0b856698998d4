"""Validate the inputs of a run: recordings folder, manifest and case outcomes.

A bad row or file never stops the batch: it is quarantined with a reason that names the file or
row and the fix, and the good ones go on. Only a missing folder or an unreadable CSV stops the run,
since nothing could be processed without it.
"""

from __future__ import annotations

import hashlib
import io
import re
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Self

import pandas as pd
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from pipeline.errors import InputError
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
DELIMITERS = (",", ";", "\t")
_DAY_FIRST = re.compile(r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})$")
_THOUSANDS = re.compile(r"^-?\d{1,3}\.\d{3}$")


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file's bytes (the recording id)."""
    with path.open("rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def parse_day(text: str) -> date:
    """A date as spreadsheets write it: 2026-10-14, 14/10/2026, 14.10.2026 or 14-10-2026.

    A time after the date (Excel's "2026-10-14 00:00:00") is ignored.
    """
    text = text.strip()
    if len(text) > 10 and text[10] in " T":
        text = text[:10]
    day_first = _DAY_FIRST.match(text)
    if day_first:
        d, m, y = (int(g) for g in day_first.groups())
        return date(y, m, d)
    return date.fromisoformat(text)


def _day(text: str, column: str, file: str = "") -> date | None:
    if not text:
        return None
    try:
        return parse_day(text)
    except ValueError:
        where = f" for {file}" if file else ""
        raise ValueError(
            f"{column} {text!r}{where} is not a date; use YYYY-MM-DD or DD/MM/YYYY"
        ) from None


def parse_amount(text: str) -> float:
    """An amount as Italian and English spreadsheets write it: 1.234,56 / 1,234.56 / 1234.5.

    With both separators the last one is the decimal mark; a lone comma is a decimal comma; a
    lone dot followed by exactly three digits (1.234, 12.345.678) groups thousands.
    """
    t = re.sub(r"[\s\u00a0€]", "", text)
    if "," in t and "." in t:
        t = (
            t.replace(".", "").replace(",", ".")
            if t.rfind(",") > t.rfind(".")
            else t.replace(",", "")
        )
    elif t.count(",") > 1:
        t = t.replace(",", "")
    elif "," in t:
        t = t.replace(",", ".")
    elif t.count(".") > 1 or _THOUSANDS.match(t):
        t = t.replace(".", "")
    return float(t)


def normalise_id(text: str) -> str:
    """Ids compared as people mean them: ` ag 01 ` is AG01."""
    return re.sub(r"\s+", "", str(text)).upper()


class _Row(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True, frozen=True, extra="ignore")

    @classmethod
    def parse(cls, row: dict[str, str]) -> Self:
        """Validate one CSV row; ValueError with one sentence per bad cell."""
        try:
            return cls.model_validate(row)
        except ValidationError as exc:
            raise ValueError("; ".join(_sentence(e) for e in exc.errors())) from None


def _sentence(error: Any) -> str:
    message = str(error["msg"]).removeprefix("Value error, ")
    column = ".".join(str(part) for part in error["loc"])
    return message if column and column in message else f"{column}: {message}"


class ManifestRow(_Row):
    """One manifest line: which audio file belongs to which case, agency and day, with consent."""

    file: str
    case_id: str
    agency_id: str
    interview_date: date
    consent: bool

    @field_validator("file")
    @classmethod
    def _file_named(cls, value: str) -> str:
        if not value:
            raise ValueError("empty 'file' cell; write the recording's file name")
        return value

    @field_validator("case_id", "agency_id")
    @classmethod
    def _filled(cls, value: str, info: ValidationInfo) -> str:
        if not value:
            raise ValueError(f"empty '{info.field_name}' for {info.data.get('file')}; fill it in")
        return normalise_id(value)

    @field_validator("interview_date", mode="before")
    @classmethod
    def _iso_date(cls, value: str, info: ValidationInfo) -> date | None:
        text, file = str(value).strip(), str(info.data.get("file", ""))
        if not text:
            raise ValueError(f"empty 'interview_date' for {file}; use YYYY-MM-DD")
        return _day(text, "interview_date", file)

    @field_validator("consent", mode="before")
    @classmethod
    def _consented(cls, value: str, info: ValidationInfo) -> bool:
        if str(value).strip().lower() not in CONSENT_YES:
            file = info.data.get("file")
            raise ValueError(
                f"no recorded consent for {file} (consent={value!r}); it is not processed"
            )
        return True


def _money(value: str, info: ValidationInfo) -> float:
    text = str(value).strip()
    try:
        amount = parse_amount(text) if text else 0.0
    except ValueError:
        raise ValueError(f"{info.field_name}={value!r} is not a number") from None
    if amount < 0:
        raise ValueError(f"{info.field_name}={amount} is negative")
    return amount


def _optional_day(value: str, info: ValidationInfo) -> date | None:
    return _day(str(value).strip(), str(info.field_name))


Money = Annotated[float, BeforeValidator(_money)]
Day = Annotated[date | None, BeforeValidator(_optional_day)]


class CaseRow(_Row):
    """One case outcome: amounts due and recovered, dates, churn, NPS."""

    case_id: str
    customer_id: str
    agency_id: str
    amount_due_eur: Money
    amount_recovered_eur: Money
    due_date: Day
    paid_date: Day = None
    contract_ended_date: Day = None
    annual_value_eur: Money
    nps: int | None = None
    contact_date: Day = None

    @field_validator("case_id")
    @classmethod
    def _case_named(cls, value: str) -> str:
        if not value:
            raise ValueError("empty case_id")
        return normalise_id(value)

    @field_validator("customer_id", "agency_id")
    @classmethod
    def _normalised(cls, value: str) -> str:
        return normalise_id(value)

    @field_validator("due_date")
    @classmethod
    def _due(cls, value: date | None) -> date:
        if value is None:
            raise ValueError("due_date is empty")
        return value

    @field_validator("nps", mode="before")
    @classmethod
    def _nps(cls, value: str) -> int | None:
        text = str(value).strip()
        if not text:
            return None
        if not text.isdigit() or not 0 <= int(text) <= 10:
            raise ValueError(f"nps={text!r} is not an integer 0-10")
        return int(text)


def read_csv(path: Path, required: list[str], what: str) -> pd.DataFrame:
    """Read a CSV as strings, as spreadsheets write it; fail naming the file and the columns.

    The delimiter is the one the header uses most (`,`, `;` as Italian Excel writes, or a tab);
    UTF-8 with or without BOM, else Windows-1252 (Excel's plain "CSV" on Italian Windows).
    """
    if not path.is_file():
        raise InputError(f"{what} not found: {path} (pass the right path with --{what})")
    raw = path.read_bytes()
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            text = raw.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise InputError(f"{what} {path} is not a readable CSV: not UTF-8 or Windows-1252 text")
    header = text.split("\n", 1)[0]
    delimiter = max(DELIMITERS, key=header.count)
    try:
        frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, sep=delimiter)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise InputError(f"{what} {path} is not a readable CSV: {exc}") from exc
    frame.columns = [str(c).strip() for c in frame.columns]
    missing = [c for c in required if c not in frame.columns]
    if missing:
        shown = repr(delimiter) if delimiter != "\t" else "tab"
        raise InputError(
            f"{what} {path} lacks column(s) {', '.join(missing)}; expected: {', '.join(required)} "
            f"(read with delimiter {shown}; found: {', '.join(frame.columns)})"
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
    try:
        checked = ManifestRow.parse(row.to_dict())
    except ValueError as exc:
        return str(exc), None
    file = checked.file
    path = (recordings_dir / file).resolve()  # symlinks too: the audio itself must be inside
    if not path.is_relative_to(recordings_dir.resolve()):
        return (
            f"recording {file} lies outside the recordings folder {recordings_dir}; copy it into "
            "the folder and name it relative to it",
            None,
        )
    if not path.is_file():
        return f"recording {file} not found in {recordings_dir}; fix the name or add the file", None
    if path.stat().st_size == 0:
        return f"recording {file} is empty (0 bytes)", None
    return "", Recording(
        recording_id=sha256_file(path),
        path=path,
        file=file,
        case_id=checked.case_id,
        agency_id=checked.agency_id,
        interview_date=checked.interview_date,
        manifest_row=line,
        written_ids=(str(row["case_id"]).strip(), str(row["agency_id"]).strip()),
    )


def load_cases(cases_path: Path) -> tuple[pd.DataFrame, list[Quarantined]]:
    """Parse case outcomes into typed columns; rows with unparsable values are quarantined."""
    frame = read_csv(cases_path, CASE_COLUMNS, "cases")
    rows, bad = [], []
    seen: dict[str, int] = {}
    for index, row in frame.iterrows():
        line = int(str(index)) + 2
        try:
            parsed = CaseRow.parse(row.to_dict()).model_dump()
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
