"""The `process-recordings` Prefect flow: every stage of `pipeline.stages`, wrapped as tasks.

No analytics here: tasks add retries, names and logging around plain pipeline functions. The
store is the cache (keyed by audio hash + stage key), so Prefect's own result caching is off.
Logs carry ids and counts only, never transcript text.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NONE

from pipeline import stages
from pipeline.audio import AudioError
from pipeline.config import Settings, load_settings
from pipeline.lock import data_dir_lock
from pipeline.records import Quarantined, Recording
from pipeline.store import Store
from pipeline.transcribe import make_transcriber

ingest_task = task(stages.ingest, name="ingest", cache_policy=NONE)
transcribe_task = task(stages.transcribe_recording, name="transcribe", cache_policy=NONE)
classify_task = task(stages.classify_pending, name="classify", cache_policy=NONE)
embed_task = task(stages.embed_pending, name="embed", cache_policy=NONE)
topics_task = task(stages.topics_stage, name="topics", cache_policy=NONE)
score_task = task(stages.score, name="scoring", cache_policy=NONE)
report_task = task(stages.build_report, name="report", cache_policy=NONE)

# Model objects swapped in by `use_models`. They are not flow parameters on purpose: Prefect
# stores parameters in its database, and a fake transcriber carries raw (unredacted) text.
_INJECTED: dict[str, Any] = {}


@contextmanager
def use_models(transcriber: Any = None, embedder: Any = None) -> Iterator[None]:
    """Run flows with these transcriber/embedder objects instead of the configured ones."""
    previous = dict(_INJECTED)
    _INJECTED.update({"transcriber": transcriber, "embedder": embedder})
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
) -> tuple[int, int, list[Quarantined]]:
    logger = get_run_logger()
    done = store.transcribed_ids(keys.transcript)
    todo = [r for r in recordings if r.recording_id not in done]
    failed: list[Quarantined] = []
    for i, recording in enumerate(todo, 1):
        try:
            transcript = transcribe_task(recording, settings, keys.transcript, transcriber)
        except AudioError as exc:
            failed.append(
                Quarantined("transcribe", recording.file, str(exc), recording.manifest_row)
            )
            continue
        stages.save_transcript(store, transcript)
        logger.info(
            "transcribed %d/%d %s (%.1fs audio, %.1fs)",
            i,
            len(todo),
            recording.recording_id[:12],
            transcript.duration_s,
            transcript.elapsed_s,
        )
    return len(todo) - len(failed), len(recordings) - len(todo), failed


def _publish_artifacts(scorecard: Any, report: Path) -> None:
    """The scorecard as a Prefect table artifact, for analysts who live in the Prefect UI.

    Only aggregate numbers and agency ids: no text of any interview.
    """
    columns = ["agency_id", "interviews", "threatened_rate", "empathy_index",
               "recovery_rate_count", "churned", "value_lost_eur", "sufficient"]  # fmt: skip
    rows = scorecard[columns].round(3).astype(object).where(scorecard[columns].notna(), None)
    create_table_artifact(
        key="agency-scorecard",
        table=rows.to_dict(orient="records"),
        description=f"Agency scorecard of this run; full report: {report}",
    )
    create_markdown_artifact(
        key="agency-report",
        markdown=f"# ascolto run\n\nReport: `{report}`\n\n{_markdown_table(rows)}",
    )


def _markdown_table(rows: Any) -> str:
    header = "| " + " | ".join(rows.columns) + " |\n|" + "---|" * len(rows.columns) + "\n"
    body = "".join(
        "| " + " | ".join(_md_cell(v) for v in r) + " |\n" for r in rows.itertuples(index=False)
    )
    return header + body


def _md_cell(value: Any) -> str:
    # Agency ids are untrusted: no table breaks, no HTML in the Prefect UI.
    text = str(value)
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("|", "\\|")


@flow(name="process-recordings")
def process_recordings(
    recordings_dir: Path,
    manifest: Path,
    cases: Path,
    data_dir: Path = Path("ascolto-data"),
    config: Path | None = None,
    notice: str = "",
) -> dict[str, Any]:
    """Ingest new recordings, transcribe only what is new, then classify, topics, score, report.

    Parameters are plain paths and strings so a deployment can pass them as JSON; models come
    from the config, or from `use_models` (tests).
    """
    logger = get_run_logger()
    settings = load_settings(config)
    transcriber = _INJECTED.get("transcriber") or make_transcriber(settings.asr)
    embedder = _INJECTED.get("embedder") or stages.default_embedder(settings)
    keys = stages.StageKeys.from_settings(settings, transcriber.model_id)
    run_id = uuid.uuid4().hex[:12]
    with data_dir_lock(data_dir, "run"), Store(data_dir) as store:
        store.start_run(run_id, keys.classify)
        try:
            recordings, rejected, erased = ingest_task(
                store, run_id, recordings_dir, manifest, cases
            )
            transcribed, cached, failed = _transcribe_new(
                store, settings, keys, recordings, transcriber
            )
            if failed:
                rejected = rejected + failed
                store.add_quarantine(run_id, rejected)
            embedded = embed_task(store, keys, embedder)
            classified = classify_task(store, settings, keys, embedder)
            topics = topics_task(store, settings, keys, embedder=embedder)
            scorecard = score_task(store, settings, keys, run_id)
            report = report_task(
                store,
                settings,
                keys,
                str(topics["topics_key"]),
                run_id,
                data_dir / "reports" / "report.html",
                notice,
            )
        except Exception:
            store.finish_run(run_id, "failed", {})
            raise
        summary = {
            "run_id": run_id,
            "recordings": len(recordings),
            "skipped_erased": erased,
            "keys": dataclasses.asdict(keys),
            "topics_key": str(topics["topics_key"]),
            "language_mismatch": store.language_mismatches(keys.transcript),
            "transcribed": transcribed,
            "cached": cached,
            "quarantined": [q.__dict__ for q in rejected],
            "classified": classified["classified"],
            "embedded": embedded["embedded"],
            "topics_fitted": topics["fitted"],
            "topics_assigned": topics.get("assigned", 0),
            "report": str(report),
            "agencies": scorecard["agency_id"].tolist(),
        }
        store.finish_run(run_id, "completed", summary)
    _publish_artifacts(scorecard, report)
    logger.info(
        "run %s: transcribed %d, cached %d, quarantined %d",
        run_id,
        transcribed,
        cached,
        len(rejected),
    )
    return summary
