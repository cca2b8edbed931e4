"""Choosing among texts by where they re-encode: the ``rerank`` decoding and the two-part ``verify`` step.

An invertible embedding can check its own decodings: encode a candidate sentence again and see how close
its vector comes to the one being decoded. Two parts of ``Autoencoder.decode`` use that check:

- **rerank**: of the greedy output and ``num_candidates - 1`` samples, keep the one whose re-encoded
  vector is closest to the target. Rows whose greedy output already comes back are not sampled at all;
  rows with no wording code (meaning only) may draw more candidates (``meaning_candidates``), since the
  decoder is least sure there.
- **verify** (two-part vectors): keep the chosen text only if it leads back to the vector, in meaning and
  in wording; a point between two sentences does not (its wording code is a blend of two codes), and is
  written again from its meaning alone.

Both act on lists of local ids in place of the decoder's first choice; ``Autoencoder.decode_ids_many``
calls them after its shared greedy/sampling pass.
"""

from __future__ import annotations

from dataclasses import asdict, replace
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F

from . import decode as dec
from .config import DecodeConfig

if TYPE_CHECKING:
    from .autoencoder import Autoencoder

SETTLED = 1 - 1e-5  # a greedy output re-encoding this close to its vector is the sentence itself


def rerank(
    ae: Autoencoder, Z: torch.Tensor, greedy: list[list[int]], cfg: DecodeConfig, max_length: int
) -> tuple[list[list[int]], torch.Tensor]:
    """Per row of ``Z``, of its greedy output and ``cfg.num_candidates - 1`` samples, the one whose
    re-encoded vector is closest to the row's vector; returns the choices and their re-encoded vectors.

    A row whose greedy output already re-encodes to its vector (cosine >= ``SETTLED``: the sentence came
    back) keeps it without sampling, since no candidate can be closer; in an app's round trips that is
    most rows, so reranking costs little more than greedy there. Rows with no wording code draw
    ``cfg.meaning_candidates`` if set."""
    V = ae.encode_ids([ids or [ae.codec.vocab.unk] for ids in greedy])
    open_rows = (F.cosine_similarity(V, Z, dim=-1) < SETTLED).nonzero().squeeze(1).tolist()
    groups: dict[int, list[int]] = {}
    for row in open_rows:
        meaning_only = ae.meaning_size and not Z[row, ae.meaning_size :].any()
        count = cfg.meaning_candidates if meaning_only and cfg.meaning_candidates else cfg.num_candidates
        groups.setdefault(count, []).append(row)
    chosen = list(greedy)
    for count, rows in groups.items():
        if count > 1:
            _pick_closest(ae, Z, rows, replace(cfg, num_candidates=count), max_length, chosen, V)
    return chosen, V


def _pick_closest(
    ae: Autoencoder,
    Z: torch.Tensor,
    rows: list[int],
    cfg: DecodeConfig,
    max_length: int,
    chosen: list[list[int]],
    V: torch.Tensor,
) -> None:
    """For ``rows``, draw ``cfg.num_candidates - 1`` samples and keep whichever of them and the current
    choice (the greedy output, whose re-encoded vector is ``V[row]``) re-encodes closest. In place.

    Only texts not seen yet are encoded: at a low temperature most samples repeat the greedy output
    (of their row or of another), whose vectors are already in ``V``."""
    unk = ae.codec.vocab.unk
    samples = ae._decode_draws(Z[rows], ae._draws(cfg)[1:], max_length, loop_guard=cfg.loop_guard)
    K = 1 + len(samples)
    options = [tuple(c or [unk]) for i, row in enumerate(rows) for c in (chosen[row], *(s[i] for s in samples))]
    known = {tuple(c or [unk]): V[r] for r, c in enumerate(chosen)}
    fresh = list(dict.fromkeys(c for c in options if c not in known))
    if fresh:
        known.update(zip(fresh, ae.encode_ids(fresh)))
    W = torch.stack([known[c] for c in options]).view(len(rows), K, -1)
    best, _ = dec.closest(W, Z[rows])
    for i, (row, k) in enumerate(zip(rows, best.tolist())):
        chosen[row], V[row] = list(options[i * K + k]), W[i, k]


def verify_meaning(
    ae: Autoencoder, Z: torch.Tensor, chosen: list[list[int]], vectors: torch.Tensor, cfg: DecodeConfig
) -> None:
    """Two-part vectors: keep a chosen sentence only if it leads back to its vector. Its re-encoded
    vector (``vectors``) must reach a cosine of ``cfg.verify`` with the vector (cosine is the meaning's,
    the wording part being tiny), and its wording code ``cfg.verify_wording`` with the vector's (over the
    numbers the vector keeps). A point between two sentences fails: its wording code is a blend of two
    codes, not a code of any sentence. Rows that fail are written again from the meaning alone
    (``cfg.fallback_beam``: with beam search, else with the same decoding); a row keeps its first text
    if that re-encodes closer to the vector by more than ``cfg.verify_margin``. In place."""
    M = ae.meaning_size
    cosines = F.cosine_similarity(vectors, Z, dim=-1)
    weak = []
    for row, c in enumerate(cosines.tolist()):
        kept = int(Z[row, M:].nonzero().max()) + 1 if Z[row, M:].any() else 0
        w = vectors[row, M : M + kept]
        wording = float(F.cosine_similarity(w, Z[row, M : M + kept], dim=0)) if kept else 1.0
        if c < cfg.verify or wording < cfg.verify_wording:
            weak.append(row)
    if not weak:
        return
    if cfg.fallback_beam:
        fallback = {
            "strategy": "beam",
            "beam_size": cfg.fallback_beam,
            "max_length": cfg.max_length,
            "loop_guard": cfg.loop_guard,
        }
    else:
        fallback = {**asdict(cfg), "verify": 0.0, "verify_wording": 0.0}
    redo = ae.decode_ids(ae.meaning(Z[weak]), **fallback)
    first_wins = [False] * len(weak)
    if cfg.verify_margin < 2.0:
        again = F.cosine_similarity(ae.encode_ids([ids or [ae.codec.vocab.unk] for ids in redo]), Z[weak], dim=-1)
        first_wins = (cosines[weak] - again > cfg.verify_margin).tolist()
    for row, ids, keep in zip(weak, redo, first_wins):
        if not keep:
            chosen[row] = ids
