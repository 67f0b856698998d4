"""Commands on a data directory's store: status, forget, purge, export, report, topics."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ascolto.shared import (
    ConfigOpt,
    DataDir,
    Lang,
    Since,
    Until,
    choice,
    day,
    prepare_prefect,
)
from pipeline.records import ExportFormat

if TYPE_CHECKING:
    from pipeline.privacy.retention import Deletion


def status(
    data_dir: DataDir = Path("ascolto-data"),
    config: ConfigOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
) -> None:
    """What is done, pending or stale (config or model changed) in a data directory."""
    import json

    from pipeline.config import load_settings
    from pipeline.lock import live_holder
    from pipeline.stages import StageKeys
    from pipeline.status import store_status
    from pipeline.store import Store, require_store

    settings = load_settings(config)
    require_store(data_dir)
    busy = live_holder(data_dir)
    if busy:  # DuckDB admits no reader beside a writer process: say who is working
        message = f"busy: ascolto {busy.get('action')} pid {busy['pid']} since {busy.get('since')}"
        typer.echo(json.dumps({"busy": busy}) if as_json else f"{data_dir}: {message}")
        return
    keys = StageKeys.from_settings(settings)
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


DryRun = Annotated[bool, typer.Option("--dry-run", help="list what would be erased; erase nothing")]


def _print_deletion(deletion: Deletion) -> None:
    if deletion.dry_run:
        typer.echo(
            f"{deletion.action} (dry run, nothing erased): would erase {deletion.recordings} of "
            f"{deletion.of_total} recordings and {deletion.cases} cases"
        )
        for name in deletion.files:
            typer.echo(f"  recording {name}")
        for path in deletion.rewritten:
            typer.echo(f"  would rewrite {path}")
        return
    typer.echo(
        f"{deletion.action}: erased {deletion.recordings} recordings, {deletion.cases} cases, "
        f"{deletion.total_rows} rows; {deletion.topic_models} topic models dropped"
        + ("; report withdrawn (run again to rebuild)" if deletion.report_withdrawn else "")
    )


def forget(
    case: Annotated[str | None, typer.Option("--case", help="case id to erase")] = None,
    customer: Annotated[
        str | None, typer.Option("--customer", help="customer id: erase all their cases")
    ] = None,
    data_dir: DataDir = Path("ascolto-data"),
    dry_run: DryRun = False,
) -> None:
    """Right to erasure: delete everything derived from one case or customer, and audit it.

    Exports, reports, quarantine notes and run summaries that named the subject are rewritten,
    and the store file is compacted so no deleted bytes remain in it.
    """
    from pipeline.privacy.retention import forget_in

    if (case is None) == (customer is None):
        raise typer.BadParameter(
            "give exactly one of --case or --customer", param_hint="'--case' / '--customer'"
        )
    _print_deletion(forget_in(data_dir, case_id=case, customer_id=customer, dry_run=dry_run))


def purge(
    older_than: Annotated[
        int | None,
        typer.Option(
            "--older-than", min=0, help="days to keep (default: retention.days in the config)"
        ),
    ] = None,
    data_dir: DataDir = Path("ascolto-data"),
    config: ConfigOpt = None,
    dry_run: DryRun = False,
    yes: Annotated[
        bool, typer.Option("--yes", help="erase without asking, even more than half the store")
    ] = False,
) -> None:
    """Retention: erase every interview older than the retention period, and audit it.

    Erasing more than half of the recordings asks first (or needs --yes); --dry-run only lists.
    """
    from pipeline.config import load_settings
    from pipeline.privacy.retention import purge_in

    days = older_than if older_than is not None else load_settings(config).retention.days
    plan = purge_in(data_dir, days, dry_run=True)
    if dry_run:
        _print_deletion(plan)
        return
    if not yes and plan.recordings * 2 > plan.of_total:
        question = (
            f"purge --older-than {days} would erase {plan.recordings} of {plan.of_total} "
            "recordings, for good"
        )
        if not sys.stdin.isatty():
            raise typer.BadParameter(f"{question}; pass --yes to confirm", param_hint="'--yes'")
        typer.confirm(f"{question}. Erase them?", abort=True)
    _print_deletion(purge_in(data_dir, days))


def export(
    output: Annotated[Path, typer.Option("--output", "-o", help="folder to write into")],
    fmt: Annotated[
        ExportFormat, typer.Option("--format", parser=choice(ExportFormat), help="file format")
    ] = "csv",
    data_dir: DataDir = Path("ascolto-data"),
    config: ConfigOpt = None,
) -> None:
    """Scorecard, interview- and utterance-level results (redacted) as CSV or Parquet files.

    CSV cells that a spreadsheet would run as a formula are neutralised with a leading quote.
    """
    from pipeline.config import load_settings
    from pipeline.report.export import export_all
    from pipeline.store import Store, require_store

    scoring = load_settings(config).scoring
    require_store(data_dir)
    with Store(data_dir, read_only=True) as store:
        counts = export_all(store, output, fmt, scoring)
    listing = ", ".join(f"{name}.{fmt} ({n} rows)" for name, n in counts.items())
    typer.echo(f"exported to {output}: {listing}")


def report(
    output: Annotated[Path, typer.Option("--output", "-o", help="HTML file to write")],
    agency: Annotated[
        str | None,
        typer.Option("--agency", help="one agency against the pooled others, for sharing with it"),
    ] = None,
    lang: Lang = None,
    since: Since = None,
    until: Until = None,
    data_dir: DataDir = Path("ascolto-data"),
    config: ConfigOpt = None,
) -> None:
    """Rebuild the HTML report from the store (whole, or one agency's, for a period)."""
    from pipeline.config import load_settings
    from pipeline.stages.report import rebuild_report
    from pipeline.store import Store, require_store

    settings = load_settings(config)
    require_store(data_dir)
    with Store(data_dir, read_only=True) as store:
        path = rebuild_report(
            store, settings, output, agency=agency, language=lang, period=(day(since), day(until))
        )
    typer.echo(f"report: {path}")


def topics(
    ctx: typer.Context,
    data_dir: DataDir = Path("ascolto-data"),
    config: ConfigOpt = None,
) -> None:
    """Current topics: id, label, size, top words and share of each agency's interviews."""
    if ctx.invoked_subcommand is not None:
        return
    from pipeline.config import load_settings
    from pipeline.stages import topic_names, topic_table, topics_lineage
    from pipeline.stages.report import last_run
    from pipeline.store import Store, require_store

    settings = load_settings(config)
    require_store(data_dir)
    with Store(data_dir, read_only=True) as store:
        lineage = topics_lineage(settings, last_run(store).keys)
        current = store.current_topics(lineage)
        if current is None:
            typer.echo("no topics yet (too few utterances, or the topics config changed: refit)")
            return
        names = topic_names(store, settings, lineage)
        table = topic_table(store, str(current["topics_key"]), names)
    typer.echo(f"topics {current['topics_key']} (generation {current['seq']})")
    typer.echo(table.to_string(index=False))


def topics_refit(data_dir: DataDir = Path("ascolto-data"), config: ConfigOpt = None) -> None:
    """Refit topics on every utterance; old IDs are kept where topics match, changes listed.

    The same as `ascolto rerun topics`: scoring and the report follow the new topics.
    """
    prepare_prefect(0)
    from flows.process import rerun_stage
    from flows.service import check_prefect_api
    from pipeline.store import require_store

    require_store(data_dir)
    check_prefect_api()
    summary = rerun_stage("topics", data_dir, config or "")
    result = summary["topics"]
    if not result["fitted"]:
        typer.echo(f"no topics fitted: {result['note']}")
        return
    typer.echo(
        f"refitted {result['n_topics']} topics ({summary['topics_key']}): kept IDs "
        f"{result['kept']}, new {result['added']}, vanished {result['vanished']}"
    )


def topics_rename(
    topic_id: Annotated[int, typer.Argument(help="stable topic ID (see `ascolto topics`)")],
    label: Annotated[str, typer.Argument(help="the name analysts will read")],
    data_dir: DataDir = Path("ascolto-data"),
    config: ConfigOpt = None,
) -> None:
    """Name a topic; the name stays with its ID through assignments and refits."""
    from pipeline.config import load_settings
    from pipeline.lock import data_dir_lock
    from pipeline.stages import topics_lineage
    from pipeline.stages.report import last_run
    from pipeline.store import Store, require_store

    settings = load_settings(config)
    require_store(data_dir)
    with data_dir_lock(data_dir, "topics rename"), Store(data_dir) as store:
        lineage = topics_lineage(settings, last_run(store).keys)
        current = store.current_topics(lineage)
        known = store.topic_ids(str(current["topics_key"])) if current else []
        if topic_id not in known:
            raise typer.BadParameter(
                f"no topic {topic_id} in the current topics (IDs: {known})",
                param_hint="'topic_id'",
            )
        store.rename_topic(lineage, topic_id, label.strip())
    typer.echo(f"topic {topic_id}: {label.strip()}")
