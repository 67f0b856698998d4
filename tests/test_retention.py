"""Right to erasure and retention, end to end through the flow and the CLI (fake models)."""

from datetime import date

import pytest
from typer.testing import CliRunner

from ascolto.cli import app
from pipeline.asr.transcribe import FakeTranscriber
from pipeline.privacy.retention import SubjectNotFound, forget, purge
from pipeline.store import Store
from tests.conftest import FOLLOW_UP, QUESTION, run_flow

TEXTS = [QUESTION, "Mi hanno minacciato con l'avvocato.", FOLLOW_UP, "Poi abbiamo fatto tre rate."]
runner = CliRunner()


def _run(batch, data, fake=None, config=None):
    return run_flow(batch, data, fake or FakeTranscriber(TEXTS), config=config)


def _rows_mentioning(store: Store, recording_id: str, case_id: str) -> dict[str, int]:
    """Rows in any table whose recording_id or case_id column holds the subject."""
    columns = store.query(
        "SELECT table_name, column_name FROM information_schema.columns "
        "WHERE column_name IN ('recording_id', 'case_id', 'key')"
    )
    found = {}
    for table, column in columns.itertuples(index=False):
        n = store.query(
            f"SELECT count(*) AS n FROM {table} WHERE {column} IN (?, ?)", [recording_id, case_id]
        )["n"].iloc[0]
        if n and table != "erased":  # the tombstone holds the audio hash by design
            found[f"{table}.{column}"] = int(n)
    return found


def test_forget_case_erases_every_derived_row_and_stays_erased(batch, tmp_path):
    data = tmp_path / "data"
    config = tmp_path / "config.yaml"  # topics fitted on this small batch, so one model holds K1
    config.write_text("topics:\n  min_utterances: 2\n", encoding="utf-8")
    _run(batch, data, config=config)
    with Store(data) as store:
        subject = store.query("SELECT recording_id FROM recordings WHERE case_id = 'K1'")
        recording_id = subject["recording_id"].iloc[0]
        before = _rows_mentioning(store, recording_id, "K1")
        assert before and "topic_assignments.recording_id" in before  # the check sees the subject
        deletion = forget(store, data, case_id="K1")
        assert _rows_mentioning(store, recording_id, "K1") == {}
        audit = store.query("SELECT * FROM deletions")
        others = store.query("SELECT count(*) AS n FROM recordings")["n"].iloc[0]
    assert deletion.recordings == 1 and deletion.cases == 1 and deletion.topic_models == 1
    assert list(audit["action"]) == ["forget-case"] and audit["total_rows"].iloc[0] > 5
    assert "K1" not in audit.to_csv()  # the audit row names no subject
    assert others == 2
    report = (data / "reports" / "report.html").read_text(encoding="utf-8")
    assert "withdrawn" in report

    fake = FakeTranscriber(TEXTS)
    again = _run(batch, data, fake, config)  # same manifest: the erased case must not come back
    assert again["skipped_erased"] == 1 and again["transcribed"] == 0
    with Store(data, read_only=True) as store:
        assert _rows_mentioning(store, recording_id, "K1") == {}
    assert "withdrawn" not in (data / "reports" / "report.html").read_text(encoding="utf-8")


def test_forget_customer_through_the_cli(batch, tmp_path):
    data = tmp_path / "data"
    _run(batch, data)
    result = runner.invoke(app, ["forget", "--customer", "C-K2", "--data-dir", str(data)])
    assert result.exit_code == 0, result.output
    assert "erased 1 recordings, 1 cases" in result.output
    with Store(data, read_only=True) as store:
        assert store.query("SELECT * FROM cases WHERE customer_id = 'C-K2'").empty
        assert store.query("SELECT * FROM recordings WHERE case_id = 'K2'").empty
    unknown = runner.invoke(app, ["forget", "--case", "NOPE", "--data-dir", str(data)])
    assert unknown.exit_code == 2 and "nothing was deleted" in unknown.output
    nowhere = runner.invoke(app, ["forget", "--case", "K1", "--data-dir", str(tmp_path / "x")])
    assert nowhere.exit_code == 2 and "no ascolto store" in nowhere.output


def test_unknown_subject_deletes_nothing(batch, tmp_path):
    data = tmp_path / "data"
    _run(batch, data)
    with Store(data) as store:
        before = store.query("SELECT count(*) AS n FROM segments")["n"].iloc[0]
        with pytest.raises(SubjectNotFound):
            forget(store, data, customer_id="nobody")
        assert store.query("SELECT count(*) AS n FROM segments")["n"].iloc[0] == before


def test_purge_erases_interviews_past_retention(batch, tmp_path):
    data = tmp_path / "data"
    _run(batch, data)
    with Store(data) as store:
        # Interviews on 2026-09-10, 09-11 and 10-02: on 2026-10-20 with 30 days, two are too old.
        deletion = purge(store, data, older_than_days=30, today=date(2026, 10, 20))
        left = store.query("SELECT case_id FROM recordings")["case_id"].tolist()
        audit = store.query("SELECT action, reason, recordings FROM deletions")
    assert deletion.recordings == 2 and left == ["K3"]
    assert audit["action"].iloc[0] == "purge" and "30 days" in audit["reason"].iloc[0]
    assert audit["recordings"].iloc[0] == 2


def test_purge_cli_uses_the_configured_retention(batch, tmp_path):
    data = tmp_path / "data"
    _run(batch, data)
    config = tmp_path / "short.yaml"
    config.write_text("retention:\n  days: 1\n", encoding="utf-8")
    result = runner.invoke(
        app, ["purge", "--data-dir", str(data), "--config", str(config), "--yes"]
    )
    assert result.exit_code == 0, result.output
    assert "erased 3 recordings" in result.output
