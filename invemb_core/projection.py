"""A 2-D map of the embedding space: UMAP of a corpus's sentence vectors, shipped with the checkpoint.

``build_projection`` encodes a corpus, reconstructs it, fits UMAP (imported lazily: it is slow to
import) and writes two files next to the checkpoint's weights, under a name (several maps can coexist):
  - ``projection-<name>.csv``: one row per sentence (text, split, words, x, y, reconstruction, exact,
    cluster);
  - ``projection-<name>.safetensors``: the corpus vectors reduced by PCA to at most 128 dimensions
    (fp16) with the PCA mean and basis, so new sentences can be placed without re-encoding the corpus,
    and a 30,000-sentence map stays a few MB.
``Projection.place`` puts new vectors on the map *without refitting*: each lands at the similarity-
weighted mean of its nearest corpus neighbours' positions, the same initialisation UMAP's own
``transform`` starts from. No pickles: the fitted UMAP object is not needed after the fit.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
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

PREFIX = "projection-"
REDUCED_SIZE = 128
DEFAULT_SPLITS = ("multi30k:val", "multi30k:test_2016_flickr")
GENERAL = "general"  # the general-English map's name (bench/make_general_map.py)


@dataclass
class Projection:
    """The corpus table (with x, y), its PCA-reduced vectors (N, k), and the PCA mean (d,) / basis (d, k)."""

    name: str
    table: pd.DataFrame
    reduced: torch.Tensor
    mean: torch.Tensor
    basis: torch.Tensor
    _spacing: dict[int, float] = field(default_factory=dict, repr=False, compare=False)

    def reduce(self, Z: torch.Tensor) -> torch.Tensor:
        return (Z.float() - self.mean) @ self.basis  # (M, k)

    def neighbours(self, Z: torch.Tensor, k: int = 10) -> tuple[torch.Tensor, torch.Tensor]:
        """Cosine similarities and indices of the ``k`` nearest corpus sentences to each row of Z (M, d)."""
        sims = F.normalize(self.reduce(Z), dim=-1) @ F.normalize(self.reduced.float(), dim=-1).T  # (M, N)
        return sims.topk(min(k, sims.shape[1]), dim=-1)

    def corpus_neighbours(self, rows: Sequence[int], k: int = 4) -> torch.Tensor:
        """Indices of the ``k`` nearest other corpus sentences of corpus rows (their own row excluded)."""
        q = F.normalize(self.reduced[list(rows)].float(), dim=-1)
        sims = q @ F.normalize(self.reduced.float(), dim=-1).T
        sims[torch.arange(len(rows)), torch.tensor(list(rows))] = -2.0
        return sims.topk(min(k, sims.shape[1] - 1), dim=-1).indices

    def place(self, Z: torch.Tensor, k: int = 10) -> np.ndarray:
        """(M, d) vectors -> (M, 2) map coordinates, without refitting UMAP."""
        sims, idx = self.neighbours(Z, k)
        weights = torch.softmax(sims / 0.05, dim=-1).numpy()  # sharp: the closest neighbours dominate
        xy = self.table[["x", "y"]].to_numpy()
        return np.einsum("mk,mkc->mc", weights, xy[idx.numpy()])

    def spot(self, x: float, y: float, k: int = 5) -> tuple[list[int], torch.Tensor]:
        """The ``k`` corpus points nearest to a spot on the map and inverse-distance weights (sum 1)."""
        xy = torch.tensor(self.table[["x", "y"]].to_numpy(), dtype=torch.float32)
        dist = (xy - torch.tensor([x, y], dtype=torch.float32)).norm(dim=-1)
        d, idx = dist.topk(min(k, len(dist)), largest=False)
        w = 1.0 / (d + 1e-3)
        return idx.tolist(), w / w.sum()

    def distance_to_nearest(self, x: float, y: float) -> float:
        """Map distance from a spot to the nearest corpus point."""
        xy = torch.tensor(self.table[["x", "y"]].to_numpy(), dtype=torch.float32)
        return float((xy - torch.tensor([x, y], dtype=torch.float32)).norm(dim=-1).min())

    def typical_spacing(self, sample: int = 2000) -> float:
        """The median map distance from a corpus point to its nearest other point (over a fixed sample);
        computed once per sample size (the app asks at every interaction)."""
        if sample not in self._spacing:
            xy = torch.tensor(self.table[["x", "y"]].to_numpy(), dtype=torch.float32)
            probe = xy[torch.randperm(len(xy), generator=torch.Generator().manual_seed(0))[:sample]]
            d = torch.cdist(probe, xy)
            self._spacing[sample] = float(d.topk(2, largest=False).values[:, 1].median())
        return self._spacing[sample]

    def vector_at(self, x: float, y: float, encode: Callable[[list[str]], torch.Tensor], k: int = 5) -> torch.Tensor:
        """A vector for any spot: the weighted mean of its nearest points' vectors (re-encoded with
        ``encode``). The map is not invertible; this is the natural local guess."""
        rows, w = self.spot(x, y, k)
        Z = encode([str(self.table.sentence.iloc[r]) for r in rows])
        return (w[:, None] * Z).sum(0)


def fit_umap(vectors: np.ndarray, *, seed: int = 0, n_neighbors: int = 15, min_dist: float = 0.1) -> np.ndarray:
    import umap  # lazy: importing umap (numba) takes seconds

    reducer = umap.UMAP(
        n_neighbors=min(n_neighbors, len(vectors) - 1), min_dist=min_dist, metric="cosine", random_state=seed
    )
    return reducer.fit_transform(vectors)


def cluster_labels(xy: np.ndarray, *, clusters: int = 12, seed: int = 0) -> np.ndarray:
    from sklearn.cluster import KMeans  # scikit-learn comes with umap-learn

    return KMeans(n_clusters=min(clusters, len(xy)), n_init=4, random_state=seed).fit_predict(xy)


def pca(Z: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean (d,) and the top-``k`` principal directions (d, k) of Z (N, d): exact (the eigenvectors of the
    d x d covariance, in float64), each signed so that its largest entry is positive, so the same vectors
    always give the same basis (``torch.pca_lowrank`` draws random projections)."""
    mean = Z.mean(0)
    X = (Z - mean).double()
    _, vectors = torch.linalg.eigh(X.T @ X)  # ascending eigenvalues
    V = vectors.flip(-1)[:, : min(k, *Z.shape)]
    V = V * V.gather(0, V.abs().argmax(0, keepdim=True)).sign()
    return mean, V.to(Z.dtype)


# Sentences encoded and decoded together: under half the vector cache's size, so the default decoding finds
# a chunk's inputs encoded; encode_ids batches them by length (BENCHMARKS.md, issue 23 item 4).
CHUNK = 2048


def build_projection(
    ae: Autoencoder,
    *,
    splits: Sequence[str] = DEFAULT_SPLITS,
    name: str = "val-test",
    limit: int | None = None,
    seed: int = 0,
    out_dir: str | Path | None = None,
    progress: bool = True,
) -> Path:
    """Encode, reconstruct and map ``splits``; write ``projection-<name>.*`` into the checkpoint dir."""
    from tqdm.auto import tqdm

    rows = []
    for spec in splits:
        split = spec.split(":", 1)[1] if spec.startswith("multi30k:") else Path(spec).name
        for s in read_sentences(spec, min_words=5, max_words=30, limit=limit):
            rows.append({"sentence": s, "split": split, "words": len(s.split())})
    if len(rows) < 20:
        raise InvEmbError(f"need at least 20 sentences to draw a map, got {len(rows)}")
    table = pd.DataFrame(rows)
    ids, _ = ae.tokenize(list(table.sentence))
    chunks, hyp = [], []
    # Encoded and decoded a chunk at a time: when the default decoding re-encodes a chunk's outputs, the
    # vector cache still holds its inputs' vectors, so a sentence that comes back costs no second MiniLM pass.
    for start in tqdm(range(0, len(ids), CHUNK), desc="reconstructing", disable=not progress):
        chunks.append(ae.encode_ids(ids[start : start + CHUNK]))
        hyp += ae.decode_ids(chunks[-1])
    Z = torch.cat(chunks)
    table["reconstruction"] = [ae.codec.decode(h) for h in hyp]
    table["exact"] = [list(a) == list(b) for a, b in zip(ids, hyp)]
    if progress:
        print(f"fitting UMAP on {len(table)} vectors...", flush=True)
    xy = fit_umap(Z.numpy(), seed=seed)
    table["x"], table["y"] = xy[:, 0].round(3), xy[:, 1].round(3)
    table["cluster"] = cluster_labels(xy, seed=seed)
    mean, basis = pca(Z, REDUCED_SIZE)
    projection = Projection(name, table, (Z - mean) @ basis, mean, basis)
    return save_projection(projection, out_dir or ae.info.get("path") or ".")


def save_projection(projection: Projection, out_dir: str | Path) -> Path:
    """Write a map as ``projection-<name>.csv`` and ``.safetensors`` into ``out_dir`` (a checkpoint's
    folder, where the app finds it); returns the CSV's path."""
    out = Path(out_dir)
    name = projection.name
    projection.table.to_csv(out / f"{PREFIX}{name}.csv", index=False)
    tensors = {"reduced": projection.reduced.to(torch.float16), "mean": projection.mean, "basis": projection.basis}
    save_file({k: v.contiguous() for k, v in tensors.items()}, str(out / f"{PREFIX}{name}.safetensors"))
    return out / f"{PREFIX}{name}.csv"


def list_projections(directory: str | Path) -> list[str]:
    """Names of the maps shipped with a checkpoint, smallest first."""
    found = [(p.stat().st_size, p.stem[len(PREFIX) :]) for p in Path(directory).glob(f"{PREFIX}*.csv")]
    return [name for _, name in sorted(found) if (Path(directory) / f"{PREFIX}{name}.safetensors").is_file()]


def load_projection(directory: str | Path, name: str | None = None) -> Projection | None:
    """A shipped map of a checkpoint, or None if it has none. Without a ``name``: its general-English map
    (``GENERAL``) where it has one, so that typed sentences are drawn among their own kind; else the smallest."""
    directory = Path(directory)
    names = list_projections(directory)
    if not names:
        return None
    name = name or (GENERAL if GENERAL in names else names[0])
    if name not in names:
        raise InvEmbError(f"{directory} has no map named {name!r}; it has {', '.join(names)}")
    try:
        table = pd.read_csv(directory / f"{PREFIX}{name}.csv", keep_default_na=False)
        tensors = load_file(str(directory / f"{PREFIX}{name}.safetensors"))
    except Exception as e:  # noqa: BLE001 - any parse failure of these files means the same thing
        raise InvEmbError(f"the map files {PREFIX}{name}.* in {directory} are unreadable: {e}") from e
    if len(table) != tensors["reduced"].shape[0]:
        raise InvEmbError(f"{PREFIX}{name}.csv and .safetensors in {directory} disagree on the number of sentences")
    return Projection(name, table, tensors["reduced"].float(), tensors["mean"].float(), tensors["basis"].float())
