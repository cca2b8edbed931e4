"""The autoencoder's building blocks: encoders, pooling, the readout of z, and the two decoders.

Encoders: a small Transformer, or a (bi)directional RNN / GRU / LSTM, pooled into z by
  - "slots": each position is projected to ``slot_size`` numbers and all slots are mixed linearly into z,
    so word order survives pooling (a learned, position-wise binding);
  - "mean": masked mean over positions;  "last": the recurrent encoder's final states.
Decoders read z through a position-specific linear readout (plus one global projection, the original
study's "vector at every position"), then
  - "parallel": every position predicts its token at once (no token feedback), or
  - "autoregressive": each position also sees the previous token (teacher forcing in training).

``model.py`` puts them together (with the tied output head); this file knows nothing about tokens'
meaning or text.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from .config import ModelConfig

RNN_CELLS = {"rnn": nn.RNN, "gru": nn.GRU, "lstm": nn.LSTM}


def padding_mask(lengths: torch.Tensor, T: int) -> torch.Tensor:
    """(B,) lengths -> (B, T) bool, True on real tokens."""
    return torch.arange(T, device=lengths.device)[None, :] < lengths[:, None]


def causal_mask(T: int, device: torch.device) -> torch.Tensor:
    return torch.triu(torch.full((T, T), float("-inf"), device=device), diagonal=1)


def transformer_stack(cfg: ModelConfig, num_layers: int) -> nn.TransformerEncoder:
    layer = nn.TransformerEncoderLayer(
        cfg.hidden_size,
        cfg.num_heads,
        dim_feedforward=4 * cfg.hidden_size,
        dropout=cfg.dropout,
        activation="gelu",
        batch_first=True,
        norm_first=True,  # pre-norm: stable at the high learning rates we train with
    )
    return nn.TransformerEncoder(layer, num_layers, enable_nested_tensor=False)


# keys, values: (layers, B, heads, t, head size) each; the readout of z: (1, B, positions, H).
# Every part has the batch on dim 1, so ``decode.reorder_state`` selects rows of all of them alike.
KVCache = tuple[torch.Tensor, torch.Tensor, torch.Tensor]


def cached_layer(
    layer: nn.TransformerEncoderLayer, x: torch.Tensor, past: tuple[torch.Tensor, torch.Tensor] | None
) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
    """One ``TransformerEncoderLayer`` (pre-norm as ``transformer_stack`` builds, or post-norm) under causal
    attention, for new positions x (B, n, H) after cached keys/values (B, heads, t, head size) of the
    positions before them; returns the new outputs and the keys/values of all positions.
    With a cache, n must be 1. Inference only: no dropout."""
    B, n, H = x.shape
    heads = layer.self_attn.num_heads
    attn = layer.self_attn
    pre = layer.norm_first  # pre-norm (ours) or post-norm (BERT's, pretrained_decoder.py)
    q, k, v = F.linear(layer.norm1(x) if pre else x, attn.in_proj_weight, attn.in_proj_bias).chunk(3, dim=-1)
    q, k, v = (a.view(B, n, heads, H // heads).transpose(1, 2) for a in (q, k, v))
    if past is not None:
        assert n == 1, "with a cache, one new position at a time"
        k, v = torch.cat([past[0], k], dim=2), torch.cat([past[1], v], dim=2)
    a = F.scaled_dot_product_attention(q, k, v, is_causal=past is None and n > 1)
    a = attn.out_proj(a.transpose(1, 2).reshape(B, n, H))
    if pre:
        x = x + a
        return x + layer.linear2(layer.activation(layer.linear1(layer.norm2(x)))), (k, v)
    x = layer.norm1(x + a)
    return layer.norm2(x + layer.linear2(layer.activation(layer.linear1(x)))), (k, v)


def position_table(positions: int, width: int) -> nn.Embedding:
    table = nn.Embedding(positions, width)
    nn.init.normal_(table.weight, std=0.02)  # small, as in GPT-2: content, not position, should dominate
    return table


def reverse_padded(x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Reverse each sequence within its length; padding stays at the end. x: (B, T, E)."""
    T = x.shape[1]
    idx = torch.arange(T, device=x.device)[None, :].expand(x.shape[0], T)
    rev = (lengths[:, None] - 1 - idx).clamp(min=0)
    rev = torch.where(idx < lengths[:, None], rev, idx)
    return x.gather(1, rev[..., None].expand_as(x))


class Pooling(nn.Module):
    """Per-position states (B, T, H) -> sentence vector z (B, d)."""

    def __init__(self, cfg: ModelConfig, width: int):
        super().__init__()
        self.kind = cfg.pooling
        self.max_length = cfg.max_length
        if self.kind == "slots":
            self.slot = nn.Linear(width, cfg.slot_size)
            self.mix = nn.Linear(cfg.max_length * cfg.slot_size, cfg.vector_size)
        else:
            self.proj = nn.Linear(width, cfg.vector_size)

    def forward(self, h: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        m = mask[..., None].to(h.dtype)  # (B, T, 1)
        if self.kind == "slots":
            s = self.slot(h) * m  # (B, T, S)
            s = F.pad(s, (0, 0, 0, self.max_length - s.shape[1]))  # (B, L, S)
            return self.mix(s.flatten(1))  # (B, d)
        mean = (h * m).sum(1) / m.sum(1).clamp(min=1)  # (B, H)
        return self.proj(mean)


class TransformerEncoder(nn.Module):
    def __init__(self, cfg: ModelConfig, embedding_size: int):
        super().__init__()
        # MiniLM's embeddings have std ~0.06: normalise them so they are not drowned by positions.
        self.inp = nn.Sequential(nn.LayerNorm(embedding_size), nn.Linear(embedding_size, cfg.hidden_size))
        self.pos = position_table(cfg.max_length, cfg.hidden_size)
        self.layers = transformer_stack(cfg, cfg.encoder_layers)
        self.norm = nn.LayerNorm(cfg.hidden_size)
        self.pool = Pooling(cfg, cfg.hidden_size)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        T = x.shape[1]
        mask = padding_mask(lengths, T)  # (B, T)
        h = self.inp(x) + self.pos(torch.arange(T, device=x.device))  # (B, T, H)
        h = self.layers(h, src_key_padding_mask=~mask)
        return self.pool(self.norm(h), mask)  # (B, d)


class RecurrentEncoder(nn.Module):
    def __init__(self, cfg: ModelConfig, embedding_size: int):
        super().__init__()
        self.cfg = cfg
        self.inp_norm = nn.LayerNorm(embedding_size)  # see TransformerEncoder: embeddings are tiny
        self.rnn = RNN_CELLS[cfg.encoder](
            embedding_size,
            cfg.hidden_size,
            num_layers=cfg.encoder_layers,
            batch_first=True,
            bidirectional=cfg.bidirectional,
            dropout=cfg.dropout if cfg.encoder_layers > 1 else 0.0,
        )
        dirs = 2 if cfg.bidirectional else 1
        if cfg.pooling == "last":
            self.proj = nn.Linear(cfg.encoder_layers * dirs * cfg.hidden_size, cfg.vector_size)
        else:
            self.pool = Pooling(cfg, dirs * cfg.hidden_size)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        B, T, _ = x.shape
        x = self.inp_norm(x)
        if self.cfg.reverse_input:
            x = reverse_padded(x, lengths)
        packed = nn.utils.rnn.pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)
        out, h = self.rnn(packed)
        if self.cfg.encoder == "lstm":
            h = h[0]
        if self.cfg.pooling == "last":
            return self.proj(h.transpose(0, 1).reshape(B, -1))  # (B, layers*dirs*H) -> (B, d)
        out, _ = nn.utils.rnn.pad_packed_sequence(out, batch_first=True, total_length=T)  # (B, T, dirs*H)
        return self.pool(out, padding_mask(lengths, T))


class Readout(nn.Module):
    """z (B, d) -> decoder inputs (B, T, H): a position-specific read of z plus a global one."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.positions = cfg.max_length + 1  # the sentence plus its end-of-sentence token
        self.slot_size = cfg.slot_size
        self.unslot = nn.Linear(cfg.vector_size, self.positions * cfg.slot_size)
        self.up = nn.Linear(cfg.slot_size, cfg.hidden_size)
        self.glob = nn.Linear(cfg.vector_size, cfg.hidden_size)
        self.pos = position_table(self.positions, cfg.hidden_size)
        self.norm = nn.LayerNorm(cfg.vector_size)  # the decoder reads z at a fixed scale

    def forward(self, z: torch.Tensor, T: int) -> torch.Tensor:
        z = self.norm(z)
        s = self.unslot(z).view(z.shape[0], self.positions, self.slot_size)[:, :T]  # (B, T, S)
        return self.up(s) + self.glob(z)[:, None, :] + self.pos(torch.arange(T, device=z.device))


class TransformerDecoder(nn.Module):
    """Causal self-attention over the readout (parallel) or readout + previous token (autoregressive).

    Causal attention makes position i independent of how many positions follow, so a parallel decoder
    trained on batch-length sequences decodes any length identically.
    """

    def __init__(self, cfg: ModelConfig, embedding_size: int):
        super().__init__()
        self.feed_tokens = cfg.decoder == "autoregressive"
        self.readout = Readout(cfg)
        if self.feed_tokens:
            self.tok = nn.Sequential(nn.LayerNorm(embedding_size), nn.Linear(embedding_size, cfg.hidden_size))
        self.layers = transformer_stack(cfg, cfg.decoder_layers)
        self.out_size = cfg.hidden_size

    def embed_previous(self, prev: torch.Tensor, positions: slice) -> torch.Tensor:
        """What the decoder adds to the readout at ``positions`` for the previous tokens' embeddings
        ``prev`` (B, n, E) there."""
        return self.tok(prev)

    def forward(self, z: torch.Tensor, T: int, prev: torch.Tensor | None = None) -> torch.Tensor:
        u = self.readout(z, T)  # (B, T, H)
        if self.feed_tokens:
            u = u + self.embed_previous(prev, slice(0, T))  # prev: (B, T, E) embeddings of the previous tokens
        return self.layers(u, mask=causal_mask(T, z.device), is_causal=True)  # (B, T, H)

    def step(self, z: torch.Tensor, prev: torch.Tensor, state: KVCache | None) -> tuple[torch.Tensor, KVCache]:
        """The output (B, H) at the last of ``prev``'s positions, and the keys/values of every layer so far.

        With ``state`` from the previous step only the newest position is computed (a key/value
        cache); without it, the whole prefix. Inference only: dropout is not applied.
        """
        t = prev.shape[1]
        new = slice(t - 1, t) if state is not None else slice(0, t)
        # The readout of z for every position is computed once, at the first step, and kept in the state.
        read = self.readout(z, self.readout.positions)[None] if state is None else state[2]  # (1, B, P, H)
        x = read[0, :, new] + self.embed_previous(prev[:, new], new)  # (B, n, H)
        cache = []
        for i, layer in enumerate(self.layers.layers):
            x, kv = cached_layer(layer, x, None if state is None else (state[0][i], state[1][i]))
            cache.append(kv)
        keys, values = (torch.stack(c) for c in zip(*cache))
        return x[:, -1], (keys, values, read)


class RecurrentDecoder(nn.Module):
    """A (bi)RNN over the readout (parallel), or a left-to-right RNN that also sees the previous token."""

    def __init__(self, cfg: ModelConfig, embedding_size: int):
        super().__init__()
        self.cfg = cfg
        self.feed_tokens = cfg.decoder == "autoregressive"
        self.bidirectional = cfg.bidirectional and not self.feed_tokens
        self.readout = Readout(cfg)
        if self.feed_tokens:
            self.tok = nn.Sequential(nn.LayerNorm(embedding_size), nn.Linear(embedding_size, cfg.hidden_size))
            self.init = nn.Linear(cfg.vector_size, cfg.decoder_layers * cfg.hidden_size)
        self.rnn = RNN_CELLS[cfg.decoder_cell](
            cfg.hidden_size,
            cfg.hidden_size,
            num_layers=cfg.decoder_layers,
            batch_first=True,
            bidirectional=self.bidirectional,
            dropout=cfg.dropout if cfg.decoder_layers > 1 else 0.0,
        )
        self.out_size = cfg.hidden_size * (2 if self.bidirectional else 1)
        # A backward pass depends on the total length, so bidirectional decoders always run full length.
        self.fixed_length = cfg.max_length + 1 if self.bidirectional else None

    def initial_state(self, z: torch.Tensor):
        h0 = torch.tanh(self.init(z)).view(z.shape[0], self.cfg.decoder_layers, -1).transpose(0, 1).contiguous()
        return (h0, torch.zeros_like(h0)) if self.cfg.decoder_cell == "lstm" else h0

    def forward(self, z: torch.Tensor, T: int, prev: torch.Tensor | None = None) -> torch.Tensor:
        run = self.fixed_length or T
        u = self.readout(z, run)  # (B, run, H)
        if not self.feed_tokens:
            return self.rnn(u)[0][:, :T]  # (B, T, dirs*H)
        out, _ = self.rnn(u + self.tok(prev), self.initial_state(z))
        return out

    def step(self, z: torch.Tensor, prev: torch.Tensor, state):
        t = prev.shape[1] - 1
        if state is None:
            state = self.initial_state(z)
        u = self.readout(z, t + 1)[:, t:] + self.tok(prev[:, -1:])  # (B, 1, H)
        out, state = self.rnn(u, state)
        return out[:, -1], state
