"""`streamlit run app.py` serves the app through an st.App whose start-up loads the default model early."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from streamlit.web.server.app_discovery import discover_asgi_app

import invemb_core as ie
from invemb_app import startup, state

ROOT = Path(__file__).resolve().parents[1]


def test_streamlit_run_finds_the_app_with_its_start_up_hook():
    found = discover_asgi_app(ROOT / "app.py")
    assert found.is_asgi_app and found.import_string == "app:app"


@pytest.mark.slow  # a fresh interpreter
def test_the_server_imports_app_py_without_torch():
    """The server imports app.py to find ``app`` before it answers; torch belongs to the warm-up thread."""
    out = subprocess.run(
        [sys.executable, "-c", "import app, sys; print('torch' in sys.modules, type(app.app).__name__)"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.split() == ["False", "App"]


@pytest.fixture
def loads(monkeypatch, app_checkpoints) -> list[str]:
    """Every checkpoint ``ie.load`` reads, with the app's model cache empty to begin with."""
    calls: list[str] = []
    real = ie.load
    monkeypatch.setattr(state.ie, "load", lambda path: calls.append(str(path)) or real(path))
    state.load_model.clear()
    yield calls
    state.load_model.clear()


def test_warm_up_fills_the_cache_the_first_page_reads(loads):
    startup.warm_up()
    first = state.current_checkpoint()  # what the sidebar offers first
    assert loads == [first]
    model = state.load_model(*state.key(first))  # the page's call: a cache hit, no second load
    assert loads == [first] and model.info["path"] == first


def test_a_broken_checkpoint_leaves_the_message_to_the_pages(loads, monkeypatch, capfd):
    monkeypatch.setattr(state.ie, "load", lambda path: (_ for _ in ()).throw(ie.InvEmbError("no weights")))
    startup.warm_up()  # no exception escapes the thread
    assert "warm-up skipped: no weights" in capfd.readouterr().err  # streamlit's loggers print to stderr
