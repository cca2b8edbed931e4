"""Bigger corpora and more machines: streamed training data, and data-parallel training under torchrun."""

import json
import os
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
import torch
from conftest import config_file, tiny_config, tiny_train_config

import invemb_core as ie
from invemb_core.train import Trainer


def _corpus(tmp_path: Path, corpus: list[str]) -> Path:
    path = tmp_path / "train.txt"
    path.write_text("\n".join(corpus) + "\n")
    return path


def test_streamed_training_matches_in_memory_training(tmp_path, corpus):
    path = _corpus(tmp_path, corpus)
    cfg = tiny_train_config(path, max_steps=6, eval_every=3, checkpoint_every=3, batch_tokens=10_000)
    quiet = dict(progress=False, log=lambda s: None)
    # One chunk holding the whole corpus: streaming must see exactly the in-memory batches.
    a = Trainer(tiny_config(), cfg, tmp_path / "mem", **quiet).run()
    streamed = Trainer(tiny_config(), replace(cfg, stream_chunk_sentences=10_000), tmp_path / "stream", **quiet)
    assert streamed.ids is None and streamed.train_sentences == []  # nothing held in memory
    b = streamed.run()
    for key, value in a.model.state_dict().items():
        torch.testing.assert_close(value, b.model.state_dict()[key], rtol=0, atol=0)
    # Small chunks also train (a different but fixed batch order).
    Trainer(tiny_config(), replace(cfg, stream_chunk_sentences=7), tmp_path / "chunks", **quiet).run()


@pytest.mark.slow
def test_two_ranks_under_torchrun_end_with_identical_weights(tmp_path, corpus):
    path = _corpus(tmp_path, corpus)
    torchrun = shutil.which("torchrun", path=os.path.dirname(sys.executable))
    assert torchrun, "torchrun comes with torch"
    out = tmp_path / "ddp"
    train = tiny_train_config(path, max_steps=6, eval_every=3, checkpoint_every=3, batch_tokens=128)
    cmd = [
        torchrun,
        "--standalone",
        "--nproc_per_node=2",
        "-m",
        "invemb_core.cli",
        "train",
        "--out",
        str(out),
        "--quiet",
        "--config",
        str(config_file(tmp_path / "tiny.json", tiny_config(), train)),
        "--threads",
        "1",
    ]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    config = json.loads((out / "config.json").read_text())
    ddp = config["metrics"]["validation"]["ddp"]
    assert ddp["world_size"] == 2
    assert ddp["rank_weights_sha256"][0] == ddp["rank_weights_sha256"][1]
    assert config["metrics"]["validation"]["steps"] == 6
    ie.load(out).reconstruct(corpus[:2])
