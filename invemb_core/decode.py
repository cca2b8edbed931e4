"""Decoding strategies as pure functions over logits: greedy, sampling (temperature, top-k, top-p), beam.

Nothing here knows about text or about a particular model. Parallel decoders give all positions'
logits at once; autoregressive decoders are driven through a ``step(prev, state) -> (logits, state)``
callable. Randomness comes only from the ``torch.Generator`` passed in, so the same seed gives the
same output. ``temperature == 0`` means argmax; ``top_k=1`` is greedy.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import torch
import torch.nn.functional as F

from .fast_logits import argmax_rows
from .repetition import guard_logits

StepFn = Callable[[torch.Tensor, Any], tuple[torch.Tensor, Any]]
ReorderFn = Callable[[Any, torch.Tensor], Any]


def filter_logits(logits: torch.Tensor, *, top_k: int = 0, top_p: float = 1.0, min_p: float = 0.0) -> torch.Tensor:
    """Mask (to -inf) all but the ``top_k`` best logits, those whose probability is under ``min_p`` times
    the best one's (min-p sampling), and those outside the ``top_p`` nucleus. (..., V)."""
    if top_k > 0 and top_k < logits.shape[-1]:
        kth = torch.topk(logits, top_k, dim=-1).values[..., -1:]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    if min_p > 0.0:  # p_i < min_p * p_max  <=>  logit_i < logit_max + log(min_p)
        floor = logits.amax(dim=-1, keepdim=True) + math.log(min_p)  # amax: 10x faster than max here
        logits = logits.masked_fill(logits < floor, float("-inf"))
    if top_p < 1.0:
        sorted_logits, order = torch.sort(logits, descending=True, dim=-1)
        probs = F.softmax(sorted_logits, dim=-1)
        # Drop a token when the mass before it already reaches top_p; the best token always stays.
        drop = probs.cumsum(-1) - probs >= top_p
        drop = torch.zeros_like(drop).scatter(-1, order, drop)
        logits = logits.masked_fill(drop, float("-inf"))
    return logits


def sample_next_token(
    logits: torch.Tensor,
    *,
    temperature: float = 1.0,
    top_k: int = 0,
    top_p: float = 1.0,
    min_p: float = 0.0,
    generator: torch.Generator | None = None,
    uniform: torch.Tensor | None = None,
) -> torch.Tensor:
    """One token per row of ``logits`` (..., V) -> (...). ``temperature == 0`` is argmax.

    ``uniform`` (N,): the rows' random numbers in [0, 1), drawn by the caller instead of from ``generator``."""
    if temperature == 0.0 or top_k == 1:
        return argmax_rows(logits)  # logits.argmax(-1), several times faster over 30k pieces
    logits = filter_logits(logits / temperature, top_k=top_k, top_p=top_p, min_p=min_p)
    probs = F.softmax(logits, dim=-1).reshape(-1, logits.shape[-1])  # (N, V)
    # Inverse-CDF sampling: one uniform per row, located in the cumulative distribution. Same
    # distribution as torch.multinomial, several times faster over a 30k vocabulary. side="right" never
    # lands on a zero-probability token.
    cdf = probs.cumsum(-1)
    if uniform is None:
        uniform = torch.rand(probs.shape[0], generator=generator)
    u = uniform.view(-1, 1) * cdf[:, -1:]
    picked = torch.searchsorted(cdf, u, right=True).clamp(max=probs.shape[-1] - 1)
    return picked.view(logits.shape[:-1])


def trim(ids: torch.Tensor, *, eos: int) -> list[list[int]]:
    """(B, T) ids -> per-row lists cut before the first end-of-sentence token."""
    out = []
    for row in ids.tolist():
        out.append(row[: row.index(eos)] if eos in row else row)
    return out


def parallel_decode(logits: torch.Tensor, *, eos: int, **sampling: Any) -> list[list[int]]:
    """All positions of (B, T, V) logits at once (greedy unless sampling args say otherwise)."""
    return trim(sample_next_token(logits, **sampling), eos=eos)


def parallel_decode_in_chunks(
    logits_at: Callable[[int, int], torch.Tensor], *, length: int, eos: int, chunk: int = 8, **sampling: Any
) -> list[list[int]]:
    """``parallel_decode`` asking for positions [a, b) at a time (``logits_at(a, b)`` -> (B, b-a, V)),
    stopping once every row has produced ``eos``: most sentences end long before the maximum length,
    and the full-vocabulary logits are the expensive part."""
    return parallel_decode_many(logits_at, length=length, eos=eos, samplings=[sampling], chunk=chunk)[0]


def parallel_decode_many(
    logits_at: Callable[[int, int], torch.Tensor],
    *,
    length: int,
    eos: int,
    samplings: Sequence[Mapping[str, Any]],
    chunk: int = 8,
) -> list[list[list[int]]]:
    """Several decodings of the same parallel logits, one per dict of ``sample_next_token`` arguments.

    Each chunk of positions is asked of ``logits_at`` once and shared by every decoding; a decoding
    stops drawing once all its rows have produced ``eos`` (so each gives exactly what it would alone),
    and the chunks stop when every decoding has. As in ``autoregressive_decode_many``, every row reads
    the same random numbers (one per position): a row's sample never depends on the other rows.
    """
    pieces: list[list[torch.Tensor]] = [[] for _ in samplings]
    done: list[torch.Tensor | None] = [None] * len(samplings)
    for start in range(0, length, chunk):
        active = [i for i, d in enumerate(done) if d is None or not bool(d.all())]
        if not active:
            break
        logits = logits_at(start, min(start + chunk, length))
        B, c = logits.shape[:2]
        for i in active:
            sampling = dict(samplings[i])
            if draws_randomly(sampling):
                sampling["uniform"] = torch.rand(c, generator=sampling.pop("generator", None)).repeat(B)
            ids = sample_next_token(logits, **sampling)  # (B, c)
            pieces[i].append(ids)
            ended = (ids == eos).any(-1)
            done[i] = ended if done[i] is None else done[i] | ended
    return [trim(torch.cat(p, dim=1), eos=eos) for p in pieces]


def autoregressive_decode(
    step: StepFn, *, batch_size: int, bos: int, eos: int, max_length: int, **sampling: Any
) -> list[list[int]]:
    """Token by token, feeding each choice back; stops when every row has produced ``eos``."""
    return autoregressive_decode_many(
        step, batch_size=batch_size, bos=bos, eos=eos, max_length=max_length, samplings=[sampling]
    )[0]


def draws_randomly(sampling: Mapping[str, Any]) -> bool:
    """Whether ``sample_next_token`` with these arguments draws (else it takes the argmax)."""
    return sampling.get("temperature", 1.0) != 0.0 and sampling.get("top_k", 0) != 1


def same_settings(samplings: Sequence[Mapping[str, Any]]) -> list[list[int]]:
    """Indices of ``samplings`` grouped by everything but their generator: decodings that sample alike.
    ``sample_next_token`` treats every row on its own, so a group's rows can be drawn in one call."""
    groups: dict[tuple, list[int]] = {}
    for i, sampling in enumerate(samplings):
        key = tuple(sorted((k, repr(v)) for k, v in sampling.items() if k != "generator"))
        groups.setdefault(key, []).append(i)
    return list(groups.values())


def autoregressive_decode_many(
    step: StepFn,
    *,
    batch_size: int,
    bos: int,
    eos: int,
    max_length: int,
    samplings: Sequence[Mapping[str, Any]],
    reorder: ReorderFn | None = None,
    loop_guard: int = 0,
) -> list[list[list[int]]]:
    """Several decodings at once, one per dict of ``sample_next_token`` arguments.

    ``step`` sees up to ``len(samplings) * batch_size`` rows, decoding-major (all rows of the first
    decoding, then the second...), so the decoder and its full-vocabulary logits run once per position
    for all of them. A decoding stops drawing once all its rows have produced ``eos``, so each gives what
    it would alone.

    With ``reorder`` (how to select rows of the decoder state, e.g. ``reorder_state``), rows that have
    ended are dropped: ``step(prev, state, rows)`` is then called for the rows still decoding only
    (``rows``: their indices among all rows), which saves most of the work once short sentences end.
    Every row of a sampled decoding reads the same random number at a step: the next of its seed's
    stream, which is what the row would read if it were decoded alone. So a row's sample depends on its
    vector and the seed only, never on the other rows of the batch or on which of them are still running
    (an app can decode many sentences in one batch and show what each gives alone). ``loop_guard`` > 0:
    no row writes a phrase of that many or more pieces three times in a row (``repetition.guard_logits``).
    A sampling with a ``"lexicon"`` (a ``lexicon.Lexicon``) only spells that lexicon's words.
    """
    D, B = len(samplings), batch_size
    prev = torch.full((D * B, 1), bos, dtype=torch.long)
    done = torch.zeros(D * B, dtype=torch.bool)
    active = torch.arange(D * B)  # rows the decoder still computes
    groups = same_settings(samplings)
    state = None
    for _ in range(max_length + 1):
        if reorder is None:
            logits, state = step(prev, state)  # (D*B, V)
            logits = logits[active]
        else:
            logits, state = step(prev[active], state, active)  # (A, V)
        logits = guard_logits(logits, prev[active, 1:], loop_guard)
        # active is sorted and decoding-major: each decoding's computed rows are one slice of it.
        bounds = torch.searchsorted(active, torch.arange(D + 1) * B).tolist()
        uniforms: dict[int, torch.Tensor] = {}
        for i, sampling in enumerate(samplings):  # in order: decodings may share a generator
            if bounds[i] < bounds[i + 1] and draws_randomly(sampling):
                # One number per step for all rows, as each row alone would draw it (see above).
                u = torch.rand(1, generator=sampling.get("generator"))
                uniforms[i] = u.expand(bounds[i + 1] - bounds[i])
        nxt = torch.full((D * B,), eos, dtype=torch.long)
        for members in groups:  # decodings that sample alike draw in one call, each row as it would alone
            present = [i for i in members if bounds[i] < bounds[i + 1]]
            if not present:
                continue
            rows = torch.cat([torch.arange(bounds[i], bounds[i + 1]) for i in present])
            settings = {k: v for k, v in samplings[present[0]].items() if k not in ("generator", "lexicon")}
            uniform = torch.cat([uniforms[i] for i in present]) if present[0] in uniforms else None
            if len(rows) == int(rows[-1] - rows[0]) + 1:  # one run of rows (the usual case): a view, no copy
                group_logits = logits[int(rows[0]) : int(rows[-1]) + 1]
            else:
                group_logits = logits[rows]
            if (lexicon := samplings[present[0]].get("lexicon")) is not None:
                group_logits = lexicon.constrain(group_logits, prev[active[rows], 1:])
            nxt[active[rows]] = sample_next_token(group_logits, **settings, uniform=uniform)
        nxt = nxt.masked_fill(done, eos)
        prev = torch.cat([prev, nxt.view(-1, 1)], dim=1)
        done |= nxt == eos
        if bool(done.all()):
            break
        going = ~done[active]
        if not bool(going.all()):
            keep = going.nonzero().squeeze(1)
            active = active[keep]
            if reorder is not None:
                state = reorder(state, keep)
    return [trim(rows, eos=eos) for rows in prev[:, 1:].view(D, B, -1)]


def beam_search(
    step: StepFn,
    reorder: ReorderFn,
    *,
    batch_size: int,
    beam_size: int,
    bos: int,
    eos: int,
    max_length: int,
    length_penalty: float = 1.0,
    loop_guard: int = 0,
) -> list[list[int]]:
    """Keep the ``beam_size`` best prefixes per sentence; ``step`` sees B*K rows (sentence-major).

    Finished hypotheses are scored by log-probability / length**length_penalty. ``beam_size=1`` is greedy.
    ``loop_guard``: as in ``autoregressive_decode_many``.
    """
    B, K = batch_size, beam_size
    prev = torch.full((B * K, 1), bos, dtype=torch.long)
    scores = torch.full((B, K), float("-inf"))
    scores[:, 0] = 0.0  # all beams start identical: expand only the first
    finished = torch.zeros(B, K, dtype=torch.bool)
    lengths = torch.zeros(B, K)
    state = None
    for _ in range(max_length + 1):
        logits, state = step(prev, state)  # (B*K, V)
        logits = guard_logits(logits, prev[:, 1:], loop_guard)
        logp = F.log_softmax(logits.float(), dim=-1).view(B, K, -1)
        V = logp.shape[-1]
        # A finished hypothesis may only extend with eos, at no cost, so it keeps its score.
        if bool(finished.any()):  # in place, only the finished rows: no second (B, K, V) tensor per step
            logp[finished] = float("-inf")
            logp[..., eos][finished] = 0.0
        total = (scores[..., None] + logp).view(B, K * V)
        scores, flat = total.topk(K, dim=-1)  # (B, K)
        beam, tok = flat // V, flat % V
        rows = (beam + torch.arange(B)[:, None] * K).view(-1)
        prev = torch.cat([prev[rows], tok.view(-1, 1)], dim=1)
        state = reorder(state, rows)
        was_finished = finished.gather(1, beam)
        lengths = lengths.gather(1, beam) + (~was_finished).float()
        finished = was_finished | (tok == eos)
        if bool(finished.all()):
            break
    normalized = scores / lengths.clamp(min=1) ** length_penalty
    best = normalized.argmax(-1)  # (B,)
    chosen = prev.view(B, K, -1)[torch.arange(B), best, 1:]
    return trim(chosen, eos=eos)


def reorder_state(state: Any, rows: torch.Tensor) -> Any:
    """Select hypotheses ``rows`` from a recurrent state (layers, B, H), a tuple of them, or None."""
    if state is None:
        return None
    if isinstance(state, tuple):
        return tuple(s[:, rows] for s in state)
    return state[:, rows]


def closest(candidates: torch.Tensor, targets: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Rerank: for candidate vectors (N, K, d) and targets (N, d), the index (N,) of each row's candidate
    with the highest cosine to its target, and that cosine (N,)."""
    cos = F.cosine_similarity(candidates, targets[:, None, :], dim=-1)  # (N, K)
    best = cos.max(-1)
    return best.indices, best.values
