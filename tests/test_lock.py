"""One writer per data directory: a live holder refuses a second run, a dead one is replaced."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ascolto.cli import app
from pipeline.asr.transcribe import FakeTranscriber
from pipeline.lock import HOLDER_NAME, DataDirLocked, data_dir_lock, live_holder
from tests.conftest import run_flow

REPO = Path(__file__).resolve().parents[1]
HOLD = """import sys, time
from pathlib import Path
from pipeline.lock import data_dir_lock
with data_dir_lock(Path(sys.argv[1])):
    print("held", flush=True)
    time.sleep(60)
"""


def _lock_held_by_another_process(data_dir: Path) -> subprocess.Popen:
    """A live process holding the data directory's lock until it is killed."""
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(data_dir)], cwd=REPO, stdout=subprocess.PIPE, text=True
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    return holder


def test_a_live_holder_refuses_and_a_dead_one_is_taken_over(tmp_path):
    sleeper = _lock_held_by_another_process(tmp_path)
    try:
        with pytest.raises(DataDirLocked, match=f"pid {sleeper.pid}"), data_dir_lock(tmp_path):
            pass
        assert live_holder(tmp_path)["pid"] == sleeper.pid
    finally:
        sleeper.kill()  # SIGKILL: no cleanup runs, the OS releases the lock
        sleeper.wait()
        sleeper.stdout.close()
    assert live_holder(tmp_path) is None  # its note is left, naming a dead pid
    # the holder is dead now: its lock is taken over, then released
    with data_dir_lock(tmp_path) as path:
        assert json.loads(path.read_text())["pid"] != sleeper.pid
    assert not (tmp_path / HOLDER_NAME).exists() and live_holder(tmp_path) is None


def test_cli_refuses_a_second_run_and_forget_on_a_busy_data_dir(batch, tmp_path):
    data = tmp_path / "data"
    run_flow(batch, data, FakeTranscriber())
    sleeper = _lock_held_by_another_process(data)
    try:
        args = ["run", "--recordings", str(batch["recordings"]), "--manifest",
                str(batch["manifest"]), "--cases", str(batch["cases"]), "--data-dir", str(data)]  # fmt: skip
        busy = CliRunner().invoke(app, args)
        assert busy.exit_code == 2 and "in use by another ascolto run" in busy.output
        forget = CliRunner().invoke(app, ["forget", "--case", "K1", "--data-dir", str(data)])
        assert forget.exit_code == 2 and "in use" in forget.output
    finally:
        sleeper.kill()
        sleeper.wait()
        sleeper.stdout.close()
