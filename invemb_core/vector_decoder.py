"""A decoder of one language: a meaning vector -> a sentence, in that language's own cased word pieces.

    z (d,) --LayerNorm, Linear--> k prefix positions --+
                                                         |-> causal Transformer -> next piece, tied to the
    [BOS] w1 w2 ... (piece embeddings + positions) -----+   piece embeddings (logits = h . E)

The vector is read as ``prefix`` positions in front of the sentence (as ClipCap reads an image), and
every later position attends to them. It shares nothing with the English autoencoder: its tokenizer is a
byte-fallback-free BPE trained with the ``tokenizers`` library on the language's training text (cased,
accents kept, spaces kept by the Metaspace marker: decoding gives back the text, except characters the
training text never had, which become [UNK] and are left out).
Decoding reuses the engine's pure loops (``decode.autoregressive_decode_many``, ``decode.beam_search``)
through ``step``, with a key/value cache (``modules.cached_layer``, as the autoencoder's own decoder).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers
from torch import nn

from .decode import autoregressive_decode_many, beam_search, reorder_state
from .modules import cached_layer, causal_mask

SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]  # ids 0..4: pad, unk, bos, eos, mask
PAD, UNK, BOS, EOS, MASK = 0, 1, 2, 3, 4


def train_tokenizer(texts: Iterable[str], vocab_size: int) -> Tokenizer:
    """A cased BPE over the texts, with InvEmb's five special pieces first."""
    tok = Tokenizer(models.BPE(unk_token="[UNK]"))
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.Metaspace()
    tok.decoder = decoders.Metaspace()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=SPECIAL, show_progress=False)
    tok.train_from_iterator(texts, trainer=trainer)
    return tok


@dataclass
class DecoderShape:
    """The decoder's size (saved in language.json)."""

    vocab_size: int = 8000
    vector_size: int = 384
    prefix: int = 4
    hidden_size: int = 256
    layers: int = 3
    heads: int = 4
    max_length: int = 48
    dropout: float = 0.1


class VectorDecoder(nn.Module):
    def __init__(self, shape: DecoderShape):
        super().__init__()
        self.shape = shape
        H = shape.hidden_size
        self.read = nn.Sequential(nn.LayerNorm(shape.vector_size), nn.Linear(shape.vector_size, shape.prefix * H))
        self.embed = nn.Embedding(shape.vocab_size, H)
        self.pos = nn.Embedding(shape.prefix + shape.max_length + 2, H)
        layer = nn.TransformerEncoderLayer(
            H, shape.heads, 4 * H, shape.dropout, activation="gelu", batch_first=True, norm_first=True
        )
        self.layers = nn.TransformerEncoder(layer, shape.layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(H)
        nn.init.normal_(self.embed.weight, std=0.02)

    def hidden(self, z: torch.Tensor, prev: torch.Tensor) -> torch.Tensor:
        """(B, d) vectors, (B, t) previous pieces starting with BOS -> (B, t, H) states at those pieces."""
        B, t = prev.shape
        k = self.shape.prefix
        x = torch.cat([self.read(z).view(B, k, -1), self.embed(prev)], dim=1)
        x = x + self.pos(torch.arange(k + t, device=z.device))
        h = self.layers(x, mask=causal_mask(k + t, z.device), is_causal=True)
        return self.norm(h[:, k:])

    def logits(self, h: torch.Tensor) -> torch.Tensor:
        return h @ self.embed.weight.T

    def loss(self, z: torch.Tensor, ids: Sequence[Sequence[int]]) -> tuple[torch.Tensor, int]:
        """Teacher-forced cross-entropy of the sentences ``ids`` (pieces, no specials) given ``z``; and the
        number of predicted pieces (EOS included)."""
        L = self.shape.max_length
        rows = [list(r[:L]) for r in ids]
        T = max(len(r) for r in rows) + 1
        prev = torch.full((len(rows), T), PAD, dtype=torch.long)
        target = torch.full((len(rows), T), -100, dtype=torch.long)
        for i, r in enumerate(rows):
            prev[i, : len(r) + 1] = torch.tensor([BOS, *r])
            target[i, : len(r) + 1] = torch.tensor([*r, EOS])
        logits = self.logits(self.hidden(z, prev))
        n = int((target != -100).sum())
        return F.cross_entropy(logits.float().flatten(0, 1), target.flatten(), ignore_index=-100), n

    def _step(self, z: torch.Tensor):
        """The decoding loops' step: logits for the last of ``prev``'s pieces. The first call runs the prefix
        and BOS through every layer; later calls only the newest piece, over the layers' cached keys and
        values (``modules.cached_layer``; the state has the batch on dim 1, so ``decode.reorder_state``
        selects its rows). Inference only."""
        k = self.shape.prefix

        def step(prev: torch.Tensor, state, rows: torch.Tensor | None = None):
            t = prev.shape[1]
            if state is None:
                zz = z if rows is None else z[rows]
                x = torch.cat([self.read(zz).view(len(prev), k, -1), self.embed(prev)], dim=1)
                x = x + self.pos(torch.arange(k + t, device=prev.device))
            else:
                x = self.embed(prev[:, -1:]) + self.pos(torch.tensor([k + t - 1], device=prev.device))
            cache = []
            for i, layer in enumerate(self.layers.layers):
                x, kv = cached_layer(layer, x, None if state is None else (state[0][i], state[1][i]))
                cache.append(kv)
            out = self.logits(self.norm(x[:, -1]))
            out[:, [PAD, UNK, BOS, MASK]] = float("-inf")  # never written
            return out, tuple(torch.stack(c) for c in zip(*cache))

        return step

    @torch.no_grad()
    def generate(self, z: torch.Tensor, *, beam_size: int = 1, loop_guard: int = 3, **sampling) -> list[list[int]]:
        """Pieces for each (B, d) vector: beam search (beam_size > 1), else greedy or sampled (``sampling``:
        ``decode.sample_next_token``'s arguments, e.g. temperature, top_p, generator)."""
        was = self.training
        self.eval()
        L = self.shape.max_length
        if beam_size > 1:
            zz = z.repeat_interleave(beam_size, dim=0)
            out = beam_search(
                self._step(zz),
                reorder_state,
                batch_size=len(z),
                beam_size=beam_size,
                bos=BOS,
                eos=EOS,
                max_length=L,
                loop_guard=loop_guard,
            )
        else:
            sampling = sampling or {"temperature": 0.0}
            out = autoregressive_decode_many(
                self._step(z),
                batch_size=len(z),
                bos=BOS,
                eos=EOS,
                max_length=L,
                samplings=[sampling],
                reorder=reorder_state,
                loop_guard=loop_guard,
            )[0]
        self.train(was)
        return out
