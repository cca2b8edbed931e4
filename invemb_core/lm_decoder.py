"""The meaning decoder: a pretrained language model that writes English from a meaning vector.

The two-part autoencoder's own decoder (modules.py: 2 layers, 256 wide, trained from scratch) writes the
gist of a meaning vector in broken, lower-case English. This file puts a pretrained causal LM (SmolLM2-135M,
``lm.py``) behind the vector, as a **corrector** (vec2text's recipe, Morris et al. 2023, with a pretrained
LM as in GEIA and ClipCap):

    input  = [ P(m)_1 .. P(m)_k ]  "Draft: <h>"  "\\nSentence:"      then the sentence, ended by <eos>
    P      = a small MLP, m (384 MiniLM numbers, unit length) -> k vectors of the LM's width (a prefix)
    h      = the small decoder's reading of the same m (its content words, not its grammar): greedy in
             training, its best text (the default decoding) when writing, unless ``draft_decoding`` says greedy

The LM is frozen; what trains is the prefix mapper and low-rank adapters (LoRA, Hu et al. 2021) on its
linear layers: a few MB, saved in the checkpoint as ``meaning_decoder.safetensors`` beside
``meaning_decoder.json``; the LM's own weights come from its package at load time. Content words come
from the draft and the vector, case, punctuation and grammar from the LM.

Generation is bounded (``lm_generate.py``): at most ``max_new_tokens`` pieces, and at most twice the draft's
pieces plus 8; no 3-gram repeated (the loop guard).
It is not the autoencoder: ``meaning_lm.py`` wires it to ``Autoencoder``; ``train_lm.py`` trains it.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F
from safetensors.torch import load_file, save_file

from . import lm_generate
from .config import opt
from .errors import InvEmbError
from .lm_generate import Draw

CONFIG_FILE, WEIGHTS_FILE = "meaning_decoder.json", "meaning_decoder.safetensors"
# A row rewriting a draft writes at most this many times the draft's pieces, plus LENGTH_SLACK: a rewrite is
# rarely longer than its draft, and a rambling sample (T = 1.5) stops there instead of holding its batch.
LENGTH_OVER_DRAFT, LENGTH_SLACK = 2, 8
LORA_TARGETS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")


@dataclass
class LMDecoderConfig:
    """What the meaning decoder is; saved as meaning_decoder.json."""

    lm: str = opt("smollm2", 'lm.py: "smollm2" (PyPI package), a local directory, or a hub id')
    meaning_size: int = opt(384, "the MiniLM meaning vector it reads")
    prefix_tokens: int = opt(16, "k: the vector becomes k pseudo-tokens (8 kept the gist only, in the issue's probe)")
    mapper_hidden: int = opt(512, "width of the prefix mapper's hidden layer")
    lora_rank: int = opt(8, "0: the LM stays exactly as shipped (prefix only)")
    lora_alpha: float = opt(32.0, "LoRA scale numerator (the update is alpha / rank * B A x)")
    draft: bool = opt(True, "read the small decoder's greedy draft (a corrector); False: prefix only")
    draft_decoding: str = opt(
        "default",
        "the draft it reads when writing: the small decoder's 'default' decoding of the meaning (its best text: "
        "rerank and correction) or 'greedy' (what training reads: faster, noisier)",
    )
    max_draft_tokens: int = opt(48, "the draft is cut to this many LM pieces")
    max_new_tokens: int = opt(64, "every generation stops here (sentences in the data have at most 30 words)")
    candidates: int = opt(1, "the default decoding: 1 = greedy; n = the closest (MiniLM) of greedy and n - 1 samples")
    no_repeat_ngram: int = opt(3, "the loop guard: no n-gram of this size is written twice")
    rewrite_invented: bool = opt(
        False,
        "the guard never keeps a draft that spells a word outside the checkpoint's lexicon (an invented word) "
        "where the LM's text spells none",
    )
    keep_draft_margin: float | None = opt(
        None,
        "the faithfulness guard: a row keeps its draft (the small decoder's text) where the LM's text comes "
        "more than this much further from the meaning (MiniLM cosine) than the draft does; None: the LM always",
    )

    def __post_init__(self):
        if self.draft_decoding not in ("default", "greedy"):
            raise ValueError(f"draft_decoding must be 'default' or 'greedy', got {self.draft_decoding!r}")
        if self.keep_draft_margin is not None and not 0 <= self.keep_draft_margin <= 2:
            raise ValueError(
                f"keep_draft_margin must be in [0, 2] (a cosine gap) or None, got {self.keep_draft_margin}"
            )
        if self.prefix_tokens < 1 or self.meaning_size < 1 or self.max_new_tokens < 1:
            raise ValueError(
                f"prefix_tokens, meaning_size and max_new_tokens must be positive, got "
                f"{self.prefix_tokens}, {self.meaning_size}, {self.max_new_tokens}"
            )

    def draft_how(self) -> dict:
        """The decode keywords of the draft: the small decoder's default decoding, or greedy."""
        return {"strategy": self.draft_decoding}

    @classmethod
    def from_dict(cls, d: dict) -> LMDecoderConfig:
        known = {f.name for f in fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise InvEmbError(f"unknown meaning-decoder settings {sorted(unknown)} in {CONFIG_FILE}")
        return cls(**d)


class LoRALinear(nn.Module):
    """``base(x) + (alpha / r) * B A x`` with ``base`` frozen and B starting at zero (so training starts
    from the LM exactly as shipped)."""

    def __init__(self, base: nn.Linear, rank: int, alpha: float):
        super().__init__()
        self.base = base
        self.lora_a = nn.Parameter(torch.randn(rank, base.in_features) / math.sqrt(base.in_features))
        self.lora_b = nn.Parameter(torch.zeros(base.out_features, rank))
        self.scale = alpha / rank

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.base(x) + F.linear(F.linear(x, self.lora_a), self.lora_b) * self.scale


class PrefixMapper(nn.Module):
    """m (B, M) -> (B, k, W) pseudo-token embeddings, at the LM's own embedding scale."""

    def __init__(self, meaning_size: int, hidden: int, k: int, width: int, embed_rms: float):
        super().__init__()
        self.k, self.width = k, width
        self.net = nn.Sequential(nn.Linear(meaning_size, hidden), nn.GELU(), nn.Linear(hidden, k * width))
        self.norm = nn.LayerNorm(width)
        self.gain = nn.Parameter(torch.tensor(float(embed_rms)))

    def forward(self, m: torch.Tensor) -> torch.Tensor:
        u = m * math.sqrt(m.shape[-1])  # unit vectors -> ~1 per number
        return self.norm(self.net(u).view(-1, self.k, self.width)) * self.gain  # (B, k, W)


class MeaningDecoder(nn.Module):
    """Meaning vector (+ the small decoder's draft) -> English, through a frozen LM with adapters."""

    def __init__(self, cfg: LMDecoderConfig, lm, tokenizer):
        super().__init__()
        self.cfg, self.lm, self.tokenizer = cfg, lm, tokenizer
        lm.requires_grad_(False)
        width = lm.config.hidden_size
        embed = lm.get_input_embeddings().weight
        self.mapper = PrefixMapper(
            cfg.meaning_size, cfg.mapper_hidden, cfg.prefix_tokens, width, embed.detach().pow(2).mean().sqrt()
        )
        if cfg.lora_rank > 0:
            for layer in lm.model.layers:
                for parent in (layer.self_attn, layer.mlp):
                    for name in LORA_TARGETS:
                        if isinstance(getattr(parent, name, None), nn.Linear):
                            setattr(parent, name, LoRALinear(getattr(parent, name), cfg.lora_rank, cfg.lora_alpha))
        self.eos = tokenizer.eos_token_id
        self.sep_ids = tokenizer("\nSentence:", add_special_tokens=False)["input_ids"]
        self.draft_ids = tokenizer("Draft:", add_special_tokens=False)["input_ids"]

    @property
    def device(self) -> torch.device:
        """Where the LM's weights are (the CPU, or a GPU for ``invemb train-lm --device cuda``)."""
        return self.lm.get_input_embeddings().weight.device

    # ---- what trains and what is saved -----------------------------------------------------------

    def trained_state(self) -> dict[str, torch.Tensor]:
        """Only what training changes: the mapper and the adapters (never the LM's own weights)."""
        return {n: p.detach().contiguous() for n, p in self.named_parameters() if p.requires_grad}

    def save(self, directory: str | Path) -> None:
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        (directory / CONFIG_FILE).write_text(json.dumps(asdict(self.cfg), indent=2) + "\n")
        # bfloat16 on disk (half the size; training already runs its products in bfloat16)
        state = {n: t.to(device="cpu", dtype=torch.bfloat16) for n, t in self.trained_state().items()}
        save_file(state, str(directory / WEIGHTS_FILE))

    def load_trained(self, state: dict[str, torch.Tensor]) -> None:
        own = dict(self.named_parameters())
        wrong = sorted(set(state) ^ {n for n, p in own.items() if p.requires_grad})
        if wrong:
            raise InvEmbError(f"{WEIGHTS_FILE} does not fit this meaning decoder (first mismatches: {wrong[:3]})")
        with torch.no_grad():
            for name, value in state.items():
                own[name].copy_(value.to(own[name].dtype))

    @torch.no_grad()
    def for_inference(self) -> MeaningDecoder:
        """Fold the adapters into the LM's weights and run it in bfloat16 (no autocast casts per call): the
        same text as the adapted float32 model up to bfloat16 rounding, and nothing left to train."""
        for layer in self.lm.model.layers:
            for parent in (layer.self_attn, layer.mlp):
                for name in LORA_TARGETS:
                    module = getattr(parent, name, None)
                    if isinstance(module, LoRALinear):
                        module.base.weight += (module.lora_b @ module.lora_a) * module.scale
                        setattr(parent, name, module.base)
        self.requires_grad_(False)
        return self.to(torch.bfloat16).eval()

    # ---- the input layout --------------------------------------------------------------------------

    def prompt_ids(self, drafts: list[str] | None, n: int) -> list[list[int]]:
        """The ids after the prefix, per row: ``Draft: <h>`` (when the design reads drafts) and the separator."""
        if not self.cfg.draft:
            return [list(self.sep_ids) for _ in range(n)]
        if drafts is None or len(drafts) != n:
            raise InvEmbError("this meaning decoder reads the small decoder's draft: give one per vector")
        ids = self.tokenizer([" " + d for d in drafts], add_special_tokens=False)["input_ids"]
        return [self.draft_ids + row[: self.cfg.max_draft_tokens] + self.sep_ids for row in ids]

    def check_meaning(self, m: torch.Tensor) -> torch.Tensor:
        m = torch.as_tensor(m, dtype=torch.float32)
        m = m[None, :] if m.ndim == 1 else m
        if m.ndim != 2 or m.shape[1] != self.cfg.meaning_size:
            raise InvEmbError(
                f"the meaning decoder reads vectors of shape (N, {self.cfg.meaning_size}), got {tuple(m.shape)}"
            )
        return F.normalize(m, dim=-1).to(self.device)

    def embed_rows(
        self, m: torch.Tensor, rows: list[list[int]], *, left_pad: bool
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Prefix + token rows -> (B, T, W) input embeddings and the (B, T) attention mask, padded on the
        left for generation (every row ends where its first new piece goes) or on the right for training."""
        embed = self.lm.get_input_embeddings()
        prefix = self.mapper(m.to(embed.weight.dtype))  # (B, k, W)
        device = embed.weight.device
        seqs = [
            torch.cat([prefix[i], embed(torch.tensor(r, dtype=torch.long, device=device))]) for i, r in enumerate(rows)
        ]
        T = max(len(s) for s in seqs)
        if not left_pad:  # few distinct shapes: oneDNN builds its bfloat16 kernels once per shape
            T = -(-T // 16) * 16
        x = torch.stack([F.pad(s, (0, 0, T - len(s), 0) if left_pad else (0, 0, 0, T - len(s))) for s in seqs])
        mask = torch.zeros(len(seqs), T, dtype=torch.long, device=device)
        for i, s in enumerate(seqs):
            (mask[i, T - len(s) :] if left_pad else mask[i, : len(s)]).fill_(1)
        return x, mask  # (B, T, W), (B, T)

    # ---- training ----------------------------------------------------------------------------------

    def forward(self, m: torch.Tensor, targets: list[str], drafts: list[str] | None = None) -> torch.Tensor:
        """Mean cross-entropy per target piece (the sentence and its end) given the vector and draft."""
        m = self.check_meaning(m)
        prompts = self.prompt_ids(drafts, len(targets))
        answers = [r[: self.cfg.max_new_tokens - 1] + [self.eos] for r in self.tokenize_targets(targets)]
        rows = [p + a for p, a in zip(prompts, answers)]
        x, mask = self.embed_rows(m, rows, left_pad=False)
        h = self.lm.model(inputs_embeds=x, attention_mask=mask).last_hidden_state  # (B, T, W)
        k = self.cfg.prefix_tokens
        pos, gold = [], []
        for i, (p, a) in enumerate(zip(prompts, answers)):
            first = k + len(p) - 1  # the position whose output is the answer's first piece
            pos += [(i, first + j) for j in range(len(a))]
            gold += a
        index = torch.tensor(pos, device=h.device)
        logits = self.lm.lm_head(h[index[:, 0], index[:, 1]])  # (N, V): only the answer's positions
        return F.cross_entropy(logits.float(), torch.tensor(gold, device=h.device))

    def tokenize_targets(self, targets: list[str]) -> list[list[int]]:
        return self.tokenizer([" " + t for t in targets], add_special_tokens=False)["input_ids"]

    # ---- writing -----------------------------------------------------------------------------------

    @torch.no_grad()
    def generate(
        self,
        m: torch.Tensor,
        drafts: list[str] | None = None,
        *,
        temperature: float = 0.0,
        top_p: float = 1.0,
        seed: int | None = 0,
        draws: list[Draw] | None = None,
        max_new_tokens: int | None = None,
        batch_size: int = 128,
    ) -> list[str]:
        """Meaning vectors (N, M) (+ drafts) -> sentences: greedy at temperature 0, else a seeded sample;
        ``draws`` (one ``lm_generate.Draw`` per row) overrides the three for each row. Rows go through the
        LM ``batch_size`` at a time (``lm_generate.generate``: KV cache, loop guard, length limit)."""
        m = self.check_meaning(m)
        limit = min(max_new_tokens or self.cfg.max_new_tokens, self.cfg.max_new_tokens)
        draws = draws or [Draw(temperature, top_p, seed)] * m.shape[0]
        if len(draws) != m.shape[0]:
            raise InvEmbError(f"one draw per vector: {len(draws)} for {m.shape[0]} vectors")
        prompts = self.prompt_ids(drafts, m.shape[0])
        fixed = len(self.draft_ids) + len(self.sep_ids) if self.cfg.draft else len(self.sep_ids)
        limits = [limit if not self.cfg.draft else LENGTH_OVER_DRAFT * (len(p) - fixed) + LENGTH_SLACK for p in prompts]
        out: list[str] = []
        for start in range(0, m.shape[0], batch_size):
            part = slice(start, start + batch_size)
            x, mask = self.embed_rows(m[part], prompts[part], left_pad=True)
            rows = lm_generate.generate(
                self.lm,
                x,
                mask,
                draws[part],
                eos=self.eos,
                max_new_tokens=limit,
                no_repeat_ngram=self.cfg.no_repeat_ngram,
                limits=limits[part],
            )
            out += [self.tokenizer.decode(row, skip_special_tokens=True).strip() for row in rows]
        return out


def build(cfg: LMDecoderConfig, *, lm=None, tokenizer=None) -> MeaningDecoder:
    """A new meaning decoder over ``cfg.lm`` (or the ``lm``/``tokenizer`` given, e.g. a tiny test model)."""
    if lm is None:
        from .lm import load_lm

        lm, tokenizer = load_lm(cfg.lm)
        import copy

        lm = copy.deepcopy(lm)  # adapters are wrapped into the LM's layers: keep the cached one clean
    return MeaningDecoder(cfg, lm, tokenizer)


def has_meaning_decoder(directory: str | Path) -> bool:
    return (Path(directory) / CONFIG_FILE).is_file()


def describe(directory: str | Path) -> str:
    """One line on a checkpoint's meaning decoder, from its JSON alone (no weights read); "" if it has none."""
    path = Path(directory) / CONFIG_FILE
    if not path.is_file():
        return ""
    try:
        cfg = LMDecoderConfig.from_dict(json.loads(path.read_text()))
    except (ValueError, TypeError, InvEmbError):
        return f"{CONFIG_FILE} is unreadable: rows are written by the checkpoint's own decoder"
    lm = "SmolLM2-135M-Instruct" if cfg.lm == "smollm2" else cfg.lm
    how = "default decoding's" if cfg.draft_decoding == "default" else "greedy"
    reads = f"the vector and the checkpoint's own decoder's {how} text (its draft)" if cfg.draft else "the vector"
    guard = (
        f" Where its text lands more than {cfg.keep_draft_margin:g} further from the meaning (MiniLM cosine) "
        "than the draft, the row keeps the draft"
        + (
            ", unless the draft spells a word the checkpoint never read and the LM's text does not."
            if cfg.rewrite_invented
            else "."
        )
        if cfg.keep_draft_margin is not None and cfg.draft
        else ""
    )
    return (
        f"Meaning decoder: rows with no wording code are written by {lm} (frozen), reading {reads} through a "
        f"{cfg.prefix_tokens}-token prefix and rank-{cfg.lora_rank} adapters.{guard}"
    )


def load(directory: str | Path, *, lm=None, tokenizer=None, inference: bool = True) -> MeaningDecoder:
    """The meaning decoder saved in ``directory`` (``meaning_decoder.json`` + ``.safetensors``); by default
    ready to write (adapters folded in, bfloat16), ``inference=False`` to train it further."""
    directory = Path(directory)
    if not (directory / CONFIG_FILE).is_file():
        raise InvEmbError(f"{directory} has no {CONFIG_FILE}: it holds no meaning decoder")
    cfg = LMDecoderConfig.from_dict(json.loads((directory / CONFIG_FILE).read_text()))
    decoder = build(cfg, lm=lm, tokenizer=tokenizer)
    decoder.load_trained(load_file(str(directory / WEIGHTS_FILE)))
    return decoder.for_inference() if inference else decoder.eval()
