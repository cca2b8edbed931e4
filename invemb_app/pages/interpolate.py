"""Interpolate: walk from sentence A to sentence B in vector space and read every step; A - B + C."""

import pandas as pd
import streamlit as st

import invemb_core as ie
from invemb_app.charts import path_chart
from invemb_app.jobs import note_interaction
from invemb_app.languages import ENGLISH, language_choice, versions, walk_in
from invemb_app.render import distinct_caption, md_escape, path_table
from invemb_app.state import (
    arithmetic_text,
    checkpoint_named,
    current,
    current_checkpoint,
    current_model,
    in_background,
    key,
    load_map,
    load_model,
    walk,
)
from invemb_app.widgets import warn_about_input
from invemb_core.language import LANGUAGES
from invemb_core.projection import Projection

st.title("Interpolate")
st.caption(
    "Decode evenly spaced points on the way from A's vector to B's. Highlighted words are new at that step; "
    "grey struck-through words were there one step before."
)
ae = current_model()
projection = load_map(*current())

picks = list(projection.table.sentence[:300]) if projection is not None else []
if picks:
    with st.expander("Pick A and B from the map's corpus"):
        c1, c2 = st.columns(2)
        pick_a = c1.selectbox("A", [""] + picks, key="interp_pick_a")
        pick_b = c2.selectbox("B", [""] + picks, key="interp_pick_b")
        c1.button(
            "Use as A",
            key="interp_use_a",
            disabled=not pick_a,
            on_click=lambda: st.session_state.update(interp_a=st.session_state.interp_pick_a),
        )
        c2.button(
            "Use as B",
            key="interp_use_b",
            disabled=not pick_b,
            on_click=lambda: st.session_state.update(interp_b=st.session_state.interp_pick_b),
        )


@st.fragment
def walk_section(ae: ie.Autoencoder, projection: Projection | None) -> None:
    """Sentences A and B, the decoded path and its map. A fragment: changing A reruns this part only (the
    corpus picker above and the arithmetic below are not sent again)."""
    note_interaction()  # a fragment's rerun skips app.py, which says so for full reruns
    c1, c2 = st.columns(2)
    a = c1.text_input("Sentence A", "A dog runs through the snow.", key="interp_a")
    b = c2.text_input("Sentence B", "Two women are drinking coffee in a cafe.", key="interp_b")
    c3, c4, c5 = st.columns(3)
    steps = c3.slider(
        "Points on the path", 2, 21, 7, key="interp_steps", help="A and B included: 7 points are A, 5 between, B"
    )
    method = c4.radio(
        "Path",
        ["slerp", "lerp"],
        horizontal=True,
        key="interp_method",
        help="slerp follows the sphere between the two vectors; lerp the straight line (see 'lerp or slerp?' below)",
    )
    strategy = c5.selectbox(
        "Decoding",
        ["default", "greedy", "rerank"] + (["beam"] if ae.supports_beam else []),
        key="interp_strategy",
        help="default: each checkpoint's own default decoding. The two-part default reranks 8 candidates and, "
        "where the wording code does not lead back to the vector's meaning (between two sentences), writes the "
        "sentence again from the meaning alone, by beam search.",
    )
    code = language_choice(
        ae,
        "Write the steps in",
        "interp_language",
        help="English: this checkpoint's decoder (the Decoding above). Deutsch, Français: the language's decoder "
        "writes each point's meaning alone (the Languages page walks between sentences of two languages)",
    )
    meaning_alone = (
        code == ENGLISH
        and ae.meaning_and_wording
        and st.toggle(
            "From the meaning alone",
            key="interp_meaning_only",
            help="Drop each point's wording code and write its meaning alone: by the meaning decoder (a pretrained "
            "LM) where its text keeps the meaning, else by this checkpoint's own decoder (its default decoding)",
        )
    )
    if not a.strip() or not b.strip():
        st.info("Type both sentences, A and B.")
        return
    warn_about_input(ae, [a, b], names=["A", "B"])

    # Everything is computed before anything is drawn: the browser drawing a table while the server decodes
    # would take one of the two cores from torch's two threads (BENCHMARKS.md, "Felt speed"). The plain
    # checkpoint's walk is decoded beside this one's (``in_background``: "Two decodings at once").
    plain_path = checkpoint_named("plain")
    beside = plain_path is not None and plain_path != current_checkpoint()
    plain_walk = in_background(walk, *key(plain_path), a, b, steps, method, strategy) if beside else None
    try:
        alphas, texts, Z = walk(*current(), a, b, steps, method, strategy)
        plain = plain_walk.result() if plain_walk is not None else None
        if code != ENGLISH or meaning_alone:
            texts = walk_in(*current(), versions(), a, b, steps, method, strategy, code)
    except ie.InvEmbError as e:
        st.error(md_escape(str(e)))
        return
    chart = path_chart(projection, Z, texts) if projection is not None else None

    left, right = st.columns(2) if plain is not None else (st.container(), None)
    with left:
        if plain is not None:
            written = "" if code == ENGLISH else f", written by the {LANGUAGES[code]} decoder"
            written = ", from the meaning alone" if meaning_alone else written
            st.markdown(f"**This checkpoint ({current_checkpoint().rsplit('/', 1)[-1]}){written}**")
        st.html(path_table(alphas, texts))
        st.caption(distinct_caption(texts))
    if right is not None:
        with right:
            whole = ", its whole vector (it has no meaning part to keep alone)" if meaning_alone else ""
            st.markdown(f"**A plain autoencoder (checkpoints/plain), same pair{whole}**")
            if strategy == "beam" and not load_model(*key(plain_path)).supports_beam:
                st.caption("Greedy here: a parallel decoder writes every position at once, so it has no beam search.")
            st.html(path_table(plain[0], plain[1]))
            st.caption(distinct_caption(plain[1]))

    walks = {current_checkpoint().rsplit("/", 1)[-1]: (alphas, texts)} | ({"plain": plain[:2]} if plain else {})
    rows = [(name, i, a, t) for name, (al, ts) in walks.items() for i, (a, t) in enumerate(zip(al, ts))]
    csv = pd.DataFrame(rows, columns=["checkpoint", "point", "alpha", "decoded"]).to_csv(index=False)
    st.download_button("Download the walk (CSV)", csv, "walk.csv", "text/csv", key="interp_csv")

    with st.expander("lerp or slerp? And what the midpoints are"):
        st.markdown(
            "**lerp** walks the straight line from A's vector to B's; halfway, the vector is shorter than either. "
            "**slerp** walks along the sphere, keeping the length. The decoder first normalises the vector it "
            "reads, so mostly the *direction* matters: both paths pass through the same direction at α = 0.5 and "
            "nearly the same ones elsewhere, which is why their rows often agree.\n\n"
            "A **plain** autoencoder (the `plain` checkpoint) stores each word position in its own part of the "
            "vector: a positional code. Halfway between two sentences every position holds half of one word and "
            "half of another, and its parallel decoder picks each position's word on its own: its middle rows mix "
            "the two sentences' words. The **two-part** default stores the *meaning* (MiniLM's sentence embedding, "
            "where similar sentences are near each other) plus a small wording code. Halfway between two sentences "
            "the meaning part lies between theirs, but the wording code is the average of two unrelated codes. Its "
            "default decoding re-encodes each text it writes, and where the text's meaning or wording code is too "
            "far from the point's, it writes again from the meaning alone and keeps whichever text lands closer. "
            "That check measures nearness of meaning, not grammar: nothing on this page measures whether a midpoint"
            " reads as a sentence. On pairs of test captions (the kind of text it trained on) the midpoints' word "
            "statistics were close to real captions' (BENCHMARKS.md); midpoints between typed sentences unlike its "
            "training text were not measured. Pick *greedy* to see what the averaged wording code gives. Where a "
            "midpoint's text ends in several punctuation marks in a row, the page shows one."
        )

    if chart is not None:
        st.caption(
            "The path's vectors on this checkpoint's map (a UMAP of its corpus, grey), from A (dark) to B "
            "(yellow). Hover a point for what it decodes to."
        )
        st.altair_chart(chart, key="interp_map")
    else:
        st.caption("This checkpoint ships no map, so the path is not drawn (make one with `invemb project`).")


walk_section(ae, projection)

st.subheader("Vector arithmetic: A − B + C")
c1, c2, c3 = st.columns(3)
xa = c1.text_input("A", "A man is riding a horse.", key="arith_a")
xb = c2.text_input("B", "A man", key="arith_b")
xc = c3.text_input("C", "A woman", key="arith_c")
warn_about_input(ae, [xa, xb, xc], names=["A", "B", "C"])
try:
    st.text(arithmetic_text(*current(), xa, xb, xc))
except ie.InvEmbError as e:
    st.error(md_escape(str(e)))
