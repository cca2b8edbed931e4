"""Checkpoints: a directory with ``config.json`` and ``model.safetensors`` (+ optional trainer state).

``config.json`` holds the model config, the training config, where the tokenizer and embeddings come
from, the vocabulary (which tokenizer ids the model covers, with a fingerprint), and the metrics at save
time. Frozen pretrained embeddings are not saved: they are rebuilt from their source and checked
against a recorded sha256. Weights are stored as fp16 (they are trained in fp32). Loading never unpickles
anything. Saving writes a sibling temporary directory and renames it into place, so a crash leaves the
previous checkpoint intact.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from .autoencoder import Autoencoder, build_embeddings
from .config import DecodeConfig, ModelConfig, from_dict
from .data import read_sentences
from .errors import InvEmbError
from .language import Language, is_language_checkpoint
from .lexicon import build_words, save_words
from .text import TextCodec, Vocabulary, embedding_fingerprint, load_word_pieces, resolve_model_dir

FORMAT_VERSION = 1
CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"
TRAINER_FILE = "trainer_state.safetensors"
TRAINER_JSON = "trainer_state.json"


# What ``save`` writes from the model itself; every other key of config.json is the checkpoint's info.
STRUCTURE = ("format_version", "model", "tokenizer_source", "vocab", "embedding_sha256", "path")


def default_checkpoint_dir() -> Path:
    """$INVEMB_CHECKPOINTS, else the repository's ``checkpoints/`` folder."""
    env = os.environ.get("INVEMB_CHECKPOINTS")
    return Path(env) if env else Path(__file__).resolve().parent.parent / "checkpoints"


DEFAULT_NAME = "default"


def _old(directory: Path) -> Path:
    """Where ``save`` parks the previous checkpoint while it renames the new one into place."""
    return directory.with_name(directory.name + ".old")


def list_checkpoints(root: str | Path | None = None) -> list[Path]:
    """Every directory under ``root`` that has a config.json, default first."""
    root = Path(root) if root else default_checkpoint_dir()
    found = sorted(p for p in root.glob("*") if (p / CONFIG_FILE).is_file())
    return sorted(found, key=lambda p: p.name != DEFAULT_NAME)


def save(
    ae: Autoencoder,
    directory: str | Path,
    *,
    metrics: dict | None = None,
    train_config: dict | None = None,
    trainer_state: dict[str, torch.Tensor] | None = None,
    trainer_info: dict | None = None,
    extra_files: dict[str, Path] | None = None,
) -> Path:
    """Write ``ae`` to ``directory`` atomically; returns the directory."""
    directory = Path(directory)
    tmp = directory.with_name(directory.name + ".tmp")
    old = _old(directory)
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    state = {k: v.detach().to(torch.float16).contiguous() for k, v in ae.model.state_dict().items()}
    save_file(state, str(tmp / WEIGHTS_FILE), metadata={"format": "invemb", "version": str(FORMAT_VERSION)})
    info = dict(ae.info)
    if metrics is not None:
        info["metrics"] = metrics
    if train_config is not None:
        info["train_config"] = train_config
    config = {
        "format_version": FORMAT_VERSION,
        "model": ae.config.to_dict(),
        "tokenizer_source": ae.config.embedding_source,
        "vocab": {**ae.codec.vocab.to_dict(), "sha256": ae.codec.vocab_fingerprint(), "size": ae.codec.vocab.size},
        "embedding_sha256": embedding_fingerprint(ae.model.token_embeddings) if ae.config.freeze_embeddings else None,
        **{k: v for k, v in info.items() if k not in ("path",)},
    }
    (tmp / CONFIG_FILE).write_text(json.dumps(config, indent=2))
    if trainer_state is not None:
        save_file({k: v.contiguous() for k, v in trainer_state.items()}, str(tmp / TRAINER_FILE))
        (tmp / TRAINER_JSON).write_text(json.dumps(trainer_info or {}, indent=2))
    for name, src in (extra_files or {}).items():
        if Path(src).is_file():
            shutil.copy2(src, tmp / name)
    for f in tmp.iterdir():  # durable before the rename makes it visible
        with open(f, "rb") as fh:
            os.fsync(fh.fileno())
    shutil.rmtree(old, ignore_errors=True)
    if directory.exists():
        directory.rename(old)
    tmp.rename(directory)
    shutil.rmtree(old, ignore_errors=True)
    return directory


def record_metrics(directory: str | Path, name: str, metrics: dict) -> Path:
    """Add (or replace) ``metrics`` as ``name`` among a saved checkpoint's figures (``config.json``'s
    "metrics", which the app's Model page shows); the weights are not touched. Written to a sibling file
    and renamed into place, so a kill leaves the old config or the new one."""
    directory = _resolve(directory)
    config = read_config(directory)
    config.setdefault("metrics", {})[name] = metrics
    path = directory / CONFIG_FILE
    tmp = path.with_name(CONFIG_FILE + ".tmp")
    tmp.write_text(json.dumps(config, indent=2))
    os.replace(tmp, path)
    return path


def recover(directory: str | Path) -> None:
    """If a save was killed between its two renames, put the previous checkpoint back in place."""
    directory = Path(directory)
    old = _old(directory)
    if not directory.exists() and old.is_dir():
        old.rename(directory)


def _resolve(path: str | Path | None) -> Path:
    directory = Path(path) if path is not None else default_checkpoint_dir() / DEFAULT_NAME
    if not directory.exists():
        old = _old(directory)
        if old.is_dir():  # a save was interrupted between its two renames
            return old
        hint = "" if path is not None else " (the shipped default; was the repository cloned with checkpoints/?)"
        raise InvEmbError(f"checkpoint directory not found: {directory}{hint}")
    if not directory.is_dir():
        raise InvEmbError(f"{directory} is a file; a checkpoint is a directory with {CONFIG_FILE} and {WEIGHTS_FILE}")
    return directory


def read_config(directory: str | Path) -> dict[str, Any]:
    path = Path(directory) / CONFIG_FILE
    if not path.is_file():
        raise InvEmbError(f"{path} is missing: not an InvEmb checkpoint directory")
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise InvEmbError(f"{path} is not valid JSON ({e})") from e
    if not isinstance(config, dict) or "model" not in config or "vocab" not in config:
        raise InvEmbError(f"{path} lacks the 'model' and 'vocab' sections of an InvEmb checkpoint")
    return config


def read_weights(path: Path) -> dict[str, torch.Tensor]:
    if not path.is_file():
        raise InvEmbError(f"{path} is missing")
    try:
        return load_file(str(path))  # safetensors: a header and raw bytes, never executable
    except (SafetensorError, OSError, ValueError, RuntimeError) as e:
        raise InvEmbError(f"{path} is not a readable safetensors file (truncated or not safetensors?): {e}") from e


def load(path: str | Path | None = None) -> Autoencoder:
    """Load a checkpoint directory (default: the shipped ``checkpoints/default``). A language checkpoint
    (a directory with ``language.json``, e.g. ``checkpoints/de``) loads as a ``language.Language``.

    Raises:
        InvEmbError: naming the file and the problem, if the directory, its config, its weights, or its
            vocabulary / embeddings do not match what it says.
    """
    directory = _resolve(path)
    if is_language_checkpoint(directory):
        return Language.load(directory)  # type: ignore[return-value]
    config = read_config(directory)
    cfg_path = directory / CONFIG_FILE
    try:
        cfg = from_dict(ModelConfig, config["model"])
    except (InvEmbError, TypeError) as e:
        raise InvEmbError(f"{cfg_path}: bad model config: {e}") from e
    model_dir = resolve_model_dir(cfg.embedding_source)
    tokenizer = load_word_pieces(model_dir)
    try:
        vocab = Vocabulary.from_dict(config["vocab"], len(tokenizer))
    except (KeyError, TypeError, ValueError) as e:
        raise InvEmbError(f"{cfg_path}: bad vocab section: {e}") from e
    if max(vocab.token_ids) >= len(tokenizer):
        raise InvEmbError(f"{cfg_path}: the vocabulary has ids beyond the tokenizer of {model_dir}")
    codec = TextCodec(model_dir, vocab, max_length=cfg.max_length)
    if config["vocab"].get("sha256") not in (None, codec.vocab_fingerprint()):
        raise InvEmbError(f"{cfg_path}: the vocabulary does not match the tokenizer of {model_dir}")
    weights = read_weights(directory / WEIGHTS_FILE)
    if cfg.freeze_embeddings:
        embeddings = build_embeddings(cfg, model_dir, vocab)
        expected = config.get("embedding_sha256")
        if expected and embedding_fingerprint(embeddings) != expected:
            raise InvEmbError(f"{cfg_path}: the token embeddings of {model_dir} differ from those it was trained with")
    else:
        if "token_embeddings" not in weights:
            raise InvEmbError(f"{directory / WEIGHTS_FILE} lacks its trainable token_embeddings")
        embeddings = weights["token_embeddings"].float()
    model = Autoencoder.make_model(cfg, codec, embeddings)
    try:
        model.load_state_dict({k: v.float() for k, v in weights.items()}, strict=True)
    except RuntimeError as e:
        raise InvEmbError(f"{directory / WEIGHTS_FILE} does not fit the architecture in {cfg_path}: {e}") from e
    info = {k: v for k, v in config.items() if k not in STRUCTURE}  # every record, kept whole for the next save
    if "decoding" in info:
        try:
            DecodeConfig(**info["decoding"])
        except (InvEmbError, TypeError) as e:
            raise InvEmbError(f"{cfg_path}: bad default decoding {info['decoding']!r}: {e}") from e
    info["path"] = str(directory)
    return Autoencoder(model, codec, cfg, info=info)


def read_trainer_state(directory: str | Path) -> tuple[dict[str, torch.Tensor], dict]:
    directory = Path(directory)
    tensors = read_weights(directory / TRAINER_FILE)
    try:
        info = json.loads((directory / TRAINER_JSON).read_text())
    except (OSError, json.JSONDecodeError) as e:
        raise InvEmbError(f"{directory / TRAINER_JSON} is unreadable: {e}") from e
    return tensors, info


# What a changed architecture may not change: they define the vocabulary and the vector's meaning part.
FIXED_AT_INIT = ("embedding_source", "freeze_embeddings", "output_vocab", "meaning")


def load_as(path: str | Path, overrides: dict[str, Any], *, log=print) -> Autoencoder:
    """A saved checkpoint's weights in a model whose architecture differs by ``overrides`` (ModelConfig
    keys): every weight whose name and shape still fit is kept, the rest start fresh. The decoder's
    weights are all fresh when ``decoder_cell`` changes (another kind of decoder shares names only by
    accident). How ``invemb train --init-from DIR --decoder-cell pretrained ...`` swaps a decoder.

    Raises:
        InvEmbError: if an override would change the vocabulary or the meaning part.
    """
    ae = load(path)
    fixed = sorted(k for k in overrides if k in FIXED_AT_INIT and overrides[k] != getattr(ae.config, k))
    if fixed:
        raise InvEmbError(f"--init-from {path}: {', '.join(fixed)} cannot change when starting from a checkpoint")
    cfg = from_dict(ModelConfig, {**ae.config.to_dict(), **overrides})
    model = Autoencoder.make_model(cfg, ae.codec, ae.model.token_embeddings.detach())
    fresh_decoder = cfg.decoder_cell != ae.config.decoder_cell
    ours = model.state_dict()
    kept = {
        k: v
        for k, v in ae.model.state_dict().items()
        if k in ours and v.shape == ours[k].shape and not (fresh_decoder and k.startswith("decoder."))
    }
    model.load_state_dict(kept, strict=False)
    new = sorted({k.rsplit(".", 1)[0] for k in ours if k not in kept})
    log(f"started from {path}: kept {len(kept)} of {len(ours)} tensors; new: {', '.join(new) or 'none'}")
    return Autoencoder(model, ae.codec, cfg, info=ae.info)


def write_lexicon(
    directory: str | Path | None, *, data: Sequence[str] | None = None, word_list: str | None = None, min_count: int = 2
) -> tuple[Path, int]:
    """Build a checkpoint's lexicon from the corpora it was trained on (``data``: other corpus specs) and
    an optional word list file, and write it into the checkpoint. Returns the file and its word count."""
    ae = load(directory)
    specs = list(data or (ae.info.get("train_config") or {}).get("train_data") or ["multi30k:train"])
    extra: list[str] = []
    if word_list:
        try:
            extra = Path(word_list).read_text(encoding="utf-8", errors="replace").split()
        except OSError as e:
            raise InvEmbError(f"cannot read the word list {word_list}: {e}") from e
    texts = (s for spec in dict.fromkeys(specs) for s in read_sentences(spec))
    words = build_words(ae.codec, texts, min_count=min_count, word_list=extra)
    return save_words(ae.info["path"], words), len(words)
