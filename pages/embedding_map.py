"""Embedding map: a UMAP of the corpus's sentence vectors; search it, place your own, select and decode."""

import numpy as np
import pandas as pd
import plotly.express as px
import streamlit as st

import invemb_core as ie
from app_support import current_checkpoint, current_model, load_map, map_names, split_lines

st.title("Embedding map")
ae = current_model()
names = map_names(current_checkpoint())
name = st.radio("Corpus", names, horizontal=True, key="map_corpus") if len(names) > 1 else None
projection = load_map(current_checkpoint(), name)
if projection is None:
    st.warning(
        "This checkpoint has no precomputed map. Make one with: invemb project --checkpoint "
        + str(current_checkpoint())
    )
    st.stop()

table = projection.table.copy()
st.caption(f"UMAP of {len(table):,} sentence vectors. Hover for the sentence; click, box or lasso to inspect.")

c1, c2, c3 = st.columns([1, 2, 2])
colour = c1.radio(
    "Colour by",
    ["words", "split", "exact", "cluster"],
    key="map_colour",
    format_func={"words": "length", "split": "split", "exact": "reconstructed exactly", "cluster": "cluster"}.get,
)
query = c2.text_input("Search (highlights matches)", key="map_search", max_chars=200)
own = c3.text_area(
    "Your sentences (one per line) appear as stars", "A cat sleeps on a red sofa.", key="map_own", height=80
)

table["colour"] = table[colour].astype(str) if colour in ("split", "exact", "cluster") else table[colour]
table["size"] = 1.0  # relative: matches are drawn 3x larger
if query.strip():
    hit = table.sentence.str.contains(query.strip(), case=False, regex=False)
    table.loc[hit, "size"] = 3.0
    st.caption(f"{int(hit.sum())} sentences contain '{query.strip()}'.")

fig = px.scatter(
    table,
    x="x",
    y="y",
    color="colour",
    size="size",
    size_max=9,
    hover_name="sentence",
    hover_data={"x": False, "y": False, "size": False, "colour": False, "reconstruction": True},
    custom_data=[table.index],
    render_mode="webgl",
)

placed = None
mine = split_lines(own)
if mine:
    try:
        Z_own = ae.encode(mine)
        xy = projection.place(Z_own)
        placed = pd.DataFrame({"sentence": mine, "x": xy[:, 0], "y": xy[:, 1], "reconstruction": ae.decode(Z_own)})
        fig.add_scatter(
            x=placed.x,
            y=placed.y,
            mode="markers",
            name="yours",
            hovertext=placed.sentence,
            hoverinfo="text",
            marker=dict(symbol="star", size=18, color="gold", line=dict(width=1, color="black")),
        )
    except ie.InvEmbError as e:
        st.error(str(e))
fig.update_layout(height=560, margin=dict(l=0, r=0, t=10, b=0), legend_title_text="")
event = st.plotly_chart(fig, key="map_chart", on_select="rerun", selection_mode=("points", "box", "lasso"))

if placed is not None:
    st.dataframe(placed, hide_index=True, key="map_placed")

points = event.selection.points if event and event.selection else []
rows = sorted({int(p["customdata"][0]) for p in points if p.get("customdata")})
if rows:
    st.subheader(f"{len(rows)} selected")
    picked = projection.table.loc[rows[:50], ["sentence", "reconstruction", "exact"]].copy()
    idx = projection.corpus_neighbours(rows[:50], k=3)
    picked["nearest neighbours"] = [" | ".join(projection.table.sentence[j] for j in row) for row in idx.tolist()]
    st.dataframe(picked, hide_index=True, key="map_selected")

st.subheader("Decode any spot")
st.caption(
    "The map cannot be inverted exactly: a spot's vector is the distance-weighted mean of its nearest points' vectors."
)
c1, c2 = st.columns(2)
x = c1.number_input("x", value=float(np.median(table.x)), key="map_x", format="%.2f")
y = c2.number_input("y", value=float(np.median(table.y)), key="map_y", format="%.2f")
z = projection.vector_at(float(x), float(y), ae.encode)
st.text(ae.decode(z[None, :])[0])
