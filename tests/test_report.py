import pandas as pd

from pipeline.report import ReportData, render_html


def _data(agency: str, quote: str) -> ReportData:
    scorecard = pd.DataFrame(
        [
            {
                "agency_id": agency,
                "interviews": 3,
                "cases": 4,
                "recovery_rate_count": 0.5,
                "recovery_rate_amount": None,
                "median_days_to_recover": None,
                "threatened_rate": 1 / 3,
                "negative_rate": 0.0,
                "empathy_index": 61.0,
                "nps": None,
                "churned": 1,
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
    html = render_html(_data("<script>alert(1)</script>", "<img src=x onerror=alert(1)>"))
    assert "<script>alert" not in html and "<img src=x" not in html
    assert "&lt;script&gt;" in html


def test_both_languages_render_the_scorecard():
    it = render_html(_data("AG1", "ok"), "it")
    en = render_html(_data("AG1", "ok"), "en")
    assert "Si è sentito minacciato" in it and "33%" in it and "dati insufficienti" in it
    assert "Felt threatened" in en and "insufficient data" in en
    assert "http" not in it.split("<body>")[0]  # no external scripts or styles
