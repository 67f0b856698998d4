"""Report charts (plotly), rendered to HTML fragments that need no network.

plotly.js is embedded once per report (in the first chart); the others reuse it. The full
library is 4.8 MB; `report.plotly_js` may name a partial bundle of the same version instead. Agency ids are
untrusted: plotly serialises them as JSON with <, > and / escaped (\u003c...), so no
"</script>" can break out of the chart's script (tested with a hostile agency id).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

_COLORS = {"sufficient": "#2e86c1", "insufficient": "#b0b8c1"}
# Legends below the plot (the width of a phone is too narrow for one beside it).
_LEGEND = {"orientation": "h", "y": -0.25, "x": 0, "yanchor": "top"}


# plotly.js-basic-dist-min 4.1.1 (MIT, vendor/plotly-LICENSE.txt): scatter and bar, 1.2 MB
# instead of 4.8 MB; `report.plotly_js: basic` (the default) embeds it.
BASIC = "basic"
VENDORED = Path(__file__).with_name("vendor") / "plotly-basic.min.js"


def plotly_script(bundle: str = "") -> str:
    """The plotly.js library as inline script tags, from `bundle` or else plotly.py's own.

    `bundle` may be a partial bundle such as plotly.js-basic-dist-min, which draws scatter and
    bar charts (every chart here); it must be the plotly.js version plotly.py writes figures for.
    """
    import plotly.offline

    if not bundle:
        return _inline(plotly.offline.get_plotlyjs())
    version = plotly.offline.get_plotlyjs_version()
    if bundle == BASIC:  # shipped with ascolto; another plotly.py version gets its own full one
        text = VENDORED.read_text(encoding="utf-8")
        return _inline(text if f" v{version}" in text[:300] else plotly.offline.get_plotlyjs())
    text = Path(bundle).read_text(encoding="utf-8")
    if f" v{version}" not in text[:300]:
        raise ValueError(f"report.plotly_js {bundle} is not plotly.js v{version}")
    return _inline(text)


def _inline(library: str) -> str:
    config = "<script>window.PlotlyConfig = {MathJaxConfig: 'local'};</script>"
    return f"{config}\n<script>{library}</script>\n"


def _html(fig: Any, first: bool, bundle: str = "") -> str:
    """The figure as a fragment: it resizes with its box; no toolbar (its tips are English).

    `first`: the library comes with it (once per page); `bundle`, which file (see plotly_script).
    """
    fig.update_layout(autosize=True)
    chart = str(
        fig.to_html(
            full_html=False,
            include_plotlyjs=False,
            config={"displaylogo": False, "responsive": True, "displayModeBar": False},
            default_height="440px",
            default_width="100%",
        )
    )
    return plotly_script(bundle) + chart if first else chart


def month_ticks(months: Any, language: str = "it") -> dict[str, Any]:
    """Axis ticks for the months given, named in the report's language by Babel ("set 2026").

    Written here rather than by plotly.js, whose dates are English ("Sep 6 2026").
    """
    from babel.dates import format_date

    days = sorted({pd.Timestamp(m) for m in months})
    return {
        "tickmode": "array",
        "tickvals": days,
        "ticktext": [format_date(d.date(), "LLL y", locale=language) for d in days],
    }


def empathy_vs_recovery(
    scorecard: pd.DataFrame, labels: dict[str, str], first: bool, bundle: str = ""
) -> str:
    """Scatter of agencies: empathy index (x) against recovery rate (y), 95% bars, quadrants."""
    import plotly.graph_objects as go

    frame = scorecard.dropna(subset=["empathy_index", "recovery_rate_count"])
    fig = go.Figure()
    for sufficient, part in frame.groupby("sufficient"):
        fig.add_trace(
            go.Scatter(
                x=part["empathy_index"],
                y=100 * part["recovery_rate_count"],
                mode="markers+text",
                text=part["agency_id"].astype(str),
                textposition="top center",
                marker={"size": 12 + part["interviews"].clip(upper=40) / 2,
                        "color": _COLORS["sufficient" if sufficient else "insufficient"]},
                error_x=_error(part, "empathy_index", 1),
                error_y=_error(part, "recovery_rate_count", 100),
                name=labels["sufficient"] if sufficient else labels["insufficient"],
                hovertemplate="%{text}<br>%{x:.0f} / %{y:.0f}%<extra></extra>",
            )
        )  # fmt: skip
    overall = float(frame["recovery_rate_count"].mean()) * 100 if len(frame) else 50.0
    fig.add_vline(x=50, line_dash="dot", line_color="#8895a2")
    fig.add_hline(y=overall, line_dash="dot", line_color="#8895a2")
    fig.update_layout(
        xaxis_title=labels["empathy_index"],
        yaxis_title=labels["recovery_rate"] + " (%)",
        xaxis_range=[0, 100],
        yaxis_range=[0, 100],
        margin={"t": 30, "l": 60, "r": 20, "b": 50},
        legend=_LEGEND,
        template="plotly_white",
    )
    return _html(fig, first, bundle)


def _error(part: pd.DataFrame, column: str, scale: float) -> dict[str, Any]:
    """Error bars of the interval, clipped to the scale (0..100 index, 0..1 shares)."""
    value = part[column].astype(float)
    top = 100.0 if column == "empathy_index" else 1.0
    low = part[f"{column}_low"].astype(float).clip(0, top)
    high = part[f"{column}_high"].astype(float).clip(0, top)
    return {
        "type": "data",
        "symmetric": False,
        "array": (scale * (high - value)).clip(lower=0).fillna(0).tolist(),
        "arrayminus": (scale * (value - low)).clip(lower=0).fillna(0).tolist(),
        "color": "#5b6773",
        "thickness": 1,
    }


def themes_by_agency(theme_rows: list[dict], agencies: list[str], first: bool) -> str:
    """Grouped horizontal bars: share of interviews naming each theme, per agency."""
    import plotly.graph_objects as go

    fig = go.Figure()
    labels = [f"{row['label']}{' ⚠' if row['threat'] else ''}" for row in theme_rows]
    for i, agency in enumerate(agencies):
        shares = [100 * (row["shares"][i] or 0) for row in theme_rows]
        fig.add_trace(go.Bar(y=labels, x=shares, name=str(agency), orientation="h"))
    fig.update_layout(
        barmode="group",
        xaxis_title="%",
        height=max(360, 28 * len(labels) * max(1, len(agencies)) // 2),
        margin={"t": 20, "l": 10, "r": 10, "b": 40},
        template="plotly_white",
        yaxis={"autorange": "reversed", "automargin": True},
        legend=_LEGEND,
    )
    return _html(fig, first)


def monthly_trend(
    interviews: pd.DataFrame,
    benchmark: dict[str, str],
    labels: dict[str, str],
    first: bool,
    language: str = "it",
) -> str:
    """Empathy index and threatened share per agency and month of interview."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    frame = interviews.assign(
        month=pd.to_datetime(interviews["interview_date"]).dt.to_period("M").dt.to_timestamp(),
        agency_id=interviews["agency_id"].replace(benchmark),
        threatened=interviews["threatened"].astype(float),
    )
    monthly = frame.groupby(["agency_id", "month"], as_index=False).agg(
        empathy=("empathy_score", "mean"), threatened=("threatened", "mean"), n=("month", "size")
    )
    titles = (labels["empathy_index"], labels["threatened_rate"] + " (%)")
    fig = make_subplots(rows=1, cols=2, subplot_titles=titles)
    palette = ["#2e86c1", "#c0392b", "#27ae60", "#8e44ad", "#d68910", "#5b6773"]
    for i, (agency, part) in enumerate(monthly.groupby("agency_id")):
        color = palette[i % len(palette)]  # one colour per agency in both panels
        hover = "%{x|%Y-%m}: %{y:.0f} (n=%{customdata})<extra>" + str(agency) + "</extra>"
        for col, (column, scale) in enumerate((("empathy", 1), ("threatened", 100)), start=1):
            fig.add_trace(
                go.Scatter(x=part["month"], y=scale * part[column], mode="lines+markers",
                           name=str(agency), legendgroup=str(agency), showlegend=col == 1,
                           line={"color": color},
                           customdata=part["n"], hovertemplate=hover),
                row=1, col=col,
            )  # fmt: skip
    ticks = month_ticks(monthly["month"], language)
    fig.update_xaxes(**ticks)
    fig.update_layout(margin={"t": 40, "l": 50, "r": 20, "b": 40}, template="plotly_white",
                      legend=_LEGEND)  # fmt: skip
    return _html(fig, first)


def losses(
    scorecard: pd.DataFrame, labels: dict[str, str], first: bool, language: str = "it"
) -> str:
    """Customers lost and their annual value, beside the money still outstanding, per agency."""
    import plotly.graph_objects as go

    fig = go.Figure()
    agencies = scorecard["agency_id"].astype(str)
    money = (
        "%{x}: %{y:,.0f} €<extra></extra>"
        if language == "it"
        else "%{x}: €%{y:,.0f}<extra></extra>"
    )
    fig.add_trace(go.Bar(x=agencies, y=scorecard["value_lost_eur"], name=labels["value_lost"],
                         text=scorecard["churned"], texttemplate="%{text}",
                         hovertemplate=money))  # fmt: skip
    fig.add_trace(go.Bar(x=agencies, y=scorecard["outstanding_eur"], name=labels["outstanding"],
                         hovertemplate=money))  # fmt: skip
    if language == "it":
        fig.update_layout(separators=",.")  # 12.929 (plotly's default is 12,929)
    fig.update_layout(barmode="group", yaxis_title="€", template="plotly_white",
                      margin={"t": 20, "l": 60, "r": 20, "b": 40}, legend=_LEGEND)  # fmt: skip
    return _html(fig, first)


def topics_by_month(
    views: pd.DataFrame, labels: dict[int, str], first: bool = False, language: str = "it"
) -> str:
    """Share of each month's customer utterances that fall in each topic."""
    import plotly.graph_objects as go

    frame = views.assign(month=pd.to_datetime(views["month"]))
    totals = frame.groupby("month")["utt_idx"].size()
    fig = go.Figure()
    for topic_id, part in frame.groupby("topic_id"):
        counts = part.groupby("month")["utt_idx"].size().reindex(totals.index, fill_value=0)
        name = f"{topic_id} · {labels.get(int(topic_id), '')}"[:40]
        fig.add_trace(
            go.Scatter(x=totals.index, y=100 * counts / totals, mode="lines+markers", name=name,
                       customdata=counts, hovertemplate="%{x|%Y-%m}: %{y:.0f}% (n=%{customdata})"
                       "<extra>" + name.replace("<", "&lt;") + "</extra>")
        )  # fmt: skip
    fig.update_xaxes(**month_ticks(totals.index, language))
    fig.update_layout(yaxis_title="%", template="plotly_white",
                      margin={"t": 20, "l": 50, "r": 20, "b": 40}, legend=_LEGEND)  # fmt: skip
    return _html(fig, first)
