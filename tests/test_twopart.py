"""Two-part vectors (meaning ; wording): MiniLM's geometry, exact round trips, ``meaning`` and its errors."""

import pytest
import torch
import torch.nn.functional as F
from conftest import tiny_config, tiny_train_config

import invemb_core as ie
from invemb_core.engine import Engine
from invemb_core.metrics import sentence_transformer
from invemb_core.twopart import TwoPartAutoencoder

MINILM = 384


@pytest.fixture(scope="module")
def two_part(corpus) -> ie.Autoencoder:
    return ie.Autoencoder.build(tiny_config(meaning="minilm", vector_size=MINILM + 16), corpus=corpus, seed=0)


def test_the_meaning_part_is_minilm_and_dominates_cosine(two_part, corpus):
    Z = two_part.encode(corpus[:6])
    minilm = sentence_transformer(two_part.codec.model_dir)
    E = minilm.encode(corpus[:6], convert_to_tensor=True, normalize_embeddings=True)
    assert torch.allclose(Z[:, :MINILM], E, atol=1e-5)
    cos = torch.nn.functional.normalize(Z, dim=-1) @ torch.nn.functional.normalize(Z, dim=-1).T
    assert torch.allclose(cos, E @ E.T, atol=1e-3)
    assert (two_part.meaning_size, two_part.wording_size) == (MINILM, 16)


def test_a_truncated_sentence_keeps_the_meaning_of_all_of_it(two_part):
    long = "A man in a blue shirt and a red hat rides a bicycle past a row of shops while children play " * 2
    _, truncated = two_part.tokenize([long])
    assert truncated[0]  # the tiny model reads 16 pieces
    E = sentence_transformer(two_part.codec.model_dir).encode([long], convert_to_tensor=True, normalize_embeddings=True)
    assert torch.allclose(two_part.encode([long])[:, :MINILM], E, atol=1e-5)


def test_meaning_keeps_a_prefix_of_the_wording(two_part, corpus):
    Z = two_part.encode(corpus[:3])
    assert torch.equal(two_part.meaning(Z, keep=1.0), Z)
    none = two_part.meaning(Z)
    assert torch.equal(none[:, :MINILM], Z[:, :MINILM]) and not none[:, MINILM:].any()
    half = two_part.meaning(Z, keep=0.5)
    assert torch.equal(half[:, : MINILM + 8], Z[:, : MINILM + 8]) and not half[:, MINILM + 8 :].any()
    assert len(two_part.decode(none, max_length=4)) == 3
    with pytest.raises(ie.InvEmbError, match="keep"):
        two_part.meaning(Z, keep=1.5)


def test_minilm_vectors_from_elsewhere_decode_like_meaning_only(two_part, corpus):
    minilm = sentence_transformer(two_part.codec.model_dir)
    E = minilm.encode(corpus[:3], convert_to_tensor=True, normalize_embeddings=True)
    Z = two_part.from_meaning(E)
    assert torch.allclose(Z, two_part.meaning(two_part.encode(corpus[:3])), atol=1e-5)
    with pytest.raises(ie.InvEmbError, match="shape"):
        two_part.from_meaning(torch.zeros(2, 10))


def test_a_plain_checkpoint_has_no_meaning_part(tiny_ae, corpus):
    assert tiny_ae.meaning_size == 0
    with pytest.raises(ie.InvEmbError, match="no separate meaning part"):
        tiny_ae.meaning(tiny_ae.encode(corpus[:2]))
    with pytest.raises(ie.InvEmbError, match="no separate meaning part"):
        tiny_ae.from_meaning(torch.zeros(1, 384))


def test_vector_smaller_than_the_meaning_is_a_clear_error(corpus):
    with pytest.raises(ie.InvEmbError, match="vector_size=100"):
        ie.Autoencoder.build(tiny_config(meaning="minilm", vector_size=100), corpus=corpus)


def test_meaning_only_model_decodes_minilm_vectors(corpus):
    ae = ie.Autoencoder.build(tiny_config(meaning="minilm", vector_size=MINILM), corpus=corpus, seed=0)
    assert ae.wording_size == 0 and ae.encode(corpus[:2]).shape == (2, MINILM)
    assert len(ae.decode(ae.encode(corpus[:2]), max_length=3)) == 2


def test_trains_saves_and_round_trips(tmp_path, corpus):
    data = tmp_path / "tiny.txt"
    data.write_text("\n".join(corpus))
    cfg = tiny_config(meaning="minilm", vector_size=MINILM + 16, decoder="autoregressive")
    ae = ie.train(cfg, tiny_train_config(data, wording_dropout=0.5, vector_noise=0.05), tmp_path / "ck", progress=False)
    assert isinstance(ae.model, TwoPartAutoencoder)
    with torch.no_grad():  # saved weights are fp16: compare against the rounded live model
        for p in ae.model.parameters():
            p.copy_(p.half().float())
    loaded = ie.load(tmp_path / "ck")
    assert torch.equal(ae.encode(corpus), loaded.encode(corpus))
    assert ae.reconstruct(corpus) == loaded.reconstruct(corpus)
    M = loaded.meaning(loaded.encode(corpus[:5]), keep=0.25)
    kw = dict(strategy="sample", temperature=1.0, seed=3)
    assert ae.decode(M, **kw) == loaded.decode(M, **kw)


def test_wording_dropout_is_validated():
    with pytest.raises(ie.InvEmbError, match="wording_dropout"):
        ie.TrainConfig(wording_dropout=1.5)


@pytest.mark.slow
def test_the_shipped_default_has_a_meaning_and_the_plain_one_does_not():
    from invemb_core.checkpoint import default_checkpoint_dir

    ae = ie.load()
    assert (ae.meaning_size, ae.wording_size) == (MINILM, ae.vector_size - MINILM) and ae.wording_size > 0
    Z = ae.encode(["A dog runs on the beach."])
    assert ae.decode(ae.meaning(Z), strategy="greedy")[0]
    plain = ie.load(default_checkpoint_dir() / "plain")
    with pytest.raises(ie.InvEmbError, match="no separate meaning part"):
        plain.meaning(plain.encode(["A dog runs on the beach."]))


def test_verify_writes_from_the_meaning_when_the_wording_does_not_lead_back(two_part, tiny_ae, corpus):
    Z = two_part.encode(corpus[:4])
    kw = dict(strategy="rerank", num_candidates=3, temperature=0.5, max_length=6)
    # An untrained model's outputs never re-encode to its vectors: every row is written again from the
    # meaning (by default always kept) ...
    assert two_part.decode(Z, verify=0.999999, **kw) == two_part.decode(two_part.meaning(Z), **kw)
    # ... or, with a margin of 0, kept only where it re-encodes closer to the vector than the first text.
    first = two_part.decode_ids(Z, **kw)
    again = two_part.decode_ids(two_part.meaning(Z), **kw)
    closer = [
        float(F.cosine_similarity(two_part.encode_ids([b]), z[None]))
        > float(F.cosine_similarity(two_part.encode_ids([a]), z[None]))
        for a, b, z in zip(first, again, Z)
    ]
    assert 0 < sum(closer) < len(closer)  # both outcomes occur here
    expected = [two_part.codec.decode(b if c else a) for a, b, c in zip(first, again, closer)]
    assert two_part.decode(Z, verify=0.999999, verify_margin=0.0, **kw) == expected
    with pytest.raises(ie.InvEmbError, match="beam search needs an autoregressive decoder"):
        two_part.decode(Z, verify=0.999999, fallback_beam=3, **kw)  # a parallel decoder has no beam
    assert two_part.decode(Z, verify=0.0, **kw) == two_part.decode(Z, **kw)
    plain = tiny_ae.encode(corpus[:4])  # no meaning part: nothing to fall back to
    assert tiny_ae.decode(plain, verify=0.999999, **kw) == tiny_ae.decode(plain, **kw)


def test_decodings_named_like_others_or_verified_do_not_disturb_each_other(two_part, corpus):
    Z = two_part.encode(corpus[:4])
    hot = {"strategy": "sample", "temperature": 2.0, "seed": 1, "max_length": 6}
    plain_greedy = {"strategy": "greedy", "max_length": 6}
    verified = {**plain_greedy, "verify": 0.999999}
    together = two_part.decode_many(Z, {"greedy": hot, "g": plain_greedy, "v": verified})
    assert together["greedy"] == two_part.decode(Z, **hot)  # a sampler named "greedy" is still a sampler
    assert together["g"] == two_part.decode(Z, **plain_greedy)  # verification rewrote "v" only
    assert together["v"] == two_part.decode(Z, **verified) != together["g"]


def test_rows_with_no_wording_code_draw_their_own_number_of_candidates(two_part, corpus, monkeypatch):
    Z = two_part.encode(corpus[:4])
    mixed = torch.cat([Z[:2], two_part.meaning(Z[2:])])  # two whole vectors, two meaning-only ones
    drawn = []
    real = Engine.passes

    def spy(engine, z, draws, max_length, loop_guard):
        drawn.append((z.shape[0], len(draws)))
        return real(engine, z, draws, max_length, loop_guard)

    monkeypatch.setattr(Engine, "passes", spy)
    kw = dict(strategy="rerank", temperature=0.5, max_length=6)
    two_part.decode(mixed, num_candidates=3, meaning_candidates=6, **kw)
    # the greedy pass for all 4 rows; then an untrained model's rows are all open: 2 whole rows draw
    # 2 samples, the 2 meaning-only rows 5
    assert sorted(drawn) == sorted([(4, 1), (2, 2), (2, 5)])
    drawn.clear()
    two_part.decode(mixed, num_candidates=3, **kw)  # 0: every row draws num_candidates
    assert drawn == [(4, 1), (4, 2)]
    with pytest.raises(ie.InvEmbError, match="meaning_candidates"):
        two_part.decode(mixed, meaning_candidates=-1, **kw)
