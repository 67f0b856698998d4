"""What analysts get from the Prefect UI and the CLI: a form, queued runs, the report a click away."""

from __future__ import annotations

import subprocess
import sys
import time
import urllib.request

import pytest

from pipeline.lock import DataDirLocked, data_dir_lock


@pytest.mark.parametrize("name", ["process_recordings", "rerun_stage", "agency_report",
                                  "purge_expired"])  # fmt: skip
def test_the_run_form_has_no_none_typed_fields_and_no_internal_flags(name):
    from prefect.utilities.callables import parameter_schema

    import flows.process as flows

    schema = parameter_schema(getattr(flows, name).fn).model_dump()
    for field, spec in schema["properties"].items():
        assert "null" not in str(spec), (name, field, spec)
        assert "default" in spec or field in schema.get("required", []), (name, field)
    assert "distributed" not in schema["properties"]
    if name == "process_recordings":
        assert schema["properties"]["from_stage"]["enum"][0] == "none"


def test_a_run_waits_for_the_data_directory_instead_of_failing(tmp_path):
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from pathlib import Path; "
         "from pipeline.lock import data_dir_lock\n"
         "with data_dir_lock(Path(sys.argv[1]), 'run'):\n"
         "    print('held', flush=True); time.sleep(3)", str(tmp_path)],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with (
            pytest.raises(DataDirLocked, match="in use by another ascolto run"),
            data_dir_lock(tmp_path, "report", wait_s=0),
        ):
            pass
        started = time.monotonic()
        with data_dir_lock(tmp_path, "report", wait_s=30):
            waited = time.monotonic() - started
        assert waited > 0.5  # it waited for the holder, then got the lock
    finally:
        holder.kill()
        holder.wait()


def test_reports_are_served_on_the_loopback_for_the_ui_link(tmp_path):
    from flows.service import reports_server

    (tmp_path / "report.html").write_text("<html>rapporto</html>", encoding="utf-8")
    with reports_server(tmp_path, _free_port()) as url:
        assert url is not None and url.startswith("http://127.0.0.1:")
        with urllib.request.urlopen(f"{url}/report.html", timeout=10) as page:
            assert page.read() == b"<html>rapporto</html>"
    with reports_server(tmp_path, 0) as off:
        assert off is None


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_demo_limit_takes_recordings_across_agencies(tmp_path):
    from ascolto.run_commands import _across_agencies
    from tests.conftest import DEMO

    out = _across_agencies(DEMO / "manifest.csv", 6, tmp_path / "m.csv")
    rows = out.read_text(encoding="utf-8").splitlines()[1:]
    assert len(rows) == 6
    assert sorted({r.split(",")[2] for r in rows}) == ["AG01", "AG02", "AG03"]


def test_the_first_line_comes_before_the_slow_imports(tmp_path):
    process = subprocess.Popen(
        [sys.executable, "-m", "ascolto.cli", "run", "--recordings", str(tmp_path), "--manifest",
         str(tmp_path / "m.csv"), "--cases", str(tmp_path / "c.csv"), "--data-dir",
         str(tmp_path / "d")],
        stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    try:
        assert process.stderr is not None
        first = process.stderr.readline()
        assert "ascolto: processing m.csv" in first  # before Prefect, the models, any error
    finally:
        process.kill()
        process.wait()
