"""A student encoder: German or French text -> the vector MiniLM gives the English translation.

Multilingual knowledge distillation (Reimers & Gurevych 2020): a copy of all-MiniLM-L6-v2 (the
*student*) reads a sentence in another language and is trained so that its embedding lands where the
frozen original (the *teacher*) puts the sentence's English translation. After training, German,
French and English sentences with one meaning share one point of the teacher's space, so a decoder
that reads that space can write any of them out.

    student(de_i) ~ teacher(en_i)        loss "mse":      || s - t ||^2            (the paper's)
                                         loss "infonce":  softmax over a batch's t_j, the true pair first
                                                          (the contrastive loss of the lecture material)

The student computes exactly what the teacher computes (BERT, mean pooling over every real piece,
L2-normalised: ``SentenceTransformer(...).encode(normalize_embeddings=True)``). It keeps the teacher's
uncased English word pieces and their embedding table frozen: German and French split into more pieces,
but every piece exists, and everything else trains (the six layers, the position embeddings, the
embedding LayerNorm). So a checkpoint stores those (float16, ~22 MB) and rebuilds the 30,522 x 384 piece
embedding table from the package, as frozen token embeddings are everywhere else in InvEmb.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from .bert import Bert
from .errors import InvEmbError
from .text import clean_text, load_transformer, resolve_model_dir
from .tokenizer import load_word_pieces
from .twopart import mean_pooled, with_specials

FROZEN = "embeddings.word_embeddings.weight"  # rebuilt from the teacher's package, never saved
MAX_PIECES = 64  # word pieces per sentence the student reads (German captions need ~25)


def in_length_order(fn, texts: Sequence[str], *, batch_size: int, width: int, progress=None) -> torch.Tensor:
    """``fn`` (texts -> (n, width)) over ``texts`` in batches of similar length (less padding); the rows come back
    in the order given. ``progress``: wraps the batches' starts (a tqdm)."""
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    starts = range(0, len(order), batch_size)
    out = torch.empty(len(texts), width)
    for start in progress(starts) if progress else starts:
        rows = order[start : start + batch_size]
        out[rows] = fn([texts[i] for i in rows])
    return out


def encode_in_eval(student: nn.Module, texts: Sequence[str], *, batch_size: int) -> torch.Tensor:
    """A student's inference: (N, student.size) unit vectors, in eval mode (its mode given back), in batches of
    similar length."""
    was_training = student.training
    student.eval()
    out = in_length_order(student, texts, batch_size=batch_size, width=student.size)
    student.train(was_training)
    return out


def own_weights(state: dict[str, torch.Tensor], expected: set[str], what: str) -> dict[str, torch.Tensor]:
    """A student's weights out of a checkpoint's ``student.``-prefixed state (float32, prefix dropped); an error
    naming what they fail to fit (``what``) when their names are not exactly ``expected``."""
    mine = {k.removeprefix("student."): v.float() for k, v in state.items() if k.startswith("student.")}
    if set(mine) != expected:
        missing, extra = sorted(expected - set(mine)), sorted(set(mine) - expected)
        raise InvEmbError(f"the student's weights do not fit {what} (missing {missing[:3]}, extra {extra[:3]})")
    return mine


class Student(nn.Module):
    """A trainable copy of a BERT sentence-transformer; ``forward(texts)`` -> (N, d) unit vectors."""

    def __init__(self, teacher: str = "minilm"):
        super().__init__()
        self.teacher = teacher
        self.model_dir = resolve_model_dir(teacher)
        original = load_transformer(self.model_dir)
        if not isinstance(original, Bert):
            raise InvEmbError(f"the student starts from a BERT sentence-transformer; {teacher!r} is not one")
        self.bert = copy.deepcopy(original).train()
        for name, p in self.bert.named_parameters():
            p.requires_grad_(name != FROZEN)
        self.tokenizer = load_word_pieces(self.model_dir)
        self.size = int(self.bert.config.hidden_size)

    def pieces(self, texts: Sequence[str]) -> tuple[torch.Tensor, torch.Tensor]:
        """Texts -> (N, T) ids with [CLS] ... [SEP] and the (N, T) mask of real pieces."""
        rows = [r[: MAX_PIECES - 2] for r in self.tokenizer.ids([clean_text(t) for t in texts])]
        return with_specials(rows, self.tokenizer.cls_token_id, self.tokenizer.sep_token_id)

    def forward(self, texts: Sequence[str]) -> torch.Tensor:
        ids, mask = self.pieces(texts)
        return mean_pooled(self.bert(input_ids=ids, attention_mask=mask).last_hidden_state, mask)

    @torch.no_grad()
    def encode(self, texts: Sequence[str], *, batch_size: int = 128) -> torch.Tensor:
        """Inference: (N, d) unit vectors, in eval mode, in batches sorted by length (padding-free-ish)."""
        return encode_in_eval(self, texts, batch_size=batch_size)

    # ---- what a checkpoint keeps ------------------------------------------------------------------
    def trained_state(self) -> dict[str, torch.Tensor]:
        """Every weight but the frozen piece embeddings, prefixed ``student.``."""
        return {f"student.{k}": v for k, v in self.bert.state_dict().items() if k != FROZEN}

    def load_trained_state(self, state: dict[str, torch.Tensor]) -> None:
        mine = own_weights(state, set(self.bert.state_dict()) - {FROZEN}, "its teacher")
        self.bert.load_state_dict(mine, strict=False)


def distillation_loss(student: torch.Tensor, teacher: torch.Tensor, *, loss: str, temperature: float) -> torch.Tensor:
    """The student's loss for a batch of (N, d) unit vectors, row i of each the same sentence.

    "mse": mean squared distance, times d (so it reads as a sum over the vector, ~2(1 - cos)).
    "infonce": cross-entropy of picking the true teacher vector among the batch's, cosine / temperature.
    "mse+infonce": their sum.
    """
    terms = []
    if "mse" in loss.split("+"):
        terms.append(F.mse_loss(student, teacher) * student.shape[1])
    if "infonce" in loss.split("+"):
        logits = student @ teacher.T / temperature
        terms.append(F.cross_entropy(logits, torch.arange(len(student))))
    if not terms:
        raise InvEmbError(f"unknown student loss {loss!r}: mse, infonce or mse+infonce")
    return sum(terms)
