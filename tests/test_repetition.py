"""The loop guard (repetition.py) on a crafted decoder that loops, and the degenerate-output measure."""

import torch

from invemb_core import decode as dec
from invemb_core.repetition import guard_logits, is_degenerate, loop_bans, repeats_phrase

V, BOS, EOS = 12, 0, 1
LOOP = [5, 6, 7]  # the crafted decoder's favourite phrase


def looping_step(prev: torch.Tensor, state):
    """Always prefers the next piece of LOOP (cycling forever), then piece 9, and ends only last."""
    logits = torch.full((prev.shape[0], V), -5.0)
    for row, seq in enumerate(prev.tolist()):
        last = seq[-1]
        nxt = LOOP[(LOOP.index(last) + 1) % 3] if last in LOOP else LOOP[0]
        logits[row, nxt] = 3.0
        logits[row, 9] = 2.0
        logits[row, EOS] = 1.0 if last == 9 else -3.0
    return logits, state


def phrase_three_times(ids: list[int], length: int) -> bool:
    return any(
        ids[i : i + length] == ids[i + length : i + 2 * length] == ids[i + 2 * length : i + 3 * length]
        for i in range(len(ids) - 3 * length + 1)
    )


def test_without_the_guard_the_crafted_decoder_loops_to_the_length_limit():
    out = dec.autoregressive_decode(looping_step, batch_size=2, bos=BOS, eos=EOS, max_length=30, temperature=0.0)
    assert all(len(row) == 31 and phrase_three_times(row, 3) for row in out)


def test_the_guard_stops_the_third_copy_in_greedy_sampling_and_beam():
    greedy = dec.autoregressive_decode_many(
        looping_step, batch_size=2, bos=BOS, eos=EOS, max_length=30, samplings=[{"temperature": 0.0}], loop_guard=3
    )[0]
    generator = torch.Generator().manual_seed(0)
    sampled = dec.autoregressive_decode_many(
        looping_step,
        batch_size=2,
        bos=BOS,
        eos=EOS,
        max_length=30,
        samplings=[{"temperature": 1.0, "generator": generator}],
        loop_guard=3,
    )[0]
    beam = dec.beam_search(
        looping_step, dec.reorder_state, batch_size=2, beam_size=3, bos=BOS, eos=EOS, max_length=30, loop_guard=3
    )
    for row in greedy + sampled + beam:
        assert not any(phrase_three_times(row, n) for n in range(3, 11)), row
    assert greedy[0][:6] == LOOP * 2  # two copies are allowed: only the third is stopped
    assert len(greedy[0]) < 30


def test_the_guard_bans_exactly_the_piece_that_would_start_a_third_copy():
    prev = torch.tensor([[5, 6, 7, 5, 6, 7, 5], [5, 6, 7, 5, 6, 8, 5], [2, 5, 6, 7, 5, 6, 7]])
    rows, pieces = loop_bans(prev[:, 1:], 3)
    assert rows.tolist() == [0, 2] and pieces.tolist() == [6, 5]  # "6 7 5" twice; "5 6 7" twice
    rows, pieces = loop_bans(prev[:, :6], 3)
    assert rows.tolist() == [0] and pieces.tolist() == [5]
    logits = torch.zeros(3, V)
    guarded = guard_logits(logits, prev[:, :6], 3)
    assert guarded[0, 5] == float("-inf") and torch.isinf(guarded).sum() == 1
    assert guard_logits(logits, prev[:, :6], 0) is logits  # off
    assert torch.equal(logits, torch.zeros(3, V))  # the caller's logits are never changed in place


def test_shorter_phrases_than_the_guard_may_repeat():
    prev = torch.tensor([[5, 6, 5, 6, 5, 6]])
    assert len(loop_bans(prev, 3)[0]) == 0
    assert len(loop_bans(prev, 2)[0]) == 1


def test_degenerate_output_is_a_thrice_repeated_phrase_or_a_short_input_run_to_the_limit():
    assert repeats_phrase("of the theory of the theory of the theory".split())
    assert not repeats_phrase("again and again and again".split())  # "and again" is two words
    assert not repeats_phrase("a dog runs on the beach".split())
    assert is_degenerate(48, ["word"] * 3, input_words=6, max_length=48)
    assert not is_degenerate(48, "a long sentence".split(), input_words=28, max_length=48)
    assert not is_degenerate(10, "a dog runs on the beach".split(), input_words=6, max_length=48)
