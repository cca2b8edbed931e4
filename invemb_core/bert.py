"""A BERT encoder (all-MiniLM-L6-v2's Transformer) in plain torch, read straight from ``model.safetensors``.

The meaning encoder (twopart.py) needs one thing from the sentence-transformer: its last hidden states.
transformers' ``AutoModel`` gives them too, but importing its model code takes about 2.7 s (it pulls in
torch.distributed, dynamo, the generation utilities), which was a third of the app's cold start. This
file computes the same forward pass, op for op as transformers' ``BertModel`` with SDPA attention
(embeddings + LayerNorm; each layer post-norm attention and feed-forward, exact-erf GELU), so the vectors
are the same to the last bit (tests/test_bert.py compares the two on padded batches).

Module and parameter names are transformers' own (``embeddings.word_embeddings``,
``encoder.layer[i].attention.self.query`` ...), so the checkpoint's tensors load by name and code that
copies BERT layers (pretrained_decoder.py) reads this model as it reads theirs.

``load_bert(model_dir)`` returns None for anything it does not cover exactly (another architecture, no
safetensors file, relative positions, a decoder); ``text.load_transformer`` then uses ``AutoModel``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F


@dataclass(frozen=True)
class BertConfig:
    """The fields of a BERT ``config.json`` this forward pass reads."""

    vocab_size: int
    hidden_size: int
    num_hidden_layers: int
    num_attention_heads: int
    intermediate_size: int
    max_position_embeddings: int
    type_vocab_size: int
    layer_norm_eps: float
    pad_token_id: int = 0
    hidden_act: str = "gelu"  # the only activation ``read`` accepts

    @classmethod
    def read(cls, path: Path) -> BertConfig | None:
        """The config of a plain BERT encoder, or None if ``path`` describes anything else."""
        raw = json.loads(path.read_text())
        plain = (
            raw.get("model_type") == "bert"
            and raw.get("hidden_act") == "gelu"
            and raw.get("position_embedding_type", "absolute") == "absolute"
            and not raw.get("is_decoder", False)
            and not raw.get("add_cross_attention", False)
        )
        if not plain:
            return None
        return cls(**{name: raw[name] for name in cls.__dataclass_fields__ if name in raw})


@dataclass
class BertOutput:
    last_hidden_state: torch.Tensor  # (B, T, H), as transformers names it


class Embeddings(nn.Module):
    def __init__(self, cfg: BertConfig):
        super().__init__()
        self.word_embeddings = nn.Embedding(cfg.vocab_size, cfg.hidden_size, padding_idx=cfg.pad_token_id)
        self.position_embeddings = nn.Embedding(cfg.max_position_embeddings, cfg.hidden_size)
        self.token_type_embeddings = nn.Embedding(cfg.type_vocab_size, cfg.hidden_size)
        self.LayerNorm = nn.LayerNorm(cfg.hidden_size, eps=cfg.layer_norm_eps)

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        T = input_ids.shape[1]
        x = self.word_embeddings(input_ids) + self.token_type_embeddings.weight[0]  # every token is segment 0
        x = x + self.position_embeddings(torch.arange(T, device=input_ids.device))[None]
        return self.LayerNorm(x)


class SelfAttention(nn.Module):
    def __init__(self, cfg: BertConfig):
        super().__init__()
        self.heads = cfg.num_attention_heads
        self.query = nn.Linear(cfg.hidden_size, cfg.hidden_size)
        self.key = nn.Linear(cfg.hidden_size, cfg.hidden_size)
        self.value = nn.Linear(cfg.hidden_size, cfg.hidden_size)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        B, T, H = x.shape
        q, k, v = (
            f(x).view(B, T, self.heads, H // self.heads).transpose(1, 2) for f in (self.query, self.key, self.value)
        )
        a = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, scale=(H // self.heads) ** -0.5)
        return a.transpose(1, 2).reshape(B, T, H)


class DenseNorm(nn.Module):
    """BERT's "output" blocks: LayerNorm(dense(x) + residual)."""

    def __init__(self, cfg: BertConfig, width: int):
        super().__init__()
        self.dense = nn.Linear(width, cfg.hidden_size)
        self.LayerNorm = nn.LayerNorm(cfg.hidden_size, eps=cfg.layer_norm_eps)

    def forward(self, x: torch.Tensor, residual: torch.Tensor) -> torch.Tensor:
        return self.LayerNorm(self.dense(x) + residual)


class Attention(nn.Module):
    def __init__(self, cfg: BertConfig):
        super().__init__()
        self.self = SelfAttention(cfg)
        self.output = DenseNorm(cfg, cfg.hidden_size)


class Intermediate(nn.Module):
    def __init__(self, cfg: BertConfig):
        super().__init__()
        self.dense = nn.Linear(cfg.hidden_size, cfg.intermediate_size)


class Layer(nn.Module):
    def __init__(self, cfg: BertConfig):
        super().__init__()
        self.attention = Attention(cfg)
        self.intermediate = Intermediate(cfg)
        self.output = DenseNorm(cfg, cfg.intermediate_size)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        x = self.attention.output(self.attention.self(x, mask), x)
        return self.output(F.gelu(self.intermediate.dense(x)), x)


class Encoder(nn.Module):
    def __init__(self, cfg: BertConfig):
        super().__init__()
        self.layer = nn.ModuleList(Layer(cfg) for _ in range(cfg.num_hidden_layers))


class Bert(nn.Module):
    """BERT's encoder without its pooler: ``model(input_ids=, attention_mask=).last_hidden_state``."""

    def __init__(self, cfg: BertConfig):
        super().__init__()
        self.config = cfg
        self.embeddings = Embeddings(cfg)
        self.encoder = Encoder(cfg)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None) -> BertOutput:
        """input_ids (B, T); attention_mask (B, T), 1 on real tokens (None: all real)."""
        x = self.embeddings(input_ids)
        mask = None
        if attention_mask is not None and not bool(attention_mask.all()):
            # transformers passes no mask when nothing is padded, else a boolean (B, 1, T, T) one
            keep = attention_mask.bool()
            mask = keep[:, None, None, :].expand(-1, 1, input_ids.shape[1], -1)
        for layer in self.encoder.layer:
            x = layer(x, mask)
        return BertOutput(x)


def load_bert(model_dir: str) -> Bert | None:
    """The BERT encoder in ``model_dir`` (config.json + model.safetensors), frozen, in eval mode; None if
    the directory holds something this file does not compute exactly as transformers does."""
    root = Path(model_dir)
    weights = root / "model.safetensors"
    if not (root / "config.json").is_file() or not weights.is_file():
        return None
    cfg = BertConfig.read(root / "config.json")
    if cfg is None:
        return None
    from safetensors.torch import load_file

    state = {k.removeprefix("bert."): v for k, v in load_file(weights).items()}
    model = Bert(cfg)
    wanted = model.state_dict().keys()
    if not wanted <= state.keys():
        return None  # another layout: let transformers read it
    model.load_state_dict({k: state[k].float() for k in wanted})
    for p in model.parameters():
        p.requires_grad_(False)
    return model.eval()
