"""The Languages page and the language choices (issue 40), with a tiny two-part default and tiny German and
French checkpoints (untrained: what they write is noise; the page's wiring and messages are what is tested)."""

from __future__ import annotations

import pytest
import torch
from conftest import tiny_config
from streamlit.testing.v1 import AppTest
from test_language import tiny_language

import invemb_core as ie
from invemb_core import checkpoint
from invemb_core.multilingual_map import agreement

PAGE = "invemb_app/pages/languages.py"


@pytest.fixture(scope="module", autouse=True)
def language_checkpoints(tmp_path_factory, corpus):
    root = tmp_path_factory.mktemp("checkpoints")
    cfg = tiny_config(meaning="minilm", vector_size=384 + 16, decoder="autoregressive")
    checkpoint.save(ie.Autoencoder.build(cfg, corpus=corpus, seed=0), root / "default")
    tiny_language("de").save(root / "de")
    tiny_language("fr").save(root / "fr")
    mp = pytest.MonkeyPatch()
    mp.setenv("INVEMB_CHECKPOINTS", str(root))
    yield root
    mp.undo()


def page() -> AppTest:
    at = AppTest.from_file("../app.py", default_timeout=60)
    at.run()
    at.switch_page(PAGE).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_a_german_sentence_is_written_in_every_language():
    at = page()
    at.radio(key="lang_in").set_value("de").run()
    at.text_area(key="lang_text_de").set_value("Ein Hund rennt durch den Schnee.").run()
    assert not at.exception
    tables = [h.proto.body for h in at.get("html") if "<table" in h.proto.body]
    assert all(f"<th>{name}</th>" in tables[0] for name in ("you typed", "English", "Deutsch", "Français"))
    assert "Ein Hund rennt durch den Schnee." in tables[0]
    assert any("German student encoder" in c.value or "Deutsch student encoder" in c.value for c in at.caption)
    assert not at.warning


def test_typed_markup_is_shown_as_text():
    at = page()
    at.text_area(key="lang_text_en").set_value("**bold** <b>hi</b> [link](http://example.com)").run()
    tables = [h.proto.body for h in at.get("html") if "<table" in h.proto.body]
    assert "**bold** &lt;b&gt;hi&lt;/b&gt; [link](http://example.com)" in tables[0] and "<b>hi" not in tables[0]


def test_a_sentence_in_another_language_gets_a_warning():
    at = page()
    at.radio(key="lang_in").set_value("de").run()
    at.text_area(key="lang_text_de").set_value("A man rides his bike through the city with a dog.").run()
    assert any("reads as English" in w.value for w in at.warning)
    at.radio(key="lang_in").set_value("en").run()
    at.text_area(key="lang_text_en").set_value("Un homme fait du vélo dans la rue avec un chien.").run()
    assert any("reads as Français" in w.value for w in at.warning)


def test_one_click_reads_a_sentence_typed_in_another_language_with_its_encoder():
    at = page()
    french = "Un homme fait du vélo dans la rue avec un chien."
    at.text_area(key="lang_text_en").set_value(french).run()
    assert any("reads as Français" in w.value for w in at.warning)  # MiniLM read it, and the page says so
    at.button(key="lang_follow").click().run()
    assert at.radio(key="lang_in").value == "fr" and at.text_area(key="lang_text_fr").value == french
    assert not at.warning and any("Français encoder reads" in i.value for i in at.info)
    assert any("Français student" in c.value for c in at.caption)


def test_a_walk_from_english_to_german_is_written_in_french():
    at = page()
    at.radio(key="lang_walk_b_in").set_value("de").run()
    at.radio(key="lang_walk_out").set_value("fr").run()
    assert not at.exception
    bodies = [h.proto.body for h in at.get("html")]
    assert any("step 1" in body and "step 3" in body for body in bodies)  # A, 3 steps, B: the default 5 points
    assert any("Français decoder" in c.value for c in at.caption)


def test_agreement_counts_captions_whose_versions_meet():
    torch.manual_seed(0)
    en = torch.nn.functional.normalize(torch.randn(20, 16), dim=-1)
    same = {"en": en, "de": en + 0.01 * torch.randn(20, 16), "fr": en + 0.01 * torch.randn(20, 16)}
    assert agreement(same) == 1.0
    shuffled = {"en": en, "de": en.roll(1, 0), "fr": en.roll(2, 0)}
    assert agreement(shuffled) == 0.0


def test_reconstruct_writes_the_meaning_alone_in_german():
    at = AppTest.from_file("../app.py", default_timeout=60)
    at.run()
    at.switch_page("invemb_app/pages/reconstruct.py").run()
    at.text_area(key="rec_text").set_value("A dog runs through the snow.").run()
    at.slider(key="rec_keep").set_value(0.0).run()
    at.radio(key="rec_language").set_value("de").run()
    assert not at.exception, [e.value for e in at.exception]
    tables = [h.proto.body for h in at.get("html") if "<th>Deutsch</th>" in h.proto.body]
    assert len(tables) == 1 and "<th>you typed</th>" in tables[0] and "A dog runs through the snow." in tables[0]


def test_interpolate_writes_the_walk_in_french():
    at = AppTest.from_file("../app.py", default_timeout=60)
    at.run()
    at.switch_page("invemb_app/pages/interpolate.py").run()
    at.radio(key="interp_language").set_value("fr").run()
    assert not at.exception, [e.value for e in at.exception]


@pytest.mark.slow  # UMAP's import and compilation
def test_the_three_language_map_and_its_spots(language_checkpoints):
    from test_language import ENGLISH, GERMAN

    from invemb_core.multilingual_map import encode_languages, language_map
    from invemb_core.projection import save_projection

    ae, de, fr = (ie.load(language_checkpoints / name) for name in ("default", "de", "fr"))
    texts = {"en": ENGLISH, "de": GERMAN, "fr": GERMAN}  # French text: the test is the wiring, not the language
    projection = language_map(ae, encode_languages(ae, [de, fr], texts), texts, clusters=3)
    save_projection(projection, language_checkpoints / "default")
    at = AppTest.from_file("../app.py", default_timeout=120)
    at.run()
    at.switch_page("invemb_app/pages/embedding_map.py").run()
    at.radio(key="map_corpus").set_value("languages").run()
    at.radio(key="map_spot_language").set_value("de").run()
    at.radio(key="map_centre_language").set_value("fr").run()
    assert not at.exception, [e.value for e in at.exception]
    captions = " ".join(c.value for c in at.caption)
    assert "nearest neighbour of" in captions and "Deutsch decoder" in captions


def test_english_pages_warn_about_a_german_sentence():
    at = AppTest.from_file("../app.py", default_timeout=60)
    at.run()
    at.switch_page("invemb_app/pages/reconstruct.py").run()
    at.text_area(key="rec_text").set_value("Zwei Männer spielen Fußball im Park.").run()
    assert any("reads as Deutsch" in w.value and "Languages page" in w.value for w in at.warning)
