"""Ingest stage: validated manifest and cases into the store, erased subjects skipped."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pipeline.ingest import load_cases, load_manifest
from pipeline.privacy.retention import case_hash, erased_case_hashes, erased_recordings
from pipeline.records import Period, Quarantined, Recording
from pipeline.store import Store


@dataclass(frozen=True)
class Ingested:
    """What ingest registered: good recordings, rejects, erased ones skipped, case counts."""

    recordings: list[Recording]
    rejected: list[Quarantined]
    skipped_erased: int
    cases: dict[str, int]  # added, updated, unchanged


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
    store.upsert_recordings(keep)
    case_counts = store.upsert_cases(case_frame)
    store.add_quarantine(run_id, rejected)
    return Ingested(keep, rejected, len(recordings) - len(keep), case_counts)


def _selected(recording: Recording, agencies: list[str] | None, period: Period) -> bool:
    first, last = period
    return (
        (not agencies or recording.agency_id in agencies)
        and (first is None or recording.interview_date >= first)
        and (last is None or recording.interview_date <= last)
    )
