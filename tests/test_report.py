"""The Reconstruct page's table: one row per sentence and decoding, with scores that agree with each other."""

import pytest

import invemb_core as ie
from invemb_core.report import compare_decodings, default_decodings, mark_differences


def test_mark_differences_marks_only_the_words_not_in_the_target():
    assert mark_differences("a dog runs", "a dog runs") == "a dog runs"
    assert mark_differences("a dog runs", "a cat runs fast") == "a «cat» runs «fast»"
    assert mark_differences("a dog", "") == ""
    # Punctuation is a word of its own: a changed full stop does not make the word before it new.
    assert mark_differences("a dog on a stage [UNK].", "a dog on a stage.") == "a dog on a stage."
    assert mark_differences("a dog runs.", "a dog runs!") == "a dog runs«!»"
    assert mark_differences("it costs 3.5 dollars", "it costs 3.5 dollars") == "it costs 3.5 dollars"
    # Case does not count: the cased meaning decoder's "A" is the lower-case input's "a" (shown as written).
    assert mark_differences("a chef is cooking.", "A chef is cooking in Paris.") == "A chef is cooking «in» «Paris»."


@pytest.mark.parametrize("fixture", ["tiny_ae", "tiny_ar_ae"])
def test_default_decodings_are_greedy_beam_when_possible_temperatures_and_rerank(request, fixture):
    ae = request.getfixturevalue(fixture)
    names = list(default_decodings(ae, temperatures=(0.5, 1.0)))
    beam = ["beam 5"] if ae.supports_beam else []
    assert names == ["greedy", *beam, "T=0.5", "T=1", "rerank 8"]
    assert "rerank 8" not in default_decodings(ae, rerank_candidates=0)


def test_compare_decodings_gives_one_row_per_sentence_and_decoding(tiny_ae, corpus):
    decodings = default_decodings(tiny_ae, seed=3)
    table = compare_decodings(tiny_ae, corpus[:4], decodings)
    assert len(table) == 4 * len(decodings)
    assert table.groupby("decoding").size().to_dict() == dict.fromkeys(decodings, 4)
    greedy = table[table.decoding == "greedy"].output.tolist()
    assert greedy == tiny_ae.reconstruct(corpus[:4])
    assert (table.bleu[table.exact] == 100.0).all()
    assert (table.cosine[table.exact] > 0.999).all()  # an exact output re-encodes to the same vector
    assert table.cosine.between(-1.0001, 1.0001).all()


def test_compare_decodings_needs_a_decoding(tiny_ae):
    with pytest.raises(ie.InvEmbError, match="no decodings"):
        compare_decodings(tiny_ae, ["A dog runs."], {})


def test_a_checkpoint_with_its_own_decoding_gets_a_default_row_that_is_ae_decode(tiny_ar_ae, corpus):
    own = {"strategy": "rerank", "num_candidates": 3, "temperature": 0.5, "seed": 0}
    tiny_ar_ae.info["decoding"] = own
    try:
        decodings = default_decodings(tiny_ar_ae, temperatures=(1.0,))
        table = compare_decodings(tiny_ar_ae, corpus[:3], decodings)
        expected = tiny_ar_ae.reconstruct(corpus[:3])
    finally:
        tiny_ar_ae.info.pop("decoding")
    assert list(decodings)[-1] == "default" and decodings["default"] == {"strategy": "default"}  # the writer's own
    assert table[table.decoding == "default"].output.tolist() == expected
    assert "default" not in default_decodings(tiny_ar_ae)  # greedy is its own decoding: no second greedy row
