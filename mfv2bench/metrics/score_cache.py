"""Cache of per-sequence scores beside a tracker's raw results.

Re-analysing unchanged results (a new table, another pair of trackers, a report) should not
re-read 700,000 boxes per tracker. The per-sequence curves and scores of one protocol are kept in
``.mfv2bench-scores-<protocol>.npz`` in the result folder, under a key made of the protocol hash,
a digest of the GT (boxes, visibility, cover, image sizes, sequence names) and the size and
modification time of every result and time file. Any change gives a new key: the cache is
recomputed, never trusted stale.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from mfv2bench import __version__
from mfv2bench.datasets.base import Sequence
from mfv2bench.hashing import stable_hash
from mfv2bench.metrics.engine import BatchScores
from mfv2bench.metrics.guard import DegenerateReport
from mfv2bench.metrics.protocols import MetricProtocol

CACHE_VERSION = 1
_ARRAYS = ("n_frames", "success", "precision", "norm_precision", "ao", "sr50", "sr75",
           "iou_sum", "speed_fps", "time_stats", "coverage")


def gt_digest(seqs: list[Sequence]) -> str:
    """Digest of everything about the GT that scores depend on."""
    h = hashlib.sha256()  # hardware-accelerated on current CPUs: ~2 GB/s
    for s in seqs:
        h.update(s.name.encode("utf-8") + b"\0")
        h.update(np.ascontiguousarray(s.gt, dtype=np.float64).tobytes())
        for extra in (s.visible, s.cover):
            h.update(b"|" if extra is None else
                     np.ascontiguousarray(extra, dtype=np.float64).tobytes())
        h.update(repr(s.image_size).encode("utf-8"))
    return h.hexdigest()[:32]


def cache_key(protocol: MetricProtocol, gt: str, files_signature: list, on_reject: str) -> str:
    return stable_hash({"v": CACHE_VERSION, "package": __version__, "protocol": protocol.hash,
                        "gt": gt, "files": files_signature, "on_reject": on_reject}, length=32)


def cache_path(folder: Path, protocol: MetricProtocol) -> Path:
    return Path(folder) / f".mfv2bench-scores-{protocol.name}.npz"


def load_scores(folder: Path, protocol: MetricProtocol, key: str
                ) -> tuple[BatchScores, DegenerateReport] | None:
    f = cache_path(folder, protocol)
    if not f.is_file():
        return None
    try:
        with np.load(f, allow_pickle=False) as z:
            meta = json.loads(bytes(z["meta"]).decode("utf-8"))
            if meta.get("key") != key:
                return None
            arrays = {k: (z[k] if k in z.files else None) for k in _ARRAYS}
    except (OSError, ValueError, KeyError):
        return None
    batch = BatchScores(protocol=protocol, names=meta["names"], rejected=meta["rejected"],
                        **arrays)
    guard = DegenerateReport(flags={k: dict(v) for k, v in meta["guard"]["flags"].items()},
                             n_sequences=meta["guard"]["n_sequences"])
    return batch, guard


def save_scores(folder: Path, protocol: MetricProtocol, key: str, batch: BatchScores,
                guard: DegenerateReport) -> None:
    folder = Path(folder)
    if not os.access(folder, os.W_OK):
        return
    meta: dict[str, Any] = {"key": key, "names": batch.names, "rejected": batch.rejected,
                            "guard": guard.to_dict()}
    arrays = {k: getattr(batch, k) for k in _ARRAYS if getattr(batch, k) is not None}
    target = cache_path(folder, protocol)
    tmp = target.with_name(f"{target.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as fh:
            np.savez(fh, meta=np.frombuffer(json.dumps(meta).encode("utf-8"), dtype=np.uint8),
                     **arrays)
        os.replace(tmp, target)
    except OSError:
        try:
            tmp.unlink()
        except OSError:
            pass
