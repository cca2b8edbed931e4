"""Input widgets the pages share: a box of lines, a line picker, and warnings about what an input loses."""

from __future__ import annotations

from collections.abc import Sequence

import streamlit as st

import invemb_core as ie

from .render import describe_characters


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
