"""Does empathy pay? Case-level logistic regressions and the sentences that report them.

Each interviewed case is one row: did the customer pay anything (`paid`), did they leave within
the churn window (`churned`), did they feel threatened, how empathetic was the contact (interview
empathy score). statsmodels fits
- paid ~ threatened + log(amount due)
- churned ~ threatened + log(annual value)
- paid ~ empathy (per 10 points) + log(amount due)
and each finding is reported as an odds ratio with its 95% interval and p-value, the raw rates
of the two groups beside it, and one plain sentence that says "not significant" when it is not.
A model that cannot be estimated (too few cases, one group empty, perfect separation) says so
instead of printing a number.
"""

from __future__ import annotations

import math
import re
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from pipeline.scoring import churned

MIN_CASES = 10
ALPHA = 0.05


@dataclass(frozen=True)
class Finding:
    """One association, estimated or not, with a sentence an analyst can quote."""

    key: str
    outcome: str
    exposure: str
    n: int
    odds_ratio: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    p_value: float | None = None
    rate_exposed: float | None = None
    rate_unexposed: float | None = None
    note: str = ""
    test: str = "logit"  # or "fisher" when separation rules the regression out

    @property
    def significant(self) -> bool:
        """The interval excludes 1 at the 5% level."""
        return self.p_value is not None and self.p_value < ALPHA


def case_table(
    interviews: pd.DataFrame, cases: pd.DataFrame, churn_window_days: int
) -> pd.DataFrame:
    """One row per interviewed case: outcomes, threatened, empathy, amount, annual value, agency."""
    if interviews.empty or cases.empty:
        return pd.DataFrame()
    per_case = interviews.groupby("case_id").agg(
        threatened=("threatened", "max"), empathy=("empathy_score", "mean")
    )
    table = cases.assign(churned=churned(cases, churn_window_days)).merge(
        per_case, left_on="case_id", right_index=True, how="inner"
    )
    return pd.DataFrame(
        {
            "case_id": table["case_id"],
            "agency_id": table["agency_id"],
            "paid": (table["amount_recovered_eur"] > 0).astype(int),
            "churned": table["churned"].astype(int),
            "threatened": table["threatened"].astype(int),
            "empathy_10": table["empathy"] / 10.0,
            "log_amount": np.log1p(table["amount_due_eur"].astype(float)),
            "log_value": np.log1p(table["annual_value_eur"].astype(float)),
        }
    ).reset_index(drop=True)


def _logit(table: pd.DataFrame, formula: str, term: str) -> tuple[float, float, float, float]:
    import statsmodels.formula.api as smf
    from statsmodels.tools.sm_exceptions import ConvergenceWarning, PerfectSeparationWarning

    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        warnings.simplefilter("error", PerfectSeparationWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        fit = smf.logit(formula, data=table).fit(disp=0, maxiter=200)
    low, high = fit.conf_int().loc[term]
    values = (math.exp(fit.params[term]), math.exp(low), math.exp(high), float(fit.pvalues[term]))
    if not all(math.isfinite(v) for v in values):
        raise ValueError("the estimate is not finite (separation)")
    return values


def _finding(table: pd.DataFrame, key: str, outcome: str, exposure: str, covariate: str) -> Finding:
    n = len(table)
    rates: dict[str, Any] = {"rate_exposed": None, "rate_unexposed": None}
    if exposure == "threatened" and n:
        exposed = table[table["threatened"] == 1][outcome]
        unexposed = table[table["threatened"] == 0][outcome]
        rates = {
            "rate_exposed": float(exposed.mean()) if len(exposed) else None,
            "rate_unexposed": float(unexposed.mean()) if len(unexposed) else None,
        }
        if not len(exposed) or not len(unexposed):
            return Finding(
                key, outcome, exposure, n, **rates, note="one of the two groups is empty"
            )
    if n < MIN_CASES:
        return Finding(key, outcome, exposure, n, **rates, note=f"fewer than {MIN_CASES} cases")
    if table[outcome].nunique() < 2:
        return Finding(key, outcome, exposure, n, **rates, note="every case has the same outcome")
    # A covariate with one value (every amount equal) would make the model singular: leave it out.
    adjust = f" + {covariate}" if table[covariate].min() < table[covariate].max() else ""
    try:
        odds, low, high, p = _logit(table, f"{outcome} ~ {exposure}{adjust}", exposure)
    except Exception:  # statsmodels raises several types on degenerate data
        if exposure != "threatened":
            return Finding(key, outcome, exposure, n, **rates, note="regression did not converge")
        # One group where nobody (or everybody) had the outcome: the odds ratio is infinite, but
        # Fisher's exact test on the 2x2 table still says whether the difference is chance.
        from scipy.stats import fisher_exact

        crosstab = pd.crosstab(table["threatened"], table[outcome]).reindex(
            index=[1, 0], columns=[1, 0], fill_value=0
        )
        return Finding(
            key, outcome, exposure, n, p_value=float(fisher_exact(crosstab.to_numpy())[1]),
            **rates, test="fisher", note="separation: Fisher's exact test",
        )  # fmt: skip
    return Finding(key, outcome, exposure, n, odds, low, high, p, **rates)


def findings(table: pd.DataFrame) -> list[Finding]:
    """The three associations of the business case."""
    return [
        _finding(table, "threat_payment", "paid", "threatened", "log_amount"),
        _finding(table, "threat_churn", "churned", "threatened", "log_value"),
        _finding(table, "empathy_payment", "paid", "empathy_10", "log_amount"),
    ]


def _num(value: float, lang: str, digits: int = 2) -> str:
    text = f"{value:.{digits}f}"
    return text.replace(".", ",") if lang == "it" else text


def _pct(value: float | None, lang: str) -> str:
    return "–" if value is None else f"{_num(100 * value, lang, 0)}%"


def _stats_text(f: Finding, lang: str) -> str:
    assert f.p_value is not None
    p = f"< {_num(0.001, lang, 3)}" if f.p_value < 0.001 else f"= {_num(f.p_value, lang, 3)}"
    if f.test == "fisher":
        name = "test esatto di Fisher" if lang == "it" else "Fisher's exact test"
        return f"{name}, p {p}, n = {f.n}"
    assert f.odds_ratio is not None and f.ci_low is not None and f.ci_high is not None
    ci = "IC 95%" if lang == "it" else "95% CI"
    return (
        f"odds ratio {_num(f.odds_ratio, lang)}, {ci} {_num(f.ci_low, lang)}–{_num(f.ci_high, lang)}, "
        f"p {p}, n = {f.n}"
    )


_TEXT: dict[str, dict[str, Any]] = {
    "it": {
        "threat_payment": "I clienti che si sono sentiti minacciati hanno pagato nel {a} dei casi, "
        "gli altri nel {b}",
        "threat_churn": "I clienti che si sono sentiti minacciati hanno chiuso il contratto nel {a} "
        "dei casi, gli altri nel {b}",
        "empathy_payment": "Per ogni 10 punti di empatia in più la probabilità (odds) di pagamento "
        "cambia di un fattore {odds}",
        "significant": "la differenza è statisticamente significativa",
        "not_significant": "la differenza non è statisticamente significativa",
        "significant_trend": "l'associazione è statisticamente significativa",
        "not_significant_trend": "l'associazione non è statisticamente significativa",
        "adjusted": "a parità di importo",
        "missing": "Non stimabile",
        "reasons": {
            "one of the two groups is empty": "uno dei due gruppi è vuoto",
            f"fewer than {MIN_CASES} cases": f"meno di {MIN_CASES} pratiche",
            "regression did not converge": "la regressione non converge",
            "every case has the same outcome": "tutte le pratiche hanno lo stesso esito",
        },
    },
    "en": {
        "threat_payment": "Customers who felt threatened paid in {a} of cases, the others in {b}",
        "threat_churn": "Customers who felt threatened ended their contract in {a} of cases, the "
        "others in {b}",
        "empathy_payment": "Each 10 more points of empathy multiply the odds of payment by {odds}",
        "significant": "the difference is statistically significant",
        "not_significant": "the difference is not statistically significant",
        "significant_trend": "the association is statistically significant",
        "not_significant_trend": "the association is not statistically significant",
        "adjusted": "for the same amount",
        "missing": "Not estimable",
        "reasons": {},
    },
}


_NEL = re.compile(r"\b([Nn])el (\d+)(?=[,.]?\d*\s?%)")


def italian_articles(text: str) -> str:
    """Italian "nel" before a percentage, as the number is read: nello 0%, nell'8%, nel 5%.

    The article follows the number's spoken start: "zero" takes "lo", a vowel ("uno", "undici",
    "otto", "ottanta"...) takes "l'", every other number "il".
    """

    def fix(match: re.Match[str]) -> str:
        n, digits = match.group(1), match.group(2)
        if int(digits) == 0:
            return f"{n}ello {digits}"
        if digits in ("1", "11") or digits.startswith("8"):
            return f"{n}ell'{digits}"
        return match.group(0)

    return _NEL.sub(fix, text)


def sentence(f: Finding, lang: str = "it") -> str:
    """One plain-language sentence from the numbers, honest about significance."""
    words = _TEXT[lang]
    head = words[f.key].format(
        a=_pct(f.rate_exposed, lang),
        b=_pct(f.rate_unexposed, lang),
        odds=_num(f.odds_ratio, lang) if f.odds_ratio is not None else "?",
    )
    if lang == "it":
        head = italian_articles(head)
    if f.p_value is None:
        reason = words["reasons"].get(f.note, f.note)
        if f.key == "empathy_payment":
            return f"{words['missing']}: {reason}."
        return f"{head}; {words['missing'].lower()}: {reason}."
    trend = "_trend" if f.key == "empathy_payment" else ""
    verdict = words[f"significant{trend}"] if f.significant else words[f"not_significant{trend}"]
    adjusted = "" if f.test == "fisher" else f"{words['adjusted']}: "
    return f"{head} ({adjusted}{_stats_text(f, lang)}); {verdict}."
