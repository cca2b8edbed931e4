"""Properties of the public API on tiny untrained models of every family."""

import pytest
import torch
from conftest import tiny_config

import invemb_core as ie

FAMILIES = [
    dict(),  # transformer encoder (slots) + parallel transformer decoder
    dict(pooling="mean"),
    dict(encoder="gru", pooling="last", bidirectional=True, reverse_input=True),
    dict(encoder="lstm", pooling="slots", decoder_cell="lstm"),
    dict(encoder="rnn", pooling="mean", decoder_cell="gru", bidirectional=False),
    dict(decoder="autoregressive"),
    dict(encoder="gru", pooling="last", decoder="autoregressive", decoder_cell="gru"),
    dict(
        encoder="lstm",
        pooling="last",
        decoder="autoregressive",
        decoder_cell="lstm",
        encoder_layers=2,
        decoder_layers=2,
    ),
    dict(embedding_source="scratch", scratch_embedding_size=16),
    dict(output_scoring="cosine"),
]


@pytest.mark.parametrize("overrides", FAMILIES, ids=lambda o: ",".join(f"{k}={v}" for k, v in o.items()) or "default")
def test_every_family_encodes_decodes_and_backpropagates(corpus, overrides):
    ae = ie.Autoencoder.build(tiny_config(**overrides), corpus=corpus, seed=0)
    Z = ae.encode(corpus[:3])
    assert Z.shape == (3, 64)
    out = ae.decode(Z)
    assert len(out) == 3 and all(isinstance(s, str) for s in out)
    ids, _ = ae.tokenize(corpus[:4])
    from invemb_core.data import collate

    batch = collate(ids, pad=ae.codec.vocab.pad)
    ae.model.train()
    logits, loss = ae.model(batch.tokens, batch.lengths, loss="ce+match")
    loss.backward()
    ae.model.eval()
    assert logits.shape[0] == int(batch.lengths.sum()) + 4  # every token plus one end token each
    assert torch.isfinite(loss)


def test_seeded_sampling_repeats(tiny_ae, corpus):
    kw = dict(strategy="sample", temperature=1.0, top_p=0.9, seed=7)
    assert tiny_ae.reconstruct(corpus[:5], **kw) == tiny_ae.reconstruct(corpus[:5], **kw)


@pytest.mark.parametrize("fixture", ["tiny_ae", "tiny_ar_ae", "tiny_gru_ae"])
def test_top_k_one_and_temperature_zero_equal_greedy(request, fixture, corpus):
    ae = request.getfixturevalue(fixture)
    greedy = ae.reconstruct(corpus[:5])
    assert ae.reconstruct(corpus[:5], strategy="sample", top_k=1, seed=3) == greedy
    assert ae.reconstruct(corpus[:5], strategy="sample", temperature=0.0, seed=3) == greedy


@pytest.mark.parametrize("fixture", ["tiny_ar_ae", "tiny_gru_ae"])
def test_beam_size_one_equals_greedy(request, fixture, corpus):
    ae = request.getfixturevalue(fixture)
    assert ae.reconstruct(corpus[:6], strategy="beam", beam_size=1) == ae.reconstruct(corpus[:6])
    assert len(ae.reconstruct(corpus[:6], strategy="beam", beam_size=4)) == 6


def test_beam_on_a_parallel_decoder_is_a_clear_error(tiny_ae):
    with pytest.raises(ie.InvEmbError, match="autoregressive"):
        tiny_ae.reconstruct("A dog runs in the park.", strategy="beam")


def test_rerank_never_moves_away_from_the_target(tiny_ar_ae, corpus):
    import torch.nn.functional as F

    Z = tiny_ar_ae.encode(corpus[:4])
    greedy = tiny_ar_ae.decode_ids(Z)
    reranked = tiny_ar_ae.decode_ids(Z, strategy="rerank", num_candidates=4, temperature=1.5, seed=0)
    cos = lambda ids: F.cosine_similarity(tiny_ar_ae.encode_ids([i or [1] for i in ids]), Z, dim=-1)
    assert bool((cos(reranked) >= cos(greedy) - 1e-5).all())


def test_rerank_encodes_each_new_candidate_once(tiny_ar_ae, corpus, monkeypatch):
    Z = tiny_ar_ae.encode(corpus[:6])
    Z = Z + 0.5 * Z.roll(1, dims=0)  # between sentences: no greedy output comes back, every row is reranked
    # (a cold temperature: most samples repeat the greedy output)
    greedy = [tuple(ids) for ids in tiny_ar_ae.decode_ids(Z)]
    encoded: list[list[tuple]] = []
    encode_ids = tiny_ar_ae.encode_ids
    monkeypatch.setattr(
        tiny_ar_ae, "encode_ids", lambda ids: encoded.append([tuple(r) for r in ids]) or encode_ids(ids)
    )
    tiny_ar_ae.decode_ids(Z, strategy="rerank", num_candidates=6, temperature=0.02, seed=0)
    first, *samples = encoded
    assert first == greedy  # the greedy outputs, as the rows' first candidates
    drawn = [row for call in samples for row in call]
    assert len(drawn) == len(set(drawn)) and not set(drawn) & set(greedy)  # samples repeating one: not again


@pytest.mark.parametrize("fixture", ["tiny_ae", "tiny_ar_ae", "tiny_gru_ae"])
def test_decoding_many_at_once_equals_each_alone(request, fixture, corpus):
    ae = request.getfixturevalue(fixture)
    decodings = {
        "greedy": {},
        "cold": {"strategy": "sample", "temperature": 0.3, "seed": 1},
        "hot": {"strategy": "sample", "temperature": 1.5, "top_k": 10, "top_p": 0.9, "seed": 2},
        "short": {"strategy": "sample", "temperature": 1.0, "max_length": 4, "seed": 3},
        "rerank": {"strategy": "rerank", "num_candidates": 3, "seed": 4},
    }
    if ae.supports_beam:
        decodings["beam"] = {"strategy": "beam", "beam_size": 3}
    Z = ae.encode(corpus[:5])
    many = ae.decode_ids_many(Z, decodings)
    assert list(many) == list(decodings)
    assert many == {name: ae.decode_ids(Z, **kwargs) for name, kwargs in decodings.items()}
    assert ae.decode_many(Z, decodings)["hot"] == ae.decode(Z, **decodings["hot"])


def test_cached_transformer_steps_equal_the_full_forward_pass(tiny_ar_ae, corpus):
    import torch.nn.functional as F

    m = tiny_ar_ae.model
    Z = tiny_ar_ae.encode(corpus[:3])
    ids = torch.randint(0, tiny_ar_ae.codec.vocab.size, (3, 6), generator=torch.Generator().manual_seed(0))
    prev = F.embedding(ids, m.token_embeddings)  # any previous tokens
    with torch.no_grad():
        full = m.decoder(Z, 6, prev)  # (3, 6, H), no cache
        state, steps = None, []
        for t in range(1, 7):
            h, state = m.decoder.step(Z, prev[:, :t], state)
            steps.append(h)
        prefix, _ = m.decoder.step(Z, prev, None)  # a whole prefix at once, no state
    torch.testing.assert_close(torch.stack(steps, 1), full, atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(prefix, full[:, -1], atol=1e-5, rtol=1e-4)
    assert state[0].shape[:2] == (tiny_ar_ae.config.decoder_layers, 3)  # batch on dim 1: beams reorder it


def test_max_length_caps_the_output(tiny_ae, corpus):
    out = tiny_ae.decode_ids(tiny_ae.encode(corpus[:3]), strategy="sample", temperature=2.0, max_length=3)
    assert all(len(row) <= 3 for row in out)


@pytest.mark.parametrize("bad", ["", "   ", "\x00\x01", "\t\n"])
def test_empty_input_is_a_clear_error(tiny_ae, bad):
    with pytest.raises(ie.InvEmbError, match="empty"):
        tiny_ae.encode([bad])


def test_no_sentences_is_a_clear_error(tiny_ae):
    with pytest.raises(ie.InvEmbError, match="no sentences"):
        tiny_ae.encode([])


@pytest.mark.parametrize(
    "text",
    [
        "x" * 10_000,
        "🙂🙃 emoji",
        "日本語の文",
        "مرحبا بالعالم",
        "Привет мир",
        "<script>alert(1)</script>",
        "![x](http://example.com/a.png)",
        "bad \ud800 surrogate",
    ],
)
def test_hostile_text_reconstructs(tiny_ae, text):
    out = tiny_ae.reconstruct([text])
    assert len(out) == 1 and isinstance(out[0], str)


def test_long_input_is_truncated_and_says_so(tiny_ae):
    ids, truncated = tiny_ae.tokenize(["word " * 200, "a short one"])
    assert truncated == [True, False]
    assert len(ids[0]) == tiny_ae.config.max_length


@pytest.mark.parametrize("shape", [(3,), (2, 5), (0, 64), (1, 2, 64)])
def test_wrong_vector_shapes_are_clear_errors(tiny_ae, shape):
    with pytest.raises(ie.InvEmbError, match="shape"):
        tiny_ae.decode(torch.zeros(shape))


def test_nan_vectors_are_a_clear_error(tiny_ae):
    with pytest.raises(ie.InvEmbError, match="NaN"):
        tiny_ae.decode(torch.full((1, 64), float("nan")))


def test_unknown_decode_option_values_are_clear_errors(tiny_ae):
    Z = tiny_ae.encode(["a dog runs"])
    for kwargs in [dict(strategy="nope"), dict(temperature=-1), dict(top_p=0.0), dict(top_k=-2), dict(beam_size=0)]:
        with pytest.raises(ie.InvEmbError):
            tiny_ae.decode(Z, **kwargs)


def test_decode_many_without_a_strategy_is_greedy_and_decode_is_the_default(tiny_ar_ae, corpus):
    Z = tiny_ar_ae.encode(corpus[:3])
    tiny_ar_ae.info["decoding"] = {"strategy": "rerank", "num_candidates": 3, "temperature": 0.5, "seed": 0}
    try:
        many = tiny_ar_ae.decode_many(Z, {"plain": {}, "own": {"strategy": "default"}})
        assert many["plain"] == tiny_ar_ae.decode(Z, strategy="greedy")
        assert many["own"] == tiny_ar_ae.decode(Z) == tiny_ar_ae.decode(Z, **tiny_ar_ae.default_decoding)
    finally:
        tiny_ar_ae.info.pop("decoding")
