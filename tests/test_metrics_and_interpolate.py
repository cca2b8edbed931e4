import pytest
import torch

import invemb_core as ie
from invemb_core import metrics
from invemb_core.interpolate import decode_path, lerp, path, slerp, tidy_punctuation


def test_token_accuracy_and_exact_match():
    refs = [[1, 2, 3], [4, 5]]
    assert metrics.token_accuracy(refs, [[1, 2, 3], [4, 5]]) == 1.0
    assert metrics.token_accuracy(refs, [[1, 9], [4, 5, 6]]) == pytest.approx(3 / 5)
    assert metrics.exact_match(refs, [[1, 2, 3], [4, 5, 6]]) == 0.5


def test_bleu_is_100_for_identical_text_and_lower_otherwise():
    refs = ["a man rides a bike down the street ."]
    assert metrics.bleu(refs, refs) == pytest.approx(100.0)
    assert metrics.bleu(refs, ["a woman rides a bike down the road ."]) < 60


def test_buckets():
    assert [metrics.bucket_name(n) for n in (3, 5, 10, 11, 20, 30, 31)] == [
        "<5",
        "5-10",
        "5-10",
        "11-15",
        "16-20",
        "21-30",
        ">30",
    ]


@pytest.mark.slow
def test_evaluate_reports_everything(tiny_ae, corpus):
    result = ie.evaluate(tiny_ae, corpus[:10])
    for key in ("token_accuracy", "exact_match", "bleu", "semantic_cosine", "by_length", "n"):
        assert key in result
    assert sum(part["n"] for part in result["by_length"].values()) == 10
    assert -1.0 <= result["semantic_cosine"] <= 1.0


def test_lerp_and_slerp_hit_both_ends():
    a, b = torch.randn(16), torch.randn(16)
    alphas, Z = path(a, b, steps=5, method="slerp")
    assert Z.shape == (5, 16)
    torch.testing.assert_close(Z[0], a)
    torch.testing.assert_close(Z[-1], b)
    torch.testing.assert_close(lerp(a, b, torch.tensor([0.5]))[0], (a + b) / 2)
    mid = slerp(a, b, torch.tensor([0.5]))[0]
    assert mid.norm() == pytest.approx(float((a.norm() + b.norm()) / 2), rel=1e-4)
    torch.testing.assert_close(slerp(a, 2 * a, torch.tensor([0.5]))[0], 1.5 * a)  # parallel: falls back to lerp


def test_interpolate_and_arithmetic(tiny_ae):
    steps = ie.interpolate(tiny_ae, "a dog runs on the grass.", "two men play chess.", steps=6, method="lerp")
    assert [a for a, _ in steps] == [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
    assert isinstance(ie.arithmetic(tiny_ae, "a man rides a horse.", "a man", "a woman"), str)
    with pytest.raises(ie.InvEmbError, match="steps"):
        ie.interpolate(tiny_ae, "a", "b", steps=1)
    with pytest.raises(ie.InvEmbError, match="method"):
        ie.interpolate(tiny_ae, "a", "b", method="cubic")


def test_runs_of_punctuation_become_one_mark():
    assert tidy_punctuation("two dog runs through chess sunny area..") == "two dog runs through chess sunny area."
    assert tidy_punctuation("a man in the park,. a dog") == "a man in the park. a dog"  # the sentence end wins
    assert tidy_punctuation("is it?!") == "is it?"
    assert tidy_punctuation("a dog, , a cat") == "a dog, a cat"
    assert tidy_punctuation("a dog, a cat. two men.") == "a dog, a cat. two men."  # single marks stay


def test_a_paths_midpoints_are_tidied_and_its_ends_left_as_decoded(monkeypatch):
    decoded = ["wow!!", "a dog runs on the grass..", "men play,. chess", "two men play chess!!"]
    monkeypatch.setattr(ie.Autoencoder, "decode", lambda self, Z, **kwargs: list(decoded))
    texts = decode_path(ie.Autoencoder.__new__(ie.Autoencoder), torch.zeros(4, 8))
    assert texts == ["wow!!", "a dog runs on the grass.", "men play. chess", "two men play chess!!"]


def test_same_item_retrieval_counts_nearest_other_caption():
    from invemb_core.metrics import same_item_retrieval

    V = torch.tensor([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [0.1, 0.9]])
    assert same_item_retrieval(V, [0, 0, 1, 1]) == 1.0
    assert same_item_retrieval(V, [0, 1, 0, 1]) == 0.0  # each one's nearest is the other item's caption
