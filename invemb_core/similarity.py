"""How alike sentence vectors are, by their meaning part or by the whole vector.

A two-part vector is ``[m ; s * w]`` (``twopart.py``): the meaning ``m`` (MiniLM's unit-length embedding)
and the wording code ``w`` scaled down by ``s = wording_scale`` (1e-4), so the stored vector's cosine *is*
the meaning's cosine, to four decimals. "The whole vector" here is therefore the vector as its decoder
reads it, both parts back at one scale (``model.decoder_input``): its cosine also counts how alike two
sentences are worded (length, sentence shape, the same words). A plain checkpoint's vector is one code
with no meaning part: only "whole" applies.

Plain tensors and tables in and out; ``corpus_map.py`` lays maps out by these views, the app draws them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

from .autoencoder import Autoencoder
from .errors import InvEmbError
from .projection import Projection

VIEWS = ("meaning", "whole")
VIEW_NAMES = {"meaning": "meaning", "whole": "whole vector"}


def views(ae: Autoencoder) -> list[str]:
    """The views that differ for this checkpoint: both for a meaning + wording vector, one otherwise (a
    meaning-only vector is its meaning; a plain code has no meaning part)."""
    if ae.meaning_and_wording:
        return list(VIEWS)
    return ["meaning"] if ae.meaning_size else ["whole"]


@torch.no_grad()
def view(ae: Autoencoder, Z: torch.Tensor, by: str) -> torch.Tensor:
    """(N, d) vectors -> (N, k) unit rows to compare by cosine: the meaning part, or the whole vector with
    both parts at one scale."""
    if by not in VIEWS:
        raise InvEmbError(f"unknown view {by!r}; choose one of {', '.join(VIEWS)}")
    Z = torch.as_tensor(Z, dtype=torch.float32)
    if by == "meaning":
        if not ae.meaning_size:
            raise InvEmbError("this checkpoint's vector has no separate meaning part: compare whole vectors")
        return F.normalize(Z[:, : ae.meaning_size], dim=-1)
    return F.normalize(ae.model.decoder_input(Z), dim=-1)


def similarity_matrices(ae: Autoencoder, Z: torch.Tensor) -> dict[str, np.ndarray]:
    """{view: (N, N) cosine similarities} of N vectors, for each view of this checkpoint."""
    out = {}
    for by in views(ae):
        V = view(ae, Z, by)
        out[by] = (V @ V.T).clamp(-1, 1).numpy()
    return out


def nearest(
    ae: Autoencoder, query: torch.Tensor, corpus: torch.Tensor, *, k: int = 10, by: str | None = None
) -> pd.DataFrame:
    """The ``k`` corpus rows nearest to one query vector (d,) by view ``by`` (None: the checkpoint's first
    view), nearest first: their ``row`` in ``corpus`` (N, d) and their cosine similarity under every view of
    this checkpoint."""
    q = torch.as_tensor(query, dtype=torch.float32).reshape(1, -1)
    sims = {v: (view(ae, q, v) @ view(ae, corpus, v).T)[0] for v in views(ae)}  # each (N,)
    by = by or views(ae)[0]
    if by not in sims:
        raise InvEmbError(f"this checkpoint cannot rank by {by!r}; it has {', '.join(sims)}")
    top = sims[by].topk(min(k, len(sims[by]))).indices
    return pd.DataFrame({"row": top.numpy(), **{v: s[top].numpy().round(3) for v, s in sims.items()}})


def nearest_on_map(
    ae: Autoencoder, query: torch.Tensor, projection: Projection, *, k: int = 10, by: str | None = None, pool: int = 100
) -> pd.DataFrame:
    """``nearest`` over a shipped map's corpus, which stores only its vectors reduced by PCA: the ``pool``
    corpus sentences nearest by those (the stored vector's cosine, the meaning's for a two-part vector) are
    encoded again and ranked exactly, so a 30,000-sentence corpus costs ``pool`` encodings, not 30,000.
    ``row`` is the corpus row."""
    q = torch.as_tensor(query, dtype=torch.float32).reshape(1, -1)
    _, candidates = projection.neighbours(q, k=pool)
    rows = candidates[0].tolist()
    table = nearest(ae, q[0], ae.encode([str(projection.table.sentence.iloc[r]) for r in rows]), k=k, by=by)
    table["row"] = [rows[i] for i in table.row]
    return table


def vector_parts(ae: Autoencoder, z: torch.Tensor) -> dict[str, np.ndarray]:
    """One vector's numbers as its decoder reads them, split into its parts: {"meaning": (384,),
    "wording": (W,)} for a two-part vector (each part at RMS ~1), {"vector": (d,)} for a plain one."""
    u = ae.model.decoder_input(torch.as_tensor(z, dtype=torch.float32).reshape(1, -1))[0].detach().numpy()
    if not ae.meaning_size:
        return {"vector": u}
    parts = {"meaning": u[: ae.meaning_size]}
    if ae.wording_size:
        parts["wording"] = u[ae.meaning_size :]
    return parts
