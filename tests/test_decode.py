"""The decoding functions are pure: properties that must hold for any logits."""

import pytest
import torch

from invemb_core import decode as dec


def test_temperature_zero_and_top_k_one_are_argmax():
    logits = torch.randn(4, 7, 50)
    g = torch.Generator().manual_seed(0)
    greedy = logits.argmax(-1)
    assert torch.equal(dec.sample_next_token(logits, temperature=0.0), greedy)
    assert torch.equal(dec.sample_next_token(logits, temperature=1.3, top_k=1, generator=g), greedy)


def test_seeded_sampling_repeats_and_seeds_differ():
    logits = torch.randn(8, 10, 100)
    draw = lambda seed: dec.sample_next_token(logits, temperature=1.0, generator=torch.Generator().manual_seed(seed))
    assert torch.equal(draw(3), draw(3))
    assert not torch.equal(draw(3), draw(4))


def test_top_k_and_top_p_keep_only_the_best_tokens():
    logits = torch.tensor([[4.0, 3.0, 2.0, 1.0, 0.0]])
    kept = torch.isfinite(dec.filter_logits(logits, top_k=2))
    assert kept.tolist() == [[True, True, False, False, False]]
    probs = torch.softmax(logits, -1)[0]  # ~[.64, .24, .09, .03, .01]
    kept = torch.isfinite(dec.filter_logits(logits, top_p=float(probs[0] + probs[1] * 0.5)))
    assert kept.tolist() == [[True, True, False, False, False]]
    kept = torch.isfinite(dec.filter_logits(logits, top_p=0.01))  # the best token always survives
    assert kept.tolist() == [[True, False, False, False, False]]
    for _ in range(20):
        tok = dec.sample_next_token(logits, temperature=2.0, top_k=2)
        assert int(tok) in (0, 1)


def test_trim_cuts_at_end_token():
    ids = torch.tensor([[5, 6, 1, 7], [8, 9, 9, 9]])
    assert dec.trim(ids, eos=1) == [[5, 6], [8, 9, 9, 9]]


class ToyLM:
    """A fixed next-token table over 4 tokens (0 = bos, 1 = eos): greedy picks 2 then is stuck with a bad
    continuation; beam search finds the better path through 3."""

    table = {
        (): [0.0, 0.0, 0.55, 0.45],
        (2,): [0.0, 0.34, 0.33, 0.33],
        (3,): [0.0, 0.95, 0.03, 0.02],
    }

    def step(self, prev, state):
        rows = []
        for row in prev.tolist():
            key = tuple(row[1:])
            probs = self.table.get(key, [0.0, 0.97, 0.01, 0.02])
            rows.append(torch.tensor(probs).clamp(min=1e-9).log())
        return torch.stack(rows), state


def test_beam_size_one_is_greedy_and_wider_beams_find_better_paths():
    lm = ToyLM()
    greedy = dec.autoregressive_decode(lm.step, batch_size=1, bos=0, eos=1, max_length=5, temperature=0.0)
    beam1 = dec.beam_search(lm.step, dec.reorder_state, batch_size=1, beam_size=1, bos=0, eos=1, max_length=5)
    beam2 = dec.beam_search(lm.step, dec.reorder_state, batch_size=1, beam_size=2, bos=0, eos=1, max_length=5)
    assert greedy == beam1 == [[2]]
    assert beam2 == [[3]]  # 0.45 * 0.95 beats 0.55 * 0.34


def test_max_length_is_respected():
    step = lambda prev, state: (torch.zeros(prev.shape[0], 5).index_fill(1, torch.tensor([1]), -1e9), state)
    out = dec.autoregressive_decode(
        step, batch_size=3, bos=0, eos=1, max_length=4, temperature=1.0, generator=torch.Generator().manual_seed(0)
    )
    assert all(len(row) <= 5 for row in out)


def test_reorder_state_handles_tuples_and_none():
    h = torch.arange(6.0).view(1, 3, 2)
    rows = torch.tensor([2, 0])
    assert torch.equal(dec.reorder_state(h, rows), h[:, rows])
    assert dec.reorder_state(None, rows) is None
    a, b = dec.reorder_state((h, h + 1), rows)
    assert torch.equal(b, h[:, rows] + 1)


def test_chunked_parallel_decoding_equals_all_at_once_and_stops_early():
    logits = torch.randn(6, 30, 20)
    logits[:, 11, 1] = 100.0  # every row ends at position 11 at the latest
    asked = []

    def logits_at(a, b):
        asked.append((a, b))
        return logits[:, a:b]

    full = dec.parallel_decode(logits, eos=1, temperature=0.0)
    assert dec.parallel_decode_in_chunks(logits_at, length=30, eos=1, chunk=4, temperature=0.0) == full
    assert asked[-1] == (8, 12)  # nothing past the chunk where the last row ended


def samplings() -> list[dict]:
    """Greedy and two seeded samplings, fresh generators each call."""
    g = lambda seed: torch.Generator().manual_seed(seed)
    return [
        {"temperature": 0.0},
        {"temperature": 0.7, "generator": g(1)},
        {"temperature": 1.5, "top_k": 5, "top_p": 0.8, "generator": g(2)},
    ]


def test_parallel_decodings_share_each_chunk_of_logits_and_equal_each_alone():
    logits = torch.randn(5, 24, 40)
    logits[:, 13, 1] += 6.0  # likely, not certain, to end at 13: the samplings finish at different chunks
    asked = []

    def logits_at(a, b):
        asked.append((a, b))
        return logits[:, a:b]

    many = dec.parallel_decode_many(logits_at, length=24, eos=1, chunk=4, samplings=samplings())
    assert len(asked) == len(set(asked))  # every chunk computed once for all decodings
    alone = [
        dec.parallel_decode_in_chunks(lambda a, b: logits[:, a:b], length=24, eos=1, chunk=4, **s) for s in samplings()
    ]
    assert many == alone


def test_autoregressive_decodings_step_together_and_equal_each_alone():
    table = torch.randn(30, 30)
    table[:, 1] += 1.5  # the end token (1) is likely after any token

    def step(prev, state):
        rows.append(prev.shape[0])
        return table[prev[:, -1]] + 0.2 * prev.shape[1], state

    rows: list[int] = []
    many = dec.autoregressive_decode_many(step, batch_size=4, bos=0, eos=1, max_length=12, samplings=samplings())
    assert set(rows) == {3 * 4}  # one batch of all decodings' rows per step
    alone = [dec.autoregressive_decode(step, batch_size=4, bos=0, eos=1, max_length=12, **s) for s in samplings()]
    assert many == alone
    assert all(len(ids) <= 13 for out in many for ids in out)


def test_decodings_that_sample_alike_draw_in_one_call_and_equal_each_alone(monkeypatch):
    table = torch.randn(30, 30)
    table[:, 1] += 1.5

    def step(prev, state):
        return table[prev[:, -1]] + 0.2 * prev.shape[1], state

    g = lambda seed: torch.Generator().manual_seed(seed)
    # As rerank asks: greedy and samples at one temperature, here with another setting in between.
    alike = lambda: [
        {"temperature": 0.0},
        {"temperature": 0.5, "generator": g(1)},
        {"temperature": 1.5, "top_k": 5, "generator": g(2)},
        {"temperature": 0.5, "generator": g(3)},
        {"temperature": 0.5, "generator": g(4)},
    ]
    calls: list[int] = []
    sample = dec.sample_next_token
    monkeypatch.setattr(
        dec, "sample_next_token", lambda logits, **kw: calls.append(len(logits)) or sample(logits, **kw)
    )
    many = dec.autoregressive_decode_many(step, batch_size=4, bos=0, eos=1, max_length=12, samplings=alike())
    assert calls[:3] == [4, 3 * 4, 4]  # first step: greedy, the three T=0.5 decodings together, top-k
    alone = [dec.autoregressive_decode(step, batch_size=4, bos=0, eos=1, max_length=12, **s) for s in alike()]
    assert many == alone


def test_dropping_ended_rows_changes_no_output_and_computes_fewer_rows():
    table = torch.randn(30, 30)
    table[:, 1] += 1.5

    def step(prev, state):
        return table[prev[:, -1]] + 0.2 * prev.shape[1], state

    computed: list[int] = []

    def step_rows(prev, state, rows):
        computed.append(len(rows))
        assert state is None or state.shape[1] == len(rows)  # the state follows the rows kept
        return step(prev, state)[0], torch.zeros(1, len(rows))

    every = dec.autoregressive_decode_many(step, batch_size=6, bos=0, eos=1, max_length=12, samplings=samplings())
    fewer = dec.autoregressive_decode_many(
        step_rows, batch_size=6, bos=0, eos=1, max_length=12, samplings=samplings(), reorder=dec.reorder_state
    )
    assert fewer == every
    assert computed[0] == 3 * 6 and computed[-1] < computed[0]


def test_closest_picks_each_rows_best_candidate():
    targets = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    candidates = torch.tensor([[[0.0, 1.0], [2.0, 0.1]], [[0.0, 3.0], [1.0, 0.0]]])
    best, cos = dec.closest(candidates, targets)
    assert best.tolist() == [1, 0] and cos.tolist() == pytest.approx([0.99875, 1.0], abs=1e-4)


def test_sampling_follows_the_distribution_and_never_picks_masked_tokens():
    probs = torch.tensor([0.0, 0.5, 0.0, 0.3, 0.2])
    logits = probs.clamp(min=1e-30).log().masked_fill(probs == 0, float("-inf")).expand(20_000, 5)
    g = torch.Generator().manual_seed(0)
    draws = dec.sample_next_token(logits, temperature=1.0, generator=g)
    freq = torch.bincount(draws, minlength=5).float() / len(draws)
    assert freq[0] == 0 and freq[2] == 0
    torch.testing.assert_close(freq, probs, atol=0.015, rtol=0)
