"""Paraphrases a class can read: invented words in samples of the meaning, and meaning-only fidelity.
Feeds BENCHMARKS.md, "checkpoints/default" (the paraphrase rows) and the design table's sampling rows.

    python bench/paraphrase.py --checkpoint checkpoints/default --json bench/results/paraphrase_default.json

For each set (``test_2016`` captions, ``dev`` captions, ``typed`` sentences) and each sampling setting
(T = 1, top-p 0.9 at T = 1, T = 0.7), five samples of the meaning (seeds 0-4) under three sampling rules:
``before`` (free: min-p 0, whole words off, as before issue 22), ``whole words`` (lexicon.py alone) and
``default`` (``DecodeConfig``'s: min-p 0.3 and whole words):

- **invented-word share**: of all sample words (runs of letters), those that are not English words:
  not in Debian's wamerican list (``/usr/share/dict/american-english``: ``apt-get install wamerican``),
  nor in Multi30k train, nor among the input's own words (the issue's definition). ``+mix`` also
  counts the general-English training mix as known (``data/english/train.en.gz``);
- distinct samples of 5, MiniLM cosine of the samples to the input (and all-mpnet-base-v2's unless
  ``--no-mpnet``), seconds per sentence for the five.

Then the meaning-only default decoding (``ae.decode(ae.meaning(Z))``, rerank: its samples follow the same
rules) under ``before`` and ``default``: corpus BLEU, cosines, seconds per sentence. Nothing here trains.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import time
import unicodedata
from pathlib import Path

import torch
from general import Judges, sets

import invemb_core as ie
from invemb_core.data import read_sentences
from invemb_core.english import english_dir
from invemb_core.metrics import bleu

WORD_LIST = Path("/usr/share/dict/american-english")
SEEDS = 5
SETTINGS = {"T=1": {"temperature": 1.0}, "top-p 0.9": {"temperature": 1.0, "top_p": 0.9}, "T=0.7": {"temperature": 0.7}}
# The sampling rules compared: as before issue 22, whole words alone, and the defaults (min-p 0.3 + whole words).
RULES = {
    "before": {"min_p": 0.0, "whole_words": False},
    "whole words": {"min_p": 0.0, "whole_words": True},
    "default": {},
}


def words(text: str) -> list[str]:
    """Runs of letters, lower case, accents removed (as the uncased tokenizer writes them)."""
    plain = unicodedata.normalize("NFKD", text.lower()).encode("ascii", "ignore").decode()
    return re.findall(r"[a-z]+", plain)


def known_words(lines) -> set[str]:
    return {w for line in lines for w in words(line)}


def invented(samples: list[str], inputs: list[str], known: set[str]) -> tuple[float, float, list[str]]:
    """Share of sample words that are invented, share of samples with one, and the invented words."""
    total, bad, with_bad, seen = 0, 0, 0, []
    for sample, source in zip(samples, inputs):
        own = set(words(source))
        new = [w for w in words(sample) if w not in known and w not in own]
        total += len(words(sample))
        bad += len(new)
        with_bad += bool(new)
        seen += new
    return bad / max(total, 1), with_bad / max(len(samples), 1), seen


def sample_figures(ae, M, refs, known: dict[str, set[str]], judges: Judges, setting: dict) -> dict:
    start = time.perf_counter()
    draws = ae.decode_many(M, {f"s{k}": {"strategy": "sample", "seed": k, **setting} for k in range(SEEDS)})
    seconds = (time.perf_counter() - start) / len(refs)
    rows = list(zip(*draws.values()))
    flat = [s for row in rows for s in row]
    flat_refs = [r for r, row in zip(refs, rows) for _ in row]
    out = {"distinct": statistics.mean(len(set(row)) for row in rows), "cosine": judges(flat_refs, flat)}
    for name, vocab in known.items():
        share, per_sample, found = invented(flat, flat_refs, vocab)
        out[f"invented_{name}"] = share
        out[f"samples_with_invented_{name}"] = per_sample
        out[f"examples_{name}"] = sorted(set(found))[:30]
    out["s_per_sentence"] = seconds
    out["rows"] = [{"input": refs[i], "samples": list(rows[i])} for i in range(min(10, len(rows)))]
    return out


def meaning_figures(ae, M, refs, judges: Judges, rules: dict) -> dict:
    start = time.perf_counter()
    out = ae.decode(M, **rules)
    seconds = (time.perf_counter() - start) / len(refs)
    return {"bleu": bleu(refs, out), "cosine": judges(refs, out), "s_per_sentence": seconds}


def rule_cost(ae, sentences: list[str], repeats: int = 2) -> dict[str, float]:
    """Seconds per sentence of the meaning-only default decoding, rules off (``before``) and on
    (``default``), alternated ``repeats`` times in one run; medians."""
    M = ae.meaning(ae.encode(sentences))
    ae.lexicon  # noqa: B018 - read once, outside the timing
    times: dict[str, list[float]] = {"before": [], "default": []}
    for _ in range(repeats):
        for rule in times:
            start = time.perf_counter()
            ae.decode(M, **RULES[rule])
            times[rule].append((time.perf_counter() - start) / len(sentences))
    return {rule: statistics.median(t) for rule, t in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkpoint", default=None, help="checkpoint directory (default: checkpoints/default)")
    parser.add_argument("--samples", type=int, default=200, help="sentences per set sampled 5 times")
    parser.add_argument("--captions", type=int, default=1000, help="sentences per caption set, meaning-only BLEU")
    parser.add_argument("--sets", nargs="*", default=["test_2016", "dev", "typed"])
    parser.add_argument("--skip-meaning", action="store_true", help="samples only (no meaning-only BLEU)")
    parser.add_argument("--no-mpnet", action="store_true", help="MiniLM's cosine only")
    parser.add_argument("--json", default=None, help="write the results here")
    parser.add_argument("--cost", type=int, default=0, help="only time the rules on N dev captions (meaning only)")
    parser.add_argument(
        "--min-p", type=float, nargs="*", default=None, help="compare these min-p values (whole words on) as the rules"
    )
    args = parser.parse_args()
    rules_compared = {f"min-p {p:g}": {"min_p": p} for p in args.min_p} if args.min_p else RULES
    if args.cost:
        ae = ie.load(args.checkpoint)
        cost = rule_cost(ae, sets(500, args.cost)["dev"])
        print(f"meaning-only default decoding, s/sentence: {cost} (x{cost['default'] / cost['before']:.2f})")
        return
    if not WORD_LIST.is_file():
        raise SystemExit(f"{WORD_LIST} is missing: apt-get install wamerican")
    torch.manual_seed(0)
    ae = ie.load(args.checkpoint)
    if ae.lexicon is None:
        print("note: this checkpoint has no lexicon.txt.gz (invemb lexicon): whole words on = off")
    judges = Judges(ae.codec.model_dir, use_mpnet=not args.no_mpnet)
    base = known_words(WORD_LIST.read_text().splitlines()) | known_words(read_sentences("multi30k:train"))
    mix = english_dir() / "train.en.gz"
    known = {"strict": base}
    if mix.is_file():
        known["mix"] = base | known_words(read_sentences(str(mix)))
    result: dict = {"checkpoint": str(args.checkpoint or "checkpoints/default"), "sets": {}}
    for name, sentences in sets(500, args.captions).items():
        if name not in args.sets:
            continue
        refs = [ae.normalize(s) for s in sentences]
        M = ae.meaning(ae.encode(refs))
        entry: dict = {"n": len(refs), "samples": {}, "meaning_only": {}}
        for label, setting in SETTINGS.items():
            for rule, rules in rules_compared.items():
                n = min(args.samples, len(refs))
                fig = sample_figures(ae, M[:n], refs[:n], known, judges, {**setting, **rules})
                entry["samples"][f"{label}, {rule}"] = fig
                print(name, label, rule, {k: v for k, v in fig.items() if k != "rows" and not k.startswith("ex")})
        if not args.skip_meaning:
            for rule in ("before", "default"):
                entry["meaning_only"][rule] = meaning_figures(ae, M, refs, judges, RULES[rule])
                print(name, "meaning only", rule, entry["meaning_only"][rule])
        result["sets"][name] = entry
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
