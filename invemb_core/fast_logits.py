"""Full-vocabulary logits at inference in bfloat16, exact in float32 wherever they can matter.

Decoding spends most of its time scoring 30,522 word pieces per generated piece: a (B, E) x (E, V)
matmul that reads the whole (V, E) table. For the few rows an app decodes at once that read is the
cost (float32: 47 MB per step). bfloat16 halves the read, and on CPUs with AVX512-BF16 (this project's
machine has it) the matmul runs 3-5x faster than in float32 (BENCHMARKS.md, "Decode speed").

bfloat16 keeps 8 bits of mantissa, so its logits are close but not equal to float32's. Every logit
near the top is therefore recomputed in float32:

    |approx_v - exact_v| <= b = 2^-6 * |q| * max_v |e_v|     (bf16 rounding of q, e and the output,
                                                               with 2x to spare)

Any piece whose approximate logit is below ``max(approx) - 2b`` cannot be the float32 argmax, so greedy
chooses exactly what float32 chooses. Sampling sees float32 values for those top pieces and bf16 values
below them: off by at most b (by far less in practice: about |logit| * 2^-9, the rounding of the
result), which scales those pieces' probabilities by at most e^(b/T). BENCHMARKS.md measures both.

Finding the few pieces near the top of a (N, 30,522) row is itself a cost: on this machine a
comparison over the whole row and ``nonzero`` take longer than the row maximum by 10-20x, and
``argmax`` 10x. ``near_top`` and ``argmax_rows`` therefore scan the rows in blocks of ``BLOCK`` pieces:
the block maxima (one ``amax``), then only the few blocks that can hold the answer. Both give exactly
what the whole-row operations give (``tests/test_fast_logits.py``).
"""

from __future__ import annotations

import torch

BF16_ERROR = 2.0**-6  # relative bound on a bf16 dot product with a bf16 result (2^-7), doubled
BLOCK = 64  # pieces per block of a row scan


def _blocks(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(N, V) -> the whole blocks as a view (N, V // BLOCK, BLOCK) and the tail (N, V % BLOCK)."""
    x = x if x.stride(-1) == 1 else x.contiguous()
    whole = x.shape[1] // BLOCK * BLOCK
    return x[:, :whole].view(x.shape[0], -1, BLOCK), x[:, whole:]


def near_top(x: torch.Tensor, window: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Every entry of each row of ``x`` (N, V) within ``window`` (N,) of the row's maximum, as (rows,
    columns) in row-major order: ``(x >= x.amax(-1, keepdim=True) - window[:, None]).nonzero()``, scanning
    only the blocks whose maximum is that high."""
    blocks, tail = _blocks(x)
    if not blocks.shape[1]:  # a row shorter than a block
        return (x >= x.amax(-1, keepdim=True) - window[:, None]).nonzero(as_tuple=True)
    block_max = blocks.amax(-1)  # (N, nb)
    top = block_max.amax(-1)
    if tail.shape[1]:
        top = torch.maximum(top, tail.amax(-1))
    floor = (top - window)[:, None]  # (N, 1)
    r, b = (block_max >= floor).nonzero(as_tuple=True)  # the blocks that hold such entries (few)
    j, k = (blocks[r, b] >= floor[r]).nonzero(as_tuple=True)
    rows, cols = r[j], b[j] * BLOCK + k
    if tail.shape[1]:
        tr, tc = (tail >= floor).nonzero(as_tuple=True)
        rows, cols = torch.cat([rows, tr]), torch.cat([cols, tc + blocks.shape[1] * BLOCK])
        order = (rows * x.shape[1] + cols).argsort()
        rows, cols = rows[order], cols[order]
    return rows, cols


def argmax_rows(x: torch.Tensor) -> torch.Tensor:
    """``x.argmax(-1)`` for (..., V), the first maximum of each row, found from the block maxima."""
    shape = x.shape[:-1]
    x = x.reshape(-1, x.shape[-1])
    blocks, tail = _blocks(x)
    if not blocks.shape[1]:
        return x.argmax(-1).view(shape)
    block_max = blocks.amax(-1)
    best = block_max.argmax(-1)  # the first block holding the maximum of the whole blocks
    rows = torch.arange(x.shape[0])
    out = best * BLOCK + blocks[rows, best].argmax(-1)
    if tail.shape[1]:
        in_tail = tail.amax(-1) > block_max[rows, best]  # a tie goes to the earlier, whole-block entry
        if bool(in_tail.any()):
            out = torch.where(in_tail, blocks.shape[1] * BLOCK + tail.argmax(-1), out)
    return out.view(shape)


class FastLogits:
    """Scores queries (N, E) against a fixed table (V, E): ``q @ table.T`` with disallowed pieces at -inf.

    Args:
        table: (V, E) float32 scoring table (already normalised for cosine scoring).
        allowed: (V,) bool, pieces that may be emitted.
        bias: (V,) per-piece bias added to every score in float32 (exactly, so the bound holds), or None.
    """

    def __init__(self, table: torch.Tensor, allowed: torch.Tensor, bias: torch.Tensor | None = None):
        self.table = table.float()
        # Disallowed pieces get a bias of -inf: one addition instead of a masked fill (8x slower).
        self.bias = bias.detach().float().clone() if bias is not None else self.table.new_zeros(len(table))
        self.bias.masked_fill_(~allowed.bool(), float("-inf"))
        self.low = self.table.bfloat16()
        self.max_norm = float(self.table.norm(dim=-1).max())

    def __call__(self, q: torch.Tensor) -> torch.Tensor:
        """(..., E) float32 queries -> (..., V) float32 logits, exact near the top of each row."""
        shape = q.shape[:-1]
        q = q.reshape(-1, q.shape[-1]).float()
        logits = (q.bfloat16() @ self.low.T).float()  # (N, V)
        logits += self.bias
        window = 2 * BF16_ERROR * self.max_norm * q.norm(dim=-1)  # (N,)
        rows, cols = near_top(logits, window)
        logits[rows, cols] = (q[rows] * self.table[cols]).sum(-1) + self.bias[cols]
        return logits.view(*shape, -1)
