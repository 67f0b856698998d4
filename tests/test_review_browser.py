"""The review page in a real browser (Debian's Chromium): list, filter, confirm, correct."""

from __future__ import annotations

import shutil
import socket
import threading
import time
from pathlib import Path

import pytest

from pipeline.config import load_settings
from pipeline.store import Store
from tests.browser import chromium_path
from tests.test_report_browser import browser_ready  # noqa: F401 (the skip/fail rule, shared)
from tests.test_review import THREAT, built  # noqa: F401 (the module's store, built once)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def served(built: Path, tmp_path: Path):  # noqa: F811
    """The review app on a copy of the store, served by uvicorn on a free loopback port."""
    import uvicorn

    from pipeline.review.app import make_app

    data = Path(shutil.copytree(built, tmp_path / "data"))
    port = _free_port()
    settings = load_settings()
    settings = settings.model_copy(
        update={"review": settings.review.model_copy(update={"port": port})}
    )
    server = uvicorn.Server(
        uvicorn.Config(make_app(data, settings), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(100):
        if server.started:
            break
        time.sleep(0.1)
    yield f"http://127.0.0.1:{port}/", data
    server.should_exit = True
    thread.join(timeout=10)


def _reviews(data: Path):
    with Store(data, read_only=True) as store:
        return store.query("SELECT * FROM reviews ORDER BY reviewed_at")


@pytest.mark.parametrize("width", [1280, 390])  # a desktop, a phone
def test_list_filter_confirm_and_correct_in_chromium(browser_ready, served, width):  # noqa: F811
    from playwright.sync_api import sync_playwright

    url, data = served
    errors: list[str] = []
    requests: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path(),
                                    args=["--no-sandbox", "--disable-gpu"])  # fmt: skip
        page = browser.new_page(viewport={"width": width, "height": 900})
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("request", lambda r: requests.append(r.url))
        page.goto(url)
        assert page.locator(".quote").count() == 10  # list
        assert page.evaluate("document.documentElement.scrollWidth") <= width  # no side panning
        page.select_option("#f-agency", "AG02")  # filter (a plain GET form)
        page.click("#f-apply")
        page.wait_for_url("**agency=AG02**")
        assert page.locator(".quote").count() == 4
        assert THREAT not in page.content()

        first = page.locator(".quote").first  # confirm with one click
        first.locator(".confirm").click()
        page.wait_for_function("document.querySelector('.quote').classList.contains('done')")
        assert list(_reviews(data)["verdict"]) == ["confirmed"]

        second = page.locator(".quote").nth(1)  # confirm with a key
        second.focus()
        page.keyboard.press("c")
        page.wait_for_function("document.querySelectorAll('.quote.done').length === 2")

        page.goto(url + "?label=threatened")  # correct "threatened" in two clicks
        card = page.locator(".quote").first
        assert "minacciato con" in card.inner_text()
        card.locator(".correct").click()
        card.locator(".threat-toggle").click()
        page.wait_for_function("document.querySelector('.quote').classList.contains('fixed')")
        last = _reviews(data).iloc[-1]
        assert last["verdict"] == "corrected" and not last["threatened"]
        assert not any(t in last["themes"] for t in ("LEGAL_THREAT", "INTIMIDATION"))

        third = page.locator(".quote").nth(1)  # correct the sentiment by keys: e, then 1
        third.focus()
        page.keyboard.press("e")
        page.keyboard.press("1")
        page.wait_for_function("document.querySelectorAll('.quote.fixed').length === 2")
        assert _reviews(data).iloc[-1]["sentiment"] == "positive"

        page.goto(url + "?status=reviewed")
        assert page.locator(".quote").count() == 4
        browser.close()
    assert errors == []
    assert all(u.startswith(url) for u in requests), requests  # nothing from the network
