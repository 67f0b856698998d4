"""Report stage: everything the HTML report shows, from the store (whole or one agency)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd

from pipeline import __version__
from pipeline.classify.taxonomy import Taxonomy, load_taxonomy
from pipeline.config import Settings
from pipeline.errors import AscoltoError, NoRunYet
from pipeline.files import write_atomic
from pipeline.records import Period
from pipeline.report.charts import (
    empathy_vs_recovery,
    losses,
    monthly_trend,
    themes_by_agency,
    topics_by_month,
)
from pipeline.report.html import LABELS, ReportData, render_html
from pipeline.scoring import agency_scorecard
from pipeline.stages.keys import StageKeys
from pipeline.stages.scoring import interviews_frame
from pipeline.stages.topics import topic_names
from pipeline.stats import case_table, findings, sentence
from pipeline.store import Store

BENCHMARK_ID = "__others__"


class UnknownAgency(AscoltoError, ValueError):
    """A per-agency report asked for an agency the store does not hold."""


@dataclass(frozen=True)
class LastRun:
    """What the last completed run computed: its stage keys, topics, id and report banner."""

    keys: StageKeys
    topics_key: str
    run_id: str
    notice: str = ""


def last_run(store: Store) -> LastRun:
    """The last completed run of the store; NoRunYet when there is none to build on."""
    last = store.last_completed_run()
    if "keys" not in last or "topics_key" not in last:
        raise NoRunYet(f"no completed run in {store.data_dir}: run process-recordings first")
    return LastRun(
        StageKeys(**last["keys"]),
        str(last["topics_key"]),
        str(last["run_id"]),
        str(last.get("notice") or ""),
    )


def rebuild_report(
    store: Store,
    settings: Settings,
    out: Path,
    agency: str | None = None,
    language: str | None = None,
    period: Period = (None, None),
) -> Path:
    """The report of what the last completed run computed, whatever today's config says.

    `ascolto report` and the agency-report flow both call this.
    """
    last = last_run(store)
    return build_report(
        store, settings, last.keys, last.topics_key, last.run_id, out, last.notice,
        agency=agency, language=language, period=period,
    )  # fmt: skip


def agency_report_path(data_dir: Path, agency: str, period: Period = (None, None)) -> Path:
    """Where the agency-report flow writes one agency's report for a period."""
    dates = "".join(f"_{d.isoformat()}" if d else "_" for d in period).rstrip("_")
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in agency)[:64] or "agency"
    return data_dir / "reports" / f"agency-{safe}{dates}.html"


def _month(day: date | None) -> date | None:
    return day.replace(day=1) if day else None


def _in_period(frame: pd.DataFrame, column: str, period: Period) -> pd.DataFrame:
    """Rows whose date column falls in the period (both ends included, None: open)."""
    first, last = period
    if first is None and last is None:
        return frame
    dates = pd.to_datetime(frame[column]).dt.date
    keep = pd.Series(True, index=frame.index)
    if first is not None:
        keep &= dates >= first
    if last is not None:
        keep &= dates <= last
    return frame[keep.fillna(False).astype(bool)]


def report_data(
    store: Store,
    settings: Settings,
    keys: StageKeys,
    topics_key_: str,
    run_id: str,
    notice: str = "",
    agency: str | None = None,
    language: str | None = None,
    period: Period = (None, None),
) -> ReportData:
    """Everything the report shows, from the store.

    With `agency`, the report is for that agency alone: every other agency is pooled into one
    anonymous benchmark row, and nothing that names or quotes another agency is included.
    With `period` (first and last interview date, either open), only interviews in it count,
    and only the cases they belong to.
    """
    lang = language or settings.report.language
    taxonomy = load_taxonomy(settings.themes_file)
    interviews = _in_period(interviews_frame(store, keys), "interview_date", period)
    cases = store.cases()
    if period != (None, None):
        cases = cases[cases["case_id"].isin(interviews["case_id"])]
    if agency is not None:
        known = set(interviews["agency_id"]) | set(cases["agency_id"])
        if agency not in known:
            raise UnknownAgency(f"agency {agency!r} not in the store; known: {sorted(known)}")
        interviews, cases = _pool_others(interviews, agency), _pool_others(cases, agency)
    scorecard = agency_scorecard(interviews, cases, settings.scoring)
    agencies = scorecard["agency_id"].tolist()
    theme_rows = _theme_rows(interviews, agencies, taxonomy, lang)
    verbatims = _verbatims(interviews[interviews["agency_id"] != BENCHMARK_ID], taxonomy, lang,
                           settings.report.quotes_per_theme)  # fmt: skip
    table = case_table(interviews, cases, settings.scoring.churn_window_days)
    found = [{"key": f.key, "sentence": sentence(f, lang)} for f in findings(table)]
    info = store.topic_info(topics_key_)
    model = store.topic_model(topics_key_)
    names = topic_names(store, settings, topics_key_.rsplit("-", 1)[0])
    views = store.topic_utterances(topics_key_, keys.classify)
    views = _in_period(views, "month", (_month(period[0]), period[1]))
    if agency is not None:
        views = _pool_others(views, agency)
    topics = [
        # topic examples may quote any agency: an agency's own report shows keywords only
        dict(
            r,
            label=names.get(int(r["topic_id"]), r["label"]),
            quotes=json.loads(r["quotes"]) if agency is None else [],
        )
        | _topic_view(views, int(r["topic_id"]), agencies)
        for r in info.to_dict(orient="records")
    ]
    quarantine = store.quarantine(run_id)[["source", "row_number", "reason"]]
    labels = LABELS[lang]
    shown = scorecard.assign(
        agency_id=scorecard["agency_id"].replace({BENCHMARK_ID: labels["benchmark"]})
    )
    charts = {
        "scatter": empathy_vs_recovery(shown, labels, first=True),
        "themes": themes_by_agency(theme_rows, shown["agency_id"].tolist(), first=False),
        "trend": monthly_trend(
            interviews, {BENCHMARK_ID: labels["benchmark"]}, labels, first=False
        ),
        "losses": losses(shown, labels, first=False),
    }
    if topics:
        topic_rows = [
            {"label": f"{t['topic_id']} · {t['label']}", "threat": False, "shares": t["shares"]}
            for t in topics
        ]
        charts["topics"] = themes_by_agency(topic_rows, shown["agency_id"].tolist(), first=False)
        charts["topics_trend"] = topics_by_month(views, {t["topic_id"]: t["label"] for t in topics})
    return ReportData(
        scorecard=shown,
        theme_rows=theme_rows,
        topics=topics,
        verbatims=verbatims,
        meta=_report_meta(store, keys, interviews, model, topics_key_, run_id, notice),
        topics_note=str(model["note"].iloc[0]) if len(model) else "",
        quarantine=quarantine.to_dict(orient="records") if agency is None else [],
        findings=found,
        charts=charts,
    )


def _topic_view(views: pd.DataFrame, topic_id: int, agencies: list[str]) -> dict[str, Any]:
    """Share of each agency's interviews with the topic, and how its utterances were labelled."""
    mine = views[views["topic_id"] == topic_id]
    shares = []
    for agency in agencies:
        interviews = views.loc[views["agency_id"] == agency, "recording_id"].nunique()
        with_topic = mine.loc[mine["agency_id"] == agency, "recording_id"].nunique()
        shares.append(with_topic / interviews if interviews else None)
    return {
        "shares": shares,
        "threatened_share": float(mine["threatened"].mean()) if len(mine) else None,
        "negative_share": float((mine["sentiment"] == "negative").mean()) if len(mine) else None,
    }


def _pool_others(frame: pd.DataFrame, agency: str) -> pd.DataFrame:
    return frame.assign(
        agency_id=frame["agency_id"].where(frame["agency_id"] == agency, BENCHMARK_ID)
    )


def _theme_rows(
    interviews: pd.DataFrame, agencies: list[str], taxonomy: Taxonomy, lang: str
) -> list[dict]:
    rows = []
    for theme in taxonomy.themes:
        shares = []
        for agency in agencies:
            sub = interviews[interviews["agency_id"] == agency]
            has = sub["themes"].map(lambda ts, c=theme.code: c in list(ts))
            shares.append(float(has.mean()) if len(sub) else None)
        rows.append(
            {
                "label": taxonomy.label(theme.code, lang),
                "threat": theme.code in taxonomy.threatened,
                "shares": shares,
            }
        )
    return rows


def _verbatims(
    interviews: pd.DataFrame, taxonomy: Taxonomy, lang: str, per_theme: int
) -> list[dict]:
    blocks = []
    for theme in taxonomy.themes:
        quotes = [
            {"text": text, "agency_id": row["agency_id"]}
            for _, row in interviews.iterrows()
            for text in json.loads(row["quotes"]).get(theme.code, [])
        ]
        if quotes:
            blocks.append({"label": taxonomy.label(theme.code, lang), "quotes": quotes[:per_theme]})
    return blocks


def _report_meta(
    store: Store,
    keys: StageKeys,
    interviews: pd.DataFrame,
    model: pd.DataFrame,
    topics_key_: str,
    run_id: str,
    notice: str,
) -> dict:
    n_utt = store.utterance_label_count(keys.classify)
    models = store.asr_models(keys.transcript)
    return {
        "generated_at": pd.Timestamp.now(tz="UTC").strftime("%Y-%m-%d %H:%M UTC"),
        "n_interviews": len(interviews),
        "n_utterances": int(n_utt),
        "config_hash": keys.classify,
        "notice": notice,
        "provenance": {
            "ascolto": __version__,
            "ASR": "; ".join(f"{b} {m}" for b, m in models.itertuples(index=False)) or "–",
            "transcript key": keys.transcript,
            "classify key": keys.classify,
            "classifier": keys.classifier,
            "embed key": keys.embed,
            "topics": f"{model['method'].iloc[0]} ({topics_key_})" if len(model) else "–",
            "run": run_id,
        },
    }


def build_report(
    store: Store,
    settings: Settings,
    keys: StageKeys,
    topics_key_: str,
    run_id: str,
    out: Path,
    notice: str = "",
    agency: str | None = None,
    language: str | None = None,
    period: Period = (None, None),
) -> Path:
    """Assemble the report data from the store and write the HTML file."""
    data = report_data(store, settings, keys, topics_key_, run_id, notice, agency, language, period)
    return write_atomic(out, render_html(data, language or settings.report.language))
