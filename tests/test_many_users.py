"""Twenty sessions at once: no exception, no cross-talk, one model in memory.

Streamlit runs each session's script in its own thread, all sharing the ``st.cache_resource`` model.
AppTest cannot run concurrently (it swaps a process-global runtime), so this drives the same cached
loaders and the same engine calls the pages make, from 20 threads at once. bench/many_users.py does the
same through 20 real browser sessions against a live server.
"""

import shutil
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from conftest import TINY_CHECKPOINT

import invemb_core as ie
from invemb_core.report import compare_decodings, default_decodings

SESSIONS = 20
WORDS = ["dog", "cat", "man", "woman", "boy", "girl", "horse", "bike", "car", "tree"]


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS")) / 1024


@pytest.mark.slow
def test_twenty_concurrent_sessions(tmp_path, monkeypatch):
    shutil.copytree(TINY_CHECKPOINT, tmp_path / "default")
    path = str(tmp_path / "default")
    loads = []
    real_load = ie.load
    monkeypatch.setattr(ie, "load", lambda p=None: loads.append(p) or real_load(p))
    from invemb_app.state import key, load_map, load_model

    load_model.clear()
    load_map.clear()
    start = threading.Barrier(SESSIONS)

    def session(i: int) -> tuple[str, object, object]:
        sentence = f"a {WORDS[i % 10]} and {i} {WORDS[(i * 3) % 10]}s play"
        ae, projection = load_model(*key(path)), load_map(*key(path))
        start.wait()  # everyone computes at the same moment
        table = None
        for _ in range(3):
            table = compare_decodings(ae, [sentence], default_decodings(ae, seed=i))
            xy = projection.place(ae.encode([sentence]))
        return sentence, table, xy

    session_alone = None
    before = None
    with ThreadPoolExecutor(max_workers=SESSIONS) as pool:
        before = rss_mb()
        results = list(pool.map(session, range(SESSIONS)))
    grown = rss_mb() - before
    ae = load_model(*key(path))
    for i, (sentence, table, xy) in enumerate(results):
        assert set(table.input) == {sentence}  # each session got its own sentence back, only its own
        session_alone = compare_decodings(ae, [sentence], default_decodings(ae, seed=i))
        assert list(table.output) == list(session_alone.output)  # same as computed alone: no interference
        assert xy.shape == (1, 2)
    assert len(loads) == 1, loads  # one model for every session
    assert grown < 300, f"memory grew by {grown:.0f} MB over {SESSIONS} sessions"
