import pandas as pd

from pipeline.report.charts import empathy_vs_recovery
from pipeline.report.html import LABELS, ReportData, render_html


def _data(agency: str, quote: str) -> ReportData:
    scorecard = pd.DataFrame(
        [
            {
                "agency_id": agency,
                "interviews": 3,
                "cases": 6,
                "recovery_rate_count": 0.5,
                "recovery_rate_amount": None,
                "median_days_to_recover": None,
                "threatened_rate": 1 / 3,
                "negative_rate": 0.0,
                "empathy_index": 61.0,
                "nps": None,
                "churned": 1,
                "churn_rate": 0.25,
                "churn_rate_low": 0.05,
                "churn_rate_high": 0.7,
                "recovery_rate_count_low": 0.15,
                "recovery_rate_count_high": 0.85,
                "empathy_index_low": 40.0,
                "empathy_index_high": 80.0,
                "value_lost_eur": 900.0,
                "outstanding_eur": 10.0,
                "sufficient": False,
            }
        ]
    )
    return ReportData(
        scorecard=scorecard,
        theme_rows=[],
        topics=[],
        verbatims=[{"label": "Cortesia", "quotes": [{"text": quote, "agency_id": agency}]}],
        meta={
            "generated_at": "now",
            "n_interviews": 3,
            "n_utterances": 9,
            "config_hash": "x",
            "notice": "",
            "provenance": {"run": "r1"},
        },
        topics_note="no topics",
    )


def test_hostile_metadata_and_quotes_are_escaped():
    hostile = "</script><script>alert(1)</script>"
    data = _data(hostile, "<img src=x onerror=alert(1)>")
    data.charts = {"scatter": empathy_vs_recovery(data.scorecard, LABELS["it"], first=True)}
    html = render_html(data)
    assert "<script>alert" not in html and "<img src=x" not in html
    assert "&lt;script&gt;" in html
    assert "\\u003cscript\\u003ealert" in html  # inside the chart's JSON, escaped by plotly
    assert "15%–85%" in html  # the recovery interval is shown (6 cases: enough)


def test_both_languages_render_the_scorecard():
    it = render_html(_data("AG1", "ok"), "it")
    en = render_html(_data("AG1", "ok"), "en")
    assert "Si è sentito minacciato" in it and "33%" in it and "dati insufficienti" in it
    assert "Felt threatened" in en and "insufficient data" in en
    assert "http" not in it.split("<body>")[0]  # no external scripts or styles
