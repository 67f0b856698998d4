"""Per-agency reports never reveal another agency: benchmark thresholds, own topic words, warnings."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest

from pipeline.asr.transcribe import FakeTranscriber
from pipeline.config import load_settings
from pipeline.stages.report import BENCHMARK_ID, last_run, rebuild_report, report_data
from pipeline.stages.scoring import interviews_frame
from pipeline.stats import case_table, findings, sentence
from pipeline.store import Store
from tests.conftest import (
    FOLLOW_UP,
    QUESTION,
    agency_store,
    case_row,
    report_text,
    run_flow,
    write_csv,
)

TEXTS = [
    QUESTION,
    "Mi hanno minacciato con l'avvocato e chiamavano tutti i giorni.",
    FOLLOW_UP,
    "Dopo è stata gentile e abbiamo fatto tre rate.",
]
BENCHMARK = "Media delle altre agenzie"

# Three agencies, each with its own tone (so the fake transcriber knows whose customer speaks;
# recordings a few Hz apart, as the same audio twice is rejected) and its own words: AG02 gets
# the report, AG01 and AG03 must stay invisible in it.
FREQS = {"AG01": 200.0, "AG02": 300.0, "AG03": 400.0}
SAID = {
    "AG01": ("Mi hanno minacciato dicendo che finiva davanti al giudice.",
             "Chiamavano tutti i giorni e finiva sempre con il giudice."),
    "AG02": ("Mi hanno minacciato ma poi abbiamo concordato le rate mensili.",
             "L'operatrice era gentile e le rate sono sostenibili."),
    "AG03": ("Mi hanno minacciato con il pignoramento della casa intera.",
             "Parlavano di pignoramento e di ufficiale ogni volta."),
}  # fmt: skip
OTHERS_WORDS = ("giudice", "finiva", "pignoramento", "ufficiale")
OWN_WORDS = ("rate", "gentile", "sostenibili", "operatrice", "concordato", "mensili")
DATES = {
    "AG01": ["2026-08-03", "2026-08-20", "2026-09-02", "2026-09-16", "2026-10-05", "2026-10-19"],
    "AG02": ["2026-09-05", "2026-09-20", "2026-10-10"],
    "AG03": ["2026-09-03", "2026-09-22", "2026-10-01", "2026-10-08", "2026-10-15", "2026-10-29"],
}
SHORT = (date(2026, 9, 15), date(2026, 9, 25))  # AG02 once, AG01 once, AG03 once


def _case(agency: str, i: int, case: str) -> dict:
    if agency == "AG01":  # distinctive figures: nobody pays, everybody leaves
        return case_row(case, agency, 7777, 0, nps="2", annual_value_eur="4321",
                        contract_ended_date="2026-07-15")  # fmt: skip
    if agency == "AG03":
        return case_row(case, agency, 3333, 3333, nps="10")
    return case_row(case, agency, 500, 250 * (i % 2), nps="8")


@pytest.fixture(scope="module")
def three(tmp_path_factory) -> Path:
    """A store of 15 interviews over three agencies, with topics fitted on them."""
    return agency_store(tmp_path_factory.mktemp("agencies"), DATES, FREQS, SAID, _case)


def _report(data: Path, out: Path, **kwargs) -> str:
    with Store(data, read_only=True) as store:
        rebuild_report(store, load_settings(), out, **kwargs)
    return report_text(out.read_text(encoding="utf-8"))


def _data(data: Path, **kwargs):
    with Store(data, read_only=True) as store:
        last = last_run(store)
        built = report_data(store, load_settings(), last.keys, last.topics_key, last.run_id,
                            last.notice, **kwargs)  # fmt: skip
        frame = interviews_frame(store, last.keys)
        cases = store.cases()
    return built, frame, cases


def _section(html: str, anchor: str) -> str:
    """The HTML from `anchor` to the next heading."""
    start = html.index(anchor)
    found = re.search(r"<h[123]", html[start + len(anchor) :])
    return html[start : start + len(anchor) + (found.start() if found else len(html))]


def _assert_only(built, agency: str) -> None:
    """Every figure of the report data is the agency's own."""
    assert built.scorecard["agency_id"].tolist() == [agency]
    assert all(len(row["shares"]) == 1 for row in built.theme_rows)
    assert all(len(t["shares"]) == 1 for t in built.topics)
    assert all(q["agency_id"] == agency for b in built.verbatims for q in b["quotes"])


def _assert_hidden(html: str, others: list[str]) -> None:
    """No row, column, chart trace or name of the pool; one sentence saying why."""
    for other in others:
        assert other not in html
    assert BENCHMARK_ID not in html
    assert f'data-agency="{BENCHMARK}"' not in html
    assert html.count(BENCHMARK) <= 1  # at most once: in the sentence that explains its absence
    assert "non è mostrato" in html and "servono almeno 2 altre agenzie e 10 interviste" in html


def test_one_other_agency_is_never_shown_as_the_benchmark(batch, tmp_path):
    data = tmp_path / "data"
    run_flow(batch, data, FakeTranscriber(TEXTS))
    html = _report(data, tmp_path / "ag1.html", agency="AG1")
    _assert_hidden(html, ["AG2"])
    # AG2's own figures: NPS -100, one customer lost worth € 800, € 200 outstanding
    assert "-100" not in html and "€ 800" not in html and "€ 200" not in html
    assert "Interviste: 2 ·" in html  # the header counts the agency's interviews only
    built, frame, cases = _data(data, agency="AG1")
    _assert_only(built, "AG1")
    assert built.meta["n_interviews"] == 2
    own = case_table(frame[frame["agency_id"] == "AG1"], cases[cases["agency_id"] == "AG1"],
                     load_settings().scoring.churn_window_days)  # fmt: skip
    assert [f["sentence"] for f in built.findings] == [sentence(f) for f in findings(own)]
    english = _report(data, tmp_path / "ag1-en.html", agency=" ag1 ", language="en")  # as stored
    assert english.count("Average of the other agencies") <= 1 and "AG2" not in english
    assert "is not shown" in english and "at least 2 other agencies and 10 interviews" in english


def test_a_short_period_with_two_interviews_hides_the_benchmark(three, tmp_path):
    full = _report(three, tmp_path / "full.html", agency="AG02")
    assert f'data-agency="{BENCHMARK}"' in full and "non è mostrato" not in full
    html = _report(three, tmp_path / "short.html", agency="AG02", period=SHORT)
    _assert_hidden(html, ["AG01", "AG03"])
    # amounts, € and raw; run ids and hashes are hex, so a figure must stand as its own token
    for figure in ("7777", "7.777", "3333", "3.333", "4321", "4.321"):
        assert not re.search(rf"(?<![\w.]){re.escape(figure)}(?![\w])", html), figure
    assert "Interviste: 1 ·" in html
    built, _, _ = _data(three, agency="AG02", period=SHORT)
    _assert_only(built, "AG02")
    assert built.meta["n_interviews"] == 1 and built.meta["n_utterances"] == 2
    assert sum(t["size"] for t in built.topics) == 2  # topics count the period's interviews too


def test_monthly_benchmark_points_need_the_same_pool(three, tmp_path):
    html = _report(three, tmp_path / "full.html", agency="AG02")
    # no month has 10 interviews of the other agencies: the trend shows AG02 alone
    trend = _section(html, 'id="chart-trend"')
    assert "AG02" in trend and BENCHMARK not in trend
    assert "2026-08" not in html  # only AG01 was interviewed in August


def test_topic_words_come_from_the_agency_own_customers(three, tmp_path):
    company = _report(three, tmp_path / "all.html").lower()
    assert any(word in _section(company, 'id="topics"') for word in OTHERS_WORDS)
    for kwargs in ({}, {"period": SHORT}, {"language": "en"}):
        html = _report(three, tmp_path / "ag02.html", agency="AG02", **kwargs).lower()
        for word in OTHERS_WORDS:
            assert word not in html, (kwargs, word)
        topics = _section(html, 'id="topics"')
        # in the short period AG02 has one interview: fewer than 3 utterances per topic, no words
        own = [word for word in OWN_WORDS if word in topics]
        assert own if "period" not in kwargs else not own, kwargs
    built, _, _ = _data(three, agency="AG02")
    assert built.topics and all(t["quotes"] == [] for t in built.topics)
    assert {t["size"] for t in built.topics} <= {0, 3, 6}  # AG02's utterances, not everyone's


def test_run_warnings_are_listed_in_the_company_report_only(batch, tmp_path):
    write_csv(batch["cases"], [row for row in _cases(batch) if row["case_id"] != "K3"])
    data = tmp_path / "data"
    run_flow(batch, data, FakeTranscriber(TEXTS))
    company = report_text((data / "reports" / "report.html").read_text(encoding="utf-8"))
    assert "<h2>Avvisi</h2>" in company and "case K3 (c.wav) has no outcome" in company
    english = _report(data, tmp_path / "en.html", language="en")
    assert "<h2>Warnings</h2>" in english
    alone = _report(data, tmp_path / "ag1.html", agency="AG1")
    assert "Avvisi" not in alone and "no outcome" not in alone


def test_no_warnings_no_section(batch, tmp_path):
    data = tmp_path / "data"
    run_flow(batch, data, FakeTranscriber(TEXTS))
    company = (data / "reports" / "report.html").read_text(encoding="utf-8")
    assert "<h2>Avvisi</h2>" not in company


def _cases(batch) -> list[dict]:
    import csv

    with batch["cases"].open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh))
