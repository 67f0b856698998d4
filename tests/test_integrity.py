"""Data integrity with real-world inputs: each test reproduced a failure first."""

from __future__ import annotations

from pathlib import Path

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


class _PerRecording(FakeTranscriber):
    """Each call (one recording or channel) says a word of its own, so quotes are traceable."""

    def transcribe(self, samples, language):
        segments = super().transcribe(samples, language)
        for segment in segments:
            segment.text = f"{segment.text} zafferano{self.calls}"
        return segments


def _subject_batch(batch, tmp_path):
    (batch["recordings"] / "intervista-zeta.wav").write_bytes(
        (batch["recordings"] / "a.wav").read_bytes() + b"\0"  # other audio, other hash
    )
    rows = [
        {"file": "intervista-zeta.wav", "case_id": "PRATICA-7731", "agency_id": "AG1",
         "interview_date": "2026-09-10", "consent": "yes"},
        {"file": "b.wav", "case_id": "K2", "agency_id": "AG2", "interview_date": "2026-09-11",
         "consent": "yes"},
        {"file": "c.wav", "case_id": "K3", "agency_id": "AG1", "interview_date": "2026-10-02",
         "consent": "yes"},
        {"file": "intervista-zeta.wav", "case_id": "PRATICA-7731", "agency_id": "AG1",
         "interview_date": "2026-09-10", "consent": "no"},
    ]  # fmt: skip
    cases = [
        case_row("PRATICA-7731", "AG1", 100, 100, customer_id="CLIENTE-8842"),
        case_row("K2", "AG2", 200, 0),
        case_row("K3", "AG1", 50, 25),
    ]
    return batch | {
        "manifest": write_csv(tmp_path / "m.csv", rows),
        "cases": write_csv(tmp_path / "c.csv", cases),
    }


def _files_holding(folder, needles):
    found = {}
    for path in folder.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            hits = [n for n in needles if n.encode() in data]
            if hits:
                found[str(path.relative_to(folder))] = hits
    return found


def test_forget_leaves_no_trace_in_the_data_directory(batch, tmp_path):
    from pipeline.privacy.retention import forget_in
    from pipeline.report.export import export_all

    data = tmp_path / "data"
    subject = _subject_batch(batch, tmp_path)
    run_flow(subject, data, _PerRecording(TEXTS))
    with Store(data, read_only=True) as store:
        export_all(store, data / "exports", "parquet")  # an analyst's Parquet copy too
    needles = ["PRATICA-7731", "CLIENTE-8842", "intervista-zeta", "zafferano1"]
    assert set(_files_holding(data, needles)) >= {"ascolto.duckdb", "exports/interviews.csv"}

    plan = forget_in(data, case_id="PRATICA-7731", dry_run=True)
    assert plan.dry_run and plan.files == ["intervista-zeta.wav"] and plan.recordings == 1
    assert _files_holding(data, needles)  # a dry run changes nothing

    done = forget_in(data, case_id="PRATICA-7731")
    assert done.recordings == 1 and "exports/run.json" in " ".join(done.rewritten)
    assert _files_holding(data, needles) == {}
    with Store(data, read_only=True) as store:  # the rest is still there
        assert sorted(store.cases()["case_id"]) == ["K2", "K3"]
        assert len(store.interviews_export(store.latest_classify_key() or "", 4)) == 2


def test_purge_asks_before_erasing_more_than_half_and_has_a_dry_run(batch, tmp_path):
    from typer.testing import CliRunner

    from ascolto.cli import app

    data = tmp_path / "data"
    run_flow(batch, data, FakeTranscriber(TEXTS))
    runner = CliRunner()
    args = ["purge", "--older-than", "0", "--data-dir", str(data)]
    dry = runner.invoke(app, [*args, "--dry-run"])
    assert dry.exit_code == 0 and "would erase 3 of 3 recordings" in dry.output, dry.output
    refused = runner.invoke(app, args)  # no terminal to ask on: refused, nothing erased
    assert refused.exit_code == 2 and "--yes" in refused.output, refused.output
    with Store(data, read_only=True) as store:
        assert store.recording_count() == 3
    done = runner.invoke(app, [*args, "--yes"])
    assert done.exit_code == 0 and "erased 3 recordings" in done.output, done.output
    negative = runner.invoke(app, ["purge", "--older-than", "-1", "--data-dir", str(data)])
    assert negative.exit_code == 2 and "Traceback" not in negative.output


def _italian_excel(canonical, path):
    """The same file as Italian Excel saves it: `;`, decimal comma, thousands dot, dd/mm/yyyy."""
    import csv

    with canonical.open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    for row in rows:
        for column, value in row.items():
            if column.endswith("_eur") and value:
                whole, _, cents = f"{float(value):.2f}".partition(".")
                row[column] = f"{int(whole):,}".replace(",", ".") + "," + cents
            elif column.endswith("_date") and value:
                y, m, d = value.split("-")
                row[column] = f"{d}/{m}/{y}"
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]), delimiter=";")
        writer.writeheader()
        writer.writerows(rows)
    return path


def test_cases_written_by_italian_excel_read_the_same_as_the_canonical_file(tmp_path):
    from pipeline.ingest import load_cases

    canonical = Path(__file__).resolve().parents[1] / "demo" / "cases.csv"
    italian = _italian_excel(canonical, tmp_path / "casi.csv")
    text = italian.read_text(encoding="utf-8-sig")
    assert ";" in text and "/2026" in text and any(c.isdigit() for c in text.split(",")[0])
    expected, bad_expected = load_cases(canonical)
    got, bad = load_cases(italian)
    assert bad == bad_expected == []
    pd.testing.assert_frame_equal(got, expected)


def test_amounts_and_dates_as_people_type_them():
    from pipeline.ingest import parse_amount, parse_day

    assert parse_amount("1.234,56") == parse_amount("1,234.56") == 1234.56
    assert parse_amount("1.234") == 1234.0 and parse_amount("12.345.678") == 12345678.0
    assert parse_amount("100,5") == 100.5 and parse_amount("219.78") == 219.78
    assert parse_amount("€ 1.234,00") == 1234.0
    assert parse_day("14/10/2026") == parse_day("2026-10-14") == parse_day("14.10.2026")
    assert parse_day("2026-10-14 00:00:00") == parse_day("2026-10-14")


def test_ids_are_normalised_and_suspicious_rows_warned_about(batch, tmp_path):
    rows = [
        {"file": "a.wav", "case_id": " k1 ", "agency_id": "ag1", "interview_date": "2026-09-10",
         "consent": "yes"},
        {"file": "b.wav", "case_id": "K2", "agency_id": "AG 1", "interview_date": "1900-01-01",
         "consent": "yes"},
        {"file": "c.wav", "case_id": "K9", "agency_id": "AG1", "interview_date": "2026-10-02",
         "consent": "yes"},
    ]  # fmt: skip
    data = tmp_path / "data"
    first = run_flow(batch | {"manifest": write_csv(tmp_path / "m.csv", rows)}, data,
                     FakeTranscriber(TEXTS))  # fmt: skip
    messages = " | ".join(w["message"] for w in first["warnings"])
    assert "'ag1' read as 'AG1'" in messages and "'AG 1' read as 'AG1'" in messages
    assert "agency AG1 in the manifest, AG2 for case K2" in messages
    assert "1900-01-01 is outside" in messages
    assert "case K9 (c.wav) has no outcome" in messages
    with Store(data, read_only=True) as store:
        assert set(store.interview_labels(first["keys"]["classify"])["agency_id"]) == {"AG1"}
        assert len(store.warnings(first["run_id"])) == len(first["warnings"])
    moved = [dict(rows[0], case_id="K3")]  # the same audio, now under another case
    second = run_flow(batch | {"manifest": write_csv(tmp_path / "m2.csv", moved)}, data,
                      FakeTranscriber(TEXTS))  # fmt: skip
    assert any("same audio was stored as a.wav of case K1" in w["message"]
               for w in second["warnings"])  # fmt: skip


def test_a_silent_customer_channel_is_flagged_and_left_out_of_the_rates(batch, tmp_path):
    import numpy as np

    from tests.conftest import bursts, write_wav

    left = bursts([1, 0, 0, 0, 1, 0, 0, 0])
    write_wav(batch["recordings"] / "b.wav", np.stack([left, np.zeros_like(left)]))  # AG2's only
    data = tmp_path / "data"
    summary = run_flow(batch, data, FakeTranscriber(TEXTS))
    flagged = [w for w in summary["warnings"] if "no customer speech" in w["message"]]
    assert [w["source"] for w in flagged] == ["b.wav"]
    with Store(data, read_only=True) as store:
        card = store.latest_scorecard().set_index("agency_id")
        assert store.warnings(summary["run_id"])["message"].str.contains("b.wav").any()
    assert card.loc["AG2", "interviews"] == 0 and pd.isna(card.loc["AG2", "threatened_rate"])
    assert card.loc["AG1", "interviews"] == 2


def test_with_the_interviewer_channel_silent_the_script_is_never_the_customers():
    from pipeline.asr.roles import ScriptMatcher, assign_stereo
    from pipeline.records import Segment

    matcher = ScriptMatcher((QUESTION, FOLLOW_UP), 0.45)
    customer_channel = [Segment(0, 2, QUESTION), Segment(3, 5, "Mi hanno minacciato.")]
    roles = assign_stereo({0: [], 1: customer_channel}, {0: "interviewer", 1: "customer"}, matcher)
    assert [s.role for s in roles] == ["interviewer", "customer"]
    both = assign_stereo(
        {0: [Segment(0, 2, QUESTION)], 1: [Segment(3, 5, FOLLOW_UP)]},
        {0: "interviewer", 1: "customer"},
        matcher,
    )
    assert [s.role for s in both] == ["interviewer", "customer"]  # channels decide when both speak


def test_one_line_errors_for_a_busy_store_and_an_apostrophe_in_a_path(batch, tmp_path):
    import subprocess
    import sys
    import time

    from typer.testing import CliRunner

    from ascolto.cli import app

    data = tmp_path / "data"
    run_flow(batch, data, FakeTranscriber(TEXTS))
    runner = CliRunner()
    quoted = tmp_path / "dell'agenzia"
    exported = runner.invoke(app, ["export", "-o", str(quoted), "--format", "parquet",
                                   "--data-dir", str(data)])  # fmt: skip
    assert exported.exit_code == 0, exported.output
    assert (quoted / "interviews.parquet").stat().st_size > 0
    holder = subprocess.Popen(
        [sys.executable, "-c", "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); "
         "print('ready', flush=True); time.sleep(60)", str(data / "ascolto.duckdb")],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
        started = time.monotonic()
        busy = runner.invoke(app, ["export", "-o", str(tmp_path / "out"), "--data-dir", str(data)])
        assert busy.exit_code == 2 and "being written by another process" in busy.output
        assert "Traceback" not in busy.output and time.monotonic() - started < 30
    finally:
        holder.kill()
        holder.wait()


def test_a_copied_data_directory_runs_elsewhere_and_forget_on_it_spares_the_original(
    tmp_path, monkeypatch
):
    import shutil

    from pipeline.privacy.retention import forget_in
    from tests.conftest import bursts

    rec = tmp_path / "recordings"
    rec.mkdir()
    rows, cases = [], []
    for i in range(12):
        write_wav_mono(rec / f"r{i:02d}.wav", bursts([1, 0] * 5, freq=200.0 + 10 * i))
        agency = f"AG{i % 3 + 1}"
        rows.append({"file": f"r{i:02d}.wav", "case_id": f"K{i}", "agency_id": agency,
                     "interview_date": f"2026-09-{i + 1:02d}", "consent": "yes"})  # fmt: skip
        cases.append(case_row(f"K{i}", agency, 100 + i, 50 * (i % 3)))
    config = tmp_path / "config.yaml"
    config.write_text("topics:\n  min_utterances: 10\n", encoding="utf-8")
    first = {"recordings": rec, "manifest": write_csv(tmp_path / "m1.csv", rows[:10]),
             "cases": write_csv(tmp_path / "c.csv", cases)}  # fmt: skip
    texts = [QUESTION, "ho parlato con un operatore della pratica", FOLLOW_UP,
             "mi hanno trattato con rispetto e gentilezza"]  # fmt: skip
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    summary = run_flow(first, Path("data"), _PerRecording(texts), config=config)  # relative
    assert summary["topics_fitted"]
    original = work / "data"
    models = sorted((original / "topics").iterdir())
    assert models
    copy = tmp_path / "copy"
    shutil.copytree(original, copy)
    monkeypatch.chdir(tmp_path)  # a scheduler starts from another directory
    more = first | {"manifest": write_csv(tmp_path / "m2.csv", rows)}
    again = run_flow(more, copy, _PerRecording(texts), config=config)
    assert again["transcribed"] == 2 and again["topics_assigned"] > 0
    forget_in(copy, case_id="K0")  # K0 is in the topic model: the copy's model goes
    assert sorted((original / "topics").iterdir()) == models  # the original's stays
    later = run_flow(more, original, _PerRecording(texts), config=config)
    assert later["transcribed"] == 2 and later["topics_assigned"] > 0


def write_wav_mono(path, samples):
    from tests.conftest import write_wav

    return write_wav(path, samples[None, :])
