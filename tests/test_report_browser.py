"""The report in a real browser: no JavaScript error, charts drawn, nothing fetched."""

import os

import pytest

from pipeline.asr.transcribe import FakeTranscriber
from tests.browser import chromium_path, render
from tests.conftest import FOLLOW_UP, QUESTION, run_flow

TEXTS = [QUESTION, "Mi hanno minacciato con l'avvocato.", FOLLOW_UP, "Poi gentili, tre rate."]


@pytest.fixture
def browser_ready():
    if chromium_path() is None or not _has_playwright():
        if os.environ.get("CI"):
            pytest.fail("CI must install Chromium (see .ci/run) and playwright (dev extra)")
        pytest.skip("no Chromium here: apt-get install chromium-headless-shell")


def _has_playwright() -> bool:
    try:
        import playwright  # noqa: F401
    except ImportError:
        return False
    return True


def test_report_renders_charts_without_errors(browser_ready, batch, tmp_path):
    run_flow(batch, tmp_path / "data", FakeTranscriber(TEXTS))
    report = tmp_path / "data" / "reports" / "report.html"
    for width in (1280, 390):  # a desktop, a phone
        shot = tmp_path / f"report-{width}.png"
        result = render(report, shot, width=width)
        assert result["errors"] == [], width
        assert result["charts"] >= 2 and result["points"] >= 2  # scatter, themes: a dot per agency
        assert result["external"] == []  # works offline: no CDN, fonts or scripts fetched
        assert shot.stat().st_size > 20_000
        # the page never pans sideways: wide tables scroll inside their own box
        assert result["scroll_width"] <= result["inner_width"] == width, result
        assert all(0 < w <= width for w in result["chart_widths"]), result["chart_widths"]
