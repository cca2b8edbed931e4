"""Choose the correction step (``DecodeConfig.corrections``, ``correction_step``; correct.py) on data the
shipped figures are not measured on: the dev captions and the typed sentences, never test_2016 (``--sets
test_2016`` reports the chosen setting there afterwards). Feeds BENCHMARKS.md's "checkpoints/default" and
"checkpoints/captions" (meaning only with both judges, degenerate outputs) and the design table's correction rows.

    python bench/correction.py --json bench/results/correction_sweep.json
    python bench/correction.py --cost 100      # seconds per sentence, off and on, alternated: medians
    python bench/correction.py --grid 0:0 1:0.5 --sets test_2016 --captions 1000   # the chosen one, on test

For each (rounds, step) of the grid, the meaning-only decoding ``decode(meaning(encode(s)))`` under the
checkpoint's default decoding with those two knobs: corpus BLEU against the input, mean cosine by
all-MiniLM-L6-v2 (what rerank and correction optimise) and all-mpnet-base-v2 (a judge neither sees), and
seconds per sentence, with the ratio to no correction measured in the same run.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import torch
from general import Judges, degenerate_share, sets

import invemb_core as ie
from invemb_core.metrics import bleu

GRID = [(0, 0.0), (1, 0.25), (1, 0.5), (1, 0.75), (1, 1.0), (2, 0.5)]


def cost(ae: ie.Autoencoder, sentences: list[str], settings: list[dict], repeats: int = 3) -> list[float]:
    """Median seconds per sentence of the meaning-only default decoding under each of ``settings``
    (``decode`` keywords), alternated, every run with an empty vector cache (what a new input costs)."""
    ids, _ = ae.tokenize(sentences)
    M = ae.meaning(ae.encode_ids(ids))
    times: list[list[float]] = [[] for _ in settings]
    for _ in range(repeats):
        for i, knobs in enumerate(settings):
            ae.vector_cache.clear()
            start = time.perf_counter()
            ae.decode_ids(M, **knobs)
            times[i].append((time.perf_counter() - start) / len(ids))
    return [statistics.median(t) for t in times]


def measure(ae: ie.Autoencoder, sentences: list[str], judges: Judges, rounds: int, step: float) -> dict:
    ids, _ = ae.tokenize(sentences)
    refs = [ae.codec.decode(r) for r in ids]
    M = ae.meaning(ae.encode_ids(ids))
    knobs = {"corrections": rounds, **({"correction_step": step} if rounds else {})}
    start = time.perf_counter()
    hyp = ae.decode_ids(M, **knobs)
    seconds = (time.perf_counter() - start) / len(ids)
    out = [ae.codec.decode(h) for h in hyp]
    return {
        "bleu": bleu(refs, out),
        "cosine": judges(refs, out),
        "degenerate": degenerate_share(ae, hyp, sentences),
        "s_per_sentence": seconds,
        "outputs": out,
    }


def recount_degenerate(ae: ie.Autoencoder, path: str, data: dict[str, list[str]]) -> None:
    """The degenerate share (``repetition.is_degenerate``) of every decoding saved in a ``--json`` file, from
    its output texts (tokenized again; runs saved before this share was recorded)."""
    for row in json.loads(Path(path).read_text())["grid"]:
        for name, result in row.items():
            if isinstance(result, dict) and "outputs" in result:
                hyp, _ = ae.tokenize(result["outputs"])
                share = degenerate_share(ae, hyp, data[name][: len(hyp)])
                print(f"{path}: corrections {row['corrections']} step {row['correction_step']} {name}: {share:.4f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkpoint", default=None, help="checkpoint directory (default: checkpoints/default)")
    parser.add_argument("--captions", type=int, default=300, help="dev captions (the first N)")
    parser.add_argument("--typed", type=int, default=300, help="typed sentences (the first N)")
    parser.add_argument("--json", default=None, help="write the results here")
    parser.add_argument("--cost", type=int, default=0, help="only time N typed sentences with correction off and on")
    parser.add_argument("--step", type=float, default=0.5, help="with --cost: the correction step timed")
    parser.add_argument("--degenerate", nargs="+", default=None, help="only recount degenerate shares in these files")
    parser.add_argument("--grid", nargs="+", default=None, help="rounds:step settings (default: the sweep's grid)")
    parser.add_argument(
        "--sets", nargs="+", default=["dev", "typed"], help="dev, typed, test_2016 (report only: never for choosing)"
    )
    args = parser.parse_args()
    torch.manual_seed(0)
    ae = ie.load(args.checkpoint)
    if args.degenerate:
        for path in args.degenerate:
            recount_degenerate(ae, path, sets(0, 1000))
        return
    if args.cost:
        typed = sets(0, 0)["typed"][: args.cost]
        off, on = cost(ae, typed, [{"corrections": 0}, {"corrections": 1, "correction_step": args.step}])
        print(
            f"{len(typed)} typed sentences, meaning only: off {off:.3f} s/sentence, one correction {on:.3f} ({on / off:.2f}x)"
        )
        return
    judges = Judges(ae.codec.model_dir, use_mpnet=True)
    data = sets(0, args.captions)
    chosen = {name: data[name][: args.typed if name == "typed" else args.captions] for name in args.sets}
    grid = [(int(g.split(":")[0]), float(g.split(":")[1])) for g in args.grid] if args.grid else GRID
    result: dict = {"checkpoint": str(args.checkpoint or "checkpoints/default"), "grid": []}
    for rounds, step in grid:
        row = {"corrections": rounds, "correction_step": step}
        for name, sentences in chosen.items():
            ae.vector_cache.clear()  # each setting pays for its own re-encodings
            row[name] = measure(ae, sentences, judges, rounds, step)
        result["grid"].append(row)
        print(
            f"rounds {rounds} step {step}: "
            + "  ".join(
                f"{n} BLEU {row[n]['bleu']:.1f} MiniLM {row[n]['cosine']['minilm']:.3f} "
                f"mpnet {row[n]['cosine']['mpnet']:.3f} {row[n]['s_per_sentence']:.3f} s"
                for n in chosen
            ),
            flush=True,
        )
    base = result["grid"][0]
    print("\n| corrections | step | " + " | ".join(f"{n} BLEU | {n} MiniLM / mpnet | {n} time" for n in chosen) + " |")
    print("|---|---|" + "---|---|---|" * len(chosen))
    for row in result["grid"]:
        cells = [
            f"{row[n]['bleu']:.1f} | {row[n]['cosine']['minilm']:.3f} / {row[n]['cosine']['mpnet']:.3f} | "
            f"{row[n]['s_per_sentence'] / base[n]['s_per_sentence']:.2f}x"
            for n in chosen
        ]
        print(f"| {row['corrections']} | {row['correction_step']} | " + " | ".join(cells) + " |")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1))
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
