"""Whole-word sampling (lexicon.py): a sampler that prefers glued fragments never writes one."""

import re

import pytest
import torch

from invemb_core import decode as dec
from invemb_core.errors import InvEmbError
from invemb_core.lexicon import Lexicon, build_words, load_words, save_words, words_of

PIECES = ["[PAD]", "[CLS]", "[SEP]", "bird", "##s", "##icle", "dog", "##gy", "run", "##ning", ".", "55", "##gys", "x"]
P = {p: i for i, p in enumerate(PIECES)}
BOS, EOS = P["[CLS]"], P["[SEP]"]
WORDS = [("bird",), ("bird", "##s"), ("dog",), ("dog", "##gy"), ("run", "##ning"), ("55",)]
ALLOWED = torch.tensor([not p.startswith("[") or p == "[SEP]" for p in PIECES])


def lexicon() -> Lexicon:
    return Lexicon(PIECES, WORDS, eos=EOS, allowed=ALLOWED)


def words_in(ids: list[int]) -> list[tuple[str, ...]]:
    """The output's words (start piece + continuations), punctuation apart."""
    out: list[list[str]] = []
    for i in ids:
        piece = PIECES[i]
        if piece.startswith("##") and out:
            out[-1].append(piece)
        else:
            out.append([piece])
    return [tuple(w) for w in out if w[0][0].isalnum()]


def glue_loving_step(prev: torch.Tensor, state):
    """Prefers what no word has: "##icle" after anything, "##gys" after numbers, a bare "run", "x"."""
    logits = torch.zeros(prev.shape[0], len(PIECES))
    logits[:, P["##icle"]] = 4.0
    logits[:, P["##gys"]] = 4.0
    logits[:, P["run"]] = 3.0
    logits[:, P["x"]] = 3.0
    logits[:, P["[PAD]"]] = 3.5  # never allowed at all
    logits[:, EOS] = -1.0 if prev.shape[1] < 6 else 2.0
    return logits, state


def test_sampling_with_the_lexicon_never_writes_a_word_outside_it():
    samplings = [
        {"temperature": t, "generator": torch.Generator().manual_seed(s), "lexicon": lexicon()}
        for t in (0.7, 1.0, 2.0)
        for s in range(3)
    ]
    out = dec.autoregressive_decode_many(
        glue_loving_step, batch_size=8, bos=BOS, eos=EOS, max_length=12, samplings=samplings
    )
    rows = [row for decoding in out for row in decoding]
    # A row cut at the length limit may stop inside a word: judge the words it finished.
    finished = [words_in(row) if len(row) <= 12 else words_in(row)[:-1] for row in rows]
    assert all(word in WORDS for words in finished for word in words), rows
    assert all(P["[PAD]"] not in row for row in rows)
    assert any(("run", "##ning") in words_in(row) for row in rows)  # a word it disfavours is still reachable
    free = dec.autoregressive_decode_many(
        glue_loving_step, batch_size=8, bos=BOS, eos=EOS, max_length=12, samplings=[{"temperature": 1.0}]
    )[0]
    assert any(word not in WORDS for row in free for word in words_in(row))  # the rule is what stops it


def test_allowed_next_follows_the_tree():
    lex = lexicon()
    prefixes = [[], [P["bird"]], [P["run"]], [P["dog"], P["##gy"]], [P["55"]], [P["bird"], P["."]]]
    width = max(map(len, prefixes))
    prev = torch.tensor([p + [EOS] * (width - len(p)) for p in prefixes])
    allowed = torch.stack([lex.allowed_next(prev[i : i + 1, : len(p)])[0] for i, p in enumerate(prefixes)])
    names = [{PIECES[j] for j in row.nonzero().squeeze(1).tolist()} for row in allowed]
    starts = {"bird", "dog", "run", "55", ".", "[SEP]"}
    assert names[0] == starts  # a sentence begins with a piece that begins a word, or punctuation
    assert names[1] == starts | {"##s"}  # "bird" is a word and "birds" one more
    assert names[2] == {"##ning"}  # "run" alone is not in this lexicon
    assert names[3] == starts  # "doggy" ends there
    assert names[4] == starts  # "55gys" is no word
    assert names[5] == starts  # after punctuation


def test_a_row_left_with_nothing_keeps_its_logits():
    lex = lexicon()
    prev = torch.tensor([[P["run"]]])
    logits = torch.zeros(1, len(PIECES))
    logits[0, P["##ning"]] = float("-inf")  # another rule banned the only way on
    assert torch.equal(lex.constrain(logits, prev), logits)


def test_words_of_groups_pieces_as_the_tokenizer_splits_them(tiny_ar_ae, tmp_path):
    counts = words_of(tiny_ar_ae.codec, ["A dog runs.", "a dog, 55 birds!"])
    assert counts[("dog",)] == 2 and counts[("a",)] == 2 and counts[("55",)] == 1
    assert not any(w[0] in {".", ",", "!"} for w in counts)
    words = build_words(tiny_ar_ae.codec, ["a dog runs.", "a dog sleeps."], min_count=2, word_list=["zebra"])
    assert ("dog",) in words and ("zebra",) in words and ("sleeps",) not in words
    assert load_words(tmp_path) is None
    save_words(tmp_path, words)
    assert load_words(tmp_path) == words
    (tmp_path / "lexicon.txt.gz").write_bytes(b"not gzip")
    with pytest.raises(InvEmbError, match="not a readable gzip"):
        load_words(tmp_path)


def test_whole_words_applies_to_samples_not_to_greedy(tiny_ar_ae):
    ae = tiny_ar_ae
    Z = ae.encode(["a dog runs on the grass.", "two men play football."])
    greedy = ae.decode(Z, strategy="greedy")
    ae.set_lexicon([("a",)])  # a lexicon of one word: every sample may only write "a" and punctuation
    try:
        assert ae.decode(Z, strategy="greedy") == greedy
        for text in ae.decode(Z, strategy="sample", temperature=1.5, seed=1, max_length=10):
            assert set(re.findall(r"\w+", text)) <= {"a"}, text
        free = ae.decode(Z, strategy="sample", temperature=1.5, seed=1, max_length=10, whole_words=False)
        assert any(set(re.findall(r"\w+", t)) - {"a"} for t in free)
    finally:
        ae.set_lexicon(None)


def test_constrain_masks_exactly_what_allowed_next_forbids():
    lex = lexicon()
    g = torch.Generator().manual_seed(0)
    prev = torch.randint(3, len(PIECES), (64, 4), generator=g)
    logits = torch.randn(64, len(PIECES), generator=g)
    expected = logits.masked_fill(~lex.allowed_next(prev), float("-inf"))
    dead = ~torch.isfinite(expected).any(-1)
    expected[dead] = logits[dead]
    assert torch.equal(lex.constrain(logits, prev), expected)


@pytest.mark.parametrize(
    ("text", "known"),
    [
        ("bird ##s .", True),
        ("dog ##gy run ##ning 55", True),
        ("", True),
        (". .", True),
        ("bird ##icle", False),  # glued: no such word
        ("run", False),  # cut short: only "running" is a word
        ("x dog", False),  # a word the lexicon lacks
        (". ##s", False),  # a continuation with nothing to continue
        ("dog ##gy ##gys", False),
    ],
)
def test_knows_all_words_checks_every_word_against_the_tree(text, known):
    assert lexicon().knows_all_words([P[p] for p in text.split()]) is known
