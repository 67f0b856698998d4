"""Running the flows as a service: Dask task runners, a shared Prefect API, served deployments.

`ascolto run --dask ADDRESS` and `ascolto serve` call these; `pipeline/` knows nothing of them.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pipeline.errors import AscoltoError


class ServiceError(AscoltoError, RuntimeError):
    """A service the run needs (Dask scheduler, Prefect server) is not usable; says the fix."""


def dask_task_runner(address: str) -> Any:
    """A `DaskTaskRunner` for `local:N` (N worker processes, one thread each) or a scheduler.

    A scheduler address is checked first, so an unreachable one fails here with the fix rather
    than after ingest. Workers on other hosts need this project installed and the recordings at
    the same path.
    """
    os.environ.setdefault("DASK_LOGGING__DISTRIBUTED", "warning")  # before distributed loads
    from prefect_dask import DaskTaskRunner

    if address.startswith("local:"):
        count = address.removeprefix("local:")
        if not count.isdigit() or int(count) < 1:
            raise ServiceError(f"--dask {address}: write local:N with N >= 1 worker processes")
        return DaskTaskRunner(
            cluster_class="distributed.LocalCluster",
            cluster_kwargs={
                "n_workers": int(count),
                "threads_per_worker": 1,  # one model per process, one recording at a time
                "processes": True,
                "dashboard_address": None,
            },
        )
    _check_scheduler(address)
    return DaskTaskRunner(address=address)


def _check_scheduler(address: str, timeout_s: float = 10) -> None:
    from distributed import Client

    try:
        client = Client(address, timeout=timeout_s)
    except (OSError, TimeoutError, ValueError) as exc:
        raise ServiceError(
            f"cannot reach a Dask scheduler at {address} ({exc.__class__.__name__}: {exc}); "
            "start one with `dask scheduler` and workers with `dask worker ADDRESS --nthreads 1`, "
            "or use --dask local:N"
        ) from None
    client.close()


def check_prefect_api() -> None:
    """With PREFECT_API_URL set, the server must answer; otherwise say how to fix it."""
    url = os.environ.get("PREFECT_API_URL")
    if not url:
        return
    import httpx

    try:
        httpx.get(url.rstrip("/") + "/health", timeout=10).raise_for_status()
    except httpx.HTTPError as exc:
        raise ServiceError(
            f"the Prefect server at PREFECT_API_URL={url} does not answer ({exc}); start it with "
            "`prefect server start`, or unset PREFECT_API_URL to use a temporary local one"
        ) from None


def start_temporary_api_early() -> threading.Thread:
    """Start Prefect's temporary server in the background while the flow's modules load.

    Without an API URL, Prefect starts that server when the flow starts and waits for it (about
    6 s on 2 cores); started here, its start overlaps the imports and the reading of settings.
    Join the thread before the flow runs: Prefect's own start is then a no-op on the same
    server. A server that fails to start here is started again by Prefect, which reports why.
    """

    def start() -> None:
        from prefect.settings import get_current_settings

        settings = get_current_settings()
        if settings.api.url or not settings.server.ephemeral.enabled:
            return
        from prefect.server.api.server import SubprocessASGIServer

        # A failure here is not reported: Prefect starts the server again and says why.
        with contextlib.suppress(Exception):
            SubprocessASGIServer().start()

    thread = threading.Thread(target=start, name="prefect-server-start", daemon=True)
    thread.start()
    return thread


@contextmanager
def shared_prefect_api() -> Iterator[None]:
    """Make sure one Prefect API serves the flow and every Dask worker.

    Without PREFECT_API_URL each process would start its own temporary server (measured: three
    servers, 31-47 s for a 10 s job); one temporary server is started here instead and stopped
    after the run.
    """
    if os.environ.get("PREFECT_API_URL"):
        yield
        return
    from prefect.server.api.server import SubprocessASGIServer

    server = SubprocessASGIServer()
    server.start()
    os.environ["PREFECT_API_URL"] = server.api_url
    try:
        yield
    finally:
        os.environ.pop("PREFECT_API_URL", None)
        server.stop()


def deployments(
    data_dir: Path,
    config: Path | None,
    drop_folder: Path | None,
    nightly_cron: str,
    purge_cron: str,
    timezone: str,
    agencies: list[str] | None = None,
) -> list[Any]:
    """The deployments analysts trigger from the Prefect UI, and the two scheduled ones.

    Parameters default to this service's data directory and config; the UI renders them as a
    form from the flows' type hints and docstrings. `agencies` (default: the store's) become
    the agency fields' choice lists.
    """
    agencies = known_agencies(data_dir) if agencies is None else agencies
    from prefect.schedules import Cron
    from prefect.types.entrypoint import EntrypointType

    from flows.process import agency_report, process_recordings, purge_expired, rerun_stage

    common: dict[str, Any] = {"data_dir": str(data_dir.resolve())}
    if config is not None:
        common["config"] = str(config.resolve())
    daily_purge = Cron(purge_cron, timezone=timezone)
    table: list[tuple[Any, str, str, dict[str, Any]]] = [
        (process_recordings, "process-recordings",
         "Ingest new recordings, transcribe what is new, every stage, the report.", {}),
        (rerun_stage, "rerun-stage",
         "Recompute a stage and what follows with today's config; no ASR.", {}),
        (agency_report, "agency-report",
         "One agency's report (others pooled), for a period, in it or en.", {}),
        (purge_expired, "purge",
         "Retention: erase interviews older than retention.days (daily).",
         {"schedule": daily_purge}),
    ]  # fmt: skip
    if drop_folder is not None:
        inputs = {
            "recordings_dir": str(drop_folder / "recordings"),
            "manifest": str(drop_folder / "manifest.csv"),
            "cases": str(drop_folder / "cases.csv"),
        }
        table.append((process_recordings, "nightly",
                      f"Nightly batch over the drop folder {drop_folder}.",
                      {"parameters": inputs, "schedule": Cron(nightly_cron, timezone=timezone)}))  # fmt: skip
    found = [
        flow.to_deployment(
            name=name,
            # Served runs import the flows as modules: they work from any working directory.
            entrypoint_type=EntrypointType.MODULE_PATH,
            description=description,
            schedule=extra.get("schedule"),
            parameters=common | extra.get("parameters", {}),
            # One at a time per deployment, the others queued; across deployments the data
            # directory's lock makes them wait (ASCOLTO_LOCK_WAIT_S) instead of failing.
            concurrency_limit=1,
        )
        for flow, name, description, extra in table
    ]
    for deployment in found:
        _offer_agencies(deployment, agencies)
    return found


def _offer_agencies(deployment: Any, agencies: list[str]) -> None:
    """Agency fields as choice lists of the agencies the store knows (free text before any run)."""
    if not agencies:
        return
    properties = deployment.parameter_openapi_schema.get("properties", {})
    if "agency" in properties:
        properties["agency"]["enum"] = agencies
    if "agencies" in properties:
        properties["agencies"].setdefault("items", {})["enum"] = agencies


def known_agencies(data_dir: Path) -> list[str]:
    """Agencies of the data directory's store, [] when there is none (or it is busy)."""
    from pipeline.errors import AscoltoError
    from pipeline.store import STORE_FILE, Store

    if not (data_dir / STORE_FILE).is_file():
        return []
    try:
        with Store(data_dir, read_only=True) as store:
            return store.agencies()
    except AscoltoError:
        return []


@contextmanager
def reports_server(folder: Path, port: int) -> Iterator[str | None]:
    """Serve `folder` (the reports) over HTTP on 127.0.0.1 while the block runs; yields its URL.

    Prefect artifacts can only link to a URL: this makes "open the report" one click in the UI.
    Bound to the loopback address: reports hold customers' (redacted) words.
    """
    if not port:
        yield None
        return
    import functools
    import http.server
    import threading

    folder.mkdir(parents=True, exist_ok=True)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))
    try:
        server = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
    except OSError as exc:
        raise ServiceError(
            f"cannot serve the reports on 127.0.0.1:{port} ({exc.strerror}); set "
            "service.reports_port to a free port, or 0 to turn it off"
        ) from None
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
