"""The review page and its JSON API (FastAPI): list quotes, confirm or correct their labels.

Security model (the page shows customers' words, redacted, and writes to the store):
- Bound to 127.0.0.1 by default. The `Host` header must name the address the server was started
  for (loopback names when bound to loopback), which stops DNS-rebinding pages.
- A POST must be `Content-Type: application/json` (an HTML form cannot send that across sites
  without a CORS preflight, which this app never answers) and, when the browser sends `Origin`,
  come from the page's own origin.
- Bound to any other address, a token is required on every request (the `X-Ascolto-Token`
  header, or `?token=` on the page's URL, which the page then sends as the header).
The store is opened per request (read-only to list), so a run can take the data directory
between two clicks; a review while a run writes is refused with the reason (409 or 503).
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, get_args

from fastapi import FastAPI, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import ValidationError

from pipeline.config import Settings
from pipeline.errors import AscoltoError, NoRunYet
from pipeline.lock import DataDirError, data_dir_lock
from pipeline.review.context import (
    TOKEN_ENV,
    ReviewContext,
    is_loopback,
    make_context,
)
from pipeline.review.page import render_page
from pipeline.review.quotes import (
    LabelFilter,
    QuoteFilter,
    ReviewIn,
    ReviewRejected,
    Status,
    check_review,
    matches,
    parse_quote_id,
    quote_id,
    quote_records,
    review_row,
)
from pipeline.stages.report import last_run
from pipeline.store import Store, now
from pipeline.store.base import StoreBusy

TOKEN_HEADER = "X-Ascolto-Token"


def _keys(store: Store) -> tuple[str, str]:
    keys = last_run(store).keys
    return keys.classify, keys.transcript


def list_quotes(ctx: ReviewContext, wanted: QuoteFilter) -> dict[str, Any]:
    """The quotes passing `wanted`, most unsure first, with counts."""
    if wanted.theme and wanted.theme not in ctx.taxonomy.codes:
        raise ReviewRejected(f"unknown theme {wanted.theme!r}; known: {ctx.taxonomy.codes}")
    with Store(ctx.data_dir, read_only=True) as store:
        classify_key, transcript_key = _keys(store)
        frame = store.review_quotes(classify_key, transcript_key)
    quotes = quote_records(frame, ctx.thresholds)
    kept = [q for q in quotes if matches(q, wanted)]
    return {
        "total": len(quotes),
        "reviewed": sum(q["review"] is not None for q in quotes),
        "matching": len(kept),
        "agencies": sorted({q["agency_id"] for q in quotes}),
        "quotes": kept,
    }


def _quote(
    store: Store, qid: str, thresholds: dict[str, float]
) -> tuple[dict[str, Any], dict[str, Any], str]:
    """(quote, its store row, classify key); ReviewRejected (404) when there is no such quote."""
    recording_id, utt_idx = parse_quote_id(qid)
    classify_key, transcript_key = _keys(store)
    frame = store.review_quotes(classify_key, transcript_key, [recording_id])
    frame = frame[frame["utt_idx"] == utt_idx]
    if frame.empty:
        raise ReviewRejected(f"no quote {qid!r} among this run's customer utterances", 404)
    return quote_records(frame, thresholds)[0], frame.iloc[0].to_dict(), classify_key


def save(ctx: ReviewContext, review: ReviewIn) -> dict[str, Any]:
    """Validate and store one review; the quote as it now reads."""
    themes = check_review(review, ctx.taxonomy)
    with data_dir_lock(ctx.data_dir, "review"), Store(ctx.data_dir) as store:
        quote, _, classify_key = _quote(store, review.quote_id, ctx.thresholds)
        store.save_review(review_row(review, themes, quote, classify_key, ctx.reviewer, now()))
        return _quote(store, review.quote_id, ctx.thresholds)[0]


def quote_audio(ctx: ReviewContext, qid: str) -> bytes:
    """WAV bytes of one quote's segment (review.audio must be on)."""
    from pipeline.review.audio import AudioUnavailable, recording_path, segment_wav

    if not ctx.settings.review.audio:
        raise AudioUnavailable(
            "audio playback is off (review.audio: false): the recordings hold personal data"
        )
    with Store(ctx.data_dir, read_only=True) as store:
        quote, row, _ = _quote(store, qid, {})
    path = recording_path(
        ctx.settings.review.recordings, str(row["file"]), str(row["recording_id"])
    )
    stereo = ctx.settings.roles.stereo_channels
    channel = next((c for c, role in stereo.items() if role == "customer"), None)
    return segment_wav(path, quote["start_s"], quote["end_s"], channel)


def wanted(agency: str, theme: str, label: str, status: str) -> QuoteFilter:
    """The filter of a request's query; ReviewRejected naming a label or status not known."""
    if label not in get_args(LabelFilter):
        raise ReviewRejected(f"unknown label {label!r}; one of {list(get_args(LabelFilter))}")
    if status not in get_args(Status):
        raise ReviewRejected(f"unknown status {status!r}; one of {list(get_args(Status))}")
    return QuoteFilter(agency, theme, label, status)  # type: ignore[arg-type]


def _status(exc: Exception) -> int:
    if isinstance(exc, ReviewRejected):
        return exc.status
    if isinstance(exc, DataDirError):
        return 409
    if isinstance(exc, StoreBusy):
        return 503
    from pipeline.review.audio import AudioUnavailable

    return 404 if isinstance(exc, AudioUnavailable | NoRunYet) else 400


def _token_given(request: Request) -> str:
    return str(request.headers.get(TOKEN_HEADER) or request.query_params.get("token") or "")


def make_app(
    data_dir: Path, settings: Settings, token: str | None = None, reviewer: str = ""
) -> FastAPI:
    """The FastAPI app of the review page for one data directory (see the module docstring)."""
    ctx = make_context(data_dir, settings, token, reviewer)
    app = FastAPI(title="ascolto review", docs_url=None, redoc_url=None, openapi_url=None)

    def refuse(status: int, reason: str) -> Response:
        return JSONResponse({"detail": reason}, status_code=status)

    @app.middleware("http")
    async def guard(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        host = request.headers.get("host", "")
        if ctx.hosts and host not in ctx.hosts:
            return refuse(403, f"host {host!r} refused: open the page at {ctx.hosts[1]}")
        if ctx.token and not hmac.compare_digest(_token_given(request), ctx.token):
            return refuse(
                401, f"token missing or wrong: use the URL printed at start ({TOKEN_HEADER})"
            )
        if request.method not in ("GET", "HEAD"):
            if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
                return refuse(415, "send the review as Content-Type: application/json")
            origin = request.headers.get("origin")
            if origin is not None and origin != f"{request.url.scheme}://{host}":
                return refuse(403, f"cross-site request refused (Origin {origin!r})")
        return await call_next(request)

    @app.exception_handler(AscoltoError)
    async def plain(request: Request, exc: AscoltoError) -> Response:
        return refuse(_status(exc), str(exc))

    @app.get("/", response_class=HTMLResponse)
    def page(agency: str = "", theme: str = "", label: str = "", status: str = "all") -> str:
        chosen = wanted(agency, theme, label, status)
        return render_page(ctx, list_quotes(ctx, chosen), chosen)

    @app.get("/api/quotes")
    def quotes(
        agency: str = "", theme: str = "", label: str = "", status: str = "all",
        limit: int = Query(0, ge=0), offset: int = Query(0, ge=0),
    ) -> dict[str, Any]:  # fmt: skip
        listing = list_quotes(ctx, wanted(agency, theme, label, status))
        end = offset + limit if limit else None
        return listing | {"quotes": listing["quotes"][offset:end]}

    @app.post("/api/reviews", status_code=201, response_model=None)
    async def post_review(request: Request) -> Response | dict[str, Any]:
        try:
            review = ReviewIn.model_validate_json(await request.body())
        except ValidationError as exc:
            reasons = [
                f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}" for e in exc.errors()
            ]
            return refuse(422, "; ".join(reasons))
        return {"quote": save(ctx, review)}

    @app.get("/api/quotes/{qid}/audio")
    def audio(qid: str) -> Response:
        return Response(quote_audio(ctx, qid), media_type="audio/wav",
                        headers={"Cache-Control": "no-store"})  # fmt: skip

    app.state.context = ctx
    return app


__all__ = ["TOKEN_ENV", "TOKEN_HEADER", "is_loopback", "make_app", "quote_id"]
