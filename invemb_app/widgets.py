"""Input widgets of the pages: a box of lines, a line picker, warnings about what an input loses, and the
Reconstruct page's decoding knobs."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import streamlit as st

import invemb_core as ie
from invemb_core import DecodeConfig
from invemb_core.language import LANGUAGES, detect_language

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
    """Say which inputs were truncated, which read as German or French, and which characters the tokenizer
    cannot carry ([UNK]). ``names``:
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
    foreign = {names[i]: found for i, s in enumerate(sentences) if (found := detect_language(s)) not in (None, "en")}
    if foreign:
        st.warning(
            " ".join(f"Sentence {name} reads as {LANGUAGES[code]}." for name, code in foreign.items())
            + " This checkpoint's encoder reads English, so its vector will not mean what the sentence says: the "
            "Languages page reads German and French with their own encoders."
        )
    outside = sum(ae.codec.outside_vocabulary(s) for s in sentences)
    if outside:
        st.warning(
            f"{outside} word piece{'s' if outside > 1 else ''} of the input {'are' if outside > 1 else 'is'} not "
            "in this checkpoint's vocabulary (it only knows the pieces of its training text): each becomes [UNK]."
        )


def sampling_controls(*, on_resample: Callable[[], None]) -> tuple[dict, dict]:
    """Reconstruct's decoding knobs (temperatures, top-k, top-p, min-p, whole words, seed, rerank n and a
    Resample button that calls ``on_resample``), as ``report.default_decodings`` keywords; and under the
    knobs that can sit idle, an empty slot each for a note saying so (``say_idle``), by knob name."""
    temperatures = st.multiselect(
        "Sampling temperatures", [0.1, 0.3, 0.5, 0.7, 1.0, 1.5, 2.0], default=[0.3, 0.7, 1.0, 1.5], key="rec_temps"
    )
    c1, c2 = st.columns(2)
    top_k = c1.number_input("top-k (0 = off)", 0, 1000, 0, key="rec_topk")
    top_p = c2.slider(
        "top-p",
        0.05,
        1.0,
        1.0,
        0.05,
        key="rec_topp",
        help="Sample only among the most likely pieces that together hold this much probability. 1 = off. "
        "Top-k and top-p shape the table's T and rerank rows; the temperature section below follows min-p and "
        "whole words only",
    )
    c6, c7 = st.columns(2)
    min_p = c6.slider(
        "min-p",
        0.0,
        0.5,
        DecodeConfig.min_p,
        0.05,
        key="rec_minp",
        help="Drop pieces less likely than this share of the most likely one's probability. 0 = off",
    )
    whole_words = c7.toggle(
        "Whole words",
        value=DecodeConfig.whole_words,
        key="rec_whole",
        help="Samples only spell words the model read in training, never glued fragments like 'birdicle'",
    )
    c3, c4, c5 = st.columns(3)
    seed = c3.number_input(
        "Seed", 0, 10**6, key="rec_seed", help="Each temperature draws with its own seed from this one"
    )
    rerank = c4.number_input(
        "Rerank n",
        0,
        32,
        8,
        key="rec_rerank",
        help="n candidates: greedy plus samples at T=0.5, each re-encoded; the one whose vector is closest wins. 0 = off",
    )
    c5.button("Resample", key="rec_resample", help="New seed, same sentences", on_click=on_resample)
    slots = {"top_k": c1.empty(), "top_p": c2.empty(), "min_p": c6.empty(), "whole_words": c7.empty()}
    slots["seed"] = c5.empty()  # under Resample
    slots["why"] = st.empty()  # a reason several knobs share, said once
    knobs = {
        "temperatures": temperatures,
        "top_k": int(top_k),
        "top_p": float(top_p),
        "min_p": float(min_p),
        "whole_words": bool(whole_words),
        "seed": int(seed),
        "rerank_candidates": int(rerank),
    }
    return knobs, slots


SAMPLING_KNOBS = ("top_k", "top_p", "min_p", "whole_words", "seed")  # what shapes only the sampled rows
LM_IGNORES = ("top_k", "min_p", "whole_words")  # the meaning decoder samples with temperature and top-p only


def idle_knobs(ae: ie.Autoencoder, table, decodings: dict, *, keep: float | None) -> dict[str, str]:
    """Which sampling knobs changed nothing in ``table`` (``report.compare_decodings`` rows of ``decodings``,
    every sentence), and why, by knob name. Only the T and rerank rows follow the knobs ("default" keeps its
    own settings)."""
    sampled = [n for n, d in decodings.items() if n != "default" and d.get("strategy") in ("sample", "rerank")]
    if not sampled:
        return dict.fromkeys(SAMPLING_KNOBS, "no row samples (pick a temperature or a rerank n).")
    if (table.groupby("sentence").output.nunique() == 1).all():
        lower = " Lower Wording kept to see sampling act." if keep is None and ae.meaning_and_wording else ""
        return dict.fromkeys(SAMPLING_KNOBS, f"every decoding gives the same text.{lower}")
    notes = {}
    if (table[table.decoding.isin(sampled)].writer == "meaning decoder").all():
        notes.update(
            dict.fromkeys(LM_IGNORES, "the meaning decoder writes the sampled rows; it uses T and top-p only.")
        )
    elif ae.lexicon is None:
        notes["whole_words"] = (
            "a parallel decoder writes every position at once."
            if not ae.model.autoregressive
            else "this checkpoint has no word list (invemb lexicon makes one)."
        )
    return notes


def meaning_decoder_note(ae: ie.Autoencoder, keep: float | None) -> str:
    """Why the meaning decoder did not write the rows that keep no wording code (it could not load), where
    there are such rows (``keep == 0``, or a vector that is the meaning alone); else ""."""
    note = getattr(ae, "meaning_decoder_note", "")  # set on the model when its meaning decoder failed to load
    return note if note and (keep == 0.0 or not ae.wording_size) else ""


def say_idle(slots: dict, notes: dict[str, str]) -> None:
    """Under each idle knob (``notes``: its reason, from ``idle_knobs``) "No effect now", with the reason when
    it is that knob's alone; a reason several knobs share is said once, under all the knobs (the ``why``
    slot). The other slots are emptied."""
    shared = {reason for reason in notes.values() if list(notes.values()).count(reason) > 1}
    for name, slot in slots.items():
        if name == "why" and shared:
            slot.caption(" ".join(f"No effect now: {reason}" for reason in sorted(shared)))
        elif name in notes:
            slot.caption("No effect now." if notes[name] in shared else f"No effect now: {notes[name]}")
        else:
            slot.empty()
