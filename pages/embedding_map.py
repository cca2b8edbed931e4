"""Embedding map: a UMAP of the corpus's sentence vectors; clusters named by their words and their centres
decoded; search it, place your own sentences, select points, drag a box anywhere to decode that spot."""

import html

import numpy as np
import pandas as pd
import plotly.express as px
import plotly.graph_objects as go
import streamlit as st

import invemb_core as ie
from app_support import (
    SVG_POINTS,
    box_centres,
    cluster_summary,
    current_checkpoint,
    current_model,
    diff_html,
    html_table,
    load_map,
    load_model,
    map_names,
    selected_rows,
    split_lines,
    spot_text,
    stamp,
    warn_about_input,
)

HOVER_CHARS = 120

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
clusters = cluster_summary(current_checkpoint(), projection.name)
st.caption(
    f"UMAP of {len(table):,} sentence vectors: nearby points have similar vectors. Hover for the sentence; "
    "drag a box (or pick the lasso) to select; a box over an empty area decodes its centre (below)."
)

c1, c2, c3 = st.columns([1, 2, 2])
colour = c1.radio(
    "Colour by",
    ["cluster", "words", "split", "exact"],
    key="map_colour",
    format_func={"words": "length", "split": "split", "exact": "reconstructed exactly", "cluster": "cluster"}.get,
)
query = c2.text_input("Search (highlights matches)", key="map_search", max_chars=200)
own = c3.text_area(
    "Your sentences (one per line) appear as numbered stars", "A cat sleeps on a red sofa.", key="map_own", height=80
)

label_of = dict(zip(clusters.cluster, clusters.label))
if colour == "cluster":
    table["colour"] = table.cluster.map(label_of)
    order = list(clusters.label)
else:
    named = {"exact": table.exact.map({True: "reconstructed exactly", False: "differs"}), "split": table.split}
    table["colour"] = named[colour] if colour in named else table[colour]
    order = sorted(table.colour.unique()) if colour != "words" else None
    if colour == "exact":
        order = ["reconstructed exactly", "differs"]  # the few that differ drawn last, on top
hits = None
if query.strip():
    hits = table.sentence.str.contains(query.strip(), case=False, regex=False)
    st.text(f"{int(hits.sum())} sentences contain the search text (red rings).")
# Hover: the sentence, and its reconstruction only where it differs (most come back exactly): every byte
# here is sent again at each interaction.
hover = table.sentence.str.slice(0, HOVER_CHARS).map(html.escape)
differs = ~table.exact.astype(bool)
hover[differs] += "<br><i>decoded:</i> " + table.reconstruction[differs].str.slice(0, HOVER_CHARS).map(html.escape)

fig = go.Figure()
trace_rows: list[np.ndarray] = []  # per trace, the table rows of its points: a selection names trace and point
if colour == "words":  # a number: one trace, a colour scale
    groups = [(None, table.index)]
else:
    groups = [(value, table.index[table.colour == value]) for value in order if (table.colour == value).any()]
palette = px.colors.qualitative.D3 + ["#222222", "#393b79"]  # 12 distinct colours, none pale on white
svg = len(table) <= SVG_POINTS
scatter = fig.add_scatter if svg else fig.add_scattergl
for i, (value, rows) in enumerate(groups):
    numeric = value is None
    scatter(
        x=table.x[rows].to_numpy(np.float32),
        y=table.y[rows].to_numpy(np.float32),
        mode="markers",
        name="sentences" if numeric else str(value),
        showlegend=not numeric,
        hovertext=hover[rows].tolist(),
        hoverinfo="text",
        marker=dict(
            size=5.0,
            color=table.words[rows].to_numpy(np.int16) if numeric else palette[i % len(palette)],
            colorscale="Viridis" if numeric else None,
            showscale=numeric,
            colorbar=dict(title="words", len=0.6, y=0.7) if numeric else None,
        ),
    )
    trace_rows.append(rows.to_numpy())
if hits is not None and hits.any():  # search matches: red rings on top, in every colouring
    rows = table.index[hits]
    scatter(
        x=table.x[rows].to_numpy(np.float32),
        y=table.y[rows].to_numpy(np.float32),
        mode="markers",
        name="search matches",
        hovertext=hover[rows].tolist(),
        hoverinfo="text",
        marker=dict(size=11, color="rgba(0,0,0,0)", line=dict(width=2, color="red")),
    )
    trace_rows.append(rows.to_numpy())


@st.cache_data(show_spinner=False, max_entries=64)
def place(checkpoint: str, written: float, map_name: str | None, sentences: tuple[str, ...]) -> pd.DataFrame:
    """Your sentences on the map and decoded back (the default decoding), each encoded once; kept per input."""
    model = load_model(checkpoint, written)
    Z = model.encode(list(sentences))
    xy = load_map(checkpoint, map_name).place(Z).round(3)
    return pd.DataFrame(
        {
            "#": range(1, len(sentences) + 1),
            "sentence": list(sentences),
            "x": xy[:, 0],
            "y": xy[:, 1],
            "reconstruction": model.decode(Z),
        }
    )


placed = None
mine = split_lines(own)
if mine:
    warn_about_input(ae, mine)
    try:
        placed = place(current_checkpoint(), stamp(current_checkpoint()), name, tuple(mine))
        scatter(  # added last and drawn like the corpus (WebGL draws above SVG), so on top of it
            x=placed.x,
            y=placed.y,
            mode="markers+text",
            name="yours",
            text=[str(i) for i in placed["#"]],
            textposition="top right",
            # A white halo keeps the numbers readable over dense clusters (SVG text only).
            textfont=dict(size=15, color="black", **({"shadow": "auto"} if svg else {})),
            hovertext=[html.escape(s[:HOVER_CHARS]) for s in mine],
            hoverinfo="text",
            marker=dict(symbol="star", size=20, color="gold", line=dict(width=1.5, color="black")),
            unselected=dict(marker=dict(opacity=1), textfont=dict(color="black")),  # a selection never dims them
        )
    except ie.InvEmbError as e:
        st.error(str(e))
fig.update_layout(
    height=640,
    margin=dict(l=0, r=0, t=10, b=0),
    legend=dict(orientation="h", yanchor="top", y=-0.06, x=0, title_text=""),
    dragmode="select",
)
event = st.plotly_chart(fig, key="map_chart", on_select="rerun", selection_mode=("points", "box", "lasso"))

if placed is not None:
    targets = [ae.normalize(sentence) for sentence in placed.sentence]
    st.html(
        html_table(
            ["#", "your sentence", "decoded", "exact", "x", "y"],
            [
                [
                    str(r["#"]),
                    html.escape(target),
                    diff_html(target, r.reconstruction),
                    "✓" if target == r.reconstruction else "✗",
                    f"{r.x:.2f}",
                    f"{r.y:.2f}",
                ]
                for target, (_, r) in zip(targets, placed.iterrows())
            ],
            numeric=(0, 3, 4, 5),
        )
    )

# A selection names each point by trace and position (not by customdata: numpy arrays there come back
# from the browser as dicts); a box with no sentence in it picks the spot at its centre.
selection = event.selection if event and event.selection else {"points": [], "box": []}
rows = selected_rows(selection["points"], trace_rows)
spots = box_centres(selection["box"])
if rows:
    st.subheader(f"{len(rows)} selected" + (" (the first 50 shown)" if len(rows) > 50 else ""))
    shown = projection.table.loc[rows[:50]]
    neighbours = projection.corpus_neighbours(rows[:50], k=3).tolist()
    st.html(
        html_table(
            ["sentence", "decoded (default decoding)", "exact", "cluster", "nearest neighbours"],
            [
                [
                    f'<span class="ie-diff">{html.escape(r.sentence)}</span>',
                    diff_html(ae.normalize(r.sentence), r.reconstruction),
                    "✓" if r.exact else "✗",
                    html.escape(label_of[r.cluster]),
                    "<br>".join(html.escape(projection.table.sentence[j]) for j in near),
                ]
                for r, near in zip(shown.itertuples(), neighbours)
            ],
        )
    )

st.subheader("Clusters")
st.caption(
    "k-means on the map. Words: the most characteristic words of each cluster's sentences (class-based TF-IDF). "
    "Centre: the decoded mean vector of the cluster, what the middle of the cluster says."
)
st.html(
    html_table(
        ["cluster", "sentences", "words", "centre decodes to"],
        [
            [str(c), str(n), html.escape(words), html.escape(centre)]
            for c, n, words, centre in zip(
                clusters.cluster, clusters.sentences, clusters.words, clusters["centre decodes to"]
            )
        ],
        numeric=(0, 1),
    )
)

st.subheader("Decode any spot")
if spots and not rows:
    x, y = float(spots[-1][0]), float(spots[-1][1])
    st.caption(f"The spot you picked (the centre of your box): x = {x:.2f}, y = {y:.2f}.")
else:
    st.caption("Drag a small box over an empty area of the map (its centre is the spot), or type coordinates.")
    c1, c2 = st.columns(2)
    x = c1.number_input("x", value=round(float(np.median(table.x)), 2), key="map_x", format="%.2f", step=0.5)
    y = c2.number_input("y", value=round(float(np.median(table.y)), 2), key="map_y", format="%.2f", step=0.5)
nearest = projection.distance_to_nearest(float(x), float(y))
typical = projection.typical_spacing()
st.text(spot_text(current_checkpoint(), stamp(current_checkpoint()), name, float(x), float(y)))
if nearest > 3 * typical:
    st.warning(
        f"This spot is far from every sentence (the nearest is {nearest:.1f} away; neighbouring sentences are "
        f"typically {typical:.2f} apart). Its vector is still the weighted mean of the nearest sentences' vectors, "
        "so the text is only a guess at what lies there."
    )
st.caption("The map cannot be inverted exactly: a spot's vector is the distance-weighted mean of its 5 nearest points.")
