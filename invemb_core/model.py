"""The sentence autoencoder: an encoder that pools a sentence into one vector z, a decoder that reads it back.

Encoders: a small Transformer, or a (bi)directional RNN / GRU / LSTM, pooled into z by
  - "slots": each position is projected to ``slot_size`` numbers and all slots are mixed linearly into z,
    so word order survives pooling (a learned, position-wise binding);
  - "mean": masked mean over positions;  "last": the recurrent encoder's final states.
Decoders read z through a position-specific linear readout (plus one global projection, the original
study's "vector at every position"), then
  - "parallel": every position predicts its token at once (no token feedback), or
  - "autoregressive": each position also sees the previous token (teacher forcing in training).
The output head is tied to the token-embedding table: logits = o . e for every token e.

The model works on local token ids and knows nothing about text; decoding lives in ``decode.py``.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from . import losses
from .config import ModelConfig
from .fast_logits import FastLogits

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


class SentenceAutoencoder(nn.Module):
    """Encoder + decoder + tied output head over a token-embedding table.

    Args:
        cfg: the model configuration.
        token_embeddings: (V, E) table for the model's local vocabulary.
        special_ids: dict with "pad", "bos", "eos", "mask" local ids.
        output_allowed: (V,) bool, tokens the decoder may emit (no [PAD], [unused*] ...).
    """

    def __init__(
        self,
        cfg: ModelConfig,
        token_embeddings: torch.Tensor,
        special_ids: dict[str, int],
        output_allowed: torch.Tensor,
    ):
        super().__init__()
        self.cfg = cfg
        self.special = dict(special_ids)
        if cfg.freeze_embeddings:
            # Not persistent: a frozen table is rebuilt from its source at load, never saved twice.
            self.register_buffer("token_embeddings", token_embeddings.float().clone(), persistent=False)
        else:
            self.token_embeddings = nn.Parameter(token_embeddings.float().clone())
        self.register_buffer("output_allowed", output_allowed.bool().clone(), persistent=False)
        E = token_embeddings.shape[1]
        self.encoder = TransformerEncoder(cfg, E) if cfg.encoder == "transformer" else RecurrentEncoder(cfg, E)
        if cfg.decoder_cell == "pretrained":
            from .pretrained_decoder import PretrainedDecoder  # it builds on this file's TransformerDecoder

            self.decoder = PretrainedDecoder(cfg, E)
        else:
            decoder_cls = TransformerDecoder if cfg.decoder_cell == "transformer" else RecurrentDecoder
            self.decoder = decoder_cls(cfg, E)
        self.head_norm = nn.LayerNorm(self.decoder.out_size)
        self.head = nn.Linear(self.decoder.out_size, E)  # decoder state -> a vector in embedding space
        self.cosine_scale = nn.Parameter(torch.tensor(10.0)) if cfg.output_scoring == "cosine" else None
        # A per-piece logit bias, fitted after training (calibration.py); saved only when there is one.
        self.register_buffer("output_bias", torch.zeros(len(output_allowed)) if cfg.output_bias else None)
        self.fast_logits = False  # inference: bfloat16 logits, exact near the top (``Autoencoder`` turns it on)
        self._fast: tuple[tuple[int, int], FastLogits] | None = None

    @property
    def autoregressive(self) -> bool:
        return self.cfg.decoder == "autoregressive"

    def encode(self, tokens: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """(B, T) local ids, (B,) lengths -> (B, d) sentence vectors."""
        return self.encoder(F.embedding(tokens, self.token_embeddings), lengths)

    def scores(self, vectors: torch.Tensor, table: torch.Tensor, bias: torch.Tensor | None = None) -> torch.Tensor:
        """Output vectors (..., E) against token embeddings (C, E), plus the pieces' biases (C,) if
        given -> logits (..., C)."""
        if self.cosine_scale is not None:
            logits = self.cosine_scale * F.normalize(vectors, dim=-1) @ F.normalize(table, dim=-1).T
        else:
            logits = vectors @ table.T
        return logits if bias is None else logits + bias

    def set_output_bias(self, bias: torch.Tensor) -> None:
        """Install a fitted per-piece logit bias (V,) (calibration.py); the config then records it."""
        self.output_bias = bias.detach().float().clone()
        self.cfg.output_bias = True

    def decoder_input(self, z: torch.Tensor) -> torch.Tensor:
        """What the decoder reads for a sentence vector: z itself (a two-part vector rescales its parts)."""
        return z

    def output_vectors(self, z: torch.Tensor, T: int, prev: torch.Tensor | None = None) -> torch.Tensor:
        return self._output_vectors(self.decoder_input(z), T, prev)

    def _output_vectors(self, u: torch.Tensor, T: int, prev: torch.Tensor | None) -> torch.Tensor:
        prev_emb = F.embedding(prev, self.token_embeddings) if prev is not None else None
        return self.head(self.head_norm(self.decoder(u, T, prev_emb)))  # (B, T, E)

    def full_logits(self, vectors: torch.Tensor) -> torch.Tensor:
        """Output vectors (..., E) -> logits over the whole vocabulary (..., V), disallowed pieces at -inf.

        With ``fast_logits`` on and no gradient wanted, bfloat16 scores that are float32-exact near the
        top of each row (see fast_logits.py): greedy and beam choose exactly as in float32."""
        if self.fast_logits and not torch.is_grad_enabled():
            if self.cosine_scale is not None:
                vectors = self.cosine_scale * F.normalize(vectors, dim=-1)
            return self._fast_table()(vectors)
        logits = self.scores(vectors, self.token_embeddings, self.output_bias)
        return logits.masked_fill(~self.output_allowed, float("-inf"))

    def _fast_table(self) -> FastLogits:
        """The bfloat16 copy of the scoring table, rebuilt whenever the table has changed (training)."""
        bias = self.output_bias
        key = (self.token_embeddings.data_ptr(), self.token_embeddings._version)
        key += (bias.data_ptr(), bias._version) if bias is not None else ()
        if self._fast is None or self._fast[0] != key:
            table = self.token_embeddings.detach()
            table = F.normalize(table, dim=-1) if self.cosine_scale is not None else table
            self._fast = (key, FastLogits(table, self.output_allowed, bias))
        return self._fast[1]

    def step(self, z: torch.Tensor, prev: torch.Tensor, state=None):
        """Autoregressive decoders: logits (B, V) for the token after ``prev`` (B, t), and the new state."""
        h, state = self.decoder.step(self.decoder_input(z), F.embedding(prev, self.token_embeddings), state)
        return self.full_logits(self.head(self.head_norm(h))), state

    def forward(
        self,
        tokens: torch.Tensor,
        lengths: torch.Tensor,
        *,
        inputs: torch.Tensor | None = None,
        candidates: torch.Tensor | None = None,
        loss: str = "ce",
        vector_noise: float = 0.0,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Reconstruct ``tokens`` (B, T) and return (logits, loss).

        Args:
            tokens: the sentences to reconstruct (the targets), padded with the pad id.
            lengths: (B,) true lengths.
            inputs: what the encoder sees, if not ``tokens`` (e.g. after word dropout).
            candidates: sorted local ids to score against (sampled softmax); None scores every token.
            loss: "ce", "match" or "ce+match".
            vector_noise: Gaussian noise added to z, relative to its RMS, for robustness.

        Returns:
            logits (N, C) at the N real target positions (each sentence plus its end token), and the loss.
        """
        z = self.encode(tokens if inputs is None else inputs, lengths)  # (B, d)
        if vector_noise > 0:
            z = z + vector_noise * z.pow(2).mean(-1, keepdim=True).sqrt() * torch.randn_like(z)
        return self.reconstruction(self.decoder_input(z), tokens, lengths, candidates=candidates, loss=loss)

    def teacher_forcing(
        self, tokens: torch.Tensor, lengths: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """For sentences ``tokens`` (B, T): the targets (B, T+1) (each sentence, then its end), the mask of
        real target positions (B, T+1), and what an autoregressive decoder reads before each (B, T+1; the
        sentence after its start token), None for a parallel decoder."""
        B, T = tokens.shape
        targets = F.pad(tokens, (0, 1), value=self.special["pad"])
        targets[torch.arange(B), lengths] = self.special["eos"]
        mask = padding_mask(lengths + 1, T + 1)
        prev = F.pad(tokens, (1, 0), value=self.special["bos"]) if self.autoregressive else None
        return targets, mask, prev

    def reconstruction(
        self,
        u: torch.Tensor,
        tokens: torch.Tensor,
        lengths: torch.Tensor,
        *,
        candidates: torch.Tensor | None = None,
        loss: str = "ce",
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Decode decoder inputs u (B, d) against the sentences ``tokens`` (B, T) under teacher forcing:
        (logits at the real target positions, loss). See ``forward`` for the arguments."""
        T = tokens.shape[1]
        targets, mask, prev = self.teacher_forcing(tokens, lengths)
        vectors = self._output_vectors(u, T + 1, prev)[mask]  # (N, E)
        target = targets[mask]  # (N,)
        table, bias = self.token_embeddings, self.output_bias
        if candidates is not None:
            table = table[candidates]
            bias = bias[candidates] if bias is not None else None
            target = torch.searchsorted(candidates, target)
        logits = self.scores(vectors, table, bias)  # (N, C)
        return logits, losses.reconstruction_loss(loss, logits=logits, vectors=vectors, targets=target, table=table)
