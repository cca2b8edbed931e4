"""Choosing among texts by where they re-encode: the ``rerank`` stage and the two-part ``verify`` check.

An invertible embedding can check its own decodings: encode a candidate sentence again and see how close
its vector comes to the one being decoded. Two stages of the decoding engine (``engine.py``) use that:

- **rerank**: of the greedy output and ``num_candidates - 1`` samples, keep the one whose re-encoded
  vector is closest to the target. Rows whose greedy output already comes back are not sampled at all;
  rows with no wording code (meaning only) may draw more candidates (``meaning_candidates``), since the
  decoder is least sure there.
- **verify** (two-part vectors): keep the chosen text only if it leads back to the vector, in meaning and
  in wording; a point between two sentences does not (its wording code is a blend of two codes). The
  engine writes the weak rows again from their meaning alone.

Pure functions over ids and vectors: they re-encode and sample through the callables they are given,
and know neither the engine nor the ``Autoencoder``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

import torch
import torch.nn.functional as F

from . import decode as dec
from .config import DecodeConfig

SETTLED = 1 - 1e-5  # a greedy output re-encoding this close to its vector is the sentence itself

Reencode = Callable[[Sequence[Sequence[int]]], torch.Tensor]  # ids per text -> (N, d); empty texts read as [UNK]
Sample = Callable[[list[int], DecodeConfig], list[list[list[int]]]]  # rows, config -> per sample, ids per row


def rerank(
    Z: torch.Tensor,
    greedy: list[list[int]],
    cfg: DecodeConfig,
    *,
    reencode: Reencode,
    sample: Sample,
    meaning_size: int = 0,
) -> tuple[list[list[int]], torch.Tensor]:
    """Per row of ``Z``, of its greedy output and ``cfg.num_candidates - 1`` samples, the one whose
    re-encoded vector is closest to the row's vector; returns the choices and their re-encoded vectors.

    A row whose greedy output already re-encodes to its vector (cosine >= ``SETTLED``: the sentence came
    back) keeps it without sampling, since no candidate can be closer; in an app's round trips that is
    most rows, so reranking costs little more than greedy there. Rows with no wording code draw
    ``cfg.meaning_candidates`` if set. ``sample(rows, cfg)`` draws ``cfg.num_candidates - 1`` samples of
    those rows of ``Z``."""
    V = reencode(greedy)
    open_rows = (F.cosine_similarity(V, Z, dim=-1) < SETTLED).nonzero().squeeze(1).tolist()
    groups: dict[int, list[int]] = {}
    for row in open_rows:
        meaning_only = meaning_size and not Z[row, meaning_size:].any()
        count = cfg.meaning_candidates if meaning_only and cfg.meaning_candidates else cfg.num_candidates
        groups.setdefault(count, []).append(row)
    chosen = list(greedy)
    for count, rows in groups.items():
        if count > 1:
            samples = sample(rows, replace(cfg, num_candidates=count))
            _pick_closest(Z, rows, samples, chosen, V, reencode)
    return chosen, V


def _pick_closest(
    Z: torch.Tensor,
    rows: list[int],
    samples: list[list[list[int]]],
    chosen: list[list[int]],
    V: torch.Tensor,
    reencode: Reencode,
) -> None:
    """For ``rows``, keep whichever of their samples and the current choice (the greedy output, whose
    re-encoded vector is ``V[row]``) re-encodes closest. In place.

    Only texts not seen yet are encoded: at a low temperature most samples repeat the greedy output
    (of their row or of another), whose vectors are already in ``V``. (Texts are keyed as the encoder
    reads them: an empty one as ``()``, which ``reencode`` reads as [UNK], like an empty greedy output.)"""
    K = 1 + len(samples)
    options = [tuple(c) for i, row in enumerate(rows) for c in (chosen[row], *(s[i] for s in samples))]
    known = {tuple(c): V[r] for r, c in enumerate(chosen)}
    fresh = list(dict.fromkeys(c for c in options if c not in known))
    if fresh:
        known.update(zip(fresh, reencode(fresh)))
    W = torch.stack([known[c] for c in options]).view(len(rows), K, -1)
    best, _ = dec.closest(W, Z[rows])
    for i, (row, k) in enumerate(zip(rows, best.tolist())):
        chosen[row], V[row] = list(options[i * K + k]), W[i, k]


def weak_rows(Z: torch.Tensor, vectors: torch.Tensor, cfg: DecodeConfig, meaning_size: int) -> list[int]:
    """Two-part vectors: the rows whose chosen text does not lead back to its vector. Its re-encoded
    vector (``vectors``) must reach a cosine of ``cfg.verify`` with the vector (cosine is the meaning's,
    the wording part being tiny), and its wording code ``cfg.verify_wording`` with the vector's (over the
    numbers the vector keeps). A point between two sentences fails: its wording code is a blend of two
    codes, not a code of any sentence."""
    M = meaning_size
    cosines = F.cosine_similarity(vectors, Z, dim=-1)
    weak = []
    for row, c in enumerate(cosines.tolist()):
        kept = int(Z[row, M:].nonzero().max()) + 1 if Z[row, M:].any() else 0
        w = vectors[row, M : M + kept]
        wording = float(F.cosine_similarity(w, Z[row, M : M + kept], dim=0)) if kept else 1.0
        if c < cfg.verify or wording < cfg.verify_wording:
            weak.append(row)
    return weak


def first_text_wins(Z: torch.Tensor, first: torch.Tensor, again: torch.Tensor, margin: float) -> list[bool]:
    """Per row: does the first text (re-encoded ``first``) come closer to ``Z`` than its rewrite
    (``again``) by more than ``margin``? Then it stays (a real sentence decoded with one slip)."""
    return (F.cosine_similarity(first, Z, dim=-1) - F.cosine_similarity(again, Z, dim=-1) > margin).tolist()
