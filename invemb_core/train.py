"""The training loop: length-bucketed batches, AdamW with warm-up and cosine decay, periodic validation
with sample reconstructions, atomic checkpoints every N steps, exact resume, clean stop on Ctrl-C.

The loop knows nothing about the architecture: ``model(tokens, lengths, ...)`` returns (logits, loss).
What it owns is the data order (a pure function of seed and epoch), the augmentations, the optimizer and
the bookkeeping that makes ``--resume`` continue exactly where a checkpoint left off.

Under ``torchrun`` (WORLD_SIZE > 1) it trains data-parallel (``distributed.py``: DDP over gloo): every rank
builds the same batches, takes every world-th one, and gradients are averaged; rank 0 evaluates and
saves. With ``stream_chunk_sentences`` the corpus is read in chunks each epoch instead of held in memory.
"""

from __future__ import annotations

import itertools
import json
import signal
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict
from pathlib import Path

import torch
from tqdm.auto import tqdm

from . import checkpoint
from .augment import augment, sampled_candidates
from .autoencoder import Autoencoder
from .calibration import CalibrationConfig, calibrate
from .config import DecodeConfig, ModelConfig, TrainConfig, from_dict
from .data import Batch, collate, epoch_batches, iter_sentences, read_sentences, stream_chunks
from .distributed import Group
from .errors import InvEmbError
from .lexicon import build_words, save_words
from .losses import SemanticLoss
from .metrics import evaluate, exact_match, token_accuracy
from .train_state import Progress, restore, snapshot, warmup_cosine
from .twopart import TwoPartAutoencoder

SAMPLES = 5  # validation sentences shown (logged, and in the events file) at each evaluation


def lr_at(step: int, cfg: TrainConfig) -> float:
    """Linear warm-up, then cosine decay to 10% of the peak at ``max_steps``."""
    return warmup_cosine(step, peak=cfg.lr, warmup=cfg.warmup_steps, total=cfg.max_steps)


class Trainer:
    """One training run into ``out_dir``. ``run()`` trains until max_steps, the time budget, or Ctrl-C."""

    def __init__(
        self,
        model_cfg: ModelConfig,
        train_cfg: TrainConfig,
        out_dir: str | Path,
        *,
        resume: bool = False,
        progress: bool = True,
        log: Callable[[str], None] | None = None,
        description: str = "",
        events: str | Path | None = None,
        default_decoding: dict | None = None,
        model_overrides: dict | None = None,
    ):
        self.out_dir = Path(out_dir)
        self.events = Path(events) if events else None  # one JSON line per evaluation, for live viewers
        self.progress = progress
        self.log = log or tqdm.write
        self.at = Progress()  # where the run is: step, epoch, batch, seconds, tokens, learning curve
        saved = None
        if resume:
            checkpoint.recover(self.out_dir)
            if not (self.out_dir / checkpoint.TRAINER_FILE).is_file():
                raise InvEmbError(f"nothing to resume in {self.out_dir}: it has no {checkpoint.TRAINER_FILE}")
            saved = checkpoint.read_trainer_state(self.out_dir)
            stored = checkpoint.read_config(self.out_dir)
            model_cfg = from_dict(ModelConfig, stored["model"])
            train_cfg = from_dict(TrainConfig, stored["train_config"])
        self.model_cfg, self.cfg = model_cfg, train_cfg
        if train_cfg.threads > 0:
            torch.set_num_threads(train_cfg.threads)
        self.group = Group.join()
        self.rank, self.world = self.group.rank, self.group.world
        if self.rank != 0:
            self.progress, self.log = False, lambda message: None
        torch.manual_seed(train_cfg.seed)  # the same initial weights on every rank

        self.streaming = train_cfg.stream_chunk_sentences > 0
        self.train_sentences: list[str] = []
        if not self.streaming:
            for spec in train_cfg.train_data:
                self.train_sentences += read_sentences(
                    spec, min_words=train_cfg.min_words, max_words=train_cfg.max_words
                )
            if train_cfg.max_sentences:
                self.train_sentences = self.train_sentences[: train_cfg.max_sentences]
        if next(self._lines(), None) is None:
            raise InvEmbError(
                f"no training sentences of {train_cfg.min_words}-{train_cfg.max_words} words in {train_cfg.train_data}"
            )
        self.val_sentences = read_sentences(
            train_cfg.val_data,
            min_words=train_cfg.min_words,
            max_words=train_cfg.max_words,
            limit=train_cfg.eval_sentences,
        )
        if saved:
            self.ae = checkpoint.load(self.out_dir)
        elif train_cfg.init_from:
            self.ae = self._start_from(train_cfg.init_from, model_overrides or {})
            self.model_cfg = self.ae.config
        else:
            self.ae = Autoencoder.build(model_cfg, corpus=self._lines(), seed=train_cfg.seed)
        if description:  # one line on what this checkpoint is, shown by the app
            self.ae.info["description"] = description
        if default_decoding:  # what decode() / reconstruct() use when no strategy is given
            DecodeConfig(**default_decoding)
            self.ae.info["decoding"] = dict(default_decoding)
        self.model = self.ae.model
        self.ids = None if self.streaming else self.ae.codec.encode(self.train_sentences)[0]
        torch.manual_seed(train_cfg.seed + self.rank)  # ranks draw different augmentation noise
        self.forward_model = self.group.wrap(self.model)
        self.pool = self.ae.codec.output_candidates()
        self.pool = self.pool[self.pool != self.ae.codec.vocab.eos]  # what random tokens are drawn from
        params = [p for p in self.model.parameters() if p.requires_grad]
        self.optimizer = torch.optim.AdamW(
            params, lr=train_cfg.lr, betas=(0.9, 0.98), weight_decay=train_cfg.weight_decay
        )
        self.semantic = None
        if train_cfg.semantic_loss_weight > 0:
            vocab = self.ae.codec.vocab
            self.semantic = SemanticLoss(
                self.ae.codec.model_dir,
                torch.tensor(vocab.token_ids),
                cls_id=vocab.token_ids[vocab.bos],
                sep_id=vocab.token_ids[vocab.eos],
                temperature=train_cfg.gumbel_temperature,
            )
        if saved:
            self.at = restore(self.model, self.optimizer, *saved)
        self._stop = False

    def _start_from(self, directory: str, overrides: dict) -> Autoencoder:
        """A saved checkpoint's model, to fine-tune: its weights and default decoding, none of its records
        (``train_config.init_from`` says where it started). ``overrides`` change its architecture
        (``checkpoint.load_as``)."""
        ae = checkpoint.load_as(directory, overrides, log=self.log) if overrides else checkpoint.load(directory)
        ae.info = {key: ae.info[key] for key in ("description", "decoding") if key in ae.info}
        if getattr(ae.model, "output_bias", None) is not None:
            ae.model.output_bias.zero_()  # trained without it; calibration (if asked) fits it afresh at the end
        return ae

    def _lines(self) -> Iterator[str]:
        """The training corpus, streamed from its files (used when it is not held in memory)."""
        if not self.streaming:
            yield from self.train_sentences
            return
        for spec in self.cfg.train_data:
            yield from iter_sentences(spec, min_words=self.cfg.min_words, max_words=self.cfg.max_words)

    def epoch_source(self, epoch: int) -> Iterator[list[list[int]]]:
        """This rank's batches (as id lists) for one epoch, in an order fixed by (seed, epoch).

        Every rank computes the same batch list and takes every world-th batch, after dropping the
        remainder so all ranks take the same number of steps (DDP needs them in lockstep).
        """
        if self.streaming:
            chunks = (
                self.ae.codec.encode(chunk)[0]
                for spec in self.cfg.train_data
                for chunk in stream_chunks(
                    spec,
                    chunk_sentences=self.cfg.stream_chunk_sentences,
                    min_words=self.cfg.min_words,
                    max_words=self.cfg.max_words,
                )
            )
        else:
            chunks = iter([self.ids])
        for index, ids in enumerate(chunks):
            batches = epoch_batches(
                ids, batch_tokens=self.cfg.batch_tokens, seed=self.cfg.seed + 7919 * index, epoch=epoch
            )
            usable = len(batches) - len(batches) % self.world
            for b in range(self.rank, usable, self.world):
                yield [ids[i] for i in batches[b]]

    def save(self, metrics: dict | None = None) -> Path:
        tensors, info = snapshot(self.model, self.optimizer, self.at)
        self.ae.info["history"] = self.at.history  # the learning curve stays with the weights
        return checkpoint.save(
            self.ae,
            self.out_dir,
            metrics=metrics,
            train_config=asdict(self.cfg),
            trainer_state=tensors,
            trainer_info=info,
        )

    # ---- one step --------------------------------------------------------------------------------

    def train_step(self, batch: Batch) -> float:
        for group in self.optimizer.param_groups:
            group["lr"] = lr_at(self.at.step, self.cfg)
        vocab, cfg = self.ae.codec.vocab, self.cfg
        noise = {"substitution": cfg.token_substitution, "word_dropout": cfg.word_dropout}
        tokens, inputs = augment(batch.tokens, batch.lengths, **noise, pool=self.pool, mask=vocab.mask)
        candidates = sampled_candidates(
            tokens, batch.lengths, batch.tokens, k=cfg.sampled_negatives, pool=self.pool, eos=vocab.eos
        )
        extra = {}
        if isinstance(self.model, TwoPartAutoencoder):  # meaning from the clean sentence; wording dropped at random
            extra = {"clean": batch.tokens, "wording_dropout": self.cfg.wording_dropout}
        logits, loss = self.forward_model(
            tokens,
            batch.lengths,
            inputs=inputs,
            candidates=candidates,
            loss=self.cfg.loss,
            vector_noise=self.cfg.vector_noise,
            **extra,
        )
        if self.semantic is not None:
            targets, mask, _ = self.model.teacher_forcing(tokens, batch.lengths)
            cands = candidates if candidates is not None else torch.arange(self.ae.codec.vocab.size)
            loss = loss + self.cfg.semantic_loss_weight * self.semantic(logits, mask, cands, targets)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.cfg.grad_clip)
        self.optimizer.step()
        return float(loss.detach())

    # ---- evaluation ------------------------------------------------------------------------------

    @torch.no_grad()
    def quick_eval(self) -> dict:
        """Greedy token accuracy and exact match on the validation subset (no BLEU/semantic: fast). Greedy
        even when the run sets a default decoding: rerank and correction cost minutes per evaluation, all of
        it counted in the time budget; the final evaluation (``_finish``) uses the default decoding."""
        self.model.eval()
        ids, _ = self.ae.codec.encode(self.val_sentences)
        hyp = self.ae.decode_ids(self.ae.encode_ids(ids), strategy="greedy")
        self.model.train()
        self.samples = [(self.ae.codec.decode(r), self.ae.codec.decode(o)) for r, o in list(zip(ids, hyp))[:SAMPLES]]
        for ref, out in self.samples[:3]:
            self.log(f"  in : {ref}\n  out: {out}")
        return {"token_accuracy": token_accuracy(ids, hyp), "exact_match": exact_match(ids, hyp)}

    def _event(self, record: dict) -> None:
        if self.events is None:
            return
        with open(self.events, "a", encoding="utf-8") as f:
            f.write(json.dumps(record) + "\n")

    # ---- the loop --------------------------------------------------------------------------------

    def _on_sigint(self, signum, frame) -> None:
        self.log("interrupted: saving a checkpoint and stopping (press Ctrl-C again to abort)")
        self._stop = True
        signal.signal(signal.SIGINT, signal.default_int_handler)

    def _record(self, running: float) -> None:
        scores = self.quick_eval()
        self.at.history.append(
            {
                "step": self.at.step,
                "minutes": round(self.at.elapsed / 60, 3),
                "epoch": self.at.epoch,
                "tokens_seen": self.at.tokens_seen,
                "train_loss": round(running, 4),
                **scores,
            }
        )
        self._event({**self.at.history[-1], "max_steps": self.cfg.max_steps, "samples": self.samples})
        self.log(
            f"step {self.at.step} ({self.at.elapsed / 60:.1f} min): loss {running:.3f} "
            f"val token acc {scores['token_accuracy']:.4f} exact {scores['exact_match']:.4f}"
        )

    def run(self, *, until_step: int | None = None) -> Autoencoder:
        """Train, then evaluate and save. ``until_step`` stops early (saving) without changing the schedule."""
        last = min(self.cfg.max_steps, until_step or self.cfg.max_steps)
        previous = signal.signal(signal.SIGINT, self._on_sigint)
        budget = self.cfg.time_budget_minutes * 60
        bar = tqdm(
            total=self.cfg.max_steps, initial=self.at.step, disable=not self.progress, unit="step", dynamic_ncols=True
        )
        self.model.train()
        start, base = time.perf_counter(), self.at.elapsed
        running = 0.0
        try:
            while self.at.step < last and not self._stop:
                finished_epoch = True
                for position, sequences in enumerate(self.epoch_source(self.at.epoch)):
                    if position < self.at.batch_index:
                        continue  # resuming: this epoch's first batches are already done
                    batch = collate(sequences, pad=self.ae.codec.vocab.pad)
                    loss = self.train_step(batch)
                    running = loss if self.at.step == 0 or not running else 0.95 * running + 0.05 * loss
                    self.at.step += 1
                    self.at.batch_index = position + 1
                    self.at.tokens_seen += batch.num_tokens * self.world
                    self.at.elapsed = base + time.perf_counter() - start
                    bar.update(1)
                    bar.set_postfix(
                        loss=f"{running:.3f}", epoch=self.at.epoch, tok_s=f"{self.at.tokens_seen / self.at.elapsed:.0f}"
                    )
                    self._stop = self.group.agree_to_stop(self._stop or bool(budget and self.at.elapsed >= budget))
                    if self.rank == 0 and (self.at.step % self.cfg.eval_every == 0 or self._stop):
                        self._record(running)
                    if self.rank == 0 and self.at.step % self.cfg.checkpoint_every == 0 and not self._stop:
                        self.save()
                    if self._stop or self.at.step >= last:
                        finished_epoch = False
                        break
                if finished_epoch:
                    self.at.epoch += 1
                    self.at.batch_index = 0
        finally:
            bar.close()
            signal.signal(signal.SIGINT, previous)
        return self._finish()

    def _calibrate(self) -> None:
        """Fit the output layer's per-piece bias with the full softmax (calibration.py), after training."""
        n = self.cfg.calibration_sentences
        pool = self.train_sentences if not self.streaming else list(itertools.islice(self._lines(), 10 * n))
        cfg = CalibrationConfig(sentences=n, seed=self.cfg.seed)
        summary = calibrate(self.ae, pool, cfg, progress=self.progress, log=self.log)
        self.ae.info["calibration"] = {**summary, "data": list(self.cfg.train_data)}

    def _finish(self) -> Autoencoder:
        """Final evaluation and save on rank 0; under DDP, first check that every rank holds the same weights."""
        self.model.eval()
        self.forward_model = self.model  # the DDP wrapper holds the group: let it go first
        extra = self.group.finish(self.model)
        if self.rank != 0:
            return self.ae
        if self.cfg.calibration_sentences:
            self._calibrate()
        metrics = evaluate(self.ae, self.val_sentences, semantic=False)
        metrics.update(
            {
                "data": self.cfg.val_data,
                "steps": self.at.step,
                "minutes": round(self.at.elapsed / 60, 2),
                "tokens_per_second": round(self.at.tokens_seen / max(self.at.elapsed, 1e-9)),
                **extra,
            }
        )
        self.save(metrics={"validation": metrics})
        if self.model.autoregressive:  # the words whole-word sampling may spell (lexicon.py)
            words = build_words(self.ae.codec, self._lines())
            save_words(self.out_dir, words)
            self.ae.set_lexicon(words)  # the model returned samples as the one loaded from disk will
        self._event(
            {"done": True, "step": self.at.step, "minutes": round(self.at.elapsed / 60, 3), "validation": metrics}
        )
        self.log(f"saved {self.out_dir} after {self.at.step} steps: val exact {metrics['exact_match']:.4f}")
        return self.ae


def train(
    model_cfg: ModelConfig,
    train_cfg: TrainConfig,
    out_dir: str | Path,
    *,
    resume: bool = False,
    progress: bool = True,
    description: str = "",
    events: str | Path | None = None,
    default_decoding: dict | None = None,
    model_overrides: dict | None = None,
) -> Autoencoder:
    """Train an autoencoder into ``out_dir`` (see ``Trainer``) and return it. ``description``: one line
    on what the checkpoint is, stored in its config.json and shown by the app; ``events``: a file that
    gets one JSON line per evaluation (and a last one with ``"done": true``), for live viewers;
    ``default_decoding``: ``decode`` keywords the checkpoint uses when no strategy is given;
    ``model_overrides``: with ``init_from``, the ModelConfig keys to change (``checkpoint.load_as``)."""
    trainer = Trainer(
        model_cfg,
        train_cfg,
        out_dir,
        resume=resume,
        progress=progress,
        description=description,
        events=events,
        default_decoding=default_decoding,
        model_overrides=model_overrides,
    )
    return trainer.run()
