"""Data-parallel training under ``torchrun``: the few collective steps the training loop needs.

``invemb train`` launched by ``torchrun --nproc-per-node N`` (WORLD_SIZE > 1) trains with PyTorch DDP over
gloo: every rank builds the same batches and takes every world-th one, gradients are averaged, and rank 0
evaluates and saves. This file is that plumbing (joining the group, agreeing to stop, checking that every
rank ends with the same weights, leaving cleanly); ``train.py`` holds the loop. Single-process runs go
through the same calls, which then do nothing.
"""

from __future__ import annotations

import gc
import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

from .train_state import weights_sha256


@dataclass
class Group:
    rank: int = 0
    world: int = 1
    owns: bool = False  # whether this process created the group (and so destroys it at the end)

    @classmethod
    def join(cls) -> Group:
        """The process group ``torchrun`` describes (WORLD_SIZE), joined once; a single process otherwise."""
        if int(os.environ.get("WORLD_SIZE", "1")) <= 1:
            return cls()
        owns = not dist.is_initialized()
        if owns:
            dist.init_process_group("gloo")
        return cls(dist.get_rank(), dist.get_world_size(), owns)

    def wrap(self, model: torch.nn.Module) -> torch.nn.Module:
        """The module to call in training: DDP over the model when there are several ranks."""
        if self.world == 1:
            return model
        from torch.nn.parallel import DistributedDataParallel

        return DistributedDataParallel(model)

    def agree_to_stop(self, stop: bool) -> bool:
        """Under DDP every rank must stop at the same step: stop if any rank wants to."""
        if self.world == 1:
            return stop
        flag = torch.tensor([1 if stop else 0])
        dist.all_reduce(flag, op=dist.ReduceOp.MAX)
        return bool(flag.item())

    def finish(self, model: torch.nn.Module) -> dict:
        """Every rank's weight hash (they must agree), then leave the group if this process made it.

        The caller must drop its DDP wrapper first: the wrapper holds the group. A rank that exits with the
        group alive can abort at interpreter exit ("terminate called without an active exception")."""
        if self.world == 1:
            return {}
        hashes: list[str] = [""] * self.world
        dist.all_gather_object(hashes, weights_sha256(model))
        if self.owns:
            gc.collect()  # the wrapper's last references, before the group goes
            dist.barrier()
            dist.destroy_process_group()
        return {"ddp": {"world_size": self.world, "rank_weights_sha256": hashes}}
