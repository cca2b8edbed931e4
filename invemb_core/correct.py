"""Correction: decode again from a target moved away from where the first text landed.

An invertible embedding knows how far off its own decoding is: re-encode the decoded text and compare
its vector ``V`` with the vector ``Z`` being decoded. The miss ``Z - V`` points at what the text lacks.
Correction aims past the vector by a share of that miss,

    target = normalize(Z + step * (Z - V)) * |Z|

decodes the target with the same decoding, and keeps, per row, whichever text re-encodes closer to
``Z`` itself, so a row never ends further from its vector than it started. That is the untrained cousin
of vec2text's corrector (Morris et al., 2023), which learns the step from (target, hypothesis,
hypothesis vector) triples; here the step is one number, chosen on the dev captions and typed sentences
(BENCHMARKS.md, issue 22).

It acts on the rows the decoder is least sure of: those with no wording code (``meaning(Z)``, a point
between two meanings), or every row when the checkpoint's vector has no wording part. A row whose text
already re-encodes to its vector (``rerank.SETTLED``) is the sentence itself and is left alone; so are
rows that carry a wording code, whose text the code fixes. Only the meaning part of a two-part vector is
moved; the target keeps no wording code.

A pure function: it re-encodes and decodes through the callables it is given.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

from .rerank import SETTLED, Reencode

Redecode = Callable[[torch.Tensor], list[list[int]]]  # target vectors (N, d) -> ids per row


def correctable_rows(Z: torch.Tensor, V: torch.Tensor, meaning_size: int) -> list[int]:
    """The rows correction may change: no wording code (or no wording part at all) and not yet settled."""
    loose = F.cosine_similarity(V, Z, dim=-1) < SETTLED
    if meaning_size:
        loose &= ~Z[:, meaning_size:].any(dim=1)
    return loose.nonzero().squeeze(1).tolist()


def targets(Z: torch.Tensor, V: torch.Tensor, step: float, meaning_size: int) -> torch.Tensor:
    """Where to decode next: past ``Z`` by ``step`` times its miss ``Z - V``, at ``Z``'s norm, measured on
    the meaning part (the whole vector when ``meaning_size`` is 0); the wording part is zero."""
    M = meaning_size or Z.shape[1]
    z, v = Z[:, :M], V[:, :M]
    moved = F.normalize(z + step * (z - v), dim=-1) * z.norm(dim=-1, keepdim=True)
    return torch.cat([moved, torch.zeros_like(Z[:, M:])], dim=1)


def correct(
    Z: torch.Tensor,
    chosen: list[list[int]],
    V: torch.Tensor,
    *,
    steps: int,
    step: float,
    reencode: Reencode,
    redecode: Redecode,
    meaning_size: int = 0,
) -> tuple[list[list[int]], torch.Tensor]:
    """``steps`` rounds of correction of ``chosen`` (ids per row of ``Z``; ``V`` their re-encoded vectors).
    Each round decodes ``targets`` of the rows still open and keeps a new text only where it re-encodes
    closer to ``Z``. Returns the texts and their vectors (new lists and tensor; the inputs are not changed)."""
    chosen, V = list(chosen), V.clone()
    rows = correctable_rows(Z, V, meaning_size)
    for _ in range(steps):
        if not rows:
            break
        again = redecode(targets(Z[rows], V[rows], step, meaning_size))
        W = reencode(again)
        better = F.cosine_similarity(W, Z[rows], dim=-1) > F.cosine_similarity(V[rows], Z[rows], dim=-1)
        for i in better.nonzero().squeeze(1).tolist():
            chosen[rows[i]], V[rows[i]] = again[i], W[i]
        rows = [row for row in rows if float(F.cosine_similarity(V[row], Z[row], dim=0)) < SETTLED]
    return chosen, V
