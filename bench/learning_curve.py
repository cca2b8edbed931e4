"""Plot and tabulate a checkpoint's learning curve (validation exact match against wall-clock minutes).
Feeds BENCHMARKS.md, "checkpoints/plain" (bench/results/learning_curve.png is the plain checkpoint's).

    python bench/learning_curve.py checkpoints/plain --out bench/results/learning_curve.png

The history is what training recorded at each evaluation (config.json "history"): greedy exact match
and token accuracy on the validation subset, minutes of training so far, steps and epochs.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("checkpoints", nargs="+", type=Path, help="checkpoint directories to plot")
    parser.add_argument("--out", type=Path, default=Path("bench/results/learning_curve.png"), help="PNG to write")
    parser.add_argument("--every", type=int, default=1, help="print every Nth row of the table")
    args = parser.parse_args()

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    for ckpt in args.checkpoints:
        history = json.loads((ckpt / "config.json").read_text()).get("history", [])
        if not history:
            raise SystemExit(f"{ckpt} has no training history")
        minutes = [h["minutes"] for h in history]
        ax.plot(minutes, [h["exact_match"] for h in history], marker=".", label=f"{ckpt.name}: exact match")
        ax.plot(minutes, [h["token_accuracy"] for h in history], linestyle="--", label=f"{ckpt.name}: token accuracy")
        print(f"\n{ckpt}\n\n| minutes | step | epoch | val exact match | val token accuracy |\n|---|---|---|---|---|")
        for h in history[:: args.every] + ([history[-1]] if (len(history) - 1) % args.every else []):
            print(
                f"| {h['minutes']:.1f} | {h['step']} | {h['epoch']} | {h['exact_match']:.3f} | {h['token_accuracy']:.4f} |"
            )
    ax.axhline(0.95, color="grey", linewidth=0.8, linestyle=":")
    ax.set_xlabel("training minutes (2 CPU cores)")
    ax.set_ylabel("Multi30k validation (greedy)")
    ax.set_ylim(0, 1.01)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(args.out, dpi=120)
    print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()
