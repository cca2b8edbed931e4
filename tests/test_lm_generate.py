"""The meaning decoder's writing loop (lm_generate.py) over a tiny random llama (conftest's ``tiny_lm``)."""

from __future__ import annotations

import pytest
import torch

from invemb_core.lm_generate import GREEDY, Draw, RepeatBan, generate


def prompts(lm, rows: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Random prompt embeddings of different lengths, padded on the left, and their mask."""
    g = torch.Generator().manual_seed(seed)
    width = lm.config.hidden_size
    lengths = [3 + (i * 2) % 5 for i in range(rows)]
    T = max(lengths)
    x = torch.zeros(rows, T, width)
    mask = torch.zeros(rows, T, dtype=torch.long)
    for i, n in enumerate(lengths):
        x[i, T - n :] = torch.randn(n, width, generator=g)
        mask[i, T - n :] = 1
    return x, mask


def one_row(x: torch.Tensor, mask: torch.Tensor, i: int) -> tuple[torch.Tensor, torch.Tensor]:
    keep = mask[i].bool()
    return x[i : i + 1, keep], mask[i : i + 1, keep]


@pytest.mark.filterwarnings("ignore:Passing `no_repeat_ngram_size`")
def test_greedy_rows_are_transformers_greedy_with_its_ngram_guard(tiny_lm):
    lm, tokenizer = tiny_lm
    x, mask = prompts(lm, 4)
    eos = tokenizer.eos_token_id
    ours = generate(lm, x, mask, [GREEDY] * 4, eos=eos, max_new_tokens=12, no_repeat_ngram=2)
    theirs = lm.generate(
        inputs_embeds=x,
        attention_mask=mask,
        max_new_tokens=12,
        do_sample=False,
        eos_token_id=eos,
        pad_token_id=tokenizer.pad_token_id,
        no_repeat_ngram_size=2,
    )
    expected = [row[: row.index(eos)] if eos in row else row for row in theirs.tolist()]  # pads follow eos
    assert ours == expected
    assert any(len(row) >= 4 for row in ours)  # long enough for the guard to matter


def test_a_sampled_row_is_what_it_writes_alone(tiny_lm):
    lm, tokenizer = tiny_lm
    x, mask = prompts(lm, 5)
    draws = [GREEDY, Draw(1.0, 1.0, 7), Draw(1.5, 0.9, 8), Draw(1.0, 1.0, 7), Draw(0.7, 1.0, 9)]
    batch = generate(lm, x, mask, draws, eos=tokenizer.eos_token_id, max_new_tokens=10)
    for i in range(5):
        alone = generate(lm, *one_row(x, mask, i), [draws[i]], eos=tokenizer.eos_token_id, max_new_tokens=10)
        assert alone[0] == batch[i]
    again = generate(lm, x, mask, draws, eos=tokenizer.eos_token_id, max_new_tokens=10)
    assert again == batch  # seeded
    other = generate(lm, x, mask, [Draw(1.0, 1.0, s) for s in range(5)], eos=tokenizer.eos_token_id, max_new_tokens=10)
    assert other != batch  # the seed matters


def test_generation_is_bounded_and_never_repeats_an_ngram(tiny_lm):
    lm, tokenizer = tiny_lm
    x, mask = prompts(lm, 6)
    draws = [Draw(2.0, 1.0, s) for s in range(6)]
    rows = generate(lm, x, mask, draws, eos=tokenizer.eos_token_id, max_new_tokens=20, no_repeat_ngram=2)
    assert all(len(row) <= 20 and tokenizer.eos_token_id not in row for row in rows)
    for row in rows:
        pairs = list(zip(row, row[1:]))
        assert len(pairs) == len(set(pairs))


def test_repeat_ban_bans_exactly_the_written_ngrams():
    ban = RepeatBan(rows=2, n=3)
    written = [[], []]
    for piece in (1, 2, 3, 1, 2):
        for row in written:
            row.append(piece)
        ban.add(written, [0, 1])
    logits = torch.zeros(2, 5)
    ban.ban(logits, written, [0])  # row 0 only: its "1 2" was followed by 3 before
    assert logits[0].tolist() == [0, 0, 0, float("-inf"), 0] and logits[1].tolist() == [0] * 5


def test_one_draw_per_row(tiny_lm):
    lm, tokenizer = tiny_lm
    x, mask = prompts(lm, 2)
    with pytest.raises(ValueError, match="one Draw per row"):
        generate(lm, x, mask, [GREEDY], eos=tokenizer.eos_token_id, max_new_tokens=4)


def test_each_row_stops_at_its_own_limit(tiny_lm):
    lm, tokenizer = tiny_lm
    x, mask = prompts(lm, 3)
    eos, draws = tokenizer.eos_token_id, [GREEDY, Draw(1.0, 1.0, 1), GREEDY]
    free = generate(lm, x, mask, draws, eos=eos, max_new_tokens=12)
    cut = generate(lm, x, mask, draws, eos=eos, max_new_tokens=12, limits=[2, 40, 0])
    assert len(free[0]) > 2 and cut[0] == free[0][:2]  # the first row cut at 2 pieces
    assert cut[1] == free[1] and cut[2] == []  # 40 is more than max_new_tokens; 0 writes nothing
