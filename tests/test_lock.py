"""One writer per data directory: a live holder refuses a second run, a dead one is replaced."""

import json
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from ascolto.cli import app
from pipeline.asr.transcribe import FakeTranscriber
from pipeline.lock import LOCK_NAME, DataDirLocked, data_dir_lock
from tests.conftest import run_flow


def _lock_held_by(data_dir, pid):
    data_dir.mkdir(parents=True, exist_ok=True)
    (data_dir / LOCK_NAME).write_text(json.dumps({"pid": pid, "action": "run", "since": "t"}))


def test_a_live_holder_refuses_and_a_dead_one_is_taken_over(tmp_path):
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        _lock_held_by(tmp_path, sleeper.pid)
        with pytest.raises(DataDirLocked, match=f"pid {sleeper.pid}"), data_dir_lock(tmp_path):
            pass
    finally:
        sleeper.kill()
        sleeper.wait()
    # the holder is dead now: its lock is stale and is taken over, then released
    with data_dir_lock(tmp_path) as path:
        assert json.loads(path.read_text())["pid"] != sleeper.pid
    assert not (tmp_path / LOCK_NAME).exists()


def test_cli_refuses_a_second_run_and_forget_on_a_busy_data_dir(batch, tmp_path):
    data = tmp_path / "data"
    run_flow(batch, data, FakeTranscriber())
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        _lock_held_by(data, sleeper.pid)
        args = ["run", "--recordings", str(batch["recordings"]), "--manifest",
                str(batch["manifest"]), "--cases", str(batch["cases"]), "--data-dir", str(data)]  # fmt: skip
        busy = CliRunner().invoke(app, args)
        assert busy.exit_code == 2 and "in use by another ascolto run" in busy.output
        forget = CliRunner().invoke(app, ["forget", "--case", "K1", "--data-dir", str(data)])
        assert forget.exit_code == 2 and "in use" in forget.output
    finally:
        sleeper.kill()
        sleeper.wait()
