"""Reconstruct with a two-part checkpoint whose default decoding reranks, verifies and corrects: with the
wording code shortened, the default's row comes after the others (drawn when ready) and is the same
row the page would show decoding everything at once."""

from __future__ import annotations

import html
import re

import pytest
from conftest import tiny_config
from streamlit.testing.v1 import AppTest

import invemb_core as ie
from invemb_app.render import decodings_table
from invemb_core import checkpoint
from invemb_core.report import compare_decodings, default_decodings

DEFAULT = {"strategy": "rerank", "num_candidates": 3, "temperature": 0.5, "seed": 0, "verify": 0.8, "corrections": 1}
LINES = ["a man sings", "two dogs play in the park"]


@pytest.fixture(scope="module", autouse=True)
def two_part_checkpoints(tmp_path_factory, corpus):
    root = tmp_path_factory.mktemp("checkpoints")
    cfg = tiny_config(meaning="minilm", vector_size=384 + 16, decoder="autoregressive")
    ae = ie.Autoencoder.build(cfg, corpus=corpus, seed=0)
    ae.info["decoding"] = DEFAULT
    checkpoint.save(ae, root / "default")
    mp = pytest.MonkeyPatch()
    mp.setenv("INVEMB_CHECKPOINTS", str(root))
    yield root
    mp.undo()


@pytest.mark.slow  # a two-part model: MiniLM runs
def test_meaning_only_rows_come_in_two_steps_and_match_one_decoding_of_all(two_part_checkpoints):
    at = AppTest.from_file("../app.py", default_timeout=60)
    at.run()
    at.switch_page("invemb_app/pages/reconstruct.py").run()
    at.text_area(key="rec_text").set_value("\n".join(LINES)).run()
    at.slider(key="rec_keep").set_value(0.0).run()
    assert not at.exception, [e.value for e in at.exception]
    tables = [h.proto.body for h in at.get("html")][: len(LINES)]
    assert all("decoding…" not in t for t in tables)  # the default's rows replaced their placeholders

    ae = ie.load(two_part_checkpoints / "default")
    for line, body in zip(LINES, tables):
        rows = compare_decodings(ae, [line], default_decodings(ae), keep=0.0)  # every decoding in one call
        assert list(rows.decoding)[-1] == "default"
        assert body == decodings_table(rows, diff=False, writers=False)


@pytest.mark.slow  # a two-part model: MiniLM runs
def test_interpolate_walks_from_the_meaning_alone(two_part_checkpoints):
    from invemb_core.interpolate import path as interpolation_path
    from invemb_core.interpolate import tidy_path

    at = AppTest.from_file("../app.py", default_timeout=60)
    at.run()
    at.switch_page("invemb_app/pages/interpolate.py").run()
    a, b = at.text_input(key="interp_a").value, at.text_input(key="interp_b").value
    at.selectbox(key="interp_strategy").set_value("greedy").run()
    at.toggle(key="interp_meaning_only").set_value(True).run()
    assert not at.exception, [e.value for e in at.exception]
    ae = ie.load(two_part_checkpoints / "default")
    _, Z = interpolation_path(*ae.encode([a, b]), steps=7, method="slerp")
    expected = tidy_path(ae.decode(ae.from_meaning(Z[:, : ae.meaning_size]), strategy="greedy"))  # no wording code
    assert expected != tidy_path(ae.decode(Z, strategy="greedy"))  # (the whole vectors write something else)
    body = re.sub(r'<span class="ie-missing">[^<]*</span>', "", at.get("html")[0].proto.body)  # words struck out
    shown = " ".join(html.unescape(re.sub(r"<[^>]+>", " ", body)).split())  # the table's text, its marks dropped
    assert all(" ".join(text.split()) in shown for text in expected if text)
