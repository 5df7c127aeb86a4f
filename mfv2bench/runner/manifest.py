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

from .. import __version__
from ..hashing import file_sha256
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


def library_versions(kind: str) -> dict[str, str | None]:
    """Versions that change a tracker's output or speed (torch only imported for torch trackers)."""
    out: dict[str, str | None] = {"python": sys.version.split()[0], "mfv2bench": __version__}
    import numpy

    out["numpy"] = numpy.__version__
    try:
        import cv2

        out["opencv"] = cv2.__version__
    except ImportError:  # pragma: no cover
        out["opencv"] = None
    if kind != "opencv" or "torch" in sys.modules:
        try:
            import torch

            out["torch"] = torch.__version__
        except ImportError:  # pragma: no cover
            out["torch"] = None
    return out


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def gpu_names(devices: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    cuda = [d for d in devices if d.startswith("cuda")]
    if cuda:
        import torch

        for d in cuda:
            out[d] = torch.cuda.get_device_name(torch.device(d))
    return out


def hardware(devices: list[str]) -> dict[str, Any]:
    return {"host": platform.node(), "os": platform.platform(), "cpu": cpu_model(),
            "logical_cores": os.cpu_count(), "cores_available": available_cores(),
            "gpus": gpu_names(devices)}


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
