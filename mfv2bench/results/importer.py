"""``results import``: bring others' published raw results (a folder, zip or tar archive) into
the store under a tracker name, normalised to our layout (comma, full-precision floats, one
file per sequence). Archives whose member paths escape the target (zip-slip) are refused.

The split is given as plain data (``SplitSequences``: names and frame counts); finding it on
disk is the caller's business (the data-set layer sits above this one)."""

from __future__ import annotations

import os
import tarfile
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from .. import __version__
from ..errors import ConfigError, InputError, MissingDataError, Mfv2benchError
from ..hashing import file_sha256
from ..provenance import git_commit
from . import manifest as mf
from .readers import MAX_ARCHIVE_BYTES, MAX_ARCHIVE_MEMBERS, locate_results, read_results
from .store import ResultsStore

FORMATS = ("auto", "pytracking", "got10k", "trackingnet")


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


def _results_root(base: Path, names: list[str]) -> Path:
    """The folder (base or below) holding the most sequences' result files: archives often wrap
    results in ``<tracker>/<dataset>/``."""
    wanted = set(names)
    best, best_n = base, -1
    for folder, dirs, files in os.walk(base):
        dirs[:] = [d for d in dirs if d != "__MACOSX"]
        n = sum(1 for f in files if f.endswith(".txt") and f[:-4] in wanted)
        n += sum(1 for d in dirs if d in wanted)
        if n > best_n:
            best, best_n = Path(folder), n
    return best


def import_results(source: str | Path, as_name: str, data: SplitSequences,
                   results_dir: str | Path, fmt: str = "auto", force: bool = False,
                   allow_partial: bool = False, max_bytes: int = DEFAULT_MAX_BYTES,
                   max_members: int = DEFAULT_MAX_MEMBERS) -> ImportResult:
    """Read raw results of every sequence of the split from ``source`` and write them to
    ``<results_dir>/<as_name>/<split key>/`` with an ``imported`` manifest.

    ``fmt``: pytracking (``<seq>.txt``, comma or tab), got10k (``<seq>/<seq>_001.txt``; the first
    run is kept), trackingnet (``<seq>.txt``); auto accepts any. Integer boxes become floats.
    An archive is refused with a repeated member, over ``max_members`` entries or over
    ``max_bytes`` extracted; errors about its files name ``archive:member:line``."""
    if fmt not in FORMATS:
        raise ConfigError(f"unknown result format {fmt!r} (one of {', '.join(FORMATS)})")
    src = Path(source).expanduser()
    if not src.exists():
        raise MissingDataError(f"results to import not found: {src}")
    store = ResultsStore(results_dir)
    folder = store.sequence_dir(as_name, data.key)
    with tempfile.TemporaryDirectory(prefix="mfv2bench-import-") as tmp:
        if src.is_dir():
            return _import_from(src, src, as_name, data, store, folder, fmt, force, allow_partial)
        extract_archive(src, Path(tmp), max_bytes=max_bytes, max_members=max_members)
        try:
            return _import_from(Path(tmp), src, as_name, data, store, folder, fmt, force,
                                allow_partial)
        except Mfv2benchError as exc:
            raise _in_archive(exc, Path(tmp), src) from None


def _import_from(base: Path, src: Path, as_name: str, data: SplitSequences, store: ResultsStore,
                 folder: Path, fmt: str, force: bool, allow_partial: bool) -> ImportResult:
    """The import proper, from a folder (the source itself or the extracted archive)."""
    lengths = dict(data.lengths)
    res_root = _results_root(base, list(lengths))
    present = [s for s in lengths if (res_root / f"{s}.txt").is_file() or (res_root / s).is_dir()]
    missing = [s for s in lengths if s not in present] + list(data.missing)
    if not present:
        raise MissingDataError(f"no result file of any {data.key} sequence in {src}")
    if missing and not allow_partial:
        few = ", ".join(missing[:5]) + (" ..." if len(missing) > 5 else "")
        raise MissingDataError(f"{len(missing)} of {data.expected} sequences of {data.key} have "
                               f"no result in {src}: {few} (pass --allow-partial to import the "
                               "rest; the import is then marked partial)")
    files = locate_results(res_root, present)
    layouts = {"got10k" if "/" in files.runs[s][0] else "flat" for s in present}
    if fmt == "got10k" and layouts != {"got10k"}:
        raise InputError("--format got10k expects <seq>/<seq>_001.txt files", src)
    if fmt in ("pytracking", "trackingnet") and layouts != {"flat"}:
        raise InputError(f"--format {fmt} expects one <seq>.txt file per sequence", src)
    raw = read_results(files, {s: lengths[s] for s in present}, nan="keep", cache=False)
    for s in present:
        rows = len(raw[s].boxes)
        if rows != lengths[s]:
            raise InputError(f"result has {rows} rows but sequence {s} has {lengths[s]} frames",
                             raw[s].sources[0])
    with store.lock(as_name, data.key):
        old = store.read_manifest(as_name, data.key)
        has_files = folder.is_dir() and any(folder.glob("*.txt"))
        if (old is not None or has_files) and not force:
            raise ConfigError(f"{folder} already holds results; pass --force to replace them")
        store.clear(as_name, data.key)
        with_times = 0
        for s in present:
            times = raw[s].times
            if times is not None and times.ndim == 2:
                times = times[:, 0]
            if times is not None and len(times) != lengths[s]:
                times = None
            with_times += times is not None
            store.write_sequence(as_name, data.key, s, raw[s].boxes, times)
        manifest = {
            "format": mf.FORMAT_VERSION, "tracker": as_name, "dataset": data.dataset,
            "split": data.split, "split_key": data.key, "imported": True,
            "source": str(src.resolve()),
            "source_sha256": None if src.is_dir() else file_sha256(str(src)),
            "source_format": fmt if fmt != "auto" else ("got10k" if layouts == {"got10k"} else "pytracking"),
            "runs_in_source": max(len(raw[s].runs) for s in present),
            "spec_hash": None, "checkpoint": None, "timing": "imported",
            "package": {"name": "mfv2bench", "version": __version__, "git_commit": git_commit()},
            "started": mf.utc_now(), "finished": mf.utc_now(),
            "complete": not missing, "partial": bool(missing),
            "sequences": {"expected": data.expected, "done": len(present), "failed": [],
                          "missing": missing},
        }
        state, reasons = import_coverage(data, present, missing)
        ref = data.official if data.official is not None else list(lengths) + list(data.missing)
        manifest.update(mf.coverage_fields(state, len(ref), len(set(present) & set(ref)), reasons))
        manifest[mf.ANNOTATIONS_KEY] = {s: data.annotations[s] for s in present
                                        if s in data.annotations}
        store.write_manifest(as_name, data.key, manifest)
    return ImportResult(as_name, data.key, folder, present, missing, with_times, manifest)
