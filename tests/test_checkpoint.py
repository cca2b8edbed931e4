"""Checkpoints round-trip exactly, are written atomically, and broken ones fail with a clear message."""

import json
import pickle
import shutil

import pytest
import torch
from conftest import tiny_config

import invemb_core as ie
from invemb_core import checkpoint


def _fp16_exact(ae):
    """Saved weights are fp16: round the live model the same way so outputs can be compared exactly."""
    with torch.no_grad():
        for p in ae.model.parameters():
            p.copy_(p.half().float())
    return ae


@pytest.mark.parametrize("overrides", [dict(), dict(decoder="autoregressive"), dict(embedding_source="scratch")])
def test_round_trip_gives_identical_outputs(tmp_path, corpus, overrides):
    ae = _fp16_exact(ie.Autoencoder.build(tiny_config(**overrides), corpus=corpus, seed=1))
    ie.save(ae, tmp_path / "ck", metrics={"note": 1})
    loaded = ie.load(tmp_path / "ck")
    assert torch.equal(ae.encode(corpus), loaded.encode(corpus))
    assert ae.reconstruct(corpus) == loaded.reconstruct(corpus)
    kw = dict(strategy="sample", temperature=1.0, seed=5)
    assert ae.reconstruct(corpus, **kw) == loaded.reconstruct(corpus, **kw)
    assert loaded.info["metrics"] == {"note": 1}


def test_frozen_embeddings_are_not_stored(tmp_path, tiny_ae):
    ie.save(tiny_ae, tmp_path / "ck")
    weights = checkpoint.read_weights(tmp_path / "ck" / checkpoint.WEIGHTS_FILE)
    assert "token_embeddings" not in weights
    config = json.loads((tmp_path / "ck" / "config.json").read_text())
    assert config["embedding_sha256"] and config["vocab"]["size"] == tiny_ae.codec.vocab.size


def test_save_replaces_atomically_and_load_recovers_an_interrupted_rename(tmp_path, tiny_ae):
    target = tmp_path / "ck"
    ie.save(tiny_ae, target)
    ie.save(tiny_ae, target)  # overwrite
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ck"]
    target.rename(tmp_path / "ck.old")  # as if killed between "ck -> ck.old" and "ck.tmp -> ck"
    assert ie.load(target).reconstruct(["a dog runs in the park"])


def test_missing_directory(tmp_path):
    with pytest.raises(ie.InvEmbError, match="not found"):
        ie.load(tmp_path / "nope")


@pytest.fixture
def saved(tmp_path, tiny_ae):
    return ie.save(tiny_ae, tmp_path / "ck")


def test_config_not_json(saved):
    (saved / "config.json").write_text("{not json")
    with pytest.raises(ie.InvEmbError, match=r"config.json is not valid JSON"):
        ie.load(saved)


def test_unknown_architecture(saved):
    config = json.loads((saved / "config.json").read_text())
    config["model"]["encoder"] = "mamba"
    (saved / "config.json").write_text(json.dumps(config))
    with pytest.raises(ie.InvEmbError, match=r"config.json: bad model config: encoder='mamba'"):
        ie.load(saved)


def test_truncated_weights(saved):
    path = saved / "model.safetensors"
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(ie.InvEmbError, match=r"model.safetensors is not a readable safetensors file"):
        ie.load(saved)


def test_pickle_renamed_to_safetensors_is_not_executed(saved, tmp_path):
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    (saved / "model.safetensors").write_bytes(pickle.dumps(Evil()))
    with pytest.raises(ie.InvEmbError, match="safetensors"):
        ie.load(saved)
    assert not marker.exists()


def test_vocabulary_that_does_not_match_the_tokenizer(saved):
    config = json.loads((saved / "config.json").read_text())
    config["vocab"]["token_ids"][7] += 1
    (saved / "config.json").write_text(json.dumps(config))
    with pytest.raises(ie.InvEmbError, match="vocabulary does not match the tokenizer"):
        ie.load(saved)


def test_weights_of_another_architecture(saved, tmp_path, corpus):
    other = ie.save(ie.Autoencoder.build(tiny_config(hidden_size=48), corpus=corpus), tmp_path / "other")
    shutil.copy(other / "model.safetensors", saved / "model.safetensors")
    with pytest.raises(ie.InvEmbError, match="does not fit the architecture"):
        ie.load(saved)


def test_a_checkpoints_default_decoding_applies_when_no_strategy_is_given(tmp_path, tiny_ar_ae, corpus):
    ie.save(tiny_ar_ae, tmp_path / "ck")
    config = json.loads((tmp_path / "ck" / "config.json").read_text())
    config["decoding"] = {"strategy": "rerank", "num_candidates": 4, "temperature": 0.5}
    (tmp_path / "ck" / "config.json").write_text(json.dumps(config))
    ae = ie.load(tmp_path / "ck")
    Z = ae.encode(corpus[:6])
    rerank = ae.decode(Z, strategy="rerank", num_candidates=4, temperature=0.5)
    assert ae.decode(Z) == rerank and ae.reconstruct(corpus[:6]) == rerank
    assert ae.decode(Z, strategy="greedy") == tiny_ar_ae.decode(Z)
    assert ie.evaluate(ae, corpus[:6], semantic=False)["decoding"]["strategy"] == "rerank"


def test_a_bad_default_decoding_is_a_clear_error(tmp_path, tiny_ae):
    ie.save(tiny_ae, tmp_path / "ck")
    config = json.loads((tmp_path / "ck" / "config.json").read_text())
    config["decoding"] = {"strategy": "telepathy"}
    (tmp_path / "ck" / "config.json").write_text(json.dumps(config))
    with pytest.raises(ie.InvEmbError, match="default decoding"):
        ie.load(tmp_path / "ck")


def test_every_info_key_survives_load_and_save(tmp_path, tiny_ae):
    ie.save(tiny_ae, tmp_path / "a", metrics={"note": 1})
    config = json.loads((tmp_path / "a" / "config.json").read_text())
    config["init_from"] = "checkpoints/captions"  # a record load knows nothing special about
    (tmp_path / "a" / "config.json").write_text(json.dumps(config))
    loaded = ie.load(tmp_path / "a")
    assert loaded.info["init_from"] == "checkpoints/captions" and loaded.info["metrics"] == {"note": 1}
    ie.save(loaded, tmp_path / "b")
    again = json.loads((tmp_path / "b" / "config.json").read_text())
    assert again["init_from"] == "checkpoints/captions" and "path" not in again
