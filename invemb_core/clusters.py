"""What a cluster of the embedding map is about: its characteristic words and what its centre decodes to.

- ``cluster_keywords``: class-based TF-IDF (as in BERTopic): each cluster's sentences are one
  document; a word scores high when it is frequent in that cluster and rare over all of them.
- ``cluster_centroids``: the mean vector of each cluster, rebuilt from the map's stored PCA-reduced
  vectors (PCA is linear, so the centroid of the reduced vectors is the reduced centroid), ready to be
  decoded: "what the middle of this cluster says".
Plain data in and out; the app draws it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from .projection import Projection


def cluster_keywords(sentences: Sequence[str], labels: Sequence[int], *, top: int = 4) -> dict[int, list[str]]:
    """{cluster label: its ``top`` most characteristic words}, stop words left out."""
    from sklearn.feature_extraction.text import CountVectorizer  # scikit-learn comes with umap-learn

    labels = np.asarray(labels)
    clusters = sorted(set(labels.tolist()))
    docs = [" ".join(s for s, label in zip(sentences, labels) if label == c) for c in clusters]
    vectorizer = CountVectorizer(stop_words="english", token_pattern=r"(?u)\b[a-zA-Z][a-zA-Z]+\b", lowercase=True)
    try:
        counts = vectorizer.fit_transform(docs).toarray().astype(float)  # (C, W)
    except ValueError:  # not one word in any cluster (numbers, symbols, stop words only)
        return {c: [] for c in clusters}
    words = vectorizer.get_feature_names_out()
    tf = counts / counts.sum(1, keepdims=True).clip(min=1)
    idf = np.log(1 + counts.sum(1).mean() / counts.sum(0).clip(min=1))
    scores = tf * idf
    return {
        c: [str(words[i]) for i in np.argsort(-scores[row])[:top] if scores[row, i] > 0]
        for row, c in enumerate(clusters)
    }


def cluster_centroids(projection: Projection, labels: Sequence[int]) -> tuple[list[int], torch.Tensor]:
    """The cluster labels (sorted) and each cluster's mean vector (C, d) in the model's space."""
    labels_t = torch.as_tensor(np.asarray(labels))
    clusters = sorted(set(labels_t.tolist()))
    reduced = torch.stack([projection.reduced[labels_t == c].float().mean(0) for c in clusters])  # (C, k)
    return clusters, projection.mean + reduced @ projection.basis.T  # (C, d)
