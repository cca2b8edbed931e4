import pytest

import invemb_core as ie
from invemb_core.config import from_dict


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(encoder="cnn"), "encoder='cnn'"),
        (dict(decoder="diffusion"), "decoder='diffusion'"),
        (dict(vector_size=0), "vector_size"),
        (dict(hidden_size=30, num_heads=4), "divisible"),
        (dict(pooling="last"), "recurrent"),
        (dict(dropout=1.5), "dropout"),
    ],
)
def test_model_config_names_the_bad_value(kwargs, message):
    with pytest.raises(ie.InvEmbError, match=message):
        ie.ModelConfig(**kwargs)


def test_unknown_keys_are_refused_not_dropped():
    with pytest.raises(ie.InvEmbError, match="unknown ModelConfig keys: colour"):
        from_dict(ie.ModelConfig, {"colour": "blue"})


def test_round_trip_and_scratch_is_never_frozen():
    cfg = ie.ModelConfig(embedding_source="scratch")
    assert cfg.freeze_embeddings is False
    assert from_dict(ie.ModelConfig, cfg.to_dict()) == cfg


def test_train_config_validation():
    with pytest.raises(ie.InvEmbError, match="loss"):
        ie.TrainConfig(loss="mse")
    with pytest.raises(ie.InvEmbError, match="min_words"):
        ie.TrainConfig(min_words=9, max_words=3)
    assert ie.TrainConfig(train_data="x.txt").train_data == ["x.txt"]


def test_verify_with_beam_is_refused_not_silently_ignored():
    with pytest.raises(ie.InvEmbError, match="beam search is what a failing row falls back to"):
        ie.DecodeConfig(strategy="beam", verify=0.8)
    with pytest.raises(ie.InvEmbError, match="verify"):
        ie.DecodeConfig(strategy="beam", verify_wording=0.85)
    assert ie.DecodeConfig(strategy="rerank", verify=0.8, fallback_beam=5).fallback_beam == 5


@pytest.mark.parametrize(
    "kwargs, knob",
    [
        ({"strategy": "greedy", "temperature": 0.7}, "temperature (sample/rerank)"),
        ({"strategy": "beam", "top_p": 0.9}, "top_p"),
        ({"strategy": "sample", "beam_size": 3}, "beam_size (beam)"),
        ({"strategy": "sample", "num_candidates": 4}, "num_candidates (rerank)"),
        ({"strategy": "rerank", "fallback_beam": 5}, "fallback_beam (verify)"),
    ],
)
def test_a_knob_the_strategy_never_reads_is_an_error(kwargs, knob):
    with pytest.raises(ie.InvEmbError, match=r"does not use .*" + knob.split()[0]) as e:
        ie.DecodeConfig(**kwargs)
    assert knob in str(e.value)


def test_knobs_at_their_defaults_and_knobs_that_apply_are_fine():
    ie.DecodeConfig(strategy="greedy", temperature=1.0, beam_size=5, num_candidates=8)
    ie.DecodeConfig(strategy="rerank", temperature=0.5, num_candidates=4, verify=0.8, fallback_beam=5)
    ie.DecodeConfig(strategy="beam", beam_size=3, loop_guard=0, max_length=10)


@pytest.mark.slow  # a subprocess per module
def test_the_engine_never_imports_the_app():
    """Every module of invemb_core imports without streamlit, app.py or the app package."""
    import pkgutil
    import subprocess
    import sys
    from pathlib import Path

    import invemb_core

    names = [f"invemb_core.{m.name}" for m in pkgutil.iter_modules(invemb_core.__path__)]
    code = (
        "import importlib, sys\n"
        f"for name in {names!r}: importlib.import_module(name)\n"
        "app = [m for m in sys.modules if m.split('.')[0] in ('streamlit', 'app', 'invemb_app')]\n"
        "print(app); sys.exit(1 if app else 0)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=Path(invemb_core.__file__).parent.parent
    )
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("cls", [ie.ModelConfig, ie.TrainConfig, ie.DecodeConfig])
def test_every_config_field_carries_the_help_the_cli_shows(cls):
    from dataclasses import fields

    assert all(f.metadata.get("help") for f in fields(cls)), [f.name for f in fields(cls) if not f.metadata.get("help")]
