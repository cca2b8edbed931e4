"""Kill `invemb train` with SIGKILL at random moments and resume it; then interrupt one with SIGINT.
Feeds BENCHMARKS.md, "Hardening (issue 6)".

    python bench/kill_resume.py --kills 6 --seed 0

Checks, and prints as a markdown table for BENCHMARKS.md:
  - after every SIGKILL the checkpoint on disk loads and reconstructs;
  - the work lost is at most one checkpoint interval (last logged step - checkpoint step <= interval);
  - the run resumed after all the kills ends with exactly the weights of an uninterrupted run
    (same optimizer state, same data order);
  - SIGINT makes `invemb train` save at the step it reached and exit cleanly (status 0).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

import invemb_core as ie
from invemb_core.checkpoint import read_trainer_state
from invemb_core.data import read_sentences

INTERVAL = 20
STEPS = 2000
TINY = [
    "--hidden-size",
    "64",
    "--vector-size",
    "128",
    "--encoder-layers",
    "1",
    "--decoder-layers",
    "1",
    "--num-heads",
    "2",
    "--slot-size",
    "16",
    "--max-length",
    "24",
    "--output-vocab",
    "corpus",
    "--batch-tokens",
    "512",
    "--max-steps",
    str(STEPS),
    "--eval-every",
    "5",
    "--checkpoint-every",
    str(INTERVAL),
    "--eval-sentences",
    "16",
    "--sampled-negatives",
    "256",
    "--threads",
    "1",
]


def command(out: Path, corpus: Path, *, resume: bool) -> list[str]:
    invemb = [sys.executable, "-m", "invemb_core.cli", "train", "--out", str(out), "--quiet"]
    if resume:
        return invemb + ["--resume"]
    return invemb + ["--train-data", str(corpus), "--val-data", str(corpus), *TINY]


def logged_step(log: str) -> int:
    steps = re.findall(r"^step (\d+) ", log, flags=re.M)
    return int(steps[-1]) if steps else 0


def weights(path: Path) -> dict[str, torch.Tensor]:
    tensors, _ = read_trainer_state(path)
    return {k: v for k, v in tensors.items() if k.startswith("model.")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kills", type=int, default=6, help="how many SIGKILLs (>= 5)")
    parser.add_argument("--seed", type=int, default=0, help="seed for the kill times")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}
    work = Path(tempfile.mkdtemp(prefix="invemb-kill-"))
    corpus = work / "corpus.txt"
    corpus.write_text("\n".join(read_sentences("multi30k:val", min_words=5, max_words=20, limit=300)) + "\n")

    print("| kill | after (s) | last logged step | checkpoint step | lost steps | loads |\n|---|---|---|---|---|---|")
    run = work / "killed"
    resume = False
    for k in range(1, args.kills + 1):
        with open(work / f"log{k}.txt", "w") as log:
            proc = subprocess.Popen(command(run, corpus, resume=resume), stdout=log, stderr=subprocess.STDOUT, env=env)
            wait = rng.uniform(4.0, 12.0)
            time.sleep(wait)
            proc.send_signal(signal.SIGKILL)
            proc.wait()
        reached = logged_step((work / f"log{k}.txt").read_text())
        if not (run / "config.json").exists():
            print(f"| {k} | {wait:.1f} | {reached} | (none yet) | - | - |")
            continue
        _, info = read_trainer_state(run)
        assert info["step"] < STEPS, "the run finished before this kill: make STEPS larger"
        loads = bool(ie.load(run).reconstruct(["a dog runs on the beach"]))
        lost = max(0, reached - info["step"])
        assert lost <= INTERVAL, f"lost {lost} steps > one checkpoint interval"
        print(f"| {k} | {wait:.1f} | {reached} | {info['step']} | {lost} | {loads} |", flush=True)
        resume = True
    subprocess.run(command(run, corpus, resume=resume), check=True, env=env, capture_output=True)
    straight = work / "straight"
    subprocess.run(command(straight, corpus, resume=False), check=True, env=env, capture_output=True)
    a, b = weights(run), weights(straight)
    identical = a.keys() == b.keys() and all(torch.equal(a[key], b[key]) for key in a)
    print(f"\nresumed after {args.kills} kills vs uninterrupted, {STEPS} steps: weights identical = {identical}")

    sigint = work / "sigint"
    with open(work / "sigint.txt", "w") as log:
        proc = subprocess.Popen(command(sigint, corpus, resume=False), stdout=log, stderr=subprocess.STDOUT, env=env)
        time.sleep(8.0)
        proc.send_signal(signal.SIGINT)
        code = proc.wait(timeout=120)
    _, info = read_trainer_state(sigint)
    text = (work / "sigint.txt").read_text()
    saved_at = json.loads((sigint / "config.json").read_text())["metrics"]["validation"]["steps"]
    print(
        f"SIGINT after 8 s: exit status {code}, saved at step {info['step']} (final metrics at step {saved_at}), "
        f"message: {'interrupted: saving' in text}"
    )
    assert identical and code == 0 and info["step"] == saved_at


if __name__ == "__main__":
    main()
