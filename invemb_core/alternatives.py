"""What the decoder weighs at each position: its most likely tokens and their probabilities at a
temperature, along one path of tokens (for example the greedy output).

This is the distribution that sampling draws from, so it shows what temperature does: dividing the
logits by T < 1 sharpens it towards the argmax, T > 1 flattens it towards the alternatives. For an
autoregressive decoder each position is conditioned on the path's previous tokens (teacher forcing);
a parallel decoder's positions depend on the vector alone. Plain data out; nothing here draws.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F

from .errors import InvEmbError

if TYPE_CHECKING:
    from .autoencoder import Autoencoder

END = "⟨end⟩"


@dataclass
class Position:
    """One output position: the token the path has there, and the top tokens with probabilities."""

    index: int
    chosen: str
    alternatives: list[tuple[str, float]]

    @property
    def chosen_probability(self) -> float:
        return next((p for t, p in self.alternatives if t == self.chosen), 0.0)


def token_alternatives(
    ae: Autoencoder, z: torch.Tensor, path: Sequence[int], *, temperature: float = 1.0, k: int = 5
) -> list[Position]:
    """Per position of ``path`` (local ids, plus its end token), the ``k`` most likely tokens at ``temperature``.

    Args:
        ae: the autoencoder.
        z: one sentence vector, shape (d,) or (1, d).
        path: the tokens the positions are read along (e.g. ``ae.decode_ids(z)[0]``).
        temperature: the sampling temperature; 0 puts all probability on the argmax.
        k: alternatives per position.
    """
    if temperature < 0:
        raise InvEmbError(f"temperature must be >= 0, got {temperature}")
    if k < 1:
        raise InvEmbError(f"k must be >= 1, got {k}")
    Z = ae._check_vectors(z)[:1]
    vocab = ae.codec.vocab
    path = list(path)[: ae.config.max_length]
    T = len(path) + 1  # the sentence and its end token
    with torch.no_grad():
        prev = torch.tensor([[vocab.bos, *path]]) if ae.model.autoregressive else None
        logits = ae.model.full_logits(ae.model.output_vectors(Z, T, prev))[0]  # (T, V)
    if temperature == 0.0:
        probs = F.one_hot(logits.argmax(-1), logits.shape[-1]).float()
    else:
        probs = F.softmax(logits / temperature, dim=-1)
    top = probs.topk(min(k, probs.shape[-1]), dim=-1)
    strings = ae.codec.tokenizer.convert_ids_to_tokens

    def name(local: int) -> str:
        return END if local == vocab.eos else strings(vocab.token_ids[local])

    out = []
    for t, chosen in enumerate([*path, vocab.eos]):
        alts = [(name(int(i)), float(p)) for i, p in zip(top.indices[t], top.values[t])]
        out.append(Position(t, name(chosen), alts))
    return out
