"""The meaning decoder's writing loop: many rows in one batch, each greedy or sampled by its own rule.

``transformers``' ``generate`` takes one temperature and one random stream for a whole batch, so the
Reconstruct page's sampled rows (four temperatures and a rerank's seven samples, for every sentence) cost
one call each, eleven times the work of the greedy row on two cores. Here every row carries its own
``Draw`` (temperature, top-p, seed), so all of them run as one batch through the LM, step by step with its
key-value cache:

- temperature 0 is greedy (argmax);
- a sampled row draws by ``decode.sample_next_token`` (inverse CDF, the small decoder's rule) with one
  number per step from its seed's stream, the same number every row with that seed reads: a row's sample
  depends on its vector, its prompt and its seed, never on which rows share the batch (up to bfloat16
  rounding, which left padding can change);
- the loop guard: no row writes an n-gram of ``no_repeat_ngram`` pieces twice (``transformers``'
  ``no_repeat_ngram_size``, over the written pieces only: the prompt is ours);
- every row stops at ``eos`` or after its own limit (``limits``, else ``max_new_tokens``) of pieces; the
  loop stops when all have, so one rambling sample does not hold the batch for long.

It works on any causal LM whose ``.model`` takes ``inputs_embeds`` and a cache and whose ``.lm_head`` gives
logits (llama-style ``transformers`` models). ``lm_decoder.MeaningDecoder.generate`` builds the inputs.
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from .decode import sample_next_token


@dataclass(frozen=True)
class Draw:
    """How one row draws its pieces: ``temperature`` 0 is greedy; otherwise a sample within ``top_p``,
    reading the stream of ``seed`` (None: torch's global generator)."""

    temperature: float = 0.0
    top_p: float = 1.0
    seed: int | None = 0

    @property
    def greedy(self) -> bool:
        return self.temperature == 0.0


GREEDY = Draw()


class RepeatBan:
    """The loop guard per row: the n-grams each row has written, by their first n - 1 pieces."""

    def __init__(self, rows: int, n: int):
        self.n = n
        self.seen: list[dict[tuple[int, ...], set[int]]] = [{} for _ in range(rows)]

    def ban(self, logits: torch.Tensor, written: list[list[int]], active: list[int]) -> None:
        """Set to -inf, in place, the pieces that would write an n-gram a second time (rows ``active``)."""
        if self.n <= 0:
            return
        for i in active:
            row = written[i]
            if len(row) >= self.n - 1:
                banned = self.seen[i].get(tuple(row[len(row) - self.n + 1 :]), ())
                if banned:
                    logits[i, list(banned)] = float("-inf")

    def add(self, written: list[list[int]], active: list[int]) -> None:
        """Remember each active row's newest n-gram (call after appending its piece)."""
        if self.n <= 0:
            return
        for i in active:
            row = written[i]
            if len(row) >= self.n:
                self.seen[i].setdefault(tuple(row[-self.n : -1]), set()).add(row[-1])


def next_pieces(logits: torch.Tensor, draws: Sequence[Draw], uniforms: dict[int | None, torch.Tensor]) -> torch.Tensor:
    """One piece per row of ``logits`` (B, V) by each row's ``Draw``; rows that draw alike go in one call."""
    out = torch.empty(logits.shape[0], dtype=torch.long, device=logits.device)
    groups: dict[tuple[float, float], list[int]] = {}
    for i, d in enumerate(draws):
        groups.setdefault((d.temperature, d.top_p), []).append(i)
    for (temperature, top_p), rows in groups.items():
        index = torch.tensor(rows, device=logits.device)
        uniform = None if temperature == 0 else torch.cat([uniforms[draws[i].seed] for i in rows]).to(logits.device)
        out[index] = sample_next_token(logits[index], temperature=temperature, top_p=top_p, uniform=uniform)
    return out


def cache_keyword(model) -> str:
    """``cache`` (transformers >= 5.x) or ``past_key_values`` (before): the name the model's forward takes."""
    return "cache" if "cache" in inspect.signature(model.forward).parameters else "past_key_values"


@torch.no_grad()
def generate(
    lm,
    x: torch.Tensor,
    mask: torch.Tensor,
    draws: Sequence[Draw],
    *,
    eos: int,
    max_new_tokens: int,
    no_repeat_ngram: int = 0,
    limits: Sequence[int] | None = None,
) -> list[list[int]]:
    """Prompt embeddings ``x`` (B, T, W), padded on the left (``mask`` (B, T): 1 on real positions) ->
    the pieces each row writes after its prompt, without ``eos``; row i draws by ``draws[i]`` and writes at
    most ``limits[i]`` pieces (never more than ``max_new_tokens``)."""
    B = x.shape[0]
    if len(draws) != B:
        raise ValueError(f"one Draw per row: {len(draws)} for {B} rows")
    limits = [min(n, max_new_tokens) for n in limits] if limits is not None else [max_new_tokens] * B
    streams = {d.seed: torch.Generator().manual_seed(d.seed) for d in draws if not d.greedy and d.seed is not None}
    sampled_seeds = {d.seed for d in draws if not d.greedy}
    key = cache_keyword(lm.model)
    position = (mask.long().cumsum(-1) - 1).clamp(min=0)  # left padding: each row counts from its first piece
    written: list[list[int]] = [[] for _ in range(B)]
    done = [n <= 0 for n in limits]
    bans = RepeatBan(B, no_repeat_ngram)
    cache, inputs = None, x
    for _ in range(max(limits, default=0)):
        out = lm.model(inputs_embeds=inputs, attention_mask=mask, position_ids=position, use_cache=True, **{key: cache})
        cache = out.cache if key == "cache" else out.past_key_values
        logits = lm.lm_head(out.last_hidden_state[:, -1]).float()  # (B, V)
        active = [i for i in range(B) if not done[i]]
        bans.ban(logits, written, active)
        # one number a step per seed, drawn whether or not its rows are still writing (see above)
        uniforms = {s: torch.rand(1, generator=streams.get(s)) for s in sampled_seeds}
        pieces = next_pieces(logits, draws, uniforms).tolist()
        for i in active:
            if pieces[i] == eos:
                done[i] = True
            else:
                written[i].append(pieces[i])
                done[i] = len(written[i]) >= limits[i]
        bans.add(written, [i for i in active if not done[i]])
        if all(done):
            break
        fed = torch.tensor([eos if done[i] else pieces[i] for i in range(B)], device=x.device)
        inputs = lm.get_input_embeddings()(fed)[:, None, :].to(x.dtype)  # (B, 1, W)
        mask = torch.cat([mask, torch.ones(B, 1, dtype=mask.dtype, device=mask.device)], dim=1)
        position = position[:, -1:] + 1
    return written
