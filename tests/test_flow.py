"""The Prefect flow end to end with fake models: incremental runs, quarantine, no PII stored."""

import shutil

import pandas as pd
import pytest

from pipeline.asr.transcribe import FakeTranscriber
from pipeline.store import Store
from tests.conftest import (
    FOLLOW_UP,
    QUESTION,
    report_text,
    run_flow,
    text_columns_dump,
    write_csv,
)

TEXTS = [
    QUESTION,
    "Mi hanno minacciato con l'avvocato, comunque mi chiamo Giulia Bianchi, numero 347 218 5590.",
    FOLLOW_UP,
    "Dopo è stata gentile e abbiamo fatto tre rate.",
]


@pytest.fixture
def fake() -> FakeTranscriber:
    return FakeTranscriber(TEXTS)


def _run(batch, fake, data_dir):
    return run_flow(batch, data_dir, fake)


def test_flow_runs_then_reruns_without_transcribing(batch, fake, tmp_path):
    data = tmp_path / "data"
    first = _run(batch, fake, data)
    assert (first["transcribed"], first["cached"], first["quarantined"]) == (3, 0, [])
    assert fake.loads == 1  # before the first recording, outside the timed ASR seconds
    calls = fake.calls
    html = (data / "reports" / "report.html").read_text(encoding="utf-8")
    assert "AG1" in html and "AG2" in html and "Minaccia legale" in html

    second = _run(batch, fake, data)
    assert (second["transcribed"], second["cached"]) == (0, 3)
    assert fake.calls == calls and fake.loads == 1  # nothing new: Whisper is never loaded
    assert second["classified"] == 0 and not second["topics_fitted"]
    with Store(data, read_only=True) as store:
        dupes = store.query(
            "SELECT recording_id, seg_idx, count(*) n FROM segments GROUP BY ALL HAVING n > 1"
        )
        assert dupes.empty
        threatened = store.query("SELECT threatened FROM interview_labels")["threatened"]
        assert threatened.all()


def test_bad_files_are_quarantined_and_good_ones_processed(batch, fake, tmp_path):
    (batch["recordings"] / "broken.wav").write_bytes(b"RIFF" + bytes(100))
    shutil.copy(batch["manifest"], tmp_path / "orig.csv")
    rows = (tmp_path / "orig.csv").read_text().splitlines()
    rows += ["broken.wav,K4,AG2,2026-09-12,yes", "gone.wav,K5,AG2,2026-09-12,yes"]
    (batch["manifest"]).write_text("\n".join(rows) + "\n")
    summary = _run(batch, fake, tmp_path / "data")
    assert summary["transcribed"] == 3
    reasons = {q["source"]: q["reason"] for q in summary["quarantined"]}
    assert "broken.wav" in reasons["broken.wav"]
    assert any("gone.wav not found" in r for r in reasons.values())


PII_TEXTS = [
    QUESTION,
    "Mi hanno minacciato. Mi chiamo Giulia Bianchi, codice fiscale BNCGLI75C45F205Z, "
    "scrivete a giulia.bianchi75@gmail.com oppure chiamate il tre quattro sette due uno otto "
    "cinque cinque nove zero. Abito in via Garibaldi 12, IBAN IT60X0542811101000000123456.",
    FOLLOW_UP,
    "Sono nata il 3 marzo 1965 e il POD è IT001E87654321.",
]
PLANTED = [
    "giulia",
    "bianchi",
    "bncgli75c45f205z",
    "bianchi75@",
    "tre quattro sette",
    "garibaldi",
    "it60x0542811101000000123456",
    "3 marzo 1965",
    "it001e87654321",
]


def _files_under(root):
    for path in root.rglob("*"):
        if path.is_file():
            text = path.read_bytes().decode("utf-8", errors="ignore")
            yield path, (report_text(text) if path.suffix == ".html" else text).lower()


def test_personal_data_never_reaches_store_report_logs_or_prefect(batch, tmp_path, caplog, capfd):
    import logging
    import os
    from pathlib import Path

    caplog.set_level(logging.DEBUG)
    data = tmp_path / "data"
    fake = FakeTranscriber(PII_TEXTS)
    _run(batch, fake, data)
    with Store(data, read_only=True) as store:
        dumps = text_columns_dump(store)
        redacted = store.query("SELECT text FROM segments WHERE role = 'customer'")["text"]
    assert "segments" in dumps and "interview_labels" in dumps
    assert redacted.str.contains(r"\[NOME\]").any()  # the text was there, redacted
    for table, dump in dumps.items():
        for secret in PLANTED:
            assert secret not in dump, (table, secret)
    prefect_home = Path(os.environ["PREFECT_HOME"])
    outputs = [*_files_under(data), *_files_under(prefect_home)]
    assert any(p.name.startswith("prefect") for p, _ in outputs)  # Prefect's database is scanned
    captured = capfd.readouterr()
    outputs.append((Path("<logs>"), (caplog.text + captured.out + captured.err).lower()))
    for path, content in outputs:
        for secret in PLANTED:
            assert secret not in content, (path, secret)


def test_cases_file_with_bad_rows_still_runs(batch, fake, tmp_path):
    write_csv(
        batch["cases"],
        [
            {
                "case_id": "K1",
                "customer_id": "C1",
                "agency_id": "AG1",
                "amount_due_eur": "x",
                "amount_recovered_eur": "0",
                "due_date": "2026-07-01",
                "paid_date": "",
                "contract_ended_date": "",
                "annual_value_eur": "1",
                "nps": "",
            },
        ],
    )
    summary = _run(batch, fake, tmp_path / "data")
    assert summary["transcribed"] == 3
    assert any("amount_due_eur" in q["reason"] for q in summary["quarantined"])


def test_export_and_per_agency_report_after_a_run(batch, fake, tmp_path):
    from typer.testing import CliRunner

    from ascolto.cli import app

    data = tmp_path / "data"
    _run(batch, fake, data)
    out = tmp_path / "exports"
    runner = CliRunner()
    result = runner.invoke(app, ["export", "-o", str(out), "--data-dir", str(data)])
    assert result.exit_code == 0, result.output
    exported = (out / "interviews.csv").read_text(encoding="utf-8-sig")
    assert exported.count("\n") == 4 and "LEGAL_THREAT" in exported
    assert "giulia" not in exported.lower()
    assert (out / "scorecard.csv").read_text(encoding="utf-8-sig").count("\n") == 3
    assert "period" in (out / "scorecard_by_month.csv").read_text(encoding="utf-8-sig")
    assert "Mi hanno minacciato" in (out / "utterances.csv").read_text(encoding="utf-8-sig")
    parquet = runner.invoke(
        app, ["export", "--format", "parquet", "-o", str(out), "--data-dir", str(data)]
    )
    assert parquet.exit_code == 0 and (out / "utterances.parquet").stat().st_size > 0
    utterances = pd.read_parquet(out / "utterances.parquet")  # as an analyst reads it
    assert "Mi hanno minacciato" in " ".join(utterances["text"])

    one = tmp_path / "ag1.html"
    result = runner.invoke(
        app, ["report", "--agency", "AG1", "-o", str(one), "--data-dir", str(data)]
    )
    assert result.exit_code == 0, result.output
    html = one.read_text(encoding="utf-8")
    assert "AG1" in html and "AG2" not in html and "Media delle altre agenzie" in html
    unknown = runner.invoke(
        app, ["report", "--agency", "NOPE", "-o", str(one), "--data-dir", str(data)]
    )
    assert unknown.exit_code == 2 and "not in the store" in unknown.output


def test_language_mismatch_is_flagged_when_detection_is_on(batch, tmp_path):
    config = tmp_path / "detect.yaml"
    config.write_text("asr:\n  detect_language: true\n", encoding="utf-8")
    fake = FakeTranscriber(TEXTS, language="en")
    summary = run_flow(batch, tmp_path / "data", fake, config=config)
    assert summary["language_mismatch"] == ["a.wav", "b.wav", "c.wav"]
    with Store(tmp_path / "data", read_only=True) as store:
        flags = store.query("SELECT detected_language, language_mismatch FROM transcripts")
    assert flags["detected_language"].eq("en").all() and flags["language_mismatch"].all()


def test_quotes_the_recognizer_was_unsure_of_are_marked(batch, tmp_path):
    unsure = FakeTranscriber(TEXTS, avg_logprob=-1.6)
    run_flow(batch, tmp_path / "data", unsure)
    with Store(tmp_path / "data", read_only=True) as store:
        quotes = store.query("SELECT quotes FROM interview_labels")["quotes"]
    assert quotes.str.contains(r'"\(\?\) Mi hanno minacciato').all()
    html = (tmp_path / "data" / "reports" / "report.html").read_text(encoding="utf-8")
    assert "(?) = trascrizione incerta" in html


def test_scorecard_is_published_as_prefect_artifacts(batch, fake, tmp_path):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey
    from prefect.client.schemas.sorting import ArtifactSort

    _run(batch, fake, tmp_path / "data")
    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts(
            artifact_filter=ArtifactFilter(
                key=ArtifactFilterKey(any_=["agency-scorecard", "run-summary"])
            ),
            sort=ArtifactSort.CREATED_DESC,
        )
    kinds: dict = {}
    for artifact in artifacts:  # other tests' flow runs publish under the same keys: newest wins
        kinds.setdefault(artifact.key, artifact)
    assert {"agency-scorecard", "run-summary"} <= set(kinds)
    summary = str(kinds["run-summary"].data)
    assert "AG1" in str(kinds["agency-scorecard"].data) and "giulia" not in summary.lower()
    assert "- transcribed: 3" in summary and "timings: ingest" in summary


def test_hostile_agency_names_stay_inert_in_reports_and_exports(batch, fake, tmp_path):
    from typer.testing import CliRunner

    from ascolto.cli import app

    formula, script = '=HYPERLINK("http://x","y")', "<script>alert(1)</script>"
    for path in (batch["manifest"], batch["cases"]):
        text = path.read_text(encoding="utf-8")
        text = text.replace("AG1", '"' + formula.replace('"', '""') + '"').replace("AG2", script)
        path.write_text(text, encoding="utf-8")
    data = tmp_path / "data"
    _run(batch, fake, data)
    runner = CliRunner()
    out = tmp_path / "exports"
    assert runner.invoke(app, ["export", "-o", str(out), "--data-dir", str(data)]).exit_code == 0
    for name in ("scorecard", "interviews", "utterances"):
        cells = (out / f"{name}.csv").read_text(encoding="utf-8-sig")
        assert "'=HYPERLINK" in cells and ",=HYPERLINK" not in cells and '"=HYPERLINK' not in cells
    html = (data / "reports" / "report.html").read_text(encoding="utf-8")
    assert script not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    one = tmp_path / "one.html"
    result = runner.invoke(
        app, ["report", "--agency", script, "-o", str(one), "--data-dir", str(data)]
    )
    assert result.exit_code == 0, result.output
    alone = one.read_text(encoding="utf-8")
    assert script not in alone and "HYPERLINK" not in alone  # the other agency is not named


def test_status_tells_done_pending_and_stale(batch, tmp_path):
    import json

    from typer.testing import CliRunner

    from ascolto.cli import app
    from pipeline.asr.transcribe import make_transcriber
    from pipeline.config import load_settings

    fake = FakeTranscriber(TEXTS)
    fake.model_id = make_transcriber(load_settings().asr).model_id  # as if the real model ran
    data = tmp_path / "data"
    run_flow(batch, data, fake)
    runner = CliRunner()
    now = runner.invoke(app, ["status", "--json", "--data-dir", str(data)])
    assert now.exit_code == 0, now.output
    report = json.loads(now.output)
    assert report["recordings"] == 3 and report["last_runs"][0]["status"] == "completed"
    assert report["stages"]["classify"] == {"done": 3, "stale": 0, "pending": 0}
    config = tmp_path / "c.yaml"
    config.write_text("classify:\n  negation_window: 6\n", encoding="utf-8")
    changed = runner.invoke(
        app, ["status", "--json", "--data-dir", str(data), "--config", str(config)]
    )
    stages = json.loads(changed.output)["stages"]
    assert stages["classify"] == {"done": 0, "stale": 3, "pending": 3}
    assert stages["transcribe"] == {"done": 3, "stale": 0, "pending": 0}
