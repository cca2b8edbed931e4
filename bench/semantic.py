"""Is the vector at once semantic, invertible and smooth? Every figure of the meaning-and-wording issue,
for any checkpoint, with all-MiniLM-L6-v2's retrieval measured in the same run. Feeds BENCHMARKS.md,
"checkpoints/default", "checkpoints/captions" and "checkpoints/plain" (R@1, exact match, midpoints, trade-off).

    python bench/semantic.py --checkpoint checkpoints/default --json bench/results/semantic_default.json
    python bench/semantic.py --checkpoint checkpoints/plain

1. Semantic: same-image caption retrieval R@1 (cosine of ``ae.encode``) on the five dev captions of 507
   Multi30k validation images, against MiniLM's embeddings of the same captions.
2. Invertible: ``ae.reconstruct`` with no arguments (the checkpoint's default decoding) on Multi30k val
   and test_2016_flickr: exact match and token accuracy (``ie.evaluate``).
3. Smooth: the alpha = 0.5 point of ``ie.interpolate(ae, a, b, steps=5, method="slerp")`` for random
   pairs of dev captions; its word-trigram perplexity (``fluency.TrigramJudge`` of Multi30k train) over
   that of real test_2016 captions, and the share of midpoints identical to an endpoint.
4. Meaning apart from wording (two-part checkpoints): ``decode(meaning(encode(s)))`` on test_2016,
   corpus BLEU and mean MiniLM cosine to the input; 5 seeds of sampling at T = 1.0 per sentence:
   distinct outputs and their mean cosine, from the whole distribution and from its top-p = 0.95 nucleus.
5. The trade-off: exact match, BLEU, cosine (greedy decoding) and R@1 as the kept wording code grows
   (0 / 16 / 64 / 256 / all numbers).

The dev captions are for evaluation and model selection only; nothing here trains.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time
from pathlib import Path

import torch

import invemb_core as ie
from invemb_core.data import read_caption_sets, read_sentences
from invemb_core.fluency import TrigramJudge
from invemb_core.metrics import (
    bleu,
    exact_match,
    same_item_retrieval,
    semantic_cosine,
    sentence_transformer,
    token_accuracy,
)

DEV = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "multi30k"
DEV_FILES = [str(DEV / f"val_5captions_dev.{i}.en.gz") for i in range(1, 6)]
TEST = "multi30k:test_2016_flickr"


def retrieval(ae: ie.Autoencoder, captions: list[str], items: list[int]) -> dict:
    minilm = sentence_transformer(ae.codec.model_dir)
    reference = minilm.encode(captions, convert_to_tensor=True, normalize_embeddings=True, batch_size=128)
    return {
        "recall_at_1": same_item_retrieval(ae.encode(captions), items),
        "minilm_recall_at_1": same_item_retrieval(reference, items),
        "captions": len(captions),
    }


def invertibility(ae: ie.Autoencoder) -> dict:
    out = {}
    for spec in ("multi30k:val", TEST):
        r = ie.evaluate(ae, read_sentences(spec, min_words=5, max_words=30), semantic=False)
        out[spec] = {k: r[k] for k in ("exact_match", "token_accuracy", "bleu", "n")}
    return out


def smoothness(ae: ie.Autoencoder, captions: list[str], judge: TrigramJudge, pairs: int, seed: int) -> dict:
    rng = random.Random(seed)
    midpoints, same, examples = [], 0, []
    for _ in range(pairs):
        a, b = rng.sample(captions, 2)
        path = ie.interpolate(ae, a, b, steps=5, method="slerp")
        mid = path[2][1]
        midpoints.append(mid)
        same += mid in (path[0][1], path[-1][1], ae.normalize(a), ae.normalize(b))
        if len(examples) < 5:
            examples.append({"a": a, "b": b, "mid": mid})
    real = judge.perplexity(read_sentences(TEST, min_words=5, max_words=30))
    mid_ppl = judge.perplexity(midpoints)
    return {
        "midpoint_perplexity": mid_ppl,
        "real_perplexity": real,
        "ratio": mid_ppl / real,
        "identical_to_endpoint": same / pairs,
        "pairs": pairs,
        "examples": examples,
    }


def meaning_only(ae: ie.Autoencoder, sentences: list[str], sample_sentences: int, seeds: int) -> dict:
    M = ae.meaning(ae.encode(sentences))
    refs = [ae.normalize(s) for s in sentences]
    greedy = ae.decode(M)
    cos = semantic_cosine(ae.codec.model_dir, refs, greedy)
    subset = M[:sample_sentences]

    def samples(**sampling) -> tuple[list[tuple[str, ...]], dict]:
        draws = ae.decode_many(
            subset,
            {f"seed{k}": {"strategy": "sample", "temperature": 1.0, "seed": k, **sampling} for k in range(seeds)},
        )
        rows = list(zip(*draws.values()))  # per sentence, its samples
        flat = [s for row in rows for s in row]
        cos = semantic_cosine(ae.codec.model_dir, [refs[i] for i, row in enumerate(rows) for _ in row], flat)
        return rows, {
            "distinct": statistics.mean(len(set(row)) for row in rows),
            "cosine": statistics.mean(cos),
            "identical_to_input": sum(s == refs[i] for i, row in enumerate(rows) for s in row) / len(flat),
        }

    rows, pure = samples()
    _, nucleus = samples(top_p=0.95)
    return {
        "bleu": bleu(refs, greedy),
        "cosine": statistics.mean(cos),
        "exact_match": sum(r == g for r, g in zip(refs, greedy)) / len(refs),
        "n": len(sentences),
        "sample_distinct": pure["distinct"],
        "sample_cosine": pure["cosine"],
        "sample_identical_to_input": pure["identical_to_input"],
        "sample_sentences": len(rows),
        "top_p_0.95": nucleus,
        "examples": [{"input": refs[i], "meaning_only": greedy[i], "samples": list(rows[i])} for i in range(5)],
    }


def trade_off(
    ae: ie.Autoencoder, sentences: list[str], captions: list[str], items: list[int], sizes: list[int]
) -> list[dict]:
    ids, _ = ae.tokenize(sentences)
    Z = ae.encode_ids(ids)
    Zc = ae.encode(captions)
    refs = [ae.codec.decode(r) for r in ids]
    rows = []
    for size in sizes:
        keep = min(size, ae.wording_size) / ae.wording_size
        hyp = ae.decode_ids(ae.meaning(Z, keep=keep), strategy="greedy")  # greedy: 4 points x 1000 sentences
        text = [ae.codec.decode(h) for h in hyp]
        rows.append(
            {
                "wording_numbers": min(size, ae.wording_size),
                "exact_match": exact_match(ids, hyp),
                "token_accuracy": token_accuracy(ids, hyp),
                "bleu": bleu(refs, text),
                "cosine": statistics.mean(semantic_cosine(ae.codec.model_dir, refs, text)),
                "recall_at_1": same_item_retrieval(ae.meaning(Zc, keep=keep), items),
            }
        )
    return rows


def plot_trade_off(rows: list[dict], path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    x = [r["wording_numbers"] for r in rows]
    fig, ax = plt.subplots(figsize=(6.4, 3.8))
    ax.plot(x, [r["exact_match"] for r in rows], "o-", label="exact match (test_2016)")
    ax.plot(x, [r["bleu"] / 100 for r in rows], "s-", label="BLEU / 100 (test_2016)")
    ax.plot(x, [r["cosine"] for r in rows], "^-", label="MiniLM cosine to the input")
    ax.plot(x, [r["recall_at_1"] for r in rows], "d--", label="same-image R@1 (dev captions)")
    ax.set_xscale("symlog", linthresh=16)
    ax.set_xticks(x, [str(v) for v in x])
    ax.set_xlabel("wording numbers kept (after the 384 meaning numbers)")
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    ax.set_title("Meaning + wording: what each wording number buys")
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkpoint", default=None, help="checkpoint directory (default: checkpoints/default)")
    parser.add_argument("--pairs", type=int, default=200, help="random dev-caption pairs for the midpoints")
    parser.add_argument("--sample-sentences", type=int, default=200, help="test sentences sampled 5 times")
    parser.add_argument("--sizes", type=int, nargs="+", default=[0, 16, 64, 256, 512], help="wording numbers kept")
    parser.add_argument("--seed", type=int, default=0, help="seed for the pairs")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    parser.add_argument("--skip", nargs="*", default=[], help="parts to skip: invertible smooth meaning trade-off")
    parser.add_argument("--json", default=None, help="write the results here")
    parser.add_argument("--plot", default=None, help="draw the trade-off to this PNG (needs matplotlib)")
    args = parser.parse_args()

    torch.manual_seed(args.seed)
    if args.threads:
        torch.set_num_threads(args.threads)
    ae = ie.load(args.checkpoint)
    captions, items = read_caption_sets(DEV_FILES)
    result: dict = {"checkpoint": ae.info.get("path"), "vector_size": ae.vector_size, "meaning_size": ae.meaning_size}
    timings = {}

    def part(name, fn, *fargs):
        if name in args.skip:
            return
        start = time.perf_counter()
        result[name] = fn(*fargs)
        timings[name] = round(time.perf_counter() - start, 1)
        print(f"{name} ({timings[name]} s):", json.dumps(result[name], indent=1)[:1500], flush=True)

    part("semantic", retrieval, ae, captions, items)
    part("invertible", invertibility, ae)
    judge = TrigramJudge(read_sentences("multi30k:train", min_words=1, max_words=10_000))
    part("smooth", smoothness, ae, captions, judge, args.pairs, args.seed)
    if ae.meaning_size:
        test = read_sentences(TEST, min_words=5, max_words=30)
        part("meaning", meaning_only, ae, test, args.sample_sentences, 5)
        part("trade-off", trade_off, ae, test, captions, items, args.sizes)
    result["seconds"] = timings
    if args.plot and "trade-off" in result:
        plot_trade_off(result["trade-off"], args.plot)
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
