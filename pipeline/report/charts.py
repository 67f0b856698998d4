"""Report charts (plotly), rendered to HTML fragments that need no network.

plotly.js is embedded once per report (in the first chart); the others reuse it. Agency ids are
untrusted: plotly serialises them as JSON with <, > and / escaped (\u003c...), so no
"</script>" can break out of the chart's script (tested with a hostile agency id).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

_COLORS = {"sufficient": "#2e86c1", "insufficient": "#b0b8c1"}


def _html(fig: Any, first: bool) -> str:
    return str(
        fig.to_html(
            full_html=False,
            include_plotlyjs=first,
            config={"displaylogo": False, "responsive": True},
            default_height="440px",
        )
    )


def empathy_vs_recovery(scorecard: pd.DataFrame, labels: dict[str, str], first: bool) -> str:
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
        legend={"orientation": "h", "y": -0.2},
        template="plotly_white",
    )
    return _html(fig, first)


def _error(part: pd.DataFrame, column: str, scale: float) -> dict[str, Any]:
    value = part[column].astype(float)
    return {
        "type": "data",
        "symmetric": False,
        "array": (scale * (part[f"{column}_high"].astype(float) - value)).fillna(0).tolist(),
        "arrayminus": (scale * (value - part[f"{column}_low"].astype(float))).fillna(0).tolist(),
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
        margin={"t": 20, "l": 220, "r": 20, "b": 40},
        template="plotly_white",
        yaxis={"autorange": "reversed"},
    )
    return _html(fig, first)


def monthly_trend(
    interviews: pd.DataFrame, benchmark: dict[str, str], labels: dict[str, str], first: bool
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
    fig.update_layout(margin={"t": 40, "l": 50, "r": 20, "b": 40}, template="plotly_white")
    return _html(fig, first)


def losses(scorecard: pd.DataFrame, labels: dict[str, str], first: bool) -> str:
    """Customers lost and their annual value, beside the money still outstanding, per agency."""
    import plotly.graph_objects as go

    fig = go.Figure()
    agencies = scorecard["agency_id"].astype(str)
    fig.add_trace(go.Bar(x=agencies, y=scorecard["value_lost_eur"], name=labels["value_lost"],
                         text=scorecard["churned"], texttemplate="%{text}",
                         hovertemplate="%{x}: € %{y:,.0f}<extra></extra>"))  # fmt: skip
    fig.add_trace(go.Bar(x=agencies, y=scorecard["outstanding_eur"], name=labels["outstanding"],
                         hovertemplate="%{x}: € %{y:,.0f}<extra></extra>"))  # fmt: skip
    fig.update_layout(barmode="group", yaxis_title="€", template="plotly_white",
                      margin={"t": 20, "l": 60, "r": 20, "b": 40})  # fmt: skip
    return _html(fig, first)


def topics_by_month(views: pd.DataFrame, labels: dict[int, str], first: bool = False) -> str:
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
    fig.update_layout(yaxis_title="%", template="plotly_white",
                      margin={"t": 20, "l": 50, "r": 20, "b": 40})  # fmt: skip
    return _html(fig, first)
