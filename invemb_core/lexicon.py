"""Whole-word sampling: sampled word pieces only ever spell words the model has read.

A WordPiece vocabulary writes a word as a start piece and continuation pieces ("bird", "##icle"). A
sampler that draws one piece at a time can glue fragments no word has: "bird" + "##icle", "pap" +
"##ua" + "##more" + "##e". The lexicon is the set of words of the training text (and, if given, of a
word list), each as its piece sequence, kept in a prefix tree. While sampling, a row that is inside a
word may only continue it along the tree; it may end the word (start another, write punctuation, end
the sentence) only where the tree says a word ends; and a new word may only begin with a piece that
begins some word. Numbers are words too ("1990", "19" + "##90s" only as seen); punctuation is free.

It is a rule on logits, like the loop guard, for autoregressive decoders. ``DecodeConfig.whole_words``
applies it to sampled draws (the ``sample`` strategy and rerank's samples); greedy and beam search, which
must give back a typed sentence's own rare words, never use it. A checkpoint keeps its lexicon in
``lexicon.txt.gz`` (one word per line, as its pieces); ``invemb lexicon`` writes it.
"""

from __future__ import annotations

import gzip
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

import torch

from .errors import InvEmbError
from .text import TextCodec

LEXICON_FILE = "lexicon.txt.gz"
_FREE, _BOUNDARY = -1, -2  # row states besides a node of the tree


def _is_word_start(piece: str) -> bool:
    return not piece.startswith("##") and piece[:1].isalnum()


def words_of(codec: TextCodec, texts: Iterable[str], *, batch: int = 10_000) -> Counter[tuple[str, ...]]:
    """How often each word (a tuple of piece strings: start piece, then ``##`` pieces) occurs in ``texts``.
    Words begin with a letter or a digit; the split is the tokenizer's own (punctuation apart, lower case)."""
    strings = codec.tokenizer.convert_ids_to_tokens
    counts: Counter[tuple[str, ...]] = Counter()
    chunk: list[str] = []

    def flush() -> None:
        for ids in codec.tokenizer_ids(chunk) if chunk else []:
            word: list[str] = []
            for piece in strings(ids):
                if piece.startswith("##") and word:
                    word.append(piece)
                    continue
                if word and _is_word_start(word[0]):
                    counts[tuple(word)] += 1
                word = [piece]
            if word and _is_word_start(word[0]):
                counts[tuple(word)] += 1
        chunk.clear()

    for text in texts:
        if text.strip():
            chunk.append(text)
        if len(chunk) >= batch:
            flush()
    flush()
    return counts


def build_words(
    codec: TextCodec, texts: Iterable[str], *, min_count: int = 2, word_list: Iterable[str] = ()
) -> list[tuple[str, ...]]:
    """The lexicon's words: those seen ``min_count`` times or more in ``texts``, plus every word of
    ``word_list`` (lines of a dictionary such as Debian's wamerican), sorted."""
    counts = words_of(codec, texts)
    kept = {w for w, n in counts.items() if n >= min_count}
    kept |= set(words_of(codec, word_list))
    return sorted(kept)


def save_words(directory: str | Path, words: Sequence[tuple[str, ...]]) -> Path:
    path = Path(directory) / LEXICON_FILE
    with gzip.open(path, "wt", encoding="utf-8", compresslevel=9) as f:
        f.writelines(" ".join(w) + "\n" for w in words)
    return path


def load_words(directory: str | Path) -> list[tuple[str, ...]] | None:
    """The words of a checkpoint's ``lexicon.txt.gz``, or None if it has none."""
    path = Path(directory) / LEXICON_FILE
    if not path.is_file():
        return None
    try:
        with gzip.open(path, "rt", encoding="utf-8") as f:
            return [tuple(line.split()) for line in f if line.strip()]
    except (OSError, EOFError, UnicodeDecodeError) as e:
        raise InvEmbError(f"{path} is not a readable gzip word list: {e}") from e


class Lexicon:
    """A prefix tree over the local piece ids of known words, and the logit rule it implies.

    Args:
        piece_strings: the string of every local id (``TextCodec.token_strings()``).
        words: each word as its piece strings; words with a piece outside the vocabulary are skipped.
        eos: the end-of-sentence id (always allowed where a word may end).
        allowed: the ids a decoder may emit at all (``TextCodec.output_candidates``); default all.
    """

    def __init__(
        self,
        piece_strings: Sequence[str],
        words: Iterable[Sequence[str]],
        *,
        eos: int,
        allowed: torch.Tensor | None = None,
    ):
        V = len(piece_strings)
        local = {p: i for i, p in enumerate(piece_strings)}
        self.vocab_size = V
        self.is_start = torch.tensor([not p.startswith("##") for p in piece_strings])
        self.starts_word = torch.tensor([_is_word_start(p) for p in piece_strings])
        # The same as lists: state() looks pieces up one by one, which Python lists do far faster.
        self._start, self._word_start = self.is_start.tolist(), self.starts_word.tolist()
        # children[node] = {piece: child node}; node 0 is the root; terminal[node]: a word ends there.
        children: list[dict[int, int]] = [{}]
        terminal = [False]
        self.size = 0
        for word in words:
            ids = [local.get(p) for p in word]
            if not ids or any(i is None for i in ids) or not self._word_start[ids[0]]:
                continue
            node = 0
            for i in ids:
                if i not in children[node]:
                    children[node][i] = len(children)
                    children.append({})
                    terminal.append(False)
                node = children[node][i]
            if not terminal[node]:
                terminal[node] = True
                self.size += 1
        self._children = children
        self._terminal = terminal
        self._child_tensors: dict[int, torch.Tensor] = {}
        # Where a word may end: punctuation, a piece that begins a word of the tree, or the end of the sentence.
        boundary = self.is_start & ~self.starts_word
        boundary[self._kids(0)] = True
        boundary[eos] = True
        if allowed is not None:
            boundary &= allowed
        self.boundary = boundary

    @classmethod
    def for_codec(cls, codec: TextCodec, words: Iterable[Sequence[str]]) -> Lexicon:
        allowed = torch.zeros(codec.vocab.size, dtype=torch.bool)
        allowed[codec.output_candidates()] = True
        return cls(codec.token_strings(), words, eos=codec.vocab.eos, allowed=allowed)

    def state(self, pieces: Sequence[int]) -> int:
        """Where a prefix stands: a tree node (inside a word), ``_BOUNDARY`` (at the start, or after
        punctuation) or ``_FREE`` (in a word the tree does not have: the prefix was not written under
        this rule, so nothing is restricted)."""
        last = len(pieces)
        while last > 0 and not self._start[pieces[last - 1]]:
            last -= 1
        if last == 0:
            return _BOUNDARY if not pieces else _FREE
        first = pieces[last - 1]
        if not self._word_start[first]:
            return _BOUNDARY
        node = 0
        for piece in pieces[last - 1 :]:
            node = self._children[node].get(piece, -1)
            if node < 0:
                return _FREE
        return node

    def knows_all_words(self, pieces: Sequence[int]) -> bool:
        """Whether every word of ``pieces`` (a start piece and its ``##`` pieces) is a word of the lexicon,
        as whole-word sampling would only have written; punctuation and other non-word pieces are free.
        False for a word the tree lacks ("the" + "##thesis") or a word cut short ("photos" + "##ynth")."""
        node = _BOUNDARY  # between words, in a word of the tree (its node), or _FREE: in a word it lacks
        for piece in pieces:
            if self._start[piece]:
                if node != _BOUNDARY and (node == _FREE or not self._terminal[node]):
                    return False
                node = self._children[0].get(piece, _FREE) if self._word_start[piece] else _BOUNDARY
            elif node == _BOUNDARY:
                return False  # a continuation with no word to continue
            elif node >= 0:
                node = self._children[node].get(piece, _FREE)
        return node == _BOUNDARY or (node >= 0 and self._terminal[node])

    def _kids(self, node: int) -> torch.Tensor:
        """The pieces that continue ``node``, as a tensor (made on first use: most nodes never are)."""
        if node not in self._child_tensors:
            self._child_tensors[node] = torch.tensor(sorted(self._children[node]), dtype=torch.long)
        return self._child_tensors[node]

    def _rows(self, prev: torch.Tensor) -> tuple[list[int], list[int], torch.Tensor, torch.Tensor]:
        """Sort the rows of prefixes ``prev`` (N, t): those off the rule (free), those inside a word that
        may not end there (their next piece must continue it), and the (row, piece) pairs that continue
        a word. Every other row stands where a word may end."""
        free, inside, rows, kids = [], [], [], []
        for r, pieces in enumerate(prev.tolist()):
            node = self.state(pieces)
            if node == _FREE:
                free.append(r)
            elif node >= 0:
                if not self._terminal[node]:
                    inside.append(r)
                if self._children[node]:
                    rows.append(r)
                    kids.append(self._kids(node))
        counts = torch.tensor([len(k) for k in kids], dtype=torch.long)
        cols = torch.cat(kids) if kids else torch.zeros(0, dtype=torch.long)
        return free, inside, torch.tensor(rows, dtype=torch.long).repeat_interleave(counts), cols

    def allowed_next(self, prev: torch.Tensor) -> torch.Tensor:
        """(N, t) prefixes -> (N, V) bool: the pieces each row may write next."""
        free, inside, rows, cols = self._rows(prev)
        allowed = self.boundary.expand(prev.shape[0], -1).clone()
        allowed[inside] = False
        allowed[rows, cols] = True
        allowed[free] = True
        return allowed

    def constrain(self, logits: torch.Tensor, prev: torch.Tensor) -> torch.Tensor:
        """``logits`` (N, V) with every piece that would leave the lexicon at -inf (a new tensor). A row
        left with nothing allowed (another rule, such as the loop guard, banned its only way on) keeps its
        logits. The same as ``logits.masked_fill(~allowed_next(prev), -inf)``, in one pass over (N, V)."""
        free, inside, rows, cols = self._rows(prev)
        out = logits.masked_fill(~self.boundary, float("-inf"))  # where a word may end: every row's rule
        out[inside] = float("-inf")
        out[rows, cols] = logits[rows, cols]
        if free:
            out[free] = logits[free]
        if inside:
            dead = [r for r, alive in zip(inside, torch.isfinite(out[inside]).any(-1).tolist()) if not alive]
            if dead:
                out[dead] = logits[dead]
        return out
