"""What the server does once, when it starts: load the default model before anyone asks for it.

``streamlit run app.py`` finds the ``st.App`` in app.py and serves the pages through it; its lifespan hook
(below) starts one background thread that imports torch and the engine, loads the default checkpoint
into the app's model cache (``state.load_model``, an ``st.cache_resource``) and reads its lexicon. A
browser opening the app meanwhile spends a second or two loading Streamlit's page, so the first page's
script finds part of that work done and waits for the rest under the cache's lock (it is never done
twice). Cold start, launch to the first page drawn: 7.39 / 6.57 s without it, 6.03 / 5.71 s with it
(BENCHMARKS.md).
"""

from __future__ import annotations

import logging
import threading
from contextlib import asynccontextmanager
from typing import Any

THREAD = "invemb-warm-up"


class _OutsideAScript(logging.Filter):
    """Streamlit warns that a cached function runs without a script ("missing ScriptRunContext") once per
    call from this thread; that is the point here, so those lines are not printed."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.threadName != THREAD


def warm_up() -> None:
    """Load the checkpoint the sidebar offers first, and its lexicon, into the app's cache."""
    from streamlit.logger import get_logger

    quiet = _OutsideAScript()
    noisy = get_logger("streamlit.runtime.scriptrunner_utils.script_run_context")
    noisy.addFilter(quiet)
    try:
        from invemb_app import state
        from invemb_core import list_checkpoints

        found = list_checkpoints()
        if found:
            model = state.load_model(*state.key(str(found[0])))
            _ = model.lexicon  # read on first use: a property
            model.get_meaning_decoder()  # the pretrained LM behind the meaning, if the checkpoint has one
    except Exception as e:  # a broken checkpoint is the pages' to report, with their own messages
        get_logger(__name__).warning("warm-up skipped: %s", e)
    finally:
        noisy.removeFilter(quiet)


@asynccontextmanager
async def lifespan(app: Any):
    threading.Thread(target=warm_up, name=THREAD, daemon=True).start()
    yield
