"""Real models: Whisper base (bundled), the offline embedder and BERTopic on demo recordings."""

import csv
import json
import re

import pytest
from typer.testing import CliRunner

from ascolto.cli import app
from pipeline.store import Store
from tests.conftest import DEMO

pytestmark = pytest.mark.slow
# Two mono recordings and one stereo recording in which the customer says personal data aloud.
FILES = ["intervista_001.ogg", "intervista_002.ogg", "intervista_003.ogg"]


def _labels() -> dict[str, dict]:
    rows = [json.loads(line) for line in (DEMO / "labels.jsonl").read_text(encoding="utf-8").splitlines()]
    return {r["file"]: r for r in rows}


def _words(text: str) -> set[str]:
    return set(re.findall(r"\w{4,}", text.lower()))


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("e2e")
    with (DEMO / "manifest.csv").open(encoding="utf-8") as fh:
        rows = [r for r in csv.DictReader(fh) if r["file"] in FILES]
    manifest = root / "manifest.csv"
    with manifest.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    args = ["run", "--recordings", str(DEMO / "recordings"), "--manifest", str(manifest),
            "--cases", str(DEMO / "cases.csv"), "--data-dir", str(root / "data")]
    first = CliRunner().invoke(app, args)
    second = CliRunner().invoke(app, args)
    return root / "data", first, second


def test_real_run_transcribes_then_caches(demo_run):
    _, first, second = demo_run
    assert first.exit_code == 0, first.output
    assert "transcribed 3, cached 0" in first.output
    assert second.exit_code == 0, second.output
    assert "transcribed 0, cached 3" in second.output
    assert "report:" in second.output


def test_customer_words_are_recognised_and_roles_right(demo_run):
    data, _, _ = demo_run
    labels = _labels()
    with Store(data, read_only=True) as store:
        got = store.query(
            "SELECT r.file, u.role, u.text FROM utterances u JOIN recordings r USING (recording_id)"
        )
    for file in FILES:
        truth = " ".join(t["text"] for t in labels[file]["turns"] if t["role"] == "customer")
        heard = " ".join(got[(got["file"] == file) & (got["role"] == "customer")]["text"])
        recall = len(_words(truth) & _words(heard)) / len(_words(truth))
        assert recall >= 0.6, (file, recall, heard)
    stereo = got[got["file"] == "intervista_003.ogg"]
    interviewer = " ".join(stereo[stereo["role"] == "interviewer"]["text"]).lower()
    assert "telefonata" in interviewer and "minacci" not in interviewer


def test_planted_personal_data_is_not_stored(demo_run):
    data, _, _ = demo_run
    with Store(data, read_only=True) as store:
        text = " ".join(store.query("SELECT text FROM segments")["text"])
        counts = store.query("SELECT redacted_counts FROM transcripts")["redacted_counts"]
    assert "Bianchi" not in text and "218" not in text
    assert any(json.loads(c).get("TELEFONO") for c in counts)


def test_report_names_every_agency_with_rates(demo_run):
    data, _, _ = demo_run
    html = (data / "reports" / "report.html").read_text(encoding="utf-8")
    for agency in ("AG01",):
        assert f'data-agency="{agency}"' in html
    assert "Tasso di recupero" in html and "Si è sentito minacciato" in html
