import pandas as pd
import pytest

from pipeline.config import ScoringConfig
from pipeline.scoring import agency_scorecard, nps, scorecard_by_period, wilson


def _cases() -> pd.DataFrame:
    frame = pd.DataFrame(
        [
            # agency A: 3 cases, 2 paid; one churned 10 days after contact, one 200 days after (outside)
            {
                "case_id": "1",
                "agency_id": "A",
                "amount_due_eur": 100.0,
                "amount_recovered_eur": 100.0,
                "due_date": "2026-01-01",
                "paid_date": "2026-01-11",
                "contract_ended_date": None,
                "annual_value_eur": 500.0,
                "nps": 10,
                "contact_date": "2026-01-05",
            },
            {
                "case_id": "2",
                "agency_id": "A",
                "amount_due_eur": 300.0,
                "amount_recovered_eur": 50.0,
                "due_date": "2026-01-01",
                "paid_date": "2026-01-31",
                "contract_ended_date": "2026-01-15",
                "annual_value_eur": 700.0,
                "nps": 2,
                "contact_date": "2026-01-05",
            },
            {
                "case_id": "3",
                "agency_id": "A",
                "amount_due_eur": 100.0,
                "amount_recovered_eur": 0.0,
                "due_date": "2026-01-01",
                "paid_date": None,
                "contract_ended_date": "2026-07-25",
                "annual_value_eur": 900.0,
                "nps": None,
                "contact_date": None,
            },
            # agency B: nothing paid, everyone left
            {
                "case_id": "4",
                "agency_id": "B",
                "amount_due_eur": 80.0,
                "amount_recovered_eur": 0.0,
                "due_date": "2026-02-01",
                "paid_date": None,
                "contract_ended_date": "2026-02-10",
                "annual_value_eur": 400.0,
                "nps": None,
                "contact_date": None,
            },
        ]
    )
    return frame.astype({"nps": "float"})


def _interviews() -> pd.DataFrame:
    return pd.DataFrame(
        [
            {"agency_id": "A", "threatened": False, "sentiment": "positive", "empathy_score": 80.0},
            {"agency_id": "A", "threatened": True, "sentiment": "negative", "empathy_score": 20.0},
            {"agency_id": "B", "threatened": True, "sentiment": "negative", "empathy_score": 25.0},
        ]
    )


def test_metrics_match_hand_computed_values():
    card = agency_scorecard(
        _interviews(), _cases(), ScoringConfig(churn_window_days=90, min_interviews=2)
    )
    a = card.set_index("agency_id").loc["A"]
    assert a["interviews"] == 2 and a["cases"] == 3
    assert a["recovery_rate_count"] == pytest.approx(2 / 3)
    assert a["recovery_rate_amount"] == pytest.approx(150 / 500)
    assert a["median_days_to_recover"] == pytest.approx(20)  # 10 and 30 days
    assert a["threatened_rate"] == 0.5 and a["negative_rate"] == 0.5
    assert a["empathy_index"] == 50.0
    assert a["nps"] == pytest.approx(0.0)  # one promoter, one detractor
    assert a["churned"] == 1 and a["value_lost_eur"] == 700.0
    assert a["outstanding_eur"] == 350.0
    assert bool(a["sufficient"])


def test_edge_cases_no_payments_all_churned_small_n_missing_nps():
    card = agency_scorecard(
        _interviews(), _cases(), ScoringConfig(churn_window_days=90, min_interviews=2)
    )
    b = card.set_index("agency_id").loc["B"]
    assert b["recovery_rate_count"] == 0.0 and b["recovery_rate_amount"] == 0.0
    assert pd.isna(b["median_days_to_recover"])
    assert b["churned"] == 1 and b["value_lost_eur"] == 400.0
    assert pd.isna(b["nps"])
    assert not bool(b["sufficient"])


def test_nps_definition():
    assert nps(pd.Series([10, 9, 8, 7, 6, 0])) == pytest.approx(100 * (2 / 6 - 2 / 6))
    assert nps(pd.Series([float("nan")])) is None


def test_wilson_interval_matches_published_values():
    # Newcombe (1998), table I: 0/10 -> 0 to 0.2775; 5/10 -> 0.2366 to 0.7634
    low, high = wilson(0, 10)
    assert low == 0.0 and high == pytest.approx(0.2775, abs=1e-4)
    low, high = wilson(5, 10)
    assert (low, high) == (pytest.approx(0.2366, abs=1e-4), pytest.approx(0.7634, abs=1e-4))
    assert wilson(0, 0) == (None, None)


def test_every_rate_has_an_interval_that_contains_it():
    card = agency_scorecard(
        _interviews(), _cases(), ScoringConfig(churn_window_days=90, min_interviews=2)
    )
    for name in ("recovery_rate_count", "threatened_rate", "negative_rate", "churn_rate"):
        for _, row in card.iterrows():
            assert row[f"{name}_low"] <= row[name] <= row[f"{name}_high"], (name, row["agency_id"])
    b = card.set_index("agency_id").loc["B"]
    assert b["churn_rate"] == 1.0 and b["churn_rate_high"] == 1.0 and b["churn_rate_low"] < 1.0
    a = card.set_index("agency_id").loc["A"]
    # two interview scores, 80 and 20: mean 50, t(0.975, 1) = 12.706, sd 42.43, se 30
    assert a["empathy_index_low"] == pytest.approx(50 - 12.706 * 30, abs=0.1)
    assert pd.isna(b["empathy_index_low"])  # one interview: no interval


def test_scorecard_by_month_splits_interviews_and_cases_by_period():
    interviews = _interviews().assign(interview_date=["2026-01-10", "2026-02-03", "2026-01-20"])
    card = scorecard_by_period(interviews, _cases(), ScoringConfig(min_interviews=1))
    jan = card[card["period"] == "2026-01"].set_index("agency_id")
    feb = card[card["period"] == "2026-02"].set_index("agency_id")
    assert jan.loc["A", "interviews"] == 1 and jan.loc["A", "cases"] == 3  # cases due in January
    assert feb.loc["A", "interviews"] == 1 and feb.loc["A", "cases"] == 0
    assert feb.loc["B", "cases"] == 1 and jan.loc["B", "interviews"] == 1


def test_mean_interval_of_equal_values_is_the_point():
    import pandas as pd

    from pipeline.scoring import mean_interval

    assert mean_interval(pd.Series([50.0, 50.0, 50.0])) == (50.0, 50.0)
    low, high = mean_interval(pd.Series([40.0, 60.0]))
    assert low is not None and high is not None and low < 50 < high


def test_uncertain_utterances_are_counted_apart_from_threatened():
    interviews = _interviews().assign(n_uncertain=[2, 0, 1])
    card = agency_scorecard(interviews, _cases(), ScoringConfig()).set_index("agency_id")
    assert card.loc["A", "uncertain_utterances"] == 2 and card.loc["B", "uncertain_utterances"] == 1
    assert card.loc["A", "threatened_rate"] == 0.5  # unchanged: uncertain is never threatened
    legacy = agency_scorecard(_interviews(), _cases(), ScoringConfig())  # a store from before
    assert legacy["uncertain_utterances"].tolist() == [0, 0]
