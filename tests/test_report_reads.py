"""The report reads as its users need: a headline that decides, intervals on their scale, every
word in the report's language, the agency named in its own report, and a page of known size."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from pipeline.config import load_settings
from pipeline.report.html import LABELS, ReportData, headline, render_html
from pipeline.stages.report import agency_report_path, rebuild_report
from pipeline.store import Store
from tests.conftest import (
    agency_store,
    case_row,
    report_text,
)

# Three agencies of five interviews each (scoring.min_interviews = 5: all ranked), like the demo:
# AG01 threatens and loses customers, AG02 is in between, AG03 is kind and recovers.
FREQS = {"AG01": 200.0, "AG02": 300.0, "AG03": 400.0}
SAID = {
    "AG01": ("Mi hanno minacciato con l'avvocato e il pignoramento della casa.",
             "Chiamavano tutti i giorni con tono aggressivo."),
    "AG02": ("Mi hanno minacciato ma poi abbiamo concordato le rate mensili.",
             "L'operatrice era gentile e le rate sono sostenibili."),
    "AG03": ("L'operatore è stato gentile e mi ha proposto un piano di rate.",
             "Mi ha ascoltato con comprensione, tutto chiaro."),
}  # fmt: skip
DAYS = ["2026-08-04", "2026-08-21", "2026-09-06", "2026-09-18", "2026-10-02"]
# AG01's five lost customers are worth 12.929 € a year between them.
LOST_VALUE = ["2585", "2586", "2586", "2586", "2586"]

# English words of the report's own interface: none may appear in the Italian report's text.
ENGLISH_UI = [
    "customer utterances", "utterances", "no topics fitted", "transcript key", "classify key",
    "embed key", "classifier", "insufficient data", "interviews", "threatened", "recovery",
    "customers lost", "annual value", "agency", "report", "scorecard", "topics", "themes",
    "quotes", "warnings", "provenance", "generated", "reward", "monitor", "retrain", "run",
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    "Download plot", "Zoom", "Autoscale", "Reset axes", "Produced with Plotly",
]  # fmt: skip


def _case(agency: str, i: int, case: str) -> dict:
    if agency == "AG01":  # nobody pays, everybody leaves
        return case_row(case, agency, 900, 0, nps="2", annual_value_eur=LOST_VALUE[i],
                        contract_ended_date="2026-07-15")  # fmt: skip
    if agency == "AG02":
        return case_row(case, agency, 500, 250 * (i % 2), nps="7")
    return case_row(case, agency, 400, 400, nps="10")


@pytest.fixture(scope="module")
def demo_like(tmp_path_factory) -> Path:
    """A store of 15 interviews over three agencies, with topics fitted on them."""
    days = {agency: DAYS for agency in FREQS}
    return agency_store(tmp_path_factory.mktemp("reads"), days, FREQS, SAID, _case)


def _build(data: Path, out: Path, **kwargs) -> str:
    with Store(data, read_only=True) as store:
        rebuild_report(store, load_settings(), out, **kwargs)
    return out.read_text(encoding="utf-8")


def _visible(html: str) -> str:
    """The text a reader sees: no plotly bundle, scripts, styles or tags."""
    text = report_text(html)
    text = re.sub(r"<(script|style)\b.*?</\1>", " ", text, flags=re.DOTALL)
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", text))
    return re.sub(r" (?=[:;,.)])", "", text)  # a tag before punctuation left a space


def _first_screen(html: str) -> str:
    """The page down to the scorecard table: what is read before any scrolling."""
    return _visible(html[: html.index('id="scorecard"')])


def test_the_first_screen_names_the_most_threatening_agency_and_the_money(demo_like, tmp_path):
    html = _build(demo_like, tmp_path / "report.html")
    top = _first_screen(html)
    assert (
        "Più clienti minacciati: AG01, 100% degli intervistati; clienti persi 5, valore annuo 12.929 €"
        in top
    )
    assert "Chi recupera di più con meno clienti minacciati: AG03" in top
    ag01 = re.search(r"AG01 — (.*?) AG02 —", top)
    assert ag01 and "5 su 5 intervistati, IC 95%" in ag01.group(1)  # the numbers behind it
    assert ag01.group(1).startswith("Da formare: minacciati 100%")
    assert re.search(r"AG03 — Da premiare: minacciati 0%", top)
    assert "12.929 €" in _visible(html[html.index('id="scorecard"') :])  # the scorecard too


def test_the_italian_report_has_no_english_ui_words(demo_like, tmp_path):
    html = _build(demo_like, tmp_path / "report.html")
    text = _visible(html)
    found = [w for w in ENGLISH_UI if re.search(rf"(?<![\w-]){re.escape(w)}(?![\w-])", text)]
    assert found == [], found
    assert "set 2026" in html or "ago 2026" in html  # month ticks written in Italian
    assert not re.search(r"\bnel 0%", text)
    english = _visible(_build(demo_like, tmp_path / "report-en.html", language="en"))
    assert "Recovers most with fewest customers feeling threatened: AG03" in english
    assert "€12,929" in english


def test_an_agency_report_names_the_agency_and_the_language(demo_like, tmp_path):
    html = _build(demo_like, tmp_path / "ag02.html", agency="AG02")
    assert "<title>Rapporto per l&#39;agenzia AG02</title>" in html
    assert "<h1>Rapporto per l&#39;agenzia AG02</h1>" in html
    assert "AG01" not in report_text(html) and "AG03" not in report_text(html)
    english = _build(demo_like, tmp_path / "ag02-en.html", agency="AG02", language="en")
    assert "<title>Report for agency AG02</title>" in english
    data = Path("/data")
    assert agency_report_path(data, "AG02").name == "agency-AG02-it.html"
    period = (pd.Timestamp("2026-09-01").date(), pd.Timestamp("2026-09-30").date())
    assert (
        agency_report_path(data, "AG02", period, "en").name
        == "agency-AG02_2026-09-01_2026-09-30-en.html"
    )


def _row(agency: str, interviews: int, threatened: float, recovery: float, **extra) -> dict:
    return {
        "agency_id": agency, "interviews": interviews, "cases": interviews,
        "threatened_rate": threatened, "threatened_rate_low": 0.0, "threatened_rate_high": 1.0,
        "negative_rate": 0.0, "negative_rate_low": 0.0, "negative_rate_high": 0.5,
        "recovery_rate_count": recovery, "recovery_rate_count_low": 0.0,
        "recovery_rate_count_high": 1.0, "recovery_rate_amount": recovery,
        "empathy_index": 62.0, "empathy_index_low": -96.0, "empathy_index_high": 221.0,
        "median_days_to_recover": None, "nps": None, "churned": 1, "churn_rate": 0.5,
        "churn_rate_low": 0.0, "churn_rate_high": 1.0, "value_lost_eur": 12929.0,
        "outstanding_eur": 10.0, "sufficient": interviews >= 5,
    } | extra  # fmt: skip


def _render(rows: list[dict], language: str = "it") -> str:
    data = ReportData(
        scorecard=pd.DataFrame(rows), theme_rows=[], topics=[], verbatims=[],
        meta={"generated_at": "now", "n_interviews": 1, "n_utterances": 1, "config_hash": "x",
              "notice": "", "provenance": {}},
    )  # fmt: skip
    return _visible(render_html(data, language))


def test_intervals_stay_on_their_scale_or_say_insufficient_data():
    text = _render([_row("AG1", 2, 0.5, 0.5)])
    assert "-96" not in text and "221" not in text
    assert "dati insufficienti" in text and "Non classificata" in text
    big = _render([_row("AG1", 40, 0.5, 0.5), _row("AG2", 40, 0.1, 0.9)])
    assert "0–100" in big and "-96" not in big and "221" not in big  # clipped to 0..100
    assert "Nessuna classifica" in _render([_row("AG1", 2, 0.5, 0.5), _row("AG2", 3, 0.1, 0.9)])


def test_the_headline_rule_rewards_monitors_and_retrains():
    labels = LABELS["it"]
    rows = [
        _row("A", 20, 0.10, 0.80),  # fewer threatened, more recovered than the others: reward
        _row("B", 20, 0.50, 0.40),  # far more threatened than the others: retrain
        _row("C", 20, 0.35, 0.70),  # more threatened, but by less than 10 points: monitor
        _row("D", 3, 0.90, 0.10),  # too few interviews: never ranked, never counted as "others"
    ]
    found = {r["agency_id"]: r["action"] for r in headline(rows, labels, "it", 5, 0.10)["rows"]}
    assert found == {"A": "reward", "B": "retrain", "C": "monitor", "D": "insufficient"}
    summary = headline(rows, labels, "it", 5, 0.10)
    assert "A (recupero 80%" in summary["best"] and "B, 50%" in summary["worst"]
    assert "D" not in summary["best"] + summary["worst"]
    alone = headline([_row("A", 20, 0.1, 0.8)], labels, "it", 5, 0.10)["rows"][0]
    assert alone["action"] == "none"


def test_the_page_carries_plotly_once(demo_like, tmp_path):
    html = _build(demo_like, tmp_path / "report.html")
    assert html.count("plotly.js v") <= 2  # one bundle (its banner names the version)
    assert len(re.findall(r"<script>/\*\*", html)) == 1
    size = (tmp_path / "report.html").stat().st_size
    print(f"report size: {size} bytes")
    assert size < 6_000_000


def _with_bundle(bundle: Path):
    settings = load_settings()
    report = settings.report.model_copy(update={"plotly_js": str(bundle)})
    return settings.model_copy(update={"report": report})


def test_a_partial_plotly_bundle_replaces_the_full_one(demo_like, tmp_path):
    import plotly.offline

    version = plotly.offline.get_plotlyjs_version()
    bundle = tmp_path / "plotly-basic.min.js"
    bundle.write_text(f"/**\n* plotly.js (basic - minified) v{version}\n*/\nvar Plotly={{}};\n")
    out = tmp_path / "small.html"
    with Store(demo_like, read_only=True) as store:
        rebuild_report(store, _with_bundle(bundle), out)
    html = out.read_text(encoding="utf-8")
    assert html.count("plotly.js (basic - minified)") == 1 and f"plotly.js v{version}" not in html
    assert out.stat().st_size < 1_000_000  # the figures without the 4.8 MB library
    bundle.write_text("/**\n* plotly.js v1.0.0\n*/\n")
    with Store(demo_like, read_only=True) as store, pytest.raises(ValueError, match="not plotly"):
        rebuild_report(store, _with_bundle(bundle), tmp_path / "wrong.html")


def test_the_default_report_embeds_the_shipped_basic_bundle(demo_like, tmp_path):
    html = _build(demo_like, tmp_path / "report.html")
    assert html.count("plotly.js (basic - minified)") == 1
    assert (tmp_path / "report.html").stat().st_size < 2_000_000  # 4.9 MB with the full one


def test_month_ticks_are_named_in_the_reports_language():
    from pipeline.report.charts import month_ticks

    months = ["2026-09-01", "2026-10-01", "2026-09-01"]
    assert month_ticks(months, "it")["ticktext"] == ["set 2026", "ott 2026"]
    assert month_ticks(months, "en")["ticktext"] == ["Sep 2026", "Oct 2026"]
