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
"""

from __future__ import annotations

import torch

BF16_ERROR = 2.0**-6  # relative bound on a bf16 dot product with a bf16 result (2^-7), doubled


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
        near = logits >= (logits.amax(-1) - window)[:, None]  # amax: 20x faster than max(-1)
        rows, cols = near.nonzero(as_tuple=True)
        logits[rows, cols] = (q[rows] * self.table[cols]).sum(-1) + self.bias[cols]
        return logits.view(*shape, -1)
