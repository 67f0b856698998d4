"""Data integrity with real-world inputs: each test reproduced a failure first."""

from __future__ import annotations

import pandas as pd

from pipeline.asr.transcribe import FakeTranscriber
from pipeline.ingest import load_manifest
from pipeline.status import store_status
from pipeline.store import Store
from tests.conftest import FOLLOW_UP, QUESTION, case_row, run_flow, write_csv

TEXTS = [QUESTION, "Mi hanno minacciato con l'avvocato.", FOLLOW_UP, "Poi tutto bene."]

CURRENT = {"transcribe": "t", "classify": "c", "embed": "e"}


def test_status_reads_a_store_that_had_a_killed_run(tmp_path):
    with Store(tmp_path) as store:
        store.start_run("done", "k")
        store.finish_run("done", "completed", {"keys": {"transcript": "t"}, "timings": {"x": 1}})
        store.start_run("killed", "k")  # SIGKILL: never finished, no summary
        store.mark_interrupted()
        store.start_run("running", "k")
        runs = {r["run_id"]: r for r in store_status(store, CURRENT)["last_runs"]}
    assert runs["killed"]["status"] == "interrupted" and runs["killed"]["duration_s"] is None
    assert runs["killed"]["timings"] is None
    assert runs["done"]["timings"] == {"x": 1} and runs["done"]["duration_s"] >= 0


def test_manifest_files_must_lie_inside_the_recordings_folder(batch, tmp_path):
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    secret = outside / "secret.wav"
    secret.write_bytes((batch["recordings"] / "a.wav").read_bytes())
    (batch["recordings"] / "link.wav").symlink_to(secret)
    rows = [
        {"file": name, "case_id": f"K{i}", "agency_id": "AG1", "interview_date": "2026-09-10",
         "consent": "yes"}
        for i, name in enumerate(["a.wav", "../elsewhere/secret.wav", str(secret), "link.wav"])
    ]  # fmt: skip
    good, bad = load_manifest(batch["recordings"], write_csv(tmp_path / "m.csv", rows))
    assert [r.file for r in good] == ["a.wav"]
    assert sorted(q.row for q in bad) == [3, 4, 5]
    assert all("outside the recordings folder" in q.reason for q in bad)


def test_a_partial_cases_file_updates_and_adds_but_never_deletes(batch, tmp_path):
    data = tmp_path / "data"
    first = run_flow(batch, data, FakeTranscriber(TEXTS))
    assert first["cases"] == {"added": 3, "updated": 0, "unchanged": 0}
    with Store(data, read_only=True) as store:
        before = store.latest_scorecard()
    week = write_csv(tmp_path / "week.csv", [case_row("K3", "AG1", 50, 25)])  # unchanged
    again = run_flow(batch | {"cases": week}, data, FakeTranscriber(TEXTS))
    assert again["cases"] == {"added": 0, "updated": 0, "unchanged": 1}
    with Store(data, read_only=True) as store:
        assert len(store.cases()) == 3
        pd.testing.assert_frame_equal(store.latest_scorecard(), before)
    paid = write_csv(tmp_path / "paid.csv", [case_row("K3", "AG1", 50, 50)])
    third = run_flow(batch | {"cases": paid}, data, FakeTranscriber(TEXTS))
    assert third["cases"] == {"added": 0, "updated": 1, "unchanged": 0}
    with Store(data, read_only=True) as store:
        cases = store.cases().set_index("case_id")
    assert cases.loc["K3", "amount_recovered_eur"] == 50 and cases.loc["K1", "nps"] == 9


def test_every_reject_of_a_run_is_kept_csv_rows_and_audio_alike(batch, tmp_path):
    broken = batch["recordings"] / "broken.wav"
    broken.write_bytes(b"RIFF not really a wav file")
    rows = [
        {"file": "a.wav", "case_id": "K1", "agency_id": "AG1", "interview_date": "2026-09-10",
         "consent": "yes"},
        {"file": "b.wav", "case_id": "K2", "agency_id": "AG2", "interview_date": "2026-09-11",
         "consent": "no"},
        {"file": "broken.wav", "case_id": "K3", "agency_id": "AG1",
         "interview_date": "2026-09-12", "consent": "yes"},
    ]  # fmt: skip
    manifest = write_csv(tmp_path / "m.csv", rows)
    summary = run_flow(batch | {"manifest": manifest}, tmp_path / "data", FakeTranscriber(TEXTS))
    with Store(tmp_path / "data", read_only=True) as store:
        kept = store.quarantine(summary["run_id"])
    assert sorted(kept["stage"]) == ["ingest", "transcribe"]
    assert any("consent" in reason for reason in kept["reason"])
    assert len(summary["quarantined"]) == 2


def test_topic_models_are_stored_relative_to_the_data_directory(tmp_path):
    with Store(tmp_path / "data") as store:
        folder = store.data_dir / "topics" / "k-1"
        folder.mkdir(parents=True)
        assert store.relative(folder) == "topics/k-1"
        assert store.resolve("topics/k-1") == folder
        # a store written by an older version, relative to its first run's working directory
        assert store.resolve("data/topics/k-1") == folder
