"""Training a language checkpoint (``language.py``): its decoder, then its student encoder; resumable.

    invemb train-language --language de --out checkpoints/de --minutes 60

trains for 60 more minutes and stops; the same command again resumes (``--run``, default
``runs/language-<lang>``, keeps ``state.pt``: the weights, the optimisers, the RNG, each part's epoch,
batch and step, the history). Raise a part's epochs and run again to train it longer. A fresh clone has no run
folder: ``--init checkpoints/de`` starts one from the shipped checkpoint (``state_from_checkpoint``). The checkpoint in ``--out`` is rewritten every ``save_minutes`` and at the end.

Both parts learn from Multi30k's translation pairs (line i of ``train.en`` and ``train.<lang>``):
1. **decoder**: the English caption's MiniLM meaning -> the translation (teacher forcing), with a little
   noise on the vector so that it also reads the student's near-miss vectors; ``decoder_epochs`` passes.
2. **student**: the translation -> the English caption's MiniLM meaning (``student.distillation_loss``:
   mse, infonce or both); ``student_epochs`` passes.
The English meanings are computed once and cached (``$INVEMB_CACHE/teacher``, default ``~/.cache/invemb``). At each epoch's end the
run writes the validation figures into the history: the decoder's val loss and greedy BLEU from English
meanings; the student's cosine to the teacher and retrieval R@1 of the English caption among val's.
The matrix products run in bfloat16 autocast over float32 weights.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import random
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import torch
import torch.nn.functional as F
from tqdm import tqdm

from .blend_student import BlendStudent
from .config import opt
from .errors import InvEmbError
from .language import LANGUAGES, Language, LanguageConfig, make_student, multi30k_file
from .lm import cache_root
from .lm_student import LMStudent
from .metrics import bleu
from .student import Student, distillation_loss
from .train_state import warmup_cosine
from .vector_decoder import DecoderShape, VectorDecoder, train_tokenizer


@dataclass
class LanguageTrainConfig:
    """How a language checkpoint trains (saved in the run folder's config.json)."""

    language: str = opt("de", "de or fr: the captions' translation to learn")
    out: str = opt("", "where the checkpoint is written (default: checkpoints/<language>)")
    run: str = opt("", "the resumable run folder (default: runs/language-<language>)")
    minutes: float = opt(60.0, "this sitting's training time; the same command again goes on")
    decoder_epochs: float = opt(12.0, "passes over the pairs for the decoder (0: keep it untrained)")
    student_epochs: float = opt(3.0, "passes over the pairs for the student encoder (0: the teacher's copy)")
    student_loss: str = opt("mse", "mse (Reimers & Gurevych 2020), infonce (contrastive), or mse+infonce")
    temperature: float = opt(0.05, "InfoNCE's temperature")
    vocab_size: int = opt(8000, "the language's BPE pieces")
    batch_size: int = opt(64, "sentence pairs per step (both parts)")
    lr: float = opt(1e-3, "the decoder's peak learning rate (AdamW, warm-up then cosine)")
    student_lr: float = opt(5e-5, "the student's peak learning rate (the MiniLM reader: fine-tuning)")
    reader: str = opt(
        "minilm",
        "the student's reader: minilm (MiniLM fine-tuned, student.py), gemma3 (Gemma-3-270M frozen, its pooled "
        "states through a trained MLP, lm_student.py) or minilm+gemma3 (both, their vectors averaged: "
        "blend_student.py); switching keeps the decoder and, in a blend, the part that was the student",
    )
    reader_layer: int = opt(6, "an LM reader's layer whose states are pooled")
    head_lr: float = opt(1e-3, "an LM reader's MLP: its peak learning rate")
    head_epochs: float = opt(
        20.0, "a blend's LM part (--reader minilm+gemma3): passes of its MLP over the LM's states, fitted once"
    )
    init: str = opt(
        "",
        "a new run (no state.pt yet) starts from this language checkpoint: its tokenizer, decoder, history and, "
        "with the same reader, student; the optimisers start afresh (say, a fresh clone going on from checkpoints/de)",
    )
    noise: float = opt(0.2, "the decoder's training vectors: norm of the Gaussian noise added (then renormalised)")
    save_minutes: float = opt(5.0, "minutes between saves of the run and the checkpoint")
    eval_sentences: int = opt(
        300, "validation sentences the decoder writes at each evaluation (the student encodes all)"
    )
    evals_per_epoch: int = opt(2, "evaluations per pass over the pairs (the learning curve in the history)")
    bf16: bool = opt(True, "matrix products in bfloat16 (autocast; float32 master weights)")
    seed: int = opt(0, "data order and initialisation")

    def __post_init__(self) -> None:
        if self.language not in LANGUAGES or self.language == "en":  # checked now, not hours into a run
            raise InvEmbError(f"--language {self.language!r}: de or fr")
        if set(self.student_loss.split("+")) - {"mse", "infonce"}:
            raise InvEmbError(f"--student-loss {self.student_loss!r}: mse, infonce or mse+infonce")
        self.out = self.out or f"checkpoints/{self.language}"
        self.run = self.run or f"runs/language-{self.language}"


def read_lines(path: Path) -> list[str]:
    with gzip.open(path, "rt", encoding="utf-8") as f:
        return [line.rstrip("\n") for line in f]


def teacher_vectors(texts: list[str], teacher: str = "minilm") -> torch.Tensor:
    """MiniLM's meaning of each English text, cached on disk by content."""
    key = hashlib.sha256(("\n".join(texts) + teacher).encode()).hexdigest()[:16]
    path = cache_root() / "teacher" / f"{key}.pt"
    if path.is_file():
        return torch.load(path, weights_only=True)
    vectors = Student(teacher).encode(texts)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(vectors, path)
    return vectors


def pairs(split: str, language: str) -> tuple[list[str], list[str], torch.Tensor]:
    """(English, translation, English meaning) for a Multi30k split."""
    english, other = read_lines(multi30k_file(split, "en")), read_lines(multi30k_file(split, language))
    if len(english) != len(other):
        raise InvEmbError(f"{split}: {len(english)} English lines but {len(other)} in {language}")
    return english, other, teacher_vectors(english)


def retrieval_at_1(queries: torch.Tensor, targets: torch.Tensor) -> float:
    """How often row i of ``queries`` is nearest (cosine) to row i of ``targets`` among all targets."""
    sims = F.normalize(queries, dim=-1) @ F.normalize(targets, dim=-1).T
    return float((sims.argmax(-1) == torch.arange(len(queries))).float().mean())


def evaluate(lang: Language, val: tuple[list[str], list[str], torch.Tensor], n: int, phase: str) -> dict:
    english, other, M = val
    if phase == "decoder":
        outputs = lang.decode(M[:n], strategy="greedy")
        lang.decoder.eval()  # decode() hands it back in training mode; the loss is measured without dropout
        with torch.no_grad():
            loss, _ = lang.decoder.loss(M[:n], [e.ids for e in lang.tokenizer.encode_batch(other[:n])])
        return {
            "val_loss": round(float(loss), 4),
            "bleu_greedy": round(bleu(other[:n], outputs), 2),
            "example": [english[0], outputs[0]],
        }
    S = lang.student.encode(other)
    return {
        "cosine_to_teacher": round(float((S * M).sum(-1).mean()), 4),
        "r_at_1": round(retrieval_at_1(S, M), 4),
    }


PHASES = ("decoder", "student")


def unstarted() -> dict[str, int]:
    """A phase's counters before its first step."""
    return {"epoch": 0, "batch": 0, "step": 0}


def per_phase(progress: dict) -> dict:
    """A run's counters with one (epoch, batch, step) per phase; runs saved before that kept one set for the
    phase they were in, the decoder's end then read from the history."""
    if "phase" not in progress:
        return progress
    at = {k: progress.pop(k) for k in ("epoch", "batch", "step")}
    phase = progress.pop("phase")
    out = {p: unstarted() for p in PHASES} | progress
    out[phase] = at
    if phase == "student":
        last = [h for h in progress["history"] if h["phase"] == "decoder"][-1]
        out["decoder"] = {"epoch": int(last["epochs"]), "batch": 0, "step": last["step"]}
    return out


def state_from_checkpoint(directory: str | Path, language: str, batches_per_epoch: int) -> dict:
    """A run's state rebuilt from a saved language checkpoint: what ``save()`` below writes, less the
    optimisers and the RNG (which a checkpoint does not keep). Each phase goes on from its last evaluation."""
    lang = Language.load(directory)
    if lang.language != language:
        raise InvEmbError(f"--init {directory}: a {lang.language} checkpoint, not {language}")
    history = list(lang.info.get("history", []))
    progress = {phase: unstarted() for phase in PHASES}
    for phase in PHASES:
        done = [h for h in history if h["phase"] == phase]
        if done:
            step = done[-1]["step"]
            progress[phase] = {"epoch": step // batches_per_epoch, "batch": step % batches_per_epoch, "step": step}
    progress |= {"minutes": float(lang.info.get("minutes", 0.0)), "history": history}
    progress["head_fitted"] = any(h.get("part") == "head" for h in history)
    return {
        "tokenizer": lang.tokenizer.to_str(),
        "shape": asdict(lang.config.decoder),
        "progress": progress,
        "decoder": lang.decoder.state_dict(),
        "student": lang.student.trained_state(),
        "reader": lang.config.reader,
    }


def train_language(cfg: LanguageTrainConfig, *, shape: DecoderShape | None = None, log=print) -> Path:
    """Train (or resume) for ``cfg.minutes``; returns the checkpoint directory. ``shape``: the decoder's
    size for a new run (default ``DecoderShape()``; a resumed run keeps its own)."""
    run, out = Path(cfg.run), Path(cfg.out)
    run.mkdir(parents=True, exist_ok=True)
    state_path = run / "state.pt"
    state = torch.load(state_path, weights_only=False) if state_path.is_file() else None
    train = pairs("train", cfg.language)
    val = pairs("val", cfg.language)
    per_epoch = -(-len(train[1]) // cfg.batch_size)
    if state is None and cfg.init:
        state = state_from_checkpoint(cfg.init, cfg.language, per_epoch)
        log(f"a new run from {cfg.init}")
    torch.manual_seed(cfg.seed)
    if state is None:
        tokenizer = train_tokenizer(train[1], cfg.vocab_size)
        shape = replace(shape or DecoderShape(), vocab_size=tokenizer.get_vocab_size())
        progress = {phase: unstarted() for phase in PHASES} | {"minutes": 0.0, "history": []}
    else:
        from tokenizers import Tokenizer

        tokenizer = Tokenizer.from_str(state["tokenizer"])
        shape = DecoderShape(**state["shape"])
        progress = per_phase(state["progress"])
        log(f"resuming {run}: {progress['minutes']:.1f} min trained")
    config = LanguageConfig(cfg.language, reader=cfg.reader, reader_layer=cfg.reader_layer, decoder=shape)
    lang = Language(config, tokenizer, VectorDecoder(shape), make_student(config))
    blend = isinstance(lang.student, BlendStudent)
    head = next((p for p in lang.student.parts if isinstance(p, LMStudent)), None) if blend else None
    # the part the student phase trains: the student itself, or a blend's one part that is not an LM head
    # (the head is fitted apart, before the phase: ``LMStudent.fit_head``)
    trainee = lang.student if not blend else next(p for p in lang.student.parts if p is not head)
    reads_lm = isinstance(trainee, LMStudent)
    student_lr = cfg.head_lr if reads_lm else cfg.student_lr
    dec_opt = torch.optim.AdamW(lang.decoder.parameters(), lr=cfg.lr, weight_decay=0.01)
    stu_params = [p for p in trainee.parameters() if p.requires_grad]
    stu_opt = torch.optim.AdamW(stu_params, lr=student_lr, weight_decay=0.01)
    if state is not None:
        lang.decoder.load_state_dict(state["decoder"])
        if "dec_opt" in state:  # a run started with --init has none yet
            dec_opt.load_state_dict(state["dec_opt"])
        was = state.get("reader", "minilm")
        if was == cfg.reader:
            lang.student.load_trained_state(state["student"])
            if "stu_opt" in state:
                stu_opt.load_state_dict(state["stu_opt"])
        elif blend and was in cfg.reader.split("+"):  # a blend around the trained student: that part is kept
            kept = lang.student.parts[cfg.reader.split("+").index(was)]
            kept.load_trained_state(state["student"])
            log(f"the student now reads through {cfg.reader}: its {was} part is the run's trained student")
            progress["history"] = [h for h in progress["history"] if h["phase"] == "decoder" or kept is trainee]
            if kept is head:
                progress["student"] = unstarted()
            progress["head_fitted"] = kept is head
        else:  # a new reader: the trained decoder stays, the new student starts
            log(f"the student now reads through {cfg.reader} (was {was}): it trains anew")
            progress["student"] = unstarted()
            progress["history"] = [h for h in progress["history"] if h["phase"] == "decoder"]
            progress["head_fitted"] = False
        if "rng" in state:  # the noise and dropout go on as they would have without the stop
            torch.set_rng_state(state["rng"])
    (run / "config.json").write_text(json.dumps(asdict(cfg), indent=2))
    target_ids = [e.ids for e in tokenizer.encode_batch(train[1])]

    def save() -> None:
        tmp = state_path.with_suffix(".tmp")
        torch.save(
            {
                "tokenizer": tokenizer.to_str(),
                "shape": asdict(shape),
                "progress": progress,
                "decoder": lang.decoder.state_dict(),
                "student": lang.student.trained_state(),
                "reader": cfg.reader,
                "dec_opt": dec_opt.state_dict(),
                "stu_opt": stu_opt.state_dict(),
                "rng": torch.get_rng_state(),
            },
            tmp,
        )
        tmp.replace(state_path)
        lang.info = {"training": asdict(cfg), "history": progress["history"], "minutes": round(progress["minutes"], 1)}
        lang.save(out)

    marks = {round(per_epoch * k / cfg.evals_per_epoch) for k in range(1, cfg.evals_per_epoch + 1)}

    def evaluation(phase: str, epochs: float) -> dict:
        figures = evaluate(lang, val, cfg.eval_sentences, phase)
        entry = {
            "phase": phase,
            "epochs": round(epochs, 2),
            "step": progress[phase]["step"],
            "minutes": round(progress["minutes"], 1),
            **figures,
        }
        log(json.dumps(entry, ensure_ascii=False))
        lang.decoder.train()
        lang.student.train()
        return entry

    started = last_save = time.time()
    for phase, epochs in zip(PHASES, (cfg.decoder_epochs, cfg.student_epochs)):
        at = progress[phase]  # this phase's epoch, batch within it, and step
        total = round(epochs * per_epoch)
        if phase == "student" and head is not None and not progress.get("head_fitted"):
            log(f"the blend's {head.source} part: reading the {len(train[1]):,} training sentences once, then its MLP")
            head.cache_features = True  # read once: the scale and every pass of the MLP use the same states
            head.fit_scale(train[1])
            curve = head.fit_head(
                train[1],
                train[2],
                epochs=cfg.head_epochs,
                lr=cfg.head_lr,
                batch_size=cfg.batch_size,
                loss=cfg.student_loss,
                temperature=cfg.temperature,
                seed=cfg.seed,
            )
            progress["head_fitted"] = True
            entry = evaluation("student", at["epoch"] + at["batch"] / per_epoch)
            progress["history"].append(
                entry | {"part": "head", "head_epochs": cfg.head_epochs, "head_loss": round(curve[-1], 4)}
            )
            save()
        if at["step"] >= total:
            continue  # done (a longer run of a phase: raise its epochs and run again)
        model_opt = dec_opt if phase == "decoder" else stu_opt
        peak = cfg.lr if phase == "decoder" else student_lr
        if phase == "student" and reads_lm:
            trainee.cache_features = True  # the frozen LM's states, once per sentence
            if at["step"] == 0:
                log(f"reading the {len(train[1]):,} training sentences through {cfg.reader} once")
                trainee.fit_scale(train[1])
        bar = tqdm(desc=f"{cfg.language} {phase}", total=total, initial=at["step"], unit="step")
        while at["step"] < total and time.time() - started < cfg.minutes * 60:
            order = list(range(len(target_ids)))
            random.Random(cfg.seed * 1000 + at["epoch"]).shuffle(order)
            for b in range(at["batch"], per_epoch):
                rows = order[b * cfg.batch_size : (b + 1) * cfg.batch_size]
                tick = time.time()
                for group in model_opt.param_groups:
                    group["lr"] = warmup_cosine(
                        at["step"], peak=peak, warmup=max(1, min(200, total // 10)), total=total
                    )
                with torch.autocast("cpu", dtype=torch.bfloat16, enabled=cfg.bf16):
                    if phase == "decoder":
                        z = train[2][rows]
                        if cfg.noise > 0:
                            noise = torch.randn_like(z)
                            z = F.normalize(z + cfg.noise * noise / noise.norm(dim=-1, keepdim=True), dim=-1)
                        loss, _ = lang.decoder.loss(z, [target_ids[i] for i in rows])
                    else:
                        s = trainee([train[1][i] for i in rows])
                        loss = distillation_loss(s, train[2][rows], loss=cfg.student_loss, temperature=cfg.temperature)
                loss.backward()
                torch.nn.utils.clip_grad_norm_([p for g in model_opt.param_groups for p in g["params"]], 1.0)
                model_opt.step()
                model_opt.zero_grad(set_to_none=True)
                at["step"] += 1
                at["batch"] = b + 1
                progress["minutes"] += (time.time() - tick) / 60
                bar.update(1)
                bar.set_postfix(loss=f"{loss.item():.3f}", min=f"{progress['minutes']:.1f}")
                if time.time() - last_save > cfg.save_minutes * 60:
                    save()
                    last_save = time.time()
                if at["batch"] in marks or at["step"] >= total:
                    progress["history"].append(evaluation(phase, at["epoch"] + at["batch"] / per_epoch))
                if at["step"] >= total or time.time() - started >= cfg.minutes * 60:
                    break
            if at["batch"] >= per_epoch:
                at["epoch"] += 1
                at["batch"] = 0
        bar.close()
        if at["step"] < total:
            break  # out of time in this phase: the next sitting goes on here
    lang.decoder.eval()
    lang.student.eval()
    save()
    return out
