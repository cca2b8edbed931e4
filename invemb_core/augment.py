"""What the training loop does to a batch before the model sees it: noise on the input, and the pieces a
sampled softmax scores against.

- ``augment``: random-token substitution (in the targets too: the decoder learns to write what the
  vector holds, and the encoder sees a noisier sentence) and word dropout (encoder input only, as [MASK]).
- ``sampled_candidates``: the batch's own pieces plus ``k`` random ones and the end token, sorted: the
  output layer scores only these in training (``losses.py``); calibration fixes the rest afterwards.

Pure functions of the batch and torch's global random state, so a seeded run repeats exactly.
"""

from __future__ import annotations

import torch

from .modules import padding_mask


def augment(
    tokens: torch.Tensor,
    lengths: torch.Tensor,
    *,
    substitution: float,
    word_dropout: float,
    pool: torch.Tensor,
    mask: int,
) -> tuple[torch.Tensor, torch.Tensor]:
    """(B, T) ids -> (targets, encoder inputs) after random-token substitution and word dropout."""
    tokens = tokens.clone()
    real = padding_mask(lengths, tokens.shape[1])
    if substitution > 0:
        swap = real & (torch.rand(tokens.shape) < substitution)
        tokens[swap] = pool[torch.randint(len(pool), (int(swap.sum()),))]
    inputs = tokens
    if word_dropout > 0:
        drop = real & (torch.rand(tokens.shape) < word_dropout)
        inputs = tokens.masked_fill(drop, mask)
    return tokens, inputs


def sampled_candidates(
    tokens: torch.Tensor, lengths: torch.Tensor, clean: torch.Tensor, *, k: int, pool: torch.Tensor, eos: int
) -> torch.Tensor | None:
    """The pieces a sampled softmax scores: the batch's targets (and its clean sentences', which a two-part
    model may target), ``k`` random pieces of ``pool`` and the end token; None for the full softmax."""
    if k == 0 or k >= len(pool):
        return None
    real = padding_mask(lengths, tokens.shape[1])
    targets = torch.cat([tokens[real], clean[real]])
    negatives = pool[torch.randint(len(pool), (k,))]
    return torch.unique(torch.cat([targets, negatives, torch.tensor([eos])]))  # sorted, as searchsorted needs
