"""Similarity: how alike sentences are, by their meaning and by their whole vector. A sentence's nearest
sentences in a corpus, a similarity matrix of up to 10 sentences, and two vectors side by side."""

import pandas as pd
import streamlit as st

import invemb_core as ie
from invemb_app.charts import heatmap, vector_strips
from invemb_app.corpora import SESSION_KEY, YOURS, corpus_name, encoded, vectors_of
from invemb_app.render import md_escape
from invemb_app.state import current, current_checkpoint, current_model, load_map, map_names
from invemb_app.widgets import line_labels, split_lines, warn_about_input
from invemb_core.similarity import VIEW_NAMES, nearest, nearest_on_map, similarity_matrices, vector_parts, views

EXAMPLES = (
    "I would like to book a table for two tonight.\nCan you reserve a restaurant for this evening?\n"
    "The table is made of oak.\nA dog runs through the snow.\nStock markets fell sharply today."
)

st.title("Similarity")
ae = current_model()
kinds = views(ae)
st.caption(
    "Cosine similarity of sentence vectors, 1 for the same direction. "
    + (
        "By meaning: the 384 numbers of the meaning part (MiniLM's embedding, what the stored vector's cosine is). "
        "By whole vector: the meaning and the wording code at one scale, as the decoder reads them, so sentences "
        "worded alike score higher and paraphrases lower."
        if len(kinds) > 1
        else "This checkpoint's vector has one part, so there is one similarity."
    )
)

st.subheader("Nearest sentences in a corpus")
yours = st.session_state.get(SESSION_KEY)
choices = map_names(current_checkpoint()) + ([YOURS] if yours is not None else [])
if not choices:
    st.info("This checkpoint ships no corpus map; map your own sentences on the Embedding map page first.")
else:
    choices = sorted(choices, key=lambda n: n != "general")
    c1, c2 = st.columns([3, 2])
    corpus = c1.radio(
        "Corpus",
        choices,
        horizontal=True,
        key="sim_corpus",
        format_func=corpus_name,
        help="Your sentences: the ones last given on the Embedding map page",
    )
    rank = c2.radio("Rank by", kinds, horizontal=True, key="sim_rank", format_func=VIEW_NAMES.get)
    query = st.text_input("A sentence", "I would like to book a table for two tonight.", key="sim_query")
    table = None
    if not query.strip():
        st.info("Type a sentence to find its nearest sentences.")
    elif corpus == YOURS:
        found = encoded(*current(), yours.sentences, yours.digest)
        table = nearest(ae, vectors_of(*current(), (query,))[0], found.vectors, k=10, by=rank)
        table.insert(0, "sentence", [yours.sentences[i] for i in table.row])
    else:
        projection = load_map(*current(), corpus)
        table = nearest_on_map(ae, vectors_of(*current(), (query,))[0], projection, k=10, by=rank)
        table.insert(0, "sentence", [str(projection.table.sentence[i]) for i in table.row])
        st.caption(
            f"Among the 100 of its {len(projection.table):,} sentences nearest by the map's stored vectors (its "
            "meaning, for a two-part vector), encoded again and ranked exactly."
        )
    if table is not None:
        warn_about_input(ae, [query])
        table = table.drop(columns="row").rename(columns=VIEW_NAMES)
        st.dataframe(table, hide_index=True, width="stretch")
        st.download_button("Download (CSV)", table.to_csv(index=False), "nearest.csv", "text/csv", key="sim_near_csv")

st.subheader("Similarity matrix")
text = st.text_area("Up to 10 sentences, one a line", EXAMPLES, key="sim_lines", height=140)
lines = split_lines(text, max_sentences=10)
if not lines:
    st.info("Type a few sentences, one a line.")
    st.stop()
warn_about_input(ae, lines)
try:
    Z = vectors_of(*current(), tuple(lines))
except ie.InvEmbError as e:
    st.error(md_escape(str(e)))
    st.stop()
matrices = similarity_matrices(ae, Z)
st.dataframe(pd.DataFrame({"#": range(1, len(lines) + 1), "sentence": lines}), hide_index=True, width="stretch")
for column, (kind, matrix) in zip(st.columns(len(matrices)), matrices.items()):
    column.altair_chart(heatmap(matrix, lines, f"cosine by {VIEW_NAMES[kind]}"), key=f"sim_heat_{kind}")
pairs = pd.DataFrame(
    [
        {"a": i + 1, "b": j + 1, "sentence a": lines[i], "sentence b": lines[j]}
        | {VIEW_NAMES[k]: round(float(m[i, j]), 4) for k, m in matrices.items()}
        for i in range(len(lines))
        for j in range(len(lines))
        if i < j
    ]
)
if len(matrices) > 1:
    st.caption(
        "The two matrices differ where wording and meaning part ways: a paraphrase scores high by meaning and "
        "lower by the whole vector; two sentences of one shape with different content the other way round."
    )
st.download_button("Download the pairs (CSV)", pairs.to_csv(index=False), "similarity.csv", "text/csv", key="sim_csv")

st.subheader("Two vectors side by side")
labels = line_labels(lines)
c1, c2 = st.columns(2)
a = labels.index(c1.selectbox("A", labels, index=0, key="sim_a"))
b = labels.index(c2.selectbox("B", labels, index=min(1, len(labels) - 1), key="sim_b"))
parts = {f"A: {lines[a][:40]}": vector_parts(ae, Z[a]), f"B: {lines[b][:40]}": vector_parts(ae, Z[b])}
st.altair_chart(vector_strips(parts), key="sim_strips")
st.caption(
    "Each cell is one number of the vector as the decoder reads it (red above zero, blue below, white near zero). "
    + (
        "The meaning part is MiniLM's 384 numbers; the wording code is the rest, ordered so that its first numbers "
        "matter most."
        if "wording" in next(iter(parts.values()))
        else ""
    )
)
