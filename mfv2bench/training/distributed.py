"""Several processes training one stage (``torchrun --nproc_per_node N -m mfv2bench.cli train``):
the process group from torchrun's environment (WORLD_SIZE, RANK, LOCAL_RANK, MASTER_ADDR/PORT),
gloo on the CPU and nccl on CUDA (each process on ``cuda:LOCAL_RANK``), and the few collectives
the loop needs. Each process computes the same deterministic batch and takes its shard; only
rank 0 writes logs, checkpoints and sidecars.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

from ..devices import is_cuda
from ..errors import ConfigError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DistInfo:
    """This process's place in the group (world 1: a plain single-process run)."""

    rank: int = 0
    world: int = 1
    local_rank: int = 0
    device: str = "cpu"
    created: bool = False  # this module set the group up (and tears it down)

    @property
    def main(self) -> bool:
        return self.rank == 0

    @property
    def active(self) -> bool:
        return self.world > 1


SINGLE = DistInfo()


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "")
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"environment variable {name}={raw!r} is not an integer") from None


def setup(device: str = "cpu") -> DistInfo:
    """The process group when launched by torchrun (WORLD_SIZE > 1), else a single process on
    ``device``. Under torchrun pass ``cpu`` or ``cuda`` (each rank takes ``cuda:LOCAL_RANK``)."""
    world = _env_int("WORLD_SIZE", 1)
    if world <= 1:
        return DistInfo(device=device)
    rank, local = _env_int("RANK", 0), _env_int("LOCAL_RANK", 0)
    if is_cuda(device):
        if device != "cuda":
            raise ConfigError(f"--device {device}: under torchrun pass --device cuda (each "
                              "process then uses cuda:LOCAL_RANK)")
        device = f"cuda:{local}"
        torch.cuda.set_device(local)
        backend = "nccl"
    else:
        backend = "gloo"
    created = False
    if not dist.is_initialized():
        dist.init_process_group(backend, rank=rank, world_size=world)
        created = True
    log.info("distributed training: rank %d of %d (%s, %s)", rank, world, backend, device)
    return DistInfo(rank, world, local, device, created)


def teardown(info: DistInfo) -> None:
    """Destroy the group if ``setup`` made it."""
    if info.created and dist.is_initialized():
        dist.destroy_process_group()


def barrier(info: DistInfo) -> None:
    """Wait for every process (no-op alone)."""
    if info.active:
        dist.barrier()


def broadcast_float(value: float, info: DistInfo) -> float:
    """Rank 0's ``value`` on every process (what all ranks must agree on: the time used, from
    which the budget, the learning rate and the pruning schedule follow)."""
    if not info.active:
        return value
    t = torch.tensor([value], dtype=torch.float64, device=info.device)
    dist.broadcast(t, src=0)
    return float(t.item())


def shard(n: int, info: DistInfo) -> torch.Tensor:
    """Rows of a batch of ``n`` this process trains on (every ``world``-th, from ``rank``)."""
    if n % info.world:
        raise ConfigError(f"batch {n} does not split evenly over {info.world} processes")
    return torch.arange(info.rank, n, info.world)
