"""Training learns, checkpoints as it goes, and resumes exactly."""

import math

import pytest
import torch
from conftest import tiny_config, tiny_train_config

import invemb_core as ie
from invemb_core.train import Trainer


def _train_cfg(tmp_path, corpus, **overrides):
    path = tmp_path / "train.txt"
    path.write_text("\n".join(corpus))
    noisy = dict(sampled_negatives=16, token_substitution=0.1, word_dropout=0.1, vector_noise=0.05)
    return tiny_train_config(path, **{**noisy, **overrides})


def _weights(ae):
    return {k: v.clone() for k, v in ae.model.state_dict().items()}


def test_resume_continues_exactly(tmp_path, corpus):
    cfg = _train_cfg(tmp_path, corpus)
    straight = Trainer(tiny_config(), cfg, tmp_path / "a", progress=False, log=lambda s: None).run()
    Trainer(tiny_config(), cfg, tmp_path / "b", progress=False, log=lambda s: None).run(until_step=4)
    resumed = Trainer(tiny_config(), cfg, tmp_path / "b", resume=True, progress=False, log=lambda s: None)
    assert resumed.at.step == 4
    resumed = resumed.run()
    a, b = _weights(straight), _weights(resumed)
    assert a.keys() == b.keys()
    for k in a:
        torch.testing.assert_close(a[k], b[k], rtol=0, atol=0, msg=k)


def test_training_reduces_the_loss_and_records_history(tmp_path, corpus):
    cfg = _train_cfg(
        tmp_path,
        corpus,
        max_steps=30,
        eval_every=10,
        token_substitution=0.0,
        word_dropout=0.0,
        vector_noise=0.0,
        sampled_negatives=0,
    )
    t = Trainer(tiny_config(), cfg, tmp_path / "run", progress=False, log=lambda s: None)
    t.run()
    losses = [h["train_loss"] for h in t.at.history]
    assert losses[-1] < losses[0]
    loaded = ie.load(tmp_path / "run")
    assert "validation" in loaded.info["metrics"]


@pytest.mark.parametrize("loss", ["match", "ce+match"])
def test_match_loss_trains(tmp_path, corpus, loss):
    """Steps on one batch under the match loss lower that loss, and the run saves a loadable checkpoint."""
    quiet = dict(token_substitution=0.0, word_dropout=0.0, vector_noise=0.0)  # the same batch each step
    cfg = _train_cfg(tmp_path, corpus, loss=loss, max_steps=3, warmup_steps=1, lr=3e-3, **quiet)
    t = Trainer(tiny_config(output_scoring="cosine"), cfg, tmp_path / loss, progress=False, log=lambda s: None)
    from invemb_core.data import collate

    batch = collate(t.ids[:8], pad=t.ae.codec.vocab.pad)
    losses = [t.train_step(batch) for _ in range(8)]
    assert all(math.isfinite(x) for x in losses) and losses[-1] < losses[0], losses
    t.run()
    assert ie.load(tmp_path / loss).reconstruct(corpus[:2])


@pytest.mark.slow
def test_semantic_loss_sends_gradient_through_gumbel_softmax(tmp_path, corpus):
    cfg = _train_cfg(tmp_path, corpus, semantic_loss_weight=1.0, max_steps=2, sampled_negatives=0)
    t = Trainer(tiny_config(output_vocab="full"), cfg, tmp_path / "sem", progress=False, log=lambda s: None)
    from invemb_core.data import collate

    batch = collate(t.ids[:4], pad=t.ae.codec.vocab.pad)
    before = {k: v.clone() for k, v in t.model.head.state_dict().items()}
    t.train_step(batch)
    assert any(not torch.equal(before[k], v) for k, v in t.model.head.state_dict().items())


def test_resume_without_a_run_is_a_clear_error(tmp_path, corpus):
    with pytest.raises(ie.InvEmbError, match="nothing to resume"):
        Trainer(tiny_config(), _train_cfg(tmp_path, corpus), tmp_path / "none", resume=True)


def test_init_from_fine_tunes_a_saved_checkpoint_and_keeps_its_model(tmp_path, corpus):
    cfg = _train_cfg(tmp_path, corpus, max_steps=4)
    base = Trainer(tiny_config(), cfg, tmp_path / "base", progress=False, log=lambda s: None).run()
    tuned_cfg = _train_cfg(tmp_path, corpus, max_steps=2, eval_every=2, init_from=str(tmp_path / "base"))
    other_model = tiny_config(hidden_size=16)  # ignored: the checkpoint's model config wins
    t = Trainer(other_model, tuned_cfg, tmp_path / "tuned", progress=False, log=lambda s: None)
    start = _weights(t.ae)
    for k, v in _weights(base).items():  # it starts from the saved (fp16) weights, not fresh ones
        torch.testing.assert_close(start[k], v.half().float(), msg=k)
    t.run()
    tuned = ie.load(tmp_path / "tuned")
    assert tuned.config.hidden_size == 32 and tuned.info["train_config"]["init_from"] == str(tmp_path / "base")
    assert [h["step"] for h in tuned.info["history"]] == [2]  # its own record, none of the base's
    assert any(not torch.equal(v, start[k]) for k, v in _weights(tuned).items())


def test_init_from_a_missing_checkpoint_is_a_clear_error(tmp_path, corpus):
    cfg = _train_cfg(tmp_path, corpus, init_from=str(tmp_path / "nowhere"))
    with pytest.raises(ie.InvEmbError, match="nowhere"):
        Trainer(tiny_config(), cfg, tmp_path / "x", progress=False, log=lambda s: None)


def test_the_periodic_evaluation_decodes_greedily_whatever_the_default_decoding(tmp_path, corpus, monkeypatch):
    """The evaluation every ``eval_every`` steps is greedy (fast); only the final one uses the default decoding."""
    cfg = _train_cfg(tmp_path, corpus, max_steps=4, eval_every=2)
    rerank = {"strategy": "rerank", "num_candidates": 4, "temperature": 0.5}
    t = Trainer(tiny_config(), cfg, tmp_path / "run", progress=False, log=lambda s: None, default_decoding=rerank)
    asked = []
    decode_ids = type(t.ae).decode_ids
    monkeypatch.setattr(type(t.ae), "decode_ids", lambda ae, Z, **kw: asked.append(kw) or decode_ids(ae, Z, **kw))
    t.run()
    periodic = asked[: len(t.at.history)]
    assert len(periodic) == 2 and all(kw == {"strategy": "greedy"} for kw in periodic)
    assert ie.load(tmp_path / "run").info["metrics"]["validation"]["decoding"]["strategy"] == "rerank"
