"""Correction (correct.py): the target it aims at, the rows it may touch, and that it never moves a row
further from its vector, as a pure function and as a stage of the engine."""

import pytest
import torch
import torch.nn.functional as F
from conftest import tiny_config

import invemb_core as ie
from invemb_core.correct import correct, correctable_rows, targets

M = 384


@pytest.fixture(scope="module")
def two_part(corpus) -> ie.Autoencoder:
    return ie.Autoencoder.build(tiny_config(meaning="minilm", vector_size=M + 16), corpus=corpus, seed=0)


def cosines(ae: ie.Autoencoder, ids: list[list[int]], Z: torch.Tensor) -> torch.Tensor:
    return F.cosine_similarity(ae.encode_ids([i or [ae.codec.unk_id] for i in ids]), Z, dim=-1)


def test_the_target_aims_past_the_vector_away_from_the_miss():
    torch.manual_seed(0)
    Z, V = torch.randn(3, 8), torch.randn(3, 8)
    Z[:, 5:] = 0  # no wording code
    T = targets(Z, V, 0.5, meaning_size=5)
    assert torch.equal(T[:, 5:], torch.zeros(3, 3))  # the target keeps no wording code
    assert torch.allclose(T[:, :5].norm(dim=-1), Z[:, :5].norm(dim=-1))
    # further from where the text landed than the vector itself is, still near the vector
    assert (F.cosine_similarity(T[:, :5], V[:, :5]) < F.cosine_similarity(Z[:, :5], V[:, :5])).all()
    assert (F.cosine_similarity(T, Z) > 0.5).all()
    assert torch.allclose(targets(Z, V, 1e-9, meaning_size=5), Z, atol=1e-6)
    assert targets(Z, V, 0.5, meaning_size=0).shape == Z.shape  # a one-part vector moves as a whole


def test_only_loose_rows_without_a_wording_code_are_corrected():
    Z = torch.tensor([[1.0, 0.0, 0.0], [1.0, 0.0, 0.5], [0.0, 1.0, 0.0]])
    V = torch.tensor([[0.0, 1.0, 0.0], [0.0, 1.0, 0.0], [0.0, 1.0, 0.0]])  # row 2 came back already
    assert correctable_rows(Z, V, meaning_size=2) == [0]
    assert correctable_rows(Z, V, meaning_size=0) == [0, 1]


def test_a_row_keeps_the_closer_text_and_settled_rows_stop():
    Z = torch.tensor([[1.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
    texts = {(1,): torch.tensor([0.6, 0.8, 0.0]), (2,): torch.tensor([0.8, 0.6, 0.0]), (3,): torch.tensor([0, 0, 1.0])}
    reencode = lambda rows: torch.stack([texts[tuple(r)] for r in rows])  # noqa: E731
    asked = []

    def redecode(T):
        asked.append(T.shape[0])
        return [[2], [1]]  # row 0 gets a closer text, row 1 a further one

    chosen = [[1], [2], [3]]  # row 2 came back already: settled
    out, W = correct(Z, chosen, reencode(chosen), steps=2, step=0.5, reencode=reencode, redecode=redecode)
    assert out == [[2], [2], [3]] and chosen == [[1], [2], [3]]  # the input list is not changed
    assert torch.equal(W[0], texts[(2,)]) and torch.equal(W[1], texts[(2,)])
    assert asked == [2, 2]  # the two open rows, once per round


@pytest.mark.parametrize("fixture", ["two_part", "tiny_ar_ae"])
def test_correction_never_moves_a_row_further_from_its_vector(request, corpus, fixture):
    ae = request.getfixturevalue(fixture)
    Z = ae.encode(corpus[:6])
    if ae.meaning_size:
        Z = ae.meaning(Z)
    kw = dict(strategy="rerank", num_candidates=3, temperature=0.5, max_length=8)
    before = ae.decode_ids(Z, **kw)
    after = ae.decode_ids(Z, corrections=2, correction_step=0.5, **kw)
    assert (cosines(ae, after, Z) >= cosines(ae, before, Z) - 1e-5).all()
    assert after != before  # an untrained model's rows are all open: correction changes some


def test_rows_with_a_wording_code_are_not_corrected(two_part, corpus):
    Z = two_part.encode(corpus[:4])
    kw = dict(strategy="greedy", max_length=8)
    assert two_part.decode(Z, corrections=2, **kw) == two_part.decode(Z, **kw)


def test_correction_knobs_are_checked(two_part, corpus):
    Z = two_part.meaning(two_part.encode(corpus[:1]))
    with pytest.raises(ie.InvEmbError, match="does not use corrections"):
        two_part.decode(Z, strategy="sample", corrections=1)
    with pytest.raises(ie.InvEmbError, match="corrections must be >= 0"):
        two_part.decode(Z, corrections=-1)
    with pytest.raises(ie.InvEmbError, match="correction_step must be > 0"):
        two_part.decode(Z, corrections=1, correction_step=0.0)


def test_a_checkpoint_whose_default_decoding_corrects_round_trips(two_part, corpus, tmp_path):
    decoding = {"strategy": "rerank", "num_candidates": 3, "temperature": 0.5, "seed": 0, "max_length": 8}
    two_part.info["decoding"] = {**decoding, "corrections": 1, "correction_step": 0.5}
    try:
        ie.save(two_part, tmp_path / "ck")
        loaded = ie.load(tmp_path / "ck")
    finally:
        two_part.info.pop("decoding")
    assert loaded.default_decoding["corrections"] == 1 and loaded.default_decoding["correction_step"] == 0.5
    M = two_part.meaning(two_part.encode(corpus[:5]))
    corrected = loaded.decode(M)  # the checkpoint's own decoding, correction included
    assert corrected == two_part.decode(M, **decoding, corrections=1, correction_step=0.5)
    assert corrected != loaded.decode(M, corrections=0)  # it changed something (an untrained model misses)
