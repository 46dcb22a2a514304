"""One process or many: ``torchrun --nproc_per_node N`` runs the same command under
:class:`~torch.nn.parallel.DistributedDataParallel` (gloo on CPU, NCCL on GPU).

torchrun sets ``RANK``, ``WORLD_SIZE`` and ``LOCAL_RANK``; without them the run is a single
process and nothing here touches :mod:`torch.distributed`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
from torch import Tensor

__all__ = ["DistInfo", "setup", "teardown", "all_reduce_sum", "broadcast_object", "barrier"]


@dataclass(frozen=True)
class DistInfo:
    """Where this process stands: ``rank`` of ``world_size``, its device."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    device: torch.device = torch.device("cpu")

    @property
    def distributed(self) -> bool:
        return self.world_size > 1

    @property
    def main(self) -> bool:
        return self.rank == 0


def setup(device: str | None = None) -> DistInfo:
    """Initialise the process group when launched by torchrun (env ``WORLD_SIZE`` > 1).

    ``device``: ``"cpu"``, ``"cuda"`` or None (CUDA when available). Each rank uses GPU
    ``LOCAL_RANK``; the backend is NCCL on GPU and gloo on CPU."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local = int(os.environ.get("LOCAL_RANK", "0"))
    if device is None:
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device not in ("cpu", "cuda"):
        raise ValueError(f"device must be 'cpu' or 'cuda' (got {device!r})")
    if device == "cuda":
        if not torch.cuda.is_available():
            raise RuntimeError("device='cuda' but CUDA is not available")
        torch.cuda.set_device(local)
        dev = torch.device("cuda", local)
    else:
        dev = torch.device("cpu")
    if world > 1 and not torch.distributed.is_initialized():
        torch.distributed.init_process_group("nccl" if device == "cuda" else "gloo")
    return DistInfo(rank, world, local, dev)


def teardown(info: DistInfo) -> None:
    """Destroy the process group (if this run created one)."""
    if info.distributed and torch.distributed.is_initialized():
        torch.distributed.destroy_process_group()


def all_reduce_sum(info: DistInfo, values: Tensor) -> Tensor:
    """Sum ``values`` over ranks (returns ``values`` unchanged in a single process)."""
    if info.distributed:
        values = values.clone()
        torch.distributed.all_reduce(values)
    return values


def broadcast_object(info: DistInfo, obj):
    """``obj`` of rank 0 on every rank."""
    if not info.distributed:
        return obj
    box = [obj]
    torch.distributed.broadcast_object_list(box, src=0)
    return box[0]


def barrier(info: DistInfo) -> None:
    if info.distributed:
        torch.distributed.barrier()
