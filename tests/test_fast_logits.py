"""The bfloat16 output layer: float32-exact wherever the argmax can be, close everywhere else."""

import pytest
import torch

from invemb_core.fast_logits import BF16_ERROR, BLOCK, FastLogits, argmax_rows, near_top


def test_argmax_is_float32s_even_where_bf16_rounding_ties_two_pieces():
    g = torch.Generator().manual_seed(0)
    table = torch.randn(500, 64, generator=g)
    q = torch.randn(8, 64, generator=g)
    # The last piece is a copy of row 0's favourite, nudged so that it wins by far less than bf16 can see.
    best = (q @ table.T).argmax(-1)
    table[499] = table[best[0]] + 1e-4 * q[0] / q[0].norm()
    allowed = torch.ones(500, dtype=torch.bool)
    exact = q @ table.T
    assert (q.bfloat16() @ table.bfloat16().T).float()[0].argmax() != 499  # bf16 alone: a tie
    fast = FastLogits(table, allowed)(q)
    assert torch.equal(fast.argmax(-1), exact.argmax(-1))
    assert fast[0].argmax() == 499
    bound = BF16_ERROR * table.norm(dim=-1).max() * q.norm(dim=-1, keepdim=True)
    assert bool(((fast - exact).abs() <= bound).all())


def test_disallowed_pieces_are_never_chosen_and_shape_is_kept():
    g = torch.Generator().manual_seed(1)
    table = torch.randn(300, 32, generator=g)
    q = torch.randn(2, 5, 32, generator=g)
    allowed = torch.ones(300, dtype=torch.bool)
    allowed[(q.reshape(-1, 32) @ table.T).argmax(-1)] = False  # forbid every row's favourite
    fast = FastLogits(table, allowed)(q)
    assert fast.shape == (2, 5, 300)
    assert bool(torch.isinf(fast[..., ~allowed]).all())
    exact = (q @ table.T).masked_fill(~allowed, float("-inf"))
    assert torch.equal(fast.argmax(-1), exact.argmax(-1))


def test_the_model_uses_it_only_without_gradients(tiny_ar_ae, corpus):
    m = tiny_ar_ae.model
    Z = tiny_ar_ae.encode(corpus[:4])
    with torch.no_grad():
        vectors = m.output_vectors(Z, 6, torch.zeros(4, 6, dtype=torch.long))
        m.fast_logits = False
        exact = m.full_logits(vectors)
        m.fast_logits = True
        fast = m.full_logits(vectors)
    assert torch.equal(fast.argmax(-1), exact.argmax(-1))
    assert not torch.equal(fast, exact)  # bf16 below the top
    torch.testing.assert_close(m.full_logits(vectors.detach().requires_grad_()), exact)  # training: float32


@pytest.mark.parametrize("width", [30522, 3 * BLOCK, 2 * BLOCK + 5, BLOCK - 14])
def test_the_block_scans_give_what_the_whole_row_operations_give(width):
    g = torch.Generator().manual_seed(width)
    for trial in range(60):
        n = int(torch.randint(1, 20, (1,), generator=g))
        if trial % 2:
            x = torch.randint(0, 5, (n, width), generator=g).float()  # ties everywhere: the first must win
        else:
            x = torch.randn(n, width, generator=g)
        if trial % 7 == 0:
            x[0] = float("-inf")  # a row with nothing allowed
        if trial % 5 == 0:
            x[:, -1] = x.amax(-1) + trial % 2  # the tail ties the best block, or beats it
        assert torch.equal(argmax_rows(x), x.argmax(-1))
        window = torch.rand(n, generator=g) * 2
        near = (x >= x.amax(-1, keepdim=True) - window[:, None]).nonzero(as_tuple=True)
        rows, cols = near_top(x, window)
        assert torch.equal(rows, near[0]) and torch.equal(cols, near[1])
    x = torch.randn(2, 3, width, generator=g)
    assert torch.equal(argmax_rows(x), x.argmax(-1))  # any leading shape
    x = torch.randn(width, 3, generator=g).T  # columns not adjacent in memory
    assert torch.equal(argmax_rows(x), x.argmax(-1))
