"""Training jobs in a background process, at most one at a time per runs folder: start, watch, stop,
list and delete. The app's Train page is a thin view over this; it works from any client.

Everything lives in files, so every browser session (and a reloaded page) sees the same job:
  - ``<runs>/active.json``: the running job (name, pid, settings); gone or stale once it has ended;
  - ``<runs>/.<name>.events.jsonl``: one JSON line per evaluation (``invemb train --events``), the last
    with ``"done": true``; ``<runs>/.<name>.log``: the process's output (beside the run, because a
    checkpoint directory is replaced whole at every save);
  - ``<runs>/<name>/``: an ordinary checkpoint once the first save has happened.
  - ``<runs>/.interacting``: touched by the app at every interaction while a job runs
    (``note_interaction``); ``<runs>/.<name>.paused``: the seconds the run has been stopped for it;
    ``<runs>/.<name>.stopped``: there if the run was stopped by hand (``stop_job``).
A job is a real ``invemb train`` run (same Trainer, same checkpoint format) under ``supervise.py``: on
one thread, on CPU time nobody else wants, and stopped outright for ``STEP_ASIDE_SECONDS`` after every
interaction, so the app's pages are as fast as without it. It stops at its time budget (wall clock,
pauses included) or on ``stop_job`` (SIGINT: the trainer saves and exits).
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from invemb_core.config import ModelConfig, TrainConfig
from invemb_core.errors import InvEmbError

ACTIVE = "active.json"
INTERACTING = ".interacting"
START_LOCK = ".start.lock"
STEP_ASIDE_SECONDS = 2.0  # an interaction's script run plus the browser drawing its result
MAX_BUDGET_MINUTES = 15.0  # a shared server is not a training cluster
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


# The Train page's designs, small enough that something visible happens in 1-3 minutes on 2 cores:
# (ModelConfig keywords, TrainConfig keywords, one-line description). TRAIN is what they share.
SMALL = dict(hidden_size=128, encoder_layers=1, decoder_layers=1, num_heads=4, slot_size=16, max_length=32)
STUDY = dict(SMALL, encoder="gru", pooling="last", decoder="parallel", decoder_cell="gru", vector_size=256)
PRESETS = {
    "The study's GRU, match loss": (
        dict(STUDY, output_scoring="cosine"),
        dict(loss="match"),
        "The original study: a biGRU encoder's last states, a parallel GRU decoder, the match loss.",
    ),
    "The study's GRU, cross-entropy": (
        dict(STUDY),
        dict(loss="ce"),
        "The original study's design trained with cross-entropy instead of the match loss.",
    ),
    "InvEmb's default design (small)": (
        dict(SMALL, meaning="minilm", vector_size=384 + 64, decoder="autoregressive"),
        dict(wording_dropout=0.35, vector_noise=0.05),
        "A small two-part model: MiniLM meaning + 64 wording numbers, autoregressive decoder.",
    ),
}
TRAIN = dict(
    batch_tokens=2048,
    lr=3e-3,
    warmup_steps=20,
    max_steps=100_000,  # the time budget ends the run
    eval_every=10,
    checkpoint_every=10,
    eval_sentences=100,
)


def preset(name: str, *, sentences: int, minutes: float) -> tuple[ModelConfig, TrainConfig, str]:
    """One of ``PRESETS`` as the configs ``start_job`` takes, with its description.

    Raises:
        InvEmbError: for an unknown preset or settings the configs reject."""
    if name not in PRESETS:
        raise InvEmbError(f"unknown preset {name!r}; choose one of {', '.join(PRESETS)}")
    model, train, description = PRESETS[name]
    train_cfg = TrainConfig(**TRAIN, **train, max_sentences=sentences, time_budget_minutes=minutes)
    return ModelConfig(**model), train_cfg, description


def runs_dir() -> Path:
    """$INVEMB_RUNS, else the repository's ``runs/`` folder."""
    env = os.environ.get("INVEMB_RUNS")
    return Path(env) if env else Path(__file__).resolve().parent.parent / "runs"


@dataclass
class Job:
    name: str
    path: Path
    pid: int
    started: float
    budget_minutes: float


def _side_file(path: Path, kind: str) -> Path:
    """A run's events / log / config file, kept beside its directory."""
    return path.parent / f".{path.name}.{kind}"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a finished child of this process is a zombie until reaped: reap it, it is not running
        done, _ = os.waitpid(pid, os.WNOHANG)
        return done == 0
    except ChildProcessError:
        return True  # not our child: kill(0) said it exists


def active_job(root: str | Path | None = None) -> Job | None:
    """The job that is running now, or None (a stale record of an ended job is removed)."""
    root = Path(root or runs_dir())
    record = root / ACTIVE
    try:
        data = json.loads(record.read_text())
    except (OSError, json.JSONDecodeError):
        return None
    job = Job(data["name"], Path(data["path"]), int(data["pid"]), float(data["started"]), float(data["budget"]))
    if _alive(job.pid):
        return job
    record.unlink(missing_ok=True)
    return None


def start_job(
    name: str, model_cfg: ModelConfig, train_cfg: TrainConfig, *, root: str | Path | None = None, description: str = ""
) -> Job:
    """Start ``invemb train`` into ``<root>/<name>`` in the background.

    Raises:
        InvEmbError: if a job is already running, the name is unusable or taken, or the settings are not
            something a shared server should run (no sentences, no time budget, or one over 15 minutes).
    """
    root = Path(root or runs_dir())
    if not NAME.fullmatch(name):
        raise InvEmbError(f"run name {name!r}: use letters, digits, '-', '_' or '.', at most 64 characters")
    if train_cfg.time_budget_minutes <= 0 or train_cfg.time_budget_minutes > MAX_BUDGET_MINUTES:
        raise InvEmbError(
            f"time budget {train_cfg.time_budget_minutes:g} min: give one between a few seconds and "
            f"{MAX_BUDGET_MINUTES:g} minutes"
        )
    if train_cfg.max_sentences <= 0:
        raise InvEmbError("train on at least 1 sentence (max_sentences > 0)")
    root.mkdir(parents=True, exist_ok=True)
    with _start_lock(root):  # two clicks (or two users) at once: the second sees the first's run
        return _start(root, name, model_cfg, train_cfg, description)


@contextmanager
def _start_lock(root: Path):
    """Hold ``root``'s start lock: from the check for a running job to the record of the new one."""
    with open(root / START_LOCK, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _start(root: Path, name: str, model_cfg: ModelConfig, train_cfg: TrainConfig, description: str) -> Job:
    running = active_job(root)
    if running is not None:
        raise InvEmbError(f"a training run is already going ({running.name}); watch it, or stop it first")
    path = root / name
    if path.exists():
        raise InvEmbError(f"{path} exists already: pick another name or delete that run")
    config = _side_file(path, "config.json")
    config.write_text(json.dumps({"model": model_cfg.to_dict(), "train": train_cfg.to_dict()}))
    _side_file(path, "events.jsonl").unlink(missing_ok=True)
    cmd = [sys.executable, "-m", "invemb_core.cli", "train", "--out", str(path), "--config", str(config)]
    cmd += ["--quiet", "--events", str(_side_file(path, "events.jsonl")), "--threads", "1"]
    cmd += ["--description", description]
    supervisor = [sys.executable, str(Path(__file__).with_name("supervise.py")), "--watch", str(root / INTERACTING)]
    supervisor += ["--seconds", str(STEP_ASIDE_SECONDS), "--paused-file", str(_side_file(path, "paused")), "--"]
    with open(_side_file(path, "log"), "w") as log:
        proc = subprocess.Popen(
            supervisor + cmd,  # stops the run while anyone uses the app; see supervise.py
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env={**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"},
        )
    job = Job(name, path, proc.pid, time.time(), train_cfg.time_budget_minutes)
    (root / ACTIVE).write_text(
        json.dumps(
            {"name": name, "path": str(path), "pid": proc.pid, "started": job.started, "budget": job.budget_minutes}
        )
    )
    return job


def note_interaction(root: str | Path | None = None) -> None:
    """Say that someone is using the app now: a running job stops for the next ``STEP_ASIDE_SECONDS``
    (supervise.py). Costs one stat when no job runs, so the app calls it at every script run."""
    root = Path(root or runs_dir())
    if (root / ACTIVE).exists():
        try:
            (root / INTERACTING).touch()
        except OSError:  # a read-only runs folder: the job just keeps training
            pass


def stop_job(root: str | Path | None = None) -> bool:
    """Ask the running job to save and stop (as Ctrl-C does). Returns False if none is running."""
    job = active_job(root)
    if job is None:
        return False
    _side_file(job.path, "stopped").touch()
    os.kill(job.pid, signal.SIGINT)
    return True


def was_stopped(path: str | Path) -> bool:
    """Whether a run ended by ``stop_job`` (rather than at its time budget)."""
    return _side_file(Path(path), "stopped").exists()


def read_events(path: str | Path) -> list[dict]:
    """The evaluations a run has written so far (a half-written last line is skipped)."""
    out = []
    try:
        lines = _side_file(Path(path), "events.jsonl").read_text(encoding="utf-8").splitlines()
    except OSError:
        return out
    for line in lines:
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return out


def list_runs(root: str | Path | None = None) -> list[Path]:
    """Runs started under ``root`` (those with an events or config file beside them), newest first."""
    root = Path(root or runs_dir())
    if not root.is_dir():
        return []
    found = {root / p.name[1 : -len(".config.json")] for p in root.glob(".*.config.json")}
    return sorted(found, key=lambda p: _side_file(p, "config.json").stat().st_mtime, reverse=True)


def paused_seconds(path: str | Path) -> float:
    """How long a run has been stopped so far while the app was in use."""
    try:
        return float(_side_file(Path(path), "paused").read_text())
    except (OSError, ValueError):
        return 0.0


def log_tail(path: str | Path, *, lines: int = 20) -> str:
    """The last lines a run's process printed (where an error would be)."""
    try:
        return "\n".join(_side_file(Path(path), "log").read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def delete_run(path: str | Path, *, root: str | Path | None = None) -> None:
    """Delete a finished run (never the running one)."""
    path = Path(path)
    job = active_job(root or path.parent)
    if job is not None and job.path.resolve() == path.resolve():
        raise InvEmbError(f"{path.name} is still training: stop it first")
    shutil.rmtree(path, ignore_errors=True)
    for kind in ("config.json", "log", "events.jsonl", "paused", "stopped"):
        _side_file(path, kind).unlink(missing_ok=True)
