"""``Autoencoder``: text in, vectors out, and back. The object every user of InvEmb holds.

It pairs a ``SentenceAutoencoder`` (model.py) with a ``TextCodec`` (text.py) and turns the decoding
functions of decode.py into one ``decode(Z, strategy=...)`` call. Building from a config lives here;
saving and loading live in checkpoint.py.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict
from itertools import islice
from typing import Any

import torch

from . import decode as dec
from .config import DecodeConfig, ModelConfig
from .data import collate
from .errors import InvEmbError
from .model import SentenceAutoencoder
from .text import TextCodec, Vocabulary, load_token_embeddings, resolve_model_dir

ENCODE_BATCH = 256
DECODE_BATCH = 32  # full-vocabulary logits are (B, T, 30k): keep B small


def build_embeddings(cfg: ModelConfig, model_dir: str, vocab: Vocabulary, *, seed: int = 0) -> torch.Tensor:
    """The (V, E) token-embedding table: pretrained rows of the vocabulary, or a seeded random one."""
    if cfg.embedding_source == "scratch":
        g = torch.Generator().manual_seed(seed)
        return torch.randn(vocab.size, cfg.scratch_embedding_size, generator=g) * 0.05
    full = load_token_embeddings(model_dir)
    if max(vocab.token_ids) >= full.shape[0]:
        raise InvEmbError(f"the vocabulary has ids beyond the {full.shape[0]} embeddings of {model_dir}")
    return full[list(vocab.token_ids)]


def batched(items: Iterable, n: int):
    it = iter(items)
    while chunk := list(islice(it, n)):
        yield chunk


class Autoencoder:
    """A trained (or freshly built) sentence autoencoder with its tokenizer.

    Use ``invemb_core.load()`` to get one; ``encode``/``decode``/``reconstruct`` are the whole API.
    """

    def __init__(self, model: SentenceAutoencoder, codec: TextCodec, config: ModelConfig, *, info: dict | None = None):
        self.model = model.eval()
        self.codec = codec
        self.config = config
        self.info = info or {}  # what checkpoint.py read or will write: metrics, training config, name

    @classmethod
    def build(cls, cfg: ModelConfig, *, corpus: Iterable[str] = (), seed: int = 0) -> Autoencoder:
        """A new, untrained autoencoder. ``corpus`` (any iterable, read once, in chunks) defines the
        vocabulary when output_vocab == "corpus" or the embeddings are trained from scratch."""
        model_dir = resolve_model_dir(cfg.embedding_source)
        corpus_ids: list[list[int]] = []
        if cfg.output_vocab == "corpus" or cfg.embedding_source == "scratch":
            probe = TextCodec(
                model_dir, TextCodec.build_vocab(model_dir, output_vocab="full"), max_length=cfg.max_length
            )
            seen: set[int] = set()
            for chunk in batched(corpus, 10_000):
                seen.update(i for ids in probe.tokenizer_ids(list(chunk)) for i in ids)
            corpus_ids = [sorted(seen)]
        vocab_kind = "corpus" if cfg.embedding_source == "scratch" else cfg.output_vocab
        vocab = TextCodec.build_vocab(model_dir, output_vocab=vocab_kind, corpus_ids=corpus_ids)
        codec = TextCodec(model_dir, vocab, max_length=cfg.max_length)
        torch.manual_seed(seed)
        model = cls.make_model(cfg, codec, build_embeddings(cfg, model_dir, vocab, seed=seed))
        return cls(model, codec, cfg)

    @staticmethod
    def make_model(cfg: ModelConfig, codec: TextCodec, embeddings: torch.Tensor) -> SentenceAutoencoder:
        allowed = torch.zeros(codec.vocab.size, dtype=torch.bool)
        allowed[codec.output_candidates()] = True
        special = {"pad": codec.vocab.pad, "bos": codec.vocab.bos, "eos": codec.vocab.eos, "mask": codec.vocab.mask}
        return SentenceAutoencoder(cfg, embeddings, special, allowed)

    # ---- text -> vectors -------------------------------------------------------------------------

    @property
    def vector_size(self) -> int:
        return self.config.vector_size

    @property
    def supports_beam(self) -> bool:
        return self.model.autoregressive

    def tokenize(self, sentences: str | Sequence[str]) -> tuple[list[list[int]], list[bool]]:
        """Local ids per sentence and whether each was truncated to the model's maximum length."""
        if isinstance(sentences, str):
            sentences = [sentences]
        if len(sentences) == 0:
            raise InvEmbError("no sentences given")
        return self.codec.encode(sentences)

    @torch.no_grad()
    def encode_ids(self, ids: Sequence[Sequence[int]]) -> torch.Tensor:
        chunks = []
        for start in range(0, len(ids), ENCODE_BATCH):
            batch = collate(ids[start : start + ENCODE_BATCH], pad=self.codec.vocab.pad)
            chunks.append(self.model.encode(batch.tokens, batch.lengths))
        return torch.cat(chunks)

    def encode(self, sentences: str | Sequence[str]) -> torch.Tensor:
        """Sentences -> (N, d) float tensor. Longer sentences are truncated to ``max_length`` pieces."""
        ids, _ = self.tokenize(sentences)
        return self.encode_ids(ids)

    # ---- vectors -> text -------------------------------------------------------------------------

    @torch.no_grad()
    def decode_ids(self, Z: torch.Tensor, **kwargs: Any) -> list[list[int]]:
        """(N, d) -> local ids per row. Keyword arguments are those of ``DecodeConfig``."""
        cfg = DecodeConfig(**kwargs)
        Z = self._check_vectors(Z)
        max_length = min(cfg.max_length or self.config.max_length, self.config.max_length)
        if cfg.strategy == "beam" and not self.supports_beam:
            raise InvEmbError("beam search needs an autoregressive decoder; this checkpoint's is parallel")
        if cfg.strategy == "rerank":
            return self._rerank(Z, cfg, max_length)
        if cfg.strategy == "greedy":
            sampling = {"temperature": 0.0}
        else:
            sampling = {"temperature": cfg.temperature, "top_k": cfg.top_k, "top_p": cfg.top_p}
        generator = torch.Generator().manual_seed(cfg.seed) if cfg.seed is not None else None
        sampling["generator"] = generator
        out: list[list[int]] = []
        for start in range(0, Z.shape[0], DECODE_BATCH):
            z = Z[start : start + DECODE_BATCH]
            if cfg.strategy == "beam":
                out += self._beam(z, cfg.beam_size, max_length)
            elif self.model.autoregressive:
                out += dec.autoregressive_decode(
                    lambda prev, state, z=z: self.model.step(z, prev, state),
                    batch_size=z.shape[0],
                    bos=self.codec.vocab.bos,
                    eos=self.codec.vocab.eos,
                    max_length=max_length,
                    **sampling,
                )
            else:
                vectors = self.model.output_vectors(z, max_length + 1)  # cheap; the logits are not
                out += dec.parallel_decode_in_chunks(
                    lambda a, b, v=vectors: self.model.full_logits(v[:, a:b]),
                    length=max_length + 1,
                    eos=self.codec.vocab.eos,
                    **sampling,
                )
        return [ids[:max_length] for ids in out]  # a row with no end token is cut at the maximum

    def _beam(self, z: torch.Tensor, beam_size: int, max_length: int) -> list[list[int]]:
        zk = z.repeat_interleave(beam_size, dim=0)
        return dec.beam_search(
            lambda prev, state: self.model.step(zk, prev, state),
            dec.reorder_state,
            batch_size=z.shape[0],
            beam_size=beam_size,
            bos=self.codec.vocab.bos,
            eos=self.codec.vocab.eos,
            max_length=max_length,
        )

    def _rerank(self, Z: torch.Tensor, cfg: DecodeConfig, max_length: int) -> list[list[int]]:
        # Candidate 0 is the greedy decoding, so reranking can only move closer to the target vector.
        sample_kwargs = {k: v for k, v in asdict(cfg).items() if k not in ("strategy", "num_candidates")}
        candidates = [self.decode_ids(Z, strategy="greedy", max_length=max_length)]
        for i in range(cfg.num_candidates - 1):
            seed = None if cfg.seed is None else cfg.seed + i
            candidates.append(self.decode_ids(Z, **{**sample_kwargs, "strategy": "sample", "seed": seed}))
        out = []
        for row in range(Z.shape[0]):
            options = [c[row] or [self.codec.vocab.unk] for c in candidates]
            best = dec.closest(self.encode_ids(options), Z[row])
            out.append(options[int(best)])
        return out

    def decode(self, Z: torch.Tensor, **kwargs: Any) -> list[str]:
        """(N, d) vectors -> sentences.

        Args:
            Z: sentence vectors, shape (N, d) or (d,).
            **kwargs: ``strategy`` ("greedy", "sample", "beam", "rerank"), ``temperature``, ``top_k``,
                ``top_p``, ``beam_size``, ``num_candidates``, ``seed``, ``max_length``.
        """
        return [self.codec.decode(ids) for ids in self.decode_ids(Z, **kwargs)]

    def reconstruct(self, sentences: str | Sequence[str], **kwargs: Any) -> list[str]:
        """encode + decode. Takes the same keyword arguments as ``decode``."""
        return self.decode(self.encode(sentences), **kwargs)

    def normalize(self, sentence: str) -> str:
        """The reconstruction target: what the tokenizer keeps of ``sentence`` (lower case, truncated)."""
        return self.codec.normalize(sentence)

    def _check_vectors(self, Z: Any) -> torch.Tensor:
        Z = torch.as_tensor(Z, dtype=torch.float32)
        if Z.ndim == 1:
            Z = Z[None, :]
        if Z.ndim != 2 or Z.shape[1] != self.vector_size or Z.shape[0] == 0:
            raise InvEmbError(f"expected vectors of shape (N, {self.vector_size}), got {tuple(Z.shape)}")
        if not torch.isfinite(Z).all():
            raise InvEmbError("the vectors contain NaN or infinity")
        return Z

    def __repr__(self) -> str:
        c = self.config
        return (
            f"Autoencoder(encoder={c.encoder}, decoder={c.decoder}/{c.decoder_cell}, d={c.vector_size}, "
            f"vocab={self.codec.vocab.size}, embeddings={c.embedding_source})"
        )
