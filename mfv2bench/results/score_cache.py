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

CACHE_VERSION = 4  # 2: file signatures are content digests; 3: compact GT digest, one blob;
# 4: GT digest in one vectorized pass (int16 where exact)
SCORE_CACHE_PREFIX = ".mfv2bench-scores-"

# one sequence's GT as plain data: name, (N,4) boxes, visibility, cover, image size
GtEntry = tuple[str, np.ndarray, "np.ndarray | None", "np.ndarray | None", Any]


def _update_exact(h: Any, values: np.ndarray) -> None:
    """Feed ``h`` the values in as few bytes as still say exactly what they are, tagged with
    the form: booleans packed 8 a byte, integer-valued floats (no -0.0) as int16 or int32,
    anything else as float64."""
    a = np.asarray(values)
    if a.dtype == np.bool_:
        h.update(b"b%d:" % a.size)
        h.update(np.packbits(a.reshape(-1)))
        return
    f = np.ascontiguousarray(a, dtype=np.float64).reshape(-1)
    for tag, dt in ((b"h", np.int16), (b"i", np.int32)):
        with np.errstate(invalid="ignore", over="ignore"):
            i = f.astype(dt)  # NaN, inf and out-of-range values fail the comparison below
        if (i == f).all() and (np.signbit(f) == (i < 0)).all():  # (-0.0 is not 0)
            h.update(tag + b"%d:" % f.size)
            h.update(i)
            return
    h.update(b"f%d:" % f.size)
    h.update(f)


# values hashed per step: the temporaries stay in cache (a 22 MB temporary costs more in page
# faults than the hashing itself)
_BLOCK = 1 << 16


def _update_blocks(h: Any, arrays: list[np.ndarray]) -> None:
    """``_update_exact`` over consecutive groups of whole arrays of about ``_BLOCK`` values
    (the grouping depends only on the sizes, which the digest's header holds)."""
    group: list[np.ndarray] = []
    size = 0
    for a in arrays + [None]:  # type: ignore[list-item]
        if group and (a is None or size >= _BLOCK):
            _update_exact(h, group[0] if len(group) == 1 else _joined(group))
            group, size = [], 0
        if a is not None:
            group.append(a)
            size += np.size(a)


def _joined(arrays: list[np.ndarray]) -> np.ndarray:
    """One array of all values (booleans stay booleans when every part is boolean)."""
    if all(np.asarray(a).dtype == np.bool_ for a in arrays):
        return np.concatenate([np.asarray(a).reshape(-1) for a in arrays])
    return np.concatenate([np.asarray(a, dtype=np.float64).reshape(-1) for a in arrays])


def gt_digest(entries: Iterable[GtEntry]) -> str:
    """Digest of everything about the GT that scores depend on: names, shapes and image sizes
    in one header, then all boxes, all visibility flags and all cover labels, each as one
    exact array per group of sequences (``_update_blocks``)."""
    h = hashlib.sha256()  # hardware-accelerated on current CPUs: 1-2 GB/s
    head: list[bytes] = []
    boxes, visible, cover = [], [], []
    for name, gt, vis, cov, image_size in entries:
        g = np.asarray(gt)
        head.append(name.encode("utf-8") + b"\0" + repr(g.shape).encode("ascii"))
        boxes.append(g)
        for extra, parts in ((vis, visible), (cov, cover)):
            if extra is None:
                head.append(b"|")
            else:
                e = np.asarray(extra)
                head.append(b"+%d" % e.size)
                parts.append(e)
        head.append(repr(image_size).encode("utf-8") + b"\n")
    h.update(b"".join(head))
    for parts in (boxes, visible, cover):
        h.update(b"/")
        _update_blocks(h, parts)
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
