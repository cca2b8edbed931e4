"""Decoding and round-trip speed against all-MiniLM-L6-v2's encoding, side by side in one run (issue 23,
items 1 and 2), with what the machine's matrix products can do. Feeds BENCHMARKS.md, "Decode speed against
MiniLM's encoding" and "Decoding at the FLOP limit".

    python bench/decode_speed.py --sentences 1000 --repeats 3

On N unseen test_2016 captions (5-30 words), for each checkpoint, medians of --repeats:

- **MiniLM**: ``SentenceTransformer.encode`` of the captions (batch 128), and of one caption.
- **decode alone**: ``ae.decode_ids(Z)`` of their vectors (encoded beforehand), greedy and under the
  checkpoint's default decoding (rerank + verify + correct). The default's re-encoding of its outputs is
  timed in full: the vector cache is emptied before each call, so no output is found already encoded.
- **round trip**: ``ae.decode_ids(ae.encode_ids(ids))`` with the default decoding, batched and one caption
  at a time, the cache emptied before each call (a sentence that comes back finds its vector from the
  encode step, as it does in the app).

Each as sentences/s and as a ratio to MiniLM's encoding of the same captions. The floating-point work of
the greedy decode (output layer and decoder layers, per generated piece and end token) and of MiniLM
(its layers, per token) is reported as GFLOP/s against the peak of a large matmul measured here
(bfloat16 for the decoder's output layer, which runs in bfloat16; float32 for MiniLM). Last, how many
greedy outputs equal the float32 reference's (the output layer in float32, untimed).
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


def matmul_peak(n: int = 2048, repeats: int = 5, dtype: torch.dtype = torch.float32) -> float:
    a, b = torch.randn(n, n, dtype=dtype), torch.randn(n, n, dtype=dtype)
    seconds, _ = median_time(lambda: a @ b, repeats)
    return 2 * n**3 / seconds / 1e9


def decoder_flops(ae: ie.Autoencoder, hyp: list[list[int]]) -> tuple[float, float]:
    """(output layer, the rest) floating-point operations of a greedy decode that wrote ``hyp``: per
    generated piece (and end token) the (E x V) output layer, each layer's four attention and two
    feed-forward products, the head and the previous piece's projection; per sentence, the readout of z."""
    cfg, E, V = ae.config, ae.model.token_embeddings.shape[1], ae.codec.vocab.size
    H = cfg.hidden_size
    pieces = sum(len(h) + 1 for h in hyp)
    per_piece = cfg.decoder_layers * (4 * H * H + 2 * H * 4 * H) + 2 * H * E
    positions = cfg.max_length + 1
    per_sentence = cfg.vector_size * positions * cfg.slot_size + positions * cfg.slot_size * H + cfg.vector_size * H
    return 2 * pieces * E * V, 2 * (pieces * per_piece + len(hyp) * per_sentence)


def minilm_flops(minilm, sentences: list[str]) -> float:
    """Floating-point operations of MiniLM's layers (attention products included) on these sentences."""
    cfg = minilm[0].auto_model.config
    H, layers = cfg.hidden_size, cfg.num_hidden_layers
    total = 0
    for n in (len(ids) for ids in minilm.tokenizer(sentences)["input_ids"]):
        total += layers * (n * (4 * H * H + 2 * H * cfg.intermediate_size) + 2 * n * n * H)
    return 2 * total


def decode_cold(ae: ie.Autoencoder, Z: torch.Tensor) -> list[list[int]]:
    """The default decoding of ``Z`` with the vector cache emptied first (no output found encoded)."""
    ae.vector_cache.clear()
    return ae.decode_ids(Z)


def round_trips(ae: ie.Autoencoder, ids: list[list[int]], *, one_at_a_time: bool = False) -> None:
    """Encode and decode (the default decoding) ``ids``, the vector cache emptied before each call."""
    for batch in [[row] for row in ids] if one_at_a_time else [ids]:
        ae.vector_cache.clear()
        ae.decode_ids(ae.encode_ids(batch))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sentences", type=int, default=1000, help="test_2016 captions in the batch runs")
    parser.add_argument("--singles", type=int, default=20, help="captions timed one at a time")
    parser.add_argument("--repeats", type=int, default=3, help="runs per measurement (median reported)")
    parser.add_argument("--checkpoints", nargs="+", default=["checkpoints/default"])
    args = parser.parse_args()

    sentences = read_sentences("multi30k:test_2016_flickr", min_words=5, max_words=30)[: args.sentences]
    singles = sentences[: args.singles]
    peak, peak_bf16 = matmul_peak(), matmul_peak(dtype=torch.bfloat16)
    minilm = sentence_transformer(ie.load(args.checkpoints[0]).codec.model_dir)
    encode = partial(minilm.encode, batch_size=128, convert_to_tensor=True, normalize_embeddings=True)
    minilm_batch, _ = median_time(lambda: encode(sentences), args.repeats)
    minilm_one, _ = median_time(lambda: [encode([s]) for s in singles], args.repeats)
    minilm_one /= len(singles)
    minilm_rate = len(sentences) / minilm_batch
    minilm_gflops = minilm_flops(minilm, sentences) / minilm_batch / 1e9
    print(f"threads {torch.get_num_threads()}; matmul peak: float32 {peak:.0f} GFLOP/s, bfloat16 {peak_bf16:.0f}")
    print(
        f"MiniLM encode: {minilm_rate:.0f} sentences/s batched ({minilm_gflops:.0f} GFLOP/s, "
        f"{100 * minilm_gflops / peak:.0f}% of the float32 peak); one sentence {minilm_one * 1000:.1f} ms"
    )
    print()
    print("| checkpoint | measurement | sentences/s | x MiniLM encode | target |")
    print("|---|---|---|---|---|")
    for path in args.checkpoints:
        ae = ie.load(path)
        name = Path(path).name
        ids, _ = ae.tokenize(sentences)
        Z = ae.encode_ids(ids)
        greedy, hyp = median_time(partial(ae.decode_ids, Z, strategy="greedy"), args.repeats)
        default, _ = median_time(partial(decode_cold, ae, Z), args.repeats)
        trip, _ = median_time(partial(round_trips, ae, ids), args.repeats)
        one, _ = median_time(partial(round_trips, ae, ae.tokenize(singles)[0], one_at_a_time=True), args.repeats)
        one /= len(singles)
        rows = [
            ("decode alone, greedy", len(sentences) / greedy, ">= 2"),
            ("decode alone, default decoding", len(sentences) / default, ">= 0.6"),
            ("round trip, default decoding, batched", len(sentences) / trip, ">= 0.45"),
        ]
        for label, rate, target in rows:
            print(f"| {name} | {label} | {rate:.0f} | {rate / minilm_rate:.2f} | {target} |")
        print(
            f"| {name} | round trip, default decoding, one sentence | {1 / one:.0f} ({one * 1000:.1f} ms) | "
            f"{minilm_one / one:.2f} | >= 0.4 |"
        )
        out_layer, rest = decoder_flops(ae, hyp)
        print(
            f"\n{name}, greedy decode alone: {(out_layer + rest) / greedy / 1e9:.0f} GFLOP/s "
            f"(output layer {out_layer / 1e9:.0f} GFLOP, the rest {rest / 1e9:.0f} GFLOP; "
            f"{100 * (out_layer + rest) / greedy / 1e9 / peak_bf16:.0f}% of the bfloat16 peak)"
        )
        ae.model.fast_logits = False
        reference = ae.decode_ids(Z, strategy="greedy")
        ae.model.fast_logits = True
        same = sum(a == b for a, b in zip(hyp, reference))
        print(f"{name}: greedy outputs equal to the float32 output layer's: {same}/{len(hyp)}\n")


if __name__ == "__main__":
    main()
