"""The review page, rendered on the server (Jinja2); a little inline JavaScript posts reviews.

Filters are a plain GET form, so listing and filtering work without JavaScript; nothing is
loaded from the network (no CDN, no fonts), like the report.
"""

from __future__ import annotations

import html
import json
import re
from typing import TYPE_CHECKING, Any

from pipeline.review.quotes import QuoteFilter

if TYPE_CHECKING:
    from pipeline.review.context import ReviewContext

WORDS = {
    "it": {
        "title": "ascolto · Revisione delle etichette", "agency": "Agenzia", "theme": "Tema",
        "label": "Etichetta", "status": "Stato", "any": "tutte", "filter": "Filtra",
        "all": "tutte", "reviewed": "riviste", "unreviewed": "da rivedere",
        "threatened": "minacciato", "not_threatened": "non minacciato", "positive": "positivo",
        "neutral": "neutro", "negative": "negativo", "confirm": "Conferma", "correct": "Correggi",
        "confirmed": "confermata", "corrected": "corretta", "unsure": "incertezza",
        "low_confidence": "ASR incerto", "uncertain": "modello incerto", "play": "Ascolta",
        "shown": "{matching} di {total} frasi ({reviewed} riviste), le più incerte prima",
        "keys": "Tasti: j/k frase successiva/precedente, c o Invio conferma, e correggi, "
        "1/2/3 sentimento, t minacciato (ogni correzione si salva subito).",
        "sentiment": "Sentimento", "themes": "Temi", "none": "nessuno",
    },
    "en": {
        "title": "ascolto · Label review", "agency": "Agency", "theme": "Theme", "label": "Label",
        "status": "Status", "any": "any", "filter": "Filter", "all": "all",
        "reviewed": "reviewed", "unreviewed": "to review", "threatened": "threatened",
        "not_threatened": "not threatened", "positive": "positive", "neutral": "neutral",
        "negative": "negative", "confirm": "Confirm", "correct": "Correct",
        "confirmed": "confirmed", "corrected": "corrected", "unsure": "unsure",
        "low_confidence": "ASR unsure", "uncertain": "model unsure", "play": "Play",
        "shown": "{matching} of {total} quotes ({reviewed} reviewed), most unsure first",
        "keys": "Keys: j/k next/previous quote, c or Enter confirms, e corrects, 1/2/3 "
        "sentiment, t threatened (each correction is saved at once).",
        "sentiment": "Sentiment", "themes": "Themes", "none": "none",
    },
}  # fmt: skip


def highlight(text: str, evidence: dict[str, list[str]]) -> str:
    """`text` HTML-escaped, each evidence phrase (any case) wrapped in <mark>."""
    spans: list[tuple[int, int]] = []
    for phrases in evidence.values():
        for phrase in phrases:
            if phrase.strip():
                spans += [m.span() for m in re.finditer(re.escape(phrase), text, re.IGNORECASE)]
    merged: list[list[int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    out, at = [], 0
    for start, end in merged:
        out += [html.escape(text[at:start]), f"<mark>{html.escape(text[start:end])}</mark>"]
        at = end
    return "".join(out) + html.escape(text[at:])


def render_page(ctx: ReviewContext, listing: dict[str, Any], wanted: QuoteFilter) -> str:
    """The whole page for one listing (its first `review.page_size` quotes)."""
    from jinja2 import Environment, PackageLoader, select_autoescape

    env = Environment(
        loader=PackageLoader("pipeline.review", "templates"),
        autoescape=select_autoescape(["html", "j2"], default=True),
    )
    language = ctx.settings.report.language
    taxonomy = ctx.taxonomy
    themes = [
        {"code": c, "label": taxonomy.label(c, language), "threat": c in taxonomy.threatened}
        for c in taxonomy.codes
    ]
    quotes = listing["quotes"][: ctx.settings.review.page_size]
    for quote in quotes:
        quote["marked"] = highlight(quote["text"], quote["evidence"])
    setup = {"themes": themes, "token": ctx.token or "", "words": WORDS[language],
             "threat": sorted(taxonomy.threatened)}  # fmt: skip
    return env.get_template("review.html.j2").render(
        t=WORDS[language],
        lang=language,
        listing=listing,
        quotes=quotes,
        themes=themes,
        labels={c["code"]: c["label"] for c in themes},
        wanted=wanted,
        audio=ctx.settings.review.audio,
        token=ctx.token or "",
        setup=json.dumps(setup, ensure_ascii=False).replace("</", "<\\/"),
        data=lambda q: json.dumps(
            {
                k: q[k]
                for k in ("id", "sentiment", "threatened", "themes", "theme_scores", "review")
            },
            ensure_ascii=False,
        ),
    )
