"""The `ascolto` command line: a thin shell over the flows and the pipeline library.

This module is the root: the app, `--version`, error handling and the list of commands. The
commands live by group in `run_commands` (flows), `text_commands` (JSON Lines and audio in,
nothing stored), `store_commands` (a data directory), `review_commands` (the review page)
and `models_commands`.

Heavy imports (Prefect, Whisper, BERTopic) happen inside the commands, so `ascolto --help` is fast.
Exit codes: 0 done, 1 done but some inputs were quarantined or skipped, 2 bad invocation or
unusable input (every `pipeline.errors.AscoltoError`, printed here as one red line).
"""

from __future__ import annotations

import errno
from typing import TYPE_CHECKING, Annotated, Any

import typer
from typer.core import TyperGroup

from ascolto import models_commands, review_commands, run_commands, store_commands, text_commands
from pipeline import __version__
from pipeline.errors import AscoltoError

if TYPE_CHECKING:
    from typer._click import Context

__all__ = ["app"]
# Failures of the machine, not of ascolto: said in one line, like an AscoltoError.
_ENVIRONMENT_ERRORS = {errno.ENOSPC, errno.EROFS, errno.EACCES, errno.EPERM, errno.EDQUOT}


class AscoltoGroup(TyperGroup):
    """The root command: any command's `AscoltoError` becomes `error: ...` and its exit code."""

    def invoke(self, ctx: Context) -> Any:
        """Run the command; a user-fixable error is one red line on stderr, no traceback."""
        try:
            return super().invoke(ctx)
        except AscoltoError as exc:
            typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
            raise typer.Exit(exc.exit_code) from None
        except OSError as exc:  # a full disk, a read-only folder, no permission
            if not isinstance(exc.errno, int) or exc.errno not in _ENVIRONMENT_ERRORS:
                raise
            where = f"{exc.filename}: " if exc.filename else ""
            typer.secho(
                f"error: {where}{exc.strerror}; nothing already stored was lost (free space, or "
                "choose a writable --data-dir / --output)",
                fg=typer.colors.RED,
                err=True,
            )
            raise typer.Exit(2) from None


app = typer.Typer(
    cls=AscoltoGroup,
    help="ascolto: transcribe post-collection interviews, remove personal data, classify themes, "
    "score collection agencies.",
    no_args_is_help=True,
    add_completion=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"ascolto {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, metavar="", help="print the version"
        ),
    ] = False,
) -> None:
    """Listen to customers after debt collection."""


for command in (
    run_commands.run,
    run_commands.demo,
    run_commands.rerun,
    run_commands.serve,
    text_commands.redact,
    store_commands.forget,
    store_commands.purge,
    store_commands.export,
    store_commands.report,
    review_commands.review,
    text_commands.transcribe,
    text_commands.classify,
    text_commands.evaluate,
    text_commands.train,
    store_commands.status,
):
    app.command()(command)

topics_app = typer.Typer(
    help="Topics of customer utterances: list (no subcommand), refit, rename, fit any texts.",
    invoke_without_command=True,
)
topics_app.callback()(store_commands.topics)
topics_app.command("refit")(store_commands.topics_refit)
topics_app.command("rename")(store_commands.topics_rename)
topics_app.command("fit")(text_commands.topics_fit)
app.add_typer(topics_app, name="topics")

models_app = typer.Typer(help="Model files: conversions for the optional backends.")
models_app.command("convert-openai")(models_commands.convert_openai)
app.add_typer(models_app, name="models")


if __name__ == "__main__":
    app()
