"""The vector cache (vector_cache.py): repeated sentences are encoded once, and a changed model is never
answered from it."""

import torch

from invemb_core.vector_cache import VectorCache


def counting(ae, monkeypatch) -> list[int]:
    """Rows the model encodes, per call of its ``encode``."""
    calls: list[int] = []
    real = ae.model.encode

    def encode(tokens, lengths):
        calls.append(tokens.shape[0])
        return real(tokens, lengths)

    monkeypatch.setattr(ae.model, "encode", encode)
    return calls


def test_a_sentence_encoded_again_comes_from_the_cache(tiny_ae, corpus, monkeypatch):
    ae = tiny_ae
    ae.vector_cache = VectorCache(ae.model)
    calls = counting(ae, monkeypatch)
    first = ae.encode(corpus[:4])
    again = ae.encode([corpus[2], corpus[0], corpus[5]])
    assert calls == [4, 1]  # only the new sentence is encoded
    torch.testing.assert_close(again[:2], first[[2, 0]], rtol=0, atol=1e-6)
    again[0].zero_()  # the caller owns what it gets
    torch.testing.assert_close(ae.encode([corpus[2]])[0], first[2], rtol=0, atol=1e-6)


def test_a_changed_model_is_encoded_afresh(tiny_ae, corpus, monkeypatch):
    ae = tiny_ae
    ae.vector_cache = VectorCache(ae.model)
    calls = counting(ae, monkeypatch)
    before = ae.encode(corpus[:3])
    with torch.no_grad():
        next(ae.model.parameters()).add_(0.5)  # as an optimiser step does
    after = ae.encode(corpus[:3])
    assert calls == [3, 3] and not torch.allclose(before, after)
    ae.model.train()
    ae.encode(corpus[:3])
    assert calls == [3, 3, 3]  # train/eval mode is part of the model's state too
    ae.model.eval()


def test_the_cache_keeps_the_most_recent_vectors_only(tiny_ae, corpus, monkeypatch):
    ae = tiny_ae
    ae.vector_cache = VectorCache(ae.model, size=2)
    calls = counting(ae, monkeypatch)
    ae.encode(corpus[:3])  # keeps the last two
    ae.encode([corpus[1], corpus[2]])
    ae.encode([corpus[0]])
    assert calls == [3, 1]
    ae.vector_cache = VectorCache(ae.model, size=0)  # off
    ae.encode([corpus[0]])
    ae.encode([corpus[0]])
    assert calls == [3, 1, 1, 1]


def test_threads_sharing_a_small_cache_get_every_vector(tiny_ae, corpus):
    """Evictions by one thread between another's lookup and store cost a re-encode, never a KeyError."""
    from concurrent.futures import ThreadPoolExecutor

    ae = tiny_ae
    ae.vector_cache = VectorCache(ae.model, size=3)  # far fewer than the sentences in flight: evicting all the time
    sentences = corpus[:12]
    alone = {s: v for s, v in zip(sentences, ae.encode(sentences))}

    def encode(i: int) -> bool:
        batch = [sentences[(i * 5 + k) % len(sentences)] for k in range(4)]
        return all(torch.allclose(v, alone[s], atol=1e-5) for s, v in zip(batch, ae.encode(batch)))

    with ThreadPoolExecutor(8) as pool:
        assert all(pool.map(encode, range(200)))
    ae.vector_cache = VectorCache(ae.model)
