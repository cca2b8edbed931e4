"""Wall-clock timing shared by the benchmarks: medians, because the machines are noisy.

A helper of app_speed.py, decode_speed.py and kv_cache.py; it feeds no section itself.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any


def median_time(fn: Callable[[], Any], repeats: int, *, warmup: bool = True) -> tuple[float, Any]:
    """The median seconds of ``repeats`` calls of ``fn`` (after one unmeasured call unless ``warmup``
    is False), and what the last call returned."""
    if warmup:
        fn()
    times, out = [], None
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), out
