"""A 2-D map of the embedding space: UMAP of a corpus's sentence vectors, shipped with the checkpoint.

``build_projection`` encodes a corpus, reconstructs it, fits UMAP (imported lazily: it is slow to
import) and writes two files next to the checkpoint's weights:
  - ``projection.csv``: one row per sentence (text, split, words, x, y, reconstruction, exact, cluster);
  - ``projection.safetensors``: the corpus vectors (fp16), so new points can be placed without
    re-encoding the corpus.
``Projection.place`` puts new vectors on the map *without refitting*: each lands at the similarity-
weighted mean of its nearest corpus neighbours' positions, the same initialisation UMAP's own
``transform`` starts from. No pickles: the fitted UMAP object is not needed after the fit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file

from .data import read_sentences
from .errors import InvEmbError

if TYPE_CHECKING:
    from .autoencoder import Autoencoder

TABLE_FILE = "projection.csv"
VECTORS_FILE = "projection.safetensors"


@dataclass
class Projection:
    """The corpus table (with x, y) and its vectors (N, d)."""

    table: pd.DataFrame
    vectors: torch.Tensor

    def neighbours(self, Z: torch.Tensor, k: int = 10) -> tuple[torch.Tensor, torch.Tensor]:
        """Cosine similarities and indices of the ``k`` nearest corpus sentences to each row of Z."""
        sims = F.normalize(Z.float(), dim=-1) @ F.normalize(self.vectors.float(), dim=-1).T  # (M, N)
        return sims.topk(min(k, sims.shape[1]), dim=-1)

    def place(self, Z: torch.Tensor, k: int = 10) -> np.ndarray:
        """(M, d) vectors -> (M, 2) map coordinates, without refitting UMAP."""
        sims, idx = self.neighbours(Z, k)
        weights = torch.softmax(sims / 0.05, dim=-1).numpy()  # sharp: the closest neighbours dominate
        xy = self.table[["x", "y"]].to_numpy()
        return np.einsum("mk,mkc->mc", weights, xy[idx.numpy()])

    def vector_at(self, x: float, y: float, k: int = 5) -> torch.Tensor:
        """A vector for any spot on the map: the inverse-distance weighted mean of its ``k`` nearest
        corpus points' vectors (the map is not invertible; this is the natural local guess)."""
        xy = torch.tensor(self.table[["x", "y"]].to_numpy(), dtype=torch.float32)
        dist = (xy - torch.tensor([x, y], dtype=torch.float32)).norm(dim=-1)
        d, idx = dist.topk(min(k, len(dist)), largest=False)
        w = 1.0 / (d + 1e-3)
        return (w[:, None] * self.vectors[idx]).sum(0) / w.sum()


def fit_umap(vectors: np.ndarray, *, seed: int = 0, n_neighbors: int = 15, min_dist: float = 0.1) -> np.ndarray:
    import umap  # lazy: importing umap (numba) takes seconds

    reducer = umap.UMAP(
        n_neighbors=min(n_neighbors, len(vectors) - 1), min_dist=min_dist, metric="cosine", random_state=seed
    )
    return reducer.fit_transform(vectors)


def cluster_labels(xy: np.ndarray, *, clusters: int = 12, seed: int = 0) -> np.ndarray:
    from sklearn.cluster import KMeans  # scikit-learn comes with umap-learn

    return KMeans(n_clusters=min(clusters, len(xy)), n_init=4, random_state=seed).fit_predict(xy)


def build_projection(
    ae: Autoencoder,
    *,
    splits: Sequence[str] = ("multi30k:val", "multi30k:test_2016_flickr"),
    limit: int | None = None,
    seed: int = 0,
    out_dir: str | Path | None = None,
) -> Path:
    """Encode, reconstruct and map ``splits``; write the projection files into the checkpoint dir."""
    rows = []
    for spec in splits:
        for s in read_sentences(spec, min_words=5, max_words=30, limit=limit):
            split = spec.split(":", 1)[1] if spec.startswith("multi30k:") else Path(spec).name
            rows.append({"sentence": s, "split": split, "words": len(s.split())})
    if len(rows) < 20:
        raise InvEmbError(f"need at least 20 sentences to draw a map, got {len(rows)}")
    table = pd.DataFrame(rows)
    ids, _ = ae.tokenize(list(table.sentence))
    Z = ae.encode_ids(ids)
    hyp = ae.decode_ids(Z)
    table["reconstruction"] = [ae.codec.decode(h) for h in hyp]
    table["exact"] = [list(a) == list(b) for a, b in zip(ids, hyp)]
    xy = fit_umap(Z.numpy(), seed=seed)
    table["x"], table["y"] = xy[:, 0].round(4), xy[:, 1].round(4)
    table["cluster"] = cluster_labels(xy, seed=seed)
    out = Path(out_dir or ae.info.get("path") or ".")
    table.to_csv(out / TABLE_FILE, index=False)
    save_file({"vectors": Z.to(torch.float16).contiguous()}, str(out / VECTORS_FILE))
    return out / TABLE_FILE


def load_projection(directory: str | Path) -> Projection | None:
    """The shipped projection of a checkpoint, or None if it has none."""
    directory = Path(directory)
    if not (directory / TABLE_FILE).is_file() or not (directory / VECTORS_FILE).is_file():
        return None
    try:
        table = pd.read_csv(directory / TABLE_FILE, keep_default_na=False)
        vectors = load_file(str(directory / VECTORS_FILE))["vectors"].float()
    except Exception as e:  # noqa: BLE001 - any parse failure of these files means the same thing
        raise InvEmbError(f"the projection files in {directory} are unreadable: {e}") from e
    if len(table) != vectors.shape[0]:
        raise InvEmbError(f"{directory / TABLE_FILE} and {VECTORS_FILE} disagree on the number of sentences")
    return Projection(table=table, vectors=vectors)
