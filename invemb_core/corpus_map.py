"""A map of a corpus the user brings: encoded in chunks (progress reported), laid out with UMAP by its
meaning or by its whole vector, clustered, and handed back as a ``Projection`` like a shipped map's.

- ``encode_corpus``: vectors and reconstructions, a chunk of similar-length sentences at a time, with a
  ``progress(share_done, message)`` callback (the app's progress bar). Reconstructions are greedy by
  default: the two-part default decoding (rerank, verification) costs about three times as much, and a
  map of 5,000 sentences has about a minute on two cores. The app encodes first and decodes back after
  the map is drawn (``decode_back``, resumable).
- ``layout``: UMAP of unit rows by cosine, from an exact nearest-neighbour graph made by matrix products
  (UMAP's own search, pynndescent, first compiles for seconds) and 200 epochs.
- ``corpus_projection``: the table (sentence, x, y, cluster, reconstruction, ...) and the PCA-reduced
  vectors of ``projection.py``, so placing sentences, neighbours, cluster centres and decoding a spot work
  as on a shipped map; ``projection.save_projection`` writes it next to a checkpoint (``invemb project
  --file``).
Reading and checking the user's text is ``user_corpus.py``; similarity views are ``similarity.py``.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

from .errors import InvEmbError
from .projection import REDUCED_SIZE, Projection, cluster_labels, pca
from .similarity import view, views

if TYPE_CHECKING:
    from .autoencoder import Autoencoder

Progress = Callable[[float, str], None]

CHUNK = 500  # sentences encoded and decoded together: ten progress steps for the app's 5,000
GREEDY: dict[str, Any] = {"strategy": "greedy"}
MIN_SENTENCES = 10  # UMAP needs neighbours to lay a point out among
NEIGHBOURS = 15
LAYOUT_EPOCHS = 200
EXPORT_COLUMNS = ["sentence", "x", "y", "cluster", "reconstruction"]


@dataclass
class EncodedCorpus:
    """A corpus's vectors (N, d) and what each decodes back to (``exact``: the same word pieces); None where
    it is not decoded back (yet): see ``decode_back``."""

    sentences: list[str]
    vectors: torch.Tensor
    reconstructions: list[str | None]
    exact: list[bool | None]

    @property
    def decoded(self) -> bool:
        return all(r is not None for r in self.reconstructions)


def _quiet(progress: Progress | None) -> Progress:
    return progress or (lambda share, message: None)


def _decode_rows(ae: Autoencoder, encoded: EncodedCorpus, ids: list[list[int]], rows: list[int], decoding) -> None:
    hyp = ae.decode_ids(encoded.vectors[torch.tensor(rows)], **decoding)
    for i, h in zip(rows, hyp):
        encoded.exact[i] = list(ids[i]) == list(h)
        encoded.reconstructions[i] = ae.codec.decode(h)  # last: whoever sees the text sees its flag


def encode_corpus(
    ae: Autoencoder,
    sentences: Sequence[str],
    *,
    decoding: Mapping[str, Any] | None = GREEDY,
    progress: Progress | None = None,
    chunk: int = CHUNK,
) -> EncodedCorpus:
    """Encode every sentence and decode it back, ``chunk`` sentences at a time.

    Sentences go in order of length, so a chunk pads little and its rows end together; the result is in
    the order given.

    Args:
        decoding: decode keywords for the reconstructions ({}: the checkpoint's default decoding; None:
            vectors only, to be decoded back later by ``decode_back``).
        progress: called with (share done, message) after each chunk.
    """
    report = _quiet(progress)
    sentences = list(sentences)
    ids, _ = ae.tokenize(sentences)
    order = sorted(range(len(sentences)), key=lambda i: len(ids[i]))
    encoded = EncodedCorpus(
        sentences, torch.empty(len(sentences), ae.vector_size), [None] * len(sentences), [None] * len(sentences)
    )
    did = "Encoded" if decoding is None else "Encoded and decoded back"
    report(0.0, f"Encoding {len(sentences):,} sentences...")
    for start in range(0, len(order), chunk):
        rows = order[start : start + chunk]
        encoded.vectors[torch.tensor(rows)] = ae.encode([sentences[i] for i in rows])
        if decoding is not None:  # right after: the default decoding's re-encoding finds these in the cache
            _decode_rows(ae, encoded, ids, rows, decoding)
        done = start + len(rows)
        report(done / len(order), f"{did} {done:,} of {len(sentences):,} sentences")
    return encoded


def decode_back(
    ae: Autoencoder,
    encoded: EncodedCorpus,
    *,
    decoding: Mapping[str, Any] = GREEDY,
    progress: Progress | None = None,
    chunk: int = CHUNK,
) -> None:
    """Decode back the sentences of ``encoded`` not decoded yet, a chunk of similar lengths at a time, in
    place: stopped half way (an app run interrupted by a click), it goes on where it stopped."""
    report = _quiet(progress)
    ids, _ = ae.tokenize(encoded.sentences)
    todo = sorted((i for i, r in enumerate(encoded.reconstructions) if r is None), key=lambda i: len(ids[i]))
    n, before = len(ids), len(ids) - len(todo)
    for start in range(0, len(todo), chunk):
        report((before + start) / n, f"Decoding back: {before + start:,} of {n:,} sentences")
        _decode_rows(ae, encoded, ids, todo[start : start + chunk], decoding)
    report(1.0, f"Decoded back {n:,} sentences")


@torch.no_grad()
def nearest_neighbour_graph(X: torch.Tensor, k: int, *, block: int = 1024) -> tuple[np.ndarray, np.ndarray]:
    """The exact ``k`` nearest rows of each row of X (N, D) by cosine, itself included: indices (N, k) and
    cosine distances (N, k), one (block, N) product at a time."""
    X = F.normalize(X.float(), dim=-1)
    indices, distances = [], []
    for start in range(0, len(X), block):
        sims = X[start : start + block] @ X.T  # (b, N)
        sims[torch.arange(sims.shape[0]), torch.arange(start, start + sims.shape[0])] = 2.0  # itself first
        s, i = sims.topk(k, dim=-1)
        indices.append(i)
        distances.append((1 - s).clamp(min=0))
    return torch.cat(indices).numpy(), torch.cat(distances).numpy()


def layout(
    X: torch.Tensor, *, seed: int = 0, n_neighbors: int = NEIGHBOURS, n_epochs: int = LAYOUT_EPOCHS
) -> np.ndarray:
    """(N, D) rows -> (N, 2) UMAP coordinates by cosine (N >= MIN_SENTENCES). A fixed seed gives the same
    map every time (and keeps UMAP on one thread)."""
    import umap  # lazy: importing umap (numba) takes seconds

    k = min(n_neighbors, len(X) - 1)
    knn = nearest_neighbour_graph(X, k)
    reducer = umap.UMAP(
        n_neighbors=k, min_dist=0.1, metric="cosine", random_state=seed, n_epochs=n_epochs, precomputed_knn=(*knn, None)
    )
    with warnings.catch_warnings():  # "n_jobs overridden by random_state", and the like
        warnings.simplefilter("ignore")
        return reducer.fit_transform(F.normalize(X.float(), dim=-1).numpy())


def warm_up() -> None:
    """Import umap and compile its layout on a few random points (the first map in a process pays this,
    seconds), so that a user's first map does not."""
    layout(torch.randn(3 * NEIGHBOURS, 8, generator=torch.Generator().manual_seed(0)), n_epochs=10)


def default_clusters(n: int) -> int:
    """How many clusters a map of n sentences gets: about sqrt(n / 8), from 2 to 12 (the legend's colours)."""
    return int(min(12, max(2, round((n / 8) ** 0.5))))


def corpus_projection(
    ae: Autoencoder,
    encoded: EncodedCorpus,
    *,
    by: str | None = None,
    groups: Sequence[str] | None = None,
    name: str = "yours",
    clusters: int | None = None,
    seed: int = 0,
    progress: Progress | None = None,
) -> Projection:
    """A map of an encoded corpus, laid out by view ``by`` ("meaning" or "whole", ``similarity.view``;
    None: the checkpoint's first view, its meaning where it has one).

    The stored reduced vectors are those of the whole vector in the model's space, as a shipped map's, so
    cluster centres decode and new sentences are placed the same way on either layout.

    Raises:
        InvEmbError: fewer than MIN_SENTENCES sentences.
    """
    n = len(encoded.sentences)
    if n < MIN_SENTENCES:
        raise InvEmbError(f"a map needs at least {MIN_SENTENCES} different sentences; there are {n}")
    report = _quiet(progress)
    report(0.0, f"Laying out {n:,} sentences (UMAP)...")
    xy = layout(view(ae, encoded.vectors, by or views(ae)[0]), seed=seed)
    report(0.9, "Clustering...")
    table = pd.DataFrame(
        {
            "sentence": encoded.sentences,
            "split": list(groups) if groups is not None else "",
            "words": [len(s.split()) for s in encoded.sentences],
            "x": xy[:, 0].round(3),
            "y": xy[:, 1].round(3),
            "reconstruction": [r or "" for r in encoded.reconstructions],  # "": not decoded back (yet)
            "exact": [bool(e) for e in encoded.exact],
        }
    )
    table["cluster"] = cluster_labels(xy, clusters=clusters or default_clusters(n), seed=seed)
    Z = encoded.vectors
    mean, basis = pca(Z, REDUCED_SIZE)
    report(1.0, "Drawing...")
    return Projection(name, table, (Z - mean) @ basis, mean, basis)


def export_table(table: pd.DataFrame) -> pd.DataFrame:
    """What a map's CSV holds, for the map or a selection of its rows (``Projection.table``): sentence, x, y,
    cluster, reconstruction, and the group (a register, a CSV column's label) where the map has them."""
    columns = EXPORT_COLUMNS + (["group"] if table.split.astype(str).str.len().any() else [])
    return table.rename(columns={"split": "group"})[columns]
