"""Driving the app in headless Chromium: a server on a free port, the page instrumented before it loads,
and waits on what the page shows and the server sends (never fixed sleeps). Shared by the browser tests
and the benches that time or screenshot the app (bench/app_speed.py, bench/screenshots.py).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

INSTRUMENT = """
(() => {
  const state = {sent: [], recv: [], bytes: 0, mutation: 0};
  window.__invemb = state;
  const Native = window.WebSocket;
  class Timed extends Native {
    constructor(...args) {
      super(...args);
      this.addEventListener("message", (e) => {
        state.recv.push(performance.now());
        state.bytes += e.data.byteLength || e.data.size || e.data.length || 0;
      });
    }
    send(data) { state.sent.push(performance.now()); return super.send(data); }
  }
  window.WebSocket = Timed;
  // idle: when the browser was next idle after the last DOM change (drawn, canvas charts included).
  new MutationObserver(() => {
    const t = performance.now();
    state.mutation = t;
    requestIdleCallback(() => { if (state.mutation === t) state.idle = performance.now(); });
  }).observe(document, {subtree: true, childList: true, characterData: true, attributes: true});
})();
"""

# no server message for this long, no "Running..." widget, no spinner, no element of the last run still greyed,
# and the app's own script state (stApp's data-test-script-state) not "running": a page that computes silently
# for seconds sends nothing meanwhile, so quiet alone does not mean the run is over
QUIET_MS = 800
DRAWN_MS = 300  # ... and no change to the page for this long: it is drawn
SETTLED = """([quiet, drawn, rerun]) => { const s = window.__invemb; const now = performance.now();
  const answered = s.recv.length > 0 && (!rerun || (s.sent.length > 0 && s.recv[s.recv.length - 1] > s.sent[0]));
  return answered && now - s.recv[s.recv.length - 1] > quiet &&
    now - s.mutation > drawn && !document.querySelector('[data-testid="stStatusWidget"]') &&
    !document.querySelector('[data-testid="stSpinner"]') && !document.querySelector('[data-stale="true"]') &&
    document.querySelector('[data-testid="stApp"]')?.getAttribute('data-test-script-state') !== 'running'; }"""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(checkpoints: Path, port: int) -> subprocess.Popen:
    """``streamlit run app.py`` over the checkpoints folder ``checkpoints``, returned once it answers. Train-page
    runs go to a ``runs`` folder beside it (a test's temporary folder), unless $INVEMB_RUNS says otherwise."""
    env = {**os.environ, "INVEMB_CHECKPOINTS": str(checkpoints), "HF_HUB_OFFLINE": "1"}
    env.setdefault("INVEMB_RUNS", str(Path(checkpoints).parent / "runs"))
    cmd = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(ROOT / "app.py"),
        "--server.headless",
        "true",
        "--server.port",
        str(port),
        "--server.address",
        "127.0.0.1",
        "--browser.gatherUsageStats",
        "false",
    ]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2)
            return proc
        except OSError:
            time.sleep(0.3)
    proc.kill()
    raise RuntimeError("streamlit did not start within 60 s")


def settle(page, *, rerun: bool = False, timeout_ms: int = 120_000) -> None:
    """Wait until the page's script run is over and its elements are drawn (see SETTLED). With ``rerun``,
    a run the page asked for after ``begin_action`` must have taken place: call that before the action."""
    page.wait_for_function(SETTLED, arg=[QUIET_MS, DRAWN_MS, rerun], timeout=timeout_ms, polling=50)


def begin_action(page) -> None:
    """Forget the messages so far, so that ``settle(page, rerun=True)`` waits for the next run."""
    page.evaluate("() => { const s = window.__invemb; s.sent = []; s.recv = []; s.bytes = 0; }")


def open_page(browser, url: str, *, ready: str = "h1", timeout_ms: int = 120_000):
    """A new instrumented 1,400 px page on ``url``, once ``ready`` is on it and it has settled."""
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.add_init_script(INSTRUMENT)
    page.goto(url)
    page.wait_for_selector(ready, timeout=timeout_ms)
    settle(page, timeout_ms=timeout_ms)
    return page
