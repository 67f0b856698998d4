"""Prefect flows over `pipeline.stages`: process recordings, rerun stages, agency reports, purge.

No analytics here: tasks add names and logging around plain pipeline functions. The store is the
cache (keyed by audio hash + stage key), so Prefect's own result caching is off. Logs carry ids,
counts and timings only, never transcript text. The flow process is the store's only writer:
with a Dask task runner, workers transcribe and return redacted transcripts, the flow saves them.
"""

from __future__ import annotations

import dataclasses
import json
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, get_args

from prefect import flow, get_run_logger, task, unmapped
from prefect.artifacts import (
    create_markdown_artifact,
)
from prefect.cache_policies import NONE

from flows import parameters
from flows.artifacts import link_report, publish_artifacts
from flows.parameters import Day, FromStage, ReportLanguage
from pipeline import stages
from pipeline.asr.audio import AudioError
from pipeline.asr.transcribe import TimedTranscriber, make_transcriber
from pipeline.config import Settings, load_settings
from pipeline.faults import checkpoint
from pipeline.files import write_atomic
from pipeline.lock import data_dir_lock
from pipeline.privacy.retention import purge_in
from pipeline.records import InputWarning, Quarantined, Recording, RerunStage, Stage
from pipeline.report.export import export_all
from pipeline.stages import transcribe as transcribe_stage
from pipeline.stages.report import agency_report_path, last_run, rebuild_report
from pipeline.stages.snapshot import snapshot as snapshot_stage
from pipeline.store import STORE_FILE, Store

STAGES: tuple[str, ...] = get_args(Stage)
EXPORTED = ("interviews", "utterances")  # byte-identical across runs on the same inputs

ingest_task = task(name="ingest", cache_policy=NONE)(stages.ingest)
classify_task = task(name="classify", cache_policy=NONE)(stages.classify_pending)
embed_task = task(name="embed", cache_policy=NONE)(stages.embed_pending)
topics_task = task(name="topics", cache_policy=NONE)(stages.topics_stage)
score_task = task(name="scoring", cache_policy=NONE)(stages.score)
report_task = task(name="report", cache_policy=NONE)(stages.build_report)
export_task = task(name="export", cache_policy=NONE)(export_all)
snapshot_task = task(name="snapshot", cache_policy=NONE)(snapshot_stage)


@task(name="transcribe", cache_policy=NONE, task_run_name="transcribe {recording.file}")
def transcribe_task(
    recording: Recording, settings: Settings, transcript_key: str, transcriber: Any = None
) -> Any:
    """One recording, redacted (`stages.transcribe_recording`); runs on a Dask worker too.

    A plain function here rather than `task(stages.transcribe_recording)`: Dask pickles it by
    value, and it must not drag that module's globals (loggers, locks) along. A worker builds
    its transcriber from the settings; the model loads once per process (cached).
    """
    # Unusable audio is an outcome, not a task failure: Prefect would log an ERROR with a
    # traceback for every rejected file. The flow quarantines it with the reason.
    try:
        return stages.transcribe_recording(recording, settings, transcript_key, transcriber)
    except AudioError as exc:
        return exc


# Model objects swapped in by `use_models`. They are not flow parameters on purpose: Prefect
# stores parameters in its database, and a fake transcriber carries raw (unredacted) text.
_INJECTED: dict[str, Any] = {}


@contextmanager
def use_models(transcriber: Any = None, embedder: Any = None) -> Iterator[None]:
    """Run flows with these transcriber/embedder objects instead of the configured ones."""
    with _injected(transcriber=transcriber, embedder=embedder):
        yield


@contextmanager
def distributing() -> Iterator[None]:
    """Transcribe on the flow's task runner (`--dask`): not a parameter, the UI never shows it."""
    with _injected(distributed=True):
        yield


@contextmanager
def reporting_progress(callback: Callable[[str, int, int], None]) -> Iterator[None]:
    """Call `callback(stage, done, total)` as recordings are transcribed (the CLI's bar)."""
    with _injected(progress=callback):
        yield


def _injected_object(name: str) -> Any:
    """An object set by `use_models` / `reporting_progress`, or None.

    Flows read them through this function, never the dict itself: a Dask task runner pickles
    the flow function by value with the globals it names, and the injected objects (a progress
    bar, a fake model) are not picklable.
    """
    return _INJECTED.get(name)


@contextmanager
def _injected(**objects: Any) -> Iterator[None]:
    previous = dict(_INJECTED)
    _INJECTED.update(objects)
    try:
        yield
    finally:
        _INJECTED.clear()
        _INJECTED.update(previous)


def _transcribe_new(
    store: Store,
    settings: Settings,
    keys: stages.StageKeys,
    recordings: list[Recording],
    transcriber: Any,
    force: bool = False,
    distributed: bool = False,
) -> tuple[int, int, list[Quarantined], list[InputWarning]]:
    """Transcribe what is not stored under the transcript key (everything with `force`).

    `distributed`: submit every recording to the flow's task runner (Dask); workers load their
    own model once per process and return redacted transcripts, saved here as they arrive.
    """
    logger = get_run_logger()
    todo = transcribe_stage.pending(store, keys.transcript, recordings, force)
    failed: list[Quarantined] = []
    warnings: list[InputWarning] = []
    progress = _injected_object("progress") or (lambda stage, i, n: None)
    progress("transcribe", 0, len(todo))
    if todo and not distributed:
        transcriber.load()  # untimed: the run's ASR seconds are Whisper's work alone
    if distributed:
        futures = transcribe_task.map(todo, unmapped(settings), unmapped(keys.transcript))
        results = (future.result() for future in futures)
    else:
        results = (transcribe_task(r, settings, keys.transcript, transcriber) for r in todo)
    for i, (recording, result) in enumerate(zip(todo, results, strict=True), 1):
        if isinstance(result, AudioError):
            failed.append(transcribe_stage.unusable(recording, result))
        else:
            stages.save_transcript(store, result)
            checkpoint("transcribed")
            silent = transcribe_stage.no_customer_speech(recording, result)
            if silent is not None:
                warnings.append(silent)
            logger.info(
                "transcribed %d/%d %s (%.1fs audio, %.1fs)",
                i,
                len(todo),
                recording.file,
                result.duration_s,
                result.elapsed_s,
            )
        progress("transcribe", i, len(todo))
    return len(todo) - len(failed), len(recordings) - len(todo), failed, warnings


@contextmanager
def _timed(timings: dict[str, float], stage: str) -> Iterator[None]:
    """Time a stage into `timings` and tell the progress display (stages after ASR: 0/1, 1/1)."""
    progress = _injected_object("progress")
    if progress is not None and stage != "transcribe":
        progress(stage, 0, 1)
    started = time.perf_counter()
    try:
        yield
    finally:
        timings[stage] = round(time.perf_counter() - started, 2)
        if progress is not None and stage != "transcribe":
            progress(stage, 1, 1)


def forced_stages(from_stage: str | None) -> set[str]:
    """The stage named by `--from` and every stage after it."""
    if from_stage is None:
        return set()
    if from_stage not in STAGES:
        raise ValueError(f"unknown stage {from_stage!r}; one of: {', '.join(STAGES)}")
    return set(STAGES[STAGES.index(from_stage) :])


def _clean_temporary_files(data_dir: Path) -> None:
    """Remove temporary files a killed run left beside the reports and exports.

    Called under the data directory lock, so no live run is writing them.
    """
    for folder in (data_dir, data_dir / "reports", data_dir / "exports"):
        for leftover in folder.glob(".*.tmp*") if folder.is_dir() else ():
            leftover.unlink(missing_ok=True)


def _analyse(
    store: Store,
    settings: Settings,
    keys: stages.StageKeys,
    embedder: Any,
    run_id: str,
    forced: set[str],
    timings: dict[str, float],
    notice: str = "",
    language: str | None = None,
) -> dict[str, Any]:
    """Every stage after transcription; `forced` ones recompute what they have already."""
    data_dir = store.data_dir
    with _timed(timings, "embed"):
        embedded = embed_task(store, keys, embedder, force="embed" in forced)
    with _timed(timings, "classify"):
        classified = classify_task(store, settings, keys, embedder, force="classify" in forced)
    with _timed(timings, "topics"):
        topics = topics_task(store, settings, keys, refit="topics" in forced, embedder=embedder)
    with _timed(timings, "scoring"):
        scorecard: Any = score_task(store, settings, keys, run_id)
    with _timed(timings, "report"):
        report = report_task(
            store,
            settings,
            keys,
            str(topics["topics_key"]),
            run_id,
            data_dir / "reports" / "report.html",
            notice,
            language=language,
        )
        exports = export_task(
            store, data_dir / "exports", "csv", tables=EXPORTED, keys=dataclasses.asdict(keys)
        )
        snapshot = snapshot_task(
            store, settings, keys, str(topics["topics_key"]), run_id, scorecard
        )
    return {
        "keys": dataclasses.asdict(keys),
        "topics_key": str(topics["topics_key"]),
        "embedded": embedded["embedded"],
        "classified": classified["classified"],
        "topics_fitted": topics["fitted"],
        "topics_assigned": topics.get("assigned", 0),
        "topics": {k: v for k, v in topics.items() if k != "topics_key"},
        "report": str(report),
        "exports": {name: str(data_dir / "exports" / f"{name}.csv") for name in exports},
        "snapshot": str(snapshot),
        "agencies": scorecard["agency_id"].tolist(),
        "notice": notice,
        "scorecard": scorecard,
    }


@contextmanager
def _recorded(store: Store, run_id: str, key: str, timings: dict[str, float]) -> Iterator[None]:
    """Record the run in the store; on any error mark it failed (with the timings so far).

    Called under the data directory lock, so a run still marked running was killed: it is
    marked interrupted first.
    """
    store.mark_interrupted()
    store.start_run(run_id, key)
    try:
        yield
    except BaseException:
        store.finish_run(run_id, "failed", {"timings": timings})
        raise


def _finish(store: Store, run_id: str, started: datetime, summary: dict[str, Any]) -> dict:
    """Mark the run completed, write its metadata beside the exports, publish artifacts.

    Times and run ids live in `exports/run.json`, so the CSV exports of two runs on the same
    inputs are byte-identical.
    """
    scorecard = summary.pop("scorecard")
    checkpoint("finishing")
    store.finish_run(run_id, "completed", summary)
    meta = summary | {"started_at": started.isoformat(), "finished_at": _now().isoformat()}
    write_atomic(store.data_dir / "exports" / "run.json", json.dumps(meta, indent=2, default=str))
    publish_artifacts(scorecard, Path(summary["report"]), summary)
    return summary


def _now() -> datetime:
    return datetime.now(UTC)


@flow(name="process-recordings")
@parameters.plain_failures
def process_recordings(
    recordings_dir: Path,
    manifest: Path,
    cases: Path,
    data_dir: Path = Path("ascolto-data"),
    config: str | Path = "",
    notice: str = "",
    from_stage: FromStage = "none",
    agencies: tuple[str, ...] = (),
    since: Day = "",
    until: Day = "",
    report_language: ReportLanguage = "config",
) -> dict[str, Any]:
    """Ingest new recordings, transcribe only what is new, then every stage and the report.

    Args:
        recordings_dir: folder holding the audio files named in the manifest.
        manifest: CSV with file, case_id, agency_id, interview_date, consent.
        cases: CSV of case outcomes (amounts due and recovered, churn).
        data_dir: where the store, topic models, reports and exports live.
        config: settings YAML overriding configs/default.yaml (empty: the defaults).
        notice: banner printed on the report (the demo marks itself synthetic).
        from_stage: recompute this stage and every later one even where results are stored.
        agencies: only manifest rows of these agencies (all when empty).
        since: only interviews on or after this date (empty: no limit).
        until: only interviews on or before this date (empty: no limit).
        report_language: it, en, or config (report.language in the settings).
    """
    logger = get_run_logger()
    settings = load_settings(parameters.config_path(config))
    forced = forced_stages(parameters.from_stage(from_stage))
    period = (parameters.day(since, "since"), parameters.day(until, "until"))
    distributed = bool(_injected_object("distributed"))
    transcriber = TimedTranscriber(
        _injected_object("transcriber") or make_transcriber(settings.asr)
    )
    embedder = _injected_object("embedder") or stages.default_embedder(settings)
    keys = stages.StageKeys.from_settings(settings, transcriber.model_id)
    run_id, started = uuid.uuid4().hex[:12], _now()
    timings: dict[str, float] = {}
    with data_dir_lock(data_dir, "run"), Store(data_dir) as store:
        _clean_temporary_files(data_dir)
        with _recorded(store, run_id, keys.classify, timings):
            with _timed(timings, "ingest"):
                ingested = ingest_task(
                    store, run_id, recordings_dir, manifest, cases, list(agencies) or None, period
                )
            recordings, rejected = ingested.recordings, ingested.rejected
            with _timed(timings, "transcribe"):
                transcribed, cached, failed, silent = _transcribe_new(
                    store, settings, keys, recordings, transcriber,
                    force="transcribe" in forced, distributed=distributed,
                )  # fmt: skip
            if not distributed:  # Dask workers transcribe with their own models
                timings["asr_within_transcribe"] = round(transcriber.seconds, 2)
            if failed:
                rejected = rejected + failed
                store.add_quarantine(run_id, failed)
            if silent:
                store.add_warnings(run_id, silent)
            results = _analyse(
                store,
                settings,
                keys,
                embedder,
                run_id,
                forced,
                timings,
                notice,
                parameters.language(report_language),
            )
        summary = {
            "run_id": run_id,
            "recordings": len(recordings),
            "skipped_erased": ingested.skipped_erased,
            "cases": ingested.cases,
            "warnings": [w.__dict__ for w in ingested.warnings + silent],
            "language_mismatch": store.language_mismatches(keys.transcript),
            "transcribed": transcribed,
            "cached": cached,
            "quarantined": [q.__dict__ for q in rejected],
            "forced": sorted(forced, key=STAGES.index),
            "timings": timings,
        } | results
        _finish(store, run_id, started, summary)
    logger.info(
        "run %s: transcribed %d, cached %d, quarantined %d, timings %s",
        run_id, transcribed, cached, len(rejected), timings,
    )  # fmt: skip
    return summary


@flow(name="rerun-stage")
@parameters.plain_failures
def rerun_stage(
    stage: RerunStage,
    data_dir: Path = Path("ascolto-data"),
    config: str | Path = "",
    report_language: ReportLanguage = "config",
) -> dict[str, Any]:
    """Recompute one stage and every later one with today's models and config.

    Never transcribes: it builds on the transcripts of the last completed run.

    Args:
        stage: embed, classify, topics (a refit with stable IDs), scoring or report.
        data_dir: a data directory written by process-recordings.
        config: settings YAML overriding configs/default.yaml (empty: the defaults).
        report_language: it, en, or config (report.language in the settings).
    """
    settings = load_settings(parameters.config_path(config))
    embedder = _injected_object("embedder") or stages.default_embedder(settings)
    run_id, started = uuid.uuid4().hex[:12], _now()
    timings: dict[str, float] = {}
    with data_dir_lock(data_dir, "rerun"), Store(data_dir) as store:
        _clean_temporary_files(data_dir)
        last = last_run(store)
        keys = stages.StageKeys.from_settings(settings, transcript_key=last.keys.transcript)
        with _recorded(store, run_id, keys.classify, timings):
            results = _analyse(
                store, settings, keys, embedder, run_id, forced_stages(stage), timings,
                last.notice, parameters.language(report_language),
            )  # fmt: skip
        summary = {"run_id": run_id, "rerun_from": stage, "timings": timings} | results
        return _finish(store, run_id, started, summary)


@flow(name="agency-report")
@parameters.plain_failures
def agency_report(
    agency: str,
    data_dir: Path = Path("ascolto-data"),
    config: str | Path = "",
    since: Day = "",
    until: Day = "",
    language: ReportLanguage = "config",
) -> str:
    """One agency's report (the others pooled as an anonymous benchmark), to share with it.

    Args:
        agency: agency id as in the manifest.
        data_dir: a data directory written by process-recordings.
        config: settings YAML overriding configs/default.yaml (empty: the defaults).
        since: only interviews on or after this date (empty: no limit).
        until: only interviews on or before this date (empty: no limit).
        language: it, en, or config (report.language in the settings).
    """
    settings = load_settings(parameters.config_path(config))
    period = (parameters.day(since, "since"), parameters.day(until, "until"))
    report_language = parameters.language(language) or settings.report.language
    out = agency_report_path(data_dir, agency, period, report_language)
    with data_dir_lock(data_dir, "agency report"), Store(data_dir) as store:
        path = rebuild_report(
            store,
            settings,
            out,
            agency=agency,
            language=parameters.language(language),
            period=period,
        )
    create_markdown_artifact(key="agency-report", markdown=f"Report for one agency: `{path}`")
    link_report(path)
    return str(path)


@flow(name="purge")
@parameters.plain_failures
def purge_expired(
    data_dir: Path = Path("ascolto-data"),
    config: str | Path = "",
    older_than_days: int = -1,
) -> dict[str, Any]:
    """Retention: erase interviews older than retention.days (or `older_than_days`), audited.

    Args:
        data_dir: the data directory to purge.
        config: settings YAML overriding configs/default.yaml (empty: the defaults).
        older_than_days: days to keep (-1: retention.days in the config).
    """
    settings = load_settings(parameters.config_path(config))
    days = older_than_days if older_than_days >= 0 else settings.retention.days
    if not (data_dir / STORE_FILE).is_file():
        return {"recordings": 0, "note": f"no store in {data_dir} yet"}
    deletion = purge_in(data_dir, days)
    return {"recordings": deletion.recordings, "cases": deletion.cases, "rows": deletion.rows}
