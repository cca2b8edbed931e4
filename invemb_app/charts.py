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


def map_chart(
    table: pd.DataFrame,
    order: list | None,
    hits: pd.Series | None,
    placed: pd.DataFrame | None,
    labels: pd.DataFrame | None = None,
):
    """The corpus coloured as chosen, search matches ringed in red, cluster names (``labels``: x, y, label) at
    their clusters and your sentences as numbered stars on top. One canvas (Embedding map): plotly drew each
    point as an SVG element, ~250 ms of the browser's time at every interaction for 2,010 points."""
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
    if labels is not None:  # on the map itself, over a white halo: a legend of 12 colours is hard to match
        at = alt.Chart(labels).encode(x, y, text="label:N")
        name = dict(fontSize=13, fontWeight="bold", tooltip=False)
        layers += [at.mark_text(**name, stroke="white", strokeWidth=4, opacity=0.9), at.mark_text(**name)]
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


def cluster_label_spots(table: pd.DataFrame, names: dict) -> pd.DataFrame:
    """Where a map's cluster names go: each at the median point of its cluster (``names``: cluster -> label)."""
    spots = table.groupby("cluster")[["x", "y"]].median().reset_index()
    return spots.assign(label=spots.cluster.map(names).map(lambda t: shorten(str(t).rstrip(": "), 40)))


def heatmap(matrix: np.ndarray, sentences: list[str], title: str) -> alt.LayerChart:
    """A similarity matrix: sentence numbers on both axes, each cell's value written in it, the sentences
    on hover (Similarity)."""
    n = len(sentences)
    cells = pd.DataFrame(
        [
            {"a": str(i + 1), "b": str(j + 1), "value": float(matrix[i, j]), "A": shorten(sa), "B": shorten(sb)}
            for i, sa in enumerate(sentences)
            for j, sb in enumerate(sentences)
        ]
    )
    order = [str(i + 1) for i in range(n)]
    base = alt.Chart(cells, title=title).encode(
        x=alt.X("b:O", sort=order, title=None, axis=alt.Axis(labelAngle=0)),
        y=alt.Y("a:O", sort=order, title=None),
    )
    rect = base.mark_rect().encode(
        color=alt.Color(
            "value:Q", scale=alt.Scale(scheme="blues", domain=[min(0.0, float(matrix.min())), 1]), legend=None
        ),
        tooltip=[alt.Tooltip("A:N"), alt.Tooltip("B:N"), alt.Tooltip("value:Q", format=".3f", title="cosine")],
    )
    text = base.mark_text(fontSize=13 if n <= 6 else 11).encode(
        text=alt.Text("value:Q", format=".2f"),
        color=alt.condition(alt.datum.value > 0.6, alt.value("white"), alt.value("black")),
    )
    side = 60 + 46 * n
    return (rect + text).properties(width=side, height=side)


def vector_strips(parts: dict[str, dict[str, np.ndarray]]) -> alt.VConcatChart:
    """Vectors as strips of coloured cells, one row per sentence, one strip per part (``parts``: sentence
    label -> {part name: numbers}, ``similarity.vector_parts``): blue below zero, red above, white at zero.
    One canvas."""
    charts = []
    for part in next(iter(parts.values())):
        rows = pd.DataFrame(
            [
                {"sentence": label, "i": i, "value": float(v)}
                for label, numbers in parts.items()
                for i, v in enumerate(numbers[part])
            ]
        )
        limit = float(np.quantile(np.abs(rows.value), 0.98)) or 1.0
        size = len(next(iter(parts.values()))[part])
        charts.append(
            alt.Chart(rows, title=f"{part}: {size} numbers")
            .mark_rect()
            .encode(
                x=alt.X("i:O", axis=None),
                y=alt.Y("sentence:N", title=None, sort=list(parts), axis=alt.Axis(labelLimit=260)),
                color=alt.Color(
                    "value:Q",
                    scale=alt.Scale(scheme="redblue", reverse=True, domain=[-limit, limit], clamp=True),
                    legend=None,
                ),
                tooltip=[alt.Tooltip("i:O", title="number"), alt.Tooltip("value:Q", format=".3f")],
            )
            .properties(height=36 * len(parts))
        )
    return alt.vconcat(*charts).properties(usermeta={"embedOptions": {"renderer": "canvas"}})
