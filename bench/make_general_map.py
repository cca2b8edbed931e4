"""Build the general-English map shipped with the default checkpoint: ``projection-general.*``.

A few thousand held-out sentences of the general-English mix (``data/english/heldout.en.gz``, never trained
on), drawn from every register in proportion to its share of the training mix, each labelled with its
register (the map's "split" column: the Embedding map colours by it on request), encoded and decoded with
the checkpoint's own default decoding (as the caption maps are) and laid out by meaning, as a map of your
own sentences is (``corpus_map.py``).

    python bench/make_general_map.py                      # into checkpoints/default, 3,000 sentences
    python bench/make_general_map.py --checkpoint DIR --sentences 2000

Needs ``invemb data english`` first (for heldout.en.gz). Takes a few minutes on two cores.
"""

from __future__ import annotations

import argparse
import random
import time
from pathlib import Path

import invemb_core as ie
from invemb_core.corpus_map import corpus_projection, encode_corpus
from invemb_core.data import iter_lines, within_words
from invemb_core.english import MAX_WORDS, MIN_WORDS, SOURCES, english_dir, is_heldout
from invemb_core.projection import save_projection

# What each source brings, as the map's legend says it (english.py's SOURCES comments, shorter).
REGISTERS = {
    "sgd_user": "requests to an assistant",
    "sgd_sys": "assistant replies",
    "wordnet_examples": "everyday usage",
    "ding_en": "conversational examples",
    "fortunes": "jokes and quotations",
    "cdda": "game fiction",
    "austen": "19th-century novels",
    "sotu": "political speeches",
    "gcide_quotes": "old literary quotations",
    "debdesc": "software descriptions",
}
# The training mix's sentences per source (data/english/README.md): the sample follows these proportions.
MIX = {
    "sgd_user": 58_964,
    "sgd_sys": 24_900,
    "wordnet_examples": 28_744,
    "ding_en": 16_813,
    "fortunes": 19_156,
    "cdda": 16_948,
    "austen": 16_823,
    "sotu": 26_554,
    "gcide_quotes": 9_563,
    "debdesc": 19_054,
}


def heldout_by_register() -> dict[str, list[str]]:
    """Every held-out sentence of heldout.en.gz under the register of the first source that has it."""
    heldout = set(iter_lines(str(english_dir() / "heldout.en.gz")))
    seen: set[str] = set()
    out: dict[str, list[str]] = {name: [] for name in SOURCES}
    for name in SOURCES:
        for s in iter_lines(str(english_dir() / "sources" / f"{name}.en.gz")):
            if s in heldout and s not in seen and within_words(s, MIN_WORDS, MAX_WORDS) and is_heldout(s):
                seen.add(s)
                out[name].append(s)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", default="checkpoints/default", help="where the map goes")
    parser.add_argument("--sentences", type=int, default=3_000, help="how many held-out sentences to map")
    parser.add_argument("--seed", type=int, default=0, help="the sample and UMAP's random state")
    args = parser.parse_args()

    pools = heldout_by_register()
    rng = random.Random(args.seed)
    sentences, registers = [], []
    for name, count in MIX.items():
        take = min(len(pools[name]), round(args.sentences * count / sum(MIX.values())))
        for s in rng.sample(pools[name], take):
            sentences.append(s)
            registers.append(REGISTERS[name])
        print(f"{REGISTERS[name]:>26}: {take:4d} of {len(pools[name]):,} held out")
    order = list(range(len(sentences)))
    rng.shuffle(order)  # registers interleaved: no register is always drawn on top
    sentences, registers = [sentences[i] for i in order], [registers[i] for i in order]

    ae = ie.load(args.checkpoint)
    start = time.perf_counter()
    encoded = encode_corpus(
        ae, sentences, decoding={}, progress=lambda share, message: print(f"\r{message}", end="", flush=True)
    )
    print(
        f"\nencoded and decoded in {time.perf_counter() - start:.0f} s; exact {sum(encoded.exact) / len(sentences):.3f}"
    )
    projection = corpus_projection(ae, encoded, by="meaning", groups=registers, name="general", seed=args.seed)
    csv = save_projection(projection, args.checkpoint)
    sizes = sum(p.stat().st_size for p in Path(args.checkpoint).glob("projection-general.*"))
    print(f"wrote {csv} and its .safetensors ({sizes / 1e6:.1f} MB) in {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
