"""Per-sequence scores of one protocol cached beside a tracker's raw results.

The cache mechanism (key, file, atomic write) is the results layer's
(``mfv2bench.results.score_cache``); this module only turns ``BatchScores`` and the guard's
``DegenerateReport`` into its metadata and arrays and back.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mfv2bench.datasets.base import Sequence
from mfv2bench.metrics.engine import BatchScores
from mfv2bench.metrics.guard import DegenerateReport
from mfv2bench.metrics.protocols import MetricProtocol
from mfv2bench.results import score_cache as cache

_ARRAYS = ("n_frames", "success", "precision", "norm_precision", "ao", "sr50", "sr75",
           "iou_sum", "speed_fps", "time_stats", "coverage", "run_values")


def gt_digest(seqs: list[Sequence]) -> str:
    """Digest of everything about the GT that scores depend on."""
    return cache.gt_digest((s.name, s.gt, s.visible, s.cover, s.image_size) for s in seqs)


def cache_key(protocol: MetricProtocol, gt: str, files_signature: list, on_reject: str) -> str:
    return cache.cache_key(protocol.hash, gt, files_signature, on_reject)


def cache_path(folder: Path, protocol: MetricProtocol) -> Path:
    return cache.cache_path(folder, protocol.name)


def load_scores(folder: Path, protocol: MetricProtocol, key: str
                ) -> tuple[BatchScores, DegenerateReport] | None:
    hit = cache.load_cached(cache_path(folder, protocol), key, _ARRAYS)
    if hit is None:
        return None
    meta, arrays = hit
    if "length_notes" not in meta:
        return None  # written before length rules were noted: score again
    batch = BatchScores(protocol=protocol, names=meta["names"], rejected=meta["rejected"],
                        length_notes=meta["length_notes"], **arrays)
    guard = DegenerateReport(flags={k: dict(v) for k, v in meta["guard"]["flags"].items()},
                             n_sequences=meta["guard"]["n_sequences"])
    return batch, guard


def save_scores(folder: Path, protocol: MetricProtocol, key: str, batch: BatchScores,
                guard: DegenerateReport) -> None:
    meta: dict[str, Any] = {"names": batch.names, "rejected": batch.rejected,
                            "length_notes": batch.length_notes, "guard": guard.to_dict()}
    arrays = {k: getattr(batch, k) for k in _ARRAYS if getattr(batch, k) is not None}
    cache.save_cached(cache_path(folder, protocol), key, meta, arrays)
