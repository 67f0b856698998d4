"""ascolto as a service, with real models: served Prefect deployments and Dask scale-out."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pipeline.store import Store
from tests.conftest import DEMO

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[2]
ASCOLTO = [sys.executable, "-m", "ascolto.cli"]
EXPORTS = ("interviews.csv", "utterances.csv")


@pytest.fixture(scope="module")
def two_demo_recordings(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("two")
    lines = (DEMO / "manifest.csv").read_text(encoding="utf-8").splitlines()
    (root / "manifest.csv").write_text("\n".join(lines[:3]) + "\n", encoding="utf-8")
    return root / "manifest.csv"


def _env(api_url: str | None, **extra: str) -> dict[str, str]:
    env = dict(os.environ, **extra)
    env.pop("PREFECT_API_URL", None)
    if api_url:
        env["PREFECT_API_URL"] = api_url
    return env


def _run_cli(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*ASCOLTO, *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=600
    )


def _exports(data_dir: Path) -> dict[str, bytes]:
    return {name: (data_dir / "exports" / name).read_bytes() for name in EXPORTS}


def _wait_for_deployments(client, names: list[str], timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            for name in names:
                client.read_deployment_by_name(name)
            return
        except Exception:  # not registered yet
            time.sleep(1)
    raise AssertionError(f"deployments {names} not served within {timeout_s} s")


def test_served_deployments_run_from_the_client(prefect_api, two_demo_recordings, tmp_path):
    import socket
    import urllib.request

    from prefect.client.orchestration import get_client
    from prefect.deployments import run_deployment
    from prefect.exceptions import PrefectHTTPStatusError

    data = tmp_path / "data"
    drop = tmp_path / "drop"
    with socket.socket() as probe:  # a free port for the reports
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = tmp_path / "serve.yaml"
    config.write_text(f"service:\n  reports_port: {port}\n", encoding="utf-8")
    # the test session quiets Prefect to WARNING; `ascolto serve` itself defaults to INFO
    server_env = _env(prefect_api, PREFECT_RUNNER_POLL_FREQUENCY="1")
    server_env.pop("PREFECT_LOGGING_LEVEL", None)
    serve = subprocess.Popen(
        [*ASCOLTO, "serve", "--data-dir", str(data), "--drop-folder", str(drop),
         "--config", str(config)],
        cwd=REPO, env=server_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    os.environ["PREFECT_API_URL"] = prefect_api
    try:
        with get_client(sync_client=True) as client:
            names = ["process-recordings/process-recordings", "rerun-stage/rerun-stage",
                     "agency-report/agency-report", "purge/purge", "process-recordings/nightly"]  # fmt: skip
            _wait_for_deployments(client, names)
            purge = client.read_deployment_by_name("purge/purge")
            nightly = client.read_deployment_by_name("process-recordings/nightly")
            assert purge.schedules and nightly.schedules
            assert nightly.parameters["manifest"] == str(drop / "manifest.csv")
            schema = client.read_deployment_by_name(
                "rerun-stage/rerun-stage"
            ).parameter_openapi_schema
            assert "classify" in str(schema["properties"]["stage"])  # a choice in the UI form
        run = run_deployment(
            "process-recordings/process-recordings",
            parameters={
                "recordings_dir": str(DEMO / "recordings"),
                "manifest": str(two_demo_recordings),
                "cases": str(DEMO / "cases.csv"),
            },
            timeout=600,
        )
        assert run.state.is_completed(), run.state
        with Store(data, read_only=True) as store:
            assert store.query("SELECT count(*) AS n FROM interview_labels")["n"].iloc[0] == 2
        with get_client(sync_client=True) as client:
            from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId

            logs = client.read_logs(LogFilter(flow_run_id=LogFilterFlowRunId(any_=[run.id])))
            links = [a for a in client.read_artifacts() if a.key == "report"]
        assert any("transcribed 1/2" in log.message for log in logs), [x.message for x in logs]
        assert links and f"127.0.0.1:{port}/report.html" in str(links[0].data)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/report.html", timeout=10) as page:
            assert page.status == 200 and b"<html" in page.read(2000).lower()
        # two runs triggered together: the second waits for the data directory, both complete
        together = [
            run_deployment("rerun-stage/rerun-stage", parameters={"stage": "report"}, timeout=0),
            run_deployment("agency-report/agency-report", parameters={"agency": "AG01"}, timeout=0),
        ]
        with get_client(sync_client=True) as client:
            for _ in range(300):
                states = [client.read_flow_run(r.id).state for r in together]
                if all(s is not None and s.is_final() for s in states):
                    break
                time.sleep(1)
        assert all(s is not None and s.is_completed() for s in states), states
        rerun = run_deployment(
            "rerun-stage/rerun-stage", parameters={"stage": "scoring"}, timeout=300
        )
        assert rerun.state.is_completed(), rerun.state
        report = run_deployment(
            "agency-report/agency-report",
            parameters={"agency": "AG01", "language": "en"},
            timeout=300,
        )
        assert report.state.is_completed(), report.state
        assert (data / "reports" / "agency-AG01-en.html").is_file()
        # The server checks parameters against the flow's schema (enforce_parameter_schema) and
        # refuses to create the run: 409 Conflict, naming the field and the allowed stages.
        with pytest.raises(PrefectHTTPStatusError) as refused:
            run_deployment("rerun-stage/rerun-stage", parameters={"stage": "transcribe"}, timeout=0)
        detail = refused.value.response.json()["detail"]
        assert refused.value.response.status_code == 409, detail
        assert "Validation failed for field 'stage'" in detail, detail
        assert (
            "'transcribe' is not one of ['embed', 'classify', 'topics', 'scoring', 'report']"
            in detail
        )
    finally:
        os.environ.pop("PREFECT_API_URL", None)
        serve.terminate()
        serve.wait(timeout=30)


def test_dask_local_cluster_gives_the_local_results(two_demo_recordings, tmp_path):
    common = ["run", "--recordings", str(DEMO / "recordings"), "--manifest",
              str(two_demo_recordings), "--cases", str(DEMO / "cases.csv")]  # fmt: skip
    local = _run_cli([*common, "--data-dir", str(tmp_path / "local")], _env(None))
    assert local.returncode == 0, local.stderr[-3000:]
    dask = _run_cli(
        [*common, "--data-dir", str(tmp_path / "dask"), "--dask", "local:2"], _env(None)
    )
    assert dask.returncode == 0, dask.stderr[-3000:]
    assert "transcribed 2" in dask.stdout
    assert _exports(tmp_path / "dask") == _exports(tmp_path / "local")
