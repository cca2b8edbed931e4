"""Output calibration: one logit bias per word piece, fitted after training with the full softmax.

Training scores each target piece against the batch's pieces plus 2,048 random ones (sampled softmax,
train.py), not against the whole 30,522-piece vocabulary. The top of each distribution is learned
well (greedy decoding is exact), but the ~25,000 pieces that Multi30k never uses are pushed down only
on the rare steps that happen to draw them, so together they keep too much probability. Greedy and
beam search do not notice; sampling does: at T = 1 a meaning-only vector writes "a boston terrirrier
week acreskizn runs near an atlanta terriver".

Calibration is the standard fix after the fact (like temperature scaling, Guo et al. 2017, but per
piece): freeze the model, decode training sentences under teacher forcing, and fit a bias b (V,) that
minimises the full-softmax cross-entropy of

    logits = o . e_v + b_v      o: the decoder's output vector, e_v: piece v's (frozen) embedding

on both paths the model is used on: whole vectors (reconstruction) and meaning-only vectors
(paraphrases). An L2 prior keeps b small, so pieces the training text never shows are made less likely,
never impossible (held-out captions have such pieces and must still come back exactly). Only b is
fitted: 30,522 numbers, a minute or two on 2 CPU cores. ``invemb train --calibration-sentences N``
runs it at the end of training; ``invemb calibrate`` adds it to an existing checkpoint.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from .autoencoder import Autoencoder
from .data import collate
from .errors import InvEmbError


@dataclass
class CalibrationConfig:
    """How the bias is fitted."""

    sentences: int = 4000  # training sentences decoded under teacher forcing (each on both paths)
    epochs: int = 2
    lr: float = 0.05  # Adam on b
    l2: float = 0.01  # prior: + l2 * mean(b^2) per batch
    batch_tokens: int = 4096
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("sentences", "epochs", "lr", "batch_tokens"):
            if getattr(self, name) <= 0:
                raise InvEmbError(f"calibration {name} must be > 0, got {getattr(self, name)}")
        if self.l2 < 0:
            raise InvEmbError(f"calibration l2 must be >= 0, got {self.l2}")


@torch.no_grad()
def teacher_forced_outputs(
    ae: Autoencoder, ids: Sequence[Sequence[int]], *, meaning_only: bool = False, batch_size: int = 256
) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """Per path, the decoder's output vectors (N, E) at every real target position of ``ids`` (each
    sentence and its end), given the previous true pieces, and the targets (N,). Paths: "whole" (the
    sentences' vectors) and, with ``meaning_only``, "meaning_only" (``ae.meaning`` of the same vectors,
    as paraphrasing uses them); each batch is encoded once for both."""
    model = ae.model
    paths = ("whole", "meaning_only") if meaning_only else ("whole",)
    out: dict[str, tuple[list, list]] = {path: ([], []) for path in paths}
    for start in range(0, len(ids), batch_size):
        batch = collate(ids[start : start + batch_size], pad=ae.codec.vocab.pad)
        targets, mask, prev = model.teacher_forcing(batch.tokens, batch.lengths)
        z = model.encode(batch.tokens, batch.lengths)
        for path in paths:
            vectors = model.output_vectors(ae.meaning(z) if path == "meaning_only" else z, mask.shape[1], prev)
            out[path][0].append(vectors[mask])
            out[path][1].append(targets[mask])
    return {path: (torch.cat(v), torch.cat(t)) for path, (v, t) in out.items()}


def fit_bias(
    vectors: torch.Tensor,
    targets: torch.Tensor,
    table: torch.Tensor,
    allowed: torch.Tensor,
    cfg: CalibrationConfig,
    *,
    progress: bool = False,
) -> torch.Tensor:
    """The bias b (V,) minimising full-softmax cross-entropy of ``vectors @ table.T + b`` (disallowed
    pieces excluded) plus the L2 prior. The fixed scores are computed in bfloat16: only b gets a
    gradient, and that needs probabilities, not float32-exact logits."""
    generator = torch.Generator().manual_seed(cfg.seed)
    low, blocked = table.bfloat16(), ~allowed.bool()
    bias = torch.zeros(table.shape[0], requires_grad=True)
    optimizer = torch.optim.Adam([bias], lr=cfg.lr)
    steps = cfg.epochs * -(-len(vectors) // cfg.batch_tokens)
    with tqdm(total=steps, desc="calibrating", unit="batch", disable=not progress) as bar:
        for _ in range(cfg.epochs):
            order = torch.randperm(len(vectors), generator=generator)
            for start in range(0, len(vectors), cfg.batch_tokens):
                rows = order[start : start + cfg.batch_tokens]
                with torch.no_grad():
                    fixed = (vectors[rows].bfloat16() @ low.T).float().masked_fill_(blocked, float("-inf"))
                loss = F.cross_entropy(fixed + bias, targets[rows]) + cfg.l2 * bias.pow(2).mean()
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                bar.update(1)
    return bias.detach()


@torch.no_grad()
def mean_nll(vectors: torch.Tensor, targets: torch.Tensor, table: torch.Tensor, allowed: torch.Tensor, bias) -> float:
    """Full-softmax cross-entropy per piece (nats) of the fixed output vectors under ``bias`` (or none),
    with the scores in bfloat16 as ``fit_bias`` computes them."""
    low, total = table.bfloat16(), 0.0
    for start in range(0, len(vectors), 8192):
        logits = (vectors[start : start + 8192].bfloat16() @ low.T).float()
        logits = (logits if bias is None else logits + bias).masked_fill_(~allowed, float("-inf"))
        total += float(F.cross_entropy(logits, targets[start : start + 8192], reduction="sum"))
    return total / max(len(vectors), 1)


def calibrate(
    ae: Autoencoder,
    sentences: Sequence[str],
    cfg: CalibrationConfig | None = None,
    *,
    progress: bool = False,
    log: Callable[[str], None] = print,
) -> dict:
    """Fit and install ``ae``'s output bias on (a random sample of ``cfg.sentences`` of) ``sentences``,
    training text. Returns what was done: sentences, pieces, minutes, and the full-softmax
    cross-entropy per piece on those pieces before and after, per path."""
    cfg = cfg or CalibrationConfig()
    if ae.model.cosine_scale is not None:
        raise InvEmbError("calibration fits a bias for dot-product scoring; this checkpoint scores by cosine")
    pool = list(sentences)
    if not pool:
        raise InvEmbError("calibration needs training sentences; got none")
    start = time.perf_counter()
    sample = random.Random(cfg.seed).sample(pool, min(cfg.sentences, len(pool)))
    ids, _ = ae.codec.encode(sample)
    was_training = ae.model.training
    ae.model.eval()
    try:
        paths = teacher_forced_outputs(ae, ids, meaning_only=bool(ae.meaning_size and ae.wording_size))
        vectors = torch.cat([v for v, _ in paths.values()])
        targets = torch.cat([t for _, t in paths.values()])
        table, allowed = ae.model.token_embeddings.detach(), ae.model.output_allowed
        old = ae.model.output_bias
        bias = fit_bias(vectors, targets, table, allowed, cfg, progress=progress)
        report = {
            name: {
                "before": round(mean_nll(v, t, table, allowed, old), 4),
                "after": round(mean_nll(v, t, table, allowed, bias), 4),
            }
            for name, (v, t) in paths.items()
        }
    finally:
        ae.model.train(was_training)
    ae.model.set_output_bias(bias)
    summary = {
        "config": asdict(cfg),
        "sentences": len(sample),
        "pieces": len(targets),
        "minutes": round((time.perf_counter() - start) / 60, 2),
        "cross_entropy": report,
    }
    log(
        f"calibrated the output bias on {len(sample)} sentences in {summary['minutes']} min: "
        + ", ".join(f"{k} {v['before']:.3f} -> {v['after']:.3f} nats/piece" for k, v in report.items())
    )
    return summary


def refresh_validation(ae: Autoencoder, log: Callable[[str], None] = print) -> None:
    """Score the validation metrics saved with a checkpoint again (the same sentences, greedy, as the
    trainer's final evaluation), so that what the app shows describes the calibrated model."""
    from .data import read_sentences
    from .metrics import evaluate

    trained_on = ae.info.get("train_config") or {}
    saved = (ae.info.get("metrics") or {}).get("validation")
    if not saved or not trained_on.get("val_data"):
        return
    try:
        sentences = read_sentences(
            trained_on["val_data"],
            min_words=trained_on.get("min_words", 1),
            max_words=trained_on.get("max_words", 10_000),
            limit=trained_on.get("eval_sentences"),
        )
    except InvEmbError as e:
        log(f"the saved validation metrics describe the model before calibration: {e}")
        return
    ae.info["metrics"]["validation"] = {**saved, **evaluate(ae, sentences, semantic=False), "calibrated": True}


def calibrate_checkpoint(
    directory: str | Path | None,
    cfg: CalibrationConfig | None = None,
    *,
    data: Sequence[str] | None = None,
    progress=False,
) -> dict:
    """``invemb calibrate``: fit the output bias of the checkpoint in ``directory`` on its own training
    data (``data``: other corpus specs; None: the shipped default) and save it in place, keeping the directory's other files."""
    from . import checkpoint
    from .data import read_sentences

    ae = checkpoint.load(directory)
    directory = Path(ae.info["path"])  # None: the shipped default
    trained_on = ae.info.get("train_config") or {}
    specs = list(data or trained_on.get("train_data") or ["multi30k:train"])
    bounds = {k: trained_on[k] for k in ("min_words", "max_words") if k in trained_on}
    sentences = [s for spec in specs for s in read_sentences(spec, **bounds)]
    summary = calibrate(ae, sentences, cfg, progress=progress)
    ae.info["calibration"] = {**summary, "data": specs}
    refresh_validation(ae)
    keep = {
        f.name: f
        for f in directory.iterdir()
        if f.is_file() and f.name not in (checkpoint.CONFIG_FILE, checkpoint.WEIGHTS_FILE)
    }
    checkpoint.save(ae, directory, extra_files=keep)
    return {**ae.info["calibration"], "path": str(directory)}
