"""Does the meaning hold outside captions? Every figure of the general-English issue (#21), for any
checkpoint, on typed sentences, held-out general English and captions, in one run. Feeds BENCHMARKS.md,
"checkpoints/default" and "checkpoints/captions" (exact match on typed, held-out and dev; held-out meaning only).

    python bench/general.py --checkpoint checkpoints/default --json bench/results/general_general.json

For each set:
1. ``ae.reconstruct`` (the checkpoint's default decoding): exact match and token accuracy.
2. ``ae.decode(ae.meaning(ae.encode(s)))`` (default decoding): corpus BLEU against the input, mean cosine to
   the input by all-MiniLM-L6-v2 (what rerank optimises) and by all-mpnet-base-v2 (a judge it never sees).
3. Five samples of the meaning at T = 1 (seeds 0-4): distinct outputs per sentence and their mean cosines.
4. Degenerate outputs (``repetition.is_degenerate``): the share of every decoding above that repeats a
   phrase of 3+ words three times in a row, or runs to the length limit although its input was short.

Sets: ``typed`` (``data/english/typed_dev.txt``: 120 hand-written + 180 held-out everyday sentences),
``heldout`` (the first N lines of ``data/english/heldout.en.gz``; build both with ``invemb data english``),
``test_2016`` (Multi30k's captions) and ``dev`` (the first of the five dev caption files). Nothing here
trains. For R@1, the midpoint perplexity ratio and the caption trade-off, run ``bench/semantic.py``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import torch
from judges import mpnet_dir

import invemb_core as ie
from invemb_core.data import read_sentences
from invemb_core.english import english_dir
from invemb_core.metrics import bleu, exact_match, semantic_cosine, token_accuracy
from invemb_core.repetition import DEFAULT_MIN_PHRASE, is_degenerate

SHARED = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "multi30k"
SEEDS = 5


def sets(limit_heldout: int, limit_captions: int) -> dict[str, list[str]]:
    root = english_dir()
    out = {
        "typed": read_sentences(str(root / "typed_dev.txt")),
        "heldout": read_sentences(str(root / "heldout.en.gz"), min_words=5, max_words=30, limit=limit_heldout),
        "test_2016": read_sentences("multi30k:test_2016_flickr", min_words=5, max_words=30, limit=limit_captions),
    }
    dev = SHARED / "val_5captions_dev.1.en.gz"
    if dev.is_file():
        out["dev"] = read_sentences(str(dev), limit=limit_captions)
    return out


class Judges:
    """Mean cosines of (input, output) pairs by MiniLM and by mpnet."""

    def __init__(self, minilm_dir: str, use_mpnet: bool):
        self.dirs = {"minilm": minilm_dir}
        if use_mpnet:
            self.dirs["mpnet"] = mpnet_dir()

    def __call__(self, refs: list[str], outs: list[str]) -> dict[str, float]:
        return {name: statistics.mean(semantic_cosine(d, refs, outs)) for name, d in self.dirs.items()}


def degenerate_share(ae: ie.Autoencoder, ids_out: list[list[int]], inputs: list[str]) -> float:
    bad = [
        is_degenerate(len(ids), ae.codec.decode(ids).split(), len(s.split()), ae.config.max_length)
        for ids, s in zip(ids_out, inputs)
    ]
    return sum(bad) / max(len(bad), 1)


def measure(
    ae: ie.Autoencoder, sentences: list[str], judges: Judges, sample_limit: int, loop_guard: int = DEFAULT_MIN_PHRASE
) -> dict:
    ids, _ = ae.tokenize(sentences)
    refs = [ae.codec.decode(r) for r in ids]
    Z = ae.encode_ids(ids)
    timings = {}

    start = time.perf_counter()
    rec = ae.decode_ids(Z, loop_guard=loop_guard)
    timings["reconstruct_s_per_sentence"] = (time.perf_counter() - start) / len(ids)
    M = ae.meaning(Z)
    if torch.equal(M, Z):  # no wording code (a meaning-only checkpoint): the same seeded decoding as above
        mean_ids = rec
        timings["meaning_only_s_per_sentence"] = timings["reconstruct_s_per_sentence"]
    else:
        start = time.perf_counter()
        mean_ids = ae.decode_ids(M, loop_guard=loop_guard)
        timings["meaning_only_s_per_sentence"] = (time.perf_counter() - start) / len(ids)
    mean_text = [ae.codec.decode(h) for h in mean_ids]

    n = min(sample_limit, len(ids))
    draws = ae.decode_ids_many(
        M[:n],
        {
            f"seed{k}": {"strategy": "sample", "temperature": 1.0, "seed": k, "loop_guard": loop_guard}
            for k in range(SEEDS)
        },
    )
    rows = list(zip(*draws.values()))  # per sentence, its samples
    flat_ids = [s for row in rows for s in row]
    flat_text = [ae.codec.decode(s) for s in flat_ids]
    flat_refs = [refs[i] for i, row in enumerate(rows) for _ in row]
    sample_inputs = [sentences[i] for i, row in enumerate(rows) for _ in row]
    return {
        "n": len(ids),
        "reconstruct": {
            "exact_match": exact_match(ids, rec),
            "token_accuracy": token_accuracy(ids, rec),
            "degenerate": degenerate_share(ae, rec, sentences),
        },
        "meaning_only": {
            "bleu": bleu(refs, mean_text),
            "cosine": judges(refs, mean_text),
            "exact_match": exact_match(ids, mean_ids),
            "degenerate": degenerate_share(ae, mean_ids, sentences),
        },
        "samples_t1": {
            "sentences": n,
            "distinct": statistics.mean(len({tuple(s) for s in row}) for row in rows),
            "cosine": judges(flat_refs, flat_text),
            "degenerate": degenerate_share(ae, flat_ids, sample_inputs),
        },
        "seconds": timings,
        "examples": [
            {"input": refs[i], "meaning_only": mean_text[i], "samples": [ae.codec.decode(x) for x in rows[i]]}
            for i in range(min(12, n))
        ],
    }


def table(result: dict) -> str:
    lines = [
        "| set | n | exact | meaning BLEU | cos MiniLM / mpnet | samples distinct | sample cos MiniLM / mpnet "
        "| degenerate (rec / meaning / samples) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, r in result["sets"].items():
        m, s, c = r["meaning_only"], r["samples_t1"], r["reconstruct"]
        mp = lambda d: f"{d['minilm']:.3f} / {d['mpnet']:.3f}" if "mpnet" in d else f"{d['minilm']:.3f}"  # noqa: E731
        lines.append(
            f"| {name} | {r['n']} | {c['exact_match']:.3f} | {m['bleu']:.1f} | {mp(m['cosine'])} | "
            f"{s['distinct']:.2f} | {mp(s['cosine'])} | {c['degenerate']:.3f} / {m['degenerate']:.3f} / "
            f"{s['degenerate']:.3f} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkpoint", default=None, help="checkpoint directory (default: checkpoints/default)")
    parser.add_argument("--heldout", type=int, default=500, help="held-out general-English sentences")
    parser.add_argument("--captions", type=int, default=1000, help="at most N captions per caption set")
    parser.add_argument("--samples", type=int, default=200, help="sentences per set sampled 5 times")
    parser.add_argument("--sets", nargs="*", default=None, help="only these sets (typed heldout test_2016 dev)")
    parser.add_argument("--loop-guard", type=int, default=DEFAULT_MIN_PHRASE, help="DecodeConfig.loop_guard (0: off)")
    parser.add_argument("--no-mpnet", action="store_true", help="MiniLM's cosine only (no second judge)")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    parser.add_argument("--json", default=None, help="write the results here")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    ae = ie.load(args.checkpoint)
    judges = Judges(ae.codec.model_dir, use_mpnet=not args.no_mpnet)
    result: dict = {"checkpoint": str(args.checkpoint or "checkpoints/default"), "sets": {}}
    for name, sentences in sets(args.heldout, args.captions).items():
        if args.sets and name not in args.sets:
            continue
        start = time.perf_counter()
        result["sets"][name] = measure(ae, sentences, judges, args.samples, args.loop_guard)
        print(f"{name} ({time.perf_counter() - start:.0f} s):", json.dumps(result["sets"][name], indent=1)[:2500])
    print(table(result))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
