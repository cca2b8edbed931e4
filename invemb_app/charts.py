"""The app's Vega-Lite charts (Altair), and the geometry of a map's box selection.

Charts are Vega-Lite rather than plotly: a few hundred SVG marks, or one canvas for a corpus map, draw in
a fraction of the browser time plotly's SVG took at every interaction (BENCHMARKS.md, "Felt speed").
"""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd
import torch

from invemb_core.projection import Projection

from .render import shorten

BACKDROP_POINTS = 250  # corpus points drawn behind Interpolate's path: enough to show the map's shape


def rows_in_box(table: pd.DataFrame, box: dict) -> list[int]:
    """The rows of a map's ``table`` (x, y columns) inside a box selection (``{"x": [a, b], "y": [c, d]}``, as
    an interval selection of ``st.altair_chart(..., on_select="rerun")`` gives it), in table order."""
    if "x" not in box or "y" not in box:
        return []
    (x0, x1), (y0, y1) = sorted(box["x"]), sorted(box["y"])
    return table.index[table.x.between(x0, x1) & table.y.between(y0, y1)].tolist()


def box_centre(box: dict) -> tuple[float, float]:
    """The centre (x, y) of a box selection."""
    return (box["x"][0] + box["x"][1]) / 2, (box["y"][0] + box["y"][1]) / 2


def path_chart(projection: Projection, Z: torch.Tensor, texts: list[str]) -> alt.LayerChart:
    """The path on the checkpoint's map, over a sketch of its corpus; A and B labelled, each point's text on
    hover (Interpolate)."""
    every = -(-len(projection.table) // BACKDROP_POINTS)
    corpus = projection.table[["x", "y"]].iloc[::every].round(2)
    xy = projection.place(Z)
    points = pd.DataFrame(
        {
            "x": xy[:, 0].round(3),
            "y": xy[:, 1].round(3),
            "order": range(len(texts)),
            "point": ["A"] + [f"step {i}" for i in range(1, len(texts) - 1)] + ["B"],
            "label": ["A"] + [""] * (len(texts) - 2) + ["B"],
            "decoded": [shorten(t) for t in texts],  # shown as text (vega escapes tooltips)
        }
    )
    x = alt.X("x:Q", axis=None, scale=alt.Scale(zero=False))
    y = alt.Y("y:Q", axis=None, scale=alt.Scale(zero=False))
    backdrop = alt.Chart(corpus).mark_circle(size=18, color="#c4c4c4", opacity=1, tooltip=False).encode(x, y)
    path_ = alt.Chart(points).encode(x, y)
    line = path_.mark_line(color="black", strokeWidth=1.5, tooltip=False).encode(order="order:Q")
    dots = path_.mark_point(size=130, filled=True, opacity=1, stroke="black", strokeWidth=1).encode(
        color=alt.Color("order:Q", scale=alt.Scale(scheme="viridis"), legend=None),
        tooltip=[alt.Tooltip("point:N", title="point"), alt.Tooltip("decoded:N", title="decoded")],
    )
    labels = path_.mark_text(dy=-16, fontSize=16, fontWeight="bold", tooltip=False).encode(text="label:N")
    return (backdrop + line + dots + labels).properties(height=420)


# 12 distinct colours (D3's ten, then two dark ones), none pale on white
CATEGORY_COLOURS = (
    "#1f77b4 #ff7f0e #2ca02c #d62728 #9467bd #8c564b #e377c2 #7f7f7f #bcbd22 #17becf #222222 #393b79".split()
)
STAR = "M0,-1L.225,-.309L.951,-.309L.363,.118L.588,.809L0,.382L-.588,.809L-.363,.118L-.951,-.309L-.225,-.309Z"


def map_chart(table: pd.DataFrame, order: list | None, hits: pd.Series | None, placed: pd.DataFrame | None):
    """The corpus coloured as chosen, search matches ringed in red and your sentences as numbered stars on top.
    One canvas (Embedding map): plotly drew each point as an SVG element, ~250 ms of the browser's time at
    every interaction for 2,010 points."""
    # Hover: the sentence, and its reconstruction where it differs (most come back exactly).
    corpus = pd.DataFrame(
        {
            "row": table.index,
            "x": table.x.astype(np.float32),
            "y": table.y.astype(np.float32),
            "colour": table.colour,
            "sentence": table.sentence.map(shorten),
            "decoded": table.reconstruction.map(shorten).where(~table.exact.astype(bool), "(exactly)"),
        }
    )
    if order is not None:  # the last category drawn last, on top (e.g. "differs")
        corpus = corpus.iloc[np.argsort(corpus.colour.map({v: i for i, v in enumerate(order)}), kind="stable")]
    x = alt.X("x:Q", scale=alt.Scale(zero=False), title="x")
    y = alt.Y("y:Q", scale=alt.Scale(zero=False), title="y")
    if order is None:  # a number (sentence length): one colour scale
        colour = alt.Color("colour:Q", scale=alt.Scale(scheme="viridis"), legend=alt.Legend(title="length (words)"))
    else:
        colour = alt.Color(
            "colour:N",
            sort=order,
            scale=alt.Scale(
                domain=order, range=[CATEGORY_COLOURS[i % len(CATEGORY_COLOURS)] for i in range(len(order))]
            ),
            legend=alt.Legend(orient="bottom", columns=4, labelLimit=0, title=None, symbolSize=90, labelFontSize=13),
        )
    box = alt.selection_interval(name="box", encodings=["x", "y"])
    # A click picks a corpus point (or its search ring); a click on a star or on empty space picks nothing.
    pick = alt.selection_point(
        name="pick", fields=["row"], on="click[event.item && event.item.datum && isValid(event.item.datum.row)]"
    )
    layers = [
        alt.Chart(corpus)
        .mark_circle(size=22)
        .encode(
            x,
            y,
            color=colour,
            opacity=alt.condition(box & pick, alt.value(0.9), alt.value(0.2)),  # a selection dims the rest
            tooltip=["sentence:N", "decoded:N"],
        )
        .add_params(box, pick)
    ]
    if hits is not None and hits.any():
        rings = corpus[corpus.row.isin(table.index[hits])]
        layers.append(
            alt.Chart(rings)
            .mark_point(size=130, filled=False, color="red", strokeWidth=2, opacity=1)
            .encode(x, y, tooltip=["sentence:N", "decoded:N"])
        )
    if placed is not None:
        stars = placed.assign(
            label=placed["#"].astype(str),
            sentence=placed.sentence.map(shorten),
            decoded=placed.reconstruction.map(shorten),
        )
        at = alt.Chart(stars).encode(x, y)
        number = dict(dx=13, dy=-13, fontSize=15, fontWeight="bold", tooltip=False)
        layers += [
            at.mark_point(
                shape=STAR, size=700, filled=True, fill="gold", stroke="black", strokeWidth=1.5, opacity=1
            ).encode(tooltip=[alt.Tooltip("sentence:N", title="your sentence"), "decoded:N"]),
            # The numbers over a white halo of themselves: readable over dense clusters.
            at.mark_text(**number, stroke="white", strokeWidth=4).encode(text="label:N"),
            at.mark_text(**number).encode(text="label:N"),
        ]
    return (
        alt.layer(*layers)
        .properties(height=640, usermeta={"embedOptions": {"renderer": "canvas"}})
        .configure_axis(labelFontSize=12, titleFontSize=13)  # readable on a projector
    )
