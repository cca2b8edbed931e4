"""Two-part sentence vectors: a frozen sentence-transformer's embedding (the *meaning*) followed by a
small learned code (the *wording*), decoded together by one decoder.

    z = [ m ; s * w ]      m: (M,) unit-norm all-MiniLM-L6-v2 embedding (mean pooling, L2-normalised)
                           w: (K,) learned wording code, RMS 1, read by the usual encoder + pooling
                           s: ``wording_scale`` (tiny), so cosine between vectors is MiniLM's cosine

- **Semantic**: cosine(z1, z2) = cos(m1, m2) up to O(s^2): neighbours are MiniLM's neighbours.
- **Invertible**: the decoder reads both parts (rescaled to the same size inside the model), so the
  wording code only has to carry what the meaning leaves open (word choice, order, rare pieces).
- **Meaning apart from wording**: training keeps only a random prefix of w for some sentences, and none
  for others (nested dropout, Rippel et al. 2014), so the decoder also learns p(text | meaning, first k
  wording numbers) for every k. ``Autoencoder.meaning(Z, keep=f)`` zeroes all but the first f*K
  wording numbers: keep=0 decodes MiniLM vectors alone (paraphrases), keep=1 is exact.

The sentence-transformer is frozen and rebuilt from its source at load (like frozen token
embeddings): it is never saved in a checkpoint. Its tokenizer must be the autoencoder's.
This file is the whole idea; model.py's plain autoencoder is untouched by it.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import replace

import torch
import torch.nn.functional as F

from .config import ModelConfig
from .errors import InvEmbError
from .model import SentenceAutoencoder
from .modules import RecurrentEncoder, TransformerEncoder
from .text import load_transformer, load_word_pieces, resolve_model_dir

# Sentences whose meaning training remembers: the whole general-English mix (~266k distinct), ~0.6 GB, so
# MiniLM runs over each sentence once, in the first epoch, rather than in every epoch.
MEMO_SIZE = 300_000


def with_specials(rows: list[list[int]], cls: int, sep: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Tokenizer ids per sentence -> (B, T) ids ``[CLS] ... [SEP]``, zero-padded, and the (B, T) mask of real ones."""
    T = max(len(r) for r in rows) + 2
    ids = torch.zeros(len(rows), T, dtype=torch.long)
    mask = torch.zeros(len(rows), T, dtype=torch.long)
    for i, r in enumerate(rows):
        ids[i, : len(r) + 2] = torch.tensor([cls, *r, sep])
        mask[i, : len(r) + 2] = 1
    return ids, mask


def mean_pooled(h: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """sentence-transformers' pooling: the mean of the (B, T, M) states over the real pieces, L2-normalised."""
    m = mask[..., None].to(h.dtype)
    return F.normalize(((h * m).sum(1) / m.sum(1)).float(), dim=-1)


class MeaningEncoder:
    """Local token ids -> the sentence-transformer's normalised mean-pooled embedding, as
    ``SentenceTransformer(model_dir).encode(text, normalize_embeddings=True)`` gives it.

    Not an ``nn.Module`` on purpose: it is frozen, shared between checkpoints, and never saved.
    Training memoises results per sentence (it sees every sentence once an epoch); inference does
    not, so that a sentence's vector never depends on which batch first computed it (float sums
    over padded batches differ in the last bits).
    """

    def __init__(self, source: str, token_ids: tuple[int, ...], *, tokenizer_dir: str):
        self.model_dir = resolve_model_dir(source)
        if load_word_pieces(self.model_dir).get_vocab() != load_word_pieces(tokenizer_dir).get_vocab():
            raise InvEmbError(f"the meaning model {source!r} has a different tokenizer from the autoencoder's")
        tok = load_word_pieces(self.model_dir)
        self.cls_id, self.sep_id = tok.cls_token_id, tok.sep_token_id
        self.token_ids = torch.tensor(token_ids, dtype=torch.long)
        self.size = int(load_transformer(self.model_dir).config.hidden_size)
        self._memo: OrderedDict[tuple[int, ...], torch.Tensor] = OrderedDict()

    @torch.no_grad()
    def embed_tokenizer_ids(self, rows: list[list[int]]) -> torch.Tensor:
        """Tokenizer ids per sentence (any length the model reads) -> (N, M) unit vectors, in batches."""
        return torch.cat([self._embed(rows[i : i + 256], local=False) for i in range(0, len(rows), 256)])

    @torch.no_grad()
    def _embed(self, rows: list[list[int]], *, local: bool = True) -> torch.Tensor:
        model = load_transformer(self.model_dir)
        pieces = [self.token_ids[r].tolist() for r in rows] if local else [list(r) for r in rows]
        ids, mask = with_specials(pieces, self.cls_id, self.sep_id)
        return mean_pooled(model(input_ids=ids, attention_mask=mask).last_hidden_state, mask)  # (B, M)

    def __call__(self, tokens: torch.Tensor, lengths: torch.Tensor, *, memo: bool = False) -> torch.Tensor:
        """(B, T) local ids, (B,) lengths -> (B, M) unit vectors."""
        if not memo:
            return self._embed([tokens[i, : int(n)].tolist() for i, n in enumerate(lengths)])
        keys = [tuple(tokens[i, : int(n)].tolist()) for i, n in enumerate(lengths)]
        missing = list(dict.fromkeys(k for k in keys if k not in self._memo))
        for start in range(0, len(missing), 256):
            chunk = missing[start : start + 256]
            for key, vec in zip(chunk, self._embed([list(k) for k in chunk])):
                self._memo[key] = vec
        out = torch.stack([self._memo[k] for k in keys])
        for k in keys:
            self._memo.move_to_end(k)
        while len(self._memo) > MEMO_SIZE:
            self._memo.popitem(last=False)
        return out


class TwoPartAutoencoder(SentenceAutoencoder):
    """A ``SentenceAutoencoder`` whose vector is [meaning ; wording_scale * wording] (see the module doc).

    ``cfg.vector_size`` is the whole vector: M meaning numbers plus K = vector_size - M wording numbers
    (K = 0: the vector is the sentence-transformer's embedding alone, decoded as is).
    """

    def __init__(self, cfg: ModelConfig, token_embeddings, special_ids, output_allowed, *, token_ids, tokenizer_dir):
        meaning = MeaningEncoder(cfg.meaning, token_ids, tokenizer_dir=tokenizer_dir)
        if cfg.vector_size < meaning.size:
            raise InvEmbError(
                f"vector_size={cfg.vector_size} is smaller than the meaning model's {meaning.size} numbers; "
                f"use vector_size = {meaning.size} + the wording size (e.g. {meaning.size + 256})"
            )
        super().__init__(cfg, token_embeddings, special_ids, output_allowed)
        self.meaning_encoder = meaning
        self.meaning_size = meaning.size
        self.wording_size = cfg.vector_size - meaning.size
        E = token_embeddings.shape[1]
        if self.wording_size > 0:  # the plain encoder, pooled to K numbers instead of d
            wcfg = replace(cfg, vector_size=self.wording_size, meaning="")
            self.encoder = TransformerEncoder(wcfg, E) if cfg.encoder == "transformer" else RecurrentEncoder(wcfg, E)
        else:
            del self.encoder

    # ---- the vector --------------------------------------------------------------------------------

    def wording(self, tokens: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """(B, T), (B,) -> (B, K) wording codes at RMS 1."""
        w = self.encoder(F.embedding(tokens, self.token_embeddings), lengths)
        return w * torch.rsqrt(w.pow(2).mean(-1, keepdim=True) + 1e-6)

    def encode(self, tokens: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        m = self.meaning_encoder(tokens, lengths)  # (B, M)
        if self.wording_size == 0:
            return m
        return torch.cat([m, self.cfg.wording_scale * self.wording(tokens, lengths)], dim=-1)  # (B, d)

    def decoder_input(self, z: torch.Tensor) -> torch.Tensor:
        """Both parts back at one scale (RMS ~1 per number) before the decoder's readout."""
        M = self.meaning_size
        return torch.cat([z[:, :M] * math.sqrt(M), z[:, M:] / self.cfg.wording_scale], dim=-1)

    # ---- training ----------------------------------------------------------------------------------

    def forward(
        self,
        tokens: torch.Tensor,
        lengths: torch.Tensor,
        *,
        inputs: torch.Tensor | None = None,
        candidates: torch.Tensor | None = None,
        loss: str = "ce",
        vector_noise: float = 0.0,
        clean: torch.Tensor | None = None,
        wording_dropout: float = 0.0,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """As ``SentenceAutoencoder.forward``, plus:

        Args:
            clean: the sentences before augmentation; their meaning is what the vector holds, and
                they are the target of every sentence that keeps less than its whole wording code.
            wording_dropout: the share of sentences that keep only a random prefix of their wording
                code (half of those keep none of it).
        """
        B, K = tokens.shape[0], self.wording_size
        clean = tokens if clean is None else clean
        inputs = tokens if inputs is None else inputs
        keep = torch.full((B,), K, dtype=torch.long)
        if self.training and wording_dropout > 0 and K > 0:
            r = torch.rand(B)
            keep = torch.where(r < wording_dropout, torch.randint(0, K, (B,)), keep)
            keep = torch.where(r < wording_dropout / 2, torch.zeros_like(keep), keep)
        partial = (keep < K)[:, None]
        # What cannot be read from the kept part must be the clean sentence: no random substitutions.
        tokens, inputs = torch.where(partial, clean, tokens), torch.where(partial, clean, inputs)
        z = self.meaning_encoder(clean, lengths, memo=self.training)  # (B, M)
        if K > 0:
            w = self.wording(inputs, lengths) * (torch.arange(K)[None, :] < keep[:, None])  # (B, K)
            z = torch.cat([z, self.cfg.wording_scale * w], dim=-1)
        u = self.decoder_input(z)
        if vector_noise > 0:  # u is at RMS ~1 per number
            u = u + vector_noise * torch.randn_like(u)
        return self.reconstruction(u, tokens, lengths, candidates=candidates, loss=loss)


def keep_wording(Z: torch.Tensor, *, meaning_size: int, keep: float) -> torch.Tensor:
    """Zero all but the first ``round(keep * K)`` wording numbers of two-part vectors (N, M + K)."""
    if not 0.0 <= keep <= 1.0:
        raise InvEmbError(f"keep must be in [0, 1] (0 = meaning only, 1 = every wording number), got {keep}")
    K = Z.shape[1] - meaning_size
    out = Z.clone()
    out[:, meaning_size + round(keep * K) :] = 0.0
    return out
