"""Commands that run the flows: run, demo, rerun, serve."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

from ascolto.shared import (
    AgencyFilter,
    ConfigOpt,
    Dask,
    DataDir,
    FromStage,
    Lang,
    Language,
    LogJson,
    Since,
    Stage,
    Until,
    Verbose,
    choice,
    day,
    prepare_prefect,
)
from pipeline.records import RerunStage

if TYPE_CHECKING:
    from pipeline.config import Settings

REPO_ROOT = Path(__file__).resolve().parent.parent
DEMO_DIR = REPO_ROOT / "demo"
SYNTHETIC_NOTICE = (
    "Dati dimostrativi SINTETICI: interviste generate con sintesi vocale, agenzie e clienti inventati. / "
    "SYNTHETIC demo data: TTS interviews, invented agencies and customers."
)


@dataclass
class RunOptions:
    """What `ascolto run` and `ascolto demo` share beyond their inputs."""

    data_dir: Path = Path("ascolto-data")
    config: Path | None = None
    verbose: int = 0
    from_stage: Stage | None = None
    agencies: list[str] | None = None
    since: date | None = None
    until: date | None = None
    lang: Language | None = None
    dask: str | None = None
    log_json: bool = False


def _run(recordings: Path, manifest: Path, cases: Path, opts: RunOptions, notice: str = "") -> None:
    # Say something before the slow imports (Prefect, a temporary server, the models).
    if not opts.log_json:  # JSON logs: every line on stderr is a JSON object
        typer.echo(
            f"ascolto: processing {manifest.name} into {opts.data_dir} (starting...)", err=True
        )
    # A bad settings file fails here, before Prefect logs anything.
    settings = _settings(opts.config)
    prepare_prefect(opts.verbose, opts.log_json)
    from flows.service import check_prefect_api, start_temporary_api_early

    check_prefect_api()
    server_starting = start_temporary_api_early()
    # Ctrl+C is handled here, the moment it comes: a KeyboardInterrupt raised inside Prefect's
    # engine can surface as another error ("Task run is not set") with a traceback.
    previous = signal.signal(signal.SIGINT, lambda signum, frame: _interrupted(opts.data_dir))
    try:
        with _progress(enabled=not opts.log_json) as progress:
            summary = _run_flow(
                recordings, manifest, cases, opts, notice, progress, server_starting, settings
            )
    except KeyboardInterrupt:  # raised before our handler was in place, or by a library
        _interrupted(opts.data_dir)
    finally:
        signal.signal(signal.SIGINT, previous)
    _print_summary(summary)
    if summary["quarantined"]:
        raise typer.Exit(1)


def _run_flow(
    recordings: Path,
    manifest: Path,
    cases: Path,
    opts: RunOptions,
    notice: str,
    progress: Callable[[str, int, int], None],
    server_starting: threading.Thread,
    settings: Settings,
) -> dict[str, Any]:
    from flows.process import distributing, process_recordings, reporting_progress
    from flows.service import dask_task_runner, shared_prefect_api

    _load_models_meanwhile(settings, opts, server_starting)
    server_starting.join()  # Prefect must not start a second server meanwhile
    flow_fn = process_recordings
    with contextlib.ExitStack() as stack:
        if opts.dask:
            flow_fn = process_recordings.with_options(task_runner=dask_task_runner(opts.dask))
            stack.enter_context(shared_prefect_api())
            stack.enter_context(distributing())
        stack.enter_context(reporting_progress(progress))
        return flow_fn(
            recordings_dir=recordings,
            manifest=manifest,
            cases=cases,
            data_dir=opts.data_dir,
            config=opts.config or "",
            notice=notice,
            from_stage=opts.from_stage or "none",
            agencies=tuple(opts.agencies or ()),
            since=opts.since or "",
            until=opts.until or "",
            report_language=opts.lang or "config",
        )


def _settings(config: Path | None) -> Settings:
    """The run's settings; a bad file raises `ConfigError`, printed as one `error:` line."""
    from flows.parameters import config_path
    from pipeline.config import load_settings

    return load_settings(config_path(config or ""))


def _load_models_meanwhile(
    settings: Settings, opts: RunOptions, server_starting: threading.Thread
) -> None:
    """Load the run's models while Prefect's temporary server starts (`pipeline.stages.models`).

    Nothing fails here: a model that cannot load fails again in the flow, which reports it the
    usual way.
    """
    from pipeline.stages.models import load_while

    with contextlib.suppress(Exception):
        load_while(settings, server_starting.is_alive, transcription=not opts.dask)


def _interrupted(data_dir: Path) -> NoReturn:
    """Ctrl+C: say what was kept and leave at once.

    Safe at any point: every store write is one transaction (an unfinished one is rolled back
    when the store is next opened, as the SIGKILL tests in tests/test_crash.py show), files are
    written to a temporary name and renamed, and the OS releases the data directory's lock.
    """
    typer.secho(
        f"interrupted: every transcript and label already written to {data_dir} is kept; run the "
        "same command again to continue from there",
        fg=typer.colors.YELLOW,
        err=True,
    )
    sys.stderr.flush()
    sys.stdout.flush()
    # Prefect's shutdown (its temporary server, task threads) takes a minute and prints pages of
    # tracebacks, so the process leaves at once; the lock is released by the OS. Leaving at once
    # skips Prefect's exit handlers, so its temporary server is stopped here, or it would outlive
    # the run (and keep the terminal's output open).
    _stop_children()
    os._exit(130)


def _stop_children(grace_s: float = 3.0) -> None:
    """Terminate this process's children (Prefect's temporary server), kill what remains."""
    import psutil

    children = psutil.Process().children(recursive=True)
    for child in children:
        with contextlib.suppress(psutil.Error):
            child.terminate()
    _, alive = psutil.wait_procs(children, timeout=grace_s)
    for child in alive:
        with contextlib.suppress(psutil.Error):
            child.kill()


@contextmanager
def _progress(enabled: bool) -> Iterator[Callable[[str, int, int], None]]:
    """A rich progress bar on an interactive terminal (nothing in pipes, CI or JSON logs)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        transient=True,
        disable=not (enabled and sys.stderr.isatty()),
        console=None,
    ) as bar:
        tasks: dict[str, Any] = {}

        def update(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total)
            bar.update(tasks[stage], completed=done, total=total)

        yield update


def _print_summary(summary: dict[str, Any]) -> None:
    typer.echo(
        f"recordings {summary['recordings']}: transcribed {summary['transcribed']}, "
        f"cached {summary['cached']}, quarantined {len(summary['quarantined'])}"
    )
    if summary.get("language_mismatch"):
        typer.secho(
            f"language mismatch in {len(summary['language_mismatch'])} files (transcribed as "
            f"configured anyway): {', '.join(summary['language_mismatch'][:10])}",
            fg=typer.colors.YELLOW,
            err=True,
        )
    if summary.get("skipped_erased"):
        typer.echo(
            f"skipped {summary['skipped_erased']} recordings erased earlier (forget/purge); "
            "remove them from the manifest to silence this"
        )
    found = summary.get("topics") or {}
    if summary["topics_fitted"]:
        topics = f"fitted ({found.get('n_topics', '?')} topics)"
    elif found.get("note"):
        topics = f"none: {found['note']}"
    else:
        topics = f"kept, {summary.get('topics_assigned', 0)} new utterances assigned"
    typer.echo(f"classified {summary['classified']} new interviews; topics {topics}")
    for item in summary["quarantined"]:
        where = f"{item['source']}" + (f" row {item['row']}" if item["row"] else "")
        typer.secho(
            f"  quarantined [{item['stage']}] {where}: {item['reason']}",
            fg=typer.colors.YELLOW,
            err=True,
        )
    for item in summary.get("warnings", []):
        where = f"{Path(item['source']).name}" + (f" row {item['row']}" if item["row"] else "")
        typer.secho(f"  warning {where}: {item['message']}", fg=typer.colors.YELLOW, err=True)
    cases = summary.get("cases")
    if cases:
        typer.echo(
            f"cases: {cases['added']} added, {cases['updated']} updated, "
            f"{cases['unchanged']} unchanged (cases not in the file are kept)"
        )
    typer.echo(f"agencies: {', '.join(summary['agencies'])}")
    typer.echo(f"report: {summary['report']}")


def run(
    recordings: Annotated[
        Path, typer.Option("--recordings", help="folder holding the audio files")
    ],
    manifest: Annotated[
        Path,
        typer.Option("--manifest", help="CSV: file, case_id, agency_id, interview_date, consent"),
    ],
    cases: Annotated[Path, typer.Option("--cases", help="CSV of case outcomes (see README)")],
    data_dir: DataDir = Path("ascolto-data"),
    config: ConfigOpt = None,
    verbose: Verbose = 0,
    from_stage: FromStage = None,
    agency: AgencyFilter = None,
    since: Since = None,
    until: Until = None,
    lang: Lang = None,
    dask: Dask = None,
    log_json: LogJson = False,
) -> None:
    """Process recordings end to end (only new ones are transcribed) and write the HTML report."""
    opts = RunOptions(data_dir, config, verbose, from_stage, agency, day(since), day(until),
                      lang, dask, log_json)  # fmt: skip
    _run(recordings, manifest, cases, opts)


def demo(
    data_dir: DataDir = Path("ascolto-data"),
    config: ConfigOpt = None,
    limit: Annotated[
        int | None, typer.Option("--limit", min=1, help="only the first N demo recordings")
    ] = None,
    verbose: Verbose = 0,
    from_stage: FromStage = None,
    agency: AgencyFilter = None,
    since: Since = None,
    until: Until = None,
    lang: Lang = None,
    dask: Dask = None,
    log_json: LogJson = False,
) -> None:
    """Run the whole pipeline on the shipped SYNTHETIC demo and print the report path."""
    import tempfile

    from pipeline.errors import InputError

    manifest = DEMO_DIR / "manifest.csv"
    if not manifest.is_file():
        raise InputError(f"demo data not found in {DEMO_DIR} (run from a clone of the repository)")
    opts = RunOptions(data_dir, config, verbose, from_stage, agency, day(since), day(until),
                      lang, dask, log_json)  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="ascolto-demo-") as tmp:
        if limit is not None:
            manifest = _across_agencies(manifest, limit, Path(tmp) / "manifest.csv")
        _run(
            DEMO_DIR / "recordings",
            manifest,
            DEMO_DIR / "cases.csv",
            opts,
            notice=SYNTHETIC_NOTICE,
        )


def _across_agencies(manifest: Path, limit: int, out: Path) -> Path:
    """The first `limit` demo rows taken in turn from each agency, so every agency has a peer."""
    header, *rows = manifest.read_text(encoding="utf-8").splitlines()
    agency = header.split(",").index("agency_id")
    queues: dict[str, list[str]] = {}
    for row in rows:
        queues.setdefault(row.split(",")[agency], []).append(row)
    picked: list[str] = []
    while len(picked) < min(limit, len(rows)):
        for queue in queues.values():
            if queue and len(picked) < limit:
                picked.append(queue.pop(0))
    out.write_text("\n".join([header, *picked]) + "\n", encoding="utf-8")
    return out


def rerun(
    stage: Annotated[
        RerunStage,
        typer.Argument(
            parser=choice(RerunStage, "cannot rerun {value}; one of: {choices}"),
            help="the stage to recompute, and every stage after it",
        ),
    ],
    data_dir: DataDir = Path("ascolto-data"),
    config: ConfigOpt = None,
    lang: Lang = None,
    verbose: Verbose = 0,
    log_json: LogJson = False,
) -> None:
    """Recompute a stage and its dependants with today's config and models; never transcribes."""
    _settings(config)  # a bad settings file fails here, before Prefect logs anything
    prepare_prefect(verbose, log_json)
    from flows.process import rerun_stage
    from flows.service import check_prefect_api
    from pipeline.store import require_store

    require_store(data_dir)
    check_prefect_api()
    summary = rerun_stage(stage, data_dir, config or "", lang or "config")
    typer.echo(
        f"reran from {stage}: classified {summary['classified']}, embedded {summary['embedded']}, "
        f"topics {'refitted' if summary['topics_fitted'] else 'kept'}; "
        f"timings {summary['timings']}"
    )
    typer.echo(f"report: {summary['report']}")


REPORTS_URL_ENV = "ASCOLTO_REPORTS_URL"  # where `serve` shows the reports; flows link to it


def serve(
    data_dir: DataDir = Path("ascolto-data"),
    config: ConfigOpt = None,
    drop_folder: Annotated[
        Path | None,
        typer.Option(
            help="nightly batch folder (recordings/, manifest.csv, cases.csv); "
            "default: service.drop_folder"
        ),
    ] = None,  # fmt: skip
    verbose: Verbose = 0,
    log_json: LogJson = False,
) -> None:
    """Serve the Prefect deployments analysts trigger from the UI, until stopped.

    process-recordings, rerun-stage, agency-report, purge (daily) and nightly (with a drop
    folder). Needs a Prefect server: `prefect server start`, then set PREFECT_API_URL.
    """
    # Analysts read the run's progress in the UI: INFO by default here, not WARNING.
    prepare_prefect(verbose + 1, log_json)
    from flows.parameters import SERVED_ENV
    from flows.service import ServiceError, check_prefect_api, deployments, reports_server
    from pipeline.config import load_settings
    from pipeline.lock import WAIT_ENV

    service = load_settings(config).service
    if not os.environ.get("PREFECT_API_URL"):
        raise ServiceError(
            "set PREFECT_API_URL to a running Prefect server (start one with `prefect server "
            "start`; it prints the URL, usually http://127.0.0.1:4200/api)"
        )
    check_prefect_api()
    from prefect import serve as prefect_serve

    found = deployments(
        data_dir, config, drop_folder or service.drop_folder,
        service.nightly_cron, service.purge_cron, service.timezone,
    )  # fmt: skip
    # Runs triggered together queue on the data directory instead of failing (served runs are
    # this process's children and inherit it).
    os.environ.setdefault(WAIT_ENV, str(service.lock_wait_s))
    os.environ[SERVED_ENV] = "1"  # a fixable error ends a served run as one sentence in the UI
    with reports_server(data_dir / "reports", service.reports_port) as url:
        if url:
            os.environ[REPORTS_URL_ENV] = url
            typer.echo(f"reports: {url}/report.html (linked from each run's artifacts)")
        typer.echo("serving: " + ", ".join(d.name for d in found) + " (Ctrl+C stops)")
        prefect_serve(*found, print_starting_message=False)
