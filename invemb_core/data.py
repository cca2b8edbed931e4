"""Corpora and batches: Multi30k captions or any one-sentence-per-line text file, length-bucketed.

Reads sentences (``multi30k:train`` / ``multi30k:val`` / ``multi30k:test_2016_flickr``, or a path to a
``.txt`` or ``.gz`` file), filters them by word count, and cuts token-id sequences into padded batches of
roughly equal length. Batch order is a pure function of (seed, epoch), which is what makes training
resumable to the exact batch. Large files can be streamed instead of loaded. No tokenizer or model here.
"""

from __future__ import annotations

import gzip
import os
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import islice
from pathlib import Path

import torch

from .errors import InvEmbError

MULTI30K_SPLITS = ("train", "val", "test_2016_flickr")


def data_dir() -> Path:
    """Where the Multi30k copy lives: $INVEMB_DATA, else the repository's ``data/multi30k``."""
    env = os.environ.get("INVEMB_DATA")
    return Path(env) if env else Path(__file__).resolve().parent.parent / "data" / "multi30k"


def resolve_corpus(spec: str) -> Path:
    """``multi30k:<split>`` or a file path -> an existing file path."""
    if spec.startswith("multi30k:"):
        split = spec.split(":", 1)[1]
        if split not in MULTI30K_SPLITS:
            raise InvEmbError(f"unknown Multi30k split {split!r}; choose one of {', '.join(MULTI30K_SPLITS)}")
        path = data_dir() / f"{split}.en.gz"
    else:
        path = Path(spec).expanduser()
    if not path.is_file():
        built = path.parent.name == "english" and path.name in ("train.en.gz", "heldout.en.gz")
        hint = " (it is built, not shipped: run `invemb data english`, 3 s)" if built else ""
        raise InvEmbError(f"corpus file not found: {path}{hint}")
    return path


def iter_lines(spec: str) -> Iterator[str]:
    """Stream the non-empty, stripped lines of a corpus (gzip detected by the ``.gz`` suffix)."""
    path = resolve_corpus(spec)
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rt", encoding="utf-8", errors="replace") as f:
            for line in f:
                line = line.strip()
                if line:
                    yield line
    except (OSError, EOFError) as e:
        raise InvEmbError(f"could not read {path}: {e}") from e


def within_words(sentence: str, min_words: int, max_words: int) -> bool:
    return min_words <= len(sentence.split()) <= max_words


def iter_sentences(spec: str, *, min_words: int = 1, max_words: int = 10_000) -> Iterator[str]:
    """Stream a corpus's sentences of ``min_words``..``max_words`` whitespace-separated words."""
    return (line for line in iter_lines(spec) if within_words(line, min_words, max_words))


def read_sentences(spec: str, *, min_words: int = 1, max_words: int = 10_000, limit: int | None = None) -> list[str]:
    """Load a corpus, keeping sentences of ``min_words``..``max_words`` whitespace-separated words."""
    return list(islice(iter_sentences(spec, min_words=min_words, max_words=max_words), limit))


def read_caption_sets(paths: Sequence[str]) -> tuple[list[str], list[int]]:
    """Several captions of the same items, one file per caption set (line i of every file describes item i),
    e.g. Multi30k's five captions per image. Returns every caption and, for each, its item's index.

    Raises:
        InvEmbError: if the files do not all have the same number of lines.
    """
    if len(paths) < 2:
        raise InvEmbError("caption retrieval needs at least two caption files (line i of each = item i)")
    columns = [list(iter_lines(p)) for p in paths]
    if len({len(c) for c in columns}) != 1:
        sizes = ", ".join(f"{p}: {len(c)}" for p, c in zip(paths, columns))
        raise InvEmbError(f"caption files must have one line per item each; they have {sizes}")
    sentences = [s for column in columns for s in column]
    return sentences, [i for column in columns for i in range(len(column))]


@dataclass
class Batch:
    """A padded batch: ``tokens`` (B, T) local ids, ``lengths`` (B,) true lengths."""

    tokens: torch.Tensor
    lengths: torch.Tensor

    @property
    def num_tokens(self) -> int:
        return int(self.lengths.sum())


def collate(sequences: Sequence[Sequence[int]], *, pad: int) -> Batch:
    lengths = torch.tensor([len(s) for s in sequences], dtype=torch.long)
    tokens = torch.full((len(sequences), int(lengths.max())), pad, dtype=torch.long)
    for row, seq in enumerate(sequences):
        tokens[row, : len(seq)] = torch.tensor(seq, dtype=torch.long)
    return Batch(tokens=tokens, lengths=lengths)


def epoch_batches(sequences: Sequence[Sequence[int]], *, batch_tokens: int, seed: int, epoch: int) -> list[list[int]]:
    """Indices of each batch for one epoch: shuffled, bucketed by length, ~``batch_tokens`` pieces each.

    Deterministic in (seed, epoch): a resumed run sees exactly the batches it would have seen.
    """
    rng = random.Random(seed * 1_000_003 + epoch)
    order = list(range(len(sequences)))
    rng.shuffle(order)
    batches: list[list[int]] = []
    pool = 50 * max(1, batch_tokens // 16)  # sort within pools so batches mix across the corpus
    for start in range(0, len(order), pool):
        chunk = sorted(order[start : start + pool], key=lambda i: len(sequences[i]))
        current: list[int] = []
        longest = 0
        for i in chunk:
            longest_if_added = max(longest, len(sequences[i]))
            if current and longest_if_added * (len(current) + 1) > batch_tokens:
                batches.append(current)
                current, longest_if_added = [], len(sequences[i])
            current.append(i)
            longest = longest_if_added
        if current:
            batches.append(current)
    rng.shuffle(batches)
    return batches


def stream_chunks(spec: str, *, chunk_sentences: int, min_words: int, max_words: int) -> Iterator[list[str]]:
    """Read a corpus that does not fit in memory in chunks of sentences, one pass."""
    sentences = iter_sentences(spec, min_words=min_words, max_words=max_words)
    while chunk := list(islice(sentences, chunk_sentences)):
        yield chunk
