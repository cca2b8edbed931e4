"""What the key/value cache buys the autoregressive Transformer decoder: greedy and beam decoding of
Multi30k test captions with the cache (as shipped) and with every step recomputing the whole prefix
(as before the cache), in one run, with a check that both give the same sentences. Feeds BENCHMARKS.md,
"checkpoints/autoregressive".

    python bench/kv_cache.py --sentences 500 --repeats 3
"""

from __future__ import annotations

import argparse
from contextlib import contextmanager

from timing import median_time

import invemb_core as ie
from invemb_core.data import read_sentences


@contextmanager
def without_cache(ae: ie.Autoencoder):
    """Each step recomputes the decoder over the whole prefix and keeps no state."""
    decoder = ae.model.decoder
    decoder.step = lambda z, prev, state: (decoder.forward(z, prev.shape[1], prev)[:, -1], None)
    try:
        yield
    finally:
        del decoder.step  # back to the class's cached step


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", default="checkpoints/autoregressive")
    parser.add_argument("--sentences", type=int, default=500, help="first N test_2016_flickr captions")
    parser.add_argument("--repeats", type=int, default=3, help="runs per measurement (median reported)")
    args = parser.parse_args()
    ae = ie.load(args.checkpoint)
    Z = ae.encode(read_sentences("multi30k:test_2016_flickr", limit=args.sentences))
    print(f"| decoding ({len(Z)} sentences) | with cache (s) | without (s) | speed-up | same output |")
    print("|---|---|---|---|---|")
    for name, kwargs in {"greedy": {}, "beam 5": {"strategy": "beam", "beam_size": 5}}.items():
        cached, out = median_time(lambda kwargs=kwargs: ae.decode_ids(Z, **kwargs), args.repeats, warmup=False)
        with without_cache(ae):
            plain, ref = median_time(lambda kwargs=kwargs: ae.decode_ids(Z, **kwargs), args.repeats, warmup=False)
        print(f"| {name} | {cached:.2f} | {plain:.2f} | {plain / cached:.1f}x | {out == ref} |")


if __name__ == "__main__":
    main()
