"""Report stage: everything the HTML report shows, from the store (whole or one agency)."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd

from pipeline import __version__
from pipeline.classify.taxonomy import Taxonomy, load_taxonomy
from pipeline.config import ReportConfig, Settings
from pipeline.errors import AscoltoError, NoRunYet
from pipeline.files import write_atomic
from pipeline.ingest import normalise_id
from pipeline.records import Period
from pipeline.report.charts import (
    empathy_vs_recovery,
    losses,
    monthly_trend,
    themes_by_agency,
    topics_by_month,
)
from pipeline.report.html import LABELS, ReportData, render_html
from pipeline.review.apply import agreement
from pipeline.scoring import agency_scorecard
from pipeline.stages.keys import StageKeys
from pipeline.stages.scoring import interviews_frame
from pipeline.stages.topics import topic_names
from pipeline.stats import case_table, findings, sentence
from pipeline.store import Store
from pipeline.topics import LemmaTokenizer, readable_label

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


def agency_report_path(
    data_dir: Path, agency: str, period: Period = (None, None), language: str = "it"
) -> Path:
    """Where the agency-report flow writes one agency's report for a period, in a language.

    The language is in the name (`agency-AG02-it.html`), so an English run keeps the Italian one.
    """
    dates = "".join(f"_{d.isoformat()}" if d else "_" for d in period).rstrip("_")
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in agency)[:64] or "agency"
    lang = "".join(c for c in language if c.isalnum())[:8] or "it"
    return data_dir / "reports" / f"agency-{safe}{dates}-{lang}.html"


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

    With `agency`, the report is for that agency alone: the other agencies are pooled into one
    anonymous benchmark row when there are enough of them (`report.benchmark_min_agencies`,
    `report.benchmark_min_interviews` in the period), else they are left out entirely and the
    report says why. Nothing names or quotes another agency, and its topics are described by its
    own customers' words only. With `period` (first and last interview date, either open), only
    interviews in it count, and only the cases they belong to.
    """
    lang = language or settings.report.language
    labels = LABELS[lang]
    taxonomy = load_taxonomy(settings.themes_file)
    interviews = _in_period(
        interviews_frame(store, keys, settings.themes_file), "interview_date", period
    )
    cases = store.cases()
    if period != (None, None):
        cases = cases[cases["case_id"].isin(interviews["case_id"])]
    views = store.topic_utterances(topics_key_, keys.classify)
    if agency is not None and "interview_date" in views.columns:
        views = _in_period(views, "interview_date", period)  # the same interviews as the pool's
    else:
        views = _in_period(views, "month", (_month(period[0]), period[1]))
    trend = interviews
    benchmark_note = ""
    if agency is not None:
        known = set(interviews["agency_id"]) | set(cases["agency_id"])
        agency = agency if agency in known else normalise_id(agency)  # as ingest stored it
        if agency not in known:
            raise UnknownAgency(f"agency {agency!r} not in the store; known: {sorted(known)}")
        if _enough_others(interviews, cases, agency, settings.report):
            trend = _pool_others(_months_with_enough_others(interviews, agency, settings), agency)
            interviews, cases = _pool_others(interviews, agency), _pool_others(cases, agency)
            views = _pool_others(views, agency)
        else:  # one agency, or a handful of interviews, would be recognisable: leave them out
            benchmark_note = labels["benchmark_hidden"].format(
                benchmark=labels["benchmark"],
                agencies=settings.report.benchmark_min_agencies,
                interviews=settings.report.benchmark_min_interviews,
            )
            interviews, cases, views = (
                _only(frame, agency) for frame in (interviews, cases, views)
            )
            trend = interviews
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
    if agency is None:
        topics = [
            dict(r, label=names.get(int(r["topic_id"]), r["label"]), quotes=json.loads(r["quotes"]))
            | _topic_view(views, int(r["topic_id"]), agencies)
            for r in info.to_dict(orient="records")
        ]
        topic_views = views
    else:
        topic_views = _only(views, agency)
        topics = _agency_topics(
            store, keys, info, names, views, agency, agencies, settings,
            keep_empty=not benchmark_note,
        )  # fmt: skip
    shown = _clipped(
        scorecard.assign(
            agency_id=scorecard["agency_id"].replace({BENCHMARK_ID: labels["benchmark"]})
        )
    )
    charts = {
        "scatter": empathy_vs_recovery(shown, labels, first=True, bundle=settings.report.plotly_js),
        "themes": themes_by_agency(theme_rows, shown["agency_id"].tolist(), first=False),
        "trend": monthly_trend(
            trend, {BENCHMARK_ID: labels["benchmark"]}, labels, first=False, language=lang
        ),
        "losses": losses(shown, labels, first=False, language=lang),
    }
    if topics:
        topic_rows = [
            {"label": f"{t['topic_id']} · {t['label']}", "threat": False, "shares": t["shares"]}
            for t in topics
        ]
        charts["topics"] = themes_by_agency(topic_rows, shown["agency_id"].tolist(), first=False)
        charts["topics_trend"] = topics_by_month(
            topic_views, {t["topic_id"]: t["label"] for t in topics}, language=lang
        )
    quarantine = store.quarantine(run_id)[["source", "row_number", "reason"]]
    warnings = store.warnings(run_id)[["source", "row_number", "message"]]
    meta = _report_meta(store, keys, interviews, model, topics_key_, run_id, notice)
    if agency is not None:  # the agency's (and the pool's) utterances, not the whole store's
        meta["n_utterances"] = int(interviews["n_utterances"].fillna(0).sum())
    note = str(model["note"].iloc[0]) if len(model) else ""
    if note and labels["no_topics_fitted"]:  # the topic stage writes its note in English
        note = labels["no_topics_fitted"]
    return ReportData(
        scorecard=shown,
        theme_rows=theme_rows,
        topics=topics,
        verbatims=verbatims,
        meta=meta,
        # the note counts every agency's utterances: an agency's report gives no figure
        topics_note=note if agency is None else labels["no_topics"],
        quarantine=quarantine.to_dict(orient="records") if agency is None else [],
        warnings=_warning_rows(warnings) if agency is None else [],
        findings=found,
        charts=charts,
        benchmark_note=benchmark_note,
        agency=agency,
        min_interviews=settings.scoring.min_interviews,
        retrain_margin=settings.report.retrain_margin,
        review=agreement(store, keys.classify, keys.transcript, agency),
    )


def _clipped(scorecard: pd.DataFrame) -> pd.DataFrame:
    """Intervals clipped to their scale: 0..100 for the empathy index, 0..1 for shares."""
    out = scorecard.copy()
    for name in ("threatened_rate", "negative_rate", "recovery_rate_count", "churn_rate"):
        for end in ("low", "high"):
            if f"{name}_{end}" in out:
                out[f"{name}_{end}"] = out[f"{name}_{end}"].astype(float).clip(0.0, 1.0)
    for end in ("low", "high"):
        if f"empathy_index_{end}" in out:
            out[f"empathy_index_{end}"] = out[f"empathy_index_{end}"].astype(float).clip(0, 100)
    return out


def _warning_rows(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Warnings as dicts, the row number an int (None when the warning is about a whole file)."""
    return [
        {
            "source": str(row["source"]),
            "row_number": None if pd.isna(row["row_number"]) else int(row["row_number"]),
            "message": str(row["message"]),
        }
        for row in frame.to_dict(orient="records")
    ]


def _enough_others(
    interviews: pd.DataFrame, cases: pd.DataFrame, agency: str, report: ReportConfig
) -> bool:
    """True when the other agencies can be pooled without any one of them being recognisable.

    At least `benchmark_min_agencies` of them among the interviews (and among the cases, when
    there are any: the recovery figures come from those), and `benchmark_min_interviews`.
    """
    mine = interviews[interviews["agency_id"] != agency]
    outcomes = cases[cases["agency_id"] != agency]
    pooled = mine["agency_id"].nunique()
    if len(outcomes):
        pooled = min(pooled, outcomes["agency_id"].nunique())
    return pooled >= report.benchmark_min_agencies and len(mine) >= report.benchmark_min_interviews


def _months_with_enough_others(
    interviews: pd.DataFrame, agency: str, settings: Settings
) -> pd.DataFrame:
    """The interviews less the other agencies' in months where their pool is too small.

    The monthly trend plots one benchmark point per month: each must rest on enough agencies and
    interviews itself, or a month with one other agency would show exactly its figures.
    """
    month = pd.to_datetime(interviews["interview_date"]).dt.to_period("M")
    others = interviews["agency_id"] != agency
    no_cases = interviews.iloc[0:0]
    enough = {
        m
        for m, part in interviews[others].groupby(month[others])
        if _enough_others(part, no_cases, agency, settings.report)
    }
    return interviews[~others | month.isin(enough)]


def _only(frame: pd.DataFrame, agency: str) -> pd.DataFrame:
    return frame[frame["agency_id"] == agency]


def _agency_topics(
    store: Store,
    keys: StageKeys,
    info: pd.DataFrame,
    names: dict[int, str],
    views: pd.DataFrame,
    agency: str,
    agencies: list[str],
    settings: Settings,
    keep_empty: bool,
) -> list[dict[str, Any]]:
    """The topics as the agency's own customers put them, most frequent first.

    A topic's words (and, without an analyst's name, its label) are the content words most of
    the agency's own utterances in it use: the fitted ones come from every agency's customers.
    Below `report.topic_words_min_utterances` utterances no words are given; no example is
    quoted. Topics the agency has no utterance in are kept only beside a benchmark.
    """
    own = _only(views, agency)
    texts = store.customer_utterances(keys.transcript)[["recording_id", "utt_idx", "text"]]
    own = own.merge(texts, on=["recording_id", "utt_idx"], how="left").sort_values(
        ["recording_id", "utt_idx"]
    )
    tokenizer = LemmaTokenizer()
    topics = []
    for topic_id in info["topic_id"].astype(int):
        mine = own[own["topic_id"] == topic_id]
        if mine.empty and not keep_empty:
            continue
        words = []
        if len(mine) >= settings.report.topic_words_min_utterances:
            words = _common_words(mine["text"].dropna().astype(str).tolist(), tokenizer)
        topics.append(
            {
                "topic_id": topic_id,
                "label": names.get(topic_id) or readable_label(words) or "–",
                "size": len(mine),
                "top_words": ", ".join(words),
                "quotes": [],
            }
            | _topic_view(views, topic_id, agencies, agency)
        )
    return sorted(topics, key=lambda t: -t["size"])


def _common_words(texts: list[str], tokenizer: LemmaTokenizer, top: int = 8) -> list[str]:
    """Content words in the most of `texts` (ties: first said first), as customers said them."""
    counts: Counter[str] = Counter()
    for text in texts:
        counts.update(dict.fromkeys(tokenizer(text), 1))
    return [tokenizer.display(word) for word, _ in counts.most_common(top)]


def _topic_view(
    views: pd.DataFrame, topic_id: int, agencies: list[str], agency: str | None = None
) -> dict[str, Any]:
    """Share of each agency's interviews with the topic, and how its utterances were labelled.

    With `agency`, the labels are those of its own utterances only.
    """
    mine = views[views["topic_id"] == topic_id]
    shares = []
    for name in agencies:
        interviews = views.loc[views["agency_id"] == name, "recording_id"].nunique()
        with_topic = mine.loc[mine["agency_id"] == name, "recording_id"].nunique()
        shares.append(with_topic / interviews if interviews else None)
    if agency is not None:
        mine = mine[mine["agency_id"] == agency]
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
