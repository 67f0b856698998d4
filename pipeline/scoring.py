"""Agency scorecards: empathy and threats heard in interviews beside money recovered and customers lost.

Definitions (v1; per agency):
- interviews: recordings with an interview label; cases: rows of cases.csv.
- recovery_rate_count: share of cases with any amount recovered.
- recovery_rate_amount: amount recovered / amount due.
- median_days_to_recover: median of paid_date - due_date over paid cases.
- threatened_rate / negative_rate: share of interviews flagged threatened / negative overall.
- empathy_index: mean interview empathy score (0-100, see classify.summarize_interview).
- nps: % promoters (9-10) - % detractors (0-6) over cases with an NPS answer.
- churned: cases whose contract ended within `churn_window_days` after the contact date
  (contact_date column when given, else due_date); value_lost_eur: their annual value.
- churn_rate: churned / cases.
- outstanding_eur: amount due - recovered (the money still at stake).
- reviewed_labels: utterance labels an analyst confirmed or corrected (`ascolto review`); the
  interview figures above already use the analyst's label where there is one.
Every share gets a 95% Wilson interval (`<name>_low`, `<name>_high`): it stays inside 0..1 and
behaves at small n and at 0% or 100%, where the normal approximation breaks. The empathy index
gets a 95% t-interval on the mean of interview scores.
Agencies with fewer than `min_interviews` interviews are marked insufficient and not ranked.
Full definitions and the reasoning behind them: docs/metrics.md.
"""

from __future__ import annotations

import pandas as pd

from pipeline.config import ScoringConfig


def wilson(successes: int, n: int) -> tuple[float | None, float | None]:
    """95% Wilson score interval of a proportion (statsmodels); (None, None) when n is 0."""
    if n == 0:
        return None, None
    from statsmodels.stats.proportion import proportion_confint

    low, high = proportion_confint(successes, n, alpha=0.05, method="wilson")
    return max(0.0, float(low)), min(1.0, float(high))


def mean_interval(values: pd.Series) -> tuple[float | None, float | None]:
    """95% t-interval of a mean (scipy); (None, None) with fewer than two values."""
    values = values.dropna().astype(float)
    if len(values) < 2:
        return None, None
    from scipy import stats

    mean, sem = float(values.mean()), float(stats.sem(values))
    if sem == 0:  # every value equal: scipy rejects a zero scale, the interval is the point
        return mean, mean
    low, high = stats.t.interval(0.95, len(values) - 1, loc=mean, scale=sem)
    return float(low), float(high)


def _rate(name: str, mask: pd.Series) -> dict[str, float | None]:
    """A share with its Wilson interval, as three columns."""
    n, k = len(mask), int(mask.sum())
    low, high = wilson(k, n)
    return {name: k / n if n else None, f"{name}_low": low, f"{name}_high": high}


def _column(frame: pd.DataFrame, name: str) -> pd.Series:
    return frame[name] if len(frame) else pd.Series(dtype=object)


def _uncertain(interviews: pd.DataFrame) -> int:
    """Customer utterances labelled uncertain (a store from before uncertainty has none)."""
    if "n_uncertain" not in interviews or not len(interviews):
        return 0
    return int(interviews["n_uncertain"].fillna(0).sum())


def nps(scores: pd.Series) -> float | None:
    """Net Promoter Score in points (-100..100); None without answers."""
    answered = scores.dropna()
    if answered.empty:
        return None
    return float(100 * ((answered >= 9).mean() - (answered <= 6).mean()))


def churned(cases: pd.DataFrame, window_days: int) -> pd.Series:
    """True where the contract ended within `window_days` after the contact (or due) date."""
    contact = pd.to_datetime(cases.get("contact_date", cases["due_date"])).fillna(
        pd.to_datetime(cases["due_date"])
    )
    ended = pd.to_datetime(cases["contract_ended_date"])
    delta = (ended - contact).dt.days
    return (delta >= 0) & (delta <= window_days)


def agency_scorecard(
    interviews: pd.DataFrame, cases: pd.DataFrame, config: ScoringConfig
) -> pd.DataFrame:
    """One row per agency seen in interviews or cases.

    `interviews` needs agency_id, threatened, sentiment, empathy_score; `cases` the cases.csv
    columns (typed). Rates are None where their denominator is zero.
    """
    cases = cases.assign(churned=churned(cases, config.churn_window_days)) if len(cases) else cases
    agencies = sorted(set(interviews.get("agency_id", [])) | set(cases.get("agency_id", [])))
    rows = []
    for agency in agencies:
        ints = interviews[interviews["agency_id"] == agency] if len(interviews) else interviews
        cs = cases[cases["agency_id"] == agency] if len(cases) else cases
        paid = cs[cs["amount_recovered_eur"] > 0] if len(cs) else cs
        due = float(cs["amount_due_eur"].sum()) if len(cs) else 0.0
        recovered = float(cs["amount_recovered_eur"].sum()) if len(cs) else 0.0
        days = (
            (pd.to_datetime(paid["paid_date"]) - pd.to_datetime(paid["due_date"])).dt.days
            if len(paid)
            else pd.Series(dtype=float)
        )
        lost = cs[cs["churned"]] if len(cs) else cs
        empathy = ints["empathy_score"] if len(ints) else pd.Series(dtype=float)
        empathy_low, empathy_high = mean_interval(empathy)
        rows.append(
            {
                "agency_id": agency,
                "interviews": int(len(ints)),
                "cases": int(len(cs)),
                **_rate("recovery_rate_count", _column(cs, "amount_recovered_eur") > 0),
                "recovery_rate_amount": recovered / due if due else None,
                "median_days_to_recover": float(days.median()) if days.notna().any() else None,
                **_rate("threatened_rate", _column(ints, "threatened").astype(bool)),
                **_rate("negative_rate", _column(ints, "sentiment") == "negative"),
                # Left to analysts (pipeline/classify/classifier.py): never in threatened_rate.
                "uncertain_utterances": _uncertain(ints),
                "empathy_index": float(empathy.mean()) if len(empathy) else None,
                "empathy_index_low": empathy_low,
                "empathy_index_high": empathy_high,
                "nps": nps(cs["nps"].astype(float)) if len(cs) else None,
                "nps_answers": int(cs["nps"].notna().sum()) if len(cs) else 0,
                "churned": int(len(lost)),
                **_rate("churn_rate", _column(cs, "churned").astype(bool)),
                "value_lost_eur": float(lost["annual_value_eur"].sum()) if len(lost) else 0.0,
                "outstanding_eur": due - recovered,
                "reviewed_labels": int(ints["reviewed"].sum()) if "reviewed" in ints else 0,
                "sufficient": len(ints) >= config.min_interviews,
            }
        )
    return pd.DataFrame(rows)


def scorecard_by_period(
    interviews: pd.DataFrame, cases: pd.DataFrame, config: ScoringConfig, freq: str = "M"
) -> pd.DataFrame:
    """The scorecard per agency and period: interviews by interview date, cases by due date."""
    interview_period = pd.to_datetime(interviews["interview_date"]).dt.to_period(freq)
    case_period = pd.to_datetime(cases["due_date"]).dt.to_period(freq)
    frames = []
    for period in sorted(set(interview_period.dropna()) | set(case_period.dropna())):
        card = agency_scorecard(
            interviews[interview_period == period], cases[case_period == period], config
        )
        frames.append(card.assign(period=str(period)))
    if not frames:
        return pd.DataFrame()
    columns = ["period", *[c for c in frames[0].columns if c != "period"]]
    return pd.concat(frames, ignore_index=True)[columns]
