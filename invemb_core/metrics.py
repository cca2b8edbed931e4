"""How well a vector inverts: token accuracy, exact match, BLEU (sacrebleu), semantic cosine, by length.

The reference for a sentence is what the tokenizer keeps of it (all-MiniLM-L6-v2 is uncased, so
"A Man" and "a man" are the same input): token accuracy and exact match compare word-piece ids, BLEU
compares the detokenized text. Semantic cosine embeds the input and the reconstruction with the
sentence-transformer the token embeddings come from and takes their cosine.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import sacrebleu
import torch

if TYPE_CHECKING:
    from .autoencoder import Autoencoder

LENGTH_BUCKETS = ((5, 10), (11, 15), (16, 20), (21, 30))


def token_hits(reference: Sequence[int], hypothesis: Sequence[int]) -> int:
    """Positions of ``reference`` where ``hypothesis`` has the same token (a missing token is a miss)."""
    return sum(1 for i, tok in enumerate(reference) if i < len(hypothesis) and hypothesis[i] == tok)


def token_accuracy(references: Sequence[Sequence[int]], hypotheses: Sequence[Sequence[int]]) -> float:
    total = sum(len(r) for r in references)
    return sum(token_hits(r, h) for r, h in zip(references, hypotheses)) / max(total, 1)


def exact_match(references: Sequence[Sequence[int]], hypotheses: Sequence[Sequence[int]]) -> float:
    return sum(list(r) == list(h) for r, h in zip(references, hypotheses)) / max(len(references), 1)


def bleu(references: Sequence[str], hypotheses: Sequence[str]) -> float:
    """Corpus BLEU (sacrebleu's defaults, 13a tokenization), 0-100."""
    return float(sacrebleu.corpus_bleu(list(hypotheses), [list(references)]).score)


@lru_cache(maxsize=2)
def sentence_transformer(model_dir: str):
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging

    logging.disable_progress_bar()  # no "Loading weights" bars in `invemb eval` output
    return SentenceTransformer(model_dir, device="cpu")


def semantic_cosine(model_dir: str, a: Sequence[str], b: Sequence[str]) -> list[float]:
    """Per pair, the cosine of the two sentences' sentence-transformer embeddings."""
    model = sentence_transformer(model_dir)
    ea = model.encode(list(a), convert_to_tensor=True, normalize_embeddings=True, batch_size=128)
    eb = model.encode(list(b), convert_to_tensor=True, normalize_embeddings=True, batch_size=128)
    return (ea * eb).sum(-1).tolist()


def same_item_retrieval(vectors: torch.Tensor, items: Sequence[int]) -> float:
    """Recall@1 of "another caption of the same item": for each vector, is its nearest other vector by
    cosine one with the same item id? (Multi30k's five captions of an image.)"""
    V = torch.nn.functional.normalize(torch.as_tensor(vectors, dtype=torch.float32), dim=-1)
    sims = V @ V.T
    sims.fill_diagonal_(float("-inf"))
    ids = torch.as_tensor(list(items))
    return float((ids[sims.argmax(-1)] == ids).float().mean())


def bucket_name(words: int) -> str:
    for lo, hi in LENGTH_BUCKETS:
        if lo <= words <= hi:
            return f"{lo}-{hi}"
    return "<5" if words < LENGTH_BUCKETS[0][0] else ">30"


def score(
    references: list[list[int]], hypotheses: list[list[int]], ref_text: list[str], hyp_text: list[str]
) -> dict[str, float]:
    return {
        "token_accuracy": token_accuracy(references, hypotheses),
        "exact_match": exact_match(references, hypotheses),
        "bleu": bleu(ref_text, hyp_text),
        "n": len(references),
    }


def evaluate(
    ae: Autoencoder,
    sentences: Sequence[str],
    *,
    semantic: bool = True,
    keep: float | None = None,
    **decode_kwargs: Any,
) -> dict:
    """Reconstruct ``sentences`` and score them, overall and by sentence length in words.

    Args:
        ae: the autoencoder.
        sentences: input sentences (one per item).
        semantic: also compute the sentence-transformer cosine (loads the model once; a few seconds).
        keep: two-part vectors: decode ``ae.meaning(Z, keep=keep)`` (0: the meaning alone) instead of the
            whole vectors, and record it as ``wording_kept``.
        **decode_kwargs: decoding options, as for ``Autoencoder.decode`` (the checkpoint's default decoding).

    Returns:
        dict with token_accuracy, exact_match, bleu, semantic_cosine (if asked), n, truncated and
        by_length: {"5-10": {...}, ...}.
    """
    ids, truncated = ae.tokenize(list(sentences))
    with torch.no_grad():
        Z = ae.encode_ids(ids)
        hyp_ids = ae.decode_ids(Z if keep is None else ae.meaning(Z, keep=keep), **decode_kwargs)
    ref_text = [ae.codec.decode(r) for r in ids]
    hyp_text = [ae.codec.decode(h) for h in hyp_ids]
    cosines = semantic_cosine(ae.codec.model_dir, ref_text, hyp_text) if semantic else None
    result: dict[str, Any] = score(ids, hyp_ids, ref_text, hyp_text)
    result["decoding"] = decode_kwargs if "strategy" in decode_kwargs else {**ae.default_decoding, **decode_kwargs}
    result["truncated"] = sum(truncated)
    if keep is not None:
        result["wording_kept"] = keep
    if cosines is not None:
        result["semantic_cosine"] = sum(cosines) / len(cosines)
    buckets: dict[str, list[int]] = {}
    for i, s in enumerate(sentences):
        buckets.setdefault(bucket_name(len(s.split())), []).append(i)
    result["by_length"] = {}
    for name in sorted(buckets, key=lambda n: (n[0] not in "<>", int(n.strip("<>").split("-")[0]))):
        idx = buckets[name]
        part = score(
            [ids[i] for i in idx], [hyp_ids[i] for i in idx], [ref_text[i] for i in idx], [hyp_text[i] for i in idx]
        )
        if cosines is not None:
            part["semantic_cosine"] = sum(cosines[i] for i in idx) / len(idx)
        result["by_length"][name] = part
    return result
