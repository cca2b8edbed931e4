"""Embedding map: a UMAP of a corpus's sentence vectors (a shipped one, or your own sentences); clusters named
on the map by their words and their centres decoded; search it, place your own sentences, select points,
drag a box anywhere to decode that spot, export the map or the selection."""

import numpy as np
import streamlit as st

import invemb_core as ie
from invemb_app.charts import box_centre, cluster_label_spots, map_chart, rows_in_box
from invemb_app.corpora import (
    YOURS,
    cluster_names,
    corpus_input,
    corpus_name,
    decode_rest,
    map_csv,
    map_table,
    selection_csv,
    user_map,
    warm_layout,
)
from invemb_app.languages import ENGLISH, centres_in, language_choice, spot_in, versions
from invemb_app.render import clusters_table, md_escape, placed_table, selected_table
from invemb_app.state import (
    cluster_summary,
    current,
    current_checkpoint,
    current_model,
    load_map,
    map_names,
    place,
    spot_text,
)
from invemb_app.widgets import split_lines, warn_about_input
from invemb_core.language import LANGUAGES
from invemb_core.multilingual_map import NAME as LANGUAGE_MAP
from invemb_core.multilingual_map import map_agreement
from invemb_core.similarity import views

FAR = 10  # a spot this many typical spacings from the nearest sentence is far from all of them
VIEW_HELP = (
    "By meaning: the 384 numbers of the meaning part (MiniLM's embedding): sentences sit together when they say "
    "similar things, however they are worded. By whole vector: the meaning and the wording code at one scale, as "
    "the decoder reads them: sentences also gather when they are worded alike (length, sentence shape, the same "
    "words), so paraphrases drift apart. What moves between the two maps is what the wording code holds."
)

st.title("Embedding map")
ae = current_model()
warm_layout()  # umap imports and compiles in the background (once per server) before you bring sentences
shipped = map_names(current_checkpoint())
shipped = sorted(shipped, key=lambda n: n != "general")  # general English first, where the checkpoint has it


def forget_spot() -> None:
    """A new corpus has other coordinates: the spot typed for the last one starts again at the new map's centre."""
    for spot_key in ("map_x", "map_y"):
        st.session_state.pop(spot_key, None)


name = st.radio(
    "Corpus", shipped + [YOURS], horizontal=True, key="map_corpus", format_func=corpus_name, on_change=forget_spot
)
if name == YOURS:
    corpus = corpus_input("map_yours")
    if corpus is None:
        st.stop()
    by = views(ae)[0]
    if len(views(ae)) > 1:
        by = st.radio(
            "Map by",
            views(ae),
            horizontal=True,
            key="map_by",
            format_func={"meaning": "meaning", "whole": "whole vector"}.get,
        )
        st.caption(VIEW_HELP)
    try:
        projection = user_map(*current(), corpus, by)
    except ie.InvEmbError as e:
        st.error(md_escape(str(e)))
        st.stop()
else:
    projection = load_map(*current(), name)
if projection is None:
    st.warning(
        "This checkpoint has no precomputed map. Make one with: invemb project --checkpoint "
        + str(current_checkpoint())
        + " (or map your own sentences: the last choice above)"
    )
    st.stop()
name = projection.name
mine_map = name.startswith("yours-")

table, decoded = map_table(*current(), name)  # yours: decoded back after the map is drawn (the end of the page)
if not decoded:
    table["reconstruction"] = table.reconstruction.where(table.reconstruction != "", "(decoding back…)")
st.caption(
    f"UMAP of {len(table):,} sentence vectors: nearby points have similar vectors. Hover for the sentence; "
    "click a point or drag a box to select (double-click clears); a box over an empty area decodes its centre "
    "(below)."
    + (" Your sentences are decoded back greedily (hover, 'reconstructed exactly', the CSV)." if mine_map else "")
)

if name == LANGUAGE_MAP:
    st.caption(
        "Each test caption three times: in English (read by MiniLM), German and French (read by their student "
        f"encoders). The nearest neighbour of {map_agreement(projection):.0%} of these vectors is another "
        "language's version of the same caption (measured on the map's stored vectors)."
    )
groups = table.split.astype(str).str.len().any()  # shipped maps name a split; yours a CSV column's groups
group_name = {"general": "register", LANGUAGE_MAP: "language"}.get(name, "group" if mine_map else "split")
c1, c2, c3 = st.columns([1, 2, 2])
colour = c1.radio(
    "Colour by",
    ["cluster", "words"] + (["split"] if groups else []) + (["exact"] if decoded else []),
    key="map_colour",
    format_func={"words": "length", "split": group_name, "exact": "reconstructed exactly", "cluster": "cluster"}.get,
)
query = c2.text_input("Search (highlights matches)", key="map_search", max_chars=200)
own = c3.text_area(
    "Your sentences (one per line) appear as numbered stars", "A cat sleeps on a red sofa.", key="map_own", height=80
)

label_of = cluster_names(*current(), name)  # the words only: the centres are decoded after the map is drawn
labels = None
if colour == "cluster":
    table["colour"] = table.cluster.map(label_of)
    order = list(label_of.values())
    labels = cluster_label_spots(table, label_of)
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


placed = None
mine = split_lines(own)
if mine:
    warn_about_input(ae, mine)
    try:
        placed = place(*current(), name, tuple(mine))
    except ie.InvEmbError as e:
        st.error(md_escape(str(e)))

event = st.altair_chart(
    map_chart(table, order, hits, placed, labels),
    key=f"map_chart_{name}",  # one per corpus: a selection's rows and box belong to the map they were made on
    on_select="rerun",
    selection_mode=["box", "pick"],
)

if placed is not None:
    targets = [ae.normalize(sentence) for sentence in placed.sentence]
    st.markdown("**Your sentences** (the stars)")
    st.html(placed_table(targets, placed))
    st.caption(
        f"The map holds only its corpus's {len(table):,} sentences, and a star is drawn among those whose vectors "
        "are nearest to it. A sentence unlike all of them (a low similarity to its nearest sentence) still lands "
        "somewhere: read its place as 'nearest to these', not as belonging to that cluster."
    )

# A click selects a point (its row), a box its x and y ranges: the rows inside it are found here, and a box with
# no sentence in it picks the spot at its centre.
selection = event.selection if event and event.selection else {}
box = selection.get("box") or {}
rows = sorted({int(p["row"]) for p in selection.get("pick") or [] if "row" in p}) or rows_in_box(table, box)
spots = [box_centre(box)] if box and not rows else []
if rows:
    st.subheader(f"{len(rows)} selected" + (" (the first 50 shown)" if len(rows) > 50 else ""))
    shown = table.loc[rows[:50]]
    neighbours = projection.corpus_neighbours(rows[:50], k=3).tolist()
    targets = [ae.normalize(sentence) for sentence in shown.sentence]
    near = [[projection.table.sentence[j] for j in row] for row in neighbours]
    st.html(selected_table(shown, targets, label_of, near))
    st.download_button(
        f"Download the {len(rows):,} selected (CSV)",
        selection_csv(table.loc[rows]),
        "selection.csv",
        "text/csv",
        key="map_selection_csv",
    )

clusters = cluster_summary(*current(), name)
st.subheader("Clusters")
centre_language = language_choice(ae, "Centres written in", "map_centre_language")
if centre_language != ENGLISH:
    try:
        clusters = clusters.assign(**{"centre decodes to": centres_in(*current(), versions(), name, centre_language)})
    except ie.InvEmbError as e:
        st.error(md_escape(str(e)))
st.caption(
    "k-means on the map. Words: the most characteristic words of each cluster's sentences (class-based TF-IDF). "
    "Centre: the decoded mean vector of the cluster, what the middle of the cluster says."
)
st.html(clusters_table(clusters))
if decoded:
    st.download_button(
        "Download the map (CSV: sentence, x, y, cluster, reconstruction)",
        map_csv(*current(), name),
        f"map-{'yours' if mine_map else name}.csv",
        "text/csv",
        key="map_csv",
    )
else:
    st.caption("The map's CSV can be downloaded here once your sentences are decoded back (at the end of the page).")

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
spot_language = language_choice(ae, "Write it in", "map_spot_language")
if spot_language == ENGLISH and name != LANGUAGE_MAP:
    st.text(spot_text(*current(), name, float(x), float(y)))
else:  # the three-language map's sentences are read by their own language's encoder
    try:
        st.text(spot_in(*current(), versions(), name, float(x), float(y), spot_language))
    except ie.InvEmbError as e:
        st.error(md_escape(str(e)))
    if spot_language != ENGLISH:
        st.caption(f"Written from the spot's meaning alone by the {LANGUAGES[spot_language]} decoder.")
if nearest > FAR * typical:
    st.warning(
        f"This spot is far from every sentence (the nearest is {nearest:.1f} away; neighbouring sentences are "
        f"typically {typical:.2f} apart). Its vector is still the weighted mean of the nearest sentences' vectors, "
        "so the text is only a guess at what lies there."
    )
st.caption("The map cannot be inverted exactly: a spot's vector is the distance-weighted mean of its 5 nearest points.")

if not decoded:  # last: the map above is drawn and usable meanwhile; a click stops this, and the next run goes on
    decode_rest(*current(), name)
    st.rerun()
