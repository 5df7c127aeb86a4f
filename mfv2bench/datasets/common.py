"""What the table-driven and folder-driven loaders (OTB-100, UAV123, NfS, TNL2K, custom) share:
the sequence tables shipped as package data, frame folders listed once, frame lists built from a
number range or from the images present, and the "wrong layout" error that says what was
expected and what was found.
"""

from __future__ import annotations

import csv
import os
import re
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Callable

from ..errors import InputError, MissingDataError
from .frames import FrameList
from .listing import SplitListing, contained_path, list_frame_folder
from .splits import check_name

IMAGE_EXTS = (".jpg", ".jpeg", ".png", ".bmp")
_LAST_NUMBER = re.compile(r"(\d+)(?=\.[A-Za-z]+$)")


@lru_cache(maxsize=None)
def _table_cached(filename: str) -> tuple[dict[str, str], ...]:
    ref = resources.files("mfv2bench.datasets").joinpath("splits", filename)
    with resources.as_file(ref) as p, open(p, newline="", encoding="utf-8") as f:
        rows = tuple({k: (v or "").strip() for k, v in row.items()} for row in csv.DictReader(f))
    for i, row in enumerate(rows):
        check_name(row["name"], f"package:{filename}", i + 2)
    return rows


def package_table(filename: str) -> list[dict[str, str]]:
    """Rows of a sequence table shipped in ``mfv2bench/datasets/splits`` (CSV with a header)."""
    return [dict(r) for r in _table_cached(filename)]


def read_root_table(path: Path, columns: tuple[str, ...]) -> list[tuple[dict[str, str], int]]:
    """A sequence table a root carries (synthetic trees, custom roots): CSV with a header holding
    at least ``columns``; (row, 1-based line) per row, names checked, duplicates refused."""
    try:
        with open(path, newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f)
            header = [h.strip() for h in (reader.fieldnames or [])]
            missing = [c for c in columns if c not in header]
            if missing:
                raise InputError(f"sequence table lacks column(s) {', '.join(missing)} "
                                 f"(header: {', '.join(header) or 'none'})", path, 1)
            out: list[tuple[dict[str, str], int]] = []
            seen: set[str] = set()
            for row in reader:
                line = reader.line_num
                clean = {(k or "").strip(): (v or "").strip() for k, v in row.items()}
                if not any(clean.values()):
                    continue
                name = check_name(clean.get("name", ""), path, line)
                if name in seen:
                    raise InputError(f"sequence {name!r} listed twice", path, line)
                seen.add(name)
                out.append((clean, line))
    except UnicodeDecodeError:
        raise InputError("sequence table is not UTF-8 text", path) from None
    except csv.Error as exc:
        raise InputError(f"sequence table is not valid CSV: {exc}", path) from None
    except OSError as exc:
        raise InputError(f"cannot read sequence table: {exc.strerror or exc}", path) from None
    return out


def table_int(row: dict[str, str], key: str, source: str | Path, line: int | None) -> int:
    """An integer column of a table row; anything else is an ``InputError`` at that line."""
    value = row.get(key, "")
    try:
        return int(value)
    except ValueError:
        raise InputError(f"column {key} is {value!r}, expected an integer", source, line) from None


class FolderCache:
    """Directory listings, each read once per loader (UAV123 cuts several sequences from one
    folder; OTB's Jogging and Skating2 hold two targets each)."""

    def __init__(self) -> None:
        self._names: dict[str, frozenset[str]] = {}

    def names(self, folder: str) -> frozenset[str]:
        if folder not in self._names:
            self._names[folder] = frozenset(list_frame_folder(folder))
        return self._names[folder]


class TableLoader:
    """What every benchmark loader of this family holds: its root, data-set and split names, and
    one folder-listing cache (sequences cut from one folder list it once)."""

    def __init__(self, root: Path, dataset: str, split: str, official: str | None):
        self.root = root
        self.dataset = dataset
        self.split = split
        self._folders = FolderCache()

    def _paths(self, name: str, listing: SplitListing) -> tuple[dict, str, str]:
        """(table entry, frame folder, annotation file) of a sequence (loaders with a table)."""
        raise NotImplementedError

    def exists(self, name: str, listing: SplitListing) -> bool:
        """The sequence's annotation file and frame folder are on disk."""
        _, frames, anno = self._paths(name, listing)
        return os.path.isfile(anno) and os.path.isdir(frames)

    def _dir(self, name: str, listing: SplitListing) -> str:
        """``<root>/<name>``, the sequence's folder (refused if the name leaves the root)."""
        return contained_path(self.root, (name,), *listing.origin(name))


def numbered_frames(cache: FolderCache, folder: str, first: int, last: int, digits: int,
                    ext: str) -> FrameList:
    """Frames ``first..last`` of ``folder`` named by number: ``%0<digits>d.<ext>`` when every one
    exists (the table's naming), else whatever image in the folder carries each number (other
    zero padding or extension: OTB's Board uses 5 digits, the rest 4). A number with no image is
    an ``InputError`` that names the first missing ones."""
    present = cache.names(folder)
    fmt = "{:0%dd}.%s" % (digits, ext)
    count = last - first + 1
    if count < 1:
        raise InputError(f"empty frame range {first}..{last}", folder)
    if all(fmt.format(i) in present for i in (first, last)) and all(
            fmt.format(i) in present for i in range(first, last + 1)):
        return FrameList.numbered(folder, fmt, first, count)
    by_number: dict[int, str] = {}
    for n in present:
        if n.lower().endswith(IMAGE_EXTS):
            m = _LAST_NUMBER.search(n)
            if m and m.start() == 0:
                by_number.setdefault(int(m.group(1)), n)
    missing = [i for i in range(first, last + 1) if i not in by_number]
    if missing:
        numbers = sorted(by_number)
        found = (f"{len(numbers)} numbered images, {numbers[0]}..{numbers[-1]}" if numbers
                 else "no numbered images")
        shown = ", ".join(fmt.format(i) for i in missing[:3])
        raise InputError(f"frames {fmt.format(first)}..{fmt.format(last)} expected: "
                         f"{len(missing)} missing ({shown}{', ...' if len(missing) > 3 else ''}); "
                         f"found {found}", folder)
    return FrameList(folder, [by_number[i] for i in range(first, last + 1)])


def sorted_images(cache: FolderCache, folder: str) -> list[str]:
    """Image files of ``folder`` in playback order: by frame number when every name is a number
    (``1.png`` before ``10.png``), else by name (as TNL2K's toolkits sort them)."""
    names = [n for n in cache.names(folder) if n.lower().endswith(IMAGE_EXTS)]
    stems = [os.path.splitext(n)[0] for n in names]
    if names and all(s.isdigit() for s in stems):
        return [n for _, n in sorted(zip((int(s) for s in stems), names))]
    return sorted(names)


def first_dir(root: Path, limit: int = 6) -> list[str]:
    """Up to ``limit`` entry names of ``root`` (sorted; folders marked with a slash)."""
    try:
        entries = sorted(os.listdir(root))
    except OSError:
        return []
    shown = [e + ("/" if os.path.isdir(os.path.join(root, e)) else "") for e in entries[:limit]]
    return shown + ([f"... ({len(entries) - limit} more)"] if len(entries) > limit else [])


def layout_error(title: str, root: Path, expected: str,
                 probe: Callable[[Path], bool] | None = None) -> MissingDataError:
    """The error of a root that does not hold ``title``'s layout: what was expected, what the
    root holds, and, when ``probe`` recognises the layout one or two levels down or up, the
    folder to point the root at instead."""
    found = first_dir(root)
    hint = ""
    if probe is not None:
        # one or two levels down (the root points too high), then up (it points too low)
        for other in [*_children(root, 2), root.parent, root.parent.parent]:
            if other != root and probe(other):
                hint = f"; the layout is found at {other}: point the root there"
                break
    what = ", ".join(found) if found else "nothing (empty folder)"
    return MissingDataError(f"{root} does not hold the {title} layout: expected {expected}; "
                            f"found {what}{hint}")


def _children(root: Path, depth: int, limit: int = 60) -> list[Path]:
    """Sub-folders of ``root`` down to ``depth`` levels, breadth first, at most ``limit`` (a
    wrong root can be a huge folder: the hint is worth a few dozen probes, not a crawl)."""
    out: list[Path] = []
    level = [root]
    for _ in range(depth):
        nxt: list[Path] = []
        for folder in level:
            try:
                with os.scandir(folder) as it:
                    subs = sorted(Path(e.path) for e in it if e.is_dir() and e.name[0] != ".")
            except OSError:
                continue
            nxt.extend(subs[:limit - len(out) - len(nxt)])
            if len(out) + len(nxt) >= limit:
                break
        out.extend(nxt)
        level = nxt
        if len(out) >= limit:
            break
    return out


def language_meta(seq_dir: str) -> dict[str, str]:
    """``{"language": text}`` from the sequence's ``language.txt`` (TNL2K, custom), else ``{}``."""
    lang = Path(seq_dir, "language.txt")
    if not lang.is_file():
        return {}
    try:
        return {"language": lang.read_text(encoding="utf-8", errors="replace").strip()}
    except OSError as exc:
        raise InputError(f"cannot read language annotation: {exc.strerror}", lang) from None
