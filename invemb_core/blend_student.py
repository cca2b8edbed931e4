"""A student made of two students: German or French text -> the average of two readers' estimates of where
MiniLM puts the English translation.

``student.Student`` (MiniLM fine-tuned, reading MiniLM's English word pieces) and ``lm_student.LMStudent``
(Gemma-3-270M frozen, its pooled states through an MLP) err differently: the first lands a little closer to
the English meaning on average, the second ranks the right caption first far more often. Averaged, each
one's errors partly cancel (German val, 1,014 captions, each part trained alone on the 29,000 pairs):

| student | cosine to the English meaning | R@1 among 1,014 |
|---|---|---|
| MiniLM, 4 passes | 0.782 | 0.900 |
| Gemma-3-270M layer 6 + MLP, 30 passes | 0.777 | 0.968 |
| both, averaged (this file) | 0.821 | 0.968 |

    s(x) = normalise( (s_minilm(x) + s_lm(x)) / 2 )

Each part learns alone, with its own loss against the teacher (``train_language.py``); only the encoding
averages them. A checkpoint's ``reader`` names the parts joined by ``+`` (``"minilm+gemma3"``), and stores
both parts' trained numbers under their own names (``student.`` + the part's own keys; they never clash).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from .errors import InvEmbError


class BlendStudent(nn.Module):
    """Text -> (N, size) unit vectors: the normalised mean of its parts' unit vectors."""

    def __init__(self, parts: Sequence[nn.Module]):
        super().__init__()
        if len(parts) < 2 or len({p.size for p in parts}) != 1:
            raise InvEmbError("a blend needs two or more students that give vectors of one size")
        self.parts = nn.ModuleList(parts)
        self.size = parts[0].size

    def forward(self, texts: Sequence[str]) -> torch.Tensor:
        return F.normalize(torch.stack([part(texts) for part in self.parts]).mean(0), dim=-1)

    @torch.no_grad()
    def encode(self, texts: Sequence[str], *, batch_size: int = 64) -> torch.Tensor:
        return F.normalize(torch.stack([p.encode(texts, batch_size=batch_size) for p in self.parts]).mean(0), dim=-1)

    # ---- what a checkpoint keeps ------------------------------------------------------------------
    def own_keys(self, part: nn.Module) -> set[str]:
        """The names ``part`` stores its trained numbers under."""
        return set(part.trained_state())

    def trained_state(self) -> dict[str, torch.Tensor]:
        state: dict[str, torch.Tensor] = {}
        for part in self.parts:
            mine = part.trained_state()
            if set(mine) & set(state):
                raise InvEmbError(
                    f"the blend's parts store numbers under the same names: {sorted(set(mine) & set(state))[:3]}"
                )
            state |= mine
        return state

    def load_trained_state(self, state: dict[str, torch.Tensor]) -> None:
        for part in self.parts:
            keys = self.own_keys(part)
            part.load_trained_state({k: v for k, v in state.items() if k in keys})
