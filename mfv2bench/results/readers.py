"""Reading raw tracking results: every common layout, strict errors, and a parse cache.

Layouts understood (folder or ``.zip``):

- pytracking / STARK / OSTrack / MixFormerV2: ``<dir>/<seq>.txt`` (tab, comma or space separated
  x,y,w,h), ``<seq>_time.txt`` beside it; also our store ``results/<tracker>/<dataset>-<split>/``
  (comma, full-precision floats), the got10k toolkit's OTB-style ``<dir>/<seq>.txt``, the LaSOT
  MATLAB toolkit's ``<Tracker>_tracking_result/<seq>.txt`` and TrackingNet submissions
  (``<seq>.txt`` at the zip root).
- got10k toolkit / GOT-10k submissions: ``<dir>/<seq>/<seq>_001.txt`` (one file per run) plus
  ``<seq>/<seq>_time.txt`` (one column per run).
- repeated runs in run folders (folders only, not zips): pytracking's ``<dir>/<param>_000/<seq>.txt``,
  ``<param>_001/``... (``Tracker.results_dir`` with a run id), and our store's run 0 in the folder
  itself with runs 1.. in ``run_001/``... (``layout``): every run is read, in run-id order.

Bad files are errors that name the file and line (wrong number of values, unparsable or NaN
values, fewer rows than the sequence has frames: never padded).

Parsing is batched: all files of a folder are concatenated and parsed at once (plain integer
files by the vectorized ``fastparse``, others by one ``np.loadtxt`` call, then file by file
where that fails), and the parsed boxes are cached beside the raw files in
``.mfv2bench-cache.npz``, keyed per file on a digest of its bytes (hashing skipped only where
size, mtime, ctime and inode prove the bytes unchanged; see ``content_digest``). The strict
per-line parser is ``boxtext.parse_boxes`` (``RESULTS`` syntax).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

import numpy as np

from ..errors import InputError, MissingDataError
from .atomic import atomic_write
from .boxtext import RESULTS, RESULTS_KEEP_NAN, BoxSyntax, parse_boxes
from .fastparse import parse_int_rows
from .layout import TIME_SUFFIX, run_folder

CACHE_NAME = ".mfv2bench-cache.npz"
LABEL_CACHE_NAME = ".mfv2bench-cache-labels.npz"
CACHE_VERSION = 2  # 2: entries keyed on a content digest
MAX_ARCHIVE_BYTES = 4 << 30  # a results zip (read or imported) unpacks to no more than 4 GiB ...
MAX_ARCHIVE_MEMBERS = 200_000  # ... in no more entries (LaSOT x 3 runs + times fits easily)
_SPLIT = re.compile(r"[,\t ;]+")
_RUN_FILE = re.compile(r"^(?P<seq>.+)_(?P<run>\d{3})\.txt$")
_RUN_DIR = re.compile(r"^(?P<param>.+)_(?P<run>\d{3})$")  # pytracking <param>_<run:03d>


@dataclass
class RawResult:
    """One sequence's raw results: one (N,4) array per run, optional per-frame times."""

    name: str
    runs: list[np.ndarray]
    sources: list[Path]
    times: np.ndarray | None = None
    time_source: Path | None = None
    # per run, read with short="keep": the line of a blank line inside a short file (the lost
    # frame), else None
    gaps: list[int | None] = field(default_factory=list)

    @property
    def boxes(self) -> np.ndarray:
        return self.runs[0]


# ---------------------------------------------------------------------------------------------
# single-file strict parser (also the error locator for the batched path)


def box_syntax(nan: str = "error") -> BoxSyntax:
    """The raw-results syntax for a protocol's NaN policy (``nan``: 'error' or 'keep')."""
    if nan not in ("error", "keep"):
        raise ValueError(f"nan must be 'error' or 'keep', not {nan!r}")
    return RESULTS if nan == "error" else RESULTS_KEEP_NAN


def parse_box_file(path: str | Path, nan: str = "error") -> np.ndarray:
    """Read one result/GT file strictly (file:line errors)."""
    p = Path(path)
    try:
        text = p.read_bytes().decode("utf-8", errors="replace")
    except FileNotFoundError:
        raise MissingDataError(f"result file not found: {p}") from None
    return parse_boxes(text, p, box_syntax(nan))


def read_times(path: str | Path) -> np.ndarray | None:
    """Per-frame seconds (one column per run for GOT-10k); None if the file is absent."""
    p = Path(path)
    if not p.is_file():
        return None
    return _parse_times(p.read_bytes().decode("utf-8", errors="replace"), p)


def _parse_times(text: str, path: Path) -> np.ndarray:
    rows = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        s = line.strip()
        if not s:
            continue
        try:
            rows.append([float(v) for v in _SPLIT.split(s) if v])
        except ValueError:
            raise InputError(f"unparsable time {s[:60]!r}", path=path, line=lineno) from None
    widths = {len(r) for r in rows}
    if len(widths) > 1:
        raise InputError("time file rows have different numbers of columns", path=path)
    arr = np.asarray(rows, dtype=np.float64)
    return arr[:, 0] if arr.ndim == 2 and arr.shape[1] == 1 else arr


# ---------------------------------------------------------------------------------------------
# batched parser


def _delimiter_of(data: bytes) -> str | None:
    first = data.split(b"\n", 1)[0]
    return "," if b"," in first else None


def _parse_concatenated(chunks: list[bytes], delimiter: str | None) -> list[np.ndarray] | None:
    """Parse many files' bytes with one loadtxt call; None when anything is irregular (the
    caller then parses file by file for exact errors)."""
    fixed = [c if c.endswith(b"\n") or not c else c + b"\n" for c in chunks]
    counts = [c.count(b"\n") for c in fixed]
    buf = b"".join(fixed)
    if not buf:
        return [np.zeros((0, 4)) for _ in chunks]
    if not buf.strip():  # only line ends: loadtxt would warn "no data"; the strict path decides
        return None
    arr = None
    for dtype in (np.int64, np.float64):
        try:
            arr = np.loadtxt(io.BytesIO(buf), delimiter=delimiter, dtype=dtype, ndmin=2,
                             comments=None)
            break
        except ValueError:
            continue
    if arr is None or arr.shape[1] != 4 or len(arr) != sum(counts):
        return None
    if arr.dtype == np.float64 and np.isnan(arr).any():
        return None
    arr = arr.astype(np.float64, copy=False)
    out, start = [], 0
    for n in counts:
        out.append(arr[start:start + n])
        start += n
    return out


def parse_many(datas: list[bytes], paths: list[Path], nan: str = "error") -> list[np.ndarray]:
    """Parse many files' contents fast; falls back to the strict per-file parser (and its
    file:line errors) for any group that the batched reader does not accept."""
    fast = parse_int_rows(datas, 4)  # plain integer files (the common case), all at once
    if fast is not None:
        return fast
    out: list[np.ndarray | None] = [None] * len(datas)
    groups: dict[str | None, list[int]] = {}
    for i, d in enumerate(datas):
        groups.setdefault(_delimiter_of(d), []).append(i)
    for delim, idx in groups.items():
        parsed = _parse_concatenated([datas[i] for i in idx], delim)
        if parsed is None:
            for i in idx:
                out[i] = parse_boxes(datas[i].decode("utf-8", errors="replace"), paths[i],
                                     box_syntax(nan))
        else:
            for i, arr in zip(idx, parsed):
                out[i] = arr
    return [np.asarray(a, dtype=np.float64) if a.dtype != np.float64 else a for a in out]


# ---------------------------------------------------------------------------------------------
# cache beside the raw files, keyed on content
#
# Each file's entry records the blake2b digest of its bytes, the stat record seen just before
# they were read (size, mtime, ctime, inode) and when that was (``checked_ns``). The digest is the
# key: a file whose bytes hash to the recorded digest reuses the parsed array, whatever its times.
# Hashing is skipped only where the stat record proves the bytes unchanged: every write moves
# ctime (no call sets it back, unlike mtime), so a file whose size, mtime, ctime and inode equal
# the record and whose ctime lies well before the check (``RACY_NS``: a write in the same clock
# tick as the check would keep ctime) still holds the bytes that were hashed. An edit that keeps
# size and mtime therefore never serves old numbers. Where ctime is not a change time (Windows:
# creation time), every file is hashed.

RACY_NS = 2_000_000_000
_HASH_ALWAYS = os.name == "nt"


def content_digest(data: bytes) -> str:
    """The cache key of a file's bytes (blake2b-128: ~1.4 GB/s, no extra dependency)."""
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def _stat_record(st: os.stat_result) -> list[int]:
    return [int(st.st_size), int(st.st_mtime_ns), int(st.st_ctime_ns), int(st.st_ino)]


def _proven_unchanged(entry: dict | None, record: list[int]) -> bool:
    """True when ``entry``'s digest is that of the file's current bytes without reading them
    (see the section comment)."""
    if entry is None or _HASH_ALWAYS or entry.get("stat") != record:
        return False
    checked = entry.get("checked_ns")
    return isinstance(checked, int) and record[2] < checked - RACY_NS


def _stat_key(path: Path) -> list[int]:
    return _stat_record(path.stat())


def _compact(parts: list[np.ndarray]) -> np.ndarray:
    """The parts concatenated in the smallest exact dtype for the cache (integer results cost
    4 or 2 bytes a value). Each part is cast straight into the result and compared there (no
    float64 copy of the whole: its page faults cost more than the casting)."""
    if parts and all(p.shape[1:] == parts[0].shape[1:] for p in parts):
        rows = sum(len(p) for p in parts)
        if rows:
            for dt in (np.int16, np.int32):
                out = np.empty((rows,) + parts[0].shape[1:], dtype=dt)
                start = 0
                with np.errstate(invalid="ignore", over="ignore"):
                    for p in parts:  # out of range, NaN, inf, fractions: not equal after
                        o = out[start:start + len(p)]
                        np.copyto(o, p, casting="unsafe")
                        if not (o == p).all():
                            break
                        start += len(p)
                    else:
                        return out
    arr = np.concatenate(parts) if parts else np.zeros((0,))
    if arr.size == 0:
        return arr.astype(np.float64)
    lo, hi = float(np.min(arr)), float(np.max(arr))  # NaN / inf show in the extremes
    for dt in (np.int16, np.int32):
        info = np.iinfo(dt)
        if lo >= info.min and hi <= info.max:
            cast = arr.astype(dt)
            if (cast == arr).all():
                return cast
    return arr.astype(np.float64)


def _load_cache(folder: Path, cache_name: str = CACHE_NAME, data: bool = True
                ) -> tuple[dict, np.ndarray | None] | None:
    """The cache's index and (with ``data``) its arrays; None when absent or unusable."""
    f = folder / cache_name
    if not f.is_file():
        return None
    try:
        with np.load(f, allow_pickle=False) as z:
            index = json.loads(bytes(z["index"]).decode("utf-8"))
            if index.get("version") != CACHE_VERSION or not isinstance(index.get("files"), dict):
                return None
            return index, (z["data"] if data else None)
    except (OSError, ValueError, KeyError, zipfile.BadZipFile, EOFError):
        return None  # a damaged cache is simply rebuilt


def _save_cache(folder: Path, entries: dict[str, dict], arrays: dict[str, np.ndarray],
                cache_name: str = CACHE_NAME) -> None:
    """Write the folder's cache: every entry's fingerprint, the arrays of those that have one
    (entries without an array only carry a digest: time files, files not parsed yet)."""
    names = sorted(arrays)
    parts = [arrays[n] for n in names]
    data = _compact(parts)
    offset = 0
    files = {n: dict(e, offset=None, rows=None) for n, e in entries.items()}
    for n, a in zip(names, parts):
        files[n] = dict(entries[n], offset=offset, rows=len(a))
        offset += len(a)
    index = json.dumps({"version": CACHE_VERSION, "files": files}).encode("utf-8")
    buf = io.BytesIO()
    np.savez(buf, data=data, index=np.frombuffer(index, dtype=np.uint8))
    try:
        atomic_write(folder / cache_name, buf.getvalue(), fsync=False)
    except OSError:
        pass  # an unwritable cache is simply not kept


def read_box_files(paths: list[Path], nan: str = "error", cache: bool = True,
                   digests: list[str | None] | None = None) -> list[np.ndarray]:
    """Read many x,y,w,h files (any mix of folders); uses and refreshes the per-folder cache.
    With ``cache``, ``digests`` (a list) receives the content digest of the bytes each array
    was parsed from (a cache key that names exactly what was read)."""
    def parse(datas: list[bytes], ps: list[Path]) -> list[np.ndarray]:
        return parse_many(datas, ps, nan=nan)

    def usable(arr: np.ndarray) -> bool:  # cached NaN boxes must give their file:line error
        return not (nan == "error" and np.isnan(arr).any())

    return _read_cached(paths, parse, CACHE_NAME, cache, usable, digests)


def read_label_files(paths: list[Path], cache: bool = True) -> list[np.ndarray]:
    """Read many per-frame label files (one value per line, or LaSOT's single comma-separated
    line: absent.txt, full_occlusion.txt, cover.label) as float arrays, batched and cached."""
    return _read_cached(paths, parse_many_labels, LABEL_CACHE_NAME, cache, lambda a: True)


def parse_labels_text(text: str, path: str | Path) -> np.ndarray:
    vals = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        for tok in _SPLIT.split(line.strip()):
            if not tok:
                continue
            try:
                vals.append(float(tok))
            except ValueError:
                raise InputError(f"unparsable label {tok[:30]!r}", path=path,
                                 line=lineno) from None
    return np.asarray(vals, dtype=np.float64)


def parse_many_labels(datas: list[bytes], paths: list[Path]) -> list[np.ndarray]:
    """One integer loadtxt over all files (commas turned into line breaks); per-file strict
    parsing where that fails."""
    norm = [d.replace(b",", b"\n").replace(b"\r", b"") for d in datas]
    norm = [d if d.endswith(b"\n") or not d else d + b"\n" for d in norm]
    fast = parse_int_rows(norm, 1)  # plain integer labels (the common case)
    if fast is not None:
        return [a.reshape(-1) for a in fast]
    counts = [len(d.split()) for d in norm]
    buf = b"".join(norm)
    try:
        arr = np.loadtxt(io.BytesIO(buf), dtype=np.int64, ndmin=1, comments=None) if buf \
            else np.zeros(0)
        if arr.ndim != 1 or len(arr) != sum(counts):
            raise ValueError
    except ValueError:
        return [parse_labels_text(d.decode("utf-8", "replace"), p) for d, p in zip(datas, paths)]
    out, start = [], 0
    for n in counts:
        out.append(arr[start:start + n].astype(np.float64))
        start += n
    return out


def _cached_arrays(entries: list[dict], data: np.ndarray) -> list[np.ndarray]:
    """The cached arrays of many entries as float64 views of ONE new array: one large
    allocation (huge pages where the kernel gives them) instead of one per file, whose page
    faults cost more than the conversion (8 -> 0.7 ms for a LaSOT-sized GT)."""
    if not entries:
        return []
    rows = sum(int(e["rows"]) for e in entries)
    block = np.empty((rows,) + data.shape[1:], dtype=np.float64)
    out, start = [], 0
    for e in entries:
        off, n = int(e["offset"]), int(e["rows"])
        part = block[start:start + n]
        part[...] = data[off:off + n]
        out.append(part)
        start += n
    return out


def _cached_array(entry: dict | None, data: np.ndarray | None) -> np.ndarray | None:
    if entry is None or data is None or entry.get("rows") is None:
        return None
    off, rows = entry["offset"], entry["rows"]
    return data[off:off + rows].astype(np.float64)


def _folder_stats(folder: str, names: Iterable[str], missing_ok: bool = False
                  ) -> dict[str, list[int] | None]:
    out: dict[str, list[int] | None] = {}
    for name in names:
        full = os.path.join(folder, name)
        try:
            out[name] = _stat_record(os.stat(full))
        except FileNotFoundError:
            if not missing_ok:
                raise MissingDataError(f"file not found: {full}") from None
            out[name] = None
    return out


def _read_with_stat(path: str) -> tuple[bytes, list[int]]:
    """A file's bytes and its stat record taken on the open file before reading (open, fstat,
    read to the end, close: no second path lookup, no buffered-file set-up)."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
    except FileNotFoundError:
        raise MissingDataError(f"file not found: {path}") from None
    try:
        st = os.fstat(fd)
        parts = []
        want = st.st_size + 1  # one byte more: the end shows in the next (empty) read
        while True:
            chunk = os.read(fd, want)
            if not chunk:
                break
            parts.append(chunk)
            want = 1 << 20
    finally:
        os.close(fd)
    return (parts[0] if len(parts) == 1 else b"".join(parts)), _stat_record(st)


def _read_cached(paths: list[Path], parse, cache_name: str, cache: bool, usable,
                 digests: list[str | None] | None = None) -> list[np.ndarray]:
    out: list[np.ndarray | None] = [None] * len(paths)
    used: list[str | None] = [None] * len(paths)  # digest of what each array came from
    by_folder: dict[str, list[tuple[int, str]]] = {}
    for i, p in enumerate(paths):
        folder, name = os.path.split(os.fspath(p))
        by_folder.setdefault(folder, []).append((i, name))
    for folder, entries in by_folder.items():
        now = time.time_ns()  # before the stat: a write after it moves ctime past the record
        cached = _load_cache(Path(folder), cache_name) if cache else None
        files, data = (cached[0]["files"], cached[1]) if cached is not None else ({}, None)
        raws: dict[str, bytes] = {}
        if cached is None:  # nothing to check against: read every file once (open, fstat, read)
            stats: dict[str, list[int] | None] = {}
            for _, name in entries:
                raws[name], stats[name] = _read_with_stat(os.path.join(folder, name))
        else:
            stats = _folder_stats(folder, [name for _, name in entries])
        todo = []
        hits: list[tuple[int, str, dict]] = []
        for i, name in entries:
            e = files.get(name)
            if data is not None and e is not None and e.get("rows") is not None \
                    and _proven_unchanged(e, stats[name]):
                hits.append((i, name, e))
            else:
                todo.append((i, name))
        for (i, name, e), arr in zip(hits, _cached_arrays([e for _, _, e in hits], data)):
            if np.issubdtype(data.dtype, np.integer) or usable(arr):  # integers hold no NaN
                out[i] = arr
                used[i] = e["digest"]
            else:
                todo.append((i, name))
        if not todo:
            continue
        fresh: dict[str, tuple[dict, np.ndarray]] = {}
        to_parse, datas = [], []
        for i, name in todo:
            raw = raws.pop(name, None)
            if raw is None:
                with open(os.path.join(folder, name), "rb") as fh:
                    raw = fh.read()
            e = files.get(name)
            if _proven_unchanged(e, stats[name]):  # digest known (e.g. kept by file_digests)
                digest, record = e["digest"], {k: e[k] for k in ("digest", "stat", "checked_ns")}
            else:
                digest = content_digest(raw)
                record = {"digest": digest, "stat": stats[name], "checked_ns": now}
            arr = _cached_array(e, data) if e is not None and e.get("digest") == digest else None
            used[i] = digest
            if arr is not None and usable(arr):  # same bytes, new times (copy, touch, chmod)
                out[i] = arr
                fresh[name] = (record, arr)
            else:
                to_parse.append((i, name, record))
                datas.append(raw)
        if to_parse:
            parsed = parse(datas, [Path(folder, name) for _, name, _ in to_parse])
            for (i, name, record), arr in zip(to_parse, parsed):
                out[i] = arr
                fresh[name] = (record, arr)
        if cache:
            _refresh_cache(Path(folder), cached, fresh, {}, cache_name)
    if digests is not None:
        digests[:] = used
    return out  # type: ignore[return-value]


def _refresh_cache(folder: Path, cached: tuple[dict, np.ndarray] | None,
                   fresh: dict[str, tuple[dict, np.ndarray]], digests: dict[str, dict],
                   cache_name: str) -> None:
    """Rewrite the cache with ``fresh`` entries (record and array), ``digests`` (records
    without an array) and the old entries still proven unchanged; others are dropped."""
    if not fresh and not digests:
        return
    entries: dict[str, dict] = {}
    arrays: dict[str, np.ndarray] = {}
    if cached is not None:
        index, data = cached
        for name, e in index["files"].items():
            if name in fresh or name in digests:
                continue
            try:
                if not _proven_unchanged(e, _stat_key(folder / name)):
                    continue
            except OSError:
                continue
            entries[name] = {k: e[k] for k in ("digest", "stat", "checked_ns")}
            arr = _cached_array(e, data)
            if arr is not None:
                arrays[name] = arr
    for name, record in digests.items():
        entries[name] = record
        old = (cached[0]["files"].get(name) if cached is not None else None)
        arr = _cached_array(old, cached[1] if cached is not None else None) \
            if old is not None and old.get("digest") == record["digest"] else None
        if arr is not None:
            arrays[name] = arr
    for name, (record, arr) in fresh.items():
        entries[name] = record
        arrays[name] = arr
    if os.access(folder, os.W_OK):
        _save_cache(folder, entries, arrays, cache_name)


def file_digests(paths: list[Path], cache: bool = True) -> list[str | None]:
    """Content digest of each file (None for an absent one), from the folder's cache where its
    stat record proves the bytes unchanged, else by hashing them (and keeping the digest).

    Called for every result file of every tracker on each warm analysis (2,800 files for a
    LaSOT-sized set): one ``stat`` per file and a tight comparison, nothing else."""
    by_folder: dict[str, list[str]] = {}
    for p in paths:
        folder, name = os.path.split(os.fspath(p))
        by_folder.setdefault(folder, []).append(name)
    found: dict[tuple[str, str], str | None] = {}
    for folder, names in by_folder.items():
        found.update(((folder, n), d) for n, d in zip(names, folder_digests(folder, names,
                                                                            cache)))
    return [found[os.path.split(os.fspath(p))] for p in paths]


def folder_digests(folder: str, names: list[str], cache: bool = True) -> list[str | None]:
    """``file_digests`` of the files ``names`` of one folder (the hot loop of a warm
    analysis: one ``stat`` per file and a comparison with the cached record)."""
    now = time.time_ns()  # before the stats (see the section comment)
    cached = _load_cache(Path(folder), CACHE_NAME, data=False) if cache else None
    files = cached[0]["files"] if cached is not None else {}
    fresh: dict[str, dict] = {}
    prefix = os.path.join(folder, "")
    stat = os.stat
    racy = RACY_NS if not _HASH_ALWAYS else None
    out: list[str | None] = []
    for name in names:
        try:
            st = stat(prefix + name)
        except FileNotFoundError:
            out.append(None)
            continue
        record = [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino]
        e = files.get(name)
        if e is not None and racy is not None and e.get("stat") == record:
            checked = e.get("checked_ns")  # inlined _proven_unchanged
            if isinstance(checked, int) and record[2] < checked - racy:
                out.append(e["digest"])
                continue
        try:
            with open(prefix + name, "rb") as fh:
                digest = content_digest(fh.read())
        except FileNotFoundError:
            out.append(None)
            continue
        out.append(digest)
        fresh[name] = {"digest": digest, "stat": record, "checked_ns": now}
    if cache and fresh:  # the arrays are read only now, to be kept
        _refresh_cache(Path(folder), _load_cache(Path(folder), CACHE_NAME), {}, fresh,
                       CACHE_NAME)
    return out


# ---------------------------------------------------------------------------------------------
# layouts


class _Source:
    """A folder or a zip file, addressed by relative paths."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self.zip: zipfile.ZipFile | None = None
        self.names: dict[str, str] = {}
        if self.root.is_file() and zipfile.is_zipfile(self.root):
            self.zip = zipfile.ZipFile(self.root)
            names = self.zip.namelist()
            total = sum(i.file_size for i in self.zip.infolist())
            if len(names) > MAX_ARCHIVE_MEMBERS or total > MAX_ARCHIVE_BYTES:
                raise InputError(f"zip holds {len(names):,} members, {total:,} bytes unpacked: "
                                 f"over the caps ({MAX_ARCHIVE_MEMBERS:,} members, "
                                 f"{MAX_ARCHIVE_BYTES:,} bytes); refusing it", self.root)
            if len(set(names)) != len(names):
                seen: set[str] = set()
                twice = next(n for n in names if n in seen or seen.add(n))
                raise InputError(f"zip member {twice!r} appears more than once (which copy is "
                                 "the result?); refusing the whole zip", self.root)
            for n in names:
                if n.endswith(".txt") and "__MACOSX" not in n:
                    # basename match (as the TrackingNet server does), keeping sub-folders
                    self.names.setdefault(n.rsplit("/", 1)[-1], n)
                    parts = n.split("/")
                    if len(parts) >= 2:
                        self.names.setdefault("/".join(parts[-2:]), n)
        elif not self.root.is_dir():
            raise MissingDataError(f"results not found: {self.root}")

    def exists(self, rel: str) -> bool:
        if self.zip is not None:
            return rel in self.names
        return (self.root / rel).is_file()

    def path(self, rel: str) -> Path:
        if self.zip is not None:
            return Path(f"{self.root}!{self.names[rel]}")
        return self.root / rel

    def read(self, rel: str) -> bytes:
        assert self.zip is not None
        return self.zip.read(self.names[rel])

    def run_files(self, seq: str) -> list[str]:
        """GOT-10k layout ``<seq>/<seq>_NNN.txt`` (sorted by run number)."""
        if self.zip is not None:
            found = [k for k in self.names if "/" in k and k.startswith(f"{seq}/")
                     and _is_run(k.split("/", 1)[1], seq)]
            return sorted(found)
        d = self.root / seq
        if not d.is_dir():
            return []
        return sorted(f"{seq}/{f.name}" for f in d.iterdir() if _is_run(f.name, seq))


def _is_run(filename: str, seq: str) -> bool:
    m = _RUN_FILE.match(filename)
    return m is not None and m.group("seq") == seq


@dataclass
class ResultFiles:
    """Where each sequence's result files are (before reading them)."""

    source: _Source
    runs: dict[str, list[str]]
    times: dict[str, str]
    listing: set[str] | None = None  # names in the folder root (flat layouts), when listed
    extra_times: dict[str, list[str]] = field(default_factory=dict)  # runs 1..'s time files
    run_folders: list[str] = field(default_factory=list)  # run folders in run order ('' = root)

    def run_paths(self, seq: str) -> list[Path]:
        return [self.source.path(r) for r in self.runs[seq]]

    def signature(self, cache: bool = True, known: dict[str, str | None] | None = None
                  ) -> list:
        """Content digest of every file (time files included) for cache keys: any change to
        the bytes changes it, whatever the file times say. A zip is one file. ``known``:
        digests already taken (relative path -> digest of the bytes that were read), used
        as they are."""
        if self.source.zip is not None:
            return [str(self.source.root), file_digests([self.source.root], cache=False)[0]]
        prefix = os.path.join(str(self.source.root), "")
        listing = self.listing
        known = known or {}
        rels: list[str] = []
        for seq, run_rels in self.runs.items():
            rels.extend(run_rels)
            rels.append(self.times[seq])
            rels.extend(self.extra_times.get(seq, []))
        present = [r for r in rels if listing is None or r in listing or "/" in r]
        if known:
            present = [r for r in present if r not in known]
        digests: dict[str, str | None] = {}
        if not any("/" in r for r in present):  # flat layout: one folder
            digests.update(zip(present, folder_digests(prefix, present, cache=cache)))
        else:
            by_dir: dict[str, list[str]] = {}
            for r in present:
                by_dir.setdefault(r.rpartition("/")[0], []).append(r)
            for sub, group in by_dir.items():
                names = [r.rpartition("/")[2] for r in group]
                digests.update(zip(group, folder_digests(prefix + sub, names, cache=cache)))
        digests.update(known)
        return [[r, digests.get(r)] for r in rels]

    def has_time_file(self, seq: str) -> bool:
        rel = self.times[seq]
        if self.listing is not None and "/" not in rel:
            return rel in self.listing
        return self.source.exists(rel)


def find_run_folders(root: str | Path, sequences: Iterable[str],
                     key: Callable[[str], str] | None = None) -> list[str]:
    """The run folders of a folder of raw results, in run-id order, as relative prefixes ('' is
    the folder itself): ``[""]`` for a single run; pytracking ``<param>_000/``, ``<param>_001/``
    ...; our store's ``""`` (run 0) then ``run_001/``.... A sub-folder counts as a run folder
    when its name ends in ``_<3 digits>`` and it holds ``<seq>.txt`` of a wanted sequence (a
    GOT-10k sequence folder holds ``<seq>_001.txt`` instead). ``key`` maps file stems and
    sequence names before they are compared (the importer's spelling-insensitive match). Run
    folders of two parameter sets, or result files beside a ``<param>_000`` folder, are an
    InputError (which is run 0?)."""
    k = key if key is not None else (lambda n: n)
    base = Path(root)
    wanted = {k(n) for n in sequences}

    def stems(names: Iterable[str]) -> set[str]:
        return {k(n[:-4]) for n in names if n.endswith(".txt")}

    try:
        entries = list(os.scandir(base))
    except OSError:
        return [""]
    found: dict[str, dict[int, str]] = {}
    for e in entries:
        name = e.name  # '<param>_NNN': a cheap look at the end before the regex
        if len(name) < 5 or name[-4] != "_" or not name[-3:].isdigit():
            continue
        m = _RUN_DIR.match(name)
        if m is None or k(name) in wanted or not e.is_dir():
            continue
        try:
            if wanted.isdisjoint(stems(os.listdir(e.path))):
                continue
        except OSError:
            continue
        found.setdefault(m.group("param"), {})[int(m.group("run"))] = e.name
    if not found:
        return [""]
    flat = not wanted.isdisjoint(stems(e.name for e in entries if not e.is_dir()))
    if len(found) > 1:
        sets = "; ".join(f"{p}_{min(ids):03d}..{p}_{max(ids):03d}" for p, ids in sorted(found.items()))
        raise InputError(f"run folders of {len(found)} parameter sets ({sets}): which are the "
                         "results? point at a folder holding one set", base)
    ids = next(iter(found.values()))
    if flat and 0 in ids:
        raise InputError(f"result files beside the run folder {ids[0]}: which is run 0? move "
                         "one of them away", base)
    return ([""] if flat else []) + [f"{ids[r]}/" for r in sorted(ids)]


def locate_results(source: str | Path, sequences: Iterable[str]) -> ResultFiles:
    """Find each sequence's result files in a folder or zip (GOT-10k run layout first, then run
    folders (``find_run_folders``), then ``<seq>.txt``); sequences without any are a
    ``MissingDataError`` naming a few, and so is a run folder lacking a sequence the others have
    (an unfinished repeated run)."""
    src = _Source(Path(source))
    names = list(sequences)
    runs: dict[str, list[str]] = {}
    times: dict[str, str] = {}
    extra_times: dict[str, list[str]] = {}
    missing = []
    listing = None
    prefixes = [""]
    if src.zip is None:
        try:
            listing = set(os.listdir(src.root))
        except OSError:
            listing = None
        prefixes = find_run_folders(src.root, names)
    if prefixes != [""]:
        have = {p: (listing if p == "" else set(os.listdir(src.root / p))) for p in prefixes}
        gaps: list[str] = []
        for seq in names:
            found = src.run_files(seq)
            if found:
                runs[seq], times[seq] = found, f"{seq}/{seq}{TIME_SUFFIX}"
                continue
            in_runs = [p for p in prefixes if f"{seq}.txt" in have[p]]
            if not in_runs:
                missing.append(seq)
            elif len(in_runs) < len(prefixes):
                lack = [p.rstrip("/") or "." for p in prefixes if p not in in_runs]
                gaps.append(f"{seq} (not in {', '.join(lack)})")
            else:
                runs[seq] = [f"{p}{seq}.txt" for p in prefixes]
                times[seq] = f"{prefixes[0]}{seq}{TIME_SUFFIX}"
                extra_times[seq] = [f"{p}{seq}{TIME_SUFFIX}" for p in prefixes[1:]]
        if gaps:
            raise MissingDataError(f"{len(gaps)} sequence(s) lack a result in some run folders "
                                   f"of {src.root} (an unfinished repeated run: finish it with "
                                   "the same `eval --runs N`, or move that run folder away): "
                                   + ", ".join(gaps[:5]) + (" ..." if len(gaps) > 5 else ""))
    else:
        for seq in names:
            if listing is not None and f"{seq}.txt" in listing and seq not in listing:
                runs[seq], times[seq] = [f"{seq}.txt"], f"{seq}{TIME_SUFFIX}"
                continue
            found = src.run_files(seq)
            if found:
                runs[seq], times[seq] = found, f"{seq}/{seq}{TIME_SUFFIX}"
            elif src.exists(f"{seq}.txt"):
                runs[seq], times[seq] = [f"{seq}.txt"], f"{seq}{TIME_SUFFIX}"
            else:
                missing.append(seq)
    if missing:
        few = ", ".join(missing[:5]) + (" ..." if len(missing) > 5 else "")
        raise MissingDataError(f"{len(missing)} of {len(names)} sequences have no result in "
                               f"{src.root}: {few}")
    return ResultFiles(src, runs, times, listing, extra_times, prefixes)


def read_results(source: str | Path | ResultFiles, sequences: Iterable[str] | dict[str, int],
                 nan: str = "error", cache: bool = True, times: bool = True,
                 short: str = "error", digests: dict[str, str | None] | None = None
                 ) -> dict[str, RawResult]:
    """Read the results of the given sequences from a folder or zip in any known layout.

    ``sequences`` may map names to their frame counts; then a result with fewer rows is an
    error naming the file (results are never padded), or, with ``short="keep"``, returned as
    read with the line of any blank line inside it in ``RawResult.gaps`` (the metric protocol
    then decides, as its toolkit does). A sequence without a result file is a
    ``MissingDataError`` listing the first few missing names.

    ``digests`` (a dict), for a folder read with ``cache``: receives each result file's
    relative path -> content digest of the bytes its boxes were parsed from
    (``ResultFiles.signature(known=...)`` then names exactly what was scored).
    """
    if short not in ("error", "keep"):
        raise ValueError(f"short={short!r}: 'error' or 'keep'")
    names = list(sequences)
    lengths = sequences if isinstance(sequences, dict) else None
    files = source if isinstance(source, ResultFiles) else locate_results(source, names)
    src = files.source
    rels = [r for seq in names for r in files.runs[seq]]
    if src.zip is not None:
        arrays = parse_many([src.read(r) for r in rels], [src.path(r) for r in rels], nan=nan)
    else:
        root = os.fspath(src.root)
        used: list[str | None] | None = [] if digests is not None and cache else None
        arrays = read_box_files([os.path.join(root, r) for r in rels], nan=nan, cache=cache,
                                digests=used)
        if used is not None and digests is not None:
            digests.update(zip(rels, used))
    by_rel = dict(zip(rels, arrays))
    out: dict[str, RawResult] = {}
    for seq in names:
        run_rels, time_rel = files.runs[seq], files.times[seq]
        res = RawResult(seq, [by_rel[r] for r in run_rels], [src.path(r) for r in run_rels])
        if lengths is not None:
            n = int(lengths[seq])
            for arr, path, rel in zip(res.runs, res.sources, run_rels):
                if len(arr) < n:
                    blank = _inner_blank_line(src, files, rel)
                    if short == "keep":
                        res.gaps = res.gaps or [None] * len(res.runs)
                        res.gaps[run_rels.index(rel)] = blank
                        continue
                    if blank is not None:
                        raise InputError(
                            f"empty line: result has {len(arr)} rows but sequence {seq} has {n} "
                            "frames, and a blank line inside the file stands for a missing frame "
                            "(never padded)", path=path, line=blank)
                    raise InputError(
                        f"result has {len(arr)} rows but sequence {seq} has {n} frames (a result "
                        "shorter than the sequence is an error, never padded)", path=path,
                        line=len(arr) + 1)
        if times and files.has_time_file(seq):
            if src.zip is not None:
                res.times = _parse_times(src.read(time_rel).decode("utf-8", "replace"),
                                         src.path(time_rel))
            else:
                res.times = read_times(src.root / time_rel)
            res.time_source = src.path(time_rel)
            if src.zip is None and files.extra_times.get(seq) and res.times is not None:
                res.times = _run_time_columns(res.times, [src.root / r for r in
                                                         files.extra_times[seq]])
        out[seq] = res
    return out


def _run_time_columns(first: np.ndarray, paths: list[Path]) -> np.ndarray:
    """Run 0's per-frame times with the other runs' as more columns (the GOT-10k time-file
    shape); run 0's alone when another run has no time file or a different length."""
    cols = [first.reshape(-1)]
    for path in paths:
        t = read_times(path)
        if t is None or t.ndim != 1 or len(t) != len(cols[0]):
            return first
        cols.append(t)
    return np.column_stack(cols)


def _inner_blank_line(src: "_Source", files: "ResultFiles", rel: str) -> int | None:
    """1-based line of the first blank line followed by a non-blank one (None if none): where a
    short result lost its frame, reported at its own line rather than at the end of the file."""
    try:
        data = src.read(rel) if src.zip is not None else (src.root / rel).read_bytes()
    except OSError:
        return None
    lines = data.decode("utf-8", "replace").splitlines()
    last = max((i for i, line in enumerate(lines) if line.strip()), default=-1)
    for i, line in enumerate(lines[:last]):
        if not line.strip():
            return i + 1
    return None


def read_store(results_dir: str | Path, tracker: str, split_key: str,
               sequences: Iterable[str] | dict[str, int], nan: str = "error",
               cache: bool = True) -> dict[str, RawResult]:
    """Read a tracker's results from our store ``results/<tracker>/<dataset>-<split>/``."""
    folder = run_folder(results_dir, tracker, split_key)
    if not folder.is_dir():
        raise MissingDataError(f"no results of tracker {tracker!r} for {split_key}: {folder} "
                               f"(run `mfv2bench eval` first or pass --results)")
    return read_results(folder, sequences, nan=nan, cache=cache)
