"""Train several designs for the same wall-clock budget and score each on Multi30k test_2016_flickr.
Feeds BENCHMARKS.md, "Every design tried" (the model rows: study-match ... d256, 15 minutes each).

    python bench/compare.py --minutes 5 --designs study-match study-ce ar-gru ar-lstm transformer scratch
    python bench/compare.py --minutes 5 --designs d256 d512 transformer     # quality against vector size

Each run writes its checkpoint under --work (default runs/compare/<design>) and one JSON line to
--results; the markdown table for BENCHMARKS.md is printed at the end (and can be re-printed from the
results file with --table-only). Every design shares the training recipe (data, batch size, sampled
softmax, random-token substitution, learning-rate schedule); only the model differs.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import invemb_core as ie
from invemb_core.data import read_sentences
from invemb_core.train import Trainer

STUDY = dict(encoder="gru", pooling="last", decoder="parallel", decoder_cell="gru", hidden_size=256)
DESIGNS: dict[str, dict] = {
    # The original study's two designs: a parallel (bi)GRU decoder fed the vector at every position.
    "study-match": dict(**STUDY, output_scoring="cosine"),
    "study-ce": dict(**STUDY),
    "ar-gru": dict(encoder="gru", pooling="last", decoder="autoregressive", decoder_cell="gru"),
    "ar-lstm": dict(encoder="lstm", pooling="last", decoder="autoregressive", decoder_cell="lstm"),
    "transformer": dict(),  # InvEmb's default: Transformer encoder, slot pooling, parallel decoder
    "transformer-ar": dict(decoder="autoregressive"),
    "scratch": dict(embedding_source="scratch"),
    "d256": dict(vector_size=256),
    "d512": dict(vector_size=512),
}
LOSS = {"study-match": "match"}


def run(design: str, minutes: float, work: Path, test: list[str], threads: int) -> dict:
    model = ie.ModelConfig(**DESIGNS[design])
    steps = 10_000  # the budget, not the step count, ends each run; the schedule assumes a long run
    train = ie.TrainConfig(
        max_steps=steps,
        time_budget_minutes=minutes,
        eval_every=10**6,
        checkpoint_every=10**6,
        loss=LOSS.get(design, "ce"),
        warmup_steps=150,
        threads=threads,
    )
    trainer = Trainer(model, train, work / design, progress=False, log=lambda s: None)
    start = time.perf_counter()
    ae = trainer.run()
    seconds = time.perf_counter() - start
    result = ie.evaluate(ae, test)
    return {
        "design": design,
        "exact_match": result["exact_match"],
        "token_accuracy": result["token_accuracy"],
        "bleu": result["bleu"],
        "semantic_cosine": result["semantic_cosine"],
        "minutes": round(seconds / 60, 2),
        "steps": trainer.at.step,
        "tokens_per_second": round(trainer.at.tokens_seen / trainer.at.elapsed),
        "vector_size": model.vector_size,
        "model": DESIGNS[design],
        "loss": train.loss,
    }


def table(rows: list[dict]) -> str:
    lines = [
        "| design | vector | exact match | token accuracy | BLEU | semantic cosine | minutes | steps | tokens/s |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['design']} | {r['vector_size']} | {r['exact_match']:.3f} | {r['token_accuracy']:.3f} | "
            f"{r['bleu']:.1f} | {r['semantic_cosine']:.3f} | {r['minutes']:.1f} | {r['steps']} | {r['tokens_per_second']} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--designs", nargs="+", default=list(DESIGNS), choices=list(DESIGNS), help="designs to run")
    parser.add_argument("--minutes", type=float, default=5.0, help="training budget per design (wall clock)")
    parser.add_argument("--work", type=Path, default=Path("runs/compare"), help="where the runs' checkpoints go")
    parser.add_argument("--results", type=Path, default=Path("bench/results/compare.jsonl"), help="JSON lines output")
    parser.add_argument("--threads", type=int, default=0, help="torch threads per run (0: torch's default)")
    parser.add_argument("--table-only", action="store_true", help="print the table of --results and exit")
    args = parser.parse_args()
    args.results.parent.mkdir(parents=True, exist_ok=True)
    if not args.table_only:
        test = read_sentences("multi30k:test_2016_flickr", min_words=5, max_words=30)
        for design in args.designs:
            row = run(design, args.minutes, args.work, test, args.threads)
            print(json.dumps(row), flush=True)
            with args.results.open("a") as f:
                f.write(json.dumps(row) + "\n")
    rows = [json.loads(line) for line in args.results.read_text().splitlines() if line.strip()]
    print(table(rows))


if __name__ == "__main__":
    main()
