"""Issue 40: the student's loss compared at equal budget (half a pass over the 29,000 pairs, each run its own
warm-up and cosine schedule), by what the student is for: de -> en through the default (greedy, the first
300 val captions), retrieval R@1 of the English caption among val's 1,014, and cosine to the teacher.

    cd bench && python experiments/student_losses.py runs...   (runs: train-language --out folders)
"""

import json
import sys

import torch

import invemb_core as ie
from invemb_core import metrics
from invemb_core.train_language import pairs, retrieval_at_1


def main() -> None:
    ae = ie.load("../checkpoints/default")
    english, german, M = pairs("val", "de")
    for path in sys.argv[1:]:
        lang = ie.load(path)
        S = lang.encode(german, warn=False)
        out = ae.decode(ae.from_meaning(S[:300]), strategy="greedy")
        print(
            json.dumps(
                {
                    "run": path,
                    "loss": lang.info["training"]["student_loss"],
                    "student_epochs": lang.info["training"]["student_epochs"],
                    "cosine_to_teacher": round(float((S * M).sum(-1).mean()), 3),
                    "r_at_1": round(retrieval_at_1(S, M), 3),
                    "de_en_greedy_bleu_300": round(metrics.bleu(english[:300], out), 1),
                }
            )
        )


if __name__ == "__main__":
    torch.set_grad_enabled(False)
    main()
