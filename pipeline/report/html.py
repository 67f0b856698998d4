"""A self-contained HTML report (no external scripts or fonts): scorecard, themes, topics, quotes.

Every text field, agency ids included, goes through Jinja2 autoescaping: metadata is untrusted.
The file is written to a temporary name and renamed, so a crash never leaves half a report.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

LABELS = {
    "it": {
        "title": "ascolto · Rapporto sulle agenzie di recupero",
        "generated": "Generato il",
        "interviews": "Interviste",
        "utterances": "Frasi del cliente",
        "config": "configurazione",
        "scorecard": "Scheda per agenzia",
        "agency": "Agenzia",
        "threatened_rate": "Si è sentito minacciato",
        "negative_rate": "Sentimento negativo",
        "empathy_index": "Indice di empatia",
        "cases": "Pratiche",
        "recovery_rate": "Tasso di recupero (pratiche)",
        "recovery_amount": "Tasso di recupero (importo)",
        "median_days": "Giorni al pagamento (mediana)",
        "nps": "NPS",
        "churned": "Clienti persi",
        "value_lost": "Valore annuo perso",
        "insufficient": "dati insufficienti",
        "sufficient": "agenzie con dati sufficienti",
        "benchmark": "Media delle altre agenzie",
        "benchmark_hidden": "Il confronto con la «{benchmark}» non è mostrato: servono almeno "
        "{agencies} altre agenzie e {interviews} interviste tra tutte, nel periodo del rapporto, "
        "perché nessuna agenzia sia riconoscibile.",
        "findings": "L'empatia paga? Cosa dicono i numeri",
        "findings_note": "Regressioni logistiche sulle pratiche intervistate (statsmodels); "
        "intervalli di confidenza al 95%. Associazione, non prova di causalità.",
        "scatter": "Empatia e recupero per agenzia (barre: intervalli al 95%)",
        "ci": "IC 95%",
        "churn_rate": "Quota clienti persi",
        "outstanding": "Importo ancora da recuperare",
        "trend": "Andamento mensile per agenzia",
        "losses": "Clienti persi (numero sulle barre), valore annuo perso e importi aperti",
        "themes": "Temi per agenzia (quota di interviste)",
        "topics_agency": "Argomenti per agenzia (quota di interviste)",
        "topics_month": "Argomenti per mese (quota delle frasi dei clienti)",
        "threatened_share": "% frasi minacciati",
        "negative_share": "% frasi negative",
        "theme": "Tema",
        "topics": "Argomenti emersi (BERTopic)",
        "topic": "Argomento",
        "size": "Frasi",
        "top_words": "Parole chiave",
        "examples": "Esempi",
        "no_topics": "Nessun argomento da mostrare per questa agenzia.",
        "verbatims": "Citazioni (testo anonimizzato; (?) = trascrizione incerta)",
        "quarantine": "Input scartati",
        "source": "File",
        "row": "Riga",
        "reason": "Motivo",
        "warnings": "Avvisi",
        "message": "Messaggio",
        "provenance": "Provenienza dei risultati",
        "definitions": "Minacciato = almeno un tema tra minaccia legale, intimidazione, aggressività, "
        "pressione indebita. Clienti persi = contratto chiuso entro la finestra configurata dal contatto. "
        "Definizioni complete in docs/metrics.md.",
    },
    "en": {
        "title": "ascolto · Collection agency report",
        "generated": "Generated on",
        "interviews": "Interviews",
        "utterances": "Customer utterances",
        "config": "config",
        "scorecard": "Agency scorecard",
        "agency": "Agency",
        "threatened_rate": "Felt threatened",
        "negative_rate": "Negative sentiment",
        "empathy_index": "Empathy index",
        "cases": "Cases",
        "recovery_rate": "Recovery rate (cases)",
        "recovery_amount": "Recovery rate (amount)",
        "median_days": "Median days to pay",
        "nps": "NPS",
        "churned": "Customers lost",
        "value_lost": "Annual value lost",
        "insufficient": "insufficient data",
        "sufficient": "agencies with enough data",
        "benchmark": "Average of the other agencies",
        "benchmark_hidden": "The comparison with the “{benchmark}” is not shown: it needs at least "
        "{agencies} other agencies and {interviews} interviews among them in the report's period, "
        "so that no agency can be recognised.",
        "findings": "Does empathy pay? What the numbers say",
        "findings_note": "Logistic regressions over interviewed cases (statsmodels); 95% "
        "confidence intervals. Association, not proof of cause.",
        "scatter": "Empathy and recovery by agency (bars: 95% intervals)",
        "ci": "95% CI",
        "churn_rate": "Customers lost (share)",
        "outstanding": "Amount still outstanding",
        "trend": "Monthly trend by agency",
        "losses": "Customers lost (count on the bars), annual value lost and amounts outstanding",
        "themes": "Themes by agency (share of interviews)",
        "topics_agency": "Topics by agency (share of interviews)",
        "topics_month": "Topics by month (share of customer utterances)",
        "threatened_share": "% utterances threatened",
        "negative_share": "% utterances negative",
        "theme": "Theme",
        "topics": "Emerging topics (BERTopic)",
        "topic": "Topic",
        "size": "Utterances",
        "top_words": "Top words",
        "examples": "Examples",
        "no_topics": "No topics to show for this agency.",
        "verbatims": "Quotes (redacted text; (?) = uncertain transcription)",
        "quarantine": "Rejected inputs",
        "source": "File",
        "row": "Row",
        "reason": "Reason",
        "warnings": "Warnings",
        "message": "Message",
        "provenance": "Provenance",
        "definitions": "Threatened = any of legal threat, intimidation, aggression, undue pressure. "
        "Customers lost = contract ended within the configured window after the contact. "
        "Full definitions in docs/metrics.md.",
    },
}


@dataclass
class ReportData:
    """Everything the report shows, already computed and redacted."""

    scorecard: pd.DataFrame
    theme_rows: list[dict[str, Any]]
    topics: list[dict[str, Any]]
    verbatims: list[dict[str, Any]]
    meta: dict[str, Any]
    topics_note: str = ""
    quarantine: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[dict[str, Any]] = field(default_factory=list)
    findings: list[dict[str, Any]] = field(default_factory=list)
    charts: dict[str, str] = field(default_factory=dict)
    benchmark_note: str = ""  # why an agency's report shows no benchmark ("": shown, or none)


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _pct(value: Any) -> str:
    return "–" if _missing(value) else f"{100 * value:.0f}%"


def _num(value: Any, digits: int = 1) -> str:
    return "–" if _missing(value) else f"{value:.{digits}f}"


def _eur(value: Any) -> str:
    return "–" if _missing(value) else f"€ {value:,.0f}".replace(",", ".")


def _ci(row: dict[str, Any], name: str, percent: bool = True) -> str:
    low, high = row.get(f"{name}_low"), row.get(f"{name}_high")
    if _missing(low) or _missing(high):
        return ""
    fmt = _pct if percent else (lambda v: _num(v, 0))
    return f"{fmt(low)}–{fmt(high)}"


def _barw(value: Any) -> float:
    return 0.0 if _missing(value) else round(60 * float(value), 1)


def render_html(data: ReportData, language: str = "it") -> str:
    """Render the report to an HTML string."""
    from jinja2 import Environment, PackageLoader, select_autoescape

    env = Environment(
        loader=PackageLoader("pipeline.report", "templates"),
        autoescape=select_autoescape(["html", "j2"], default=True),
    )
    env.filters.update(pct=_pct, num=_num, eur=_eur, barw=_barw, ci=_ci)
    template = env.get_template("report.html.j2")
    return template.render(
        t=LABELS[language],
        lang=language,
        agencies=data.scorecard.to_dict(orient="records"),
        theme_rows=data.theme_rows,
        topics=data.topics,
        topics_note=data.topics_note,
        verbatims=data.verbatims,
        quarantine=data.quarantine,
        warnings=data.warnings,
        benchmark_note=data.benchmark_note,
        meta=data.meta,
        findings=data.findings,
        charts=data.charts,
    )
