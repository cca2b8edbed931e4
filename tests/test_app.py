"""Every page of the app renders, does its main job, and turns bad input into a message, not a traceback.

The app runs against a checkpoints/ folder holding the tiny committed checkpoint (with its small map).
"""

import pytest
from streamlit.testing.v1 import AppTest

from app_support import load_map, load_model  # noqa: F401 - imported so the caches can be cleared

PAGES = ["pages/reconstruct.py", "pages/interpolate.py", "pages/embedding_map.py", "pages/model_card.py"]
HOSTILE = [
    "",
    "   ",
    "x" * 10_000,
    "🙂🙃🙂",
    "日本語 العربية Кириллица",
    "<script>alert(1)</script>",
    "![x](http://example.com/x.png) **bold**",
    "nul\x00byte",
]


@pytest.fixture(scope="module", autouse=True)
def _checkpoints(app_checkpoints):
    return app_checkpoints


def app(page: str | None = None) -> AppTest:
    at = AppTest.from_file("../app.py", default_timeout=60)
    at.run()
    if page:
        at.switch_page(page).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


@pytest.mark.parametrize("page", PAGES)
def test_every_page_renders(page):
    at = app(page)
    assert at.title[0].value
    assert not at.error, [e.value for e in at.error]


def test_reconstruct_shows_one_row_per_input_and_every_strategy():
    at = app("pages/reconstruct.py")
    at.text_area(key="rec_text").set_value("a dog runs\ntwo men talk\na girl sings").run()
    assert not at.exception
    side = at.dataframe[0].value
    assert len(side) == 3
    assert {"greedy", "T=0.3", "T=0.7", "T=1", "T=1.5", "rerank 8"} <= set(side.columns)
    scores = at.dataframe[1].value
    assert len(scores) == 3 * 6 and {"exact", "bleu", "cosine"} <= set(scores.columns)


def test_resample_changes_the_seed():
    at = app("pages/reconstruct.py")
    before = at.number_input(key="rec_seed").value
    at.button(key="rec_resample").click().run()
    assert not at.exception and at.number_input(key="rec_seed").value == before + 1


@pytest.mark.parametrize("text", HOSTILE)
def test_reconstruct_survives_hostile_text(text):
    at = app("pages/reconstruct.py")
    at.text_area(key="rec_text").set_value(text).run()
    assert not at.exception
    if text.strip():
        assert at.error or len(at.dataframe[0].value) == 1
    else:
        assert at.info  # "type a sentence"
    assert all(text not in (m.value or "") for m in at.markdown if len(text) > 3)  # never echoed as markdown


def test_interpolate_table_has_one_row_per_step_and_arithmetic_decodes():
    at = app("pages/interpolate.py")
    at.slider(key="interp_steps").set_value(7).run()
    assert not at.exception
    assert len(at.dataframe[0].value) == 7
    assert at.text  # the arithmetic result


@pytest.mark.parametrize("text", ["", "<script>alert(1)</script>", "x" * 10_000])
def test_interpolate_bad_input_is_an_error_message(text):
    at = app("pages/interpolate.py")
    at.text_input(key="interp_a").set_value(text).run()
    assert not at.exception
    if not text.strip():
        assert at.error


def test_map_places_sentences_and_searches():
    at = app("pages/embedding_map.py")
    at.text_area(key="map_own").set_value("a dog runs\na man sleeps").run()
    at.text_input(key="map_search").set_value("man").run()
    assert not at.exception
    assert len(at.dataframe[0].value) == 2
    for colour in ["split", "exact", "cluster", "words"]:
        at.radio(key="map_colour").set_value(colour).run()
        assert not at.exception


def test_map_hostile_own_sentences():
    at = app("pages/embedding_map.py")
    at.text_area(key="map_own").set_value("🙂\n<b>hi</b>\n" + "y" * 10_000).run()
    assert not at.exception


def test_model_card_shows_the_metrics():
    at = app("pages/model_card.py")
    assert any(m.label == "Exact match" for m in at.metric)


def test_pick_examples_and_use_map_sentences_as_a():
    at = app("pages/reconstruct.py")
    at.button(key="rec_examples").click().run()
    assert not at.exception and len(at.dataframe[0].value) == 3
    at = app("pages/interpolate.py")
    choice = at.selectbox(key="interp_pick_a").options[1]
    at.selectbox(key="interp_pick_a").set_value(choice).run()
    at.button(key="interp_use_a").click().run()
    assert not at.exception and at.text_input(key="interp_a").value == choice
