"""Showing text safely: user text never reaches Markdown, only escaped HTML or plain-text elements.

Word diffs, HTML tables of already-escaped cells, Markdown escaping for checkpoint descriptions, and
characters named by code point.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Sequence

from invemb_core.report import join_words, word_diff

DIFF_CSS = """<style>
.ie-diff {line-height: 1.9; white-space: normal; overflow-wrap: anywhere;}
.ie-new {background: #ffd8a8; color: #7a3400; border-radius: 3px; padding: 0 2px;}
.ie-missing {color: #9aa0a6; text-decoration: line-through;}
.ie-table {border-collapse: collapse; width: 100%; font-size: 0.95rem;}
.ie-table td, .ie-table th {border-bottom: 1px solid #e6e6e6; padding: 4px 8px; vertical-align: top; text-align: left;}
.ie-table th {color: #555; font-weight: 600;}
.ie-table td.num {white-space: nowrap; text-align: right; font-variant-numeric: tabular-nums;}
.ie-label {white-space: nowrap; color: #333;}
.ie-table.fixed {table-layout: fixed;}
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


def describe_characters(chars: Sequence[str], *, limit: int = 6) -> str:
    """Characters named by code point and Unicode name (never the characters themselves, so the text
    is safe in any element): "U+1F642 SLIGHTLY SMILING FACE"."""
    named = []
    for piece in chars[:limit]:
        c = next((ch for ch in piece if not ch.isascii()), piece[0])  # the character that made it [UNK]
        named.append(f"U+{ord(c):04X} {unicodedata.name(c, 'unnamed character')}")
    more = f" and {len(chars) - limit} more" if len(chars) > limit else ""
    return ", ".join(named) + more


def scored_outputs_table(target: str, labelled: Sequence[tuple[str, object]], *, label: str, label_width: str) -> str:
    """The input and one row per labelled output (each with ``.output``, ``.exact``, ``.bleu``,
    ``.cosine``): the output's word diff against ``target`` and its scores. Labels are already HTML; a
    fixed layout makes the tables of consecutive sentences line up."""
    rows = [["<b>input</b>", diff_html(target, target), "", "", ""]]
    for name, r in labelled:
        rows.append([name, diff_html(target, r.output), "✓" if r.exact else "✗", f"{r.bleu:.0f}", f"{r.cosine:.3f}"])
    return html_table(
        [label, "output", "exact", "BLEU", "cosine"],
        rows,
        numeric=(2, 3, 4),
        widths=(label_width, None, "4rem", "4rem", "4.5rem"),
    )
