"""The sentence autoencoder: an encoder that pools a sentence into one vector z, a decoder that reads it back.

The encoders and decoders are in ``modules.py`` (a Transformer or a recurrent encoder pooled into z; a
parallel or autoregressive decoder that reads z through a position-wise readout); ``pretrained_decoder.py``
adds a decoder started from MiniLM's layers. The output head is tied to the token-embedding table:
logits = o . e for every token e.

The model works on local token ids and knows nothing about text; decoding lives in ``decode.py``.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from . import losses
from .config import ModelConfig
from .fast_logits import FastLogits
from .modules import RecurrentDecoder, RecurrentEncoder, TransformerDecoder, TransformerEncoder, padding_mask
from .pretrained_decoder import PretrainedDecoder


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
