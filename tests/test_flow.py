"""The Prefect flow end to end with fake models: incremental runs, quarantine, no PII stored."""

import shutil

import pytest

from flows.process import process_recordings
from pipeline.embed import FakeEmbedder
from pipeline.store import Store
from pipeline.transcribe import FakeTranscriber
from tests.conftest import FOLLOW_UP, QUESTION, text_columns_dump, write_csv

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
    return process_recordings(
        recordings_dir=batch["recordings"],
        manifest=batch["manifest"],
        cases=batch["cases"],
        data_dir=data_dir,
        transcriber=fake,
        embedder=FakeEmbedder(),
    )


def test_flow_runs_then_reruns_without_transcribing(batch, fake, tmp_path):
    data = tmp_path / "data"
    first = _run(batch, fake, data)
    assert (first["transcribed"], first["cached"], first["quarantined"]) == (3, 0, [])
    calls = fake.calls
    html = (data / "reports" / "report.html").read_text(encoding="utf-8")
    assert "AG1" in html and "AG2" in html and "Minaccia legale" in html

    second = _run(batch, fake, data)
    assert (second["transcribed"], second["cached"]) == (0, 3)
    assert fake.calls == calls
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


def test_personal_data_never_reaches_the_store_or_report(batch, fake, tmp_path):
    data = tmp_path / "data"
    _run(batch, fake, data)
    planted = ["giulia", "bianchi", "347 218 5590", "5590"]
    with Store(data, read_only=True) as store:
        dumps = text_columns_dump(store)
    assert "segments" in dumps and "interview_labels" in dumps
    for table, dump in dumps.items():
        for secret in planted:
            assert secret not in dump, (table, secret)
    for path in data.rglob("*"):
        if path.is_file() and path.suffix in {".html", ".csv", ".json", ".log"}:
            content = path.read_text(encoding="utf-8", errors="ignore")
            assert not any(s in content.lower() for s in planted), path


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
