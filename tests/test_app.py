"""Every page of the app renders, does its main job, and turns bad input into a message, not a traceback.

The app runs against a checkpoints/ folder holding the tiny committed checkpoint (with its small map).
"""

import html
import json
import re
from pathlib import Path

import pandas as pd
import pytest
from conftest import TINY_CHECKPOINT as TINY
from streamlit.dataframe_util import convert_arrow_bytes_to_pandas_df
from streamlit.testing.v1 import AppTest

from invemb_app.charts import BACKDROP_POINTS, box_centre, rows_in_box
from invemb_app.state import cluster_summary, everyday_sentences, key, load_map, load_model

PAGES = [
    "invemb_app/pages/lesson.py",
    "invemb_app/pages/reconstruct.py",
    "invemb_app/pages/interpolate.py",
    "invemb_app/pages/embedding_map.py",
    "invemb_app/pages/similarity.py",
    "invemb_app/pages/languages.py",
    "invemb_app/pages/compare.py",
    "invemb_app/pages/train.py",
    "invemb_app/pages/model_card.py",
]
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


def blocks(at: AppTest) -> list[str]:
    """The bodies of the page's HTML blocks (one per input sentence, then the samples of one sentence)."""
    return [h.proto.body for h in at.get("html")]


def test_reconstruct_shows_one_block_per_input_with_every_decoding():
    at = app("invemb_app/pages/reconstruct.py")
    at.text_area(key="rec_text").set_value("a dog runs\ntwo men talk\na girl sings").run()
    assert not at.exception
    per_sentence = blocks(at)[:-2]  # then the temperature section's alternatives and samples
    assert len(per_sentence) == 3
    for body in per_sentence:
        for name in ["greedy", "T 0.3", "T 0.7", "T 1<", "T 1.5", "rerank 8"]:
            assert f'<span class="ie-label">{name}' in body
        assert 1 + 1 + 1 <= body.count("<tr>") <= 1 + 1 + 6  # header, input, a row per distinct output


def test_each_lines_outputs_depend_on_that_line_alone():
    at = app("invemb_app/pages/reconstruct.py")
    at.multiselect(key="rec_temps").set_value([1.5, 2.0]).run()
    at.text_area(key="rec_text").set_value("a dog runs\ntwo men talk\na girl sings").run()
    before = blocks(at)[:-2]
    at.text_area(key="rec_text").set_value("a dog runs\na girl sings\nthree women talk").run()
    after = blocks(at)[:-2]
    assert after[0] == before[0] and after[1] == before[2]  # samples too: other lines do not change them
    assert after[2] not in before


def test_new_lines_are_decoded_together_and_each_gives_what_it_gives_alone(monkeypatch):
    from invemb_app import state

    calls = []
    real = state.compare_decodings
    monkeypatch.setattr(
        state, "compare_decodings", lambda ae, lines, *a, **k: calls.append(list(lines)) or real(ae, lines, *a, **k)
    )
    lines = ["a man sings", "two dogs play in the park", "a girl reads"]
    state.decoded_lines.clear()
    at = app("invemb_app/pages/reconstruct.py")
    at.multiselect(key="rec_temps").set_value([1.0, 2.0]).run()
    calls.clear()
    at.text_area(key="rec_text").set_value("\n".join(lines)).run()
    together = blocks(at)[:-2]
    assert calls == [lines]  # one batch for the three new lines
    state.decoded_lines.clear()
    for line, block in zip(lines, together):
        at.text_area(key="rec_text").set_value(line).run()
        assert blocks(at)[0] == block  # samples included
    assert calls[1:] == [[line] for line in lines]


def _background_script():
    import streamlit as st

    from invemb_app.state import in_background

    st.session_state.setdefault("word", "kept")

    def read_state() -> str:
        return st.session_state.word  # session state works in the background thread

    def fail() -> None:
        raise ValueError("from the background")

    st.text(in_background(read_state).result())
    try:
        in_background(fail).result()
    except ValueError as e:
        st.text(f"caught: {e}")


def test_background_work_reads_the_session_and_hands_back_its_errors():
    at = AppTest.from_function(_background_script, default_timeout=30).run()
    assert not at.exception
    assert [t.value for t in at.text] == ["kept", "caught: from the background"]


def test_temperatures_draw_with_independent_seeds():
    from invemb_core.report import default_decodings

    seeds = [d["seed"] for d in default_decodings(load_model(*key(str(TINY))), seed=3).values() if "seed" in d]
    assert len(set(seeds)) == len(seeds)


def test_temperature_section_shows_alternatives_and_distinct_samples():
    at = app("invemb_app/pages/reconstruct.py")
    at.slider(key="rec_temperature").set_value(1.5).run()
    at.number_input(key="rec_samples").set_value(5).run()
    assert not at.exception
    alternatives = blocks(at)[-2]
    for column in ["position", "greedy", "p(greedy)", "top alternatives at this T"]:
        assert f"<th>{column}</th>" in alternatives
    assert blocks(at)[-1].count("<tr>") == 1 + 5
    assert any(re.search(r"\d+ distinct outputs? in 5 samples", m.value) for m in at.markdown)


def test_temperature_section_follows_the_text_and_says_when_lines_are_dropped():
    at = app("invemb_app/pages/reconstruct.py")
    at.text_area(key="rec_text").set_value("a dog runs\ntwo men talk").run()
    assert at.selectbox(key="rec_which").options == ["1: a dog runs", "2: two men talk"]
    at.text_area(key="rec_text").set_value("\n".join(f"a cat number {i}" for i in range(22))).run()
    assert at.selectbox(key="rec_which").value == "1: a cat number 0"
    assert any("first 20 of your 22 lines" in i.value for i in at.info)


def test_resample_changes_the_seed():
    at = app("invemb_app/pages/reconstruct.py")
    before = at.number_input(key="rec_seed").value
    at.button(key="rec_resample").click().run()
    # past every seed the temperature section drew with (its 6 samples: seed .. seed + 5)
    assert not at.exception and at.number_input(key="rec_seed").value == before + 6


@pytest.mark.slow  # eight page runs; the fast tier types hostile text into every page (test_no_markdown_injection)
@pytest.mark.parametrize("text", HOSTILE)
def test_reconstruct_survives_hostile_text(text):
    at = app("invemb_app/pages/reconstruct.py")
    at.text_area(key="rec_text").set_value(text).run()
    assert not at.exception
    if text.strip():
        assert at.error or len(blocks(at)) == 3
    else:
        assert at.info  # "type a sentence"
    assert all(text not in (m.value or "") for m in at.markdown if len(text) > 3)  # never echoed as markdown


def test_interpolate_table_has_one_row_per_step_and_arithmetic_decodes():
    at = app("invemb_app/pages/interpolate.py")
    at.slider(key="interp_steps").set_value(7).run()
    assert not at.exception
    assert blocks(at)[0].count("<tr>") == 1 + 7
    assert "<b>A</b>" in blocks(at)[0] and "<b>B</b>" in blocks(at)[0]
    assert at.text  # the arithmetic result
    (chart,) = at.get("vega_lite_chart")  # the path on the map over a sketch of the corpus
    backdrop, path = (convert_arrow_bytes_to_pandas_df(d.data.data) for d in chart.proto.datasets)
    assert list(path.point) == ["A", *(f"step {i}" for i in range(1, 6)), "B"]
    assert list(path.label) == ["A", "", "", "", "", "", "B"]
    assert 0 < len(backdrop) <= BACKDROP_POINTS


@pytest.mark.parametrize("text", ["", "<script>alert(1)</script>", "x" * 10_000])
def test_interpolate_bad_input_is_a_message(text):
    at = app("invemb_app/pages/interpolate.py")
    at.text_input(key="interp_a").set_value(text).run()
    assert not at.exception
    if not text.strip():
        assert any("Type both sentences" in i.value for i in at.info)
    elif len(text) > 1000:
        assert any("Sentence A is longer" in w.value for w in at.warning)


def test_map_places_sentences_and_searches():
    at = app("invemb_app/pages/embedding_map.py")
    at.text_area(key="map_own").set_value("A Dog runs\na man sleeps").run()
    at.text_input(key="map_search").set_value("man").run()
    assert not at.exception
    placed = next(b for b in blocks(at) if "<th>your sentence</th>" in b)
    assert placed.count("<tr>") == 1 + 2
    assert '<td class="">A Dog runs</td>' in placed  # shown as typed, not lower-cased
    assert any("contain the search text" in t.value for t in at.text)
    for colour in ["split", "exact", "cluster", "words"]:
        at.radio(key="map_colour").set_value(colour).run()
        assert not at.exception


def test_map_draws_the_corpus_then_search_rings_then_your_stars_on_one_canvas():
    at = app("invemb_app/pages/embedding_map.py")
    at.text_input(key="map_search").set_value("a").run()
    assert not at.exception
    (chart,) = at.get("vega_lite_chart")
    spec = json.loads(chart.proto.spec)
    marks = [layer["mark"]["type"] for layer in spec["layer"]]
    # corpus, cluster names (halo, text), rings, stars, halo, numbers: on top
    assert marks == ["circle", "text", "text", "point", "point", "text", "text"]
    assert spec["layer"][4]["mark"]["fill"] == "gold"
    assert [t["field"] for t in spec["layer"][4]["encoding"]["tooltip"]] == ["sentence", "decoded"]
    params = spec.get("params") or spec["layer"][0]["params"]  # altair lifts a layer's params to the top
    assert [p["name"] for p in params] == ["box", "pick"]  # drag selects a box, a click picks a point
    assert "isValid(event.item.datum.row)" in params[1]["select"]["on"]  # only a point with a row: not a star
    assert spec["usermeta"]["embedOptions"]["renderer"] == "canvas"  # no element per point
    corpus = convert_arrow_bytes_to_pandas_df(chart.proto.datasets[0].data.data)
    assert len(corpus) == len(load_map(*key(str(TINY))).table)


def test_map_hostile_own_sentences():
    at = app("invemb_app/pages/embedding_map.py")
    at.text_area(key="map_own").set_value("🙂\n<b>hi</b>\n" + "y" * 10_000).run()
    assert not at.exception


def test_model_card_shows_the_metrics():
    at = app("invemb_app/pages/model_card.py")
    assert any(m.label == "Exact match" for m in at.metric)


def test_pick_examples_and_use_map_sentences_as_a():
    at = app("invemb_app/pages/reconstruct.py")
    at.button(key="rec_examples").click().run()
    assert not at.exception and len(blocks(at)) == 3 + 2  # and the temperature section's two tables
    captions = at.text_area(key="rec_text").value
    at.button(key="rec_everyday").click().run()
    everyday = at.text_area(key="rec_text").value.splitlines()
    assert not at.exception and len(everyday) == 3 and everyday != captions.splitlines()
    assert all(line in everyday_sentences() for line in everyday)
    at = app("invemb_app/pages/interpolate.py")
    choice = at.selectbox(key="interp_pick_a").options[1]
    at.selectbox(key="interp_pick_a").set_value(choice).run()
    at.button(key="interp_use_a").click().run()
    assert not at.exception and at.text_input(key="interp_a").value == choice


def test_map_names_clusters_and_decodes_their_centres():
    at = app("invemb_app/pages/embedding_map.py")
    shown = next(b for b in blocks(at) if "<th>centre decodes to</th>" in b)
    clusters = cluster_summary(*key(str(TINY)), load_map(*key(str(TINY))).name)
    assert clusters.sentences.sum() == len(load_map(*key(str(TINY))).table)
    assert shown.count("<tr>") == 1 + len(clusters)
    for centre in clusters["centre decodes to"]:
        assert isinstance(centre, str) and html.escape(centre) in shown


def test_a_box_selects_the_rows_inside_it_and_has_a_centre():
    import pandas as pd

    table = pd.DataFrame({"x": [0.0, 1.0, 2.0, 3.0], "y": [0.0, 1.0, 5.0, 1.5]}, index=[10, 11, 12, 13])
    assert rows_in_box(table, {"x": [3.5, 0.5], "y": [0.5, 2.0]}) == [11, 13]  # either way round
    assert rows_in_box(table, {"x": [5.0, 6.0], "y": [0.0, 1.0]}) == []
    assert rows_in_box(table, {}) == []  # no box
    assert box_centre({"x": [1.0, 2.0], "y": [4.0, 3.0]}) == (1.5, 3.5)


def test_map_far_spot_says_so():
    at = app("invemb_app/pages/embedding_map.py")
    at.number_input(key="map_x").set_value(1000.0).run()
    assert not at.exception
    assert any("far from every sentence" in w.value for w in at.warning)


def test_a_corpus_switch_starts_the_spot_again_on_the_new_map(monkeypatch, tmp_path):
    """Two maps far apart (the second is the first moved by 50): the spot typed for the first map is not
    carried to the second, where it would be far from every sentence."""
    import shutil

    root = tmp_path / "checkpoints"
    shutil.copytree(TINY, root / "default")
    table = pd.read_csv(TINY / "projection-tiny.csv", keep_default_na=False)
    table.assign(x=table.x + 50, y=table.y + 50).to_csv(root / "default" / "projection-moved.csv", index=False)
    shutil.copy(TINY / "projection-tiny.safetensors", root / "default" / "projection-moved.safetensors")
    monkeypatch.setenv("INVEMB_CHECKPOINTS", str(root))
    at = app("invemb_app/pages/embedding_map.py")
    assert at.radio(key="map_corpus").value == "tiny"
    at.radio(key="map_corpus").set_value("moved").run()
    assert not at.exception, [e.value for e in at.exception]
    assert not any("far from every sentence" in w.value for w in at.warning)
    assert at.number_input(key="map_x").value == round(float(table.x.median()) + 50, 2)


def test_unknown_characters_are_named():
    at = app("invemb_app/pages/reconstruct.py")
    at.text_area(key="rec_text").set_value("a dog 🙂 runs").run()
    assert any("U+1F642 SLIGHTLY SMILING FACE" in w.value and "[UNK]" in w.value for w in at.warning)


def test_compare_noise_rows_and_sentence_blocks():
    at = app("invemb_app/pages/compare.py")
    at.text_area(key="cmp_text").set_value("a dog runs on the beach\ntwo men play chess").run()
    assert not at.exception and len(blocks(at)) == 1 + 2  # the noise table waits for its toggle
    at.toggle(key="cmp_noise").set_value(True).run()
    assert not at.exception
    bodies = blocks(at)
    assert len(bodies) == 1 + 2 + 1  # the checkpoints, one block per sentence, then the noise table
    assert bodies[-1].count("<tr>") == 1 + 6  # header + one row per noise size


@pytest.mark.slow
def test_compare_renders_every_shipped_checkpoint(monkeypatch):
    from invemb_core.checkpoint import list_checkpoints

    shipped = Path(__file__).resolve().parent.parent / "checkpoints"
    monkeypatch.setenv("INVEMB_CHECKPOINTS", str(shipped))
    names = [p.name for p in list_checkpoints(shipped)]
    at = AppTest.from_file("../app.py", default_timeout=180)
    at.run()
    at.switch_page("invemb_app/pages/compare.py").run()
    at.multiselect(key="cmp_checkpoints").set_value([str(shipped / n) for n in names]).run()
    assert not at.exception, [e.value for e in at.exception]
    facts, *per_sentence, _ = blocks(at)
    assert [n for n in names if f'<td class="">{n}</td>' in facts] == names
    for body in per_sentence:
        assert all(f'<td class="">{n}</td>' in body for n in names)


def test_decoded_lines_forget_the_oldest_and_hand_out_copies():
    from invemb_app.state import DecodedLines

    lines = DecodedLines(size=2)
    for name in ["a", "b", "c"]:
        lines.put((name,), pd.DataFrame({"output": [name]}))
    assert lines.get(("a",)) is None and lines.get(("b",)) is not None  # "a" went first; "b" is now newest
    lines.put(("d",), pd.DataFrame({"output": ["d"]}))
    assert lines.get(("c",)) is None and lines.get(("b",)) is not None
    copy = lines.get(("b",))
    copy.loc[0, "output"] = "changed"
    assert lines.get(("b",)).output[0] == "b"  # a page editing its rows never edits the cache
