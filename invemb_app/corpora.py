"""Your own sentences in the app: the input (paste, or upload a .txt or .csv), the maps drawn from them and
their encoded corpora (which the Similarity page searches too), kept for the whole server by content.

A map of your sentences is named ``yours-<digest>-<view>`` (the digest of the sentences, not of the file
name): the same text a second time, by anyone, is the same map, at once. ``state.load_map`` hands such a
name here, so ``state``'s cached map functions (cluster summary, placing, decoding a spot) work on it as on
a shipped map. The page builds the map first (``user_map``) in the same run.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Future

import pandas as pd
import streamlit as st
import torch

import invemb_core as ie
from invemb_core.clusters import cluster_keywords
from invemb_core.corpus_map import (
    EncodedCorpus,
    corpus_projection,
    decode_back,
    encode_corpus,
    export_table,
    warm_up,
)
from invemb_core.projection import Projection
from invemb_core.user_corpus import MAX_SENTENCES, UserCorpus, csv_columns, is_csv, read_corpus

from .render import md_escape

YOURS = "yours"  # the corpus choice "your sentences"
PREFIX = "yours-"
SESSION_KEY = "your_corpus"  # the corpus last read in this session: the Similarity page offers it too
NO_GROUP = "(none)"
CORPUS_NAMES = {
    "general": "general English",
    "val-test": "captions (val + test)",
    "train": "captions (train)",
    "languages": "test captions in 3 languages",
    YOURS: "your sentences",
}


def corpus_name(name: str) -> str:
    return CORPUS_NAMES.get(name, name)


def is_user_map(name: str | None) -> bool:
    return bool(name) and name.startswith(PREFIX)


class Store:
    """Encoded corpora and their maps for the whole server, the oldest forgotten first. Thread-safe: every
    session shares it."""

    def __init__(self, size: int = 12):
        self.size = size
        self._items: OrderedDict[tuple, object] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple) -> object | None:
        with self._lock:
            if key not in self._items:
                return None
            self._items.move_to_end(key)
            return self._items[key]

    def put(self, key: tuple, value: object) -> None:
        with self._lock:
            self._items[key] = value
            while len(self._items) > self.size:
                self._items.popitem(last=False)


@st.cache_resource
def store() -> Store:
    return Store()


def progress_bar() -> tuple[Callable[[float, str], None], Callable[[], None]]:
    """A progress bar drawn at its first report (a cache hit draws nothing), and a function that removes it."""
    slot = st.empty()
    return (lambda share, message: slot.progress(min(max(share, 0.0), 1.0), text=message)), slot.empty


def encoded(path: str, written: float, sentences: list[str], tag: str) -> EncodedCorpus:
    """``sentences`` encoded by the checkpoint (decoded back later, by ``decode_rest``), kept under ``tag``
    (a content digest, or a shipped map's name); a progress bar while it runs."""
    from .state import load_model

    key = (path, written, "encoded", tag)
    found = store().get(key)
    if found is None:
        report, done = progress_bar()
        found = encode_corpus(load_model(path, written), sentences, decoding=None, progress=report)
        done()
        store().put(key, found)
    return found


def digest_of(name: str) -> str:
    """The content digest in a map of yours' name (``yours-<digest>-<view>``)."""
    return name[len(PREFIX) :].rsplit("-", 1)[0]


def user_map(path: str, written: float, corpus: UserCorpus, by: str) -> Projection:
    """The map of ``corpus`` laid out by view ``by``, built now (progress shown) or found by content. Its
    table's reconstructions are empty: ``map_table`` adds them as ``decode_rest`` writes them."""
    from .state import load_model

    name = f"{PREFIX}{corpus.digest}-{by}"
    found = store().get((path, written, "map", name))
    if found is None:
        enc = encoded(path, written, corpus.sentences, corpus.digest)
        report, done = progress_bar()
        projection = corpus_projection(
            load_model(path, written), enc, by=by, groups=corpus.groups, name=name, progress=report
        )
        done()
        found = (projection, enc)  # kept together: the reconstructions are written into ``enc``
        store().put((path, written, "map", name), found)
    return found[0]


def built(path: str, written: float, name: str) -> tuple[Projection, EncodedCorpus]:
    """A map of your sentences built earlier (``user_map``), by name, and its encoded corpus."""
    found = store().get((path, written, "map", name))
    if found is None:
        raise ie.InvEmbError("this map of your sentences is no longer kept: give the sentences again")
    return found


def built_map(path: str, written: float, name: str) -> Projection:
    return built(path, written, name)[0]


def map_table(path: str, written: float, name: str) -> tuple[pd.DataFrame, bool]:
    """A copy of a map's table and whether every sentence in it is decoded back: a shipped map always is;
    a map of yours has the reconstructions written so far ("" for the rest)."""
    from .state import load_map

    table = load_map(path, written, name).table.copy()
    if not is_user_map(name):
        return table, True
    enc = built(path, written, name)[1]
    table["reconstruction"] = [r or "" for r in enc.reconstructions]
    table["exact"] = [bool(e) for e in enc.exact]
    return table, enc.decoded


def decode_rest(path: str, written: float, name: str) -> None:
    """Decode back (greedy) the sentences of a map of yours not decoded yet, with a progress bar; a run
    interrupted half way leaves what it decoded for the next."""
    from .state import load_model

    report, done = progress_bar()
    decode_back(load_model(path, written), built(path, written, name)[1], progress=report)
    done()


@st.cache_data(show_spinner=False, max_entries=64)
def vectors_of(path: str, written: float, sentences: tuple[str, ...]) -> torch.Tensor:
    """A few typed sentences' vectors (N, d), kept per input."""
    from .state import load_model

    return load_model(path, written).encode(list(sentences))


@st.cache_data(show_spinner=False, max_entries=16)
def map_csv(path: str, written: float, name: str) -> str:
    """A map's table as CSV: sentence, x, y, cluster, reconstruction (and group/register where it has them).
    For a map of yours, ask once it is decoded back (``map_table``): the CSV is kept by name."""
    return export_table(map_table(path, written, name)[0]).to_csv(index=False)


@st.cache_data(show_spinner=False, max_entries=16)
def cluster_names(path: str, written: float, name: str) -> dict[int, str]:
    """{cluster: "3: its, three, words"} for a map's legend and the names drawn on it: the words alone, so the
    map does not wait for the centres to be decoded (``state.cluster_summary``)."""
    from .state import load_map

    table = load_map(path, written, name).table
    words = cluster_keywords(list(table.sentence), list(table.cluster), top=3)
    return {c: f"{c}: {', '.join(w)}" for c, w in sorted(words.items())}


@st.cache_resource
def warm_layout() -> Future:
    """Import umap and compile its layout once per server, in the background, as soon as a page offers your
    own sentences: the first map would otherwise wait for it (seconds)."""
    from .state import in_background

    return in_background(warm_up)


@st.cache_data(show_spinner=False, max_entries=8)
def _read(data: bytes | str, filename: str, column: str | None, group: str | None) -> UserCorpus:
    return read_corpus(data, filename=filename, column=column, group_column=group)


@st.cache_data(show_spinner=False, max_entries=8)
def _columns(data: bytes, filename: str) -> tuple[list[str], str]:
    return csv_columns(data, filename=filename)


def corpus_input(prefix: str) -> UserCorpus | None:
    """Paste sentences or upload a .txt or .csv (pick the column): the corpus read, with what was accepted
    said in plain text, or None (with a message) until there is one. Remembered for the session."""
    how = st.radio("Your sentences", ["Paste", "Upload a file"], horizontal=True, key=f"{prefix}_how")
    column = group = None
    if how == "Paste":
        data: bytes | str = st.text_area(
            f"One sentence a line (up to {MAX_SENTENCES:,})", key=f"{prefix}_text", height=150
        )
        filename = ""
        if not data.strip():
            st.info("Paste your sentences, one a line: the map is drawn when you press Ctrl+Enter or click away.")
            return None
    else:
        file = st.file_uploader(
            f"A .txt file (one sentence a line) or a .csv file (you pick the column); up to {MAX_SENTENCES:,} "
            "sentences, UTF-8",
            type=["txt", "csv", "tsv"],
            key=f"{prefix}_file",
        )
        if file is None:
            st.info("Upload a file to map it.")
            return None
        data, filename = file.getvalue(), file.name
        if is_csv(filename):
            try:
                columns, guess = _columns(data, filename)
            except ie.InvEmbError as e:
                st.error(md_escape(str(e)))
                return None
            c1, c2 = st.columns(2)
            column = c1.selectbox("Column of sentences", columns, index=columns.index(guess), key=f"{prefix}_column")
            group = c2.selectbox(
                "Colour by column (optional)",
                [NO_GROUP] + [c for c in columns if c != column],
                key=f"{prefix}_group",
                help="A column of labels (a topic, a source, a speaker): the map can be coloured by it",
            )
            group = None if group == NO_GROUP else group
    try:
        corpus = _read(data, filename, column, group)
    except ie.InvEmbError as e:
        st.error(md_escape(str(e)))
        return None
    st.text(f"{corpus.source}: {corpus.summary}.")  # plain text: the file name is the user's
    for note in corpus.notes:
        st.warning(md_escape(note))
    st.session_state[SESSION_KEY] = corpus
    return corpus


def selection_csv(table: pd.DataFrame) -> str:
    """Selected rows of a map as CSV, with the columns of the map's own export."""
    return export_table(table).to_csv(index=False)
