"""What every page of the app shares: the cached model and projection, and the chosen checkpoint.

Only caching and session glue live here; all model work is a call into ``invemb_core``.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Sequence
from pathlib import Path

import pandas as pd
import streamlit as st

import invemb_core as ie
from invemb_core.clusters import cluster_centroids, cluster_keywords
from invemb_core.data import read_sentences
from invemb_core.english import english_dir
from invemb_core.projection import Projection, list_projections, load_projection
from invemb_core.report import join_words, word_diff

CHECKPOINT_KEY = "checkpoint"
BACKDROP_POINTS = 250  # corpus points drawn behind Interpolate's path: enough to show the map's shape


def _leave_legacy_navigation() -> None:
    """Run every page through app.py, deep links included.

    Streamlit treats an entry script with a pages/ folder beside it as a version-1 multipage app until
    the entry script's ``st.navigation`` has run once in the process. The first visitor of a fresh server
    who opens a deep link (``/embedding_map``) would get that page run on its own: no checkpoint picker,
    another menu (streamlit/streamlit#9624). This turns that mode off and runs the request again, now
    through app.py. It runs at most once per process, when this module is first imported."""
    from streamlit.runtime.pages_manager import PagesManager

    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        st.rerun()


_leave_legacy_navigation()


@st.cache_resource(show_spinner="Loading the model...")
def load_model(path: str, stamp: float = 0.0) -> ie.Autoencoder:
    """One Autoencoder per checkpoint for the whole server: every session shares it (read-only).
    ``stamp`` (the config's modification time) makes a re-trained run under the same name load anew."""
    return ie.load(path)


@st.cache_resource(show_spinner="Loading the embedding map...")
def load_map(path: str, name: str | None = None) -> Projection | None:
    """A checkpoint's precomputed map (the smallest one unless named); None if it ships none."""
    return load_projection(path, name)


@st.cache_data(show_spinner="Naming the clusters...")
def cluster_summary(path: str, name: str) -> pd.DataFrame:
    """Per cluster of a checkpoint's map: a legend label, its size, its characteristic words and its
    decoded centre."""
    projection = load_map(path, name)
    table = projection.table
    keywords = cluster_keywords(list(table.sentence), list(table.cluster), top=4)
    labels, centres = cluster_centroids(projection, list(table.cluster))
    decoded = load_model(path).decode(centres)
    sizes = table.cluster.value_counts()
    return pd.DataFrame(
        {
            "cluster": labels,
            "label": [f"{c}: {', '.join(keywords[c][:3])}" for c in labels],
            "sentences": [int(sizes[c]) for c in labels],
            "words": [", ".join(keywords[c]) for c in labels],
            "centre decodes to": decoded,
        }
    )


def map_names(path: str) -> list[str]:
    return list_projections(path)


@st.cache_data(show_spinner=False)
def example_sentences(split: str = "multi30k:test_2016_flickr", limit: int = 200) -> list[str]:
    return read_sentences(split, min_words=5, max_words=30, limit=limit)


@st.cache_data(show_spinner=False)
def everyday_sentences() -> list[str]:
    """Sentences a user would type (news, questions, requests, idioms...): the hand-written part of the
    typed-sentence dev set, which no checkpoint trains on."""
    return read_sentences(str(english_dir() / "typed_handwritten.txt"))


def checkpoints() -> list[Path]:
    """The shipped checkpoints, then finished runs from the Train page (runs/, not the one training)."""
    from invemb_core import jobs

    running = jobs.active_job()
    runs = [p for p in jobs.list_runs() if (p / "config.json").is_file() and (running is None or p != running.path)]
    return ie.list_checkpoints() + runs


def checkpoint_named(name: str) -> str | None:
    """The path of the checkpoint called ``name`` under checkpoints/, if there is one."""
    return next((str(p) for p in checkpoints() if p.name == name), None)


@st.cache_data(show_spinner=False)
def checkpoint_description(path: str) -> str:
    """The one-line description stored in a checkpoint's config.json (without loading its weights)."""
    from invemb_core.checkpoint import read_config

    try:
        return str(read_config(path).get("description") or "")
    except ie.InvEmbError:
        return ""


@st.cache_data(show_spinner=False)
def checkpoint_facts(path: str) -> dict:
    """What the Compare page lists for a checkpoint, read from its config.json (no weights loaded)."""
    from invemb_core.checkpoint import read_config

    config = read_config(path)
    model = config.get("model", {})
    history = config.get("history") or [{}]
    val = (config.get("metrics") or {}).get("validation", {})
    vector = str(model.get("vector_size", "?"))
    if model.get("meaning") == "minilm" and isinstance(model.get("vector_size"), int):
        vector += f" = 384 meaning + {model['vector_size'] - 384} wording"
    minutes = history[-1].get("minutes")
    return {
        "checkpoint": Path(path).name,
        "val exact": round(val["exact_match"], 3) if "exact_match" in val else None,
        "val token acc": round(val["token_accuracy"], 3) if "token_accuracy" in val else None,
        "n": val.get("n"),
        "decoding": (val.get("decoding") or {}).get("strategy", "greedy") if val else None,
        "vector": vector,
        "decoder": f"{model.get('decoder', '?')} {model.get('decoder_cell', '')}".strip(),
        "training (min)": round(minutes, 1) if isinstance(minutes, (int, float)) else None,
        "what it is": str(config.get("description") or ""),
    }


def current_checkpoint() -> str | None:
    """The sidebar's choice; before the sidebar has run (or with no choice yet), the default checkpoint."""
    chosen = st.session_state.get(CHECKPOINT_KEY)
    if chosen:
        return chosen
    found = checkpoints()
    return str(found[0]) if found else None


def stamp(path: str) -> float:
    """When a checkpoint was last written (its config's modification time): part of every cache key."""
    config = Path(path) / "config.json"
    return config.stat().st_mtime if config.is_file() else 0.0


def current_model() -> ie.Autoencoder:
    """The model chosen in the sidebar, or stop the page with a clear message."""
    path = current_checkpoint()
    if path is None:
        st.error("No checkpoint found under checkpoints/. Train one: invemb train --out checkpoints/default")
        st.stop()
    try:
        return load_model(path, stamp(path))
    except ie.InvEmbError as e:
        st.error(f"Could not load the checkpoint: {e}")
        st.stop()


# Results that depend only on their inputs, kept so that an interaction elsewhere on the page does not
# decode them again (decoding is most of what an interaction costs).


@st.cache_data(show_spinner=False, max_entries=256)
def arithmetic_text(path: str, written: float, a: str, b: str, c: str) -> str:
    """``ie.arithmetic`` (A - B + C, decoded) with the checkpoint at ``path``."""
    return ie.arithmetic(load_model(path, written), a, b, c)


@st.cache_data(show_spinner=False, max_entries=256)
def spot_text(path: str, written: float, map_name: str | None, x: float, y: float) -> str:
    """What the spot (x, y) of a checkpoint's map decodes to (see ``Projection.vector_at``)."""
    ae = load_model(path, written)
    return ae.decode(load_map(path, map_name).vector_at(x, y, ae.encode)[None, :])[0]


def split_lines(text: str, *, max_sentences: int = 20) -> list[str]:
    """The non-blank lines of a text box, at most ``max_sentences`` (with a note on the page when there
    are more)."""
    lines = [line for line in (text or "").splitlines() if line.strip()]
    if len(lines) > max_sentences:
        st.info(f"Only the first {max_sentences} of your {len(lines)} lines are used.")
    return lines[:max_sentences]


def line_labels(sentences: Sequence[str]) -> list[str]:
    return [f"{i + 1}: {s[:80]}" for i, s in enumerate(sentences)]


def pick_line(sentences: Sequence[str], key: str, where=st) -> int:
    """A "Sentence" selectbox over the lines (in ``where``, e.g. a column); returns the chosen line's index.
    Its options are the lines themselves, so when the text changes the choice starts again at the first."""
    return line_index(sentences, where.selectbox("Sentence", line_labels(sentences), key=key))


def line_index(sentences: Sequence[str], label: str | None) -> int:
    """The index of the line a ``pick_line`` label names; the first line if it names none of them (yet)."""
    labels = line_labels(sentences)
    return labels.index(label) if label in labels else 0


# ---- showing user text safely: never as Markdown, only escaped HTML or plain-text elements -------------

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


def describe_characters(chars: Sequence[str], *, limit: int = 6) -> str:
    """Characters named by code point and Unicode name (never the characters themselves, so the text
    is safe in any element): "U+1F642 SLIGHTLY SMILING FACE"."""
    named = []
    for piece in chars[:limit]:
        c = next((ch for ch in piece if not ch.isascii()), piece[0])  # the character that made it [UNK]
        named.append(f"U+{ord(c):04X} {unicodedata.name(c, 'unnamed character')}")
    more = f" and {len(chars) - limit} more" if len(chars) > limit else ""
    return ", ".join(named) + more


def warn_about_input(ae: ie.Autoencoder, sentences: Sequence[str], names: Sequence[str] | None = None) -> None:
    """Say which inputs were truncated and which characters the tokenizer cannot carry ([UNK]). ``names``:
    what the page calls each sentence (default: their numbers)."""
    try:
        _, truncated = ae.tokenize(list(sentences))
    except ie.InvEmbError:
        return  # the page shows the error itself
    names = list(names) if names is not None else [str(i + 1) for i in range(len(sentences))]
    cut = [names[i] for i, t in enumerate(truncated) if t]
    if cut:
        st.warning(
            f"{'Sentence' if len(cut) == 1 else 'Sentences'} {', '.join(cut)} {'is' if len(cut) == 1 else 'are'} "
            f"longer than {ae.config.max_length} "
            "word pieces: only the beginning is encoded."
        )
    unknown = list(dict.fromkeys(c for s in sentences for c in ae.codec.unknown_characters(s)))
    if unknown:
        st.warning(
            f"The tokenizer cannot carry {describe_characters(unknown)}: each becomes [UNK] and cannot come back."
        )
    outside = sum(ae.codec.outside_vocabulary(s) for s in sentences)
    if outside:
        st.warning(
            f"{outside} word piece{'s' if outside > 1 else ''} of the input {'are' if outside > 1 else 'is'} not "
            "in this checkpoint's vocabulary (it only knows the pieces of its training text): each becomes [UNK]."
        )
