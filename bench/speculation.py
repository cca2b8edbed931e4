"""Would prompt-lookup speculation speed up the meaning decoder? A simulation on its own outputs (issue 38).

    cd bench && python speculation.py --sentences 60

Speculative decoding with prompt lookup proposes the next K pieces by finding the row's last written
pieces in a hint (the draft it rewrites, or for a sample the greedy text of the same vector) and verifies
them in one forward pass; the row keeps the proposed pieces up to the first one the LM would not have
written, plus the LM's own next piece. Its output is what the plain loop writes; what it saves is steps.
Here the LM's real outputs for typed sentences are written once (greedy, and a sample at T = 0.7), and
the proposals replayed against them: printed, the pieces gained per verification step for K = 2, 4, 6.
A step that checks K + 1 pieces costs more than a plain step, so below ~1.5 pieces a step it gains little.
"""

from __future__ import annotations

import argparse

import torch

import invemb_core as ie
from invemb_core.english import english_dir


def propose(written: list[int], hint: list[int], k: int) -> list[int]:
    """The k pieces that follow the last occurrence in ``hint`` of ``written``'s longest suffix (3, 2, 1
    pieces); with nothing written, the hint's first k."""
    if not written:
        return hint[:k]
    for n in (3, 2, 1):
        if len(written) < n:
            continue
        for start in range(len(hint) - n, -1, -1):
            if hint[start : start + n] == written[-n:]:
                return hint[start + n : start + n + k]
    return []


def pieces_per_step(targets: list[list[int]], hints: list[list[int]], k: int) -> float:
    steps = total = 0
    for target, hint in zip(targets, hints):
        written: list[int] = []
        while len(written) < len(target):
            accepted = 0
            for piece in propose(written, hint, k):
                if len(written) + accepted < len(target) and target[len(written) + accepted] == piece:
                    accepted += 1
                else:
                    break
            written = target[: len(written) + accepted + 1]
            steps += 1
        total += len(target)
    return total / steps


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--checkpoint", default="../checkpoints/default")
    p.add_argument("--sentences", type=int, default=60)
    args = p.parse_args()
    ae = ie.load(args.checkpoint)
    decoder = ae.get_meaning_decoder(required=True)
    typed = [line.strip() for line in open(english_dir() / "typed_dev.txt") if line.strip()][: args.sentences]
    M = ae.encode(typed)[:, : ae.meaning_size]
    drafts = ae.decode(ae.from_meaning(M), writer="decoder")
    with torch.autocast("cpu", dtype=torch.bfloat16):
        greedy = decoder.generate(M, drafts)
        sampled = decoder.generate(M, drafts, temperature=0.7, seed=3)
    tok = decoder.tokenizer
    pieces = lambda texts: [tok(" " + t, add_special_tokens=False)["input_ids"] + [tok.eos_token_id] for t in texts]  # noqa: E731
    cases = {
        "greedy, hint: the draft": (pieces(greedy), pieces(drafts)),
        "sample T=0.7, hint: the draft": (pieces(sampled), pieces(drafts)),
        "sample T=0.7, hint: the greedy text": (pieces(sampled), pieces(greedy)),
    }
    for k in (2, 4, 6):
        for name, (targets, hints) in cases.items():
            print(f"K = {k}, {name}: {pieces_per_step(targets, hints, k):.2f} pieces a step")


if __name__ == "__main__":
    main()
