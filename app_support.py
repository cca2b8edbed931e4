"""What every page of the app shares: the cached model and projection, and the chosen checkpoint.

Only caching and session glue live here; all model work is a call into ``invemb_core``.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

import invemb_core as ie
from invemb_core.data import read_sentences
from invemb_core.projection import Projection, list_projections, load_projection

CHECKPOINT_KEY = "checkpoint"


@st.cache_resource(show_spinner="Loading the model...")
def load_model(path: str) -> ie.Autoencoder:
    """One Autoencoder per checkpoint for the whole server: every session shares it (read-only)."""
    return ie.load(path)


@st.cache_resource(show_spinner="Loading the embedding map...")
def load_map(path: str, name: str | None = None) -> Projection | None:
    """A checkpoint's precomputed map (the smallest one unless named); None if it ships none."""
    return load_projection(path, name)


def map_names(path: str) -> list[str]:
    return list_projections(path)


@st.cache_data(show_spinner=False)
def example_sentences(split: str = "multi30k:test_2016_flickr", limit: int = 200) -> list[str]:
    return read_sentences(split, min_words=5, max_words=30, limit=limit)


def checkpoints() -> list[Path]:
    return ie.list_checkpoints()


def current_checkpoint() -> str | None:
    """The sidebar's choice; before the sidebar has run (or with no choice yet), the default checkpoint."""
    chosen = st.session_state.get(CHECKPOINT_KEY)
    if chosen:
        return chosen
    found = checkpoints()
    return str(found[0]) if found else None


def current_model() -> ie.Autoencoder:
    """The model chosen in the sidebar, or stop the page with a clear message."""
    path = current_checkpoint()
    if path is None:
        st.error("No checkpoint found under checkpoints/. Train one: invemb train --out checkpoints/default")
        st.stop()
    try:
        return load_model(path)
    except ie.InvEmbError as e:
        st.error(f"Could not load the checkpoint: {e}")
        st.stop()


def split_lines(text: str, *, max_sentences: int = 20) -> list[str]:
    """The non-blank lines of a text box, at most ``max_sentences``."""
    return [line for line in (text or "").splitlines() if line.strip()][:max_sentences]
