"""Side-by-side reconstructions with per-output scores: what the app's Reconstruct page shows.

For each input sentence and each named decoding (greedy, beam, sampling at some temperature...) this
gives the output, the words that differ from the target, exact match, sentence BLEU, and the cosine
between the input's vector and the re-encoded output's vector (does the output land where it came from?).
Plain data in, a pandas table out; nothing here draws anything.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import pandas as pd
import sacrebleu
import torch
import torch.nn.functional as F

from .config import DecodeConfig
from .errors import InvEmbError

if TYPE_CHECKING:
    from .autoencoder import Autoencoder


PUNCTUATION_MARKS = ".,;:!?"
PUNCTUATION = re.compile(f"[{re.escape(PUNCTUATION_MARKS)}]+")


def split_words(text: str) -> list[str]:
    """Words as the diff sees them: split at spaces, with a word's trailing punctuation ("stage." ->
    "stage", ".") as a word of its own, so that a changed full stop does not make the word before it new."""
    words = []
    for w in text.split():
        stem = w.rstrip(PUNCTUATION_MARKS)
        words += [stem, w[len(stem) :]] if stem and stem != w else [w]
    return words


def join_words(words: Sequence[str], shown: Sequence[str] | None = None) -> str:
    """Words from ``split_words`` back into text: a space between words, none before punctuation.
    ``shown``: what to write for each word (e.g. the word marked up), by default the words themselves."""
    out = []
    for i, (w, s) in enumerate(zip(words, shown if shown is not None else words)):
        out.append(s if i == 0 or PUNCTUATION.fullmatch(w) else " " + s)
    return "".join(out)


def word_diff(target: str, output: str) -> list[tuple[str, str]]:
    """A word-level diff of ``output`` against ``target``: (op, word) pairs in reading order, op one of
    "same", "new" (in the output, not in the target at that place) and "missing" (in the target only).
    Words are those of ``split_words``: punctuation counts as a word of its own. Case does not count ("A" is
    the same word as "a"): the lower-case decoders and the cased meaning decoder are compared on their words."""
    ref, out = split_words(target), split_words(output)
    ops: list[tuple[str, str]] = []
    folded = difflib.SequenceMatcher(a=[w.lower() for w in ref], b=[w.lower() for w in out], autojunk=False)
    for tag, a0, a1, b0, b1 in folded.get_opcodes():
        if tag == "equal":
            ops += [("same", w) for w in out[b0:b1]]
            continue
        ops += [("missing", w) for w in ref[a0:a1]]
        ops += [("new", w) for w in out[b0:b1]]
    return ops


def mark_differences(target: str, output: str, *, left: str = "«", right: str = "»") -> str:
    """``output`` with the words that are not in ``target`` (in order) wrapped in markers; plain text."""
    kept = [(op, w) for op, w in word_diff(target, output) if op != "missing"]
    return join_words([w for _, w in kept], [w if op == "same" else f"{left}{w}{right}" for op, w in kept])


def default_decodings(
    ae: Autoencoder,
    *,
    temperatures: Sequence[float] = (0.3, 0.7, 1.0, 1.5),
    top_k: int = 0,
    top_p: float = 1.0,
    min_p: float = DecodeConfig.min_p,
    whole_words: bool = DecodeConfig.whole_words,
    seed: int = 0,
    beam_size: int = 5,
    rerank_candidates: int = 8,
) -> dict[str, dict[str, Any]]:
    """Greedy, beam (when the decoder allows it), sampling at each temperature, and rerank: the
    greedy output and ``rerank_candidates - 1`` samples at temperature 0.5, the one whose re-encoded
    vector is closest kept (0 leaves it out). Each temperature draws with its own seed (derived from
    ``seed``), so one unlucky draw does not repeat in every column. ``min_p`` and ``whole_words``: the
    sampling rules of ``DecodeConfig`` (defaults: its own). Last, ``"default"``: the checkpoint's own
    decoding (what ``ae.decode`` and ``ae.reconstruct`` give), where that is not plain greedy."""
    out: dict[str, dict[str, Any]] = {"greedy": {"strategy": "greedy"}}
    if ae.supports_beam:
        out[f"beam {beam_size}"] = {"strategy": "beam", "beam_size": beam_size}
    sampling = {"top_k": top_k, "top_p": top_p, "min_p": min_p, "whole_words": whole_words, "seed": seed}
    for i, t in enumerate(temperatures):
        out[f"T={t:g}"] = {"strategy": "sample", "temperature": float(t), **sampling, "seed": seed + 1000 * (i + 1)}
    if rerank_candidates > 1:
        out[f"rerank {rerank_candidates}"] = {
            "strategy": "rerank",
            "temperature": 0.5,
            "num_candidates": rerank_candidates,
            **sampling,
        }
    if ae.default_decoding != {"strategy": "greedy"} or ae.get_meaning_decoder() is not None:
        out["default"] = {"strategy": "default"}  # the writer's own: the checkpoint's, or its meaning decoder's
    return out


def compare_decodings(
    ae: Autoencoder,
    sentences: Sequence[str],
    decodings: Mapping[str, Mapping[str, Any]],
    *,
    keep: float | None = None,
) -> pd.DataFrame:
    """One row per (sentence, decoding): input, target, decoding, output, marked, exact, bleu, cosine, truncated,
    writer (the checkpoint's own decoder, or its meaning decoder for rows with no wording code).

    ``keep`` (two-part checkpoints): decode ``ae.meaning(Z, keep=keep)`` instead of the whole vectors;
    the cosine is still to the whole input vector.
    """
    if not decodings:
        raise InvEmbError("no decodings given")
    ids, truncated = ae.tokenize(list(sentences))
    Z = ae.encode_ids(ids)
    targets = [ae.codec.decode(i) for i in ids]
    source = Z if keep is None else ae.meaning(Z, keep=keep)
    written, writers = ae.write_many(source, decodings)  # the decoder runs once for all decodings
    # The meaning decoder writes text (cased): its pieces are what is scored, the text what is shown.
    decoded = {name: ae.as_ids(rows) for name, rows in written.items()}
    # Re-encode every output in one pass; an empty output is encoded as [UNK] so it still has a vector.
    flat = [out or [ae.codec.vocab.unk] for name in decodings for out in decoded[name]]
    cosines = F.cosine_similarity(ae.encode_ids(flat).view(len(decodings), len(ids), -1), Z[None], dim=-1)
    rows = []
    for name, cos in zip(decodings, cosines.tolist()):
        out_ids = decoded[name]
        outputs = [x if isinstance(x, str) else ae.codec.decode(x) for x in written[name]]
        for i, (sentence, target, output) in enumerate(zip(sentences, targets, outputs)):
            rows.append(
                {
                    "sentence": i + 1,
                    "input": sentence,
                    "target": target,
                    "decoding": name,
                    "output": output,
                    "marked": mark_differences(target, output),
                    "exact": list(out_ids[i]) == list(ids[i]),
                    "bleu": round(sacrebleu.sentence_bleu(output, [target], lowercase=True).score, 1),
                    "cosine": round(cos[i], 4),
                    "truncated": truncated[i],
                    "writer": writers[name][i],
                }
            )
    return pd.DataFrame(rows)


NOISE_SCALES = (0.0, 0.02, 0.05, 0.1, 0.2, 0.4)


def noisy_decodings(
    ae: Autoencoder, sentence: str, *, scales: Sequence[float] = NOISE_SCALES, seed: int = 0
) -> list[tuple[float, str]]:
    """What survives in the vector: decodings (the checkpoint's default decoding) of ``z + noise`` for noise
    vectors of growing size.

    Each noise vector has norm ``scale * |z|`` and one fixed direction (drawn once from ``seed``), so
    the rows differ only in how far the vector was pushed. Returns (scale, decoded text) per scale.
    """
    z = ae.encode([sentence])[0]
    g = torch.Generator().manual_seed(seed)
    direction = torch.randn(z.shape, generator=g)
    direction = direction / direction.norm()
    Z = torch.stack([z + s * z.norm() * direction for s in scales])
    return list(zip([float(s) for s in scales], ae.decode(Z)))
