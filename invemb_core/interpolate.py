"""Walking between sentence vectors: lerp, slerp and ``a - b + c`` arithmetic, each decoded to text.

``lerp``/``slerp`` are pure tensor functions; ``interpolate`` and ``arithmetic`` encode sentences with an
``Autoencoder``, move in its vector space, and decode every point with the usual decoding options.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import torch

from .errors import InvEmbError

if TYPE_CHECKING:
    from .autoencoder import Autoencoder

METHODS = ("lerp", "slerp")
MARKS = re.compile(r"[.,;:!?](?:\s*[.,;:!?])+")  # two or more punctuation marks in a row


def lerp(a: torch.Tensor, b: torch.Tensor, alphas: torch.Tensor) -> torch.Tensor:
    """(d,), (d,), (S,) -> (S, d): straight line from a (alpha 0) to b (alpha 1)."""
    return a[None, :] + alphas[:, None] * (b - a)[None, :]


def slerp(a: torch.Tensor, b: torch.Tensor, alphas: torch.Tensor) -> torch.Tensor:
    """(d,), (d,), (S,) -> (S, d): along the great circle, with the norm interpolated linearly.

    Falls back to lerp when a and b are (anti)parallel, where the great circle is undefined.
    """
    na, nb = a.norm(), b.norm()
    ua, ub = a / na.clamp(min=1e-12), b / nb.clamp(min=1e-12)
    omega = torch.arccos((ua * ub).sum().clamp(-1.0, 1.0))
    if float(torch.sin(omega).abs()) < 1e-6:
        return lerp(a, b, alphas)
    s = torch.sin(omega)
    direction = (torch.sin((1 - alphas) * omega) / s)[:, None] * ua + (torch.sin(alphas * omega) / s)[:, None] * ub
    return direction * (na + alphas * (nb - na))[:, None]


def path(a: torch.Tensor, b: torch.Tensor, *, steps: int, method: str = "slerp") -> tuple[torch.Tensor, torch.Tensor]:
    """``steps`` evenly spaced alphas from 0 to 1 and the vectors at them."""
    if method not in METHODS:
        raise InvEmbError(f"method={method!r} is not one of {', '.join(METHODS)}")
    if steps < 2:
        raise InvEmbError(f"steps must be >= 2 (both ends), got {steps}")
    alphas = torch.linspace(0.0, 1.0, steps)
    return alphas, (slerp if method == "slerp" else lerp)(a, b, alphas)


def tidy_punctuation(text: str) -> str:
    """One punctuation mark where a decoded text has several in a row ("area.." -> "area.", "park,." ->
    "park."): the first sentence end among them (. ! ?), else the first mark."""

    def one(run: re.Match) -> str:
        marks = [c for c in run.group(0) if not c.isspace()]
        return next((c for c in marks if c in ".!?"), marks[0])

    return MARKS.sub(one, text)


def decode_path(ae: Autoencoder, Z: torch.Tensor, **decode_kwargs: Any) -> list[str]:
    """The texts of a path's points (S, d), its midpoints' runs of punctuation made one mark.

    A midpoint mixes two sentences' vectors, and the decoder sometimes closes both (two full stops); the
    ends are the input sentences' own reconstructions and are left exactly as decoded."""
    return tidy_path(ae.decode(Z, **decode_kwargs))


def tidy_path(texts: list[str]) -> list[str]:
    """A path's texts with each midpoint's runs of punctuation made one mark; the ends left as decoded."""
    return [text if i in (0, len(texts) - 1) else tidy_punctuation(text) for i, text in enumerate(texts)]


def interpolate(
    ae: Autoencoder,
    a: str,
    b: str,
    *,
    steps: int = 8,
    method: str = "slerp",
    meaning_only: bool = False,
    **decode_kwargs: Any,
) -> list[tuple[float, str]]:
    """Decode ``steps`` points between the vectors of sentences ``a`` and ``b`` (``decode_path``).

    Args:
        meaning_only: two-part checkpoints: walk between the sentences' meanings alone (``ae.meaning``),
            so every point, the ends included, is written from its meaning (by the checkpoint's meaning
            decoder, where it has one).

    Returns:
        A list of (alpha, text), alpha from 0.0 (a) to 1.0 (b).
    """
    za, zb = ae.encode([a, b])
    alphas, Z = path(za, zb, steps=steps, method=method)
    Z = ae.meaning(Z) if meaning_only else Z
    return list(zip([round(float(x), 4) for x in alphas], decode_path(ae, Z, **decode_kwargs)))


def arithmetic(ae: Autoencoder, a: str, b: str, c: str, *, meaning_only: bool = False, **decode_kwargs: Any) -> str:
    """Decode ``z(a) - z(b) + z(c)``: e.g. "a man rides a horse" - "a man" + "a woman". ``meaning_only``: the
    sum of the meanings alone, written from its meaning (as in ``interpolate``)."""
    za, zb, zc = ae.encode([a, b, c])
    z = (za - zb + zc)[None]
    return ae.decode(ae.meaning(z) if meaning_only else z, **decode_kwargs)[0]
