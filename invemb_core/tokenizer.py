"""The word-piece tokenizer, read with the `tokenizers` library alone.

transformers' ``AutoTokenizer`` wraps the same Rust tokenizer, but importing it takes about 1.5 s of
the app's cold start. A model directory with a ``tokenizer.json`` (every fast tokenizer saves one) is
read here directly; anything else (a slow tokenizer's files, a hub id) goes through ``AutoTokenizer``
once and keeps its backend. Either way the pieces, offsets and decoded text are transformers' own
(tests/test_tokenizer.py compares the two on every corpus sentence shipped with the repo).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

from tokenizers import Tokenizer

from .errors import InvEmbError

SPECIAL = ("pad", "unk", "cls", "sep", "mask")
DEFAULT_SPECIAL = {name: f"[{name.upper()}]" for name in SPECIAL}

# transformers' ``clean_up_tokenization``: the spacing a word-piece decoder leaves before punctuation.
CLEAN_UP = [
    (" .", "."),
    (" ?", "?"),
    (" !", "!"),
    (" ,", ","),
    (" ' ", "'"),
    (" n't", "n't"),
    (" 'm", "'m"),
    (" 's", "'s"),
    (" 've", "'ve"),
    (" 're", "'re"),
]


class WordPieces:
    """Text <-> tokenizer ids, without special tokens, truncation or padding.

    Attributes ``pad_token_id``, ``unk_token_id``, ``cls_token_id``, ``sep_token_id``, ``mask_token_id``:
    the special pieces' ids (None if the tokenizer lacks one).
    """

    def __init__(self, backend: Tokenizer, special: dict[str, str]):
        self.backend = backend
        self.backend.no_truncation()
        self.backend.no_padding()
        for name in SPECIAL:
            setattr(self, f"{name}_token_id", backend.token_to_id(special.get(name) or DEFAULT_SPECIAL[name]))

    def __len__(self) -> int:
        return self.backend.get_vocab_size(with_added_tokens=True)

    def ids(self, texts: Sequence[str]) -> list[list[int]]:
        return [e.ids for e in self.backend.encode_batch(list(texts), add_special_tokens=False)]

    def ids_and_offsets(self, text: str) -> tuple[list[int], list[tuple[int, int]]]:
        """One text's ids and, for each, the characters it came from (start, end)."""
        enc = self.backend.encode(text, add_special_tokens=False)
        return enc.ids, enc.offsets

    def decode(self, ids: Sequence[int]) -> str:
        """Ids -> text, with transformers' clean-up of the spaces before punctuation."""
        text = self.backend.decode(list(ids), skip_special_tokens=False)
        for before, after in CLEAN_UP:
            text = text.replace(before, after)
        return text

    def convert_ids_to_tokens(self, ids: int | Sequence[int]) -> str | list[str]:
        """A piece's string (one id) or the pieces' strings (several), as transformers gives them."""
        if isinstance(ids, int):
            return self.backend.id_to_token(ids)
        return [self.backend.id_to_token(i) for i in ids]

    def get_vocab(self) -> dict[str, int]:
        return self.backend.get_vocab(with_added_tokens=True)


def _special_names(root: Path) -> dict[str, str]:
    """The special pieces' strings from ``special_tokens_map.json``/``tokenizer_config.json``, if given."""
    names: dict[str, str] = {}
    for file in ("tokenizer_config.json", "special_tokens_map.json"):
        path = root / file
        if path.is_file():
            given = json.loads(path.read_text())
            for name in SPECIAL:
                value = given.get(f"{name}_token")
                if isinstance(value, dict):  # {"content": "[PAD]", ...}
                    value = value.get("content")
                if isinstance(value, str):
                    names[name] = value
    return names


@lru_cache(maxsize=8)
def load_word_pieces(model_dir: str) -> WordPieces:
    """The tokenizer of a model directory (or hub id), cached: tokenizers are immutable here."""
    root = Path(model_dir)
    if (root / "tokenizer.json").is_file():
        try:
            return WordPieces(Tokenizer.from_file(str(root / "tokenizer.json")), _special_names(root))
        except Exception as e:  # the Rust library raises its own exception type
            raise InvEmbError(f"could not read {root / 'tokenizer.json'}: {e}") from e
    from transformers import AutoTokenizer

    try:
        hf = AutoTokenizer.from_pretrained(model_dir, use_fast=True)
    except OSError as e:
        raise InvEmbError(f"could not load a tokenizer from {model_dir!r}: {e}") from e
    if not hasattr(hf, "backend_tokenizer"):
        raise InvEmbError(f"{model_dir!r} has no fast tokenizer (tokenizer.json); InvEmb needs one")
    special = {name: getattr(hf, f"{name}_token") for name in SPECIAL if getattr(hf, f"{name}_token", None)}
    return WordPieces(hf.backend_tokenizer, special)
