"""Whether a device runs bfloat16 natively: bf16 autocast training is offered where it is (on
the CPU: the avx512_bf16 or amx_bf16 instructions; on CUDA: what torch reports), refused with
a clear error elsewhere unless forced (emulated bf16 is slower than float32)."""

from __future__ import annotations

from functools import lru_cache

import torch

from ..devices import cpu_features, is_cuda
from ..errors import ConfigError

NATIVE_CPU_FLAGS = ("avx512_bf16", "amx_bf16")


@lru_cache(maxsize=1)
def cpu_flags() -> frozenset[str]:
    """The CPU's feature flags (the one probe: ``devices.cpu_features``; empty where unknown)."""
    return cpu_features().flags


def native_bf16(device: str) -> bool:
    """True if ``device`` computes bfloat16 in hardware."""
    if is_cuda(device):
        return bool(torch.cuda.is_available() and torch.cuda.is_bf16_supported())
    return any(f in cpu_flags() for f in NATIVE_CPU_FLAGS)


def check_precision(precision: str, device: str, force: bool = False, where: str = "") -> None:
    """ConfigError for bf16 on a device without native bf16, unless ``force``."""
    if precision != "bf16" or force or native_bf16(device):
        return
    what = (f"CPU flags: none of {', '.join(NATIVE_CPU_FLAGS)}" if not is_cuda(device)
            else "torch.cuda.is_bf16_supported() is False")
    raise ConfigError(f"{where + ': ' if where else ''}precision = \"bf16\" asked for, but {device} "
                      f"has no native bfloat16 ({what}); emulated bf16 is slower than fp32. Use "
                      "precision = \"fp32\", or --force-bf16 to train in bf16 anyway")
