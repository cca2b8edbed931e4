"""Training losses: cross-entropy, the original study's match loss, and a Gumbel-softmax semantic loss.

- cross-entropy over the (possibly sampled) vocabulary;
- match loss: MSE between the decoder's output vector and the target token's embedding, counted only
  where the nearest token by cosine is wrong (so correct positions stop pulling);
- semantic loss: soft tokens drawn with Gumbel-softmax are embedded and run through the frozen
  sentence-transformer; 1 - cosine to the input sentence's embedding. The gradient flows through the
  sampling, so the decoder learns to keep the meaning even where it cannot keep every word.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F


def match_loss(vectors: torch.Tensor, targets: torch.Tensor, table: torch.Tensor) -> torch.Tensor:
    """vectors (N, E), targets (N,) row ids into table (C, E)."""
    with torch.no_grad():
        nearest = (F.normalize(vectors, dim=-1) @ F.normalize(table, dim=-1).T).argmax(-1)
        wrong = nearest != targets
    if not bool(wrong.any()):
        return vectors.sum() * 0.0  # keeps the graph; nothing to pull
    return F.mse_loss(vectors[wrong], table[targets[wrong]], reduction="sum") / vectors.shape[0]


def reconstruction_loss(
    kind: str, *, logits: torch.Tensor, vectors: torch.Tensor, targets: torch.Tensor, table: torch.Tensor
) -> torch.Tensor:
    """The token-level loss named by ``kind``: "ce", "match" or "ce+match"."""
    total = logits.new_zeros(())
    if "ce" in kind:
        total = total + F.cross_entropy(logits, targets)
    if "match" in kind:
        total = total + match_loss(vectors, targets, table)
    return total


class SemanticLoss(nn.Module):
    """1 - cos(sentence-transformer(soft tokens), sentence-transformer(input)), through Gumbel-softmax.

    Args:
        model_dir: a Hugging Face directory whose tokenizer is the autoencoder's (mean pooling, as
            all-MiniLM-L6-v2 uses).
        token_ids: (V,) tokenizer ids of the autoencoder's local vocabulary.
        cls_id, sep_id: tokenizer ids of [CLS] and [SEP].
    """

    def __init__(self, model_dir: str, token_ids: torch.Tensor, *, cls_id: int, sep_id: int, temperature: float = 1.0):
        super().__init__()
        from transformers import AutoModel

        self.encoder = AutoModel.from_pretrained(model_dir).eval()
        for p in self.encoder.parameters():
            p.requires_grad_(False)
        table = self.encoder.get_input_embeddings().weight
        self.register_buffer("token_ids", token_ids.long(), persistent=False)
        self.register_buffer("cls", table[cls_id].detach().clone(), persistent=False)
        self.temperature = temperature
        self.sep_id = sep_id

    def embed(self, inputs_embeds: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        h = self.encoder(inputs_embeds=inputs_embeds, attention_mask=attention_mask).last_hidden_state
        m = attention_mask[..., None].to(h.dtype)
        return F.normalize((h * m).sum(1) / m.sum(1), dim=-1)  # (B, 384)

    def forward(
        self, logits: torch.Tensor, mask: torch.Tensor, candidates: torch.Tensor, target_ids: torch.Tensor
    ) -> torch.Tensor:
        """logits (N, C) at the N True positions of mask (B, T); candidates (C,) local ids;
        target_ids (B, T) local ids of the true sentence plus its end token (pad elsewhere)."""
        table = self.encoder.get_input_embeddings().weight
        soft = F.gumbel_softmax(logits, tau=self.temperature, hard=False)  # (N, C)
        soft_emb = soft @ table[self.token_ids[candidates]]  # (N, 384)
        B, T = mask.shape
        x = soft_emb.new_zeros(B, T, soft_emb.shape[1])
        x[mask] = soft_emb
        x = torch.cat([self.cls.expand(B, 1, -1), x], dim=1)  # (B, 1+T, 384)
        attn = torch.cat([mask.new_ones(B, 1), mask], dim=1).long()
        with torch.no_grad():
            true = F.embedding(self.token_ids[target_ids], table)  # (B, T, 384)
            true = torch.cat([self.cls.expand(B, 1, -1), true], dim=1)
            target = self.embed(true, attn)
        return (1.0 - (self.embed(x, attn) * target).sum(-1)).mean()
