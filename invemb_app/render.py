"""Showing text safely: user text never reaches Markdown, only escaped HTML or plain-text elements.

Word diffs, HTML tables of already-escaped cells, Markdown escaping for checkpoint descriptions, and
characters named by code point.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Sequence
from typing import TYPE_CHECKING

from invemb_core.report import join_words, word_diff

if TYPE_CHECKING:
    import pandas as pd

DIFF_CSS = """<style>
.ie-diff {line-height: 1.9; white-space: normal; overflow-wrap: anywhere;}
.ie-new {background: #ffd8a8; color: #7a3400; border-radius: 3px; padding: 0 2px;}
.ie-missing {color: #9aa0a6; text-decoration: line-through;}
.ie-table {border-collapse: collapse; width: 100%; font-size: 0.95rem;}
.ie-table td, .ie-table th {border-bottom: 1px solid #e6e6e6; padding: 4px 8px; vertical-align: top; text-align: left;}
.ie-table th {color: #555; font-weight: 600;}
.ie-table td.num {white-space: nowrap; text-align: right; font-variant-numeric: tabular-nums;}
.ie-label {white-space: nowrap; color: #333;}
.ie-writer {font-size: 0.75rem; color: #6b6f76; white-space: nowrap;}
.ie-plain {line-height: 1.6; overflow-wrap: anywhere;}
.ie-table.fixed {table-layout: fixed;}
</style>"""

# A vector as a strip of cells: red for positive numbers, blue for negative, the stronger the larger.
STRIP_CSS = """<style>
.ie-strip {display: flex; gap: 8px; width: 100%;}
.ie-part {display: flex; flex-direction: column; min-width: 0; font-size: 0.8rem; color: #555;}
.ie-cells {display: flex; height: 30px; border: 1px solid #ddd;}
.ie-cells i {flex: 1 1 0; min-width: 0;}
.ie-cells .p0, .ie-cells .n0 {background: #f7f7f7;}
.ie-cells .p1 {background: #f4c7bd;} .ie-cells .p2 {background: #e8907d;}
.ie-cells .p3 {background: #d2553f;} .ie-cells .p4 {background: #a8261a;}
.ie-cells .n1 {background: #c4d5ee;} .ie-cells .n2 {background: #8aaedc;}
.ie-cells .n3 {background: #4f80c2;} .ie-cells .n4 {background: #224f94;}
</style>"""


def shorten(text: str, limit: int = 120) -> str:
    """At most ``limit`` characters, an ellipsis marking a cut (hover texts: one is drawn per point)."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def md_escape(text: str) -> str:
    """Text from outside the app's code (a checkpoint's description) made inert for Markdown elements:
    every Markdown/HTML punctuation character backslash-escaped."""
    return re.sub(r"([\\`*_{}\[\]()#+\-.!|<>~$&:=\"'])", r"\\\1", text)


def diff_html(target: str, output: str) -> str:
    """``output`` as HTML with its word-level difference from ``target``: new words highlighted, missing
    words struck through in grey. Every word is HTML-escaped."""
    ops = word_diff(target, output)
    parts = [html.escape(w) if op == "same" else f'<span class="ie-{op}">{html.escape(w)}</span>' for op, w in ops]
    return f'<span class="ie-diff">{join_words([w for _, w in ops], parts) or "<i>(empty)</i>"}</span>'


def html_table(
    header: Sequence[str],
    rows: Sequence[Sequence[str]],
    *,
    numeric: Sequence[int] = (),
    widths: Sequence[str | None] | None = None,
) -> str:
    """An HTML table from cells that are already HTML (escape user text before it gets here). ``widths``
    (CSS widths per column, None for the rest) fixes the layout, so that tables one below the other line
    up."""
    cols = ""
    if widths:
        cols = "<colgroup>" + "".join(f'<col style="width: {w}">' if w else "<col>" for w in widths) + "</colgroup>"
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f'<td class="{"num" if i in numeric else ""}">{c}</td>' for i, c in enumerate(r)) + "</tr>"
        for r in rows
    )
    fixed = " fixed" if widths else ""
    return f'{DIFF_CSS}<table class="ie-table{fixed}">{cols}<tr>{head}</tr>{body}</table>'


def vector_strip(values: Sequence[float], *, meaning_size: int = 0) -> str:
    """A sentence vector as a strip with one cell per number, red positive and blue negative, darker the
    larger against the largest of its part; a two-part vector's meaning and wording code side by side, each
    labelled with its size and as wide as its share of the numbers."""
    if 0 < meaning_size < len(values):
        parts = [("meaning", values[:meaning_size]), ("wording code", values[meaning_size:])]
    else:
        parts = [("the vector", values)]
    html_parts = []
    for name, part in parts:
        top = max((abs(v) for v in part), default=0.0) or 1.0
        cells = "".join(f'<i class="{"p" if v > 0 else "n"}{round(4 * abs(v) / top)}"></i>' for v in part)
        html_parts.append(
            f'<div class="ie-part" style="flex: {len(part)} 1 0"><div class="ie-cells">{cells}</div>'
            f"{name}: {len(part)} numbers</div>"
        )
    return f'{STRIP_CSS}<div class="ie-strip">{"".join(html_parts)}</div>'


def describe_characters(chars: Sequence[str], *, limit: int = 6) -> str:
    """Characters named by code point and Unicode name (never the characters themselves, so the text
    is safe in any element): "U+1F642 SLIGHTLY SMILING FACE"."""
    named = []
    for piece in chars[:limit]:
        c = next((ch for ch in piece if not ch.isascii()), piece[0])  # the character that made it [UNK]
        named.append(f"U+{ord(c):04X} {unicodedata.name(c, 'unnamed character')}")
    more = f" and {len(chars) - limit} more" if len(chars) > limit else ""
    return ", ".join(named) + more


def plain_html(text: str) -> str:
    """Text as it reads, HTML-escaped, with no marks."""
    return f'<span class="ie-plain">{html.escape(text) or "<i>(empty)</i>"}</span>'


def scored_outputs_table(
    target: str,
    labelled: Sequence[tuple[str, object]],
    *,
    label: str,
    label_width: str,
    pending: Sequence[str] = (),
    diff: bool = True,
) -> str:
    """The input and one row per labelled output (each with ``.output``, ``.exact``, ``.bleu``,
    ``.cosine``): the output (its word diff against ``target`` with ``diff``, else as plain text) and its
    scores; then a "decoding..." row per name in ``pending`` (plain text). Labels are already HTML; a fixed
    layout makes the tables of consecutive sentences line up."""
    shown = (lambda text: diff_html(target, text)) if diff else plain_html
    rows = [["<b>input</b>", shown(target), "", "", ""]]
    for name, r in labelled:
        rows.append([name, shown(r.output), "✓" if r.exact else "✗", f"{r.bleu:.0f}", f"{r.cosine:.3f}"])
    for name in pending:
        label = html.escape(decoding_label(name))  # as it will read once decoded
        rows.append([f'<span class="ie-label">{label}</span>', "<i>decoding…</i>", "", "", ""])
    return html_table(
        [label, "output", "exact", "BLEU", "cosine"],
        rows,
        numeric=(2, 3, 4),
        widths=(label_width, None, "4rem", "4rem", "4.5rem"),
    )


def decoding_label(name: str) -> str:
    """A decoding's name as a row label: "T=0.3" reads "T 0.3", so that joined labels keep one "="."""
    return re.sub(r"^T=", "T ", name)


def same_output_rows(block) -> list[tuple[list[str], object, list[str]]]:
    """One sentence's rows (``report.compare_decodings``) that gave the same output, as one: (the decodings'
    names, the first such row, who wrote them), in the order the decodings first appear."""
    groups: dict[tuple, tuple[list[str], object, list[str]]] = {}
    for r in block.itertuples():
        names, _, writers = groups.setdefault((r.output, bool(r.exact), r.bleu, r.cosine), ([], r, []))
        names.append(r.decoding)
        if r.writer not in writers:
            writers.append(r.writer)
    return list(groups.values())


def decodings_table(block, *, diff: bool, writers: bool, pending: Sequence[str] = ()) -> str:
    """Reconstruct's table for one sentence (its rows of ``report.compare_decodings``): one row per distinct
    output, labelled with every decoding that gave it ("greedy = beam 5 = T 0.3") and, with ``writers``,
    which decoder wrote it; outputs as plain text, or with ``diff`` as word diffs against the input."""
    labelled = []
    for names, row, who in same_output_rows(block):
        label = " = ".join(f'<span class="ie-label">{html.escape(decoding_label(n))}</span>' for n in names)
        if writers:
            label += "<br>" + " · ".join(f'<span class="ie-writer">{html.escape(w)}</span>' for w in who)
        labelled.append((label, row))
    return scored_outputs_table(
        block.target.iloc[0], labelled, label="decoding", label_width="10rem", pending=pending, diff=diff
    )


def distinct_caption(texts: Sequence[str]) -> str:
    """How many of a path's decoded points differ (Interpolate, under each path)."""
    distinct = len(set(texts))
    return f"{distinct} distinct {'sentence' if distinct == 1 else 'sentences'} among {len(texts)} points."


def path_table(alphas: Sequence[float], texts: Sequence[str]) -> str:
    """Interpolate's path: one row per point (A, step i, B), its alpha, and its text diffed against the point
    before it (what changed at that step)."""
    rows = []
    for i, (alpha, text) in enumerate(zip(alphas, texts)):
        label = "A" if i == 0 else "B" if i == len(texts) - 1 else f"step {i}"
        rows.append(
            [
                f'<span class="ie-label"><b>{label}</b></span>',
                f"{alpha:.2f}",
                diff_html(texts[i - 1] if i else text, text),
            ]
        )
    return html_table(["", "α", "decoded"], rows, numeric=(1,), widths=("4.5rem", "3.5rem", None))


def placed_table(targets: Sequence[str], placed) -> str:
    """Embedding map: the user's sentences (the stars) as typed, each decoded and diffed against what the
    tokenizer keeps of it (``targets``), with its place on the map and the map's sentence nearest to it
    (``placed``: '#', sentence, reconstruction, x, y, nearest, similarity columns)."""
    rows = [
        [
            str(r["#"]),
            html.escape(r.sentence),  # as typed; the diff beside it is against what the tokenizer keeps
            diff_html(target, r.reconstruction),
            "✓" if target == r.reconstruction else "✗",
            html.escape(r.nearest),
            f"{r.similarity:.2f}",
            f"{r.x:.2f}",
            f"{r.y:.2f}",
        ]
        for target, (_, r) in zip(targets, placed.iterrows())
    ]
    columns = ["#", "your sentence", "decoded", "exact", "nearest sentence on the map", "similarity", "x", "y"]
    return html_table(columns, rows, numeric=(0, 3, 5, 6, 7))


def selected_table(shown, targets: Sequence[str], cluster_labels: dict, neighbours: Sequence[Sequence[str]]) -> str:
    """Embedding map: the selected corpus rows (``shown``: sentence, reconstruction, exact, cluster), each
    diffed against its ``targets`` text, with its cluster's label and its nearest sentences."""
    rows = [
        [
            f'<span class="ie-diff">{html.escape(r.sentence)}</span>',
            diff_html(target, r.reconstruction),
            "✓" if r.exact else "✗",
            html.escape(cluster_labels[r.cluster]),
            "<br>".join(html.escape(s) for s in near),
        ]
        for r, target, near in zip(shown.itertuples(), targets, neighbours)
    ]
    return html_table(["sentence", "decoded (default decoding)", "exact", "cluster", "nearest neighbours"], rows)


def clusters_table(clusters) -> str:
    """Embedding map: one row per cluster (``state.cluster_summary``): size, words, decoded centre."""
    rows = [
        [str(c), str(n), html.escape(words), html.escape(centre)]
        for c, n, words, centre in zip(
            clusters.cluster, clusters.sentences, clusters.words, clusters["centre decodes to"]
        )
    ]
    return html_table(["cluster", "sentences", "words", "centre decodes to"], rows, numeric=(0, 1))


def alternatives_table(view) -> str:
    """Reconstruct's temperature section: per position of the greedy output, its piece, that piece's
    probability and the top alternatives at the view's temperature (``alternatives.TemperatureView``). An
    HTML table, like the page's others: drawn at once, where a data grid fills in its cells later."""
    rows = [
        [
            str(p.index + 1),
            html.escape(p.chosen),
            f"{p.chosen_probability:.3f}",
            "  ·  ".join(
                f"<b>{html.escape(t)}</b> {q:.2f}" if t == p.chosen else f"{html.escape(t)} {q:.2f}"
                for t, q in p.alternatives
            ),
        ]
        for p in view.positions
    ]
    return html_table(["position", "greedy", "p(greedy)", "top alternatives at this T"], rows, numeric=(0, 2))


def samples_table(view) -> str:
    """The view's samples, one row per seed, each diffed against the input."""
    rows = [
        [f'<span class="ie-label">seed {s}</span>', diff_html(view.target, text)] for s, text in view.samples.items()
    ]
    return html_table(["seed", "sample"], rows)


def text_table(table: pd.DataFrame) -> str:
    """A table of plain text (a DataFrame of strings, e.g. sentences and what was written from them), every
    cell escaped: user text is never read as HTML or Markdown."""
    rows = [[html.escape(str(cell)) for cell in row] for row in table.itertuples(index=False)]
    return html_table([html.escape(str(c)) for c in table.columns], rows)
