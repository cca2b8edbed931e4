"""What the decoder weighs at each position: its most likely tokens and their probabilities at a
temperature, along one path of tokens (for example the greedy output).

This is the distribution that sampling draws from, so it shows what temperature does: dividing the
logits by T < 1 sharpens it towards the argmax, T > 1 flattens it towards the alternatives. For an
autoregressive decoder each position is conditioned on the path's previous tokens (teacher forcing);
a parallel decoder's positions depend on the vector alone.

``temperature_view`` puts that distribution beside what sampling from it gives: several samples at the
same temperature, each with its own seed, so a class sees how many distinct sentences a temperature
yields. Plain data out, for the app's Reconstruct page and for scripts alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F

from .config import DecodeConfig
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
        # Pieces with no probability at all (the decoder may never emit them, or T = 0) are left out.
        alts = [
            (name(int(i)), float(p)) for k, (i, p) in enumerate(zip(top.indices[t], top.values[t])) if k == 0 or p > 0
        ]
        out.append(Position(t, name(chosen), alts))
    return out


@dataclass
class TemperatureView:
    """One sentence under one temperature: per position of its greedy output the top tokens, and samples.

    ``target`` is what the tokenizer keeps of the sentence; ``samples`` maps each seed to its sample."""

    target: str
    greedy: str
    positions: list[Position]
    samples: dict[int, str]

    @property
    def distinct(self) -> int:
        return len(set(self.samples.values()))


def temperature_view(
    ae: Autoencoder,
    sentence: str,
    *,
    temperature: float,
    samples: int = 6,
    seed: int = 0,
    keep: float | None = None,
    k: int = 5,
    min_p: float = DecodeConfig.min_p,
    whole_words: bool = DecodeConfig.whole_words,
) -> TemperatureView:
    """Encode ``sentence`` (only its meaning and ``keep`` of its wording if ``keep`` is given, see
    ``Autoencoder.meaning``), then: the greedy output, the ``k`` most likely tokens at ``temperature``
    along it (the model's own distribution), and ``samples`` samples at ``temperature`` with seeds
    ``seed``, ``seed + 1``, ... under the sampling rules ``min_p`` and ``whole_words`` (``DecodeConfig``).

    The greedy pass and the samples are one batched decoding (``decode_ids_many``)."""
    if samples < 1:
        raise InvEmbError(f"samples must be >= 1, got {samples}")
    z = ae.encode([sentence])
    if keep is not None:
        z = ae.meaning(z, keep=keep)
    # the small decoder's own texts: the probabilities shown are its, whoever writes meaning-only rows elsewhere
    draws = {"greedy": {"strategy": "greedy", "writer": "decoder"}}
    draws.update(
        {
            str(seed + i): {
                "writer": "decoder",
                "strategy": "sample",
                "temperature": temperature,
                "seed": seed + i,
                "min_p": min_p,
                "whole_words": whole_words,
            }
            for i in range(samples)
        }
    )
    ids = {name: rows[0] for name, rows in ae.decode_ids_many(z, draws).items()}
    greedy = ids.pop("greedy")
    return TemperatureView(
        target=ae.normalize(sentence),
        greedy=ae.codec.decode(greedy),
        positions=token_alternatives(ae, z, greedy, temperature=temperature, k=k),
        samples={int(s): ae.codec.decode(row) for s, row in ids.items()},
    )
