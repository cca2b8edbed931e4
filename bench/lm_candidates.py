"""Does the meaning decoder gain from writing several candidates? (issue 38)

    cd bench && python lm_candidates.py --set heldout --limit 120

The meaning decoder writes its greedy text; the faithfulness guard then keeps the small decoder's draft
where that text lands further from the meaning (MiniLM). Here the LM writes ``n`` candidates instead (its
greedy text and n - 1 samples at temperature T, all in one batch: ``lm_generate.py``), the one closest to
the meaning (MiniLM) is kept, and the guard applied as shipped (margin 0.02) and at 0. Prints, per
setting: BLEU lower-cased / cased against the input, cosine by MiniLM and by all-mpnet-base-v2 (a judge
neither the rerank nor the guard sees), the share of rows the LM wrote, and the LM's seconds per sentence
(all rows at once); and the LM's own rows without the guard.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import sacrebleu
from general import Judges, sets

import invemb_core as ie
from invemb_core.config import DecodeConfig
from invemb_core.meaning_lm import guarded, lm_text

SETTINGS = ((1, 0.7), (4, 0.7), (8, 0.7), (8, 1.0))  # (candidates, temperature)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--checkpoint", default="../checkpoints/default")
    p.add_argument("--set", default="heldout", choices=["heldout", "typed", "test_2016"])
    p.add_argument("--limit", type=int, default=120)
    args = p.parse_args()

    ae = ie.load(args.checkpoint)
    decoder = ae.get_meaning_decoder(required=True)
    judges = Judges(ae.codec.model_dir, use_mpnet=True)
    refs = sets(args.limit, args.limit)[args.set][: args.limit]
    M = ae.encode(refs)[:, : ae.meaning_size]
    drafts = ae.decode(ae.from_meaning(M), writer="decoder")
    reencode = lambda t: ae.encode(t)[:, : ae.meaning_size]  # noqa: E731
    bleu = sacrebleu.corpus_bleu(drafts, [refs], lowercase=True).score
    print("draft", json.dumps({"bleu": round(bleu, 2), **{k: round(v, 4) for k, v in judges(refs, drafts).items()}}))
    for n, temperature in SETTINGS:
        config = DecodeConfig(strategy="rerank", num_candidates=n, temperature=temperature) if n > 1 else DecodeConfig()
        t = time.perf_counter()
        texts = lm_text(decoder, M, drafts, config, reencode=reencode)
        seconds = (time.perf_counter() - t) / len(refs)
        for margin in (0.02, 0.0):
            keep = guarded(M, drafts, texts, margin, reencode)
            outs = [d if k else x for d, x, k in zip(drafts, texts, keep)]
            figures = {
                "candidates": n,
                "T": temperature,
                "margin": margin,
                "bleu": sacrebleu.corpus_bleu(outs, [refs], lowercase=True).score,
                "bleu_cased": sacrebleu.corpus_bleu(outs, [refs]).score,
                **judges(refs, outs),
                "lm_rows": 1 - statistics.mean(keep),
                "lm_s_per_sentence": seconds,
            }
            print(json.dumps({k: round(v, 4) for k, v in figures.items()}), flush=True)
        print("  the LM alone:", json.dumps({k: round(v, 4) for k, v in judges(refs, texts).items()}), flush=True)


if __name__ == "__main__":
    main()
