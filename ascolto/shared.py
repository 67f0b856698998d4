"""What the command modules share: option types, the choices typer enforces, Prefect setup.

Nothing heavy is imported here: `ascolto --help` builds every command from these.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any, get_args

import typer

from pipeline.records import Language, Stage


def choice(kind: Any, wrong: str = "{value} is not one of: {choices}") -> Callable[[str], str]:
    """A typer parser that accepts only the values of the Literal `kind`.

    Help shows the choices from the annotation; a wrong value is a usage error (exit 2) whose
    message is `wrong`, formatted with the value given and the choices.
    """
    values: tuple[str, ...] = get_args(kind)

    def parse(value: str) -> str:
        if value in values:
            return value
        from pydantic_core import PydanticCustomError  # a ValueError; typer shows its text

        raise PydanticCustomError(
            "choice", wrong, {"value": repr(value), "choices": ", ".join(values)}
        )

    return parse


DataDir = Annotated[Path, typer.Option("--data-dir", help="where the DuckDB store and reports go")]
ConfigOpt = Annotated[
    Path | None, typer.Option("--config", help="settings YAML (default: configs/default.yaml)")
]
JsonlIn = Annotated[Path, typer.Argument(help='JSON Lines, one {"id": ..., "text": ...} per line')]
JsonlOut = Annotated[Path, typer.Option("--output", "-o", help="JSON Lines to write")]
Verbose = Annotated[
    int,
    typer.Option(
        "--verbose", "-v", count=True, metavar="", show_default=False, help="more logging (-v, -vv)"
    ),
]
LogJson = Annotated[
    bool, typer.Option("--log-json", metavar="", help="logs as JSON lines on stderr")
]
FromStage = Annotated[
    Stage | None,
    typer.Option(
        "--from",
        parser=choice(Stage, "unknown stage {value}; one of: {choices}"),
        help="recompute this stage and every later one",
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
Lang = Annotated[
    Language | None,
    typer.Option("--lang", parser=choice(Language), help="report language (default: config)"),
]
Dask = Annotated[
    str | None,
    typer.Option(
        "--dask",
        help="transcribe on a Dask cluster: tcp://host:8786 (a scheduler) or local:N (N processes)",
    ),
]


def day(value: datetime | None) -> date | None:
    """The date of a `--since`/`--until` value."""
    return value.date() if value else None


def prepare_prefect(verbose: int, log_json: bool = False) -> None:
    """Prefect settings for a command that runs a flow; call before Prefect is imported."""
    # Users' own settings win.
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    # The temporary local server can take more than Prefect's default 20 s on a busy 2-core box.
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", ["WARNING", "INFO", "DEBUG"][min(verbose, 2)])
    if log_json:
        os.environ["PREFECT_LOGGING_SETTINGS_PATH"] = str(Path(__file__).with_name("logging.yml"))
        # A library's warning ("Data map plotting is unavailable...") becomes a JSON line too,
        # not a bare line of text in the middle of the collector's stream.
        logging.captureWarnings(True)
