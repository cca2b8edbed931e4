"""The decoding engine: sentence vectors -> piece ids, under every strategy InvEmb has.

``Autoencoder.decode`` is a facade over one ``Engine``. A decoding is a ``DecodeConfig``; running one is
a few named stages, each a call of its own (``Engine.decode_many`` shows them in order):

1. **first pass** (``passes``): one batched decoder run draws, for every row, the greedy output and each
   sampled decoding's output (``Sampling``: what one draw samples with). Beam search runs on its own.
2. **rerank** (``rerank.py``): of the greedy output and ``num_candidates - 1`` further samples, keep the
   one whose re-encoded vector is closest to the row's vector.
3. **verify** (``rerank.py``, two-part vectors): a chosen text that does not lead back to its vector is
   written again from the vector's meaning alone (``rewrite_from_meaning``).
4. **correct** (``correct.py``): rows with no wording code are decoded again from a target pushed past
   the vector by the miss of their text's re-encoded vector, keeping whichever text comes closer.

The engine holds the model, the codec, and two things the facade lends it: how to encode piece ids
(``Autoencoder.encode_ids``, with its vector cache) and the whole-word lexicon. It never imports the
facade. ``reference_greedy`` is the plain loop the tests hold the batched passes to.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import torch

from . import decode as dec
from .config import DecodeConfig
from .correct import correct
from .errors import InvEmbError
from .lexicon import Lexicon
from .model import SentenceAutoencoder
from .rerank import first_text_wins, rerank, weak_rows
from .twopart import keep_wording

# Rows of full-vocabulary logits a greedy or beam step computes at once: (512, 30,522) float32 is 62 MB, and
# the bfloat16 output layer runs near its peak from ~512 rows (BENCHMARKS.md, "Decoding at the FLOP limit").
DECODE_ROWS = 512
# Sentences per chunk of a pass that samples. A seed's stream runs on from one chunk to the next, so a row
# after the first chunk draws other numbers than it would alone: this size is part of every recorded sample.
SAMPLED_BATCH = 128
PARALLEL_BATCH = 128  # a parallel decoder's logits are (B, 8 positions, 30k) per chunk: ~125 MB

Ids = list[list[int]]


@dataclass(frozen=True)
class Sampling:
    """How one draw picks each piece: argmax (``GREEDY``), or a seeded sample under temperature, top-k,
    top-p and min-p, spelling only the lexicon's words when it has one."""

    temperature: float = 0.0
    top_k: int = 0
    top_p: float = 1.0
    min_p: float = 0.0
    seed: int | None = None
    lexicon: Lexicon | None = None

    def arguments(self) -> dict[str, Any]:
        """The ``decode.sample_next_token`` keywords (a fresh seeded generator each call)."""
        if self == GREEDY:
            return {"temperature": 0.0}
        generator = None if self.seed is None else torch.Generator().manual_seed(self.seed)
        out = {"temperature": self.temperature, "top_k": self.top_k, "top_p": self.top_p, "min_p": self.min_p}
        return {**out, "generator": generator, **({"lexicon": self.lexicon} if self.lexicon is not None else {})}


GREEDY = Sampling()


class Engine:
    def __init__(
        self,
        model: SentenceAutoencoder,
        *,
        bos: int,
        eos: int,
        unk: int,
        max_length: int,
        meaning_size: int,
        encode_ids: Callable[[Sequence[Sequence[int]]], torch.Tensor],
        lexicon: Callable[[], Lexicon | None],
    ):
        self.model, self.bos, self.eos, self.unk = model, bos, eos, unk
        self.max_length, self.meaning_size = max_length, meaning_size
        self._encode_ids, self._lexicon = encode_ids, lexicon

    # ---- the stages ------------------------------------------------------------------------------

    def decode_many(self, Z: torch.Tensor, configs: Mapping[str, DecodeConfig]) -> dict[str, Ids]:
        """Several decodings of the same (checked) vectors, ``{name: config}`` -> ``{name: ids per row}``.
        Each gives what it gives alone; the first pass is shared (``passes``)."""
        if not self.model.autoregressive and any(c.strategy == "beam" for c in configs.values()):
            raise InvEmbError("beam search needs an autoregressive decoder; this checkpoint's is parallel")
        out = {
            n: self.beam(Z, c.beam_size, self.length(c), c.loop_guard)
            for n, c in configs.items()
            if c.strategy == "beam"
        }
        by_pass: dict[tuple[int, int], list[str]] = {}
        for name, cfg in configs.items():
            if cfg.strategy != "beam":
                by_pass.setdefault((self.length(cfg), cfg.loop_guard), []).append(name)
        for (max_length, loop_guard), names in by_pass.items():
            first = self.first_pass(Z, {n: configs[n] for n in names}, max_length, loop_guard)
            for name in names:
                out[name] = self.finish(Z, first[name], configs[name], max_length)
        return {name: out[name] for name in configs}  # in the order asked

    def first_pass(
        self, Z: torch.Tensor, configs: Mapping[str, DecodeConfig], max_length: int, loop_guard: int
    ) -> dict[str, Ids]:
        """Stage 1: each decoding's first output (a sample's draw; for greedy and rerank the greedy
        output), all in one batched run that draws the greedy pass once."""
        draws: dict[str, Sampling] = {}
        if any(c.strategy != "sample" for c in configs.values()):
            draws["greedy"] = GREEDY
        draws.update({f"sample {n}": self.samplings(c)[0] for n, c in configs.items() if c.strategy == "sample"})
        decoded = dict(zip(draws, self.passes(Z, list(draws.values()), max_length, loop_guard)))
        return {n: list(decoded[f"sample {n}" if c.strategy == "sample" else "greedy"]) for n, c in configs.items()}

    def finish(self, Z: torch.Tensor, ids: Ids, cfg: DecodeConfig, max_length: int) -> Ids:
        """Stages 2 to 4 on a decoding's first output: rerank, verify, correct."""
        vectors = None
        if cfg.strategy == "rerank":
            ids, vectors = rerank(
                Z,
                ids,
                cfg,
                reencode=self.reencode,
                sample=lambda rows, c: self.passes(Z[rows], self.samplings(c)[1:], max_length, c.loop_guard),
                meaning_size=self.meaning_size,
            )
        if self.meaning_size and (cfg.verify or cfg.verify_wording):
            vectors = self.reencode(ids) if vectors is None else vectors
            self.rewrite_from_meaning(Z, ids, vectors, cfg)
        if cfg.corrections:
            again = replace(cfg, corrections=0)
            ids, _ = correct(
                Z,
                ids,
                self.reencode(ids),  # the vector cache has them: rerank and verify encoded these texts
                steps=cfg.corrections,
                step=cfg.correction_step,
                reencode=self.reencode,
                redecode=lambda targets: self.decode_many(targets, {"": again})[""],
                meaning_size=self.meaning_size,
            )
        return ids

    def rewrite_from_meaning(self, Z: torch.Tensor, chosen: Ids, vectors: torch.Tensor, cfg: DecodeConfig) -> None:
        """Stage 3: rows whose text does not lead back to their vector (``rerank.weak_rows``) are written
        again from the meaning alone, by beam search (``cfg.fallback_beam``) or the same decoding; a row
        keeps its first text if that re-encodes closer by more than ``cfg.verify_margin``. In place."""
        weak = weak_rows(Z, vectors, cfg, self.meaning_size)
        if not weak:
            return
        if cfg.fallback_beam:
            fallback = DecodeConfig(
                strategy="beam", beam_size=cfg.fallback_beam, max_length=cfg.max_length, loop_guard=cfg.loop_guard
            )
        else:
            fallback = replace(cfg, verify=0.0, verify_wording=0.0, fallback_beam=0, verify_margin=2.0)
        meaning = keep_wording(Z[weak], meaning_size=self.meaning_size, keep=0.0)
        redo = self.decode_many(meaning, {"": fallback})[""]
        keep = [False] * len(weak)
        if cfg.verify_margin < 2.0:
            keep = first_text_wins(Z[weak], vectors[weak], self.reencode(redo), cfg.verify_margin)
        for row, ids, first_wins in zip(weak, redo, keep):
            if not first_wins:
                chosen[row] = ids

    # ---- the parts -------------------------------------------------------------------------------

    def length(self, cfg: DecodeConfig) -> int:
        """The most pieces a decoding writes: its own ``max_length``, at most the model's."""
        return min(cfg.max_length or self.max_length, self.max_length)

    def reencode(self, ids: Sequence[Sequence[int]]) -> torch.Tensor:
        """The vectors of decoded texts (an empty one is read as [UNK])."""
        return self._encode_ids([row or [self.unk] for row in ids])

    def samplings(self, cfg: DecodeConfig) -> list[Sampling]:
        """The draws a decoding needs: one, or for rerank the greedy pass (so reranking can only move
        closer to the target vector) and ``num_candidates - 1`` samples seeded ``seed``, ``seed + 1``...
        Sampled draws carry the lexicon when ``cfg.whole_words`` and the checkpoint has one."""
        if cfg.strategy == "greedy":
            return [GREEDY]
        passes = 1 if cfg.strategy == "sample" else cfg.num_candidates - 1
        randomly = dec.draws_randomly({"temperature": cfg.temperature, "top_k": cfg.top_k})
        lexicon = self._lexicon() if cfg.whole_words and randomly else None
        samples = [
            Sampling(
                cfg.temperature, cfg.top_k, cfg.top_p, cfg.min_p, None if cfg.seed is None else cfg.seed + i, lexicon
            )
            for i in range(passes)
        ]
        return samples if cfg.strategy == "sample" else [GREEDY, *samples]

    def passes(self, Z: torch.Tensor, draws: Sequence[Sampling], max_length: int, loop_guard: int) -> list[Ids]:
        """One list of ids per row of ``Z`` for each draw, the decoder run once per batch for all draws.
        ``loop_guard``: see ``DecodeConfig`` (autoregressive decoders only)."""
        out: list[Ids] = [[] for _ in draws]
        arguments = [d.arguments() for d in draws]
        if not self.model.autoregressive:
            per_chunk = PARALLEL_BATCH
        elif any(d != GREEDY for d in draws):
            per_chunk = SAMPLED_BATCH
        else:
            per_chunk = DECODE_ROWS
        for z in Z.split(per_chunk):
            if self.model.autoregressive:
                zd = z.repeat(len(draws), 1)
                per_draw = dec.autoregressive_decode_many(
                    lambda prev, state, rows, zd=zd: self.model.step(zd[rows], prev, state),
                    batch_size=z.shape[0],
                    bos=self.bos,
                    eos=self.eos,
                    max_length=max_length,
                    samplings=arguments,
                    reorder=dec.reorder_state,
                    loop_guard=loop_guard,
                )
            else:
                vectors = self.model.output_vectors(z, max_length + 1)  # cheap; the logits are not
                per_draw = dec.parallel_decode_many(
                    lambda a, b, v=vectors: self.model.full_logits(v[:, a:b]),
                    length=max_length + 1,
                    eos=self.eos,
                    samplings=arguments,
                )
            for acc, rows in zip(out, per_draw):
                acc += [ids[:max_length] for ids in rows]  # a row with no end token is cut at the maximum
        return out

    def beam(self, Z: torch.Tensor, beam_size: int, max_length: int, loop_guard: int) -> Ids:
        out: Ids = []
        for z in Z.split(max(1, DECODE_ROWS // beam_size)):
            zk = z.repeat_interleave(beam_size, dim=0)
            rows = dec.beam_search(
                lambda prev, state, zk=zk: self.model.step(zk, prev, state),
                dec.reorder_state,
                batch_size=z.shape[0],
                beam_size=beam_size,
                bos=self.bos,
                eos=self.eos,
                max_length=max_length,
                loop_guard=loop_guard,
            )
            out += [ids[:max_length] for ids in rows]
        return out


@torch.no_grad()
def reference_greedy(model: SentenceAutoencoder, z: torch.Tensor, *, bos: int, eos: int, max_length: int) -> list[int]:
    """Greedy decoding of one vector, the plainest way: the tests' oracle for ``Engine``'s batched passes
    (which add row dropping, shared draws and, by default, the loop guard)."""
    if not model.autoregressive:
        ids = model.full_logits(model.output_vectors(z[None], max_length + 1))[0].argmax(-1).tolist()
        return ids[: ids.index(eos)] if eos in ids else ids[:max_length]
    prev, state, out = torch.tensor([[bos]]), None, []
    for _ in range(max_length + 1):
        logits, state = model.step(z[None], prev, state)
        token = int(logits[0].argmax())
        if token == eos:
            return out
        out.append(token)
        prev = torch.cat([prev, torch.tensor([[token]])], dim=1)
    return out[:max_length]
