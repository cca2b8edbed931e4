"""What the meaning decoder's draft costs and buys: the small decoder's text that SmolLM2 rewrites (issue 38).

    cd bench && python draft_cost.py --checkpoint ../checkpoints/default --json results/draft_cost.json

The default's meaning-only rows are written in two steps: the small decoder's draft (today the checkpoint's
default decoding: rerank among 24 candidates, verify, one correction step) and the meaning decoder's
rewrite of it, behind the faithfulness guard (``keep_draft_margin``). Most of the time goes to the draft.
For each draft decoding of ``--drafts`` this prints, per set (held-out general English chooses, typed
sentences report; test_2016 checks the captions hold):

- seconds per sentence of the draft, of the LM's rewrite (its greedy text and the guard's re-encoding), and
  of both, with all the set's sentences in one batch and with three at a time (the app's case);
- what the guard writes from that draft: BLEU lower-cased / cased against the input, cosine to the input by
  MiniLM (which the rerank and the guard optimise) and by all-mpnet-base-v2 (a judge neither sees), and the
  share of rows the LM wrote.

The choice rule (decided before the run): the cheapest draft whose guarded rows on held-out general English
keep BLEU within 0.5 and both cosines within 0.003 of today's draft.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import sacrebleu
import torch
from general import Judges, sets

import invemb_core as ie
from invemb_core.meaning_lm import decoder_config, guarded, lm_text

DRAFTS = {
    "default": {"strategy": "default"},  # rerank 24 + verify + one correction (today's draft)
    "rerank24": {"strategy": "default", "corrections": 0},
    "rerank8": {"strategy": "default", "meaning_candidates": 8, "corrections": 0},
    "rerank4": {"strategy": "default", "meaning_candidates": 4, "corrections": 0},
    "greedy": {"strategy": "greedy"},
}


def timed(f):
    t = time.perf_counter()
    out = f()
    return out, time.perf_counter() - t


def write(ae, M: torch.Tensor, draft: dict) -> tuple[list[str], list[bool], float, float]:
    """The guarded rows for meanings ``M`` from drafts decoded with ``draft``: (texts, LM wrote, draft s, LM s)."""
    decoder = ae.get_meaning_decoder(required=True)
    reencode = lambda t: ae.encode(t)[:, : ae.meaning_size]  # noqa: E731
    drafts, t_draft = timed(lambda: ae.decode(ae.from_meaning(M), writer="decoder", **draft))

    def rewrite():
        texts = lm_text(decoder, M, drafts, decoder_config(decoder, {}), reencode=reencode)
        return texts, guarded(M, drafts, texts, decoder.cfg.keep_draft_margin, reencode)

    (texts, keep), t_lm = timed(rewrite)
    rows = [d if k else t for d, t, k in zip(drafts, texts, keep)]
    return rows, [not k for k in keep], t_draft, t_lm


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--checkpoint", default="../checkpoints/default")
    p.add_argument("--drafts", nargs="+", default=list(DRAFTS), choices=list(DRAFTS))
    p.add_argument("--sets", nargs="+", default=["heldout", "typed", "test_2016"])
    p.add_argument("--limit-heldout", type=int, default=200)
    p.add_argument("--limit-captions", type=int, default=200)
    p.add_argument("--threes", type=int, default=5, help="time this many batches of three sentences")
    p.add_argument("--json", default=None)
    args = p.parse_args()

    ae = ie.load(args.checkpoint)
    ae.get_meaning_decoder(required=True)
    judges = Judges(ae.codec.model_dir, use_mpnet=True)
    all_sets = sets(args.limit_heldout, args.limit_captions)
    result: dict = {"checkpoint": args.checkpoint, "sets": {}}
    for name in args.sets:
        refs = all_sets[name]
        M = ae.encode(refs)[:, : ae.meaning_size]
        result["sets"][name] = row = {"sentences": len(refs)}
        for draft in args.drafts:
            outs, by_lm, t_draft, t_lm = write(ae, M, DRAFTS[draft])
            threes = [write(ae, M[i : i + 3], DRAFTS[draft]) for i in range(0, 3 * args.threes, 3)]
            row[draft] = fig = {
                "bleu": sacrebleu.corpus_bleu(outs, [refs], lowercase=True).score,
                "bleu_cased": sacrebleu.corpus_bleu(outs, [refs]).score,
                **judges(refs, outs),
                "lm_rows": statistics.mean(by_lm),
                "s_draft": t_draft / len(refs),
                "s_lm": t_lm / len(refs),
                "s_per_sentence": (t_draft + t_lm) / len(refs),
                "s_three": statistics.median(d + t for _, _, d, t in threes),
                "examples": [[r, o] for r, o in zip(refs[:4], outs[:4])],
            }
            shown = {k: round(v, 4) for k, v in fig.items() if k != "examples"}
            print(name, draft, json.dumps(shown), flush=True)
            if args.json:  # after every row: a stopped run keeps what it measured
                Path(args.json).write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
