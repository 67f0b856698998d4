"""Crash safety: a run killed with SIGKILL, run again, ends exactly like an uninterrupted run.

Real `ascolto run` processes (fake models, `tests/fake_cli.py`) are killed at the fault points
of `pipeline/faults.py`; the rerun's CSV exports must equal an uninterrupted run's byte for byte,
with no duplicate rows, no leftover temporary file and no run left marked as running. All
processes share one Prefect server, so a killed process leaves no orphaned temporary server.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.store import Store
from tests.conftest import bursts, case_row, write_csv, write_wav

pytestmark = pytest.mark.slow  # a dozen real CLI processes: about 4 minutes on 2 cores

REPO = Path(__file__).resolve().parent.parent
EXPORTS = ("interviews.csv", "utterances.csv")
POINTS = ["transcribed#3", "store-write#40", "classified#5", "topics-saved", "file-write",
          "finishing"]  # fmt: skip


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> dict[str, Path]:
    """12 distinct recordings over three agencies, and a config that fits topics on them."""
    root = tmp_path_factory.mktemp("crash")
    rec = root / "recordings"
    rec.mkdir()
    rows, cases = [], []
    for i in range(12):
        write_wav(rec / f"r{i:02d}.wav", bursts([1, 0] * 5, freq=200.0 + 10 * i)[None, :])
        agency = f"AG{i % 3 + 1}"
        rows.append({"file": f"r{i:02d}.wav", "case_id": f"K{i}", "agency_id": agency,
                     "interview_date": f"2026-09-{i + 1:02d}", "consent": "yes"})  # fmt: skip
        cases.append(case_row(f"K{i}", agency, 100 + i, 50 * (i % 3)))
    config = root / "config.yaml"
    config.write_text("topics:\n  min_utterances: 10\n", encoding="utf-8")
    return {
        "recordings": rec,
        "manifest": write_csv(root / "manifest.csv", rows),
        "cases": write_csv(root / "cases.csv", cases),
        "config": config,
    }


def _run(inputs, data_dir: Path, api_url: str, kill_at: str | None = None):
    env = dict(os.environ, PREFECT_API_URL=api_url)
    env.pop("ASCOLTO_KILL_AT", None)
    if kill_at:
        env["ASCOLTO_KILL_AT"] = kill_at
    args = ["run", "--recordings", str(inputs["recordings"]), "--manifest",
            str(inputs["manifest"]), "--cases", str(inputs["cases"]), "--config",
            str(inputs["config"]), "--data-dir", str(data_dir)]  # fmt: skip
    return subprocess.run(
        [sys.executable, "-m", "tests.fake_cli", *args],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip


@pytest.fixture(scope="module")
def reference(inputs, prefect_api, tmp_path_factory) -> dict[str, bytes]:
    """Exports of an uninterrupted run; a second one on a fresh data directory must match."""
    exports = []
    for name in ("first", "second"):
        data = tmp_path_factory.mktemp(name)
        done = _run(inputs, data, prefect_api)
        assert done.returncode == 0, done.stderr[-3000:]
        exports.append({f: (data / "exports" / f).read_bytes() for f in EXPORTS})
        assert (data / "exports" / "run.json").is_file()  # times and run ids live apart
    assert exports[0] == exports[1]
    assert exports[0]["utterances.csv"].count(b"\n") > 12
    return exports[0]


@pytest.mark.parametrize("point", POINTS)
def test_a_killed_run_reruns_to_the_same_results(point, inputs, prefect_api, reference, tmp_path):
    data = tmp_path / "data"
    killed = _run(inputs, data, prefect_api, kill_at=point)
    assert killed.returncode == -signal.SIGKILL, (point, killed.stderr[-3000:])
    if point == "file-write":
        assert list((data / "reports").glob(".*.tmp")), "the kill was meant to leave a temp file"
    rerun = _run(inputs, data, prefect_api)  # the dead process's lock is taken over
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    for name in EXPORTS:
        assert (data / "exports" / name).read_bytes() == reference[name], (point, name)
    assert not [p for p in data.rglob("*.tmp")], "temporary files left behind"
    assert (
        (data / "reports" / "report.html").read_text(encoding="utf-8").rstrip().endswith("</html>")
    )
    with Store(data, read_only=True) as store:
        for table, key in (
            ("transcripts", "recording_id, transcript_key"),
            ("utterances", "recording_id, transcript_key, utt_idx"),
            ("utterance_labels", "recording_id, classify_key, utt_idx"),
            ("interview_labels", "recording_id, classify_key"),
            ("embeddings", "recording_id, embed_key, utt_idx"),
            ("topic_assignments", "topics_key, recording_id, utt_idx"),
        ):
            rows, distinct = store.con.execute(
                f"SELECT count(*), count(DISTINCT ({key})) FROM {table}"
            ).fetchone()
            assert rows == distinct > 0, (point, table)
        statuses = dict(
            store.con.execute("SELECT status, count(*) FROM runs GROUP BY 1").fetchall()
        )
    assert statuses.get("completed") == 1 and "running" not in statuses, statuses
    assert statuses.get("interrupted") == 1 or statuses.get("failed") == 1, statuses
