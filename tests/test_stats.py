"""Case-level statistics: odds ratios against hand-computed values and honest sentences."""

import numpy as np
import pandas as pd
import pytest

from pipeline.stats import case_table, findings, italian_articles, sentence


def _table(groups: list[tuple[int, int, int]], amount_spread: bool = False) -> pd.DataFrame:
    """Rows from (threatened, paid, count) triples; churned mirrors not paid."""
    rows = []
    for threatened, paid, count in groups:
        rows += [{"threatened": threatened, "paid": paid, "churned": 1 - paid}] * count
    table = pd.DataFrame(rows)
    table["empathy_10"] = np.where(table["threatened"] == 1, 3.0, 7.0)
    rng = np.random.default_rng(0)  # amounts unrelated to payment
    spread = rng.permutation(np.linspace(4, 6, len(table))) if amount_spread else 5.0
    return table.assign(log_amount=spread, log_value=6.0, agency_id="A", case_id=range(len(table)))


def test_odds_ratio_matches_the_2x2_table():
    # threatened: 3 paid, 7 not; others: 8 paid, 2 not -> OR = (3/7) / (8/2) = 0.1071
    table = _table([(1, 1, 3), (1, 0, 7), (0, 1, 8), (0, 0, 2)])
    payment = findings(table)[0]
    assert payment.odds_ratio == pytest.approx((3 / 7) / (8 / 2), rel=1e-4)
    assert payment.ci_low < payment.odds_ratio < payment.ci_high
    assert payment.rate_exposed == 0.3 and payment.rate_unexposed == 0.8
    assert payment.significant
    text = sentence(payment, "it")
    assert "30%" in text and "80%" in text and "non è" not in text
    assert "odds ratio 0,11" in text


def test_no_difference_is_called_not_significant():
    table = _table([(1, 1, 6), (1, 0, 6), (0, 1, 6), (0, 0, 6)], amount_spread=True)
    payment = findings(table)[0]
    assert payment.odds_ratio == pytest.approx(1.0, abs=0.2) and not payment.significant
    assert "not statistically significant" in sentence(payment, "en")
    assert "non è statisticamente significativa" in sentence(payment, "it")


def test_separation_falls_back_to_fishers_exact_test():
    # nobody who felt safe churned: the odds ratio is infinite
    table = _table([(1, 1, 4), (1, 0, 8), (0, 1, 12)])
    churn = findings(table)[1]
    assert churn.test == "fisher" and churn.odds_ratio is None and churn.significant
    assert "Fisher" in sentence(churn, "en")


def test_too_few_cases_or_an_empty_group_give_no_number():
    few = findings(_table([(1, 1, 2), (1, 0, 2), (0, 1, 2), (0, 0, 2)]))[0]
    assert few.p_value is None and "meno di 10 pratiche" in sentence(few, "it")
    nobody_safe = findings(_table([(1, 1, 6), (1, 0, 6)]))[0]
    assert nobody_safe.p_value is None and "gruppi è vuoto" in sentence(nobody_safe, "it")


def test_case_table_joins_interviews_to_outcomes():
    interviews = pd.DataFrame(
        {
            "case_id": ["K1", "K1", "K2"],
            "threatened": [False, True, False],
            "empathy_score": [80.0, 40.0, 90.0],
        }
    )
    cases = pd.DataFrame(
        {
            "case_id": ["K1", "K2", "K3"],
            "agency_id": ["A", "B", "B"],
            "amount_due_eur": [100.0, 200.0, 50.0],
            "amount_recovered_eur": [0.0, 200.0, 0.0],
            "due_date": ["2026-01-01"] * 3,
            "contract_ended_date": ["2026-02-01", None, None],
            "annual_value_eur": [500.0, 600.0, 700.0],
        }
    )
    table = case_table(interviews, cases, churn_window_days=90).set_index("case_id")
    assert list(table.index) == ["K1", "K2"]  # K3 was never interviewed
    assert table.loc["K1", "threatened"] == 1 and table.loc["K1", "empathy_10"] == 6.0
    assert table.loc["K1", "churned"] == 1 and table.loc["K2", "paid"] == 1


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("pagato nel 0% dei casi, gli altri nel 8%", "pagato nello 0% dei casi, gli altri nell'8%"),
        ("nel 11%, nel 1% e nel 80%", "nell'11%, nell'1% e nell'80%"),
        ("nel 5%, nel 18% e nel 100%", "nel 5%, nel 18% e nel 100%"),
        ("nel 2024 e nel 0,5 %", "nel 2024 e nello 0,5 %"),
    ],
)
def test_italian_article_before_a_percentage_follows_how_it_is_read(text, expected):
    assert italian_articles(text) == expected
