"""The analytics snapshot: typed, current results only, readable while a run writes."""

from __future__ import annotations

import subprocess
import sys

import duckdb

from pipeline.asr.transcribe import FakeTranscriber
from tests.conftest import FOLLOW_UP, QUESTION, run_flow

TEXTS = [QUESTION, "Mi hanno minacciato con l'avvocato.", FOLLOW_UP, "Poi tutto bene."]
THREATENED_BY_MONTH = """
SELECT agency_id, month, avg(threatened::INT) AS threatened_share, count(*) AS interviews
FROM interviews WHERE customer_spoke GROUP BY ALL ORDER BY ALL
"""


def test_snapshot_holds_typed_current_results_and_answers_in_one_query(batch, tmp_path):
    data = tmp_path / "data"
    summary = run_flow(batch, data, FakeTranscriber(TEXTS))
    run_flow(batch, data, FakeTranscriber(TEXTS))  # a rerun must not double anything
    with duckdb.connect(str(data / "analytics.duckdb"), read_only=True) as con:
        tables = {r[0] for r in con.execute("SHOW TABLES").fetchall()}
        assert {"interviews", "utterances", "agencies", "topics", "cases", "about"} <= tables
        rows = con.execute(THREATENED_BY_MONTH).fetchall()
        types = dict(con.execute("SELECT column_name, data_type FROM information_schema.columns "
                                 "WHERE table_name = 'interviews'").fetchall())  # fmt: skip
        n_utt = con.execute("SELECT count(*) FROM utterances").fetchone()
        labels = con.execute("SELECT count(*) FROM utterances WHERE threatened").fetchone()
    assert [(a, str(m)) for a, m, _, _ in rows] == [
        ("AG1", "2026-09-01"), ("AG1", "2026-10-01"), ("AG2", "2026-09-01")
    ]  # fmt: skip
    assert all(share == 1.0 for _, _, share, _ in rows) and sum(n for *_, n in rows) == 3
    assert types["themes"] == "VARCHAR[]" and types["quotes"] == "JSON"
    assert types["interview_date"] == "DATE" and types["threatened"] == "BOOLEAN"
    assert n_utt is not None and labels is not None and n_utt[0] == labels[0] * 2
    assert summary["snapshot"].endswith("analytics.duckdb")


def test_a_reader_holding_the_snapshot_open_does_not_make_a_run_fail(batch, tmp_path):
    data = tmp_path / "data"
    run_flow(batch, data, FakeTranscriber(TEXTS))
    reader = subprocess.Popen(
        [sys.executable, "-c", "import duckdb, sys, time; "
         "c = duckdb.connect(sys.argv[1], read_only=True); "
         "print(c.execute('SELECT count(*) FROM interviews').fetchone()[0], flush=True); "
         "time.sleep(60)", str(data / "analytics.duckdb")],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert reader.stdout is not None and reader.stdout.readline().strip() == "3"
        again = run_flow(
            batch,
            data,
            FakeTranscriber(TEXTS),
        )
        assert again["cached"] == 3
        with duckdb.connect(str(data / "analytics.duckdb"), read_only=True) as con:
            about = con.execute("SELECT run_id FROM about").fetchone()
        assert about is not None and about[0] == again["run_id"]
    finally:
        reader.kill()
        reader.wait()
