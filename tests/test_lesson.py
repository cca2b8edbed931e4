"""The Lesson page (the app's landing page): every step shows output for the sentence typed at the top, each
says what to notice and links deeper, and a new sentence changes every step's output."""

from __future__ import annotations

import pytest
from conftest import tiny_config
from streamlit.testing.v1 import AppTest

import invemb_core as ie
from invemb_app.render import vector_strip
from invemb_core import checkpoint

STEPS = 6


@pytest.fixture(scope="module")
def _tiny(app_checkpoints):
    return app_checkpoints


def lesson() -> AppTest:
    at = AppTest.from_file("../app.py", default_timeout=60)
    at.run()  # the landing page: no switch_page
    assert not at.exception, [e.value for e in at.exception]
    return at


def outputs(at: AppTest) -> dict[str, object]:
    """What each step showed: the vector's strip and numbers, the decoded table, the samples, the walk, the
    nearest sentence on the map."""
    bodies = [h.proto.body for h in at.get("html")]
    return {
        "strip": bodies[0],
        "numbers": at.text[0].value,
        "decoded": bodies[1],
        "samples": bodies[2],
        "walk": bodies[3],
        "nearest": at.text[1].value,
    }


def test_the_lesson_is_the_landing_page_and_every_step_shows_output(_tiny):
    at = lesson()
    assert at.title[0].value == "Lesson"
    assert at.text_input(key="lesson_text").value  # pre-filled
    assert [h.value[:2] for h in at.subheader] == [f"{i}." for i in range(1, STEPS + 1)]
    notices = [m.value for m in at.markdown if m.value.startswith("**What to notice:**")]
    assert len(notices) == STEPS - 1  # step 3 says instead that this checkpoint has no meaning part to keep
    assert any("no separate meaning part" in i.value for i in at.info)
    links = [link.proto.page for link in at.get("page_link")]
    assert links == ["model_card", "reconstruct", "reconstruct", "reconstruct", "interpolate", "embedding_map"]
    shown = outputs(at)
    assert shown["strip"].count("<i class=") == 128  # the tiny checkpoint's vector: 128 numbers
    assert "the vector: 128 numbers" in shown["strip"]
    assert shown["numbers"].startswith("Its first numbers: ")
    assert '<span class="ie-label">decoded</span>' in shown["decoded"]
    assert all(f'<span class="ie-label">T {t} #' in shown["samples"] for t in ("0.3", "1"))
    assert shown["walk"].count("<b>step ") == 3  # A, three points between, B
    assert shown["nearest"].startswith("Nearest on the map: ")


def test_a_new_sentence_changes_every_steps_output(_tiny):
    at = lesson()
    before = outputs(at)
    at.text_input(key="lesson_text").set_value("Two men play chess in a park.").run()
    assert not at.exception, [e.value for e in at.exception]
    after = outputs(at)
    for step in ["strip", "numbers", "decoded", "samples", "walk"]:
        assert after[step] != before[step], step
    assert "two men play" in after["decoded"]  # the input row: the new sentence as the tokenizer keeps it


def test_the_walk_goes_to_the_chosen_sentence(_tiny):
    at = lesson()
    choice = at.selectbox(key="lesson_b").options[1]
    at.selectbox(key="lesson_b").set_value(choice).run()
    assert not at.exception
    assert "<b>B</b>" in outputs(at)["walk"]
    assert at.selectbox(key="lesson_b").value == choice


def test_an_empty_sentence_asks_for_one(_tiny):
    at = lesson()
    at.text_input(key="lesson_text").set_value("   ").run()
    assert not at.exception and any("Type a sentence" in i.value for i in at.info)


def test_a_two_part_vector_is_drawn_as_its_meaning_and_wording():
    strip = vector_strip([0.5, -0.25, 0.0, 1.0, -2.0], meaning_size=2)
    assert "meaning: 2 numbers" in strip and "wording code: 3 numbers" in strip
    assert '<i class="p4"></i><i class="n2"></i>' in strip  # each part against its own largest number
    assert '<i class="n0"></i><i class="p2"></i><i class="n4"></i>' in strip


def test_with_a_two_part_checkpoint_the_meaning_alone_speaks(tmp_path_factory, corpus, monkeypatch):
    root = tmp_path_factory.mktemp("checkpoints")
    ae = ie.Autoencoder.build(
        tiny_config(meaning="minilm", vector_size=384 + 16, decoder="autoregressive"), corpus=corpus
    )
    checkpoint.save(ae, root / "default")
    monkeypatch.setenv("INVEMB_CHECKPOINTS", str(root))
    at = lesson()
    assert not at.info  # every step has output
    notices = [m.value for m in at.markdown if m.value.startswith("**What to notice:**")]
    assert len(notices) == STEPS - 1  # this checkpoint ships no map
    assert "384 numbers of meaning" in notices[2] and "cosine of" in notices[2]
    assert "meaning: 384 numbers" in at.get("html")[0].proto.body
    assert '<span class="ie-label">meaning alone</span>' in at.get("html")[2].proto.body
