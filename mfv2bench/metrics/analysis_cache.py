"""A finished ``Analysis`` kept beside the results, so repeating an unchanged analysis is a
lookup.

Re-running a table, a report or a leaderboard on results that did not change used to redo the
bootstrap CIs, 45 paired tests and the per-sequence tables (~40 ms of a ~85 ms warm analysis of
a LaSOT-sized set). The whole ``Analysis`` is kept in
``<results_dir>/.mfv2bench-analysis-<protocol>-<id>.npz`` under a key made of every input it
depends on: each tracker's score-cache key (protocol hash, GT digest, the content digest of every
result and time file, ``on_reject``), the tracker order, the split's identity and missing
sequences, every sequence's attributes and frame count, the statistics options and a digest of
the metrics package's source (``code_digest``: a development change that keeps the version
number still recomputes). Any change gives a new key and the analysis is recomputed, never
served stale. Coverage (which depends on the package's official lists) is recomputed on every
load, and run manifests are applied by the caller after it, exactly as for a fresh analysis.

The encoding is exact and typed, with no pickle: JSON for the structure (floats written with
``repr``, which reads back bit for bit; NaN and infinities as JSON allows them), numpy arrays in
one binary blob with their dtype and shape, DataFrames column by column with their dtypes and
index, and only the dataclasses the caller names (``classes``: ``Analysis`` and the types it
holds). Anything else makes ``encode`` raise ``TypeError`` and the analysis is simply not
cached.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mfv2bench.datasets.base import DatasetSplit
from mfv2bench.hashing import stable_hash
from mfv2bench.metrics.stats import DEFAULT_RESAMPLES, DEFAULT_SEED
from mfv2bench.results import score_cache as store

ANALYSIS_PREFIX = ".mfv2bench-analysis-"
FORMAT = 2  # bump when the encoding or the key's content changes
KEEP_FILES = 8  # analysis caches kept per results folder (the newest; others are removed)
_OPTIONS = {"n_resamples": DEFAULT_RESAMPLES, "seed": DEFAULT_SEED, "level": 0.95,
            "pairwise": True}


def options_of(kwargs: dict[str, Any]) -> dict[str, Any] | None:
    """The statistics options with their defaults filled in; None when ``kwargs`` holds
    anything else (then nothing is cached)."""
    if not set(kwargs) <= set(_OPTIONS):
        return None
    return {k: kwargs.get(k, v) for k, v in _OPTIONS.items()}


@functools.lru_cache(maxsize=1)
def code_digest() -> str:
    """Digest of the metrics package's source files: an analysis made by other code (a
    development change that kept the version number) is never served."""
    h = hashlib.sha256()
    for f in sorted(Path(__file__).resolve().parent.glob("*.py")):
        h.update(f.name.encode("utf-8") + b"\0")
        try:
            h.update(f.read_bytes())
        except OSError:
            h.update(b"?")
    return h.hexdigest()[:16]


def analysis_key(protocol_hash: str, split: DatasetSplit, trackers: list[str],
                 score_keys: dict[str, str], options: dict[str, Any]) -> str:
    """Key of everything the analysis depends on (see the module docstring)."""
    seqs = split.sequences
    attrs = [s.attributes for s in seqs] if any(s.attributes for s in seqs) else None
    return stable_hash({
        "format": FORMAT, "code": code_digest(), "protocol": protocol_hash,
        "dataset": split.dataset,
        "split": split.split, "missing": list(split.missing), "expected": split.expected,
        "n_frames": [len(s.frames) for s in seqs], "attributes": attrs,
        "trackers": [[t, score_keys[t]] for t in trackers], "options": options}, length=32)


def cache_file(results_dir: str | Path, protocol: str, split_key: str, trackers: list[str]
               ) -> Path:
    """Where the analysis of these trackers on this split under this protocol is kept."""
    ident = stable_hash([split_key, trackers], length=12)
    return Path(results_dir) / f"{ANALYSIS_PREFIX}{protocol}-{ident}.npz"


def load_analysis(path: Path, key: str, classes: tuple[type, ...]) -> Any:
    """The cached analysis under ``key`` (its dataclasses among ``classes``, the first being
    the analysis itself); None when absent, damaged, or of another key."""
    hit = store.load_cached(path, key, ("blob",))
    if hit is None:
        return None
    meta, arrays = hit
    blob = arrays.get("blob")
    try:
        if meta.get("format") != FORMAT or blob is None:
            return None
        out = decode(meta["analysis"], blob, classes)
    except (KeyError, TypeError, ValueError, IndexError):
        return None
    return out if isinstance(out, classes[0]) else None


def save_analysis(path: Path, key: str, analysis: Any, classes: tuple[type, ...]) -> None:
    """Keep ``analysis`` under ``key`` (silently nothing where it cannot be encoded or the
    folder is not writable); only the ``KEEP_FILES`` newest analysis caches stay."""
    if not os.access(path.parent, os.W_OK):
        return
    parts: list[bytes] = []
    try:
        tree = encode(analysis, parts, classes)
    except TypeError:
        return
    blob = np.frombuffer(b"".join(parts), dtype=np.uint8)
    store.save_cached(path, key, {"format": FORMAT, "analysis": tree}, {"blob": blob})
    _prune(path.parent)


def _prune(folder: Path) -> None:
    try:
        found = [e for e in os.scandir(folder) if e.name.startswith(ANALYSIS_PREFIX)
                 and e.name.endswith(".npz")]
        if len(found) <= KEEP_FILES:
            return
        found.sort(key=lambda e: e.stat().st_mtime_ns, reverse=True)
        for e in found[KEEP_FILES:]:
            os.unlink(e.path)
    except OSError:
        pass


# ---------------------------------------------------------------------------------------------
# exact encoding: JSON-ready tree + one blob of array bytes


# element types a list may hold to be written as plain JSON (exact: str, int, float's repr,
# bool, None; a bool stays a bool, an int an int)
_PLAIN = (str, int, float, bool, type(None))


class _Encoder:
    """Walks a value, appending array bytes to ``parts`` (8-byte aligned)."""

    def __init__(self, parts: list[bytes], classes: tuple[type, ...]):
        self.parts = parts
        self.size = sum(len(p) for p in parts)
        self.classes = {c.__name__: c for c in classes}

    def array(self, a: np.ndarray) -> dict[str, Any]:
        if a.dtype.hasobject:
            return {"@ao": [self.enc(v) for v in a.reshape(-1).tolist()],
                    "shape": list(a.shape)}
        data = np.ascontiguousarray(a).tobytes()
        spec = [a.dtype.str, list(a.shape), self.size, len(data)]
        data += b"\0" * (-len(data) % 8)
        self.parts.append(data)
        self.size += len(data)
        return {"@a": spec}

    def frame(self, df: pd.DataFrame) -> dict[str, Any]:
        if not isinstance(df.index, pd.RangeIndex) or not df.columns.is_unique:
            raise TypeError("only DataFrames with a RangeIndex and unique columns are cached")
        cols = []
        for name in df.columns:
            s = df[name]
            if isinstance(s.dtype, np.dtype) and not s.dtype.hasobject:
                cols.append([self.enc(name), None, self.array(s.to_numpy())])
            else:  # object or extension dtype (pandas' str): the values and the dtype's name
                cols.append([self.enc(name), str(s.dtype), self.enc(s.tolist())])
        r = df.index
        return {"@df": cols, "index": [r.start, r.stop, r.step],
                "columns_dtype": str(df.columns.dtype)}

    def enc(self, obj: Any) -> Any:
        if obj is None or isinstance(obj, (bool, str)):
            return obj
        if isinstance(obj, (np.bool_, np.integer, np.floating)):
            return {"@n": obj.dtype.str, "v": obj.item()}
        if isinstance(obj, (int, float)):
            return obj  # a float's repr reads back exactly; NaN/inf as JSON's NaN/Infinity
        if isinstance(obj, np.ndarray):
            return self.array(obj)
        if isinstance(obj, pd.DataFrame):
            return self.frame(obj)
        if isinstance(obj, list):
            if all(type(v) in _PLAIN for v in obj):  # names, flags: read back as they are
                return {"@l": obj}
            return [self.enc(v) for v in obj]
        if isinstance(obj, tuple):
            return {"@t": [self.enc(v) for v in obj]}
        if isinstance(obj, dict):
            return {"@d": [[self.enc(k), self.enc(v)] for k, v in obj.items()]}
        cls = type(obj)
        if dataclasses.is_dataclass(obj) and self.classes.get(cls.__name__) is cls:
            return {"@c": cls.__name__, "f": {f.name: self.enc(getattr(obj, f.name))
                                              for f in dataclasses.fields(obj) if f.init}}
        raise TypeError(f"the analysis cache cannot encode {cls.__name__}")


def encode(obj: Any, parts: list[bytes], classes: tuple[type, ...]) -> Any:
    """``obj`` as JSON-ready data, array bytes appended to ``parts``; TypeError for what this
    codec does not know (dataclasses: only those in ``classes``)."""
    return _Encoder(parts, classes).enc(obj)


class _Decoder:
    def __init__(self, blob: np.ndarray, classes: tuple[type, ...]):
        self.blob = blob
        self.classes = {c.__name__: c for c in classes}

    def dec(self, t: Any) -> Any:
        if isinstance(t, list):
            return [self.dec(v) for v in t]
        if not isinstance(t, dict):
            return t
        if "@l" in t:
            return list(t["@l"])
        if "@a" in t:
            dtype, shape, offset, nbytes = t["@a"]
            if offset + nbytes > len(self.blob):
                raise ValueError("array beyond the blob")
            return self.blob[offset:offset + nbytes].view(np.dtype(dtype)).reshape(shape).copy()
        if "@n" in t:
            return np.dtype(t["@n"]).type(t["v"])
        if "@t" in t:
            return tuple(self.dec(v) for v in t["@t"])
        if "@d" in t:
            return {self.dec(k): self.dec(v) for k, v in t["@d"]}
        if "@ao" in t:
            out = np.empty(len(t["@ao"]), dtype=object)
            out[:] = [self.dec(v) for v in t["@ao"]]
            return out.reshape(t["shape"])
        if "@df" in t:
            return self.frame(t)
        if "@c" in t:
            return self.classes[t["@c"]](**{k: self.dec(v) for k, v in t["f"].items()})
        raise ValueError("unknown node in the analysis cache")

    def frame(self, t: dict[str, Any]) -> pd.DataFrame:
        index = pd.RangeIndex(*t["index"])
        data = {}
        for name, dtype, values in t["@df"]:
            col = self.dec(values)
            if dtype is None:
                data[self.dec(name)] = pd.Series(col, index=index, copy=False)
            else:
                data[self.dec(name)] = pd.Series(col, index=index, dtype=dtype)
        df = pd.DataFrame(data, index=index) if data else pd.DataFrame(index=index)
        if len(df.columns):
            df.columns = df.columns.astype(t["columns_dtype"])
        return df


def decode(tree: Any, blob: np.ndarray, classes: tuple[type, ...]) -> Any:
    """The inverse of ``encode`` (``blob``: the parts joined, as uint8)."""
    return _Decoder(blob, classes).dec(tree)
