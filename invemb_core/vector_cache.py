"""The vectors of piece sequences already encoded, for the model as it is now.

One round trip in the app encodes the same sentence several times: the input, then its greedy output
(which is the input, for a sentence that comes back) when rerank re-encodes it, then every output again
for the cosine column, and the temperature view encodes the input once more. Each is a pass of MiniLM.
``VectorCache`` keeps the most recent ``size`` (piece ids -> vector) pairs and gives them back instead.

It can never hand out a vector of another model state: every lookup first reads a stamp of the model (the
in-place version counter of every parameter and buffer, which an optimiser step, ``load_state_dict`` or
``copy_`` bumps; train/eval mode; the model config, e.g. ``wording_scale``), and a changed stamp empties
the cache. In training mode it neither keeps nor gives (dropout makes each pass differ). A vector computed in another batch may differ from a fresh one in the last float bits (padding
changes the reduction order); nothing compares vectors for bitwise equality.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence

import torch

DEFAULT_SIZE = 4096  # 4,096 vectors of 896 floats: 15 MB


class VectorCache:
    """Thread-safe: the app's sessions, and the pages' background decodings, share one model and its cache.
    ``lookup`` hands out the vectors it has at that moment, so an eviction by another thread between a
    lookup and the ``store`` that follows it can cost a re-encode, never a missing vector."""

    def __init__(self, model: torch.nn.Module, size: int = DEFAULT_SIZE):
        self.model, self.size = model, size
        self._vectors: OrderedDict[tuple[int, ...], torch.Tensor] = OrderedDict()
        self._stamp: tuple | None = None
        self._lock = threading.Lock()

    def _current(self) -> OrderedDict[tuple[int, ...], torch.Tensor]:
        """The kept vectors, emptied first if the model has changed. Call with the lock held."""
        m = self.model
        stamp = (m.training, repr(getattr(m, "cfg", None)), tuple(t._version for t in (*m.parameters(), *m.buffers())))
        if stamp != self._stamp:
            self._vectors.clear()
            self._stamp = stamp
        return self._vectors

    def clear(self) -> None:
        """Forget every kept vector (a benchmark that times re-encoding starts each setting cold)."""
        with self._lock:
            self._vectors.clear()

    def _active(self) -> bool:
        """Off when sized 0, and in training mode (dropout makes every pass differ: nothing to keep)."""
        return bool(self.size) and not self.model.training

    def lookup(self, rows: Sequence[tuple[int, ...]]) -> dict[tuple[int, ...], torch.Tensor]:
        """The kept vectors of those of ``rows`` (distinct piece sequences) it has; they count as used."""
        if not self._active():
            return {}
        with self._lock:
            kept = self._current()
            found = {row: kept[row] for row in rows if row in kept}
            for row in found:
                kept.move_to_end(row)
            return found

    def store(self, rows: Sequence[tuple[int, ...]], fresh: dict[tuple[int, ...], torch.Tensor]) -> None:
        """Keep the ``fresh`` (just encoded) vectors of ``rows``, most recent last, in the order of ``rows``."""
        if not self._active():
            return
        with self._lock:
            kept = self._current()
            for row in rows:
                if row in fresh:
                    kept[row] = fresh[row].clone()  # its own storage: a view would keep the whole batch alive
                if row in kept:
                    kept.move_to_end(row)
            while len(kept) > self.size:
                kept.popitem(last=False)
