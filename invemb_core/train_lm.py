"""Training the meaning decoder (``lm_decoder.py``): resumable, on CPU (or a GPU: ``--device cuda``), in bfloat16
autocast.

``invemb train-lm --out DIR --minutes N`` trains for N more minutes and stops; the same command again
resumes where it stopped (``DIR/train_state.pt``: the trained weights, the optimiser, the step, the data
position and the history). A run may span sittings; kill it at any time and lose at most
``save_every`` steps.

The data are (meaning vector, draft, sentence) triples: the general-English mix and the Multi30k
captions, each sentence's MiniLM meaning and the autoencoder's own greedy reading of that meaning alone
(the draft the corrector learns to rewrite). They are made chunk by chunk as training reaches them and
kept in ``DIR/pairs/`` (a resumed run reads them back), so the first step comes after seconds, not after
encoding a corpus. The autoencoder reads its training sentences no better than held-out ones (greedy
meaning-only BLEU 15.5 on both, 300 sentences each), so its drafts of training sentences are honest ones.

Every ``eval_minutes`` the decoder writes the first ``eval_sentences`` typed dev sentences from their
meaning alone; BLEU and MiniLM cosine go into the history (the learning curve in BENCHMARKS.md).
The matrix products run in bfloat16 (autocast) over float32 master weights; tests/test_lm_decoder.py
checks that a tiny model's loss curve matches float32's. ``--init-from`` starts a new run from a saved
decoder's weights (e.g. the one committed in the repository, when the run folder of an earlier sitting
is gone), with a fresh optimiser.
"""

from __future__ import annotations

import gzip
import json
import math
import random
import time
from dataclasses import asdict, dataclass
from itertools import islice
from pathlib import Path

import torch
from tqdm import tqdm

from .config import opt
from .errors import InvEmbError
from .lm_decoder import LMDecoderConfig, MeaningDecoder, build
from .lm_decoder import load as load_decoder
from .train_state import warmup_cosine


@dataclass
class LMTrainConfig:
    """How the meaning decoder trains; saved in the run folder's config.json."""

    out: str = opt("runs/meaning-lm", "the run folder (state, drafts) and where the decoder is saved")
    init_from: str = opt(
        "", "a saved meaning decoder to start from (its weights, a fresh optimiser) when --out has no state"
    )
    autoencoder: str = opt("checkpoints/default", "whose meaning (MiniLM) and greedy drafts the decoder reads")
    english: str = opt("data/english/train.en.gz", "the general-English training mix (`invemb data english` builds it)")
    captions: str = opt("multi30k:train", "the caption corpus mixed in (multi30k:<split> or a file)")
    caption_share: float = opt(0.2, "share of captions in the mix; the rest is general English")
    minutes: float = opt(60.0, "this sitting's training time; run the command again to go on")
    batch_size: int = opt(32, "sentences per step")
    lr: float = opt(3e-4, "peak learning rate (AdamW, cosine decay to a tenth)")
    warmup_steps: int = opt(100, "steps of linear warm-up")
    total_steps: int = opt(20_000, "the cosine schedule's length (about 8 hours of CPU at batch 32)")
    chunk: int = opt(1024, "sentences encoded and drafted at a time")
    save_every: int = opt(50, "steps between saves of the resumable state")
    eval_minutes: float = opt(30.0, "training minutes between evaluations (the learning curve)")
    eval_sentences: int = opt(100, "typed dev sentences written at each evaluation")
    eval_data: str = opt("data/english/typed_dev.txt", "the evaluation sentences, one a line")
    bf16: bool = opt(True, "matrix products in bfloat16 (autocast; float32 master weights)")
    device: str = opt(
        "cpu", "where the LM trains: cpu, or cuda on a machine with a GPU (the drafts are made on the CPU either way)"
    )
    seed: int = opt(0, "data order and initialisation")


def read_sentences(cfg: LMTrainConfig) -> list[str]:
    """The training sentences in a fixed shuffled order: general English and captions, interleaved."""
    from .data import iter_lines

    rng = random.Random(cfg.seed)
    english = [s.strip() for s in gzip.open(cfg.english, "rt", encoding="utf-8") if s.strip()]
    captions = list(dict.fromkeys(s.strip() for s in iter_lines(cfg.captions) if s.strip()))
    n_captions = min(len(captions), round(len(english) * cfg.caption_share / (1 - cfg.caption_share)))
    rng.shuffle(captions)
    mixed = english + captions[:n_captions]
    rng.shuffle(mixed)
    return mixed


class Drafts:
    """(meaning, draft, sentence) triples, made a chunk at a time and kept on disk."""

    def __init__(self, cfg: LMTrainConfig, sentences: list[str]):
        self.cfg, self.sentences = cfg, sentences
        self.folder = Path(cfg.out) / "pairs"
        self.folder.mkdir(parents=True, exist_ok=True)
        self._ae = None

    @property
    def ae(self):
        if self._ae is None:
            from .checkpoint import load

            self._ae = load(self.cfg.autoencoder)
        return self._ae

    def chunks(self) -> int:
        return math.ceil(len(self.sentences) / self.cfg.chunk)

    def get(self, index: int) -> tuple[torch.Tensor, list[str], list[str]]:
        path = self.folder / f"{index:05d}.pt"
        if path.is_file():
            d = torch.load(path)
            return d["meaning"].float(), d["drafts"], d["sentences"]
        sentences = self.sentences[index * self.cfg.chunk : (index + 1) * self.cfg.chunk]
        meaning, drafts = draft(self.ae, sentences)
        torch.save({"meaning": meaning.half(), "drafts": drafts, "sentences": sentences}, path)
        return meaning, drafts, sentences


@torch.no_grad()
def draft(ae, sentences: list[str]) -> tuple[torch.Tensor, list[str]]:
    """MiniLM meanings (N, M) and the autoencoder's greedy reading of each meaning alone."""
    Z = ae.encode(sentences)
    return Z[:, : ae.meaning_size].clone(), ae.decode(ae.meaning(Z), strategy="greedy")


def batches(meaning, drafts, sentences, size: int, rng: random.Random):
    """Shuffled batches of similar lengths (little padding): sort by length within windows of 8 batches."""
    order = list(range(len(sentences)))
    rng.shuffle(order)
    window = size * 8
    out = []
    for start in range(0, len(order), window):
        block = sorted(order[start : start + window], key=lambda i: len(drafts[i]) + len(sentences[i]))
        out += [block[j : j + size] for j in range(0, len(block), size)]
    rng.shuffle(out)
    for rows in out:
        yield meaning[rows], [drafts[i] for i in rows], [sentences[i] for i in rows]


def evaluate_meaning_decoder(decoder: MeaningDecoder, ae, sentences: list[str], *, batch: int = 25) -> dict:
    """BLEU (cased and lower-cased) and MiniLM cosine of what the decoder writes from each sentence's meaning."""
    import sacrebleu

    decoder.eval()
    outputs = []
    for start in range(0, len(sentences), batch):
        chunk = sentences[start : start + batch]
        meaning, drafts = draft(ae, chunk)
        with torch.autocast(decoder.device.type, dtype=torch.bfloat16):
            outputs += decoder.generate(meaning, drafts if decoder.cfg.draft else None)
    M = ae.encode(sentences)[:, : ae.meaning_size]
    W = ae.encode([o or "." for o in outputs])[:, : ae.meaning_size]
    return {
        "bleu": round(sacrebleu.corpus_bleu(outputs, [sentences]).score, 2),
        "bleu_lower": round(sacrebleu.corpus_bleu(outputs, [sentences], lowercase=True).score, 2),
        "minilm_cosine": round(float((M * W).sum(-1).mean()), 4),
        "examples": [[s, o] for s, o in islice(zip(sentences, outputs), 3)],
    }


def train_meaning_decoder(cfg: LMTrainConfig, decoder_cfg: LMDecoderConfig | None = None, *, log=print) -> Path:
    """Train (or resume) for ``cfg.minutes``; returns the folder the decoder was saved in."""
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    state_path = out / "train_state.pt"
    state = torch.load(state_path, weights_only=False, map_location="cpu") if state_path.is_file() else None
    if state is not None:
        decoder_cfg = LMDecoderConfig(**state["decoder_config"])
        log(f"resuming {out} at step {state['step']} ({state['minutes']:.1f} min trained)")
    decoder_cfg = decoder_cfg or LMDecoderConfig()
    torch.manual_seed(cfg.seed)
    decoder = build(decoder_cfg)
    params = [p for p in decoder.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=0.0)
    step, minutes, position, history = 0, 0.0, 0, []
    if state is None and cfg.init_from:
        start = load_decoder(cfg.init_from, inference=False)
        if asdict(start.cfg) != asdict(decoder_cfg):
            log(f"taking the design of {cfg.init_from}: {asdict(start.cfg)}")
            decoder_cfg = start.cfg
            decoder = build(decoder_cfg)
            params = [p for p in decoder.parameters() if p.requires_grad]
            opt = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=0.0)
        decoder.load_trained(start.trained_state())
        del start
    decoder.to(cfg.device)  # before the optimiser's state is read: it follows its parameters' device
    if state is not None:
        decoder.load_trained(state["trained"])
        opt.load_state_dict(state["optimizer"])
        step, minutes, position, history = state["step"], state["minutes"], state["position"], state["history"]
    (out / "train_lm.json").write_text(json.dumps({"train": asdict(cfg), "decoder": asdict(decoder_cfg)}, indent=2))

    sentences = read_sentences(cfg)
    data = Drafts(cfg, sentences)
    eval_sentences = [s.strip() for s in open(cfg.eval_data, encoding="utf-8") if s.strip()][: cfg.eval_sentences]
    if not eval_sentences:
        raise InvEmbError(f"no evaluation sentences in {cfg.eval_data}")

    def save() -> None:
        tmp = state_path.with_suffix(".tmp")
        torch.save(
            {
                "trained": decoder.trained_state(),
                "optimizer": opt.state_dict(),
                "step": step,
                "minutes": minutes,
                "position": position,
                "history": history,
                "decoder_config": asdict(decoder_cfg),
            },
            tmp,
        )
        tmp.replace(state_path)
        decoder.save(out)

    def evaluate() -> None:
        figures = evaluate_meaning_decoder(decoder, data.ae, eval_sentences)
        history.append({"step": step, "minutes": round(minutes, 1), "sentences": step * cfg.batch_size, **figures})
        log(json.dumps(history[-1]))
        decoder.train()

    started, last_eval = time.time(), minutes
    budget = cfg.minutes * 60
    bar = tqdm(desc="meaning decoder", unit="step", initial=step)
    decoder.train()
    while time.time() - started < budget:
        chunk = position // cfg.chunk % data.chunks()
        meaning, drafts, targets = data.get(chunk)
        rng = random.Random(cfg.seed * 1_000_003 + position // cfg.chunk)
        for skip, (m, d, t) in enumerate(batches(meaning, drafts, targets, cfg.batch_size, rng)):
            if skip < (position % cfg.chunk) // cfg.batch_size:
                continue  # resumed inside this chunk
            tick = time.time()
            for group in opt.param_groups:
                group["lr"] = warmup_cosine(step, peak=cfg.lr, warmup=cfg.warmup_steps, total=cfg.total_steps)
            with torch.autocast(decoder.device.type, dtype=torch.bfloat16, enabled=cfg.bf16):
                loss = decoder(m, t, d if decoder_cfg.draft else None)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            opt.step()
            opt.zero_grad(set_to_none=True)
            step, position = step + 1, position + len(t)
            minutes += (time.time() - tick) / 60
            bar.update(1)
            bar.set_postfix(loss=f"{loss.item():.3f}", min=f"{minutes:.1f}")
            if step % cfg.save_every == 0:
                save()
            if minutes - last_eval >= cfg.eval_minutes:
                evaluate()
                last_eval = minutes
                save()
            if time.time() - started >= budget:
                break
        else:
            position = -(-position // cfg.chunk) * cfg.chunk  # on to the next chunk's start
    bar.close()
    evaluate()
    save()
    return out
