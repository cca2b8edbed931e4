"""The app's state: which checkpoint is chosen, and everything cached from it.

Every cache derived from a checkpoint is keyed on one ``(path, stamp)``: ``stamp`` changes whenever the
checkpoint directory or a file in it is written (a re-trained run under the same name, ``invemb
calibrate``, a new map from ``invemb project``), so no page shows a stale model, map or description. The
pages' results (reconstructions, paths, placed sentences...) are cached here too, each a call into
``invemb_core``: only caching and session glue live here.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import TypeVar

import pandas as pd
import streamlit as st
import torch
from streamlit.runtime.scriptrunner import add_script_run_ctx, get_script_run_ctx

import invemb_core as ie
from invemb_core.alternatives import TemperatureView, temperature_view
from invemb_core.checkpoint import read_config
from invemb_core.clusters import cluster_centroids, cluster_keywords
from invemb_core.data import read_sentences
from invemb_core.english import english_dir
from invemb_core.interpolate import decode_path
from invemb_core.interpolate import path as interpolation_path
from invemb_core.projection import Projection, list_projections, load_projection
from invemb_core.report import compare_decodings

from . import jobs
from .render import md_escape

CHECKPOINT_KEY = "checkpoint"
T = TypeVar("T")

Key = tuple[str, float]  # (checkpoint path, stamp): what every cache below is keyed on


def stamp(path: str) -> float:
    """When the checkpoint at ``path`` was last written: the newest modification time of its directory
    (files added, removed or replaced) and of the files in it. A few ``stat`` calls."""
    directory = Path(path)
    if not directory.is_dir():
        return 0.0
    return max([directory.stat().st_mtime] + [p.stat().st_mtime for p in directory.iterdir() if p.is_file()])


def key(path: str) -> Key:
    return path, stamp(path)


# ---- the sidebar's choice ----------------------------------------------------------------------------


def checkpoints() -> list[Path]:
    """The shipped checkpoints, then finished runs from the Train page (runs/, not the one training)."""
    running = jobs.active_job()
    runs = [p for p in jobs.list_runs() if (p / "config.json").is_file() and (running is None or p != running.path)]
    return ie.list_checkpoints() + runs


def checkpoint_named(name: str) -> str | None:
    """The path of the checkpoint called ``name`` under checkpoints/, if there is one."""
    return next((str(p) for p in checkpoints() if p.name == name), None)


def current_checkpoint() -> str | None:
    """The sidebar's choice; before the sidebar has run (or with no choice yet), the default checkpoint."""
    chosen = st.session_state.get(CHECKPOINT_KEY)
    if chosen:
        return chosen
    found = checkpoints()
    return str(found[0]) if found else None


def current() -> Key:
    """The chosen checkpoint's key, or stop the page with a clear message when there is none."""
    path = current_checkpoint()
    if path is None:
        st.error("No checkpoint found under checkpoints/. Train one: invemb train --out checkpoints/default")
        st.stop()
    return key(path)


def current_model() -> ie.Autoencoder:
    """The model chosen in the sidebar, or stop the page with a clear message."""
    try:
        return load_model(*current())
    except ie.InvEmbError as e:
        st.error(md_escape(f"Could not load the checkpoint: {e}"))
        st.stop()


# ---- cached per (path, stamp) ------------------------------------------------------------------------


@st.cache_resource(show_spinner="Loading the model...", max_entries=8)
def load_model(path: str, written: float) -> ie.Autoencoder:
    """One Autoencoder per checkpoint for the whole server: every session shares it (read-only)."""
    return ie.load(path)


@st.cache_resource(show_spinner="Loading the embedding map...", max_entries=16)
def load_map(path: str, written: float, name: str | None = None) -> Projection | None:
    """A checkpoint's precomputed map (the smallest one unless named); None if it ships none. A map of your
    own sentences (``corpora.is_user_map``) comes from where the page built it (``corpora.user_map``)."""
    from . import corpora  # it imports this module

    if corpora.is_user_map(name):
        return corpora.built_map(path, written, name)
    return load_projection(path, name)


def map_names(path: str) -> list[str]:
    return list_projections(path)


@st.cache_data(show_spinner="Naming the clusters...", max_entries=16)
def cluster_summary(path: str, written: float, name: str) -> pd.DataFrame:
    """Per cluster of a checkpoint's map: a legend label, its size, its characteristic words and its
    decoded centre (decoded by the same cached model the pages use)."""
    projection = load_map(path, written, name)
    table = projection.table
    keywords = cluster_keywords(list(table.sentence), list(table.cluster), top=4)
    labels, centres = cluster_centroids(projection, list(table.cluster))
    decoded = load_model(path, written).decode(centres)
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


@st.cache_data(show_spinner=False, max_entries=64)
def checkpoint_description(path: str, written: float) -> str:
    """The one-line description stored in a checkpoint's config.json (without loading its weights)."""
    try:
        return str(read_config(path).get("description") or "")
    except ie.InvEmbError:
        return ""


def data_name(spec: object) -> str | None:
    """A validation set as a reader names it: ``multi30k:val`` -> "Multi30k val", a file -> its name."""
    if not spec:
        return None
    spec = str(spec)
    if spec.startswith("multi30k:"):
        return "Multi30k " + spec.split(":", 1)[1]
    if "english/heldout" in spec:
        return "general English, held out"
    if "english/typed_dev" in spec:
        return "typed everyday sentences"
    return Path(spec).name


@st.cache_data(show_spinner=False, max_entries=64)
def checkpoint_facts(path: str, written: float) -> dict:
    """What the Compare page lists for a checkpoint, read from its config.json (no weights loaded)."""
    config = read_config(path)
    model = config.get("model", {})
    history = config.get("history") or [{}]
    val = (config.get("metrics") or {}).get("validation", {})
    vector = str(model.get("vector_size", "?"))
    if model.get("meaning") == "minilm" and isinstance(model.get("vector_size"), int):
        wording = model["vector_size"] - 384
        vector += f" = 384 meaning + {wording} wording" if wording else " = 384 meaning, no wording code"
    minutes = history[-1].get("minutes")
    return {
        "checkpoint": Path(path).name,
        "held-out exact": round(val["exact_match"], 3) if "exact_match" in val else None,
        "held-out token acc": round(val["token_accuracy"], 3) if "token_accuracy" in val else None,
        "n": val.get("n"),
        "held-out data": data_name(val.get("data")),
        "decoding": (val.get("decoding") or {}).get("strategy", "greedy") if val else None,
        "vector": vector,
        "decoder": f"{model.get('decoder', '?')} {model.get('decoder_cell', '')}".strip(),
        "training (min)": round(minutes, 1) if isinstance(minutes, (int, float)) else None,
        "what it is": str(config.get("description") or ""),
    }


# Results that depend only on their inputs, kept so that an interaction elsewhere on the page does not
# decode them again (decoding is most of what an interaction costs).


class DecodedLines:
    """Each line's rows of ``report.compare_decodings``, kept per (checkpoint, stamp, line, decodings, keep)
    for the whole server, the oldest forgotten first. Thread-safe: every session shares it."""

    def __init__(self, size: int = 512):
        self.size = size
        self._rows: OrderedDict[tuple, pd.DataFrame] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple) -> pd.DataFrame | None:
        with self._lock:
            if key not in self._rows:
                return None
            self._rows.move_to_end(key)
            return self._rows[key].copy()

    def put(self, key: tuple, rows: pd.DataFrame) -> None:
        with self._lock:
            self._rows[key] = rows
            while len(self._rows) > self.size:
                self._rows.popitem(last=False)


@st.cache_resource
def decoded_lines() -> DecodedLines:
    return DecodedLines()


def reconstructions(sentences: list[str], decodings: dict, keep: float | None) -> pd.DataFrame:
    """Every line's rows with the chosen checkpoint, one table (a ``sentence`` column numbers the lines from 1).

    Lines decoded before (by anyone, with the same decodings) are not decoded again, so editing one line
    decodes that line alone. The others are decoded together in one batch, which costs far less than one
    at a time (three sentences from the meaning alone: 2.5 s -> 0.95 s); a line's rows are still what it
    gives alone, since seeded samples never depend on the rest of the batch (decode.py)."""
    path, written = current()
    tag = json.dumps(decodings, sort_keys=True)
    lines = decoded_lines()
    found = {s: lines.get((path, written, s, tag, keep)) for s in dict.fromkeys(sentences)}
    missing = [s for s, rows in found.items() if rows is None]
    if missing:
        with st.spinner("Decoding..."):
            table = compare_decodings(load_model(path, written), missing, decodings, keep=keep)
        for number, sentence in enumerate(missing, 1):
            found[sentence] = table[table.sentence == number].drop(columns="sentence").reset_index(drop=True)
            lines.put((path, written, sentence, tag, keep), found[sentence])  # only read from here on
    blocks = [found[sentence].assign(sentence=number) for number, sentence in enumerate(sentences, 1)]
    return pd.concat(blocks, ignore_index=True)


def in_background(fn: Callable[..., T], *args: object) -> Future[T]:
    """``fn(*args)`` started now in a thread of its own that carries this run's script context (the caches
    and ``st.session_state`` work there); the caller goes on and reads ``.result()``, which raises what
    ``fn`` raised. Torch releases the GIL, so two decodings of a few rows each share the two cores better
    than they run one after the other (BENCHMARKS.md, "Two decodings at once"). ``fn`` must not draw."""
    future: Future[T] = Future()

    def run() -> None:
        try:
            future.set_result(fn(*args))
        except BaseException as e:  # handed to the caller, in its thread
            future.set_exception(e)

    thread = threading.Thread(target=run, name="invemb-background", daemon=True)
    add_script_run_ctx(thread, get_script_run_ctx(suppress_warning=True))
    thread.start()
    return future


@st.cache_data(show_spinner=False, max_entries=256)
def temperature_view_of(
    checkpoint: str,
    written: float,
    sentence: str,
    keep: float | None,
    temperature: float,
    samples: int,
    seed: int,
    rules: tuple[float, bool],
) -> TemperatureView:
    """``alternatives.temperature_view`` of one sentence; ``rules``: (min_p, whole_words)."""
    min_p, whole_words = rules
    return temperature_view(
        load_model(checkpoint, written),
        sentence,
        temperature=temperature,
        samples=samples,
        seed=seed,
        keep=keep,
        min_p=min_p,
        whole_words=whole_words,
    )


@st.cache_data(show_spinner=False, max_entries=64)
def walk(
    checkpoint: str, written: float, a: str, b: str, steps: int, method: str, strategy: str
) -> tuple[list[float], list[str], object]:
    """The decoded path from A to B; kept per input, so going back to a pair (or to this page) is instant."""
    model = load_model(checkpoint, written)
    za, zb = model.encode([a, b])
    alphas, Z = interpolation_path(za, zb, steps=steps, method=method)
    if strategy == "default":
        return [float(x) for x in alphas], decode_path(model, Z), Z
    decoding = strategy if strategy != "beam" or model.supports_beam else "greedy"
    return [float(x) for x in alphas], decode_path(model, Z, strategy=decoding), Z


@st.cache_data(show_spinner=False, max_entries=64)
def place(checkpoint: str, written: float, map_name: str | None, sentences: tuple[str, ...]) -> pd.DataFrame:
    """Your sentences on the map and decoded back (the default decoding), each encoded once, with the map's
    sentence nearest to each and their cosine similarity (of the map's reduced vectors); kept per input."""
    model = load_model(checkpoint, written)
    Z = model.encode(list(sentences))
    projection = load_map(checkpoint, written, map_name)
    xy = projection.place(Z).round(3)
    similarity, nearest = projection.neighbours(Z, k=1)
    return pd.DataFrame(
        {
            "#": range(1, len(sentences) + 1),
            "sentence": list(sentences),
            "x": xy[:, 0],
            "y": xy[:, 1],
            "reconstruction": model.decode(Z),
            "nearest": [projection.table.sentence[int(i)] for i in nearest[:, 0]],
            "similarity": similarity[:, 0].numpy().round(2),
        }
    )


@st.cache_data(show_spinner=False, max_entries=256)
def vector_of(checkpoint: str, written: float, sentence: str) -> list[float]:
    """A sentence's vector (``ae.encode``) as plain numbers."""
    return load_model(checkpoint, written).encode([sentence])[0].tolist()


@st.cache_data(show_spinner=False, max_entries=256)
def meaning_cosine(checkpoint: str, written: float, a: str, b: str) -> float:
    """With a checkpoint whose vector has a meaning part: the cosine between two sentences' meanings."""
    ae = load_model(checkpoint, written)
    M = ae.encode([a, b])[:, : ae.meaning_size]
    return float(torch.nn.functional.cosine_similarity(M[0], M[1], dim=0))


@st.cache_data(show_spinner=False, max_entries=256)
def arithmetic_text(path: str, written: float, a: str, b: str, c: str) -> str:
    """``ie.arithmetic`` (A - B + C, decoded) with the checkpoint at ``path``."""
    return ie.arithmetic(load_model(path, written), a, b, c)


@st.cache_data(show_spinner=False, max_entries=256)
def spot_text(path: str, written: float, map_name: str | None, x: float, y: float) -> str:
    """What the spot (x, y) of a checkpoint's map decodes to (see ``Projection.vector_at``)."""
    ae = load_model(path, written)
    return ae.decode(load_map(path, written, map_name).vector_at(x, y, ae.encode)[None, :])[0]


# ---- example text (not from a checkpoint) ------------------------------------------------------------


@st.cache_data(show_spinner=False)
def example_sentences(split: str = "multi30k:test_2016_flickr", limit: int = 200) -> list[str]:
    return read_sentences(split, min_words=5, max_words=30, limit=limit)


@st.cache_data(show_spinner=False)
def everyday_sentences() -> list[str]:
    """Sentences a user would type (news, questions, requests, idioms...): the hand-written part of the
    typed-sentence dev set, which no checkpoint trains on."""
    return read_sentences(str(english_dir() / "typed_handwritten.txt"))
