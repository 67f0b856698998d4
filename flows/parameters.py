"""Flow parameters as the Prefect UI shows them: plain fields with defaults, no None toggles.

Prefect builds the Custom-run form from the flows' type hints. An `X | None` parameter shows a
type switch and "Property is type None"; here every optional value has a visible default
instead ("" for no config file or no date limit, "config" for the configured language, "none"
for no forced stage), turned into the library's values by these functions.
"""

from __future__ import annotations

import functools
import inspect
import logging
import os
import re
from collections.abc import Callable, Iterable
from datetime import date
from pathlib import Path
from typing import Any, Literal, ParamSpec, TypeVar

from pipeline.errors import AscoltoError, InputError
from pipeline.ingest import parse_day
from pipeline.records import Language, Stage

FromStage = Literal["none", "transcribe", "embed", "classify", "topics", "scoring", "report"]
ReportLanguage = Literal["config", "it", "en"]
Day = str | date  # "" (no limit), "2026-10-14" or "14/10/2026" typed in the form, or a date
P = ParamSpec("P")
R = TypeVar("R")


def config_path(config: str | Path) -> Path | None:
    """The settings file, or None for configs/default.yaml alone."""
    return Path(config) if str(config).strip() else None


def day(value: Day | None, name: str) -> date | None:
    """A date bound, or None for no limit; a typo is one sentence naming the field."""
    if value is None or isinstance(value, date):
        return value
    if not value.strip():
        return None
    try:
        return parse_day(value)
    except ValueError:
        raise InputError(
            f"{name} {value!r} is not a date: write 2026-10-14 or 14/10/2026"
        ) from None


def language(value: ReportLanguage | None) -> Language | None:
    """The report language, or None for `report.language` of the config."""
    return None if value in (None, "config") else value  # type: ignore[return-value]


def from_stage(value: FromStage | None) -> Stage | None:
    """The stage to recompute from, or None."""
    return None if value in (None, "none") else value  # type: ignore[return-value]


SERVED_ENV = "ASCOLTO_SERVED"  # set by `ascolto serve` for the runs it starts


def in_form_words(message: str, fields: Iterable[str]) -> str:
    """A CLI error message as the Custom-run form reads: `--data-dir` becomes `data_dir`.

    Only flags that are fields of the flow are renamed; other commands in the advice stay.
    """
    names = set(fields)

    def field(match: re.Match[str]) -> str:
        name = match.group(1).replace("-", "_")
        return f"the field '{name}'" if name in names else match.group(0)

    return re.sub(r"--([a-z][a-z-]*)", field, message)


def plain_failures(fn: Callable[P, R]) -> Callable[P, R | Any]:
    """Served runs end, on an error the analyst can fix, as one plain sentence, no traceback.

    Prefect logs a flow's exception with its traceback; a flow that returns a Failed state ends
    failed with just its message. Under `ascolto serve` (SERVED_ENV set) an AscoltoError is
    logged as one line and returned as Failed(message); everywhere else it propagates, so the
    CLI prints it and exits with its code. Other exceptions are bugs: they keep their traceback.
    """
    # Resolved now, in the flow's module: Prefect builds the form and validates the parameters
    # from this signature, and the wrapper's own module does not know the flow's types.
    signature = inspect.signature(fn, eval_str=True)
    fields = list(signature.parameters)

    @functools.wraps(fn)
    def run(*args: P.args, **kwargs: P.kwargs) -> R | Any:
        if os.environ.get(SERVED_ENV):
            hide_fixable_tracebacks()
        try:
            return fn(*args, **kwargs)
        except AscoltoError as error:
            if not os.environ.get(SERVED_ENV):
                raise
            from prefect import get_run_logger
            from prefect.states import Failed

            sentence = in_form_words(str(error), fields)
            get_run_logger().error(sentence)
            return Failed(message=sentence)

    run.__signature__ = signature  # type: ignore[attr-defined]
    run.__annotations__ = {name: p.annotation for name, p in signature.parameters.items()} | {
        "return": signature.return_annotation
    }
    return run


def _fixable(name: str) -> bool:
    found, todo = set(), [AscoltoError]
    while todo:
        cls = todo.pop()
        found.add(cls.__name__)
        todo.extend(cls.__subclasses__())
    return name in found


_TASK_EXCEPTION = re.compile(r"(?:encountered an exception|failed with exception:) (\w+)")


class HideFixableTracebacks(logging.Filter):
    """Served runs: a task's fixable error is not logged (the flow logs it once, in plain words).

    Prefect's task engine logs a task's exception with its traceback, then its Failed state
    naming the exception; for an AscoltoError both are noise next to the flow's one sentence.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        """False for the task engine's records about an AscoltoError."""
        error = record.exc_info[1] if record.exc_info else None
        if isinstance(error, AscoltoError):
            return False
        found = _TASK_EXCEPTION.search(record.getMessage())
        return not (found and _fixable(found.group(1)))


def hide_fixable_tracebacks() -> None:
    """Install HideFixableTracebacks on Prefect's task-run logger (once per process)."""
    logger = logging.getLogger("prefect.task_runs")
    if not any(isinstance(f, HideFixableTracebacks) for f in logger.filters):
        logger.addFilter(HideFixableTracebacks())
