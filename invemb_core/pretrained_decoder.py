"""A decoder that starts from a pretrained encoder's own layers (``decoder_cell="pretrained"``).

The small decoder (modules.py's ``TransformerDecoder``: 2 layers, 256 wide, random at the start) has to learn
English from the training text alone. BERT2BERT (Rothe, Narayan & Severyn, 2020) showed that the layers
of a pretrained *encoder* make a good start for a *decoder*: run them under a causal mask and fine-tune.
Here the donor is the embedding source itself (all-MiniLM-L6-v2: 6 layers, 384 wide, 12 heads), whose
token table the autoencoder already reads and scores with:

    x_t = LayerNorm(e(prev_t) + p_t + type_0)      BERT's input embedding of the previous token, copied
        + Readout(z)_t                              the sentence vector, read per position (modules.py), new
    h = the first ``decoder_layers`` MiniLM layers over x_0..x_t under a causal mask   (copied, post-norm)

The previous token of position 0 is the start token, which is [CLS], so the decoder's inputs look like
BERT's. The layers are ``nn.TransformerEncoderLayer`` in post-norm form, which is exactly a BERT layer
(attention, add, LayerNorm, GELU feed-forward, add, LayerNorm); ``copy_bert_layer`` maps the weights.
The copies are made whenever the model is built, loading included (cheap: the donor is the meaning model,
which a two-part checkpoint loads anyway); a checkpoint saves the trained layers like any other weights,
and loading puts them in place of the fresh copies.
"""

from __future__ import annotations

from dataclasses import replace

import torch
import torch.nn as nn

from .config import ModelConfig
from .errors import InvEmbError
from .modules import Readout, TransformerDecoder
from .text import load_transformer, resolve_model_dir


def bert_layer_like(config, dropout: float) -> nn.TransformerEncoderLayer:
    """An empty post-norm layer with a BERT config's shape (width, heads, feed-forward, epsilon)."""
    if config.hidden_act != "gelu":
        raise InvEmbError(f"a pretrained decoder needs GELU layers; the donor uses {config.hidden_act!r}")
    return nn.TransformerEncoderLayer(
        config.hidden_size,
        config.num_attention_heads,
        dim_feedforward=config.intermediate_size,
        dropout=dropout,
        activation="gelu",
        layer_norm_eps=config.layer_norm_eps,
        batch_first=True,
        norm_first=False,  # BERT is post-norm: the copied weights compute what they computed there
    )


@torch.no_grad()
def copy_bert_layer(layer: nn.TransformerEncoderLayer, bert_layer: nn.Module) -> None:
    """Copy a ``BertLayer``'s weights into ``layer`` (built by ``bert_layer_like``)."""
    attn = bert_layer.attention
    q, k, v = attn.self.query, attn.self.key, attn.self.value
    layer.self_attn.in_proj_weight.copy_(torch.cat([q.weight, k.weight, v.weight]))
    layer.self_attn.in_proj_bias.copy_(torch.cat([q.bias, k.bias, v.bias]))
    pairs = [
        (layer.self_attn.out_proj, attn.output.dense),
        (layer.norm1, attn.output.LayerNorm),
        (layer.linear1, bert_layer.intermediate.dense),
        (layer.linear2, bert_layer.output.dense),
        (layer.norm2, bert_layer.output.LayerNorm),
    ]
    for ours, theirs in pairs:
        ours.weight.copy_(theirs.weight)
        ours.bias.copy_(theirs.bias)


class PretrainedDecoder(TransformerDecoder):
    """``TransformerDecoder`` (same forward, same cached step) whose layers and input embedding come from
    the embedding source's Transformer; its width and heads are the donor's, not ``cfg.hidden_size``."""

    def __init__(self, cfg: ModelConfig, embedding_size: int):
        nn.Module.__init__(self)
        donor = load_transformer(resolve_model_dir(cfg.embedding_source))
        config = donor.config
        if not hasattr(donor, "encoder") or not hasattr(donor.encoder, "layer"):
            raise InvEmbError(f"decoder_cell='pretrained' needs a BERT-style model; {cfg.embedding_source!r} is not")
        if cfg.decoder_layers > config.num_hidden_layers:
            raise InvEmbError(
                f"decoder_layers={cfg.decoder_layers}, but {cfg.embedding_source!r} has {config.num_hidden_layers} layers"
            )
        if embedding_size != config.hidden_size:
            raise InvEmbError(f"the token table is {embedding_size} wide, the donor's layers {config.hidden_size}")
        H = config.hidden_size
        self.feed_tokens = True
        self.readout = Readout(replace(cfg, hidden_size=H))
        emb = donor.embeddings
        self.pos = nn.Embedding.from_pretrained(
            emb.position_embeddings.weight[: self.readout.positions].clone(), freeze=False
        )
        self.token_type = nn.Parameter(emb.token_type_embeddings.weight[0].clone())
        self.embed_norm = nn.LayerNorm(H, eps=config.layer_norm_eps)
        self.embed_norm.load_state_dict(emb.LayerNorm.state_dict())
        self.embed_dropout = nn.Dropout(cfg.dropout)
        self.layers = nn.TransformerEncoder(
            bert_layer_like(config, cfg.dropout), cfg.decoder_layers, enable_nested_tensor=False
        )
        for layer, bert_layer in zip(self.layers.layers, donor.encoder.layer):  # the first decoder_layers
            copy_bert_layer(layer, bert_layer)
        self.out_size = H

    def embed_previous(self, prev: torch.Tensor, positions: slice) -> torch.Tensor:
        """BERT's input embedding of the previous tokens' embeddings ``prev`` (B, n, E) at ``positions``."""
        p = torch.arange(positions.start, positions.stop, device=prev.device)
        return self.embed_dropout(self.embed_norm(prev + self.pos(p) + self.token_type))  # (B, n, H)
