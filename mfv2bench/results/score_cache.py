"""Keyed array caches beside a tracker's raw results (the per-sequence score cache).

Re-analysing unchanged results (a new table, another pair of trackers, a report) should not
re-read 700,000 boxes per tracker. What was computed from one result folder is kept in
``.mfv2bench-scores-<name>.npz`` in that folder, under a key made of the protocol hash, a digest
of the GT (boxes, visibility, cover, image sizes, sequence names) and a digest of the bytes of
every result and time file (``ResultFiles.signature``: an edit that keeps size and mtime still
changes it). Any change gives a new key: the cache is recomputed, never trusted stale. This module knows keys, JSON metadata and arrays only; turning them into scores
is the metrics layer's business.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
from pathlib import Path
from typing import Any, Iterable

import numpy as np

from .. import __version__
from ..hashing import stable_hash
from .atomic import atomic_write

CACHE_VERSION = 2  # 2: file signatures are content digests
SCORE_CACHE_PREFIX = ".mfv2bench-scores-"

# one sequence's GT as plain data: name, (N,4) boxes, visibility, cover, image size
GtEntry = tuple[str, np.ndarray, "np.ndarray | None", "np.ndarray | None", Any]


def gt_digest(entries: Iterable[GtEntry]) -> str:
    """Digest of everything about the GT that scores depend on."""
    h = hashlib.sha256()  # hardware-accelerated on current CPUs: ~2 GB/s
    for name, gt, visible, cover, image_size in entries:
        h.update(name.encode("utf-8") + b"\0")
        h.update(np.ascontiguousarray(gt, dtype=np.float64).tobytes())
        for extra in (visible, cover):
            h.update(b"|" if extra is None else
                     np.ascontiguousarray(extra, dtype=np.float64).tobytes())
        h.update(repr(image_size).encode("utf-8"))
    return h.hexdigest()[:32]


def cache_key(protocol_hash: str, gt: str, files_signature: list, on_reject: str) -> str:
    """The key under which scores of these files, this GT and this protocol are kept."""
    return stable_hash({"v": CACHE_VERSION, "package": __version__, "protocol": protocol_hash,
                        "gt": gt, "files": files_signature, "on_reject": on_reject}, length=32)


def cache_path(folder: str | Path, name: str) -> Path:
    """``<folder>/.mfv2bench-scores-<name>.npz`` (``name``: the protocol's)."""
    return Path(folder) / f"{SCORE_CACHE_PREFIX}{name}.npz"


def load_cached(path: str | Path, key: str, array_names: Iterable[str]
                ) -> tuple[dict[str, Any], dict[str, np.ndarray | None]] | None:
    """The metadata and arrays stored under ``key`` (an absent array is None); None when the
    file is absent, damaged or holds another key."""
    f = Path(path)
    if not f.is_file():
        return None
    try:
        with np.load(f, allow_pickle=False) as z:
            meta = json.loads(bytes(z["meta"]).decode("utf-8"))
            if meta.get("key") != key:
                return None
            arrays = {k: (z[k] if k in z.files else None) for k in array_names}
    except (OSError, ValueError, KeyError):
        return None
    return meta, arrays


def save_cached(path: str | Path, key: str, meta: dict[str, Any],
                arrays: dict[str, np.ndarray]) -> None:
    """Keep ``meta`` (JSON data) and ``arrays`` under ``key``; a folder that cannot be written
    simply keeps no cache."""
    target = Path(path)
    if not os.access(target.parent, os.W_OK):
        return
    buf = io.BytesIO()
    blob = json.dumps(dict(meta, key=key)).encode("utf-8")
    np.savez(buf, meta=np.frombuffer(blob, dtype=np.uint8), **arrays)
    try:
        atomic_write(target, buf.getvalue(), fsync=False)
    except OSError:
        pass
