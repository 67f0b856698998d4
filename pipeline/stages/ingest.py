"""Ingest stage: validated manifest and cases into the store, erased subjects skipped."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import pandas as pd

from pipeline.ingest import load_cases, load_manifest
from pipeline.privacy.retention import case_hash, erased_case_hashes, erased_recordings
from pipeline.records import InputWarning, Period, Quarantined, Recording
from pipeline.store import Store

EARLIEST = date(2000, 1, 1)  # interviews dated before this are typos (1900, 0026...)


@dataclass(frozen=True)
class Ingested:
    """What ingest registered: good recordings, rejects, erased ones skipped, case counts."""

    recordings: list[Recording]
    rejected: list[Quarantined]
    skipped_erased: int
    cases: dict[str, int]  # added, updated, unchanged
    warnings: list[InputWarning] = field(default_factory=list)


def ingest(
    store: Store,
    run_id: str,
    recordings_dir: Path,
    manifest: Path,
    cases: Path,
    agencies: list[str] | None = None,
    period: Period = (None, None),
) -> Ingested:
    """Validate inputs, register good recordings and cases (upserts: nothing is deleted).

    Recordings and cases erased earlier (`ascolto forget`, `ascolto purge`) are skipped, not
    re-created: `skipped` counts them so the summary can tell the analyst. With `agencies` or
    `period` (interview dates, both ends included) only the manifest rows in that selection are
    taken; the others are left for another run, not registered.
    """
    recordings, rejected = load_manifest(recordings_dir, manifest)
    recordings = [r for r in recordings if _selected(r, agencies, period)]
    case_frame, bad_cases = load_cases(cases)
    rejected += bad_cases
    erased_audio, erased_cases = erased_recordings(store), erased_case_hashes(store)
    keep = [
        r
        for r in recordings
        if r.recording_id not in erased_audio and case_hash(r.case_id) not in erased_cases
    ]
    case_frame = case_frame[~case_frame["case_id"].astype(str).map(case_hash).isin(erased_cases)]
    warnings = _warnings(store, keep, case_frame, manifest, cases)
    store.upsert_recordings(keep)
    case_counts = store.upsert_cases(case_frame)
    store.add_quarantine(run_id, rejected)
    store.add_warnings(run_id, warnings)
    return Ingested(keep, rejected, len(recordings) - len(keep), case_counts, warnings)


def _warnings(
    store: Store,
    recordings: list[Recording],
    case_frame: pd.DataFrame,
    manifest: Path,
    cases_path: Path,
) -> list[InputWarning]:
    """Accepted rows that may skew the numbers, each saying what to check."""
    stored = store.cases()
    outcome_agency = dict(zip(stored["case_id"], stored["agency_id"], strict=True))
    outcome_agency |= dict(zip(case_frame["case_id"], case_frame["agency_id"], strict=True))
    known = store.stored_recordings([r.recording_id for r in recordings])
    found: list[InputWarning] = []

    def warn(message: str, row: int | None, source: Path = manifest) -> None:
        found.append(InputWarning("ingest", str(source), message, row))

    renamed: set[tuple[str, str]] = set()
    for r in recordings:
        for written, read in zip(r.written_ids, (r.case_id, r.agency_id), strict=True):
            if written and written != read and (written, read) not in renamed:
                renamed.add((written, read))
                warn(
                    f"id {written!r} read as {read!r} (ids ignore case and spaces)", r.manifest_row
                )
        if r.case_id not in outcome_agency:
            warn(f"case {r.case_id} ({r.file}) has no outcome in {cases_path.name} nor in the "
                 "store: it counts in interview rates, not in recovery or churn", r.manifest_row)  # fmt: skip
        elif outcome_agency[r.case_id] != r.agency_id:
            warn(f"{r.file}: agency {r.agency_id} in the manifest, {outcome_agency[r.case_id]} for "
                 f"case {r.case_id} in the outcomes; fix whichever is wrong", r.manifest_row)  # fmt: skip
        if not EARLIEST <= r.interview_date <= date.today():
            warn(f"{r.file}: interview_date {r.interview_date.isoformat()} is outside "
                 f"{EARLIEST.isoformat()}..today; check the date", r.manifest_row)  # fmt: skip
        before = known.get(r.recording_id)
        if before and before[0] != r.case_id:
            warn(f"{r.file}: the same audio was stored as {before[1]} of case {before[0]}; it now "
                 f"belongs to case {r.case_id}", r.manifest_row)  # fmt: skip
    return found


def _selected(recording: Recording, agencies: list[str] | None, period: Period) -> bool:
    first, last = period
    return (
        (not agencies or recording.agency_id in agencies)
        and (first is None or recording.interview_date >= first)
        and (last is None or recording.interview_date <= last)
    )
