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
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

from pipeline.errors import AscoltoError
from pipeline.lock import data_dir_lock
from pipeline.store import Store, now, require_store

# Tables keyed by recording id, children first so a crash mid-way never orphans a child row.
_RECORDING_TABLES = (
    "topic_assignments",
    "embeddings",
    "utterance_labels",
    "interview_labels",
    "utterances",
    "segments",
    "transcripts",
    "recordings",
)
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

    @property
    def total_rows(self) -> int:
        """Rows removed across all tables."""
        return sum(self.rows.values())


class SubjectNotFound(AscoltoError, LookupError):
    """No case or customer with that id is in the store."""


def forget(
    store: Store, data_dir: Path, case_id: str | None = None, customer_id: str | None = None
) -> Deletion:
    """Erase one case, or every case of one customer, and everything derived from them."""
    if (case_id is None) == (customer_id is None):
        raise ValueError("give exactly one of case_id or customer_id")
    if customer_id is not None:
        cases = _column(store, "SELECT case_id FROM cases WHERE customer_id = ?", [customer_id])
        action, label = "forget-customer", "customer"
    else:
        cases = {str(case_id)}
        action, label = "forget-case", "case"
    recordings = _column(
        store,
        f"SELECT recording_id FROM recordings WHERE case_id IN ({_marks(cases)})",
        sorted(cases),
    )
    known_case = _column(
        store, f"SELECT case_id FROM cases WHERE case_id IN ({_marks(cases)})", sorted(cases)
    )
    if not recordings and not known_case:
        raise SubjectNotFound(f"no {label} with that id in {store.path}; nothing was deleted")
    return _erase(store, data_dir, sorted(recordings), sorted(cases), action, "request")


def forget_in(
    data_dir: Path, case_id: str | None = None, customer_id: str | None = None
) -> Deletion:
    """`forget` under the data directory's lock (what the CLI calls)."""
    require_store(data_dir)
    with data_dir_lock(data_dir, "forget"), Store(data_dir) as store:
        return forget(store, data_dir, case_id=case_id, customer_id=customer_id)


def purge_in(data_dir: Path, older_than_days: int) -> Deletion:
    """`purge` under the data directory's lock (what the CLI and the purge flow call)."""
    require_store(data_dir)
    with data_dir_lock(data_dir, "purge"), Store(data_dir) as store:
        return purge(store, data_dir, older_than_days)


def purge(
    store: Store, data_dir: Path, older_than_days: int, today: date | None = None
) -> Deletion:
    """Erase every interview held longer than the retention period (by interview date)."""
    if older_than_days < 0:
        raise ValueError("older_than_days must be 0 or more")
    cutoff = (today or date.today()) - timedelta(days=older_than_days)
    old = store.query(
        "SELECT recording_id, case_id FROM recordings "
        "WHERE coalesce(interview_date, CAST(first_seen AS DATE)) < ?",
        [cutoff],
    )
    # A case goes only when none of its interviews is still within retention.
    kept = _column(
        store,
        "SELECT case_id FROM recordings WHERE coalesce(interview_date, CAST(first_seen AS DATE)) >= ?",
        [cutoff],
    )
    cases = sorted(set(old["case_id"].astype(str)) - kept)
    reason = f"retention {older_than_days} days (before {cutoff.isoformat()})"
    return _erase(store, data_dir, sorted(old["recording_id"]), cases, "purge", reason)


def _erase(
    store: Store,
    data_dir: Path,
    recordings: list[str],
    cases: list[str],
    action: str,
    reason: str,
) -> Deletion:
    deletion = Deletion(action, reason, recordings=len(recordings), cases=len(cases))
    if not recordings and not cases:
        _audit(store, deletion)
        return deletion
    con = store.con
    con.execute("BEGIN TRANSACTION")
    try:
        topic_keys = _column(
            store,
            f"SELECT DISTINCT topics_key FROM topic_assignments WHERE recording_id IN ({_marks(recordings)})",
            recordings,
        )
        deletion.topic_models = len(topic_keys)
        files = _column(
            store,
            f"SELECT file FROM recordings WHERE recording_id IN ({_marks(recordings)})",
            recordings,
        )
        model_dirs = _column(
            store,
            f"SELECT model_dir FROM topic_generations WHERE topics_key IN ({_marks(topic_keys)})",
            topic_keys,
        )
        for table in ("topic_info", "topic_assignments", "topic_models"):
            deletion.rows[table] = _delete(store, table, "topics_key", sorted(topic_keys))
        # The generation rows stay (IDs only, no text) so topic numbers are never reused.
        con.execute(
            f"UPDATE topic_generations SET model_dir = NULL WHERE topics_key IN ({_marks(topic_keys)})",
            sorted(topic_keys),
        )
        for table in _RECORDING_TABLES:
            deletion.rows[table] = deletion.rows.get(table, 0) + _delete(
                store, table, "recording_id", recordings
            )
        deletion.rows["cases"] = _delete(store, "cases", "case_id", cases)
        deletion.rows["quarantine"] = _delete(store, "quarantine", "source", sorted(files))
        stamp = now()
        for recording_id in recordings:
            con.execute("INSERT INTO erased VALUES ('recording', ?, ?)", [recording_id, stamp])
        if action != "purge":  # retention expiry does not forbid new interviews of the case
            for case in cases:
                con.execute("INSERT INTO erased VALUES ('case', ?, ?)", [case_hash(case), stamp])
        _audit(store, deletion)
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    for folder in model_dirs:  # the saved topic models hold words of the erased utterances
        shutil.rmtree(folder, ignore_errors=True)
    deletion.report_withdrawn = _withdraw_reports(data_dir, stamp.strftime("%Y-%m-%d %H:%M UTC"))
    return deletion


def _withdraw_reports(data_dir: Path, when: str) -> bool:
    withdrawn = False
    for report in (data_dir / "reports").glob("*.html"):
        report.write_text(WITHDRAWN_REPORT.format(when=when), encoding="utf-8")
        withdrawn = True
    return withdrawn


def _audit(store: Store, deletion: Deletion) -> None:
    store.con.execute(
        "INSERT INTO deletions VALUES (?, ?, ?, ?, ?, ?, ?)",
        [
            now(),
            deletion.action,
            deletion.reason,
            deletion.recordings,
            deletion.cases,
            deletion.total_rows,
            json.dumps(deletion.rows, sort_keys=True),
        ],
    )


def _marks(values: Collection[str]) -> str:
    return ", ".join("?" for _ in values) or "NULL"


def _column(store: Store, sql: str, params: Iterable[object]) -> set[str]:
    return {str(r[0]) for r in store.con.execute(sql, list(params)).fetchall()}


def _delete(store: Store, table: str, column: str, values: list[str]) -> int:
    if not values:
        return 0
    row = store.con.execute(
        f"DELETE FROM {table} WHERE {column} IN ({_marks(values)}) RETURNING 1", values
    ).fetchall()
    return len(row)


def erased_recordings(store: Store) -> set[str]:
    """Audio hashes that must not be processed again."""
    return _column(store, "SELECT key FROM erased WHERE kind = 'recording'", [])


def erased_case_hashes(store: Store) -> set[str]:
    """Hashed case ids whose new interviews must not be processed (erased on request)."""
    return _column(store, "SELECT key FROM erased WHERE kind = 'case'", [])
