"""The ``run.json`` manifest format of a run folder: what produced the results (spec and its
hash, checkpoint digest, versions, git commit) and where and how (device, threads, workers,
hardware, times). A resumed run appends to ``runs``; the top level describes the folder as a
whole. This module owns the format's constants and accessors; the store reads and writes the
file, the runner fills it (provenance from ``mfv2bench.provenance``)."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

FORMAT_VERSION = 1
# how per-frame times were measured: next to other workers (never a tracker's speed) or alone
CONTENDED = "contended"
SEQUENTIAL = "sequential"


def utc_now() -> str:
    """Now, as the manifest writes times (UTC, ISO 8601, seconds)."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def checkpoint_section(manifest: dict[str, Any] | None) -> dict[str, Any]:
    """The manifest's ``checkpoint`` section ({} when absent, None or not a mapping)."""
    ckpt = (manifest or {}).get("checkpoint")
    return ckpt if isinstance(ckpt, dict) else {}


def random_weights(manifest: dict[str, Any] | None) -> bool:
    """True when the run's network had random weights (a latency-only spec): such results carry
    no accuracy and are kept out of leaderboards and flagged in tables and reports."""
    return bool(checkpoint_section(manifest).get("random_weights"))


def identity(manifest: dict[str, Any]) -> tuple[Any, Any]:
    """What must match for results to be mixed with new ones: spec hash and checkpoint digest."""
    return manifest.get("spec_hash"), checkpoint_section(manifest).get("sha256")


def timing_label(workers: int, backend: str) -> str:
    """Per-frame times measured next to other workers share cores: never a tracker's speed."""
    return CONTENDED if workers > 1 or backend == "dask" else SEQUENTIAL
