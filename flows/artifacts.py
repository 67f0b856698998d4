"""What a run leaves in the Prefect UI: the scorecard table, a summary, a link to the report.

Only counts, timings, aggregate numbers and agency ids: never the text of an interview.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from prefect.artifacts import (
    create_link_artifact,
    create_markdown_artifact,
    create_table_artifact,
)


def publish_artifacts(scorecard: Any, report: Path, summary: dict[str, Any]) -> None:
    """The scorecard as a Prefect table artifact and a summary, for analysts in the Prefect UI.

    Only counts, timings, aggregate numbers and agency ids: no text of any interview.
    """
    columns = ["agency_id", "interviews", "threatened_rate", "empathy_index",
               "recovery_rate_count", "churned", "value_lost_eur", "sufficient"]  # fmt: skip
    rows = scorecard[columns].round(3).astype(object).where(scorecard[columns].notna(), None)
    link_report(report)
    create_table_artifact(
        key="agency-scorecard",
        table=rows.to_dict(orient="records"),
        description=f"Agency scorecard of this run; full report: {report}",
    )
    counts = "\n".join(
        f"- {name}: {summary[name]}"
        for name in ("recordings", "transcribed", "cached", "embedded", "classified")
        if name in summary
    )
    timings = ", ".join(f"{k} {v} s" for k, v in summary.get("timings", {}).items())
    quarantined = len(summary.get("quarantined", []))
    create_markdown_artifact(
        key="run-summary",
        markdown=f"# ascolto run {summary['run_id']}\n\n{counts}\n- quarantined: {quarantined}\n"
        f"- timings: {timings}\n\nReport: `{report}`\n\nScorecard: the `agency-scorecard` table artifact.",
    )


def link_report(report: Path) -> None:
    """A link artifact that opens the report, when `ascolto serve` shows the reports folder."""
    base = os.environ.get("ASCOLTO_REPORTS_URL")
    if base:
        create_link_artifact(
            key="report", link=f"{base}/{report.name}", link_text=f"Open {report.name}"
        )
