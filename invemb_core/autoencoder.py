"""``Autoencoder``: text in, vectors out, and back. The object every user of InvEmb holds.

It pairs a ``SentenceAutoencoder`` (model.py) with a ``TextCodec`` (text.py) and turns the decoding
functions of decode.py into one ``decode(Z, strategy=...)`` call. Building from a config lives here;
saving and loading live in checkpoint.py.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping, Sequence
from itertools import islice
from typing import Any

import torch
import torch.nn.functional as F

from .config import DecodeConfig, ModelConfig
from .data import collate
from .engine import Engine
from .errors import InvEmbError
from .lexicon import Lexicon, load_words
from .lm_decoder import has_meaning_decoder
from .lm_decoder import load as load_meaning_decoder
from .meaning_lm import DEFAULT, with_default, write_many
from .model import SentenceAutoencoder
from .text import TextCodec, Vocabulary, clean_text, load_token_embeddings, resolve_model_dir
from .twopart import TwoPartAutoencoder, keep_wording
from .vector_cache import VectorCache

ENCODE_BATCH = 256
MEANING_MAX_LENGTH = 254  # all-MiniLM-L6-v2 reads 256 pieces, [CLS] and [SEP] included


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
        self.model.fast_logits = True  # bf16 output layer, float32-exact near the top (fast_logits.py)
        self.codec = codec
        self.config = config
        self.info = info or {}  # what checkpoint.py read or will write: metrics, training config, name
        self.vector_cache = VectorCache(self.model)
        self._meaning_decoder_lock = threading.Lock()

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
        if cfg.meaning:
            return TwoPartAutoencoder(
                cfg, embeddings, special, allowed, token_ids=codec.vocab.token_ids, tokenizer_dir=codec.model_dir
            )
        return SentenceAutoencoder(cfg, embeddings, special, allowed)

    # ---- text -> vectors -------------------------------------------------------------------------

    @property
    def vector_size(self) -> int:
        return self.config.vector_size

    @property
    def meaning_size(self) -> int:
        """How many of the vector's numbers are its meaning part (0: one learned code, no separate meaning)."""
        return self.model.meaning_size if isinstance(self.model, TwoPartAutoencoder) else 0

    @property
    def wording_size(self) -> int:
        """How many numbers follow the meaning part (the wording code); the whole vector without one."""
        return self.vector_size - self.meaning_size

    @property
    def meaning_and_wording(self) -> bool:
        """Whether the vector is a meaning part followed by a wording code, so that ``meaning(Z, keep=...)``
        trades exactness for paraphrase (False for a plain code, and for a meaning with no code after it)."""
        return bool(self.meaning_size and self.wording_size)

    def meaning(self, Z: torch.Tensor, *, keep: float = 0.0) -> torch.Tensor:
        """Remove the wording from sentence vectors and keep their meaning.

        ``decode(meaning(encode(s)))`` writes a sentence that means the same as ``s``, usually in other
        words; sampling it gives paraphrases. The wording code is ordered (its first numbers matter most),
        so ``keep`` moves from meaning only (0.0) to the exact sentence (1.0).

        Args:
            Z: (N, d) or (d,) vectors from ``encode``.
            keep: the share of the wording code to keep, from its start.

        Raises:
            InvEmbError: if this checkpoint's vector has no separate meaning part.
        """
        self._require_meaning()
        return keep_wording(self._check_vectors(Z), meaning_size=self.meaning_size, keep=keep)

    def _require_meaning(self) -> None:
        if not self.meaning_size:
            raise InvEmbError(
                "this checkpoint's vector is one learned code with no separate meaning part; "
                "load a two-part checkpoint (its config has a 'meaning' model), such as checkpoints/default"
            )

    def from_meaning(self, M: torch.Tensor) -> torch.Tensor:
        """Two-part vectors (N, d) from meaning vectors alone (N, meaning_size), e.g. all-MiniLM-L6-v2
        embeddings you already have (``SentenceTransformer.encode(..., normalize_embeddings=True)``):
        ``decode(from_meaning(M))`` writes a sentence with that meaning."""
        self._require_meaning()
        M = torch.as_tensor(M, dtype=torch.float32)
        M = M[None, :] if M.ndim == 1 else M
        if M.ndim != 2 or M.shape[1] != self.meaning_size:
            raise InvEmbError(f"expected meaning vectors of shape (N, {self.meaning_size}), got {tuple(M.shape)}")
        M = F.normalize(M, dim=-1)  # the meaning part is unit length
        return torch.cat([M, M.new_zeros(M.shape[0], self.wording_size)], dim=-1)

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
        """Local ids per sentence -> (N, d). Each distinct sentence is encoded once (decodings often
        repeat one another), in batches of similar lengths (little padding), and not at all if it was
        encoded lately by the model as it is now (``vector_cache.py``); rows in the order given."""
        rows = [tuple(row) for row in ids]
        distinct = list(dict.fromkeys(rows))
        vectors = self.vector_cache.lookup(distinct)
        todo = sorted((row for row in distinct if row not in vectors), key=len)
        fresh: dict[tuple[int, ...], torch.Tensor] = {}
        for start in range(0, len(todo), ENCODE_BATCH):
            chunk = todo[start : start + ENCODE_BATCH]
            batch = collate([list(row) for row in chunk], pad=self.codec.vocab.pad)
            fresh.update(zip(chunk, self.model.encode(batch.tokens, batch.lengths)))
        self.vector_cache.store(distinct, fresh)
        vectors.update(fresh)
        return torch.stack([vectors[row] for row in rows])

    def encode(self, sentences: str | Sequence[str]) -> torch.Tensor:
        """Sentences -> (N, d) float tensor. Longer sentences are truncated to ``max_length`` pieces
        (a two-part vector's meaning part still embeds the whole sentence, as its sentence-transformer does)."""
        if isinstance(sentences, str):
            sentences = [sentences]
        ids, truncated = self.tokenize(sentences)
        Z = self.encode_ids(ids)
        outside = not self.codec.vocab.is_full  # a corpus vocabulary turns unseen pieces into [UNK]
        if self.meaning_size and (outside or any(truncated)):
            rows = [i for i, cut in enumerate(truncated) if cut or outside]
            text = [clean_text(sentences[i])[: MEANING_MAX_LENGTH * 20] for i in rows]
            pieces = [ids[:MEANING_MAX_LENGTH] for ids in self.codec.tokenizer_ids(text)]
            Z[rows, : self.meaning_size] = self.model.meaning_encoder.embed_tokenizer_ids(pieces)
        return Z

    # ---- vectors -> text -------------------------------------------------------------------------

    @property
    def default_decoding(self) -> dict[str, Any]:
        """The decoding ``decode``/``reconstruct``/``evaluate`` use when no ``strategy`` is given: the
        checkpoint's ``"decoding"`` (config.json), else greedy."""
        return dict(self.info.get("decoding") or {"strategy": "greedy"})

    def decode_ids(self, Z: torch.Tensor, **kwargs: Any) -> list[list[int]]:
        """(N, d) -> local ids per row. Keyword arguments are those of ``DecodeConfig``; without a
        ``strategy``, the checkpoint's default decoding (``default_decoding``) with them on top."""
        return self.decode_ids_many(Z, {"": with_default(kwargs)})[""]

    def decode_ids_many(
        self, Z: torch.Tensor, decodings: Mapping[str, Mapping[str, Any]]
    ) -> dict[str, list[list[int]]]:
        """Several decodings of the same vectors: ``{name: DecodeConfig keywords}`` -> ``{name: ids per row}``
        (a row the meaning decoder writes comes back as its text's pieces; see ``write_many``). An entry
        without a ``strategy`` is ``DecodeConfig``'s (greedy); ``strategy="default"`` is the checkpoint's own."""
        out, _ = self.write_many(Z, decodings)
        return {name: self.as_ids(rows) for name, rows in out.items()}

    def as_ids(self, outputs: Sequence[str | list[int]]) -> list[list[int]]:
        """``write_many``'s outputs as piece ids: the meaning decoder's texts tokenised (in one call), ids kept."""
        texts = [i for i, x in enumerate(outputs) if isinstance(x, str) and x.strip()]  # an empty text: no ids
        ids = [list(x) if not isinstance(x, str) else [] for x in outputs]
        if texts:
            for i, row in zip(texts, self.codec.encode([outputs[i] for i in texts])[0]):
                ids[i] = row
        return ids

    def write_many(
        self, Z: torch.Tensor, decodings: Mapping[str, Mapping[str, Any]]
    ) -> tuple[dict[str, list], dict[str, list[str]]]:
        """Every decoding of ``Z``, each row by its writer (``meaning_lm.py``): rows with no wording code go to
        the checkpoint's meaning decoder when it has one (unless ``writer="decoder"``), the rest to its own
        decoder. Returns ``({name: output per row}, {name: writer per row})``: piece ids from the own
        decoder, text from the meaning decoder."""
        return write_many(self, self._check_vectors(Z), decodings, self._engine_ids)

    @torch.no_grad()
    def _engine_ids(self, Z: torch.Tensor, decodings: Mapping[str, Mapping[str, Any]]) -> dict[str, list[list[int]]]:
        """The own decoder's decodings (``engine.py``): each gives exactly what it gives alone, but the decoder
        runs once for all (a parallel decoder's logits depend only on the vector; an autoregressive decoder
        steps all sampled decodings together). Beam search runs on its own. ``strategy="default"`` is the
        checkpoint's default decoding with the other keywords on top."""
        configs = {name: DecodeConfig(**self._resolve_default(kwargs)) for name, kwargs in decodings.items()}
        return self.engine.decode_many(Z, configs)

    def _resolve_default(self, kwargs: Mapping[str, Any]) -> dict[str, Any]:
        if kwargs.get("strategy") != DEFAULT:
            return dict(kwargs)
        return {**self.default_decoding, **{k: v for k, v in kwargs.items() if k != "strategy"}}

    # ---- the meaning decoder ----------------------------------------------------------------------

    def get_meaning_decoder(self, *, required: bool = False):
        """The checkpoint's meaning decoder (``lm_decoder.py``), loaded on first use; None if it has none, or
        if it cannot load and ``required`` is false (then ``meaning_decoder_note`` says why)."""
        with self._meaning_decoder_lock:  # the app's warm-up thread and a page may both ask first
            self._load_meaning_decoder()
        if self._meaning_decoder is None and required:
            raise getattr(self, "_load_error", None) or InvEmbError("this checkpoint has no meaning decoder")
        return self._meaning_decoder

    def _load_meaning_decoder(self) -> None:
        if not hasattr(self, "_meaning_decoder"):
            self._meaning_decoder, self.meaning_decoder_note = None, ""
            where = self.info.get("path")
            if where and has_meaning_decoder(where):
                try:
                    self._meaning_decoder = load_meaning_decoder(where)
                except InvEmbError as e:
                    self.meaning_decoder_note = (
                        f"the meaning decoder is not available, so the small decoder wrote these rows: {e}"
                    )
                    self._load_error = e

    def set_meaning_decoder(self, decoder) -> None:
        """Use this meaning decoder for rows with no wording code (None: the own decoder writes them)."""
        self._meaning_decoder, self.meaning_decoder_note = decoder, ""

    @property
    def engine(self) -> Engine:
        """The decoding engine over this model (``engine.py``); it encodes through ``encode_ids``."""
        return Engine(
            self.model,
            bos=self.codec.vocab.bos,
            eos=self.codec.vocab.eos,
            unk=self.codec.vocab.unk,
            max_length=self.config.max_length,
            meaning_size=self.meaning_size,
            encode_ids=self.encode_ids,
            lexicon=lambda: self.lexicon,
        )

    @property
    def lexicon(self) -> Lexicon | None:
        """The words sampling may spell (``lexicon.py``): the checkpoint's ``lexicon.txt.gz``, read on first
        use; None for a checkpoint without one, a parallel decoder, or a model not loaded from disk."""
        if not hasattr(self, "_lexicon"):
            words = load_words(self.info["path"]) if self.info.get("path") and self.model.autoregressive else None
            self._lexicon = None if words is None else Lexicon.for_codec(self.codec, words)
        return self._lexicon

    def set_lexicon(self, words: Iterable[Sequence[str]] | None) -> None:
        """Use these words (each as its piece strings) for whole-word sampling; None: sample freely."""
        self._lexicon = None if words is None else Lexicon.for_codec(self.codec, words)

    def decode(self, Z: torch.Tensor, **kwargs: Any) -> list[str]:
        """(N, d) vectors -> sentences.

        Args:
            Z: sentence vectors, shape (N, d) or (d,).
            **kwargs: ``strategy`` ("greedy", "sample", "beam", "rerank"; default: the checkpoint's
                ``default_decoding``, usually greedy), ``temperature``, ``top_k``, ``top_p``,
                ``beam_size``, ``num_candidates``, ``seed``, ``max_length``; ``writer`` ("auto": rows with
                no wording code go to the meaning decoder if the checkpoint has one; "lm"; "decoder").
        """
        return self.decode_many(Z, {"": with_default(kwargs)})[""]

    def decode_many(self, Z: torch.Tensor, decodings: Mapping[str, Mapping[str, Any]]) -> dict[str, list[str]]:
        """Several decodings of the same vectors, ``{name: decode keywords}`` -> ``{name: sentences}``,
        for about the cost of one (see ``write_many``)."""
        out, _ = self.write_many(Z, decodings)
        return {n: [x if isinstance(x, str) else self.codec.decode(x) for x in rows] for n, rows in out.items()}

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
