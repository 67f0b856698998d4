"""Real models: Whisper base (bundled), the offline embedder and BERTopic on demo recordings."""

import csv
import json
import re

import pytest
from typer.testing import CliRunner

from ascolto.cli import app
from pipeline.store import Store
from tests.conftest import DEMO, report_text, text_columns_dump

pytestmark = pytest.mark.slow
# Customers say personal data aloud in all three: name and phone (stereo), codice fiscale and
# a spelled email (mono).
FILES = ["intervista_003.ogg", "intervista_013.ogg", "intervista_028.ogg"]
PLANTED = ["Giulia", "Bianchi", "5590", "RSSM", "H501", "mario", "verdi", "example", "x m p l e"]


def _labels() -> dict[str, dict]:
    rows = [
        json.loads(line)
        for line in (DEMO / "labels.jsonl").read_text(encoding="utf-8").splitlines()
    ]
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
    args = [
        "run",
        "--recordings",
        str(DEMO / "recordings"),
        "--manifest",
        str(manifest),
        "--cases",
        str(DEMO / "cases.csv"),
        "--data-dir",
        str(root / "data"),
    ]
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


def test_planted_personal_data_is_not_stored_anywhere(demo_run):
    data, _, _ = demo_run
    with Store(data, read_only=True) as store:
        dumps = text_columns_dump(store)
        counts = store.query("SELECT redacted_counts FROM transcripts")["redacted_counts"]
    html = (data / "reports" / "report.html").read_text(encoding="utf-8")
    dumps["report"] = report_text(html).lower()
    for where, dump in dumps.items():
        for secret in PLANTED:
            assert secret.lower() not in dump, (where, secret)
    found = {k for c in counts for k in json.loads(c)}
    assert {"NOME", "TELEFONO", "CF", "EMAIL"} <= found


def test_report_names_every_agency_with_rates(demo_run):
    data, _, _ = demo_run
    html = (data / "reports" / "report.html").read_text(encoding="utf-8")
    for agency in ("AG01", "AG02"):
        assert f'data-agency="{agency}"' in html
    assert "Tasso di recupero" in html and "Si è sentito minacciato" in html


def test_forget_then_purge_on_the_demo_store(demo_run, tmp_path):
    """Last in this module: it erases what the other tests read."""
    import shutil

    data = tmp_path / "data"
    shutil.copytree(demo_run[0], data)
    with Store(data, read_only=True) as store:
        case = store.query("SELECT case_id FROM recordings WHERE file = ?", [FILES[0]])
    case_id = case["case_id"].iloc[0]
    forgotten = CliRunner().invoke(app, ["forget", "--case", case_id, "--data-dir", str(data)])
    assert forgotten.exit_code == 0, forgotten.output
    assert "erased 1 recordings, 1 cases" in forgotten.output
    with Store(data, read_only=True) as store:
        left = store.query("SELECT file FROM recordings ORDER BY file")["file"].tolist()
        dumps = text_columns_dump(store)
        audit = store.query("SELECT action, recordings FROM deletions")
    assert left == FILES[1:]
    assert not any(case_id.lower() in dump for name, dump in dumps.items() if name != "erased")
    assert audit.values.tolist() == [["forget-case", 1]]
    purged = CliRunner().invoke(
        app, ["purge", "--older-than", "0", "--data-dir", str(data), "--yes"]
    )
    assert purged.exit_code == 0 and "erased 2 recordings" in purged.output
    with Store(data, read_only=True) as store:
        for table in ("recordings", "segments", "utterances", "interview_labels", "embeddings"):
            assert store.query(f"SELECT count(*) AS n FROM {table}")["n"].iloc[0] == 0, table


def test_ctrl_c_stops_at_once_says_what_was_kept_and_leaves_no_process(tmp_path):
    """Ctrl+C during transcription: exit 130 within seconds, the transcripts kept, no orphan."""
    import os
    import signal
    import subprocess
    import sys
    import time

    import psutil

    data = tmp_path / "data"
    env = dict(os.environ, PREFECT_LOGGING_LEVEL="INFO")
    env.pop("PREFECT_API_URL", None)  # its own temporary Prefect server, as an analyst's run
    cmd = [
        sys.executable,
        "-m",
        "ascolto.cli",
        "demo",
        "--limit",
        "6",
        "--data-dir",
        str(data),
        "-v",
    ]
    run = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
    )
    family = psutil.Process(run.pid)
    seen: list[str] = []
    assert run.stdout is not None
    for line in run.stdout:  # wait until the first recording is stored
        seen.append(line)
        if "transcribed 1/" in line:
            break
    children = family.children(recursive=True)
    assert children, "the run should have started its temporary Prefect server"
    run.send_signal(signal.SIGINT)
    stopped = time.monotonic()
    rest, _ = run.communicate(timeout=60)  # a hang guard, not a speed target
    waited = time.monotonic() - stopped
    output = "".join(seen) + rest
    assert run.returncode == 130, output[-2000:]
    assert "interrupted: every transcript and label already written" in output
    assert output.count("Traceback") == 0, output[-2000:]
    _gone = psutil.wait_procs(children, timeout=15)[1]
    assert not _gone, f"left running after Ctrl+C: {[p.cmdline() for p in _gone]}"
    with Store(data, read_only=True) as store:
        kept = int(store.con.execute("SELECT count(*) FROM transcripts").fetchone()[0])
    assert kept >= 1, "the transcript written before Ctrl+C must be kept"
    print(f"stopped {waited:.1f} s after SIGINT, {kept} transcript(s) kept")
