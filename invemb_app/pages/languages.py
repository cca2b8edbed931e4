"""Languages: one meaning space, three languages. A sentence in English, German or French becomes one
meaning vector (its language's encoder); any language's decoder writes it out. Walk between two sentences
of different languages."""

import streamlit as st

import invemb_core as ie
from invemb_app.languages import (
    ENGLISH,
    encoder_name,
    english_writer,
    language_choice,
    language_walk,
    offered,
    translations,
    versions,
)
from invemb_app.render import md_escape, path_table, text_table
from invemb_app.state import current, current_model
from invemb_app.widgets import split_lines
from invemb_core.language import LANGUAGES, detect_language

EXAMPLES = {
    "en": "A dog runs through the snow.\nTwo women are drinking coffee in a cafe.",
    "de": "Ein Hund rennt durch den Schnee.\nZwei Frauen trinken Kaffee in einem Café.",
    "fr": "Un chien court dans la neige.\nDeux femmes boivent un café dans un bar.",
}

st.title("Languages")
ae = current_model()
codes = offered(ae)
st.caption(
    "The meaning part of the vector is MiniLM's embedding of English. A German and a French encoder were "
    "trained to put a sentence where MiniLM puts its English translation, and a decoder per language to write "
    "a meaning out (the idea of the Large Concept Model: one space of concepts, an encoder and a decoder per "
    "language, trained apart). Nothing but the 384 numbers passes from the encoder to the decoder."
)
if len(codes) == 1:
    st.info(
        "This page needs a checkpoint whose meaning part is MiniLM's (the default) and the language checkpoints "
        "checkpoints/de and checkpoints/fr (train one: invemb train-language --language de)."
    )
    st.stop()


def other_language(text: str, code_in: str) -> str | None:
    """The one other offered language every typed line reads as (``detect_language``), else None."""
    found = {detect_language(s) for s in split_lines(text)[:10]}
    code = found.pop() if len(found) == 1 else None
    return code if code not in (None, code_in) and code in codes else None


def follow_language(code_in: str, code: str) -> None:
    """Read the sentences typed in ``code_in``'s box with ``code``'s encoder: its box gets the text."""
    st.session_state[f"lang_text_{code}"] = st.session_state.get(f"lang_text_{code_in}", "")
    st.session_state["lang_in"] = code
    st.session_state["lang_followed"] = code


st.subheader("Through the vector")
code_in = language_choice(ae, "Your sentences are in", "lang_in", help="Picks the encoder that reads them")
# One box per language, each starting with an example in it: switching languages keeps what you typed in each.
text = st.text_area(
    "Sentences, one per line (up to 10)",
    EXAMPLES[code_in],
    key=f"lang_text_{code_in}",
    height=100,
)
if followed := st.session_state.pop("lang_followed", None):
    st.info(f"The {LANGUAGES[followed]} encoder reads your sentences now.")
sentences = split_lines(text)[:10]
if sentences:
    try:
        table, warnings = translations(*current(), tuple(sentences), code_in)
    except ie.InvEmbError as e:
        st.error(md_escape(str(e)))
        st.stop()
    for message in warnings:
        st.warning(md_escape(message))
    if code := other_language(text, code_in):  # one click to the encoder the text asks for
        name = LANGUAGES[code]
        st.button(
            f"Read them with the {name} encoder", key="lang_follow", on_click=follow_language, args=(code_in, code)
        )
    st.caption(
        f"Encoded by {encoder_name(ae, code_in)}; each column written from that vector alone, English by the "
        + english_writer(ae)
    )
    st.html(text_table(table))
else:
    st.info("Type a sentence.")

st.subheader("A walk between two languages")
st.caption(
    "The meanings of A and B, each read by its own language's encoder, and points on the sphere between them, "
    "written in the language you pick. A midpoint is a meaning no sentence had."
)
c1, c2 = st.columns(2)
with c1:
    code_a = language_choice(ae, "A is in", "lang_walk_a_in")
    a = st.text_input("Sentence A", EXAMPLES["en"].split("\n")[0], key="lang_walk_a")
with c2:
    code_b = language_choice(ae, "B is in", "lang_walk_b_in", default="de")
    b = st.text_input("Sentence B", EXAMPLES["de"].split("\n")[1], key="lang_walk_b")
c3, c4 = st.columns(2)
steps = c3.slider("Points on the path", 2, 11, 5, key="lang_walk_steps")
with c4:
    code_out = language_choice(ae, "Write the path in", "lang_walk_out")
if a.strip() and b.strip():
    try:
        alphas, texts, warnings = language_walk(*current(), versions(), a, code_a, b, code_b, steps, code_out)
    except ie.InvEmbError as e:
        st.error(md_escape(str(e)))
        st.stop()
    for message in warnings:
        st.warning(md_escape(message))
    st.html(path_table(alphas, texts))
    st.caption(
        f"A encoded by {encoder_name(ae, code_a)}; B by {encoder_name(ae, code_b)}; written by the "
        + (english_writer(ae) if code_out == ENGLISH else f"{LANGUAGES[code_out]} decoder.")
    )
else:
    st.info("Type both sentences, A and B.")

st.caption(
    "How well it works, on the 1,000 test captions (BENCHMARKS.md, 'One meaning, several languages'): "
    "the Embedding map's 'test captions in 3 languages' shows the three versions of each caption, and how often "
    "they land together."
)
