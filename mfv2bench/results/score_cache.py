"""Keyed array caches beside a tracker's raw results (the per-sequence score cache).

Re-analysing unchanged results (a new table, another pair of trackers, a report) should not
re-read 700,000 boxes per tracker. What was computed from one result folder is kept in
``.mfv2bench-scores-<name>.npz`` in that folder, under a key made of the protocol hash, a digest
of the GT (boxes, visibility, cover, image sizes, sequence names) and a digest of the bytes of
every result and time file (``ResultFiles.signature``: an edit that keeps size and mtime still
changes it). Any change gives a new key: the cache is recomputed, never trusted stale. This
module knows keys, JSON metadata and arrays only; turning them into scores is the metrics
layer's business.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import zipfile
from pathlib import Path
from typing import Any, Iterable

import numpy as np

from .. import __version__
from ..hashing import stable_hash
from .atomic import atomic_write

CACHE_VERSION = 3  # 2: file signatures are content digests; 3: compact GT digest, one blob
SCORE_CACHE_PREFIX = ".mfv2bench-scores-"

# one sequence's GT as plain data: name, (N,4) boxes, visibility, cover, image size
GtEntry = tuple[str, np.ndarray, "np.ndarray | None", "np.ndarray | None", Any]


def _update_exact(h: Any, values: np.ndarray) -> None:
    """Feed ``h`` the values in as few bytes as still say exactly what they are, tagged with
    the form: booleans packed 8 a byte, integer-valued floats (no -0.0) as int32, anything else
    as float64. (Hashed on every warm analysis: LaSOT's GT is 22 MB as float64, 11 MB as
    int32.)"""
    a = np.asarray(values)
    if a.dtype == np.bool_:
        h.update(b"b%d:" % a.size)
        h.update(np.packbits(a.reshape(-1)))
        return
    f = np.ascontiguousarray(a, dtype=np.float64)
    with np.errstate(invalid="ignore", over="ignore"):
        i = f.astype(np.int32)  # NaN, inf and out-of-range values fail the comparison below
    if np.array_equal(i, f) and int(np.signbit(f).sum()) == int((i < 0).sum()):
        h.update(b"i%d:" % f.size)
        h.update(i)
    else:
        h.update(b"f%d:" % f.size)
        h.update(f)


def gt_digest(entries: Iterable[GtEntry]) -> str:
    """Digest of everything about the GT that scores depend on."""
    h = hashlib.sha256()  # hardware-accelerated on current CPUs: 1-2 GB/s
    for name, gt, visible, cover, image_size in entries:
        h.update(name.encode("utf-8") + b"\0")
        _update_exact(h, gt)
        for extra in (visible, cover):
            if extra is None:
                h.update(b"|")
            else:
                _update_exact(h, extra)
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
            if meta.get("key") != key or meta.get("version") != CACHE_VERSION:
                return None
            blob = z["blob"]
        layout = meta.pop("arrays")
        arrays: dict[str, np.ndarray | None] = {}
        for k in array_names:
            if k not in layout:
                arrays[k] = None
                continue
            dtype, shape, offset, nbytes = layout[k]
            arrays[k] = blob[offset:offset + nbytes].view(np.dtype(dtype)).reshape(shape)
    except (OSError, ValueError, KeyError, TypeError, zipfile.BadZipFile, EOFError):
        return None
    return meta, arrays


def save_cached(path: str | Path, key: str, meta: dict[str, Any],
                arrays: dict[str, np.ndarray]) -> None:
    """Keep ``meta`` (JSON data) and ``arrays`` under ``key``; a folder that cannot be written
    simply keeps no cache. The arrays travel as one blob (their dtype, shape and place in the
    metadata): a warm analysis reads two zip members per tracker, not one per array."""
    target = Path(path)
    if not os.access(target.parent, os.W_OK):
        return
    layout: dict[str, list] = {}
    parts: list[bytes] = []
    offset = 0
    for name, arr in arrays.items():
        a = np.ascontiguousarray(arr)
        if a.dtype.hasobject:
            raise TypeError(f"score cache array {name!r} holds Python objects")
        layout[name] = [a.dtype.str, list(a.shape), offset, a.nbytes]
        pad = -a.nbytes % 8  # every array starts 8-byte aligned in the blob
        parts.append(a.tobytes() + b"\0" * pad)
        offset += a.nbytes + pad
    head = json.dumps(dict(meta, key=key, version=CACHE_VERSION, arrays=layout)).encode("utf-8")
    buf = io.BytesIO()
    np.savez(buf, meta=np.frombuffer(head, dtype=np.uint8),
             blob=np.frombuffer(b"".join(parts), dtype=np.uint8))
    try:
        atomic_write(target, buf.getvalue(), fsync=False)
    except OSError:
        pass
