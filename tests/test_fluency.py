"""The trigram fluency judge: a proper distribution, and real captions read better than shuffled words."""

import random

import pytest

from invemb_core.data import read_sentences
from invemb_core.fluency import TrigramJudge, words


@pytest.fixture(scope="module")
def judge():
    return TrigramJudge(read_sentences("multi30k:train", limit=3000))


def test_words_are_lower_case_accent_free_and_split_from_punctuation():
    assert words("A café, Über-cool!") == ["a", "cafe", ",", "uber", "-", "cool", "!"]


def test_each_context_is_a_probability_distribution(judge):
    vocab = [*judge.cont1, "<never seen>"]
    for context in [("<s>", "<s>"), ("a", "man"), ("qq", "zz")]:
        assert sum(judge.prob(*context, w) for w in vocab) == pytest.approx(1.0, abs=1e-9)


def test_a_real_caption_beats_its_shuffled_words(judge):
    rng = random.Random(0)
    for caption in read_sentences("multi30k:test_2016_flickr", min_words=6, limit=20):
        shuffled = words(caption)
        while shuffled == words(caption):
            rng.shuffle(shuffled)
        assert judge.perplexity([caption]) < judge.perplexity([" ".join(shuffled)])


def test_empty_input_is_an_error(judge):
    with pytest.raises(ValueError):
        judge.perplexity([])
