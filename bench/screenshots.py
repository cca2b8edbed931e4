"""Screenshot every page of the app with the shipped checkpoints, for the README (docs/screenshots/).
It measures nothing and feeds no section of BENCHMARKS.md.

    python bench/screenshots.py

Same code path as the browser test (tests/test_browser.py): headless Debian Chromium via Playwright.
"""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from chromium import free_port, serve  # noqa: E402
from test_browser import screenshot_pages  # noqa: E402

from invemb_core.checkpoint import default_checkpoint_dir  # noqa: E402


def main() -> None:
    port = free_port()
    server = serve(default_checkpoint_dir(), port)
    try:
        problems, outside = screenshot_pages(f"http://127.0.0.1:{port}", ROOT / "docs" / "screenshots")
    finally:
        server.terminate()
        server.wait(timeout=10)
    print({page: texts or "ok" for page, texts in problems.items()}, "requests outside the app:", outside or "none")


if __name__ == "__main__":
    main()
