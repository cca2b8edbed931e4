"""The loop guard: an autoregressive decoder never writes the same phrase three times in a row.

A decoder that is unsure of a vector (a sentence far from anything it has read, a point between two
sentences) can fall into a loop: "the principle of the theory of the principle of the theory of the
..." until the length limit. The guard is a rule on logits, applied at every step of sampling, greedy
and beam search: when the last ``L`` pieces repeat the ``L`` before them, for any ``L >= min_phrase``,
the piece that would begin a third copy is disallowed. Two copies stay possible, phrases shorter than
``min_phrase`` pieces are never stopped ("again and again and again": "and again" is two pieces), and a
sentence that never repeats a phrase twice in a row is decoded exactly as without the guard.

``repeats_phrase`` and ``is_degenerate`` are the same idea on words, as the benchmarks measure it.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

DEFAULT_MIN_PHRASE = 3  # pieces: any phrase of three or more words is at least three pieces


def loop_bans(prev: torch.Tensor, min_phrase: int) -> tuple[torch.Tensor, torch.Tensor]:
    """For prefixes ``prev`` (N, t), the (row, piece) pairs that would start a third consecutive copy of
    a phrase of ``min_phrase`` or more pieces. Returns two index tensors of equal length."""
    t = prev.shape[1]
    rows, pieces = [], []
    for length in range(max(1, min_phrase), t // 2 + 1):
        tail, before = prev[:, t - length :], prev[:, t - 2 * length : t - length]
        looping = (tail == before).all(dim=1).nonzero().squeeze(1)
        if len(looping):
            rows.append(looping)
            pieces.append(prev[looping, t - length])
    if not rows:
        empty = torch.zeros(0, dtype=torch.long)
        return empty, empty
    return torch.cat(rows), torch.cat(pieces)


def guard_logits(logits: torch.Tensor, prev: torch.Tensor, min_phrase: int) -> torch.Tensor:
    """``logits`` (N, V) for the next piece after ``prev`` (N, t), with the pieces that would continue a
    loop set to -inf (a copy only when something is banned). ``min_phrase <= 0``: unchanged."""
    if min_phrase <= 0 or prev.shape[1] < 2 * min_phrase:
        return logits
    rows, pieces = loop_bans(prev, min_phrase)
    if not len(rows):
        return logits
    logits = logits.clone()
    logits[rows, pieces] = float("-inf")
    return logits


def repeats_phrase(words: Sequence[str], *, min_words: int = 3, times: int = 3) -> bool:
    """Whether some phrase of ``min_words`` or more words occurs ``times`` times in a row."""
    n = len(words)
    for length in range(min_words, n // times + 1):
        for start in range(0, n - times * length + 1):
            phrase = list(words[start : start + length])
            if all(list(words[start + k * length : start + (k + 1) * length]) == phrase for k in range(1, times)):
                return True
    return False


def is_degenerate(output_pieces: int, output_words: Sequence[str], input_words: int, max_length: int) -> bool:
    """A degenerate decoding: it repeats a phrase of 3+ words three times in a row, or it ran to the
    length limit (``output_pieces >= max_length``) although its input was short (at most 20 words)."""
    return repeats_phrase(output_words) or (output_pieces >= max_length and input_words <= 20)
