"""Timings recorded by ``eval`` runs (``<seq>_time.txt``), labelled honestly: a run with several
parallel workers shares cores and memory bandwidth, so its timings are "contended" and are never
shown as the tracker's speed; a one-worker run's timings are "eval (sequential)" -- still not a
proper speed measurement (no warm-up, other jobs may run), so ``speed`` results are preferred."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError
from ..results.layout import TIME_SUFFIX, parse_run_folder
from ..results.manifest import CONTENDED
from ..results.readers import read_times
from ..results.store import ResultsStore
from .timing import summarize_ms

SEQUENTIAL = "eval (sequential)"
_WORKER_KEYS = ("workers", "n_workers", "n_jobs", "jobs", "processes")


def _workers(manifest: dict[str, Any]) -> int | None:
    """Worker count from the manifest, its ``runner`` table or a ``backend`` table."""
    holders = [manifest]
    for key in ("runner", "backend"):
        if isinstance(manifest.get(key), dict):
            holders.append(manifest[key])
    for holder in holders:
        for key in _WORKER_KEYS:
            value = holder.get(key)
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                return int(value)
    return None


def run_conditions(manifest: dict[str, Any]) -> str:
    """"contended" when the run had more than one worker (or a cluster backend), else
    "eval (sequential)"; unknown worker counts count as contended (never over-claim speed)."""
    label = manifest.get("timing")  # the runner's own label, where it wrote one
    if label == CONTENDED:
        return CONTENDED
    if label == "sequential":
        return SEQUENTIAL
    backend = manifest.get("backend")
    name = backend.get("name") if isinstance(backend, dict) else backend
    if isinstance(name, str) and name.lower() == "dask":
        return CONTENDED
    workers = _workers(manifest)
    if workers is None or workers > 1:
        return CONTENDED
    return SEQUENTIAL


def eval_timing_summary(run_dir: str | Path) -> dict[str, Any]:
    """FPS of one eval run folder (``results/<tracker>/<dataset>-<split>``) from its
    ``*_time.txt`` files: frame 0 excluded, frames / total time, with the run's conditions."""
    run_dir = Path(run_dir)
    results_dir, tracker, split_key = parse_run_folder(run_dir)
    manifest = ResultsStore(results_dir).read_manifest(tracker, split_key) or {}
    per_frame: list[np.ndarray] = []
    for path in sorted(run_dir.glob(f"*{TIME_SUFFIX}")):
        times = read_times(path)
        if times is not None and times.ndim == 1 and times.size > 1:
            per_frame.append(times[1:])
    if not per_frame:
        raise InputError(f"no timing files with tracked frames (*{TIME_SUFFIX})", path=run_dir)
    allt = np.concatenate(per_frame)
    total = float(allt.sum())
    stats = summarize_ms(np.clip(allt, 0.0, None) * 1e3)
    return {
        "run": str(run_dir),
        "conditions": run_conditions(manifest),
        "sequences": len(per_frame),
        "frames": int(allt.size),
        "track_s": total,
        "fps": allt.size / total if total > 0 else None,
        "per_frame_ms": stats.to_dict(),
        "note": "from an eval run: not shown as the tracker's speed (use `mfv2bench speed`)",
    }


def eval_timings_of(results_dir: str | Path, tracker: str | None = None) -> list[dict[str, Any]]:
    """``eval_timing_summary`` of every eval run folder of ``tracker`` (or of every tracker)
    holding ``*_time.txt`` files, with the tracker name."""
    out: list[dict[str, Any]] = []
    for row in ResultsStore(results_dir).runs():
        if tracker is not None and row["tracker"] != tracker:
            continue
        run = Path(row["path"])
        if any(run.glob(f"*{TIME_SUFFIX}")):
            out.append({"tracker": row["tracker"], **eval_timing_summary(run)})
    return out
