"""``results import``: bring others' published raw results (a folder, zip or tar archive) into
the store under a tracker name, normalised to our layout (comma, full-precision floats, one
file per sequence). Archives whose member paths escape the target (zip-slip) are refused.

The split is given as plain data (``SplitSequences``: names and frame counts); finding it on
disk is the caller's business (the data-set layer sits above this one)."""

from __future__ import annotations

import difflib
import logging
import os
import re
import tarfile
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np

from .. import __version__
from ..errors import ConfigError, InputError, MissingDataError, Mfv2benchError
from ..hashing import file_sha256
from ..provenance import git_commit
from . import manifest as mf
from .layout import repeat_key
from .readers import (MAX_ARCHIVE_BYTES, MAX_ARCHIVE_MEMBERS, find_run_folders, locate_results,
                      read_results)
from .store import ResultsStore

FORMATS = ("auto", "pytracking", "got10k", "trackingnet")
BOX_FORMATS = ("xywh", "xyxy")
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SplitSequences:
    """What an import needs to know of a split, as plain data."""

    dataset: str
    split: str
    key: str                          # the split key, e.g. ``lasot-test``
    lengths: dict[str, int]           # sequences on disk -> frame counts
    expected: int                     # sequences the split has in all
    missing: tuple[str, ...] = ()     # sequences of the split not on disk
    official: tuple[str, ...] | None = None  # the shipped official list (None: none shipped)
    annotations: dict[str, dict[str, Any]] = field(default_factory=dict)  # seq -> GT fingerprint
    gt: dict[str, Any] = field(default_factory=dict)  # seq -> (N,4) xywh GT (box-format checks)


def import_coverage(data: SplitSequences, present: list[str], missing: list[str]
                    ) -> tuple[str, list[str]]:
    """``full`` / ``subset`` / ``partial`` of an import, judged like a run (against the official
    list where one is shipped), and why."""
    if missing:
        return mf.PARTIAL, [f"{len(missing)} of {data.expected} sequences without results "
                            "(--allow-partial)"]
    if data.official is not None:
        ref = set(data.official)
        names = set(present)
        reasons = []
        if ref - names:
            reasons.append(f"root list names {len(names & ref)} of the {len(ref)} official "
                           "sequences")
        if names - ref:
            reasons.append(f"{len(names - ref)} sequence(s) outside the official list")
        if reasons:
            return mf.SUBSET, reasons
    return mf.FULL, []


@dataclass
class ImportResult:
    tracker: str
    split_key: str
    folder: Path
    sequences: list[str]
    missing: list[str] = field(default_factory=list)
    with_times: int = 0
    manifest: dict[str, Any] = field(default_factory=dict)
    renamed: dict[str, str] = field(default_factory=dict)     # file stem -> sequence name
    outside: list[str] = field(default_factory=list)          # result files outside the split
    not_on_disk: list[str] = field(default_factory=list)      # results whose sequence is absent
    short: dict[str, tuple[int, int]] = field(default_factory=dict)  # seq -> (rows, frames)
    warnings: list[str] = field(default_factory=list)         # box-format doubts etc.


def _safe_member(name: str, archive: Path) -> str:
    """The member's relative path, or an InputError when it would land outside the target."""
    clean = name.replace("\\", "/")
    p = PurePosixPath(clean)
    if clean.startswith("/") or p.is_absolute() or (len(clean) > 1 and clean[1] == ":") \
            or ".." in p.parts:
        raise InputError(f"archive member {name!r} escapes the extraction folder (zip-slip); "
                         "refusing the whole archive", archive)
    return clean


DEFAULT_MAX_BYTES = MAX_ARCHIVE_BYTES      # total extracted bytes of one archive (4 GiB)
DEFAULT_MAX_MEMBERS = MAX_ARCHIVE_MEMBERS  # entries of one archive


def _check_members(archive: Path, names: list[str], sizes: list[int], max_bytes: int,
                   max_members: int) -> None:
    """Refuse an archive that repeats a member (the last copy would silently win) or whose
    entries or extracted bytes exceed the caps (a zip bomb would fill the disk)."""
    if len(names) > max_members:
        raise InputError(f"archive has more than {max_members:,} members; refusing it (raise the "
                         "cap with --max-members if it is genuine)", archive)
    seen: set[str] = set()
    for name in names:
        key = name.rstrip("/")
        if key in seen:
            raise InputError(f"archive member {name!r} appears more than once (which copy is the "
                             "result?); refusing the whole archive", archive)
        seen.add(key)
    total = sum(sizes)
    if total > max_bytes:
        raise InputError(f"archive would extract to {total:,} bytes, over the cap of "
                         f"{max_bytes:,}; refusing it (raise the cap with --max-bytes if it is "
                         "genuine)", archive)


def extract_archive(archive: Path, target: Path, max_bytes: int = DEFAULT_MAX_BYTES,
                    max_members: int = DEFAULT_MAX_MEMBERS) -> None:
    """Extract a zip or tar archive after checking every member path (and tar link targets),
    duplicate members, the member count and the total extracted size."""
    if max_bytes < 1 or max_members < 1:
        raise ConfigError("archive caps must be at least 1 (bytes, members)")
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as zf:
            members = zf.infolist()
            for m in members:
                _safe_member(m.filename, archive)
                mode = (m.external_attr >> 16) & 0o170000
                if mode == 0o120000:
                    raise InputError(f"archive member {m.filename!r} is a symbolic link; refusing "
                                     "the whole archive", archive)
            # a member never yields more than its declared size (zipfile stops there)
            _check_members(archive, [m.filename.replace("\\", "/") for m in members],
                           [m.file_size for m in members], max_bytes, max_members)
            zf.extractall(target)
        return
    if tarfile.is_tarfile(archive):
        with tarfile.open(archive) as tf:
            members = []
            for m in tf:  # counted while reading: a huge index is refused before it is held
                members.append(m)
                if len(members) > max_members:
                    break
            for m in members:
                _safe_member(m.name, archive)
                if m.issym() or m.islnk() or m.isdev():
                    raise InputError(f"archive member {m.name!r} is a link or device; refusing "
                                     "the whole archive", archive)
            _check_members(archive, [m.name for m in members],
                           [m.size for m in members if m.isfile()], max_bytes, max_members)
            tf.extractall(target, members=members, filter="data")
        return
    raise InputError("not a folder, zip or tar archive of raw results", archive)


def _in_archive(exc: Mfv2benchError, tmp: Path, archive: Path) -> Mfv2benchError:
    """The error with paths inside the extraction folder (deleted once the import ends) told
    as ``archive:member``."""
    prefix = str(tmp).rstrip("/") + "/"
    if isinstance(exc, InputError) and exc.path is not None and str(exc.path).startswith(prefix):
        member = str(exc.path)[len(prefix):]
        return InputError(exc.reason.replace(prefix, f"{archive}:"), f"{archive}:{member}",
                          exc.line)
    text = str(exc)
    if prefix not in text and str(tmp) not in text:
        return exc
    return type(exc)(text.replace(prefix, f"{archive}:").replace(str(tmp), str(archive)))


def name_key(name: str) -> str:
    """The key two spellings of one sequence name share: case and the common separators
    (``-``, ``_``, space, none) ignored, so ``jogging_1``, ``Jogging-1`` and ``jogging1`` meet."""
    return re.sub(r"[-_ ]+", "", name).casefold()


def _entry_stems(folder: Path) -> list[str]:
    """Result entries of a folder: ``<stem>.txt`` files (time files excluded) and sub-folders
    (GOT-10k run layout), by stem; a stem with both counts once."""
    stems: list[str] = []
    seen: set[str] = set()
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError:
        return []
    for e in entries:
        if e.name == "__MACOSX" or e.name.startswith("."):
            continue
        if e.is_dir():
            stem = e.name
        elif e.name.endswith(".txt") and not e.name.endswith("_time.txt"):
            stem = e.name[:-4]
        else:
            continue
        if stem not in seen:
            seen.add(stem)
            stems.append(stem)
    return stems


@dataclass
class NameMatch:
    """Which result entry (file stem or folder) holds which sequence of the split."""

    found: dict[str, str]            # sequence -> stem
    renamed: dict[str, str]          # stem -> sequence, where they differ
    outside: list[str]               # stems matching no sequence of the split


def match_names(stems: list[str], sequences: list[str]) -> NameMatch:
    """Match result entries to sequence names: exactly, else by ``name_key`` (case and
    separators ignored). Two entries for one sequence are an error naming both."""
    by_key: dict[str, list[str]] = {}
    for st in stems:
        by_key.setdefault(name_key(st), []).append(st)
    found: dict[str, str] = {}
    renamed: dict[str, str] = {}
    used: set[str] = set()
    for seq in sequences:
        cands = by_key.get(name_key(seq), [])
        if len(cands) > 1:
            raise InputError(f"sequence {seq} matches more than one result: "
                             f"{' and '.join(repr(c) for c in cands)} (which is the result? "
                             "remove or rename one)")
        if cands:
            found[seq] = cands[0]
            used.add(cands[0])
            if cands[0] != seq:
                renamed[cands[0]] = seq
    return NameMatch(found, renamed, [st for st in stems if st not in used])


def _few(names: list[str], n: int = 5) -> str:
    return ", ".join(names[:n]) + (f" ... (+{len(names) - n})" if len(names) > n else "")


def _near(missing: list[str], spare: list[str], n: int = 5) -> str:
    """``seq ~ file`` suggestions (difflib) for names without a result."""
    keys = {name_key(s): s for s in spare}
    tips = []
    for seq in missing[:n]:
        close = difflib.get_close_matches(name_key(seq), list(keys), n=1, cutoff=0.6)
        if close:
            tips.append(f"{seq} ~ {keys[close[0]]}")
    return f" (near matches: {'; '.join(tips)})" if tips else ""


def _results_root(base: Path, names: list[str]) -> Path:
    """The folder (base or below) holding the most sequences' result files: archives often wrap
    results in ``<tracker>/<dataset>/``. Names count in any spelling ``name_key`` accepts. A
    run folder (pytracking ``<param>_000``) gives way to its parent holding the other runs."""
    best = _densest_folder(base, names)
    if best != base and len(find_run_folders(best.parent, names, key=name_key)) > 1:
        return best.parent
    return best


def _densest_folder(base: Path, names: list[str]) -> Path:
    """The folder (base or below) holding the most sequences' result files."""
    wanted = {name_key(n) for n in names}
    best, best_n = base, -1
    for folder, dirs, files in os.walk(base):
        dirs[:] = [d for d in dirs if d != "__MACOSX"]
        n = sum(1 for f in files if f.endswith(".txt") and name_key(f[:-4]) in wanted)
        n += sum(1 for d in dirs if name_key(d) in wanted)
        if n > best_n:
            best, best_n = Path(folder), n
    return best


def _xyxy_to_xywh(b: np.ndarray) -> np.ndarray:
    out = np.array(b, dtype=np.float64, copy=True)
    out[..., 2] = b[..., 2] - b[..., 0]
    out[..., 3] = b[..., 3] - b[..., 1]
    return out


def _iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise IoU of xywh boxes (NaN where either row is NaN)."""
    ax2, ay2 = a[:, 0] + a[:, 2], a[:, 1] + a[:, 3]
    bx2, by2 = b[:, 0] + b[:, 2], b[:, 1] + b[:, 3]
    iw = np.clip(np.minimum(ax2, bx2) - np.maximum(a[:, 0], b[:, 0]), 0, None)
    ih = np.clip(np.minimum(ay2, by2) - np.maximum(a[:, 1], b[:, 1]), 0, None)
    inter = iw * ih
    union = np.clip(a[:, 2], 0, None) * np.clip(a[:, 3], 0, None) \
        + np.clip(b[:, 2], 0, None) * np.clip(b[:, 3], 0, None) - inter
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(union > 0, inter / np.where(union > 0, union, 1), 0.0)


def box_format_check(boxes: np.ndarray, gt: np.ndarray | None) -> dict[str, Any]:
    """How a result reads against its ground truth: first-row IoU and mean IoU as xywh and as
    xyxy, the share of rows with x2>x1 and y2>y1, and a verdict (``xywh``, ``xyxy`` or
    ``unclear``). Results in corner format import silently and score lower without this."""
    b = np.asarray(boxes, dtype=np.float64)
    if gt is None or len(b) == 0:
        return {"verdict": "unknown"}
    g = np.asarray(gt, dtype=np.float64)[: len(b)]
    b = b[: len(g)]
    ok = np.isfinite(b).all(1) & np.isfinite(g).all(1) & (g[:, 2] > 0) & (g[:, 3] > 0)
    if not ok.any():
        return {"verdict": "unknown"}
    bv, gv = b[ok], g[ok]
    as_wh, as_xy = _iou(bv, gv), _iou(_xyxy_to_xywh(bv), gv)
    corner = float(np.mean((bv[:, 2] > bv[:, 0]) & (bv[:, 3] > bv[:, 1])))
    first = int(np.argmax(ok))
    f_wh = float(_iou(b[first:first + 1], g[first:first + 1])[0])
    f_xy = float(_iou(_xyxy_to_xywh(b[first:first + 1]), g[first:first + 1])[0])
    m_wh, m_xy = float(np.mean(as_wh)), float(np.mean(as_xy))
    if (f_xy >= 0.9 and f_wh < 0.9) or (corner >= 0.98 and m_xy > m_wh + 0.15 and f_xy >= f_wh):
        verdict = "xyxy"
    elif f_wh >= 0.5 or m_wh > max(m_xy, 0.2):
        verdict = "xywh"
    else:
        verdict = "unclear"
    return {"verdict": verdict, "first_iou_xywh": f_wh, "first_iou_xyxy": f_xy,
            "mean_iou_xywh": m_wh, "mean_iou_xyxy": m_xy, "corner_rows": corner}


def _box_warnings(checks: dict[str, dict[str, Any]], box_format: str) -> list[str]:
    """One line per kind of doubt, naming a few sequences."""
    other = "xyxy" if box_format == "xywh" else "xywh"
    flipped = [s for s, c in checks.items() if c["verdict"] == other]
    off = [s for s, c in checks.items() if c["verdict"] == "unclear"
           or (c["verdict"] == box_format and c.get("first_iou_" + box_format, 1.0) < 0.5)]
    out = []
    if flipped:
        c = checks[flipped[0]]
        out.append(f"{len(flipped)} of {len(checks)} result(s) read as {other} rather than "
                   f"{box_format} (e.g. {flipped[0]}: first row IoU with the init box "
                   f"{c['first_iou_' + box_format]:.2f} as {box_format}, "
                   f"{c['first_iou_' + other]:.2f} as {other}; mean IoU "
                   f"{c['mean_iou_' + box_format]:.2f} vs {c['mean_iou_' + other]:.2f}): "
                   f"{_few(flipped)}; re-import with --box-format {other} if the release "
                   f"writes {'x1,y1,x2,y2' if other == 'xyxy' else 'x,y,w,h'}")
    if off:
        c = checks[off[0]]
        out.append(f"{len(off)} result(s) disagree with the init box in the first row (e.g. "
                   f"{off[0]}: IoU {c.get('first_iou_' + box_format, 0.0):.2f}): {_few(off)}")
    return out


def import_results(source: str | Path, as_name: str, data: SplitSequences,
                   results_dir: str | Path, fmt: str = "auto", force: bool = False,
                   allow_partial: bool = False, max_bytes: int = DEFAULT_MAX_BYTES,
                   max_members: int = DEFAULT_MAX_MEMBERS, box_format: str = "xywh"
                   ) -> ImportResult:
    """Read raw results of every sequence of the split from ``source`` and write them to
    ``<results_dir>/<as_name>/<split key>/`` with an ``imported`` manifest.

    ``fmt``: pytracking (``<seq>.txt``, comma or tab, or run folders ``<param>_000/<seq>.txt``
    ...), got10k (``<seq>/<seq>_001.txt``, ``_002``...), trackingnet (``<seq>.txt``); auto
    accepts any. Run ids are kept: run ``r`` of the release (the ``r``-th in id order) becomes
    run ``r`` of the store (``layout.repeat_key``), each run folder's manifest naming its source
    run; the analysis averages them. Integer boxes become floats.
    File names match sequence names case-insensitively and across ``-``/``_``/space/none
    (each renaming listed). ``box_format`` ``xyxy`` converts corner rows to x,y,w,h; either way
    rows that read better in the other format are warned. A result shorter than its sequence
    is refused (never padded); with ``allow_partial`` it is stored as released, unpadded, and
    listed in run.json's ``import.short`` (rows, frames): each metric protocol's
    ``pred_shorter`` rule decides at scoring, as that protocol's toolkit does. An archive is refused with a repeated member, over ``max_members``
    entries or over ``max_bytes`` extracted; errors about its files name ``archive:member:line``."""
    if fmt not in FORMATS:
        raise ConfigError(f"unknown result format {fmt!r} (one of {', '.join(FORMATS)})")
    if box_format not in BOX_FORMATS:
        raise ConfigError(f"unknown box format {box_format!r} (one of {', '.join(BOX_FORMATS)})")
    src = Path(source).expanduser()
    if not src.exists():
        raise MissingDataError(f"results to import not found: {src}")
    store = ResultsStore(results_dir)
    folder = store.sequence_dir(as_name, data.key)
    with tempfile.TemporaryDirectory(prefix="mfv2bench-import-") as tmp:
        if src.is_dir():
            return _import_from(src, src, as_name, data, store, folder, fmt, force, allow_partial,
                                box_format)
        extract_archive(src, Path(tmp), max_bytes=max_bytes, max_members=max_members)
        try:
            return _import_from(Path(tmp), src, as_name, data, store, folder, fmt, force,
                                allow_partial, box_format)
        except Mfv2benchError as exc:
            raise _in_archive(exc, Path(tmp), src) from None


def _run_times(times: np.ndarray | None, run: int, n_frames: int) -> np.ndarray | None:
    """Run ``run``'s per-frame times from a time array (one column per run, GOT-10k style; a
    single column is run 0's), None when there are none for that run or the length is wrong."""
    if times is None:
        return None
    if times.ndim == 2:
        t = times[:, run] if run < times.shape[1] else None
    else:
        t = times if run == 0 else None
    return t if t is not None and len(t) == n_frames else None


def _source_run_ids(files: Any, seq: str, n_runs: int) -> list[str]:
    """How the release names each imported run: its run folder (``dimp50_003``), GOT-10k's file
    suffix (``_002``), or ``.`` for a single flat run."""
    rels = files.runs[seq][:n_runs]
    if files.run_folders and files.run_folders != [""]:
        return [(p.rstrip("/") or ".") for p in files.run_folders[:n_runs]]
    return [f"_{r[-7:-4]}" if "/" in r else "." for r in rels]  # GOT-10k <seq>_001.txt: _001


def _coverage_error(data: SplitSequences, src: Path, no_result: list[str], not_on_disk: list[str],
                    neither: list[str], spare: list[str]) -> str:
    """Which side lacks what: results missing in the source vs sequences missing under the
    data root, with counts and a few names."""
    parts = []
    if no_result:
        parts.append(f"{len(no_result)} of the {len(data.lengths)} {data.key} sequences under the "
                     f"data root have no result in {src}: {_few(no_result)}"
                     f"{_near(no_result, spare)}")
    if not_on_disk:
        parts.append(f"{len(not_on_disk)} sequence(s) with a result in {src} are not under the "
                     f"data root (the data root lacks them, not the results): "
                     f"{_few(not_on_disk)}")
    if neither:
        parts.append(f"{len(neither)} sequence(s) of the split are neither under the data root "
                     f"nor in the results: {_few(neither)}")
    return "; ".join(parts)


def _import_from(base: Path, src: Path, as_name: str, data: SplitSequences, store: ResultsStore,
                 folder: Path, fmt: str, force: bool, allow_partial: bool,
                 box_format: str = "xywh") -> ImportResult:
    """The import proper, from a folder (the source itself or the extracted archive)."""
    lengths = dict(data.lengths)
    split_names = list(lengths) + [s for s in data.missing if s not in lengths]
    res_root = _results_root(base, split_names)
    run_dirs = find_run_folders(res_root, split_names, key=name_key)
    stems = [st for st in _entry_stems(res_root / run_dirs[0])
             if run_dirs == [""] or f"{st}/" not in run_dirs]
    match = match_names(stems, split_names)
    present = [s for s in lengths if s in match.found]
    no_result = [s for s in lengths if s not in match.found]
    not_on_disk = [s for s in data.missing if s in match.found]
    neither = [s for s in data.missing if s not in match.found]
    missing = no_result + list(data.missing)
    if match.outside:
        log.warning("%d result file(s) in %s match no sequence of %s: %s", len(match.outside),
                    src, data.key, _few(match.outside))
    if not present:
        why = _coverage_error(data, src, no_result, not_on_disk, neither, match.outside)
        raise MissingDataError(f"no result file of any {data.key} sequence under the data root "
                               f"in {src}" + (f": {why}" if why else ""))
    if missing and not allow_partial:
        why = _coverage_error(data, src, no_result, not_on_disk, neither, match.outside)
        raise MissingDataError(f"{why} (pass --allow-partial to import the rest; the import is "
                               "then marked partial)")
    located = locate_results(res_root, [match.found[s] for s in present])
    files = type(located)(located.source, {s: located.runs[match.found[s]] for s in present},
                          {s: located.times[match.found[s]] for s in present}, located.listing,
                          {s: located.extra_times.get(match.found[s], []) for s in present},
                          located.run_folders)
    layouts = {"got10k" if "/" in files.runs[s][0] and run_dirs == [""] else "flat"
               for s in present}
    if fmt == "got10k" and layouts != {"got10k"}:
        raise InputError("--format got10k expects <seq>/<seq>_001.txt files", src)
    if fmt in ("pytracking", "trackingnet") and layouts != {"flat"}:
        raise InputError(f"--format {fmt} expects one <seq>.txt file per sequence", src)
    raw = read_results(files, present, nan="keep", cache=False)
    short: dict[str, tuple[int, int]] = {}
    for s in present:
        for run, src_path in zip(raw[s].runs, raw[s].sources):  # every run must fit
            rows = len(run)
            if rows < lengths[s]:
                short.setdefault(s, (rows, lengths[s]))
            elif rows != lengths[s]:
                raise InputError(f"result has {rows} rows but sequence {s} has {lengths[s]} "
                                 "frames", src_path)
    if short:
        first = next(iter(short))
        detail = ", ".join(f"{s} ({r} of {n} rows)" for s, (r, n) in list(short.items())[:5])
        if not allow_partial:
            r0, n0 = short[first]
            raise InputError(f"result has {r0} rows but sequence {first} has {n0} frames; "
                             f"{len(short)} result(s) shorter than their sequence: {detail}"
                             f"{' ...' if len(short) > 5 else ''} (results are never padded; "
                             "pass --allow-partial to store them as released: each metric "
                             "protocol's rule then decides at scoring)", raw[first].sources[0],
                             short[first][0] + 1)
        # --allow-partial: short files are stored as released (never padded) and noted in
        # run.json's import.short; each metric protocol's pred_shorter rule decides at scoring
        log.warning("%d result(s) shorter than the sequence, stored unpadded: %s", len(short),
                    detail)
    n_runs = min(len(raw[s].runs) for s in present)
    if any(len(raw[s].runs) != n_runs for s in present):
        counts = sorted({len(raw[s].runs) for s in present})
        log.warning("sequences have %s runs in %s: the first %d of each are imported",
                    "/".join(map(str, counts)), src, n_runs)
    boxes = {s: [np.asarray(b, dtype=np.float64) for b in raw[s].runs[:n_runs]] for s in present}
    if box_format == "xyxy":
        boxes = {s: [_xyxy_to_xywh(b) for b in bs] for s, bs in boxes.items()}
    checks = {s: box_format_check(raw[s].boxes, data.gt.get(s)) for s in present
              if s in data.gt}
    checks = {s: c for s, c in checks.items() if c["verdict"] != "unknown"}
    warnings = _box_warnings(checks, box_format)
    for w in warnings:
        log.warning("%s", w)
    with store.lock(as_name, data.key):
        old = store.read_manifest(as_name, data.key)
        has_files = folder.is_dir() and any(folder.glob("*.txt"))
        if (old is not None or has_files) and not force:
            raise ConfigError(f"{folder} already holds results; pass --force to replace them")
        store.clear(as_name, data.key)
        store.remove_repeats(as_name, data.key, keep=1)
        with_times = 0
        for s in present:
            for r in range(n_runs):  # run r into its run folder (layout.repeat_key), ids kept
                times = _run_times(raw[s].times, r, len(boxes[s][r]))
                with_times += times is not None and r == 0
                store.write_sequence(as_name, repeat_key(data.key, r), s, boxes[s][r], times)
        manifest = {
            "format": mf.FORMAT_VERSION, "tracker": as_name, "dataset": data.dataset,
            "split": data.split, "split_key": data.key, "imported": True,
            "source": str(src.resolve()),
            "source_sha256": None if src.is_dir() else file_sha256(str(src)),
            "source_format": fmt if fmt != "auto" else ("got10k" if layouts == {"got10k"} else "pytracking"),
            "source_box_format": box_format,
            "runs_in_source": max(len(raw[s].runs) for s in present),
            "runs_imported": n_runs,
            "source_run_ids": _source_run_ids(files, present[0], n_runs),
            "spec_hash": None, "checkpoint": None, "timing": "imported",
            "package": {"name": "mfv2bench", "version": __version__, "git_commit": git_commit()},
            "started": mf.utc_now(), "finished": mf.utc_now(),
            "complete": not missing, "partial": bool(missing),
            "sequences": {"expected": data.expected, "done": len(present), "failed": [],
                          "missing": missing},
            "import": {"renamed": {st: s for st, s in match.renamed.items() if s in present},
                       "outside_split": match.outside, "not_on_disk": not_on_disk,
                       "short": mf.short_fields(short),
                       "warnings": warnings},
        }
        state, reasons = import_coverage(data, present, missing)
        ref = data.official if data.official is not None else list(lengths) + list(data.missing)
        manifest.update(mf.coverage_fields(state, len(ref), len(set(present) & set(ref)), reasons))
        manifest[mf.ANNOTATIONS_KEY] = {s: data.annotations[s] for s in present
                                        if s in data.annotations}
        store.write_manifest(as_name, data.key, manifest)
        for r in range(1, n_runs):  # each run folder says which run of the release it holds
            store.write_manifest(as_name, repeat_key(data.key, r),
                                 {**manifest, mf.RUN_ID_KEY: r,
                                  "source_run_id": manifest["source_run_ids"][r]})
    return ImportResult(as_name, data.key, folder, present, missing, with_times, manifest,
                        renamed=dict(match.renamed), outside=list(match.outside),
                        not_on_disk=not_on_disk, short=short, warnings=warnings)
