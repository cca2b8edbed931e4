"""One real-browser test: the app served headless, every page opened in Debian's Chromium via Playwright.

Each page must finish running with no exception box; a screenshot of each is kept in test-artifacts/
(the README's screenshots come from the same code with the shipped checkpoint: bench/screenshots.py).
Skipped where /usr/bin/chromium is missing (./dev test installs it when run as root).
"""

from __future__ import annotations

import os
import re
import shutil
from contextlib import contextmanager
from pathlib import Path

import pytest
from chromium import CHROMIUM, CHROMIUM_ARGS, INSTRUMENT, ROOT, begin_action, free_port, open_page, serve, settle
from conftest import TINY_CHECKPOINT

PAGES = {
    "lesson": "",
    "reconstruct": "reconstruct",
    "interpolate": "interpolate",
    "embedding_map": "embedding_map",
    "languages": "languages",
    "compare": "compare",
    "train": "train",
    "model_card": "model_card",
}

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,  # a real server and Chromium per test
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="needs Debian's chromium at /usr/bin/chromium"),
]


# Where a user types text: a text area or a text input, but not a select box's search field (the sidebar's
# checkpoint picker comes first in the page and is one, and it takes no typed text).
TYPED_INPUT = "textarea, input[type=text]:not([aria-autocomplete])"
HOSTILE = "**bold** ![x](http://example.com/x.png) <img src=http://example.com/y.png> <b>hi</b>"


def screenshot_pages(
    base_url: str, out_dir: Path, *, timeout_ms: int = 120_000, hostile: bool = False
) -> tuple[dict[str, list[str]], list[str]]:
    """Open every page, wait for its script to finish, screenshot it. With ``hostile``, also type a
    Markdown/HTML string with external images into the page's first text box (every page but Train).
    Returns the exception
    texts per page and every URL the browser requested outside the app's server."""
    from playwright.sync_api import sync_playwright

    out_dir.mkdir(parents=True, exist_ok=True)
    problems: dict[str, list[str]] = {}
    outside: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.add_init_script(INSTRUMENT)
        page.on(
            "request",
            lambda r: None if r.url.startswith((base_url, "data:", "blob:", "about:")) else outside.append(r.url),
        )
        for name, path in PAGES.items():
            page.goto(f"{base_url}/{path}")
            page.wait_for_selector("h1", timeout=timeout_ms)
            settle(page, timeout_ms=timeout_ms)
            # (not on the Train page: Enter there submits its form, and a real run would start)
            if hostile and name != "train" and page.locator(TYPED_INPUT).count():
                box = page.locator(TYPED_INPUT).first
                begin_action(page)
                box.fill(HOSTILE)
                box.press("Control+Enter" if box.evaluate("e => e.tagName") == "TEXTAREA" else "Enter")
                settle(page, rerun=True, timeout_ms=timeout_ms)
            page.screenshot(path=str(out_dir / f"{name}.png"), full_page=True)
            problems[name] = [e.inner_text() for e in page.query_selector_all('[data-testid="stException"]')]
        browser.close()
    return problems, outside


def test_every_page_runs_in_a_real_browser(tmp_path):
    checkpoints = tmp_path / "checkpoints"
    shutil.copytree(TINY_CHECKPOINT, checkpoints / "default")
    port = free_port()
    server = serve(checkpoints, port)
    try:
        problems, outside = screenshot_pages(f"http://127.0.0.1:{port}", ROOT / "test-artifacts" / "screenshots")
        hostile, hostile_outside = screenshot_pages(
            f"http://127.0.0.1:{port}", ROOT / "test-artifacts" / "hostile", hostile=True
        )
    finally:
        server.terminate()
        server.wait(timeout=10)
    assert problems and all(not texts for texts in problems.values()), problems
    assert all(not texts for texts in hostile.values()), hostile
    assert not outside and not hostile_outside, outside + hostile_outside  # nothing leaves localhost
    for name in PAGES:
        assert (ROOT / "test-artifacts" / "screenshots" / f"{name}.png").stat().st_size > 10_000


@contextmanager
def tiny_app_page(tmp_path: Path, path: str, ready: str = "h1"):
    """A fresh server over the tiny checkpoint and a Chromium page opened on ``path`` (the server's first
    request), once ``ready`` is on it and its script has finished; both closed afterwards."""
    from playwright.sync_api import sync_playwright

    checkpoints = tmp_path / "checkpoints"
    shutil.copytree(TINY_CHECKPOINT, checkpoints / "default")
    port = free_port()
    server = serve(checkpoints, port)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            yield open_page(browser, f"http://127.0.0.1:{port}/{path}", ready=ready)
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_a_deep_link_on_a_fresh_server_runs_through_the_app(tmp_path):
    """The first request a server gets is a link to one page: it still gets the app's menu and checkpoint
    picker (no pages/ folder beside app.py, so Streamlit never runs a page on its own)."""
    with tiny_app_page(tmp_path, PAGES["model_card"]) as page:
        title = page.locator("h1").first.inner_text()
        menu = page.locator('[data-testid="stSidebarNav"]').inner_text()
        picker = page.locator('[data-testid="stSidebar"] [data-testid="stSelectbox"]').count()
    assert title == "The model"
    assert "Embedding map" in menu and "app" not in menu.split()  # the app's menu, not a pages/ folder's
    assert picker == 1


def test_selecting_points_and_an_empty_area_on_the_map_in_a_real_browser(tmp_path):
    """A box drawn on the map selects sentences (a table of them appears); a small box over an empty area
    selects none and decodes the spot at its centre. The selection is what the browser sends back, which
    AppTest cannot produce."""

    def canvas(page) -> dict:
        return page.locator(".vega-embed canvas").first.bounding_box()  # the plot area, its axes and legend

    def drag(page, x0: float, y0: float, x1: float, y1: float) -> None:
        box = canvas(page)
        page.mouse.move(box["x"] + x0 * box["width"], box["y"] + y0 * box["height"])
        page.mouse.down()
        begin_action(page)
        page.mouse.move(box["x"] + x1 * box["width"], box["y"] + y1 * box["height"], steps=8)
        page.mouse.up()
        settle(page, rerun=True)  # the selection went to the server and its run is drawn

    def exceptions(page) -> list[str]:
        return [e.inner_text() for e in page.query_selector_all('[data-testid="stException"]')]

    with tiny_app_page(tmp_path, PAGES["embedding_map"], ready=".vega-embed canvas") as page:
        # The empty area first: a drag inside an existing selection would move that selection.
        drag(page, 0.08, 0.60, 0.14, 0.68)  # an empty area near the plot's lower left corner (of the tiny map)
        spot = page.get_by_text("The spot you picked").count()
        errors = exceptions(page)
        box = canvas(page)
        page.mouse.dblclick(box["x"] + 0.5 * box["width"], box["y"] + 0.3 * box["height"])  # clears the selection
        settle(page)
        drag(page, 0.10, 0.03, 0.99, 0.72)  # most of the plot area (inside its axes)
        everything = page.get_by_text(re.compile(r"^\d+ selected")).count()
        errors += exceptions(page)
    assert not errors, errors
    assert (everything, spot) == (1, 1)
