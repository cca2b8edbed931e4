"""A student encoder that reads through a multilingual LM: German or French text -> MiniLM's vector of the
English translation, like ``student.Student``, read differently.

``student.Student`` is MiniLM itself, fine-tuned: it reads German and French through MiniLM's uncased English
word pieces, and after four passes over Multi30k's 29,000 pairs its vector of a German caption finds the
English caption among 1,014 nine times in ten (val). This student reads the sentence with Gemma-3-270M
(``lm.py``: ``"gemma3"``, frozen; trained on many languages, its 262,144 pieces cover German and French
words whole), averages its hidden states at one layer over the sentence's pieces, and maps that with a
small MLP into MiniLM's space:

    s(x) = normalise( MLP( (mean_t h_layer(x)_t - mu) / sigma ) )      trained: the MLP (~1 M numbers)

Only the MLP trains, with the same losses as ``student.Student`` (``student.distillation_loss``). The LM's
states do not change while it trains, so ``cache_features`` keeps each sentence's pooled state after its
first pass (29,000 x 640 numbers): the passes after the first cost milliseconds.
``bench/experiments/gemma_student_probe.py`` chose the layer (val, after fitting the MLP on the pairs).

A checkpoint stores the MLP and mu, sigma (prefixed ``student.``); the LM comes from its package.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

from .errors import InvEmbError
from .student import encode_in_eval, in_length_order, own_weights
from .text import clean_text

MAX_PIECES = 96  # Gemma pieces a sentence may have (German captions need ~25)


class _Reached(Exception):  # noqa: N818 (not an error: how a forward stops at the layer it needs)
    """Carries a block's output out of the LM's forward: the blocks after it never run."""

    def __init__(self, states: torch.Tensor):
        super().__init__()
        self.states = states


def states_at(base: nn.Module, layer: int, enc) -> torch.Tensor:
    """``base(**enc).hidden_states[layer]``, running only the blocks it needs: the state after block ``layer``
    is that block's output, taken by a hook that stops the forward there (Gemma's layer 6: 6 of 18 blocks).
    The hook lives for this call only, on the shared model (``load_lm`` caches it)."""
    if layer >= len(base.layers):  # the last state is the final norm's: the whole forward
        return base(**enc, output_hidden_states=True, use_cache=False).hidden_states[layer]

    def stop(module, args, output):
        raise _Reached(output[0] if isinstance(output, tuple) else output)

    handle = base.layers[layer - 1].register_forward_hook(stop)
    try:
        base(**enc, use_cache=False)
    except _Reached as reached:
        return reached.states
    finally:
        handle.remove()
    raise InvEmbError(f"the LM's forward never reached block {layer}")


class LMStudent(nn.Module):
    """Text -> (N, size) unit vectors: a frozen LM's pooled hidden state at ``layer``, through an MLP."""

    def __init__(
        self, source: str = "gemma3", *, layer: int = 6, hidden: int = 1024, size: int = 384, lm=None, tokenizer=None
    ):
        super().__init__()
        if lm is None:
            from .lm import load_lm

            lm, tokenizer = load_lm(source)
        base = getattr(lm, "model", lm)  # a causal LM's body: its head is not needed
        layers = len(base.layers)
        if not 0 < layer <= layers:
            raise InvEmbError(f"layer {layer}: the LM {source!r} has layers 1 to {layers}")
        self.source, self.layer, self.size = source, layer, size
        self._lm, self.tokenizer = [base], tokenizer  # in a list: not a submodule (frozen, never saved)
        width = int(base.config.hidden_size)
        self.register_buffer("mu", torch.zeros(width))
        self.register_buffer("sigma", torch.ones(width))
        self.head = nn.Sequential(nn.Linear(width, hidden), nn.GELU(), nn.Linear(hidden, size))
        self.cache_features = False
        self._features: dict[str, torch.Tensor] = {}

    @property
    def lm(self):
        return self._lm[0]

    @torch.no_grad()
    def pooled(self, texts: Sequence[str]) -> torch.Tensor:
        """(N, W): the LM's hidden states at ``layer``, averaged over each sentence's pieces (bfloat16
        products, float32 out); from the cache where ``cache_features`` has kept them."""
        texts = [clean_text(t) or "." for t in texts]
        todo = [t for t in dict.fromkeys(texts) if t not in self._features]
        fresh = {}
        if todo:
            enc = self.tokenizer(todo, return_tensors="pt", padding=True, truncation=True, max_length=MAX_PIECES)
            with torch.autocast("cpu", dtype=torch.bfloat16):
                states = states_at(self.lm, self.layer, enc)
            keep = enc["attention_mask"].bool()
            if self.tokenizer.bos_token_id is not None:
                keep &= enc["input_ids"] != self.tokenizer.bos_token_id  # the start token holds no text
            mask = keep[..., None].float()
            fresh = dict(zip(todo, (states.float() * mask).sum(1) / mask.sum(1).clamp(min=1)))
            if self.cache_features:
                self._features.update(fresh)
        return torch.stack([self._features.get(t, fresh.get(t)) for t in texts])

    def pooled_all(self, texts: Sequence[str], *, batch_size: int = 64) -> torch.Tensor:
        """``pooled`` of many sentences, in batches of similar length (less padding), with a progress bar;
        in the order given."""

        def bar(starts):
            return tqdm(starts, desc=f"reading through {self.source}", unit="batch", disable=len(starts) < 4)

        return in_length_order(self.pooled, texts, batch_size=batch_size, width=self.mu.numel(), progress=bar)

    def fit_scale(self, texts: Sequence[str], *, batch_size: int = 64) -> None:
        """Set mu and sigma from the training sentences' pooled states (before training the MLP)."""
        X = self.pooled_all(texts, batch_size=batch_size)
        self.mu.copy_(X.mean(0))
        self.sigma.copy_(X.std(0) + 1e-5)

    def forward(self, texts: Sequence[str]) -> torch.Tensor:
        return F.normalize(self.head((self.pooled(texts) - self.mu) / self.sigma).float(), dim=-1)

    def fit_head(
        self,
        texts: Sequence[str],
        targets: torch.Tensor,
        *,
        epochs: float,
        lr: float,
        batch_size: int = 64,
        loss: str = "mse",
        temperature: float = 0.05,
        seed: int = 0,
    ) -> list[float]:
        """Train the MLP alone on (text, teacher vector) pairs, ``epochs`` passes over the pooled states, read
        once (with ``cache_features``, ``fit_scale``'s reading serves here too); each pass costs a second or
        two. AdamW, warm-up then cosine (``train_state.warmup_cosine``). Returns each pass's mean loss."""
        from .student import distillation_loss
        from .train_state import warmup_cosine

        X = (self.pooled_all(texts, batch_size=batch_size) - self.mu) / self.sigma  # from the cache after a first read
        per_epoch = -(-len(X) // batch_size)
        total = max(1, round(epochs * per_epoch))
        opt = torch.optim.AdamW(self.head.parameters(), lr=lr, weight_decay=0.01)
        generator, step, curve = torch.Generator().manual_seed(seed), 0, []
        self.train()
        while step < total:
            order, losses = torch.randperm(len(X), generator=generator), []
            for b in range(per_epoch):
                if step >= total:
                    break
                rows = order[b * batch_size : (b + 1) * batch_size]
                for group in opt.param_groups:
                    group["lr"] = warmup_cosine(step, peak=lr, warmup=max(1, min(200, total // 10)), total=total)
                out = F.normalize(self.head(X[rows]), dim=-1)
                value = distillation_loss(out, targets[rows], loss=loss, temperature=temperature)
                opt.zero_grad(set_to_none=True)
                value.backward()
                opt.step()
                losses.append(value.item())
                step += 1
            curve.append(sum(losses) / len(losses))
        self.eval()
        return curve

    @torch.no_grad()
    def encode(self, texts: Sequence[str], *, batch_size: int = 64) -> torch.Tensor:
        """Inference: (N, size) unit vectors, in batches of similar length."""
        return encode_in_eval(self, texts, batch_size=batch_size)

    # ---- what a checkpoint keeps ------------------------------------------------------------------
    def trained_state(self) -> dict[str, torch.Tensor]:
        """The MLP and the scale, prefixed ``student.`` (never the LM's weights)."""
        return {f"student.{k}": v for k, v in self.state_dict().items()}

    def load_trained_state(self, state: dict[str, torch.Tensor]) -> None:
        self.load_state_dict(own_weights(state, set(self.state_dict()), f"its reader {self.source!r}"))
