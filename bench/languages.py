"""Issue 40's figures: what German and French checkpoints do with the shared meaning space, on test_2016.

    cd bench && python languages.py --default-limit 300      # the shipped default, de and fr; ~15 min

Every translation goes through one 384-number vector (MiniLM's space of English); nothing else passes:
- en -> X:  X.decode(X.from_meaning(ae.encode(en)[:, :384]))
- X -> en:  ae.decode(ae.from_meaning(X.meaning(X.encode(x))))   (greedy, beam; the default's own decoding,
            0.6 s a sentence, on the first --default-limit)
- X -> Y:   Y.decode(Y.from_meaning(X.encode(x)))                 (English never seen)
- X -> X:   X.decode(X.encode(x))                                 (the round trip through the meaning alone)
BLEU is sacrebleu's corpus BLEU against the reference translation, cased and lower-cased.
- R@1 X -> en: X's vector of each caption, nearest among the 1,000 English captions' MiniLM vectors;
  beside it MiniLM itself reading the X text (the floor) and the reverse direction;
- three-language agreement: of the 3,000 vectors (each caption in en, de, fr), how often a vector's nearest
  neighbour is a version of the same caption (the line under the app's three-language map).
Seconds per sentence for each direction (the whole set in batches). Results: bench/results/languages.json.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

import invemb_core as ie
from invemb_core import metrics
from invemb_core.language import Language, multi30k_file
from invemb_core.student import Student
from invemb_core.train_language import read_lines, retrieval_at_1


def bleu(hyps: list[str], refs: list[str]) -> dict:
    """Corpus BLEU, cased (``metrics.bleu``) and lower-cased."""
    lower = metrics.bleu([r.lower() for r in refs], [h.lower() for h in hyps])
    return {"bleu": round(metrics.bleu(refs, hyps), 1), "bleu_lower": round(lower, 1)}


def timed(fn, *args, **kwargs):
    """fn(*args, **kwargs) and the seconds it took."""
    start = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", default="../checkpoints/default", help="the English autoencoder")
    parser.add_argument("--languages", nargs="+", default=["../checkpoints/de", "../checkpoints/fr"])
    parser.add_argument("--split", default="test_2016_flickr")
    parser.add_argument("--limit", type=int, default=0, help="first N captions only (0: all)")
    parser.add_argument("--strategies", nargs="+", default=["greedy", "default"], help="the X decoder's, en -> X")
    parser.add_argument("--en-decodings", nargs="+", default=["greedy", "default"], help="the default's, X -> en")
    parser.add_argument(
        "--default-limit", type=int, default=0, help="X -> en under the default's own (slow) decoding: first N only"
    )
    parser.add_argument("--out", default="results/languages.json")
    args = parser.parse_args()

    ae = ie.load(args.checkpoint)
    langs: list[Language] = [ie.load(p) for p in args.languages]
    n = args.limit or None
    text = {"en": read_lines(multi30k_file(args.split, "en"))[:n]}
    for lang in langs:
        text[lang.language] = read_lines(multi30k_file(args.split, lang.language))[:n]
    M_en = ae.encode(text["en"])[:, : ae.meaning_size]
    vectors = {"en": M_en}
    results: dict = {"split": args.split, "sentences": len(text["en"]), "checkpoints": {}, "figures": {}}
    fig = results["figures"]
    for lang in langs:
        x = lang.language
        results["checkpoints"][x] = {"path": lang.info.get("path"), "minutes": lang.info.get("minutes")}
        vectors[x], t = timed(lang.encode, text[x], warn=False)
        fig[f"encode {x} s/sentence"] = round(t / len(text[x]), 4)
        for strategy in args.strategies:
            out, t = timed(lang.decode, lang.from_meaning(M_en), strategy=strategy)
            fig[f"en -> {x} ({strategy})"] = {
                **bleu(out, text[x]),
                "s/sentence": round(t / len(out), 4),
                "examples": list(zip(text["en"][:3], out[:3])),
            }
        out = lang.decode(lang.meaning(vectors[x]))
        fig[f"{x} -> {x} (round trip, default)"] = {
            **bleu(out, text[x]),
            "exact": round(sum(a == b for a, b in zip(out, text[x])) / len(out), 3),
        }
        for strategy in args.en_decodings:
            kwargs = {} if strategy == "default" else {"strategy": strategy}
            rows = args.default_limit if strategy == "default" and args.default_limit else len(text["en"])
            out, t = timed(ae.decode, ae.from_meaning(vectors[x][:rows]), **kwargs)
            label = f"{x} -> en ({strategy}" + (f", first {rows})" if rows < len(text["en"]) else ")")
            fig[label] = {
                **bleu(out, text["en"][:rows]),
                "s/sentence": round(t / len(out), 4),
                "examples": list(zip(text[x][:3], out[:3])),
            }
        floor = Student(lang.config.teacher).encode(text[x])  # MiniLM itself reading the German/French text
        fig[f"R@1 {x} -> en"] = round(retrieval_at_1(vectors[x], M_en), 3)
        fig[f"R@1 en -> {x}"] = round(retrieval_at_1(M_en, vectors[x]), 3)
        fig[f"R@1 {x} -> en, MiniLM on the {x} text"] = round(retrieval_at_1(floor, M_en), 3)
        fig[f"cosine {x} vector to the English meaning"] = round(float((vectors[x] * M_en).sum(-1).mean()), 3)
    for a in langs:
        for b in langs:
            if a is not b:
                out = b.decode(b.from_meaning(vectors[a.language]))
                fig[f"{a.language} -> {b.language} (default)"] = {
                    **bleu(out, text[b.language]),
                    "examples": list(zip(text[a.language][:3], out[:3])),
                }
    if len(vectors) == 3:
        from invemb_core.multilingual_map import agreement

        fig["three-language nearest-neighbour agreement"] = round(agreement(vectors), 3)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    for key, value in fig.items():
        if isinstance(value, dict):
            value = {k: v for k, v in value.items() if k != "examples"}
        print(f"{key:48s} {value}")


if __name__ == "__main__":
    torch.set_grad_enabled(False)
    main()
