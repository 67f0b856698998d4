"""`ascolto review`: the local page where analysts confirm or correct the model's labels."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from ascolto.shared import ConfigOpt, DataDir


def review(
    data_dir: DataDir = Path("ascolto-data"),
    port: Annotated[
        int | None, typer.Option("--port", min=1, max=65535, help="overrides review.port")
    ] = None,
    host: Annotated[
        str | None,
        typer.Option("--host", help="overrides review.host; any but loopback needs a token"),
    ] = None,
    reviewer: Annotated[
        str | None, typer.Option("--reviewer", help="name stored with each review")
    ] = None,
    config: ConfigOpt = None,
) -> None:
    """Serve the review page: confirm or correct the labels of customer quotes (Ctrl+C stops).

    Bound to 127.0.0.1 unless told otherwise; on another address every request needs a token,
    taken from $ASCOLTO_REVIEW_TOKEN or generated, and printed in the page's URL.
    """
    import secrets

    from pipeline.config import load_settings
    from pipeline.review.context import TOKEN_ENV, is_loopback

    settings = load_settings(config)
    updates = {k: v for k, v in {"host": host, "port": port}.items() if v is not None}
    settings = settings.model_copy(update={"review": settings.review.model_copy(update=updates)})
    bind, at = settings.review.host, settings.review.port
    token = None
    if not is_loopback(bind):
        token = os.environ.get(TOKEN_ENV) or secrets.token_urlsafe(24)
    import uvicorn

    from pipeline.review.app import make_app

    app = make_app(data_dir, settings, token=token, reviewer=reviewer or "")
    url = f"http://{'127.0.0.1' if is_loopback(bind) else bind}:{at}/"
    typer.echo(f"review page for {data_dir}: {url}" + (f"?token={token}" if token else ""))
    if settings.review.audio:
        typer.echo("audio playback is on (review.audio): segments are decoded on request")
    uvicorn.run(app, host=bind, port=at, log_level="warning")
