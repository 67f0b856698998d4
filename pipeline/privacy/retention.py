"""Retention and the right to erasure: delete everything derived from a subject, and say so.

`forget` removes every row derived from a case or customer (recordings, transcripts, segments,
utterances, labels, embeddings, topic models that included them, the case row, quarantine notes
about their files), withdraws the report built from them and leaves two things behind:
- a tombstone (`erased`): the audio hash and a hash of the case id, so a later run over the same
  manifest skips them instead of bringing the subject back;
- an audit row (`deletions`): when, why, how many rows per table; no identifier of the subject.
`purge` does the same for every interview older than the retention period.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

from pipeline.errors import AscoltoError
from pipeline.files import write_atomic
from pipeline.lock import data_dir_lock
from pipeline.store import SNAPSHOT_FILE, Store, require_store
from pipeline.store.erasure import scrub_summary

WITHDRAWN_REPORT = """<!doctype html><meta charset="utf-8"><title>ascolto · report withdrawn</title>
<h1>Rapporto ritirato / Report withdrawn</h1>
<p>Il {when} sono stati cancellati dei dati su richiesta o per scadenza della conservazione.
Questo rapporto li conteneva ed è stato ritirato: rieseguire <code>ascolto run</code> per
ricostruirlo.</p>
<p>On {when} data was erased on request or at the end of its retention period. This report
contained it and has been withdrawn: run <code>ascolto run</code> again to rebuild it.</p>
"""


def case_hash(case_id: str) -> str:
    """Tombstone key of a case: a hash, so the erased table holds no readable identifier."""
    return hashlib.sha256(f"ascolto-case:{case_id}".encode()).hexdigest()


@dataclass
class Deletion:
    """What one erasure removed (counts only; safe to print and store)."""

    action: str
    reason: str
    recordings: int = 0
    cases: int = 0
    rows: dict[str, int] = field(default_factory=dict)
    topic_models: int = 0
    report_withdrawn: bool = False
    dry_run: bool = False
    of_total: int = 0  # recordings in the store before the erasure
    files: list[str] = field(default_factory=list)  # recordings erased (dry run: that would be)
    rewritten: list[str] = field(default_factory=list)  # exports and reports rewritten without them

    @property
    def total_rows(self) -> int:
        """Rows removed across all tables."""
        return sum(self.rows.values())


class SubjectNotFound(AscoltoError, LookupError):
    """No case or customer with that id is in the store."""


def forget(
    store: Store,
    data_dir: Path,
    case_id: str | None = None,
    customer_id: str | None = None,
    dry_run: bool = False,
) -> Deletion:
    """Erase one case, or every case of one customer, and everything derived from them.

    `dry_run`: say what would go (recordings, cases, files to rewrite) and change nothing.
    """
    if (case_id is None) == (customer_id is None):
        raise ValueError("give exactly one of case_id or customer_id")
    if customer_id is not None:
        cases = store.cases_of_customer(customer_id)
        action, label = "forget-customer", "customer"
    else:
        cases = {str(case_id)}
        action, label = "forget-case", "case"
    recordings = store.recordings_of_cases(cases)
    if not recordings and not store.known_cases(cases):
        raise SubjectNotFound(f"no {label} with that id in {store.path}; nothing was deleted")
    return _erase(store, data_dir, sorted(recordings), sorted(cases), action, "request", dry_run)


def forget_in(
    data_dir: Path,
    case_id: str | None = None,
    customer_id: str | None = None,
    dry_run: bool = False,
) -> Deletion:
    """`forget` under the data directory's lock (what the CLI calls)."""
    require_store(data_dir)
    with data_dir_lock(data_dir, "forget"), Store(data_dir) as store:
        return forget(store, data_dir, case_id=case_id, customer_id=customer_id, dry_run=dry_run)


def purge_in(data_dir: Path, older_than_days: int, dry_run: bool = False) -> Deletion:
    """`purge` under the data directory's lock (what the CLI and the purge flow call)."""
    require_store(data_dir)
    with data_dir_lock(data_dir, "purge"), Store(data_dir) as store:
        return purge(store, data_dir, older_than_days, dry_run=dry_run)


def purge(
    store: Store,
    data_dir: Path,
    older_than_days: int,
    today: date | None = None,
    dry_run: bool = False,
) -> Deletion:
    """Erase every interview held longer than the retention period (by interview date).

    `dry_run`: say what would go and change nothing.
    """
    if older_than_days < 0:
        raise ValueError("older_than_days must be 0 or more")
    cutoff = (today or date.today()) - timedelta(days=older_than_days)
    old = store.recordings_before(cutoff)
    # A case goes only when none of its interviews is still within retention.
    cases = sorted(set(old["case_id"].astype(str)) - store.cases_interviewed_since(cutoff))
    reason = f"retention {older_than_days} days (before {cutoff.isoformat()})"
    return _erase(store, data_dir, sorted(old["recording_id"]), cases, "purge", reason, dry_run)


def _erase(
    store: Store,
    data_dir: Path,
    recordings: list[str],
    cases: list[str],
    action: str,
    reason: str,
    dry_run: bool = False,
) -> Deletion:
    deletion = Deletion(action, reason, recordings=len(recordings), cases=len(cases))
    deletion.files = store.recording_files(recordings)
    deletion.of_total = store.recording_count()
    if dry_run:
        deletion.dry_run = True
        deletion.rewritten = [str(p) for p in _files_to_rewrite(data_dir)] if recordings else []
        return deletion
    if not recordings and not cases:
        store.record_deletion(action, reason, 0, 0, {})
        return deletion
    identifiers = store.subject_identifiers(recordings, cases)
    # retention expiry does not forbid new interviews of the case; an erasure request does
    tombstones = [] if action == "purge" else [case_hash(c) for c in cases]
    erased = store.erase(recordings, cases, action, reason, tombstones)
    deletion.rows, deletion.topic_models = erased.rows, erased.topic_models
    store.scrub_mentions(identifiers)
    for folder in erased.model_dirs:  # the saved topic models hold words of the erased utterances
        _remove_inside(store.resolve(folder), data_dir)
    deletion.rewritten = _rewrite_exports(store, data_dir, identifiers)
    store.compact()  # no bytes of the subject left in the file's free pages
    deletion.report_withdrawn = _withdraw_reports(
        data_dir, erased.at.strftime("%Y-%m-%d %H:%M UTC")
    )
    return deletion


def _files_to_rewrite(data_dir: Path) -> list[Path]:
    """Exports and reports in the data directory, which may hold an erased subject."""
    exports = data_dir / "exports"
    found = sorted(exports.glob("*.csv")) + sorted(exports.glob("*.parquet"))
    found += [exports / "run.json"] if (exports / "run.json").is_file() else []
    found += [data_dir / SNAPSHOT_FILE] if (data_dir / SNAPSHOT_FILE).is_file() else []
    return found + sorted((data_dir / "reports").glob("*.html"))


def _rewrite_exports(store: Store, data_dir: Path, identifiers: set[str]) -> list[str]:
    """Export again, from the erased store, every table file the exports folder holds."""
    from pipeline.report.export import TABLES, export_all
    from pipeline.report.snapshot import publish_snapshot

    exports, rewritten = data_dir / "exports", []
    for fmt in ("csv", "parquet"):
        names = tuple(n for n in TABLES if (exports / f"{n}.{fmt}").is_file())
        if names:
            export_all(store, exports, fmt, tables=names)
            rewritten += [str(exports / f"{n}.{fmt}") for n in names]
    last = store.last_completed_run()
    if (data_dir / SNAPSHOT_FILE).is_file() and "keys" in last and "topics_key" in last:
        lineage = str(last["topics_key"]).rsplit("-", 1)[0]
        publish_snapshot(store, last["keys"], str(last["topics_key"]), str(last["run_id"]),
                         store.topic_names(lineage))  # fmt: skip
        rewritten.append(str(data_dir / SNAPSHOT_FILE))
    meta = exports / "run.json"
    if meta.is_file():
        cleaned = scrub_summary(json.loads(meta.read_text(encoding="utf-8")), identifiers)
        write_atomic(meta, json.dumps(cleaned, indent=2, default=str))
        rewritten.append(str(meta))
    return rewritten


def _remove_inside(folder: Path, data_dir: Path) -> None:
    """Delete a topic model folder, never one outside this data directory (a copy's original)."""
    if folder.resolve().is_relative_to(data_dir.resolve()):
        shutil.rmtree(folder, ignore_errors=True)


def _withdraw_reports(data_dir: Path, when: str) -> bool:
    withdrawn = False
    for report in (data_dir / "reports").glob("*.html"):
        report.write_text(WITHDRAWN_REPORT.format(when=when), encoding="utf-8")
        withdrawn = True
    return withdrawn


def erased_recordings(store: Store) -> set[str]:
    """Audio hashes that must not be processed again."""
    return store.erased_keys("recording")


def erased_case_hashes(store: Store) -> set[str]:
    """Hashed case ids whose new interviews must not be processed (erased on request)."""
    return store.erased_keys("case")
