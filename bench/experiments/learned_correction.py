"""A learned correction step (vec2text's idea, small): does a trained aim beat the fixed one?

Found (issue 22, kept as an experiment; nothing uses it): no. Dev BLEU 27.9 -> 27.3, typed 20.3 -> 20.8, the
two judges disagreeing: within noise; a vector says too little about the first try to aim better. Feeds
BENCHMARKS.md, "Every design tried" (the learned-aim row); the run is in docs/HISTORY.md, "A learned aim
for correction".

    cd bench && python experiments/learned_correction.py --train 8000 --steps 600 --lr 2e-4 --sets dev typed --n 300

Correction (``correct.py``) decodes a meaning again from ``normalize(m + 0.5 (m - v)) |m|``, where ``v`` is
the meaning of the text first written. Here a small network learns the aim instead:

    target = normalize(m + 0.5 (m - v) + g([m; v; m - v])) |m|        (g's last layer starts at zero)

trained so that the frozen decoder, reading ``target`` (no wording code), gives the true sentence the
highest likelihood (full-softmax cross-entropy under teacher forcing). Training pairs: sentences of the
default's training mix (general English + Multi30k train), ``v`` the MiniLM meaning of their greedy
meaning-only decoding. The learned aim then replaces ``correct.targets`` in the default decoding, and the
meaning-only BLEU / cosines of dev captions and typed sentences are compared with the fixed step's.
Nothing here is shipped; the trained network is not saved.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # bench/, for general.py and judges.py

from general import Judges, sets  # noqa: E402

import invemb_core as ie  # noqa: E402
from invemb_core import correct as correct_module  # noqa: E402
from invemb_core.data import collate, read_sentences  # noqa: E402
from invemb_core.english import english_dir  # noqa: E402
from invemb_core.metrics import bleu  # noqa: E402


class Aim(nn.Module):
    """The learned part of the aim, added to the fixed step's; zero at the start."""

    def __init__(self, size: int, hidden: int = 512):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(3 * size, hidden), nn.GELU(), nn.Linear(hidden, size))
        nn.init.zeros_(self.net[-1].weight)
        nn.init.zeros_(self.net[-1].bias)

    def forward(self, m: torch.Tensor, v: torch.Tensor, step: float = 0.5) -> torch.Tensor:
        moved = m + step * (m - v) + self.net(torch.cat([m, v, m - v], dim=-1))
        return F.normalize(moved, dim=-1) * m.norm(dim=-1, keepdim=True)


def pairs(ae: ie.Autoencoder, sentences: list[str], batch: int = 256):
    """ids, meanings m and the meanings v of their greedy meaning-only decodings."""
    ids, _ = ae.tokenize(sentences)
    M, V = [], []
    for start in range(0, len(ids), batch):
        Z = ae.encode_ids(ids[start : start + batch])
        m = ae.meaning(Z)
        greedy = ae.decode_ids(m, strategy="greedy")
        M.append(m[:, : ae.meaning_size])
        V.append(ae.encode_ids([g or [ae.codec.vocab.unk] for g in greedy])[:, : ae.meaning_size])
        print(f"  pairs {start + len(Z)}/{len(ids)}", flush=True)
    return ids, torch.cat(M), torch.cat(V)


def train(ae: ie.Autoencoder, ids, M, V, steps: int, batch: int, lr: float, seed: int) -> Aim:
    model = ae.model
    for p in model.parameters():
        p.requires_grad_(False)
    model.eval()
    aim = Aim(ae.meaning_size)
    opt = torch.optim.AdamW(aim.parameters(), lr=lr, weight_decay=0.01)
    rng = random.Random(seed)
    order = list(range(len(ids)))
    wording = torch.zeros(batch, ae.wording_size)
    start = time.perf_counter()
    running = []
    for step in range(1, steps + 1):
        rows = rng.sample(order, batch)
        b = collate([ids[r] for r in rows], pad=ae.codec.vocab.pad)
        target = torch.cat([aim(M[rows], V[rows]), wording], dim=-1)
        with torch.enable_grad():
            _, loss = model.reconstruction(model.decoder_input(target), b.tokens, b.lengths, loss="ce")
        opt.zero_grad()
        loss.backward()
        opt.step()
        running.append(float(loss.detach()))
        if step % 100 == 0:
            mean = sum(running[-100:]) / len(running[-100:])
            print(
                f"  step {step}: mean loss of the last 100 {mean:.4f} ({time.perf_counter() - start:.0f} s)", flush=True
            )
    for p in model.parameters():
        p.requires_grad_(True)
    return aim


def ce_from(ae: ie.Autoencoder, ids, meanings: torch.Tensor) -> float:
    """Teacher-forced CE (nats per piece) of the sentences ``ids`` decoded from these meanings (no wording)."""
    b = collate(ids, pad=ae.codec.vocab.pad)
    target = torch.cat([meanings, torch.zeros(len(ids), ae.wording_size)], dim=-1)
    with torch.no_grad():
        _, loss = ae.model.reconstruction(ae.model.decoder_input(target), b.tokens, b.lengths)
    return float(loss)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--train", type=int, default=8000, help="training sentences (2/3 general, 1/3 captions)")
    parser.add_argument("--steps", type=int, default=1500)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--sets", nargs="*", default=["dev", "typed"])
    parser.add_argument("--n", type=int, default=300)
    parser.add_argument("--json", default=None)
    parser.add_argument("--pairs", default=None, help="save / reuse the training pairs here")
    args = parser.parse_args()
    torch.manual_seed(0)
    ae = ie.load()
    general = read_sentences(str(english_dir() / "train.en.gz"), min_words=5, max_words=30)
    captions = read_sentences("multi30k:train", min_words=5, max_words=30)
    rng = random.Random(0)
    chosen = rng.sample(general, 2 * args.train // 3) + rng.sample(captions, args.train - 2 * args.train // 3)
    rng.shuffle(chosen)
    cached = Path(args.pairs) if args.pairs else None
    if cached and cached.is_file():
        ids, M, V = torch.load(cached)
    else:
        ids, M, V = pairs(ae, chosen)
        if cached:
            torch.save((ids, M, V), cached)
    held, Mh, Vh = ids[:512], M[:512], V[:512]  # held back from training
    with torch.no_grad():
        before = {"m": ce_from(ae, held, Mh), "fixed step": ce_from(ae, held, Aim(ae.meaning_size)(Mh, Vh))}
    print("teacher-forced CE on 512 training-mix pairs before:", before, flush=True)
    aim = train(ae, ids[512:], M[512:], V[512:], args.steps, args.batch, args.lr, seed=0)
    with torch.no_grad():
        learned = ce_from(ae, held, aim(Mh, Vh))
    print(f"held-back CE with the learned aim: {learned:.4f} ({len(held)} sentences)", flush=True)

    fixed_targets = correct_module.targets

    def learned_targets(Z, V_, step, meaning_size):
        with torch.no_grad():
            t = aim(Z[:, :meaning_size], V_[:, :meaning_size], step)
        return torch.cat([t, torch.zeros_like(Z[:, meaning_size:])], dim=1)

    judges = Judges(ae.codec.model_dir, use_mpnet=True)
    result = {}
    for name, sentences in sets(500, args.n).items():
        if name not in args.sets:
            continue
        refs = [ae.normalize(s) for s in sentences[: args.n]]
        Mx = ae.meaning(ae.encode(refs))
        for label, fn in (("fixed step", fixed_targets), ("learned aim", learned_targets)):
            correct_module.targets = fn
            start = time.perf_counter()
            out = ae.decode(Mx)
            seconds = (time.perf_counter() - start) / len(refs)
            result[f"{name}, {label}"] = {"bleu": bleu(refs, out), "cosine": judges(refs, out), "s": seconds}
            print(name, label, result[f"{name}, {label}"], flush=True)
        correct_module.targets = fixed_targets
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
