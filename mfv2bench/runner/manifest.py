"""The ``run.json`` manifest of a run folder: what produced the results (spec and its hash,
checkpoint digest, versions, git commit) and where and how (device, threads, workers, hardware,
times). A resumed run appends to ``runs``; the top level describes the folder as a whole."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path
from typing import Any

from ..hashing import file_sha256
from ..speed.manifest import cpu_model, gpu_info, package_versions
from ..threads import available_cores
from ..trackers.specs import ResolvedSpec

FORMAT_VERSION = 1
CONTENDED = "contended"
SEQUENTIAL = "sequential"


def utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


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
    import cv2  # already loaded: frames are decoded with it

    return {"python": sys.version.split()[0], "opencv": cv2.__version__, **package_versions()}


def hardware(devices: list[str]) -> dict[str, Any]:
    """CPU model and cores of this machine, and each CUDA device's GPU (name, memory, driver)."""
    return {"host": platform.node(), "os": platform.platform(), "cpu": cpu_model(),
            "logical_cores": os.cpu_count(), "cores_available": available_cores(),
            "gpus": {d: gpu_info(d) for d in devices if d.startswith("cuda")}}


def checkpoint_of(spec: ResolvedSpec) -> dict[str, Any] | None:
    """Path and sha256 of the spec's weights (None for trackers without a checkpoint)."""
    model = spec.model
    if model.get("random_weights"):
        return {"random_weights": True, "seed": model.get("seed", 0)}
    ckpt = model.get("checkpoint")
    if not ckpt:
        return None
    path = spec.resolve_path(ckpt)
    if not Path(path).is_file():
        return {"path": str(path), "sha256": None}
    return {"path": str(path), "sha256": file_sha256(str(path))}


def identity(manifest: dict[str, Any]) -> tuple[Any, Any]:
    """What must match for results to be mixed with new ones: spec hash and checkpoint digest."""
    ckpt = manifest.get("checkpoint") or {}
    return manifest.get("spec_hash"), ckpt.get("sha256") if isinstance(ckpt, dict) else None


def timing_label(workers: int, backend: str) -> str:
    """Per-frame times measured next to other workers share cores: never a tracker's speed."""
    return CONTENDED if workers > 1 or backend == "dask" else SEQUENTIAL
