"""The app's side of language checkpoints (``invemb_core/language.py``): which languages ship, the choice of
one, and reading or writing a meaning in it. Every page that decodes a meaning offers the same choice.

A meaning is MiniLM's 384 numbers. English is read and written by the sidebar's checkpoint (its meaning
part and its decoder of the meaning); German and French by ``checkpoints/de`` and ``checkpoints/fr``.
The choice is offered only with a checkpoint whose meaning part is MiniLM's, the space those were
trained in.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import streamlit as st
import torch

import invemb_core as ie
from invemb_app.state import load_map, load_model, stamp, walk
from invemb_core import multilingual_map
from invemb_core.checkpoint import default_checkpoint_dir
from invemb_core.clusters import cluster_centroids
from invemb_core.interpolate import path as interpolation_path
from invemb_core.interpolate import tidy_path
from invemb_core.language import LANGUAGES, Language, detect_language, is_language_checkpoint
from invemb_core.projection import Projection

ENGLISH = "en"


def shipped() -> dict[str, str]:
    """Language code -> the directory of each language checkpoint under checkpoints/ (English excluded)."""
    root = default_checkpoint_dir()
    return {code: str(root / code) for code in LANGUAGES if code != ENGLISH and is_language_checkpoint(root / code)}


def versions() -> tuple[tuple[str, float], ...]:
    """Each shipped language checkpoint and when it was written: part of every cached result's key below, so
    a retrained German or French checkpoint is read again."""
    return tuple((code, stamp(path)) for code, path in shipped().items())


def offered(ae: ie.Autoencoder) -> list[str]:
    """The languages a meaning of ``ae`` can be written in: English, plus the shipped ones when ``ae``'s
    meaning part is MiniLM's (the space they were trained in)."""
    if not ae.meaning_and_wording or ae.config.meaning != "minilm":
        return [ENGLISH]
    return [ENGLISH, *shipped()]


@st.cache_resource(show_spinner="Loading the language checkpoint...", max_entries=4)
def load_language(path: str, written: float) -> Language:
    return ie.load(path)  # type: ignore[return-value]


def language(code: str) -> Language:
    path = shipped().get(code)
    if path is None:
        raise ie.InvEmbError(
            f"no {LANGUAGES.get(code, code)} checkpoint under checkpoints/ (train one: "
            f"invemb train-language --language {code})"
        )
    return load_language(path, stamp(path))


def language_choice(
    ae: ie.Autoencoder, label: str, key: str, *, default: str = ENGLISH, help: str | None = None
) -> str:
    """A row of language buttons (English / Deutsch / Français), ``default`` first chosen where offered;
    English alone shows nothing."""
    codes = offered(ae)
    if len(codes) == 1:
        return ENGLISH
    index = codes.index(default) if default in codes else 0
    return (
        st.radio(label, codes, index=index, horizontal=True, key=key, format_func=LANGUAGES.get, help=help) or ENGLISH
    )


def write(ae: ie.Autoencoder, M: torch.Tensor, code: str, **decoding) -> list[str]:
    """Sentences in language ``code`` from meanings M (N, 384): English by ``ae``'s decoding of the meaning
    alone (``decoding``: its arguments), the others by their checkpoint's default decoding."""
    if code == ENGLISH:
        return ae.decode(ae.from_meaning(M), **decoding)
    lang = language(code)
    return lang.decode(lang.from_meaning(M))


def read(ae: ie.Autoencoder, sentences: Sequence[str], code: str) -> tuple[torch.Tensor, list[str]]:
    """Meanings (N, 384) of sentences written in ``code``, by that language's encoder, and a warning per
    sentence that reads as another language."""
    if code == ENGLISH:
        warnings = [
            f"{s[:60]!r} reads as {LANGUAGES[found]}: pick {LANGUAGES[found]} to encode it with its own encoder"
            for s in sentences
            if (found := detect_language(s)) not in (None, ENGLISH)
        ]
        return ae.encode(list(sentences))[:, : ae.meaning_size], warnings
    lang = language(code)
    return lang.meaning(lang.encode(list(sentences), warn=False)), lang.language_warnings(sentences)


def encoder_name(ae: ie.Autoencoder, code: str) -> str:
    """Which encoder reads sentences in ``code``: said beside every vector a page shows."""
    if code == ENGLISH:
        return "all-MiniLM-L6-v2 (the checkpoint's meaning part)"
    config = language(code).config
    hows = [reader_how(config.teacher, r) for r in config.reader.split("+")]
    how = hows[0] if len(hows) == 1 else "the average of " + " and of ".join(hows)
    return f"the {LANGUAGES[code]} student encoder (checkpoints/{code}: {how})"


def reader_how(teacher: str, reader: str) -> str:
    if reader == teacher:
        return "MiniLM distilled on the translations"
    return f"{READERS.get(reader, reader)}, frozen, read into MiniLM's space by an MLP trained on the translations"


def english_writer(ae: ie.Autoencoder) -> str:
    """Who writes English from a meaning, said under what it wrote."""
    if ae.get_meaning_decoder() is None:
        return "checkpoint's decoder of the meaning."
    return (
        "checkpoint's meaning decoder (a pretrained LM rewriting its small decoder's text), or that text itself "
        "where the LM's text drifts further from the meaning."
    )


READERS = {"gemma3": "Gemma-3-270M"}  # LM sources (lm.py) by the name a reader knows


# ---- cached per (checkpoint, stamp) and input: what the Languages page shows --------------------------


@st.cache_data(show_spinner="Encoding and writing...", max_entries=128)
def written_in(
    path: str, written: float, languages: tuple, sentences: tuple[str, ...], code_in: str, code_out: str
) -> tuple[list[str], list[str]]:
    """Each sentence (in ``code_in``) through its meaning vector, written in ``code_out``; and the input's
    language warnings."""
    ae = load_model(path, written)
    M, warnings = read(ae, sentences, code_in)
    return write(ae, M, code_out), warnings


def translations(path: str, written: float, sentences: tuple[str, ...], code: str) -> tuple[pd.DataFrame, list[str]]:
    """A table: the sentences (in ``code``), then one column per offered language written from their meanings."""
    table = pd.DataFrame({"you typed": list(sentences)})
    warnings: list[str] = []
    for out in offered(load_model(path, written)):
        table[LANGUAGES[out]], warnings = written_in(path, written, versions(), sentences, code, out)
    return table, warnings


@st.cache_data(show_spinner="Walking between the two meanings...", max_entries=64)
def language_walk(
    path: str, written: float, languages: tuple, a: str, code_a: str, b: str, code_b: str, steps: int, code_out: str
) -> tuple[list[float], list[str], list[str]]:
    """The meaning path from A (in ``code_a``) to B (in ``code_b``), on the sphere, written in ``code_out``;
    and the input warnings."""

    ae = load_model(path, written)
    Ma, wa = read(ae, [a], code_a)
    Mb, wb = read(ae, [b], code_b)
    alphas, M = interpolation_path(Ma[0], Mb[0], steps=steps, method="slerp")
    texts = tidy_path(write(ae, M, code_out))
    return [float(x) for x in alphas], texts, wa + wb


# ---- the Embedding map's spots and cluster centres, in a language ------------------------------------


def map_encoder(ae: ie.Autoencoder, projection: Projection):
    """How a map's own sentences are encoded again (``Projection.vector_at``): by ``ae``, except on the
    three-language map, where each row is read by its language's encoder (its "split" names the language)."""
    if projection.name != multilingual_map.NAME:
        return ae.encode
    language_of = dict(zip(projection.table.sentence, projection.table.split))
    code_of = {name: code for code, name in LANGUAGES.items()}

    def encode(sentences: list[str]) -> torch.Tensor:
        M = torch.empty(len(sentences), ae.meaning_size)
        for code in {code_of[language_of[s]] for s in sentences}:
            rows = [i for i, s in enumerate(sentences) if code_of[language_of[s]] == code]
            M[rows] = read(ae, [sentences[i] for i in rows], code)[0]
        return ae.from_meaning(M)

    return encode


@st.cache_data(show_spinner=False, max_entries=256)
def spot_in(path: str, written: float, languages: tuple, map_name: str, x: float, y: float, code: str) -> str:
    """What the spot (x, y) of a map decodes to, written in ``code`` (English: the checkpoint's decoding of
    the whole vector; another language: its decoder of the vector's meaning)."""
    ae = load_model(path, written)
    projection = load_map(path, written, map_name)
    z = projection.vector_at(x, y, map_encoder(ae, projection))[None, :]
    return ae.decode(z)[0] if code == ENGLISH else write(ae, z[:, : ae.meaning_size], code)[0]


@st.cache_data(show_spinner=False, max_entries=64)
def centres_in(path: str, written: float, languages: tuple, map_name: str, code: str) -> list[str]:
    """Each cluster's centre (``clusters.cluster_centroids``) written in ``code``, in the order of
    ``state.cluster_summary``'s rows."""
    ae = load_model(path, written)
    projection = load_map(path, written, map_name)
    _, centres = cluster_centroids(projection, list(projection.table.cluster))
    return write(ae, centres[:, : ae.meaning_size], code)


@st.cache_data(show_spinner=False, max_entries=64)
def walk_in(
    path: str, written: float, languages: tuple, a: str, b: str, steps: int, method: str, strategy: str, code: str
) -> list[str]:
    """Interpolate's walk (``state.walk``, cached) written from its points' meanings in ``code``; A and B
    are English sentences, the page's own. English follows the page's decoding; the others their own."""
    ae = load_model(path, written)
    _, _, Z = walk(path, written, a, b, steps, method, strategy)
    decoding = {"strategy": strategy} if code == ENGLISH and strategy != "default" else {}
    if decoding.get("strategy") == "beam" and not ae.supports_beam:
        decoding = {"strategy": "greedy"}
    return tidy_path(write(ae, Z[:, : ae.meaning_size], code, **decoding))
