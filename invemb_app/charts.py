"""The geometry of a map's box selection (``st.altair_chart(..., on_select="rerun")``)."""

from __future__ import annotations

import pandas as pd

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
