"""A self-contained HTML report (no external scripts or fonts): scorecard, themes, topics, quotes.

Every text field, agency ids included, goes through Jinja2 autoescaping: metadata is untrusted.
The file is written to a temporary name and renamed, so a crash never leaves half a report.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from pipeline.report.review_labels import REVIEW_LABELS

LABELS = {
    "it": {
        "title": "ascolto · Rapporto sulle agenzie di recupero",
        "agency_title": "Rapporto per l'agenzia {agency}",
        "headline": "In breve",
        "best": "Chi recupera di più con meno clienti minacciati: {agency} (recupero {recovery} "
        "delle pratiche, minacciati {threatened} degli intervistati).",
        "worst": "Più clienti minacciati: {agency}, {threatened} degli intervistati; clienti "
        "persi {churned}, valore annuo {value}.",
        "no_ranking": "Nessuna classifica: nessuna agenzia ha almeno {n} interviste.",
        "agency_phrase": "Clienti che si sono sentiti minacciati {threatened} ({k} su {n} "
        "intervistati{ci}); recupero {recovery} delle pratiche ({paid} su {cases}); clienti persi "
        "{churned}, valore annuo {value}.",
        "ci_short": ", IC 95% {low}–{high}",
        "action_reward": "Da premiare",
        "action_monitor": "Da monitorare",
        "action_retrain": "Da formare",
        "action_none": "Nessun confronto",
        "action_insufficient": "Non classificata (dati insufficienti: meno di {n} interviste)",
        "why_reward": "minacciati {threatened} contro {others} delle altre, recupero {recovery} "
        "contro {others_recovery}",
        "why_retrain": "minacciati {threatened} contro {others} delle altre, oltre {margin} punti "
        "in più",
        "why_monitor": "minacciati {threatened} contro {others} delle altre, recupero {recovery} "
        "contro {others_recovery}",
        "why_none": "non ci sono altre agenzie con dati sufficienti da confrontare",
        "rule": "Regola: da premiare chi ha una quota di minacciati non superiore e un tasso di "
        "recupero non inferiore alla media delle altre agenzie con dati sufficienti; da formare "
        "chi supera quella quota di minacciati di oltre {margin} punti; da monitorare le altre. "
        "Le agenzie con meno di {n} interviste non sono classificate.",
        "no_topics_fitted": "Nessun argomento stimato: le frasi dei clienti sono troppo poche o "
        "troppo simili (vedi topics.min_utterances e topics.min_words).",
        "generated": "Generato il",
        "interviews": "Interviste",
        "utterances": "Frasi del cliente",
        "config": "configurazione",
        "scorecard": "Scheda per agenzia",
        "agency": "Agenzia",
        "threatened_rate": "Si è sentito minacciato",
        "uncertain": "%d frasi incerte, da verificare",
        "uncertain_help": "Frasi che il modello non sa etichettare con sicurezza (lontane dai "
        "testi di addestramento o con indizi contrastanti): mai contate tra i minacciati.",
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
        "agency_title": "Report for agency {agency}",
        "headline": "At a glance",
        "best": "Recovers most with fewest customers feeling threatened: {agency} (recovery "
        "{recovery} of cases, threatened {threatened} of those interviewed).",
        "worst": "Most customers feeling threatened: {agency}, {threatened} of those interviewed; "
        "customers lost {churned}, annual value {value}.",
        "no_ranking": "No ranking: no agency has at least {n} interviews.",
        "agency_phrase": "Felt threatened {threatened} ({k} of {n} interviewed{ci}); recovery "
        "{recovery} of cases ({paid} of {cases}); customers lost {churned}, annual value {value}.",
        "ci_short": ", 95% CI {low}–{high}",
        "action_reward": "Reward",
        "action_monitor": "Monitor",
        "action_retrain": "Retrain",
        "action_none": "No comparison",
        "action_insufficient": "Not ranked (insufficient data: fewer than {n} interviews)",
        "why_reward": "threatened {threatened} against {others} for the others, recovery "
        "{recovery} against {others_recovery}",
        "why_retrain": "threatened {threatened} against {others} for the others, more than "
        "{margin} points above",
        "why_monitor": "threatened {threatened} against {others} for the others, recovery "
        "{recovery} against {others_recovery}",
        "why_none": "no other agency with enough data to compare with",
        "rule": "Rule: reward an agency whose threatened share is no higher, and recovery rate no "
        "lower, than the average of the other agencies with enough data; retrain one whose "
        "threatened share exceeds that average by more than {margin} points; monitor the rest. "
        "Agencies with fewer than {n} interviews are not ranked.",
        "no_topics_fitted": "",
        "generated": "Generated on",
        "interviews": "Interviews",
        "utterances": "Customer utterances",
        "config": "config",
        "scorecard": "Agency scorecard",
        "agency": "Agency",
        "threatened_rate": "Felt threatened",
        "uncertain": "%d uncertain utterances, to review",
        "uncertain_help": "Utterances the model cannot label with confidence (unlike its "
        "training text, or cues and model disagreeing): never counted as threatened.",
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

PROVENANCE_LABELS = {
    "it": {
        "ascolto": "ascolto",
        "ASR": "Trascrizione (ASR)",
        "transcript key": "chiave della trascrizione",
        "classify key": "chiave della classificazione",
        "classifier": "classificatore",
        "embed key": "chiave degli embedding",
        "topics": "argomenti",
        "run": "esecuzione",
    },
    "en": {},
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
    agency: str | None = None  # the agency an agency's report is for (None: whole company)
    min_interviews: int = 5  # scoring.min_interviews: below it no interval, no ranking
    retrain_margin: float = 0.10  # report.retrain_margin: the headline's "retrain" rule
    review: dict[str, Any] = field(default_factory=dict)  # analysts' agreement (review.apply)


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _pct(value: Any) -> str:
    return "–" if _missing(value) else f"{100 * value:.0f}%"


def _num(value: Any, digits: int = 1) -> str:
    return "–" if _missing(value) else f"{value:.{digits}f}"


def _eur(value: Any, language: str = "it") -> str:
    """Euros without cents: "12.929 €" in Italian, "€12,929" in English."""
    if _missing(value):
        return "–"
    if language == "it":
        return f"{value:,.0f}".replace(",", ".") + "\u00a0€"  # no line break before €
    return f"€{value:,.0f}"


# The sample behind each interval: interview-based figures and case-based ones.
_SAMPLE = {
    "threatened_rate": "interviews",
    "negative_rate": "interviews",
    "empathy_index": "interviews",
    "recovery_rate_count": "cases",
    "churn_rate": "cases",
}
_SCALE = {"empathy_index": (0.0, 100.0)}  # every other interval is a share, 0..1


def clip_interval(name: str, low: Any, high: Any) -> tuple[Any, Any]:
    """An interval clipped to its scale (0..100 for the empathy index, 0..1 for shares)."""
    lo, hi = _SCALE.get(name, (0.0, 1.0))
    if _missing(low) or _missing(high):
        return low, high
    return min(max(float(low), lo), hi), min(max(float(high), lo), hi)


def estimable(row: dict[str, Any], name: str, min_n: int) -> bool:
    """True when the sample behind the interval has at least `min_n` interviews (or cases)."""
    n: Any = row.get(_SAMPLE.get(name, "interviews"))
    return not _missing(n) and int(n) >= min_n


def _ci(
    row: dict[str, Any], name: str, percent: bool = True, min_n: int = 1, insufficient: str = ""
) -> str:
    """The 95% interval clipped to its scale, or `insufficient` when the sample is too small."""
    low, high = row.get(f"{name}_low"), row.get(f"{name}_high")
    if _missing(low) or _missing(high):
        return ""
    if not estimable(row, name, min_n):
        return insufficient
    low, high = clip_interval(name, low, high)
    fmt = _pct if percent else (lambda v: _num(v, 0))
    return f"{fmt(low)}–{fmt(high)}"


def _barw(value: Any) -> float:
    return 0.0 if _missing(value) else round(60 * float(value), 1)


def _mean(values: list[Any]) -> float | None:
    known = [float(v) for v in values if not _missing(v)]
    return sum(known) / len(known) if known else None


def _count(share: Any, n: Any) -> int:
    return 0 if _missing(share) or _missing(n) else round(float(share) * int(n))


def headline(
    agencies: list[dict[str, Any]],
    labels: dict[str, str],
    language: str,
    min_n: int,
    margin: float,
    benchmark: str | None = None,
) -> dict[str, Any]:
    """The plain-words summary above the scorecard: who to reward, monitor or retrain.

    Rule (docs/metrics.md): each agency with at least `min_n` interviews is compared with the
    mean of the other agencies with enough data (the benchmark row, in an agency's report).
    Reward: threatened share no higher and recovery rate no lower than theirs. Retrain:
    threatened share more than `margin` above theirs. Monitor: the rest. Agencies below `min_n`
    are never ranked. Every phrase carries the numbers it rests on; an interval only when the
    sample has at least `min_n` interviews.
    """

    def eur(value: Any) -> str:
        return _eur(value, language)

    ranked = [a for a in agencies if a.get("sufficient")]
    own = [a for a in agencies if a["agency_id"] != benchmark]
    rows = []
    for a in own:
        k, n = _count(a.get("threatened_rate"), a.get("interviews")), int(a.get("interviews") or 0)
        ci = ""
        if estimable(a, "threatened_rate", min_n) and not _missing(a.get("threatened_rate_low")):
            low, high = clip_interval(
                "threatened_rate", a.get("threatened_rate_low"), a.get("threatened_rate_high")
            )
            ci = labels["ci_short"].format(low=_pct(low), high=_pct(high))
        phrase = labels["agency_phrase"].format(
            threatened=_pct(a.get("threatened_rate")), k=k, n=n, ci=ci,
            recovery=_pct(a.get("recovery_rate_count")),
            paid=_count(a.get("recovery_rate_count"), a.get("cases")), cases=a.get("cases") or 0,
            churned=a.get("churned") or 0, value=eur(a.get("value_lost_eur")),
        )  # fmt: skip
        others = [o for o in ranked if o["agency_id"] != a["agency_id"]]
        threatened: Any = a.get("threatened_rate")
        recovery: Any = a.get("recovery_rate_count")
        o_threat = _mean([o.get("threatened_rate") for o in others])
        o_recov = _mean([o.get("recovery_rate_count") for o in others])
        values = {
            "threatened": _pct(threatened), "others": _pct(o_threat),
            "recovery": _pct(recovery), "others_recovery": _pct(o_recov),
            "margin": f"{100 * margin:.0f}",
        }  # fmt: skip
        if not a.get("sufficient"):
            action, why = "insufficient", ""
        elif o_threat is None or _missing(threatened):
            action, why = "none", labels["why_none"]
        elif float(threatened) > o_threat + margin:
            action, why = "retrain", labels["why_retrain"].format(**values)
        elif (
            float(threatened) <= o_threat
            and o_recov is not None
            and not _missing(recovery)
            and float(recovery) >= o_recov
        ):
            action, why = "reward", labels["why_reward"].format(**values)
        else:
            action, why = "monitor", labels["why_monitor"].format(**values)
        rows.append(
            {
                "agency_id": a["agency_id"],
                "phrase": phrase,
                "action": action,
                "action_label": labels[f"action_{action}"].format(n=min_n),
                "why": why,
            }
        )
    best = worst = ""
    mine = [a for a in ranked if a["agency_id"] != benchmark]
    if len(mine) >= 2:
        scored = [a for a in mine if not _missing(a.get("threatened_rate"))]
        top = max(
            scored,
            key=lambda a: float(a.get("recovery_rate_count") or 0) - float(a["threatened_rate"]),
            default=None,
        )
        if top is not None:
            best = labels["best"].format(
                agency=top["agency_id"], recovery=_pct(top.get("recovery_rate_count")),
                threatened=_pct(top["threatened_rate"]),
            )  # fmt: skip
        low = max(scored, key=lambda a: float(a["threatened_rate"]), default=None)
        if low is not None:
            worst = labels["worst"].format(
                agency=low["agency_id"], threatened=_pct(low["threatened_rate"]),
                churned=low.get("churned") or 0, value=eur(low.get("value_lost_eur")),
            )  # fmt: skip
    elif not ranked and own:
        best = labels["no_ranking"].format(n=min_n)
    rule = labels["rule"].format(margin=f"{100 * margin:.0f}", n=min_n)
    return {"best": best, "worst": worst, "rows": rows, "rule": rule}


def render_html(data: ReportData, language: str = "it") -> str:
    """Render the report to an HTML string."""
    from jinja2 import Environment, PackageLoader, select_autoescape

    env = Environment(
        loader=PackageLoader("pipeline.report", "templates"),
        autoescape=select_autoescape(["html", "j2"], default=True),
    )
    labels = LABELS[language] | REVIEW_LABELS[language]
    min_n = data.min_interviews

    def ci(row: dict[str, Any], name: str, percent: bool = True) -> str:
        return _ci(row, name, percent, min_n, labels["insufficient"])

    env.filters.update(pct=_pct, num=_num, eur=lambda v: _eur(v, language), barw=_barw, ci=ci)
    template = env.get_template("report.html.j2")
    agencies = data.scorecard.to_dict(orient="records")
    benchmark = labels["benchmark"] if data.agency is not None else None
    names = PROVENANCE_LABELS.get(language, {})
    title = labels["agency_title"].format(agency=data.agency) if data.agency else labels["title"]
    return template.render(
        t=labels,
        lang=language,
        title=title,
        agencies=agencies,
        headline=headline(agencies, labels, language, min_n, data.retrain_margin, benchmark),
        theme_rows=data.theme_rows,
        topics=data.topics,
        topics_note=data.topics_note,
        verbatims=data.verbatims,
        quarantine=data.quarantine,
        warnings=data.warnings,
        benchmark_note=data.benchmark_note,
        meta=data.meta,
        provenance={names.get(k, k): v for k, v in data.meta.get("provenance", {}).items()},
        findings=data.findings,
        charts=data.charts,
        review=data.review,
    )
