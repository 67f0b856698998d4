"""The `ascolto` command line: a thin shell over the flows and the pipeline library.

Heavy imports (Prefect, Whisper, BERTopic) happen inside the commands, so `ascolto --help` is fast.
Exit codes: 0 done, 1 done but some inputs were quarantined, 2 bad invocation or unusable input.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer

from pipeline import __version__

REPO_ROOT = Path(__file__).resolve().parent.parent
DEMO_DIR = REPO_ROOT / "demo"
SYNTHETIC_NOTICE = (
    "Dati dimostrativi SINTETICI: interviste generate con sintesi vocale, agenzie e clienti inventati. / "
    "SYNTHETIC demo data: TTS interviews, invented agencies and customers."
)

app = typer.Typer(
    help="ascolto: transcribe post-collection interviews, remove personal data, classify themes, "
    "score collection agencies.",
    no_args_is_help=True,
    add_completion=False,
)

DataDir = Annotated[Path, typer.Option("--data-dir", help="where the DuckDB store and reports go")]
ConfigOpt = Annotated[
    Path | None, typer.Option("--config", help="settings YAML (default: configs/default.yaml)")
]
JsonlIn = Annotated[Path, typer.Argument(help='JSON Lines, one {"id": ..., "text": ...} per line')]
JsonlOut = Annotated[Path, typer.Option("--output", "-o", help="JSON Lines to write")]
Verbose = Annotated[int, typer.Option("--verbose", "-v", count=True, help="more logging (-v, -vv)")]


def _version(value: bool) -> None:
    if value:
        typer.echo(f"ascolto {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="print the version")
    ] = False,
) -> None:
    """Listen to customers after debt collection."""


def _prepare_prefect(verbose: int, log_json: bool = False) -> None:
    # Must be set before Prefect is imported; users' own settings win.
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    # The temporary local server can take more than Prefect's default 20 s on a busy 2-core box.
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", ["WARNING", "INFO", "DEBUG"][min(verbose, 2)])
    if log_json:
        os.environ["PREFECT_LOGGING_SETTINGS_PATH"] = str(Path(__file__).with_name("logging.yml"))


@dataclass
class RunOptions:
    """What `ascolto run` and `ascolto demo` share beyond their inputs."""

    data_dir: Path = Path("ascolto-data")
    config: Path | None = None
    verbose: int = 0
    from_stage: str | None = None
    agencies: list[str] | None = None
    since: date | None = None
    until: date | None = None
    lang: str | None = None
    dask: str | None = None
    log_json: bool = False


FromStage = Annotated[
    str | None,
    typer.Option(
        "--from",
        help="recompute this stage and every later one: transcribe, embed, classify, topics, "
        "scoring, report",
    ),
]
AgencyFilter = Annotated[
    list[str] | None, typer.Option("--agency", help="only this agency's recordings (repeatable)")
]
Since = Annotated[
    datetime | None, typer.Option(formats=["%Y-%m-%d"], help="interviews on or after this date")
]
Until = Annotated[
    datetime | None, typer.Option(formats=["%Y-%m-%d"], help="interviews on or before this date")
]
Lang = Annotated[str | None, typer.Option("--lang", help="report language: it or en")]
Dask = Annotated[
    str | None,
    typer.Option(
        "--dask",
        help="transcribe on a Dask cluster: tcp://host:8786 (a scheduler) or local:N (N processes)",
    ),
]
LogJson = Annotated[bool, typer.Option("--log-json", help="logs as JSON lines on stderr")]


def _run(recordings: Path, manifest: Path, cases: Path, opts: RunOptions, notice: str = "") -> None:
    _prepare_prefect(opts.verbose, opts.log_json)
    from flows.service import ServiceError, check_prefect_api
    from pipeline.asr.transcribe import ModelError
    from pipeline.config import ConfigError
    from pipeline.ingest import InputError
    from pipeline.lock import DataDirError

    if opts.lang not in (None, "it", "en"):
        _fail("--lang must be it or en")
    try:
        from flows.process import forced_stages

        forced_stages(opts.from_stage)
        check_prefect_api()
        with _progress(enabled=not opts.log_json) as progress:
            summary = _run_flow(recordings, manifest, cases, opts, notice, progress)
    except (InputError, ConfigError, ModelError, DataDirError, ServiceError, ValueError) as exc:
        _fail(str(exc))
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
) -> dict:
    from flows.process import process_recordings, reporting_progress
    from flows.service import dask_task_runner, shared_prefect_api

    flow_fn = process_recordings
    with contextlib.ExitStack() as stack:
        if opts.dask:
            flow_fn = process_recordings.with_options(task_runner=dask_task_runner(opts.dask))
            stack.enter_context(shared_prefect_api())
        stack.enter_context(reporting_progress(progress))
        return flow_fn(
            recordings_dir=recordings,
            manifest=manifest,
            cases=cases,
            data_dir=opts.data_dir,
            config=opts.config,
            notice=notice,
            from_stage=opts.from_stage,
            agencies=opts.agencies or None,
            since=opts.since,
            until=opts.until,
            report_language=opts.lang,
            distributed=bool(opts.dask),
        )


@contextmanager
def _progress(enabled: bool) -> Iterator[Callable[[str, int, int], None]]:
    """A rich progress bar on an interactive terminal (nothing in pipes, CI or JSON logs)."""
    import sys

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


def _fail(message: str) -> NoReturn:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(2)


def _print_summary(summary: dict) -> None:
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
    topics = (
        "fitted"
        if summary["topics_fitted"]
        else f"kept, {summary.get('topics_assigned', 0)} new utterances assigned"
    )
    typer.echo(f"classified {summary['classified']} new interviews; topics {topics}")
    for item in summary["quarantined"]:
        where = f"{item['source']}" + (f" row {item['row']}" if item["row"] else "")
        typer.secho(
            f"  quarantined [{item['stage']}] {where}: {item['reason']}",
            fg=typer.colors.YELLOW,
            err=True,
        )
    typer.echo(f"agencies: {', '.join(summary['agencies'])}")
    typer.echo(f"report: {summary['report']}")


@app.command()
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
    opts = RunOptions(data_dir, config, verbose, from_stage, agency, _day(since), _day(until),
                      lang, dask, log_json)  # fmt: skip
    _run(recordings, manifest, cases, opts)


def _day(value: datetime | None) -> date | None:
    return value.date() if value else None


@app.command()
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

    manifest = DEMO_DIR / "manifest.csv"
    if not manifest.is_file():
        _fail(f"demo data not found in {DEMO_DIR} (run from a clone of the repository)")
    opts = RunOptions(data_dir, config, verbose, from_stage, agency, _day(since), _day(until),
                      lang, dask, log_json)  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="ascolto-demo-") as tmp:
        if limit is not None:
            lines = manifest.read_text(encoding="utf-8").splitlines()
            manifest = Path(tmp) / "manifest.csv"
            manifest.write_text("\n".join(lines[: limit + 1]) + "\n", encoding="utf-8")
        _run(
            DEMO_DIR / "recordings",
            manifest,
            DEMO_DIR / "cases.csv",
            opts,
            notice=SYNTHETIC_NOTICE,
        )


@app.command()
def rerun(
    stage: Annotated[
        str, typer.Argument(help="embed, classify, topics, scoring or report: it and what follows")
    ],
    data_dir: DataDir = Path("ascolto-data"),
    config: ConfigOpt = None,
    lang: Lang = None,
    verbose: Verbose = 0,
    log_json: LogJson = False,
) -> None:
    """Recompute a stage and its dependants with today's config and models; never transcribes."""
    _prepare_prefect(verbose, log_json)
    from typing import get_args

    from flows.process import NoRunYet, RerunStage, rerun_stage
    from flows.service import ServiceError, check_prefect_api
    from pipeline.config import ConfigError
    from pipeline.lock import DataDirError

    if stage not in get_args(RerunStage):
        _fail(f"cannot rerun {stage!r}: one of {', '.join(get_args(RerunStage))}")
    if lang not in (None, "it", "en"):
        _fail("--lang must be it or en")
    _require_store(data_dir)
    try:
        check_prefect_api()
        summary = rerun_stage(stage, data_dir, config, lang)  # type: ignore[arg-type]
    except (ConfigError, DataDirError, ServiceError, NoRunYet) as exc:
        _fail(str(exc))
    typer.echo(
        f"reran from {stage}: classified {summary['classified']}, embedded {summary['embedded']}, "
        f"topics {'refitted' if summary['topics_fitted'] else 'kept'}; "
        f"timings {summary['timings']}"
    )
    typer.echo(f"report: {summary['report']}")


@app.command()
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
    _prepare_prefect(verbose, log_json)
    settings = _settings(config)
    if not os.environ.get("PREFECT_API_URL"):
        _fail(
            "set PREFECT_API_URL to a running Prefect server (start one with `prefect server "
            "start`; it prints the URL, usually http://127.0.0.1:4200/api)"
        )
    from prefect import serve as prefect_serve

    from flows.service import ServiceError, check_prefect_api, deployments

    try:
        check_prefect_api()
    except ServiceError as exc:
        _fail(str(exc))
    service = settings.service
    found = deployments(
        data_dir, config, drop_folder or service.drop_folder,
        service.nightly_cron, service.purge_cron, service.timezone,
    )  # fmt: skip
    typer.echo("serving: " + ", ".join(d.name for d in found) + " (Ctrl+C stops)")
    prefect_serve(*found, print_starting_message=False)


def _settings(config: Path | None):  # noqa: ANN202
    from pipeline.config import ConfigError, load_settings

    try:
        return load_settings(config)
    except ConfigError as exc:
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from None


@app.command()
def redact(
    input_file: JsonlIn,
    output: JsonlOut,
    config: ConfigOpt = None,
) -> None:
    """Remove personal data from texts: adds "redacted" and "entities" (offsets) to each line."""
    from pipeline.privacy.redact import Pseudonyms, Redactor

    settings = _settings(config).redact
    redactor = Redactor(settings.entities, allow_list=settings.allow_list)

    def add_redaction(record: dict) -> dict:
        result = redactor.redact(record["text"], Pseudonyms() if settings.pseudonyms else None)
        entities = [{"type": e.type, "start": e.start, "end": e.end} for e in result.entities]
        return {"redacted": result.text, "entities": entities}

    _map_jsonl(input_file, output, lambda rs: [add_redaction(r) for r in rs], "redacted")


def _require_store(data_dir: Path) -> None:
    if not (data_dir / "ascolto.duckdb").is_file():
        typer.secho(
            f"error: no ascolto store in {data_dir} (pass the --data-dir used with `ascolto run`)",
            fg=typer.colors.RED,
            err=True,
        )
        raise typer.Exit(2)


@contextmanager
def _locked(data_dir: Path, action: str) -> Iterator[None]:
    from pipeline.lock import DataDirError, data_dir_lock

    try:
        with data_dir_lock(data_dir, action):
            yield
    except DataDirError as exc:
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from None


def _print_deletion(deletion) -> None:  # noqa: ANN001
    typer.echo(
        f"{deletion.action}: erased {deletion.recordings} recordings, {deletion.cases} cases, "
        f"{deletion.total_rows} rows; {deletion.topic_models} topic models dropped"
        + ("; report withdrawn (run again to rebuild)" if deletion.report_withdrawn else "")
    )


@app.command()
def forget(
    case: Annotated[str | None, typer.Option("--case", help="case id to erase")] = None,
    customer: Annotated[
        str | None, typer.Option("--customer", help="customer id: erase all their cases")
    ] = None,
    data_dir: DataDir = Path("ascolto-data"),
) -> None:
    """Right to erasure: delete everything derived from one case or customer, and audit it."""
    from pipeline.privacy.retention import SubjectNotFound
    from pipeline.privacy.retention import forget as forget_subject
    from pipeline.store import Store

    if (case is None) == (customer is None):
        typer.secho("error: give exactly one of --case or --customer", err=True)
        raise typer.Exit(2)
    _require_store(data_dir)
    try:
        with _locked(data_dir, "forget"), Store(data_dir) as store:
            deletion = forget_subject(store, data_dir, case_id=case, customer_id=customer)
    except SubjectNotFound as exc:
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from None
    _print_deletion(deletion)


@app.command()
def purge(
    older_than: Annotated[
        int | None,
        typer.Option("--older-than", help="days to keep (default: retention.days in the config)"),
    ] = None,
    data_dir: DataDir = Path("ascolto-data"),
    config: ConfigOpt = None,
) -> None:
    """Retention: erase every interview older than the retention period, and audit it."""
    from pipeline.privacy.retention import purge as purge_old
    from pipeline.store import Store

    days = older_than if older_than is not None else _settings(config).retention.days
    _require_store(data_dir)
    with _locked(data_dir, "purge"), Store(data_dir) as store:
        deletion = purge_old(store, data_dir, days)
    _print_deletion(deletion)


@app.command()
def export(
    output: Annotated[Path, typer.Option("--output", "-o", help="folder to write into")],
    fmt: Annotated[str, typer.Option("--format", help="csv or parquet")] = "csv",
    data_dir: DataDir = Path("ascolto-data"),
    config: ConfigOpt = None,
) -> None:
    """Scorecard, interview- and utterance-level results (redacted) as CSV or Parquet files.

    CSV cells that a spreadsheet would run as a formula are neutralised with a leading quote.
    """
    from pipeline.report.export import export_all
    from pipeline.store import Store

    if fmt not in ("csv", "parquet"):
        typer.secho("error: --format must be csv or parquet", err=True)
        raise typer.Exit(2)
    _require_store(data_dir)
    with Store(data_dir, read_only=True) as store:
        counts = export_all(store, output, fmt, _settings(config).scoring)
    listing = ", ".join(f"{name}.{fmt} ({n} rows)" for name, n in counts.items())
    typer.echo(f"exported to {output}: {listing}")


@app.command()
def report(
    output: Annotated[Path, typer.Option("--output", "-o", help="HTML file to write")],
    agency: Annotated[
        str | None,
        typer.Option("--agency", help="one agency against the pooled others, for sharing with it"),
    ] = None,
    lang: Annotated[str | None, typer.Option("--lang", help="it or en")] = None,
    since: Since = None,
    until: Until = None,
    data_dir: DataDir = Path("ascolto-data"),
    config: ConfigOpt = None,
) -> None:
    """Rebuild the HTML report from the store (whole, or one agency's, for a period)."""
    from pipeline.stages import build_report
    from pipeline.store import Store

    settings = _settings(config)
    if lang not in (None, "it", "en"):
        typer.secho("error: --lang must be it or en", err=True)
        raise typer.Exit(2)
    _require_store(data_dir)
    with Store(data_dir, read_only=True) as store:
        # The report shows what the last run computed, whatever the config says today.
        keys, last = _last_run_keys(store, data_dir)
        latest = {"t": last["topics_key"], "r": last["run_id"]}
        try:
            path = build_report(
                store, settings, keys, str(latest["t"]), str(latest["r"]), output,
                agency=agency, language=lang, period=(_day(since), _day(until)),
            )  # fmt: skip
        except ValueError as exc:
            typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
            raise typer.Exit(2) from None
    typer.echo(f"report: {path}")


@app.command()
def transcribe(
    audio: Annotated[list[Path], typer.Argument(help="audio files (wav, flac, mp3, m4a, ogg...)")],
    output: Annotated[Path, typer.Option("--output", "-o", help="JSON Lines to write")],
    backend: Annotated[
        str | None, typer.Option("--backend", help="faster-whisper or openai-whisper")
    ] = None,
    model: Annotated[str | None, typer.Option("--model", help="overrides asr.model")] = None,
    compute_type: Annotated[
        str | None, typer.Option("--compute-type", help="int8, float32, float16, auto")
    ] = None,
    language: Annotated[
        str | None, typer.Option("--language", help="Whisper code, e.g. it")
    ] = None,
    config: ConfigOpt = None,
) -> None:
    """RAW speech-to-text for evaluation and debugging: NOT redacted, nothing is stored.

    Writes one JSON line per file with its segments, roles and confidence. The output contains
    whatever personal data was said: keep it out of shared folders. For the analytics use
    `ascolto run`, which redacts before storing.
    """
    import json
    import time

    from pipeline.asr.audio import AudioError
    from pipeline.asr.transcribe import ModelError, make_transcriber
    from pipeline.config import AsrConfig
    from pipeline.files import write_atomic
    from pipeline.stages import transcribe_audio

    settings = _settings(config)
    overrides = {"backend": backend, "model": model, "compute_type": compute_type}
    try:
        asr = AsrConfig.model_validate(
            settings.asr.model_dump() | {k: v for k, v in overrides.items() if v is not None}
        )
        settings = settings.model_copy(
            update={"asr": asr, "language": language or settings.language}
        )
    except ValueError as exc:
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from None
    transcriber = make_transcriber(settings.asr)
    lines, failed = [], 0
    for path in audio:
        started = time.perf_counter()
        try:
            decoded, segments = transcribe_audio(path, settings, transcriber)
        except AudioError as exc:
            typer.secho(f"{path}: skipped: {exc}", fg=typer.colors.YELLOW, err=True)
            failed += 1
            continue
        except ModelError as exc:
            typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
            raise typer.Exit(2) from None
        record = {
            "file": str(path),
            "duration_s": round(decoded.duration_s, 2),
            "channels": decoded.channels,
            "language": settings.language,
            "text": " ".join(s.text for s in segments),
            "segments": [
                {
                    "start": s.start,
                    "end": s.end,
                    "text": s.text,
                    "role": s.role,
                    "avg_logprob": round(s.avg_logprob, 3),
                    "no_speech_prob": round(s.no_speech_prob, 3),
                    "low_confidence": s.low_confidence,
                }
                for s in segments
            ],
            "backend": transcriber.backend,
            "model": transcriber.model_id,
            "elapsed_s": round(time.perf_counter() - started, 2),
        }
        lines.append(json.dumps(record, ensure_ascii=False))
        typer.echo(f"{path}: {len(segments)} segments, {record['elapsed_s']} s", err=True)
    write_atomic(output, "\n".join(lines) + ("\n" if lines else ""))
    typer.echo(f"transcribed {len(lines)} files into {output} (raw text, not redacted)")
    if failed:
        raise typer.Exit(1)


def _read_jsonl(path: Path) -> tuple[list[tuple[int, dict]], int]:
    """(line number, object) per JSON object line with a "text", and how many lines were skipped.

    A bad line is named by file:line, never echoed: it may hold unredacted text.
    """
    import json

    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        typer.secho(f"error: cannot read {path}: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from None
    records, skipped = [], 0
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            if not isinstance(record, dict) or not isinstance(record.get("text"), str):
                raise ValueError
        except ValueError:
            typer.secho(
                f'{path}:{number}: skipped, expected a JSON object with a string "text"',
                fg=typer.colors.YELLOW,
                err=True,
            )
            skipped += 1
            continue
        records.append((number, record))
    return records, skipped


def _map_jsonl(
    source: Path, output: Path, fields: Callable[[list[dict]], list[dict]], verb: str
) -> None:
    """Add `fields(records)[i]` to every good line of `source`, write `output`; exit 1 if any skipped."""
    import json

    from pipeline.files import write_atomic

    records, skipped = _read_jsonl(source)
    good = [record for _, record in records]
    out = [json.dumps(r | f, ensure_ascii=False) for r, f in zip(good, fields(good), strict=True)]
    write_atomic(output, "\n".join(out) + ("\n" if out else ""))
    typer.echo(
        f"{verb} {len(out)} lines into {output}" + (f"; skipped {skipped}" if skipped else "")
    )
    if skipped:
        raise typer.Exit(1)


def _classifier(settings):  # noqa: ANN001, ANN202
    from pipeline.classify.classifier import make_classifier

    return make_classifier(settings)


def _label_fields(label) -> dict:  # noqa: ANN001
    fields = {
        "sentiment": label.sentiment,
        "sentiment_scores": label.sentiment_scores,
        "themes": label.themes,
        "theme_scores": label.theme_scores,
        "threatened": label.threatened,
        "evidence": label.evidence,
    }
    return fields | ({"note": label.note} if label.note else {})


@app.command()
def classify(
    input_file: JsonlIn,
    output: JsonlOut,
    config: ConfigOpt = None,
) -> None:
    """Sentiment, themes, "felt threatened" and the evidence words for each text."""
    classifier = _classifier(_settings(config))

    def add_labels(records: list[dict]) -> list[dict]:
        return [_label_fields(x) for x in classifier.classify_many([r["text"] for r in records])]

    _map_jsonl(input_file, output, add_labels, f"classified ({classifier.method})")


def _labelled(path: Path) -> list:
    """Labelled examples from JSON Lines; bad lines are named and skipped, none at all exits 2."""
    from pipeline.classify.evaluate import Example
    from pipeline.records import SENTIMENTS

    examples = []
    for number, r in _read_jsonl(path)[0]:
        themes = r.get("themes", [])
        if r.get("sentiment") not in SENTIMENTS or not isinstance(themes, list):
            typer.secho(
                f"{path}:{number}: skipped, sentiment must be one of {SENTIMENTS} and themes a list",
                fg=typer.colors.YELLOW,
                err=True,
            )
            continue
        examples.append(
            Example(str(r.get("id", number)), r["text"], r["sentiment"], frozenset(themes))
        )
    if not examples:
        typer.secho(f"error: no usable labelled lines in {path}", fg=typer.colors.RED, err=True)
        raise typer.Exit(2)
    return examples


def _metrics_line(metrics: dict) -> str:
    return (
        f"{metrics['examples']} examples ({metrics['classifier']}): sentiment macro-F1 "
        f"{metrics['sentiment_macro_f1']}, threatened F1 {metrics['threatened']['f1']}, "
        f"theme micro-F1 {metrics['theme_micro_f1']}"
    )


@app.command()
def evaluate(
    labelled: Annotated[
        Path, typer.Argument(help='JSON Lines: {"id", "text", "sentiment", "themes": [...]}')
    ],
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="metrics JSON to write")
    ] = None,
    config: ConfigOpt = None,
) -> None:
    """Sentiment macro-F1, threatened F1, per-theme and micro F1 against human labels."""
    import json

    from pipeline.classify.evaluate import evaluate as run_evaluation

    examples = _labelled(labelled)
    metrics = run_evaluation(examples, _classifier(_settings(config)))
    if output is not None:
        output.write_text(
            json.dumps(metrics, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        )
    typer.echo(_metrics_line(metrics))


@app.command()
def train(
    labelled: Annotated[
        Path, typer.Argument(help='training JSON Lines: {"id", "text", "sentiment", "themes"}')
    ],
    dev: Annotated[
        Path | None, typer.Option("--dev", help="labelled JSON Lines evaluated, never fitted")
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="folder for the heads (default: classify.heads)"),
    ] = None,
    seed: Annotated[int, typer.Option(help="cross-validation folds and spoken copies")] = 13,
    config: ConfigOpt = None,
) -> None:
    """Fit the sentiment and theme heads, report dev metrics, write heads and MODEL_CARD.md."""
    from pipeline.classify.taxonomy import load_taxonomy
    from pipeline.classify.train import train_and_save
    from pipeline.embed import make_embedder

    settings = _settings(config)
    folder = output or settings.classify.heads
    train_examples = _labelled(labelled)
    dev_examples = _labelled(dev) if dev is not None else []
    result = train_and_save(
        train_examples,
        dev_examples,
        load_taxonomy(settings.themes_file),
        make_embedder(settings.embed),
        settings.embed,
        settings.classify,
        folder,
        seed=seed,
        sources={"train": str(labelled), "dev": str(dev) if dev else None},
    )
    typer.echo(f"trained on {len(train_examples)} statements; heads in {folder}")
    if result.get("dev"):
        typer.echo("dev: " + _metrics_line(result["dev"]))


@app.command()
def status(
    data_dir: DataDir = Path("ascolto-data"),
    config: ConfigOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
) -> None:
    """What is done, pending or stale (config or model changed) in a data directory."""
    import json

    from pipeline.asr.transcribe import make_transcriber
    from pipeline.lock import live_holder
    from pipeline.stages import StageKeys
    from pipeline.status import store_status
    from pipeline.store import Store

    settings = _settings(config)
    _require_store(data_dir)
    busy = live_holder(data_dir)
    if busy:  # DuckDB admits no reader beside a writer process: say who is working
        message = f"busy: ascolto {busy.get('action')} pid {busy['pid']} since {busy.get('since')}"
        typer.echo(json.dumps({"busy": busy}) if as_json else f"{data_dir}: {message}")
        return
    keys = StageKeys.from_settings(settings, make_transcriber(settings.asr).model_id)
    current = {"transcribe": keys.transcript, "classify": keys.classify, "embed": keys.embed}
    with Store(data_dir, read_only=True) as store:
        report = store_status(store, current)
    if as_json:
        typer.echo(json.dumps(report, indent=2, default=str))
        return
    typer.echo(f"{data_dir}: {report['recordings']} recordings")
    for stage, c in report["stages"].items():
        typer.echo(f"  {stage:10} done {c['done']}, pending {c['pending']}, stale {c['stale']}")
    for m in report["models"]:
        typer.echo(f"  ASR: {m['backend']} {m['model']}")
    for run in report["last_runs"]:
        took = f"{run['duration_s']:.0f} s" if run["duration_s"] is not None else "unfinished"
        typer.echo(f"  run {run['run_id']} {run['status']} {run['started_at']} ({took})")
        if run.get("timings"):
            typer.echo("    " + ", ".join(f"{k} {v} s" for k, v in run["timings"].items()))
    for q in report["quarantined_last_run"]:
        typer.echo(f"  quarantined [{q['stage']}] {q['source']}: {q['reason']}")
    if report["erasures"]:
        typer.echo(f"  erasures recorded: {report['erasures']}")


topics_app = typer.Typer(
    help="Topics of customer utterances: list (no subcommand), refit, rename, fit any texts.",
    invoke_without_command=True,
)
app.add_typer(topics_app, name="topics")


def _last_run_keys(store, data_dir: Path):  # noqa: ANN001, ANN202
    """Stage keys and topics key of the last completed run, or exit 2 naming the fix."""
    from pipeline.stages import StageKeys

    last = store.last_completed_run()
    if "keys" not in last:
        typer.secho(
            f"error: no completed run with results in {data_dir}; run `ascolto run` first",
            fg=typer.colors.RED,
            err=True,
        )
        raise typer.Exit(2)
    return StageKeys(**last["keys"]), last


@topics_app.callback()
def topics(
    ctx: typer.Context,
    data_dir: DataDir = Path("ascolto-data"),
    config: ConfigOpt = None,
) -> None:
    """Current topics: id, label, size, top words and share of each agency's interviews."""
    if ctx.invoked_subcommand is not None:
        return
    from pipeline.stages import topic_names, topic_table, topics_lineage
    from pipeline.store import Store

    settings = _settings(config)
    _require_store(data_dir)
    with Store(data_dir, read_only=True) as store:
        keys, _ = _last_run_keys(store, data_dir)
        lineage = topics_lineage(settings, keys)
        current = store.current_topics(lineage)
        if current is None:
            typer.echo("no topics yet (too few utterances, or the topics config changed: refit)")
            return
        names = topic_names(store, settings, lineage)
        table = topic_table(store, str(current["topics_key"]), names)
    typer.echo(f"topics {current['topics_key']} (generation {current['seq']})")
    typer.echo(table.to_string(index=False))


@topics_app.command("refit")
def topics_refit(data_dir: DataDir = Path("ascolto-data"), config: ConfigOpt = None) -> None:
    """Refit topics on every utterance; old IDs are kept where topics match, changes listed."""
    from pipeline.lock import data_dir_lock
    from pipeline.stages import default_embedder, topics_stage
    from pipeline.store import Store

    settings = _settings(config)
    _require_store(data_dir)
    with data_dir_lock(data_dir, "topics refit"), Store(data_dir) as store:
        keys, _ = _last_run_keys(store, data_dir)
        result = topics_stage(
            store, settings, keys, refit=True, embedder=default_embedder(settings)
        )
    if not result["fitted"]:
        typer.echo(f"no topics fitted: {result['note']}")
        return
    typer.echo(
        f"refitted {result['n_topics']} topics ({result['topics_key']}): kept IDs "
        f"{result['kept']}, new {result['added']}, vanished {result['vanished']}"
    )


@topics_app.command("rename")
def topics_rename(
    topic_id: Annotated[int, typer.Argument(help="stable topic ID (see `ascolto topics`)")],
    label: Annotated[str, typer.Argument(help="the name analysts will read")],
    data_dir: DataDir = Path("ascolto-data"),
    config: ConfigOpt = None,
) -> None:
    """Name a topic; the name stays with its ID through assignments and refits."""
    from pipeline.lock import data_dir_lock
    from pipeline.stages import topics_lineage
    from pipeline.store import Store

    settings = _settings(config)
    _require_store(data_dir)
    with data_dir_lock(data_dir, "topics rename"), Store(data_dir) as store:
        keys, _ = _last_run_keys(store, data_dir)
        lineage = topics_lineage(settings, keys)
        current = store.current_topics(lineage)
        known = store.query(
            "SELECT topic_id FROM topic_info WHERE topics_key = ?",
            [current["topics_key"] if current else ""],
        )["topic_id"].tolist()
        if topic_id not in known:
            typer.secho(
                f"error: no topic {topic_id} in the current topics (IDs: {sorted(known)})",
                fg=typer.colors.RED,
                err=True,
            )
            raise typer.Exit(2)
        store.rename_topic(lineage, topic_id, label.strip())
    typer.echo(f"topic {topic_id}: {label.strip()}")


@topics_app.command("fit")
def topics_fit(
    input_file: JsonlIn,
    output: JsonlOut,
    seed: Annotated[int | None, typer.Option(help="overrides topics.seed")] = None,
    min_size: Annotated[
        int | None,
        typer.Option(help="fewer usable texts than this: no topics (topics.min_utterances)"),
    ] = None,
    config: ConfigOpt = None,
) -> None:
    """Topics of any batch of texts: adds "topic" (-1: none) and "topic_label" to each line."""
    from pipeline.embed import make_embedder
    from pipeline.topics import fit_topics

    settings = _settings(config)
    updates = {k: v for k, v in {"seed": seed, "min_utterances": min_size}.items() if v is not None}
    topics_config = settings.topics.model_copy(update=updates)
    notes: list[str] = []

    def add_topics(records: list[dict]) -> list[dict]:
        texts = [str(r["text"]) for r in records]
        embedder = make_embedder(settings.embed)
        fit = fit_topics(texts, embedder.embed(texts), topics_config, embedder=embedder)
        if fit.note:
            notes.append(fit.note)
        labels = (
            dict(zip(fit.info["topic_id"], fit.info["label"], strict=True)) if len(fit.info) else {}
        )
        topic = dict(zip(fit.assignments["doc_index"], fit.assignments["topic_id"], strict=True))
        return [
            {"topic": int(topic.get(i, -1)), "topic_label": labels.get(topic.get(i, -1), "")}
            for i in range(len(records))
        ]

    _map_jsonl(input_file, output, add_topics, "topics for")
    for note in notes:
        typer.echo(note)


models_app = typer.Typer(help="Model files: conversions for the optional backends.")
app.add_typer(models_app, name="models")


@models_app.command("convert-openai")
def convert_openai(
    out: Annotated[
        Path | None, typer.Option("--out", help="checkpoint path (default: the model cache)")
    ] = None,
) -> None:
    """Build an openai-whisper checkpoint from the bundled Whisper base weights (offline)."""
    from pipeline.asr.transcribe import BUNDLED_SHA256, ModelError, bundled_model_dir, cache_dir
    from pipeline.asr.whisper_convert import convert, converted_bundled_path

    target = out or converted_bundled_path(cache_dir(), BUNDLED_SHA256)
    try:
        convert(bundled_model_dir(), target)
    except ModelError as exc:
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from None
    typer.echo(f"wrote {target}; use it with asr.backend: openai-whisper")


if __name__ == "__main__":
    app()
