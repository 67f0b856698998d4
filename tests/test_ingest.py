from pathlib import Path

import pytest

from pipeline.errors import InputError
from pipeline.ingest import load_cases, load_manifest, sha256_file
from tests.conftest import case_row, write_csv


def test_good_batch_gives_content_hash_ids(batch):
    recordings, rejected = load_manifest(batch["recordings"], batch["manifest"])
    assert rejected == []
    assert [r.file for r in recordings] == ["a.wav", "b.wav", "c.wav"]
    assert recordings[0].recording_id == sha256_file(batch["recordings"] / "a.wav")


def test_bad_rows_are_quarantined_with_row_and_fix(batch):
    rows = [
        {
            "file": "a.wav",
            "case_id": "K1",
            "agency_id": "AG1",
            "interview_date": "2026-09-10",
            "consent": "yes",
        },
        {
            "file": "missing.wav",
            "case_id": "K9",
            "agency_id": "AG1",
            "interview_date": "2026-09-10",
            "consent": "yes",
        },
        {
            "file": "b.wav",
            "case_id": "K2",
            "agency_id": "AG2",
            "interview_date": "31/02/2026",
            "consent": "yes",
        },
        {
            "file": "c.wav",
            "case_id": "K3",
            "agency_id": "AG1",
            "interview_date": "2026-09-10",
            "consent": "no",
        },
        {
            "file": "a.wav",
            "case_id": "K1",
            "agency_id": "AG1",
            "interview_date": "2026-09-10",
            "consent": "yes",
        },
    ]
    manifest = write_csv(batch["root"] / "m.csv", rows)
    good, bad = load_manifest(batch["recordings"], manifest)
    assert [r.file for r in good] == ["a.wav"]
    reasons = {q.row: q.reason for q in bad}
    assert "missing.wav not found" in reasons[3]
    assert "YYYY-MM-DD" in reasons[4]
    assert "consent" in reasons[5]
    assert "same audio as line 2" in reasons[6]


def test_missing_folder_and_unreadable_csv_stop_the_run(batch, tmp_path: Path):
    with pytest.raises(InputError, match="recordings folder not found"):
        load_manifest(tmp_path / "nowhere", batch["manifest"])
    garbage = tmp_path / "garbage.csv"
    garbage.write_bytes(b"\xff\xfe\x00\x01binary")
    with pytest.raises(InputError, match="garbage.csv"):
        load_manifest(batch["recordings"], garbage)
    no_columns = write_csv(tmp_path / "cols.csv", [{"name": "x"}])
    with pytest.raises(InputError, match="lacks column"):
        load_manifest(batch["recordings"], no_columns)


def test_cases_are_typed_and_bad_rows_quarantined(tmp_path: Path):
    path = write_csv(
        tmp_path / "cases.csv",
        [
            case_row("K1", "AG1", 100, 40, nps="10", contact_date="2026-07-05"),
            case_row("K2", "AG1", "cento", 0),
            case_row("K3", "AG1", 10, 0, nps="11"),
            case_row("K1", "AG1", 5, 5),
        ],
    )
    cases, bad = load_cases(path)
    assert cases["case_id"].tolist() == ["K1"]
    assert cases.loc[0, "amount_recovered_eur"] == 40.0 and cases.loc[0, "nps"] == 10
    assert sorted(q.row for q in bad) == [3, 4, 5]
    assert any("repeats line 2" in q.reason for q in bad if q.row == 5)
    assert any("amount_due_eur='cento'" in q.reason for q in bad)
