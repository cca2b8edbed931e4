"""A Train-page run training in the background while a benchmark measures the app (the shared-server case).

A helper of app_speed.py (``--while-training``); it feeds no section itself.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

TRAINING_PRESET = "InvEmb's default design (small)"


@contextmanager
def training_in_background(on: bool):
    """While the block runs, a Train-page run trains as the page starts it (its own process under
    supervise.py: one thread, lowest priority, stopped while the app is used) in a temporary runs
    folder the server also uses; stopped afterwards. Yields a callable that returns how many
    evaluations the run has written and the CPU seconds its training process has used (proof that it
    trained meanwhile)."""
    if not on:
        yield lambda: (0, 0.0)
        return
    from invemb_app import jobs

    root = Path(tempfile.mkdtemp(prefix="invemb-runs-"))
    os.environ["INVEMB_RUNS"] = str(root)  # the server started after this lists the run
    cfg, tcfg, description = jobs.preset(TRAINING_PRESET, sentences=29_000, minutes=jobs.MAX_BUDGET_MINUTES)
    job = jobs.start_job("bench-while-training", cfg, tcfg, root=root, description=description)
    try:
        deadline = time.time() + 120
        while not jobs.read_events(job.path) and time.time() < deadline:
            time.sleep(1)  # until it has built its model and evaluated once: training proper
        trainer = Path(f"/proc/{job.pid}/task/{job.pid}/children").read_text().split()[0]  # under the supervisor

        def progress() -> tuple[int, float]:
            ticks = sum(map(int, Path(f"/proc/{trainer}/stat").read_text().rsplit(")", 1)[1].split()[11:13]))
            return len(jobs.read_events(job.path)), ticks / os.sysconf("SC_CLK_TCK")

        yield progress
    finally:
        jobs.stop_job(root)
        time.sleep(3)
        shutil.rmtree(root, ignore_errors=True)
