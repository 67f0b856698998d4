"""The `ascolto` command line: a thin shell over the flows and the pipeline library.

Heavy imports (Prefect, Whisper, BERTopic) happen inside the commands, so `ascolto --help` is fast.
Exit codes: 0 done, 1 done but some inputs were quarantined, 2 bad invocation or unusable input.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

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


def _prepare_prefect(verbose: int) -> None:
    # Must be set before Prefect is imported; users' own settings win.
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", ["WARNING", "INFO", "DEBUG"][min(verbose, 2)])


def _run(
    recordings: Path,
    manifest: Path,
    cases: Path,
    data_dir: Path,
    config: Path | None,
    verbose: int,
    notice: str = "",
) -> None:
    _prepare_prefect(verbose)
    from pipeline.config import ConfigError
    from pipeline.ingest import InputError
    from pipeline.transcribe import ModelError

    try:
        from flows.process import process_recordings

        summary = process_recordings(
            recordings_dir=recordings,
            manifest=manifest,
            cases=cases,
            data_dir=data_dir,
            config=config,
            notice=notice,
        )
    except (InputError, ConfigError, ModelError) as exc:
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from None
    _print_summary(summary)
    if summary["quarantined"]:
        raise typer.Exit(1)


def _print_summary(summary: dict) -> None:
    typer.echo(
        f"recordings {summary['recordings']}: transcribed {summary['transcribed']}, "
        f"cached {summary['cached']}, quarantined {len(summary['quarantined'])}"
    )
    typer.echo(
        f"classified {summary['classified']} new interviews; topics "
        f"{'refitted' if summary['topics_fitted'] else 'unchanged'}"
    )
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
) -> None:
    """Process recordings end to end (only new ones are transcribed) and write the HTML report."""
    _run(recordings, manifest, cases, data_dir, config, verbose)


@app.command()
def demo(
    data_dir: DataDir = Path("ascolto-data"),
    config: ConfigOpt = None,
    verbose: Verbose = 0,
) -> None:
    """Run the whole pipeline on the shipped SYNTHETIC demo and print the report path."""
    if not (DEMO_DIR / "manifest.csv").is_file():
        typer.secho(
            f"error: demo data not found in {DEMO_DIR} (run from a clone of the repository)",
            err=True,
        )
        raise typer.Exit(2)
    _run(
        DEMO_DIR / "recordings",
        DEMO_DIR / "manifest.csv",
        DEMO_DIR / "cases.csv",
        data_dir,
        config,
        verbose,
        notice=SYNTHETIC_NOTICE,
    )


if __name__ == "__main__":
    app()
