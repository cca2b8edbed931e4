"""Are the outputs unchanged? Every decoding of a set, written to a file, and two such files compared.
Feeds the "outputs identical" claims of BENCHMARKS.md, "Decode speed against MiniLM's encoding" and the design
table's speed rows.

    python bench/outputs.py --out bench/results/outputs_a.json                      # this code, this checkpoint
    python bench/outputs.py --out bench/results/outputs_b.json --no-vector-cache    # e.g. one mechanism off
    python bench/outputs.py --compare bench/results/outputs_a.json bench/results/outputs_b.json

Decodings of the first ``--limit`` test_2016 captions: greedy, the checkpoint's default decoding (what
``ae.reconstruct`` gives), the meaning alone under both, and a seeded T = 1 sample of the meaning; and the
5-point slerp paths (default decoding) between ``--pairs`` seeded pairs of dev captions, when
../shared/data/multi30k is there. Run it
before and after a change that claims to change nothing (a refactor, a cache, a faster kernel), or on one
commit with and without a mechanism; ``--compare`` prints the share of identical outputs per decoding.
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

import invemb_core as ie
from invemb_core.data import read_sentences

DEV = Path(__file__).resolve().parents[2] / "shared" / "data" / "multi30k" / "val_5captions_dev.1.en.gz"
DECODINGS = {
    "greedy": {"strategy": "greedy"},
    "default": {},
    "sample T=1": {"strategy": "sample", "temperature": 1.0, "seed": 0},
}


def decode_all(ae: ie.Autoencoder, sentences: list[str]) -> dict[str, list[str]]:
    Z = ae.encode(sentences)
    out = {}
    for name, kwargs in DECODINGS.items():
        out[name] = ae.decode(Z, **kwargs)
        if ae.meaning_size:
            out[f"meaning only, {name}"] = ae.decode(ae.meaning(Z), **kwargs)
    return out


def dev_paths(ae: ie.Autoencoder, pairs: int) -> dict[str, list[str]]:
    if not DEV.exists() or not pairs:
        return {}
    rng, captions = random.Random(0), read_sentences(str(DEV))
    paths = [ie.interpolate(ae, *rng.sample(captions, 2), steps=5) for _ in range(pairs)]
    return {"dev pair paths": [" | ".join(text for _, text in path) for path in paths]}


def compare(a: dict, b: dict) -> None:
    print(f"| decoding | identical ({a['checkpoint']} vs {b['checkpoint']}) |\n|---|---|")
    for name in dict.fromkeys([*a["outputs"], *b["outputs"]]):
        left, right = a["outputs"].get(name), b["outputs"].get(name)
        if left is None or right is None or len(right) != len(left):
            print(f"| {name} | not in both |")
            continue
        same = sum(x == y for x, y in zip(left, right))
        print(f"| {name} | {same} / {len(left)} |")
        for x, y in [(x, y) for x, y in zip(left, right) if x != y][:3]:
            print(f"|  | `{x}` vs `{y}` |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkpoint", default=None, help="checkpoint directory (default: checkpoints/default)")
    parser.add_argument("--limit", type=int, default=300, help="test_2016 captions decoded")
    parser.add_argument("--pairs", type=int, default=100, help="dev-caption pairs interpolated")
    parser.add_argument("--no-vector-cache", action="store_true", help="encode every time (vector_cache.py off)")
    parser.add_argument("--out", default=None, help="write the outputs here")
    parser.add_argument("--compare", nargs=2, metavar=("A", "B"), help="compare two files written by --out")
    args = parser.parse_args()
    if args.compare:
        compare(*(json.loads(Path(p).read_text()) for p in args.compare))
        return
    ae = ie.load(args.checkpoint)
    if args.no_vector_cache:
        from invemb_core.vector_cache import VectorCache  # imported here: a tree from before it still runs this

        ae.vector_cache = VectorCache(ae.model, size=0)
    sentences = read_sentences("multi30k:test_2016_flickr", limit=args.limit)
    label = f"{args.checkpoint or 'checkpoints/default'}{' (no vector cache)' if args.no_vector_cache else ''}"
    result = {"checkpoint": label, "outputs": {**decode_all(ae, sentences), **dev_paths(ae, args.pairs)}}
    if args.out:
        Path(args.out).write_text(json.dumps(result, indent=1))
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
