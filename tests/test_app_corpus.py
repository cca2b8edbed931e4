"""Your own sentences in the app: pasted or uploaded (a .txt, a .csv with its column picked), mapped, kept
by content, exported; every bad input a message, never a traceback; the Similarity page.

The app runs against a checkpoints/ folder holding the tiny committed checkpoint (a plain code: one view).
"""

import io
import json
import re

import pandas as pd
import pytest
from streamlit.dataframe_util import convert_arrow_bytes_to_pandas_df
from streamlit.testing.v1 import AppTest
from test_app import app as open_page

from invemb_core.corpus_map import EXPORT_COLUMNS

MAP = "invemb_app/pages/embedding_map.py"
SIMILARITY = "invemb_app/pages/similarity.py"
SENTENCES = [
    "a dog runs through the snow.",
    "two men are talking in a kitchen.",
    "a girl sings on a stage.",
    "a woman rides a bicycle down the street.",
    "children play football in a park.",
    "a man is cooking dinner.",
    "an old man reads a newspaper.",
    "a cat sleeps on a red sofa.",
    "people walk along the beach at sunset.",
    "a boy climbs a tall tree.",
    "two dogs play with a ball.",
    "a chef cuts vegetables in a restaurant.",
]


@pytest.fixture(scope="module", autouse=True)
def _checkpoints(app_checkpoints):
    return app_checkpoints


def app(page: str = MAP) -> AppTest:
    return open_page(page)


def yours(at: AppTest, how: str = "Paste") -> AppTest:
    at.radio(key="map_corpus").set_value("yours").run()
    at.radio(key="map_yours_how").set_value(how).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def errors(at: AppTest) -> list[str]:
    """The page's error messages as a reader sees them (Markdown's escaping backslashes removed)."""
    return [re.sub(r"\\(.)", r"\1", e.value) for e in at.error]


def map_spec(at: AppTest) -> dict:
    (chart,) = at.get("vega_lite_chart")
    return json.loads(chart.proto.spec)


def test_pasted_sentences_are_mapped_with_cluster_names_on_the_map():
    at = yours(app())
    at.text_area(key="map_yours_text").set_value("\n".join(SENTENCES + ["", SENTENCES[0]])).run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("12 sentences; 2 empty or duplicate lines skipped" in t.value for t in at.text)
    marks = [layer["mark"]["type"] for layer in map_spec(at)["layer"]]
    assert marks[:3] == ["circle", "text", "text"]  # the points, then the cluster names over their halo
    assert not at.error


def test_an_upload_through_the_page_and_a_csv_column_choice():
    at = yours(app(), "Upload a file")
    table = pd.DataFrame({"id": range(len(SENTENCES)), "topic": ["a", "b"] * 6, "text": SENTENCES})
    at.get("file_uploader")[0].set_value(("mine.csv", table.to_csv(index=False).encode(), "text/csv")).run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.selectbox(key="map_yours_column").value == "text"  # guessed by its name
    assert any("'mine.csv': 12 sentences" in t.value for t in at.text)
    at.selectbox(key="map_yours_group").set_value("topic").run()
    at.radio(key="map_colour").set_value("split").run()
    assert not at.exception, [e.value for e in at.exception]
    at.selectbox(key="map_yours_column").set_value("id").run()  # numbers as sentences: still a map
    assert not at.exception and any("12 sentences" in t.value for t in at.text)


@pytest.mark.parametrize(
    "name, data, message",
    [
        ("empty.txt", b"", "is empty"),
        ("blank.txt", b"\n \n\t\n", "is empty"),
        ("image.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary"),
        ("latin1.txt", "café au lait\n".encode("latin-1"), "not UTF-8"),
        ("big.txt", b"a sentence.\n" * (50 * 1024 * 1024 // 12), "50.0 MB"),
        ("bad.csv", b"id,topic\n1,a\n", None),
    ],
)
def test_bad_uploads_get_a_message_not_a_traceback(name, data, message):
    at = yours(app(), "Upload a file")
    at.get("file_uploader")[0].set_value((name, data, "text/plain")).run()
    assert not at.exception, [e.value for e in at.exception]
    if message:
        assert any(message in e for e in errors(at)), errors(at)
    assert not at.get("vega_lite_chart")


def test_the_map_is_drawn_before_the_sentences_are_decoded_back(monkeypatch):
    import streamlit as st

    from invemb_app import corpora

    monkeypatch.setattr(corpora, "decode_back", lambda *a, **k: st.stop())  # as a click would stop the run
    at = yours(app())
    at.text_area(key="map_yours_text").set_value("\n".join(SENTENCES[::-1][:11])).run()
    (chart,) = at.get("vega_lite_chart")
    corpus = convert_arrow_bytes_to_pandas_df(chart.proto.datasets[0].data.data)
    assert set(corpus.decoded) == {"(decoding back…)"} and len(corpus) == 11
    assert at.radio(key="map_colour").options == ["cluster", "length"]  # no "reconstructed exactly" yet
    assert not [b for b in at.get("download_button") if "the map" in b.proto.label]


def test_the_second_visit_with_the_same_text_is_a_cache_hit(monkeypatch):
    from invemb_app import corpora

    calls = []
    real = corpora.encode_corpus
    monkeypatch.setattr(corpora, "encode_corpus", lambda *a, **k: calls.append(1) or real(*a, **k))
    text = "\n".join(reversed(SENTENCES))
    at = yours(app())
    at.text_area(key="map_yours_text").set_value(text).run()
    assert calls == [1]
    again = yours(app())  # another session, the same text
    again.text_area(key="map_yours_text").set_value(text).run()
    assert calls == [1] and again.get("vega_lite_chart")


def test_the_map_and_a_selection_export_their_columns(_checkpoints):
    from invemb_app.corpora import map_csv, selection_csv
    from invemb_app.state import key, load_map
    from invemb_core.user_corpus import read_corpus

    at = yours(app())
    at.text_area(key="map_yours_text").set_value("\n".join(SENTENCES)).run()
    labels = [b.proto.label for b in at.get("download_button")]
    assert any(label.startswith("Download the map (CSV") for label in labels)
    path = str(_checkpoints / "default")
    name = f"yours-{read_corpus(chr(10).join(SENTENCES)).digest}-whole"  # the tiny checkpoint: one view
    exported = pd.read_csv(io.StringIO(map_csv(*key(path), name)), keep_default_na=False)
    assert list(exported) == EXPORT_COLUMNS and list(exported.sentence) == SENTENCES
    assert exported.reconstruction.str.len().all()  # decoded back after the map was drawn, then the page reran
    table = load_map(*key(path), name).table
    assert list(pd.read_csv(io.StringIO(selection_csv(table.iloc[:2])))) == EXPORT_COLUMNS
    shipped = pd.read_csv(io.StringIO(map_csv(*key(path), "tiny")), keep_default_na=False)
    assert list(shipped) == EXPORT_COLUMNS + ["group"]  # the tiny map names each sentence's split


def test_markup_and_long_lines_are_said_and_never_rendered():
    from test_no_markdown_injection import HOSTILE, check

    at = yours(app())
    lines = SENTENCES + [HOSTILE, "x" * 3_000]
    at.text_area(key="map_yours_text").set_value("\n".join(lines)).run()
    check(at)
    warnings = " ".join(w.value for w in at.warning)
    assert "HTML or Markdown" in warnings and "longer than 1" in warnings
    assert at.get("vega_lite_chart")


def test_100000_lines_map_the_first_5000_and_say_so(monkeypatch):
    from invemb_app import corpora

    monkeypatch.setattr(corpora, "user_map", lambda *a, **k: None)  # the reading is under test, not the map
    at = yours(app(), "Upload a file")
    data = "".join(f"line {i} of a long file.\n" for i in range(100_000)).encode()
    at.get("file_uploader")[0].set_value(("many.txt", data, "text/plain")).run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("5,000 sentences" in t.value for t in at.text)
    assert any("100,000 distinct sentences" in w.value for w in at.warning)


def test_similarity_page_nearest_matrix_and_vectors():
    at = app(SIMILARITY)
    assert not at.error, [e.value for e in at.error]
    (nearest,) = at.dataframe[:1]
    assert len(nearest.value) == 10 and list(nearest.value.columns) == ["sentence", "whole vector"]
    charts = at.get("vega_lite_chart")
    assert len(charts) == 1 + 1  # one heatmap (the tiny checkpoint has one view), the vector strips
    at.text_area(key="sim_lines").set_value("a dog runs.\na cat sleeps.").run()
    assert not at.exception and len(at.get("vega_lite_chart")) == 2
    labels = [b.proto.label for b in at.get("download_button")]
    assert labels == ["Download (CSV)", "Download the pairs (CSV)"]


def test_similarity_searches_your_sentences_after_the_map():
    at = yours(app())
    at.text_area(key="map_yours_text").set_value("\n".join(SENTENCES)).run()
    at.switch_page(SIMILARITY).run()
    at.radio(key="sim_corpus").set_value("yours").run()
    at.text_input(key="sim_query").set_value(SENTENCES[3]).run()
    assert not at.exception, [e.value for e in at.exception]
    table = at.dataframe[0].value
    assert table.sentence[0] == SENTENCES[3] and table["whole vector"][0] == pytest.approx(1, abs=1e-3)


def test_a_two_part_checkpoint_maps_by_meaning_or_whole_vector_and_encodes_once(monkeypatch, tmp_path, corpus):
    from conftest import tiny_config

    import invemb_core as ie
    from invemb_app import corpora
    from invemb_core import checkpoint

    ae = ie.Autoencoder.build(tiny_config(meaning="minilm", vector_size=384 + 16), corpus=corpus, seed=0)
    checkpoint.save(ae, tmp_path / "checkpoints" / "default")
    monkeypatch.setenv("INVEMB_CHECKPOINTS", str(tmp_path / "checkpoints"))
    calls = []
    real = corpora.encode_corpus
    monkeypatch.setattr(corpora, "encode_corpus", lambda *a, **k: calls.append(1) or real(*a, **k))
    at = yours(app())
    at.text_area(key="map_yours_text").set_value("\n".join(SENTENCES)).run()
    assert at.radio(key="map_by").options == ["meaning", "whole vector"]
    assert any("What moves between the two maps" in c.value for c in at.caption)
    meaning = map_spec(at)
    at.radio(key="map_by").set_value("whole").run()
    assert not at.exception, [e.value for e in at.exception]
    assert map_spec(at) != meaning and calls == [1]  # another layout of the same vectors
    at.switch_page(SIMILARITY).run()
    assert not at.exception and list(at.dataframe[0].value.columns) == ["sentence", "meaning", "whole vector"]
    assert len(at.get("vega_lite_chart")) == 2 + 1  # a heatmap per view, the vector strips


@pytest.mark.parametrize(
    "page, label",
    [
        ("invemb_app/pages/interpolate.py", "Download the walk (CSV)"),
        ("invemb_app/pages/compare.py", "Download the outputs (CSV)"),
        (MAP, "Download the map (CSV: sentence, x, y, cluster, reconstruction)"),
    ],
)
def test_pages_export_what_they_show(page, label):
    at = app(page)
    assert label in [b.proto.label for b in at.get("download_button")]


def test_hostile_file_and_column_names_are_never_rendered():
    from test_no_markdown_injection import HOSTILE, MARK, check

    at = yours(app(), "Upload a file")
    header = f'"**{MARK}**","<b>{MARK}</b>"'
    rows = "".join(f'"{s}","{HOSTILE.replace(chr(34), "")} {i}"\n' for i, s in enumerate(SENTENCES))
    at.get("file_uploader")[0].set_value((f"**{MARK}**.csv", (header + "\n" + rows).encode(), "text/csv")).run()
    assert at.selectbox(key="map_yours_column").value == f"<b>{MARK}</b>"  # the longer cells
    check(at)
    at.selectbox(key="map_yours_group").set_value(f"**{MARK}**").run()
    at.radio(key="map_colour").set_value("split").run()
    check(at)
    at.selectbox(key="map_yours_column").set_value(f"**{MARK}**").run()
    check(at)
    bad = (f"{MARK}.csv", b"a,b\n1,2\n", "text/csv")
    at.get("file_uploader")[0].set_value(bad).run()
    check(at)
