"""Output calibration: a per-piece bias fitted with the full softmax, used by every decoding, saved and
reloaded, run by the trainer and by ``invemb calibrate``."""

import json
import shutil

import pytest
import torch
from conftest import TINY_CHECKPOINT, tiny_config, tiny_train_config

import invemb_core as ie
from invemb_core.calibration import CalibrationConfig, calibrate, teacher_forced_outputs
from invemb_core.cli import main
from invemb_core.fast_logits import FastLogits

MINILM = 384
FAST = CalibrationConfig(sentences=40, epochs=30, lr=0.1, l2=0.0, batch_tokens=256)


@pytest.fixture()
def two_part(corpus) -> ie.Autoencoder:
    cfg = tiny_config(meaning="minilm", vector_size=MINILM + 16, decoder="autoregressive", output_vocab="full")
    return ie.Autoencoder.build(cfg, corpus=corpus, seed=0)


@pytest.mark.slow  # trains a tiny two-part model for a few hundred steps (~8 s)
def test_calibration_lowers_full_softmax_loss_and_pushes_unused_pieces_down(two_part, corpus):
    summary = calibrate(two_part, corpus, FAST, log=lambda _: None)
    for path in ("whole", "meaning_only"):  # both ways the vector is decoded
        ce = summary["cross_entropy"][path]
        assert ce["after"] < ce["before"] - 0.5, ce
    bias = two_part.model.output_bias
    assert bias is not None and two_part.config.output_bias
    _, targets = teacher_forced_outputs(two_part, two_part.codec.encode(corpus)[0])["whole"]
    used = torch.zeros_like(bias, dtype=torch.bool)
    used[targets] = True
    allowed = two_part.model.output_allowed
    assert bias[used].mean() > bias[allowed & ~used].mean() + 1.0
    assert bool(torch.isfinite(bias[allowed]).all())  # less likely, never impossible


def test_every_decoding_uses_the_bias_and_the_fast_path_matches_float32(two_part, corpus):
    model = two_part.model
    Z = two_part.encode(corpus[:4])
    with torch.no_grad():
        q = model.output_vectors(Z, 6, torch.full((4, 6), two_part.codec.vocab.bos))
    before = model.full_logits(q)
    bias = torch.linspace(-3, 0, len(model.output_allowed))
    model.set_output_bias(bias)
    fast = model.full_logits(q)
    model.fast_logits = False
    exact = model.full_logits(q)
    model.fast_logits = True
    finite = torch.isfinite(exact)
    assert torch.allclose((fast - before)[finite], bias.expand_as(exact)[finite], atol=0.05)
    assert torch.equal(fast.argmax(-1), exact.argmax(-1))


def test_fast_logits_argmax_is_exact_with_a_bias_that_decides_a_near_tie():
    g = torch.Generator().manual_seed(0)
    table = torch.randn(400, 64, generator=g)
    q = torch.randn(6, 64, generator=g)
    best = (q @ table.T).argmax(-1)
    table[399] = table[best[0]]  # an exact tie for row 0, broken only by the bias
    bias = torch.zeros(400)
    bias[399] = 1e-4
    exact = q @ table.T + bias
    fast = FastLogits(table, torch.ones(400, dtype=torch.bool), bias)(q)
    assert fast[0].argmax() == 399
    assert torch.equal(fast.argmax(-1), exact.argmax(-1))


def test_a_calibrated_checkpoint_saves_and_reloads_its_bias(two_part, corpus, tmp_path):
    calibrate(two_part, corpus, CalibrationConfig(sentences=20, epochs=2), log=lambda _: None)
    ie.save(two_part, tmp_path / "ck")
    loaded = ie.load(tmp_path / "ck")
    assert loaded.config.output_bias
    assert torch.allclose(loaded.model.output_bias, two_part.model.output_bias.half().float())


def test_the_trainer_calibrates_when_asked(tmp_path, corpus):
    data = tmp_path / "tiny.txt"
    data.write_text("\n".join(corpus))
    cfg = tiny_train_config(data, max_steps=4, calibration_sentences=20)
    ie.train(tiny_config(decoder="autoregressive"), cfg, tmp_path / "ck", progress=False)
    loaded = ie.load(tmp_path / "ck")
    assert loaded.model.output_bias is not None
    assert loaded.info["calibration"]["sentences"] == 20
    plain = ie.load(TINY_CHECKPOINT)  # trained before calibration existed: no bias, loads as before
    assert plain.model.output_bias is None and not plain.config.output_bias


def test_cli_calibrates_in_place_and_keeps_the_other_files(tmp_path, capsys):
    ck = tmp_path / "ck"
    shutil.copytree(TINY_CHECKPOINT, ck)
    (ck / "projection-x.csv").write_text("kept\n")
    corpus = tmp_path / "train.txt"
    corpus.write_text("a man rides a bike down the street.\ntwo dogs play in the snow together.\n" * 5)
    config = json.loads((ck / "config.json").read_text())
    config["train_config"]["val_data"] = str(corpus)  # re-scored after calibration
    config["metrics"]["validation"]["exact_match"] = -1.0
    (ck / "config.json").write_text(json.dumps(config))
    assert main(["calibrate", "--checkpoint", str(ck), "--data", str(corpus), "--sentences", "8", "--quiet"]) == 0
    assert "output bias fitted on 8 sentences" in capsys.readouterr().out
    assert (ck / "projection-x.csv").read_text() == "kept\n"
    calibrated = ie.load(ck)
    assert calibrated.info["calibration"]["data"] == [str(corpus)]
    validation = calibrated.info["metrics"]["validation"]  # what the app shows describes the new model
    assert validation["calibrated"] and validation["n"] == 10 and validation["exact_match"] >= 0


def test_cosine_scoring_and_bad_settings_are_clear_errors(corpus):
    ae = ie.Autoencoder.build(tiny_config(output_scoring="cosine"), corpus=corpus, seed=0)
    with pytest.raises(ie.InvEmbError, match="cosine"):
        calibrate(ae, corpus, log=lambda _: None)
    with pytest.raises(ie.InvEmbError, match="sentences"):
        CalibrationConfig(sentences=0)
