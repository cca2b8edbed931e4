"""The decoder that starts from MiniLM's own layers (pretrained_decoder.py), and swapping a decoder with
``--init-from`` plus changed model keys (checkpoint.load_as)."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from conftest import tiny_config, tiny_train_config

import invemb_core as ie
from invemb_core import checkpoint
from invemb_core.pretrained_decoder import PretrainedDecoder
from invemb_core.text import load_transformer, resolve_model_dir
from invemb_core.train import Trainer


def pretrained_config(**overrides) -> ie.ModelConfig:
    return tiny_config(**{"decoder": "autoregressive", "decoder_cell": "pretrained", **overrides})


@pytest.fixture(scope="module")
def pretrained_ae(corpus) -> ie.Autoencoder:
    return ie.Autoencoder.build(pretrained_config(decoder_layers=2), corpus=corpus, seed=0)


def test_copied_layers_compute_what_minilm_computes():
    minilm = load_transformer(resolve_model_dir("minilm"))
    decoder = PretrainedDecoder(pretrained_config(decoder_layers=6, max_length=16), 384).eval()
    ids = torch.tensor([[101, 1037, 3899, 2003, 2770, 2000, 1996, 2314, 1012, 102]])
    with torch.no_grad():
        expected = minilm(input_ids=ids).last_hidden_state  # bidirectional, as MiniLM reads
        x = decoder.embed_previous(minilm.embeddings.word_embeddings(ids), slice(0, ids.shape[1]))
        for layer in decoder.layers.layers:
            x = layer(x)
    torch.testing.assert_close(x, expected, atol=1e-4, rtol=1e-4)


def test_cached_steps_equal_the_full_forward_pass(pretrained_ae, corpus):
    m = pretrained_ae.model
    Z = pretrained_ae.encode(corpus[:3])
    ids = torch.randint(0, pretrained_ae.codec.vocab.size, (3, 7), generator=torch.Generator().manual_seed(0))
    prev = F.embedding(ids, m.token_embeddings)
    with torch.no_grad():
        full = m.decoder(Z, 7, prev)  # (3, 7, 384)
        state, steps = None, []
        for t in range(1, 8):
            h, state = m.decoder.step(Z, prev[:, :t], state)
            steps.append(h)
    torch.testing.assert_close(torch.stack(steps, 1), full, atol=1e-5, rtol=1e-4)
    assert full.shape[-1] == 384 and state[0].shape[:2] == (2, 3)  # the donor's width; layers, batch


def test_a_pretrained_decoder_saves_and_loads_to_the_same_outputs(pretrained_ae, corpus, tmp_path):
    checkpoint.save(pretrained_ae, tmp_path / "p")
    again = ie.load(tmp_path / "p")
    Z = pretrained_ae.encode(corpus[:4])
    assert again.config.decoder_cell == "pretrained"
    for k, v in pretrained_ae.model.state_dict().items():  # every weight saved (as fp16) and read back
        torch.testing.assert_close(again.model.state_dict()[k], v.half().float(), msg=k)
    assert again.decode(Z, strategy="greedy") == pretrained_ae.decode(Z, strategy="greedy")


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (dict(decoder="parallel"), "autoregressive"),
        (dict(embedding_source="scratch"), "scratch"),
    ],
)
def test_impossible_pretrained_decoders_are_clear_errors(overrides, message):
    with pytest.raises(ie.InvEmbError, match=message):
        pretrained_config(**overrides)


def test_more_layers_than_the_donor_has_is_a_clear_error(corpus):
    with pytest.raises(ie.InvEmbError, match="has 6 layers"):
        ie.Autoencoder.build(pretrained_config(decoder_layers=7), corpus=corpus)


def _train_cfg(tmp_path, corpus, **overrides) -> ie.TrainConfig:
    data = tmp_path / "corpus.txt"
    data.write_text("\n".join(corpus) + "\n")
    return tiny_train_config(data, **overrides)


def test_init_from_with_a_new_decoder_keeps_the_encoder_and_starts_the_decoder_from_minilm(tmp_path, corpus):
    quiet = dict(progress=False, log=lambda s: None)
    base = Trainer(
        tiny_config(decoder="autoregressive"), _train_cfg(tmp_path, corpus, max_steps=2), tmp_path / "b", **quiet
    )
    base.run()
    cfg = _train_cfg(tmp_path, corpus, max_steps=2, eval_every=2, init_from=str(tmp_path / "b"))
    swap = dict(decoder_cell="pretrained", decoder_layers=1)
    t = Trainer(tiny_config(), cfg, tmp_path / "swapped", model_overrides=swap, **quiet)
    saved = ie.load(tmp_path / "b").model.state_dict()
    start = t.ae.model.state_dict()
    assert t.ae.config.decoder_cell == "pretrained" and t.ae.config.hidden_size == 32  # the rest is the saved config
    for k, v in saved.items():
        if k.startswith("encoder."):
            torch.testing.assert_close(start[k], v, msg=k)
    minilm = load_transformer(resolve_model_dir("minilm"))
    torch.testing.assert_close(
        start["decoder.layers.layers.0.linear1.weight"], minilm.encoder.layer[0].intermediate.dense.weight
    )
    t.run()
    assert ie.load(tmp_path / "swapped").config.decoder_cell == "pretrained"


def test_init_from_cannot_change_the_vocabulary_or_the_meaning(tmp_path, corpus):
    Trainer(tiny_config(), _train_cfg(tmp_path, corpus, max_steps=1), tmp_path / "b", progress=False).run()
    with pytest.raises(ie.InvEmbError, match="output_vocab cannot change"):
        checkpoint.load_as(tmp_path / "b", {"output_vocab": "full"}, log=lambda s: None)
