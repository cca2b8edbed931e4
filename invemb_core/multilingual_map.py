"""The map of one meaning space in three languages: the test captions in English, German and French.

Each caption is encoded three times (English by the default's meaning part, MiniLM; German and French by
their language checkpoints' student encoders) and the 3N vectors are laid out together by cosine, as a
map of your own sentences is (``corpus_map.layout``). Where the encoders agree, the three versions of a
caption land on one spot; ``agreement`` says how often: the share of vectors whose nearest neighbour among
all the others is a version of the same caption.

The map is saved with the English checkpoint as ``projection-languages.*`` (bench/make_language_map.py):
its "split" column names the language and its "caption" column the caption's line, and its stored vectors
are the default's whole vectors of the meanings (wording code zero), so a spot or a cluster centre decodes
through the English default like any other map's.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import pandas as pd
import torch

from .corpus_map import layout
from .errors import InvEmbError
from .language import LANGUAGES, Language
from .metrics import same_item_retrieval
from .projection import REDUCED_SIZE, Projection, cluster_labels, pca

if TYPE_CHECKING:
    from .autoencoder import Autoencoder

NAME = "languages"


def agreement(vectors: Mapping[str, torch.Tensor]) -> float:
    """Of all vectors (L languages x N captions, row i of each the same caption), the share whose nearest
    neighbour (cosine, itself excluded) is another language's version of the same caption."""
    n = next(iter(vectors.values())).shape[0]
    if any(v.shape[0] != n for v in vectors.values()):
        raise InvEmbError("every language needs the same captions, in the same order")
    return same_item_retrieval(torch.cat(list(vectors.values())), list(range(n)) * len(vectors))


def encode_languages(
    ae: Autoencoder, languages: Sequence[Language], texts: Mapping[str, Sequence[str]]
) -> dict[str, torch.Tensor]:
    """Each language's meaning vectors of its texts: English through ``ae``, the others through their
    checkpoints' encoders."""
    out = {"en": ae.encode(list(texts["en"]))[:, : ae.meaning_size]}
    for lang in languages:
        out[lang.language] = lang.meaning(lang.encode(list(texts[lang.language]), warn=False))
    return out


def language_map(
    ae: Autoencoder,
    vectors: Mapping[str, torch.Tensor],
    texts: Mapping[str, Sequence[str]],
    *,
    seed: int = 0,
    clusters: int = 12,
) -> Projection:
    """The three-language map of ``vectors`` (from ``encode_languages``)."""
    rows = []
    for code, sentences in texts.items():
        for i, s in enumerate(sentences):
            rows.append({"sentence": s, "split": LANGUAGES[code], "words": len(s.split()), "caption": i})
    M = torch.cat([vectors[code] for code in texts])
    xy = layout(M, seed=seed)
    table = pd.DataFrame(rows)
    table["x"], table["y"] = xy[:, 0].round(3), xy[:, 1].round(3)
    table["reconstruction"] = ""  # each language reads its own vectors back in bench/languages.py
    table["exact"] = False
    table["cluster"] = cluster_labels(xy, clusters=clusters, seed=seed)
    Z = ae.from_meaning(M)
    mean, basis = pca(Z, REDUCED_SIZE)
    return Projection(NAME, table, (Z - mean) @ basis, mean, basis)


def map_agreement(projection: Projection) -> float | None:
    """``agreement`` of a saved three-language map, from the vectors it stores (the top 128 principal
    components of the meanings: close to, not exactly, the full vectors' figure); None for any other map."""
    table = projection.table
    if "caption" not in table.columns or projection.name != NAME:
        return None
    Z = projection.reduced @ projection.basis.T + projection.mean
    groups = [torch.tensor((table.split == name).to_numpy()) for name in table.split.unique()]
    return agreement({str(i): Z[g] for i, g in enumerate(groups)})
