"""What a resumable training run keeps besides the model's weights, so that ``--resume`` continues exactly.

A run's state is three things: the weights in float32 (the checkpoint's own ``model.safetensors`` is
float16), the optimizer's moments and the RNG, all as named tensors; and the counters of where the
run is (step, epoch, batch within the epoch, seconds and tokens so far, the learning curve), as JSON.
``checkpoint.save`` writes the two next to the checkpoint (``trainer_state.safetensors`` / ``.json``) and
``checkpoint.read_trainer_state`` reads them back. This file turns a live run into that pair and back;
it is not the loop (train.py) and knows nothing of files.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import asdict, dataclass, field

import torch


@dataclass
class Progress:
    """Where a run is. ``batch_index``: batches of the current epoch already trained on (a resumed run
    skips them); ``elapsed``: seconds of training, summed over every sitting."""

    step: int = 0
    epoch: int = 0
    batch_index: int = 0
    elapsed: float = 0.0
    tokens_seen: int = 0
    history: list[dict] = field(default_factory=list)

    def to_info(self) -> dict:
        info = asdict(self)
        info["elapsed_seconds"] = info.pop("elapsed")  # the name runs saved so far use
        return info

    @classmethod
    def from_info(cls, info: dict) -> Progress:
        return cls(
            step=info["step"],
            epoch=info["epoch"],
            batch_index=info["batch_index"],
            elapsed=info["elapsed_seconds"],
            tokens_seen=info["tokens_seen"],
            history=info["history"],
        )


def snapshot(
    model: torch.nn.Module, optimizer: torch.optim.Optimizer, progress: Progress
) -> tuple[dict[str, torch.Tensor], dict]:
    """The run as (tensors, info): ``model.*`` weights, ``optim.<param>.<name>`` moments, ``rng``; the
    counters and the optimizer's param groups."""
    tensors = {f"model.{k}": v.detach().clone() for k, v in model.state_dict().items()}
    opt = optimizer.state_dict()
    for idx, state in opt["state"].items():
        for name, value in state.items():
            tensors[f"optim.{idx}.{name}"] = torch.as_tensor(value).clone()
    tensors["rng"] = torch.get_rng_state()
    return tensors, {**progress.to_info(), "param_groups": opt["param_groups"]}


def restore(
    model: torch.nn.Module, optimizer: torch.optim.Optimizer, tensors: dict[str, torch.Tensor], info: dict
) -> Progress:
    """Load a ``snapshot`` into ``model`` and ``optimizer``, set the RNG, and return the counters."""
    model.load_state_dict({k[6:]: v for k, v in tensors.items() if k.startswith("model.")})  # the fp32 copy
    state: dict[int, dict[str, torch.Tensor]] = {}
    for key, value in tensors.items():
        if key.startswith("optim."):
            _, idx, name = key.split(".", 2)
            state.setdefault(int(idx), {})[name] = value
    optimizer.load_state_dict({"state": state, "param_groups": info["param_groups"]})
    torch.set_rng_state(tensors["rng"])
    return Progress.from_info(info)


def weights_sha256(model: torch.nn.Module) -> str:
    """One hash of every weight (data-parallel ranks compare theirs at the end of a run)."""
    digest = hashlib.sha256()
    for key, value in sorted(model.state_dict().items()):
        digest.update(key.encode())
        digest.update(value.detach().contiguous().numpy().tobytes())
    return digest.hexdigest()


def warmup_cosine(step: int, *, peak: float, warmup: int, total: int) -> float:
    """Linear warm-up to ``peak``, then cosine decay to 10% of it at step ``total`` (both training loops)."""
    if step < warmup:
        return peak * (step + 1) / warmup
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    return peak * (0.1 + 0.9 * 0.5 * (1.0 + math.cos(math.pi * progress)))
