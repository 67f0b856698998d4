"""Open a report in headless Chromium (Debian's package) through Playwright; shared by the test
and `scripts/report_screenshot.py`."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

CANDIDATES = ("/usr/lib/chromium/chromium-headless-shell", "/usr/bin/chromium")


def chromium_path() -> str | None:
    """The first Chromium binary installed, or None."""
    for path in (os.environ.get("ASCOLTO_CHROMIUM"), *CANDIDATES):
        if path and Path(path).is_file():
            return path
    return shutil.which("chromium")


def render(
    report: Path, screenshot: Path | None = None, height: int | None = None, width: int = 1280
) -> dict:
    """Load the report from disk; return JS errors, charts drawn, requests that left the disk.

    `height` crops the screenshot to the top of the page (the README shows the scorecard part);
    `width` is the viewport's (390: a phone). `scroll_width` and `inner_width` tell whether the
    page pans sideways; `chart_widths` are the drawn charts' widths.
    """
    from playwright.sync_api import sync_playwright

    errors: list[str] = []
    requests: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=chromium_path(),
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--no-first-run"],
        )  # fmt: skip
        page = browser.new_page(viewport={"width": width, "height": 900})
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
        page.on("request", lambda req: requests.append(req.url))
        page.goto(report.resolve().as_uri())
        page.wait_for_selector(".js-plotly-plot .main-svg", timeout=20_000)
        charts = page.locator(".js-plotly-plot .main-svg").count()
        points = page.locator("#chart-scatter .point").count()
        page.wait_for_timeout(300)  # plotly's responsive resize runs after the first draw
        scroll_width = page.evaluate("document.documentElement.scrollWidth")
        inner_width = page.evaluate("window.innerWidth")
        chart_widths = page.evaluate(
            "[...document.querySelectorAll('.js-plotly-plot')].map(e => e.getBoundingClientRect().width)"
        )
        if screenshot is not None:
            clip = {"x": 0, "y": 0, "width": width, "height": height} if height else None
            page.screenshot(path=str(screenshot), full_page=True, clip=clip)
        browser.close()
    external = [u for u in requests if not u.startswith(("file:", "data:", "blob:"))]
    return {
        "errors": errors,
        "charts": charts,
        "points": points,
        "external": external,
        "scroll_width": scroll_width,
        "inner_width": inner_width,
        "chart_widths": chart_widths,
    }
