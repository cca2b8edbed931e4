"""Build the typed-sentence dev set, ``data/english/typed_dev.txt``: sentences a user would type.
It measures nothing; BENCHMARKS.md's "typed" figures are measured on the set it writes.

Two parts, one sentence per line:
- ``data/english/typed_handwritten.txt``: 120 sentences written for this set (news, questions, requests,
  instructions, science, idioms, everyday talk), none of them in any training file;
- 30 lines drawn at random (seed 0) from the held-out part of each everyday register of the general-English
  sources (``invemb data english`` writes ``data/english/heldout.en.gz``; those lines are never trained on).

    invemb data english && python bench/make_typed_dev.py
"""

from __future__ import annotations

import random

from invemb_core.data import iter_lines, within_words
from invemb_core.english import english_dir, is_heldout

REGISTERS = ("sgd_user", "ding_en", "wordnet_examples", "fortunes", "cdda", "sotu")
PER_REGISTER = 30


def main() -> None:
    root = english_dir()
    written = list(iter_lines(str(root / "typed_handwritten.txt")))
    trained = {s.lower() for s in iter_lines(str(root / "train.en.gz"))}
    overlap = [s for s in written if s.lower() in trained]
    assert not overlap, f"hand-written sentences found in the training mix: {overlap}"
    rng = random.Random(0)
    drawn = []
    for name in REGISTERS:
        lines = iter_lines(str(root / "sources" / f"{name}.en.gz"))
        held = [s for s in lines if is_heldout(s) and within_words(s, 5, 30) and s.lower() not in trained]
        drawn += rng.sample(sorted(set(held)), PER_REGISTER)
    out = root / "typed_dev.txt"
    out.write_text("\n".join(written + drawn) + "\n", encoding="utf-8")
    print(f"wrote {out}: {len(written)} hand-written + {len(drawn)} held-out lines")


if __name__ == "__main__":
    main()
