"""Reconstruct's rows read as a lecturer wants them: one row per distinct output labelled with every decoding
that gave it, plain text with the word diff one toggle away, which decoder wrote each row, and a note under
each knob that changes nothing in the current setting."""

from __future__ import annotations

from types import SimpleNamespace

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from invemb_app.render import decodings_table, same_output_rows
from invemb_app.state import key, load_model
from invemb_app.widgets import SAMPLING_KNOBS, idle_knobs, meaning_decoder_note, say_idle

DECODINGS = {
    "greedy": {"strategy": "greedy"},
    "beam 5": {"strategy": "beam", "beam_size": 5},
    "T=0.3": {"strategy": "sample", "temperature": 0.3},
    "T=1.5": {"strategy": "sample", "temperature": 1.5},
}


@pytest.fixture(scope="module", autouse=True)
def _checkpoints(app_checkpoints):
    return app_checkpoints


def rows(outputs: dict[str, str], *, sentence: int = 1, writer: str = "decoder") -> pd.DataFrame:
    """A sentence's rows as ``report.compare_decodings`` gives them, one per decoding."""
    return pd.DataFrame(
        [
            {
                "sentence": sentence,
                "input": "A dog runs.",
                "target": "a dog runs.",
                "decoding": name,
                "output": out,
                "exact": out == "a dog runs.",
                "bleu": 100.0 if out == "a dog runs." else 20.0,
                "cosine": 1.0 if out == "a dog runs." else 0.5,
                "writer": writer,
            }
            for name, out in outputs.items()
        ]
    )


def app(page: str = "invemb_app/pages/reconstruct.py") -> AppTest:
    at = AppTest.from_file("../app.py", default_timeout=60)
    at.run()
    at.switch_page(page).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_rows_with_the_same_output_are_one_row_labelled_with_every_decoding():
    block = rows({"greedy": "a dog runs.", "beam 5": "a dog runs.", "T=0.3": "a dog runs.", "T=1.5": "a cat <b>"})
    groups = same_output_rows(block)
    assert [names for names, _, _ in groups] == [["greedy", "beam 5", "T=0.3"], ["T=1.5"]]
    body = decodings_table(block, diff=False, writers=False)
    assert body.count("<tr>") == 1 + 1 + 2  # header, input, two distinct outputs
    assert (
        '<span class="ie-label">greedy</span> = <span class="ie-label">beam 5</span> = '
        '<span class="ie-label">T 0.3</span>' in body
    )
    assert "a cat &lt;b&gt;" in body and "<b>" not in body.split("</style>")[1].replace("<b>input</b>", "")


def test_outputs_are_plain_text_and_the_diff_is_a_switch():
    block = rows({"greedy": "a dog runs.", "T=1.5": "a cat runs."})
    plain = decodings_table(block, diff=False, writers=False)
    assert '<span class="ie-plain">a cat runs.</span>' in plain and 'class="ie-new"' not in plain
    marked = decodings_table(block, diff=True, writers=False)
    assert '<span class="ie-new">cat</span>' in marked and '<span class="ie-missing">dog</span>' in marked


def test_each_row_says_which_decoder_wrote_it():
    block = pd.concat([rows({"greedy": "a dog runs."}), rows({"T=1.5": "A dog is running."}, writer="meaning decoder")])
    body = decodings_table(block, diff=False, writers=True)
    assert '<span class="ie-writer">decoder</span>' in body
    assert '<span class="ie-writer">meaning decoder</span>' in body
    assert "ie-writer" not in decodings_table(block, diff=False, writers=False).split("</style>")[1]


def test_idle_knobs_say_why():
    plain = SimpleNamespace(meaning_and_wording=False, lexicon=None, model=SimpleNamespace(autoregressive=False))
    same = rows(dict.fromkeys(DECODINGS, "a dog runs."))
    notes = idle_knobs(plain, same, DECODINGS, keep=None)
    assert set(notes) == set(SAMPLING_KNOBS) and all("every decoding gives the same text" in n for n in notes.values())
    two_part = SimpleNamespace(meaning_and_wording=True, lexicon=object(), model=SimpleNamespace(autoregressive=True))
    assert "Lower Wording kept" in idle_knobs(two_part, same, DECODINGS, keep=None)["seed"]
    assert "Lower Wording kept" not in idle_knobs(two_part, same, DECODINGS, keep=0.0)["seed"]

    differ = rows({"greedy": "a dog runs.", "beam 5": "a dog runs.", "T=0.3": "a dog ran.", "T=1.5": "a cat."})
    assert idle_knobs(two_part, differ, DECODINGS, keep=None) == {}
    assert set(idle_knobs(plain, differ, DECODINGS, keep=None)) == {"whole_words"}  # a parallel decoder
    by_lm = differ.assign(writer=["decoder", "decoder", "meaning decoder", "meaning decoder"])
    assert set(idle_knobs(two_part, by_lm, DECODINGS, keep=0.0)) == {"top_k", "min_p", "whole_words"}

    greedy_only = {"greedy": DECODINGS["greedy"], "beam 5": DECODINGS["beam 5"]}
    notes = idle_knobs(two_part, differ[differ.decoding.isin(greedy_only)], greedy_only, keep=None)
    assert set(notes) == set(SAMPLING_KNOBS) and all("no row samples" in n for n in notes.values())


def test_a_reason_several_knobs_share_is_said_once():
    class Slot:
        def __init__(self):
            self.text = None

        def caption(self, text):
            self.text = text

        def empty(self):
            self.text = None

    slots = {name: Slot() for name in (*SAMPLING_KNOBS, "why")}
    say_idle(slots, {"top_k": "shared.", "min_p": "shared.", "whole_words": "its own."})
    texts = {name: slot.text for name, slot in slots.items()}
    assert texts["top_k"] == texts["min_p"] == "No effect now." and texts["why"] == "No effect now: shared."
    assert texts["whole_words"] == "No effect now: its own." and texts["top_p"] is None and texts["seed"] is None


def test_the_meaning_decoders_note_shows_where_it_would_have_written():
    failed = "the meaning decoder is not available, so the small decoder wrote these rows: no package"
    two_part = SimpleNamespace(meaning_decoder_note=failed, wording_size=512)
    assert meaning_decoder_note(two_part, 0.0) == failed
    assert meaning_decoder_note(two_part, None) == "" and meaning_decoder_note(two_part, 0.5) == ""
    assert meaning_decoder_note(SimpleNamespace(meaning_decoder_note=failed, wording_size=0), None) == failed
    assert meaning_decoder_note(SimpleNamespace(wording_size=0), 0.0) == ""  # never tried to load one


def test_the_page_collapses_rows_shows_plain_text_and_diffs_on_request():
    at = app()
    at.text_area(key="rec_text").set_value("a dog runs on the beach\ntwo men play chess").run()
    tables = [h.proto.body for h in at.get("html")][:2]
    for body in tables:
        assert 'class="ie-plain"' in body and 'class="ie-new"' not in body and 'class="ie-missing"' not in body
        labels = body.count('<span class="ie-label">')
        assert labels == 6  # every decoding named once, however many rows they share
    at.toggle(key="rec_diff").set_value(True).run()
    assert not at.exception
    assert all('<span class="ie-diff">' in h.proto.body for h in at.get("html")[:2])


def test_the_page_names_knobs_that_change_nothing():
    at = app()
    at.multiselect(key="rec_temps").set_value([]).run()
    at.number_input(key="rec_rerank").set_value(0).run()
    assert not at.exception
    notes = [c.value for c in at.caption if c.value.startswith("No effect now")]
    assert notes.count("No effect now.") == len(SAMPLING_KNOBS)  # under each knob, and once why:
    assert [n for n in notes if n != "No effect now."] == [
        "No effect now: no row samples (pick a temperature or a rerank n)."
    ]


def test_the_page_labels_rows_by_writer_and_shows_the_meaning_decoders_note(monkeypatch, app_checkpoints):
    from invemb_app import state

    real = state.compare_decodings
    monkeypatch.setattr(state, "compare_decodings", lambda *a, **k: real(*a, **k).assign(writer="meaning decoder"))
    state.decoded_lines.clear()
    at = app()
    at.text_area(key="rec_text").set_value("a girl reads a book").run()
    assert not at.exception
    assert '<span class="ie-writer">meaning decoder</span>' in at.get("html")[0].proto.body
    assert any("meaning decoder: a pretrained language model" in c.value for c in at.caption)
    state.decoded_lines.clear()

    ae = load_model(*key(str(app_checkpoints / "default")))  # the model the page uses
    monkeypatch.setattr(ae, "meaning_decoder_note", "the meaning decoder is not available: **x**", raising=False)
    monkeypatch.setattr(type(ae), "wording_size", property(lambda self: 0))  # as if the vector were the meaning
    at.run()
    assert any("the meaning decoder is not available" in i.value and "\\*\\*x\\*\\*" in i.value for i in at.info)
