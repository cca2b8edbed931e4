"""Choosing a meaning-only decoding by consensus: does agreement among the candidates find better text?

Found (issue 22, kept as an experiment; nothing uses it): no. Consensus added at most 0.2 BLEU, within noise,
and minimum Bayes risk alone was the worst rule (typed 15.2 against 19.2 for the closest candidate); even the
oracle best of 48 candidates reaches only 27.7 typed BLEU. Feeds BENCHMARKS.md, "Every design tried" (the
consensus rows); the full run is in docs/HISTORY.md, "Choosing by consensus".

    cd bench && python experiments/consensus.py --sets dev typed --n 300 --pools results/consensus_pools.pt

Rerank keeps, of the greedy output and 23 samples, the one whose re-encoded meaning is closest to the
target; correction draws a second pool from a target pushed past the first choice. Picking the best of
those candidates by BLEU against the reference (an oracle) reaches far higher BLEU than the closest one
does (BENCHMARKS.md, issue 22). Minimum-Bayes-risk decoding picks the candidate that agrees most with
the others (its expected n-gram overlap), a reference-free stand-in for the oracle. This script draws
both pools once per sentence as the default decoding does (seeds, temperature, min-p, whole words: the
checkpoint's), re-encodes every candidate, saves the pools, and then scores selection rules offline:

    score(c) = cosine(c, Z) + weight * consensus(c)     (and, as a check, + length_bonus * pieces(c))

``consensus(c)``: the mean n-gram F1 (1-4 grams of word pieces) of ``c`` with every other draw of both
pools, each draw counted as often as it was drawn. Printed per rule: corpus BLEU, MiniLM cosine (and
all-mpnet-base-v2's unless ``--no-mpnet``) and the oracle. Nothing here trains.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from dataclasses import replace
from pathlib import Path

import sacrebleu
import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # bench/, for general.py and judges.py

from general import Judges, sets  # noqa: E402

import invemb_core as ie  # noqa: E402
from invemb_core.config import DecodeConfig  # noqa: E402
from invemb_core.correct import targets  # noqa: E402
from invemb_core.metrics import bleu  # noqa: E402

Pool = list[tuple[int, ...]]


def draw_pools(ae: ie.Autoencoder, Z: torch.Tensor, batch: int = 64) -> tuple[list[Pool], torch.Tensor]:
    """Per row of ``Z`` (meaning only), the draws of rerank's first pool and of correction's pool (greedy
    + samples each, as drawn), and the cosine of each draw's re-encoded vector with ``Z``: (rows, 2K)."""
    cfg = DecodeConfig(**{**ae.default_decoding, "strategy": "rerank"})
    count = cfg.meaning_candidates or cfg.num_candidates
    pool_cfg = replace(cfg, num_candidates=count)
    engine = ae.engine
    length = engine.length(cfg)
    draws = engine.samplings(pool_cfg)

    def drawn(target: torch.Tensor, z: torch.Tensor):
        """The draws from ``target`` (per draw, ids per row), their vectors (draws, rows, d) and their
        cosines with ``z`` (draws, rows)."""
        out = engine.passes(target, draws, length, cfg.loop_guard)
        V = engine.reencode([tuple(ids) for d in out for ids in d]).view(len(draws), len(z), -1)
        return out, V, F.cosine_similarity(V, z[None], dim=-1)

    pools: list[Pool] = []
    cosines = []
    for z in Z.split(batch):
        first, V, cos = drawn(z, z)
        aim = targets(z, V[cos.argmax(0), torch.arange(len(z))], cfg.correction_step, ae.meaning_size)
        second, _, cos2 = drawn(aim, z)
        for r in range(len(z)):
            pools.append([tuple(d[r]) for d in first] + [tuple(d[r]) for d in second])
        cosines.append(torch.cat([cos, cos2]).T)
    return pools, torch.cat(cosines)


def ngrams(ids: tuple[int, ...]) -> list[Counter]:
    return [Counter(ids[i : i + n] for i in range(len(ids) - n + 1)) for n in range(1, 5)]


def overlap(a: list[Counter], b: list[Counter]) -> float:
    """Mean over n = 1..4 of the n-gram F1 of two texts (0 for orders neither has)."""
    total = 0.0
    for ca, cb in zip(a, b):
        na, nb = sum(ca.values()), sum(cb.values())
        if na and nb:
            common = sum((ca & cb).values())
            total += 2 * common / (na + nb)
    return total / 4


def consensus(pool: Pool) -> list[float]:
    """Per draw, its mean overlap with every other draw of the pool (duplicates counted)."""
    unique = list(dict.fromkeys(pool))
    grams = {u: ngrams(u) for u in unique}
    counts = Counter(pool)
    sim = {(a, b): overlap(grams[a], grams[b]) for a in unique for b in unique}
    n = len(pool)
    per = {a: (sum(counts[b] * sim[a, b] for b in unique) - sim[a, a]) / max(n - 1, 1) for a in unique}
    return [per[c] for c in pool]


def pick(
    pools: list[Pool],
    cos: torch.Tensor,
    agree: torch.Tensor,
    weight: float,
    first_only: bool,
    length_bonus: float = 0.0,
) -> list[tuple[int, ...]]:
    """Per row, the draw with the highest ``cos + weight * agree + length_bonus * pieces``."""
    K = cos.shape[1] // 2
    pieces = torch.tensor([[len(c) for c in pool] for pool in pools], dtype=torch.float)
    score = cos + weight * agree + length_bonus * pieces
    if first_only:
        score = score[:, :K]
    best = score.argmax(1).tolist()
    return [pool[b] for pool, b in zip(pools, best)]


def length_ratio(refs: list[str], outs: list[str]) -> float:
    """sacrebleu's hypothesis / reference length (its tokens), as BLEU's brevity penalty sees it."""
    score = sacrebleu.corpus_bleu(outs, [refs])
    return score.sys_len / score.ref_len


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkpoint", default=None)
    parser.add_argument("--sets", nargs="*", default=["dev", "typed"])
    parser.add_argument("--n", type=int, default=300, help="sentences per set")
    parser.add_argument("--weights", type=float, nargs="*", default=[0.0, 0.05, 0.1, 0.2, 0.3, 0.5, 1.0, 100.0])
    parser.add_argument(
        "--length-bonus", type=float, nargs="*", default=[0.002, 0.005], help="both pools, closest + this x pieces"
    )
    parser.add_argument("--pools", default=None, help="save / reuse the drawn pools here (one file per set: SET.pt)")
    parser.add_argument("--no-mpnet", action="store_true")
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    torch.manual_seed(0)
    ae = ie.load(args.checkpoint)
    judges = Judges(ae.codec.model_dir, use_mpnet=not args.no_mpnet)
    result = {}
    for name, sentences in sets(500, args.n).items():
        if name not in args.sets:
            continue
        refs = [ae.normalize(s) for s in sentences[: args.n]]
        saved = Path(f"{args.pools}.{name}") if args.pools else None
        if saved and saved.is_file():
            pools, cos = torch.load(saved)
        else:
            pools, cos = draw_pools(ae, ae.meaning(ae.encode(refs)))
            if saved:
                torch.save((pools, cos), saved)
        agree = torch.tensor([consensus(p) for p in pools])
        rows = {}
        for first_only in (True, False):
            for w in args.weights:
                outs = [ae.codec.decode(list(c)) for c in pick(pools, cos, agree, w, first_only)]
                label = f"{'first pool' if first_only else 'both pools'}, weight {w:g}"
                rows[label] = {
                    "bleu": bleu(refs, outs),
                    "cosine": judges(refs, outs),
                    "length_ratio": length_ratio(refs, outs),
                }
                print(name, label, rows[label], flush=True)
        for bonus in args.length_bonus:
            outs = [ae.codec.decode(list(c)) for c in pick(pools, cos, agree, 0.0, False, bonus)]
            label = f"both pools, closest + {bonus:g} x pieces"
            rows[label] = {"bleu": bleu(refs, outs), "length_ratio": length_ratio(refs, outs)}
            print(name, label, rows[label], flush=True)
        oracle = [max(set(p), key=lambda c: bleu([r], [ae.codec.decode(list(c))])) for p, r in zip(pools, refs)]
        rows["oracle (sentence BLEU)"] = {"bleu": bleu(refs, [ae.codec.decode(list(c)) for c in oracle])}
        print(name, "oracle", rows["oracle (sentence BLEU)"], flush=True)
        result[name] = rows
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
