"""A quick look at a run while it trains: greedy exact match and greedy meaning-only BLEU on the first 150
typed sentences and the first 150 held-out general-English ones, for each checkpoint named. Fed BENCHMARKS.md's
design table (the MiniLM-layers decoder rows; the learning curve is in docs/HISTORY.md, "A decoder from
MiniLM's own layers"); it is kept to probe any run while it trains.

    python bench/meaning_probe.py checkpoints/default runs/meaning      # about 20 s per checkpoint

Greedy on purpose: it needs no re-encoding, so a checkpoint saved mid-run (every --checkpoint-every steps)
can be probed in seconds on one thread while the training keeps the other. ``bench/general.py`` gives the
full figures with the checkpoint's own decoding.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

import torch

import invemb_core as ie
from invemb_core.data import read_sentences
from invemb_core.english import english_dir
from invemb_core.metrics import bleu, exact_match

SENTENCES = 150


def probe(ae: ie.Autoencoder, sentences: list[str]) -> tuple[float, float]:
    """(greedy exact match of the whole vector, greedy corpus BLEU from the meaning alone)."""
    ids, _ = ae.tokenize(sentences)
    refs = [ae.codec.decode(i) for i in ids]
    Z = ae.encode_ids(ids)
    whole = ae.decode_ids(Z, strategy="greedy")
    meaning = ae.decode(ae.meaning(Z, keep=0.0), strategy="greedy")
    return exact_match(ids, whole), bleu(refs, meaning)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("checkpoints", nargs="+", help="checkpoint or run directories")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1: leave a core to a training run)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    root = english_dir()
    sets = {
        "typed": read_sentences(str(root / "typed_dev.txt"), limit=SENTENCES),
        "heldout": read_sentences(str(root / "heldout.en.gz"), min_words=5, max_words=30, limit=SENTENCES),
    }
    for path in args.checkpoints:
        with tempfile.TemporaryDirectory() as tmp:  # a copy: a running training may replace the files mid-read
            for name in ("config.json", "model.safetensors"):
                shutil.copy(Path(path) / name, tmp)
            ae = ie.load(tmp)
            for name, sentences in sets.items():
                exact, meaning_bleu = probe(ae, sentences)
                print(
                    f"{path} {name}: greedy exact {exact:.3f}, meaning-only greedy BLEU {meaning_bleu:.1f}", flush=True
                )


if __name__ == "__main__":
    main()
