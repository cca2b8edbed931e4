"""Round-trip speed against all-MiniLM-L6-v2's encoding, side by side in one run, with the machine's peak.

    python bench/decode_speed.py --sentences 1000 --repeats 3

For each checkpoint: greedy round trips (encode + decode) of N unseen test_2016 captions, batched, and of
one sentence at a time; MiniLM's ``encode`` of the same captions in the same run; the ratio (InvEmb
round trip throughput / MiniLM encode throughput); the engine time of the Reconstruct page's default
decodings for 5 captions. Each twice: with the float32 output layer (the reference) and with the
shipped bfloat16 one (fast_logits.py), with how many greedy outputs are identical to the reference's.
The output layer (d_model x 30,522 per generated piece) is counted as the round trip's floating-point
work and reported as GFLOP/s against the peak of a large float32 torch matmul measured here (the
bfloat16 peak is printed too), so the headroom is visible. Medians of --repeats.
"""

from __future__ import annotations

import argparse
import sys
from functools import partial
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from timing import median_time  # noqa: E402

import invemb_core as ie  # noqa: E402
from invemb_core.data import read_sentences  # noqa: E402
from invemb_core.metrics import sentence_transformer  # noqa: E402
from invemb_core.report import compare_decodings, default_decodings  # noqa: E402


def matmul_peak(n: int = 2048, repeats: int = 5, dtype: torch.dtype = torch.float32) -> float:
    a, b = torch.randn(n, n, dtype=dtype), torch.randn(n, n, dtype=dtype)
    seconds, _ = median_time(lambda: a @ b, repeats)
    return 2 * n**3 / seconds / 1e9


def round_trip(ae: ie.Autoencoder, sentences: list[str]) -> list[list[int]]:
    ids, _ = ae.tokenize(sentences)
    return ae.decode_ids(ae.encode_ids(ids), strategy="greedy")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sentences", type=int, default=1000, help="test_2016 captions in the batch run")
    parser.add_argument("--repeats", type=int, default=3, help="runs per measurement (median reported)")
    parser.add_argument("--checkpoints", nargs="+", default=["checkpoints/default", "checkpoints/plain"])
    args = parser.parse_args()

    sentences = read_sentences("multi30k:test_2016_flickr", min_words=5, max_words=30)[: args.sentences]
    one = sentences[0]
    peak = matmul_peak()
    minilm = sentence_transformer(ie.load(args.checkpoints[0]).codec.model_dir)
    encode = partial(minilm.encode, batch_size=128, convert_to_tensor=True, normalize_embeddings=True)
    minilm_batch, _ = median_time(lambda: encode(sentences), args.repeats)
    minilm_one, _ = median_time(lambda: encode([one]), args.repeats * 10)
    peak_bf16 = matmul_peak(dtype=torch.bfloat16)
    print(
        f"threads {torch.get_num_threads()}, matmul peak: float32 {peak:.0f} GFLOP/s, bfloat16 {peak_bf16:.0f} GFLOP/s"
    )
    print(f"MiniLM encode: {len(sentences) / minilm_batch:.0f} sentences/s batched, {minilm_one * 1000:.1f} ms one")
    print()
    print(
        "| checkpoint | output layer | round trip sent/s | ratio to MiniLM encode | one sentence (ms) | ratio | "
        "Reconstruct page, 5 sentences (ms) | output-layer GFLOP/s | % of float32 peak | greedy outputs as float32's |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    five = sentences[:5]
    for path in args.checkpoints:
        ae = ie.load(path)
        decodings = default_decodings(ae)
        reference = None
        for fast in (False, True):
            ae.model.fast_logits = fast
            batch, hyp = median_time(partial(round_trip, ae, sentences), args.repeats)
            single, _ = median_time(partial(round_trip, ae, [one]), args.repeats * 10)
            page, _ = median_time(partial(compare_decodings, ae, five, decodings), args.repeats)
            reference = hyp if reference is None else reference
            same = sum(a == b for a, b in zip(hyp, reference))
            pieces = sum(len(h) + 1 for h in hyp)  # every generated piece and the end token
            width = ae.model.head.out_features
            gflops = 2 * pieces * width * ae.codec.vocab.size / batch / 1e9
            layer = "bf16, float32 near the top" if fast else "float32 (reference)"
            print(
                f"| {Path(path).name} | {layer} | {len(sentences) / batch:.0f} | {minilm_batch / batch:.2f} | "
                f"{single * 1000:.1f} | {minilm_one / single:.2f} | {page * 1000:.0f} | {gflops:.1f} | "
                f"{100 * gflops / peak:.0f}% | {same}/{len(hyp)} |"
            )


if __name__ == "__main__":
    main()
