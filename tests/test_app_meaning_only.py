"""The app with a checkpoint whose vector is MiniLM's meaning alone (no wording code) and whose decoder is
MiniLM's own layers: every page renders, and none offers a wording code it does not have."""

from __future__ import annotations

import pytest
from conftest import tiny_config
from streamlit.testing.v1 import AppTest
from test_app import PAGES

import invemb_core as ie
from invemb_core import checkpoint


@pytest.fixture(scope="module", autouse=True)
def meaning_only_checkpoints(tmp_path_factory, corpus):
    root = tmp_path_factory.mktemp("checkpoints")
    cfg = tiny_config(meaning="minilm", vector_size=384, decoder="autoregressive", decoder_cell="pretrained")
    ae = ie.Autoencoder.build(cfg, corpus=corpus, seed=0)
    ae.info["description"] = "MiniLM's meaning alone, decoded by MiniLM's first layer"
    checkpoint.save(ae, root / "default")
    mp = pytest.MonkeyPatch()
    mp.setenv("INVEMB_CHECKPOINTS", str(root))
    yield root
    mp.undo()


def app(page: str) -> AppTest:
    at = AppTest.from_file("../app.py", default_timeout=60)
    at.run()
    at.switch_page(page).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


@pytest.mark.parametrize("page", PAGES)
def test_every_page_renders(page):
    app(page)


def test_reconstruct_offers_no_wording_slider():
    at = app("invemb_app/pages/reconstruct.py")
    labels = [s.label for s in at.slider]
    assert "Temperature" in labels
    assert not any(label.startswith("Wording kept") for label in labels)


def test_the_model_card_says_the_vector_is_the_meaning_alone():
    at = app("invemb_app/pages/model_card.py")
    text = " ".join(m.value for m in at.markdown) + " ".join(c.value for c in at.caption)
    assert "a meaning alone" in text and "embedding alone" in text and "wording code learned" not in text
