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
- outstanding_eur: amount due - recovered.
Agencies with fewer than `min_interviews` interviews are marked insufficient and not ranked.
"""

from __future__ import annotations

import pandas as pd

from pipeline.config import ScoringConfig


def _share(mask: pd.Series) -> float | None:
    return float(mask.mean()) if len(mask) else None


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
        rows.append(
            {
                "agency_id": agency,
                "interviews": int(len(ints)),
                "cases": int(len(cs)),
                "recovery_rate_count": _share(cs["amount_recovered_eur"] > 0) if len(cs) else None,
                "recovery_rate_amount": recovered / due if due else None,
                "median_days_to_recover": float(days.median()) if days.notna().any() else None,
                "threatened_rate": _share(ints["threatened"].astype(bool)) if len(ints) else None,
                "negative_rate": _share(ints["sentiment"] == "negative") if len(ints) else None,
                "empathy_index": float(ints["empathy_score"].mean()) if len(ints) else None,
                "nps": nps(cs["nps"].astype(float)) if len(cs) else None,
                "churned": int(len(lost)),
                "value_lost_eur": float(lost["annual_value_eur"].sum()) if len(lost) else 0.0,
                "outstanding_eur": due - recovered,
                "sufficient": len(ints) >= config.min_interviews,
            }
        )
    return pd.DataFrame(rows)
