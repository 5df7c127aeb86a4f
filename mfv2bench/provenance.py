"""Provenance of a result or a timing: the machine (CPU model, cores, GPU and driver, load), the
software (library versions, the package's git commit). A latency means nothing without the CPU
model, cores and threads used, GPU and driver, library versions, precision and runtime; a run
manifest records the same so that results can be traced to what produced them.

A core module: it imports nothing of the package but threads and devices (torch and cv2 only
when asked).
"""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
import sys
from datetime import datetime, timezone
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import Any

from . import __version__
from .devices import is_cuda
from .threads import available_cores

_PACKAGES = ("torch", "numpy", "opencv-contrib-python-headless", "onnxruntime", "onnx")


def cpu_model() -> str:
    """The CPU's marketing name (``/proc/cpuinfo`` on Linux, ``platform`` elsewhere)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def package_versions() -> dict[str, str | None]:
    """Installed versions of the libraries that change timings (None where not installed)."""
    out: dict[str, str | None] = {}
    for name in _PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    out["mfv2bench"] = __version__
    return out


def gpu_info(device: str) -> dict[str, Any] | None:
    """Name, memory, capability and driver of the GPU behind ``device`` (None on the CPU)."""
    if not is_cuda(device):
        return None
    import torch

    dev = torch.device(device)
    props = torch.cuda.get_device_properties(dev)
    info: dict[str, Any] = {
        "name": props.name,
        "memory_gib": round(props.total_memory / 2**30, 2),
        "capability": f"{props.major}.{props.minor}",
        "multiprocessors": props.multi_processor_count,
        "cuda_runtime": torch.version.cuda,
        "cudnn": torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else None,
        "driver": None,
    }
    smi = shutil.which("nvidia-smi")
    if smi:
        try:
            res = subprocess.run(
                [smi, "--query-gpu=driver_version", "--format=csv,noheader",
                 f"--id={dev.index or 0}"], capture_output=True, text=True, timeout=10)
            if res.returncode == 0:
                info["driver"] = res.stdout.strip() or None
        except (OSError, subprocess.SubprocessError):
            pass
    return info


def load_average() -> list[float] | None:
    """1/5/15-minute load averages: a busy machine slows every timing down."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except (OSError, AttributeError):
        return None


def hardware_manifest(device: str = "cpu", threads: int | None = None,
                      precision: str = "fp32", runtime: str | None = None,
                      weights: str | None = None) -> dict[str, Any]:
    """Everything needed to interpret one timing on this machine, as plain JSON data."""
    torch_threads = None
    try:
        import torch

        torch_threads = torch.get_num_threads()
    except ImportError:  # pragma: no cover
        pass
    cores = available_cores()
    return {
        "time_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "host": platform.node(),
        "os": platform.platform(),
        "python": sys.version.split()[0],
        "cpu": {
            "model": cpu_model(),
            "logical_cores": os.cpu_count(),
            "cores_available": cores,
            "threads_used": threads if threads is not None else torch_threads,
            "torch_threads": torch_threads,
        },
        "gpu": gpu_info(device),
        "device": device,
        "precision": precision,
        "runtime": runtime,
        "weights": weights,
        "packages": package_versions(),
        "load_average": load_average(),
        "busy": _is_busy(cores),
    }


def _is_busy(cores: int) -> bool | None:
    """True when the 1-minute load average already exceeds the cores available (noisy timing)."""
    load = load_average()
    if load is None:
        return None
    return load[0] > cores


@lru_cache(maxsize=1)
def git_commit() -> str | None:
    """The package checkout's commit (None outside a git checkout)."""
    here = Path(__file__).resolve().parent
    try:
        res = subprocess.run(["git", "rev-parse", "HEAD"], cwd=here, capture_output=True,
                             text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    return res.stdout.strip() or None if res.returncode == 0 else None


def library_versions() -> dict[str, str | None]:
    """Python and the installed versions of the libraries that change outputs or speed."""
    import cv2  # already loaded where frames are decoded; heavy for a core module otherwise

    return {"python": sys.version.split()[0], "opencv": cv2.__version__, **package_versions()}


def hardware(devices: list[str]) -> dict[str, Any]:
    """CPU model and cores of this machine, and each CUDA device's GPU (name, memory, driver)."""
    return {"host": platform.node(), "os": platform.platform(), "cpu": cpu_model(),
            "logical_cores": os.cpu_count(), "cores_available": available_cores(),
            "gpus": {d: gpu_info(d) for d in devices if is_cuda(d)}}
