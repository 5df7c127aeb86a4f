"""What the layout modules share: the split listing they return and directory helpers."""

from __future__ import annotations

import errno
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import InputError


@dataclass
class SplitListing:
    """Names of a split in order, where each lives, and missing parts that have no names.

    ``where`` maps a name to the sub-folder that holds it (TrackingNet chunk); ``source`` says
    where the list came from (a list file or "package:<file>"); ``missing_parts`` names whole
    parts of the split that are absent (e.g. a TrackingNet ``TRAIN_5`` chunk).
    """

    names: list[str]
    source: str
    where: dict[str, str] = field(default_factory=dict)
    missing_parts: list[str] = field(default_factory=list)
    # (list file, 1-based line) that named each name, so errors can point at it.
    lines: dict[str, tuple[str, int]] = field(default_factory=dict)
    # Per-name table rows of table-driven layouts (OTB-100, UAV123, NfS: folder, frame range).
    entries: dict[str, Any] = field(default_factory=dict)
    # Which variant of a layout was found (NfS: "release" or "pytracking"); "" when only one.
    layout: str = ""

    def origin(self, name: str) -> tuple[str, int | None]:
        """(file, line) that named ``name`` for error messages; (source, None) when unknown."""
        return self.lines.get(name, (self.source, None))


def plain_component(part: str, what: str = "sequence name", source: str | Path | None = None,
                    line: int | None = None) -> str:
    """Refuse a path component that could leave its folder: empty, ``.``/``..``, separators,
    NUL, ``~`` (home), drive letters. Names come from list files a data set ships, so they are
    input, not trusted paths."""
    if not _is_plain(part):
        raise InputError(f"{what} {part!r} is not a plain folder name", source, line)
    return part


_UNSAFE = frozenset("/\\\x00")


def _is_plain(part: str) -> bool:
    """A single, ordinary path component (see ``plain_component``)."""
    return not (
        part in ("", ".", "..")
        or not _UNSAFE.isdisjoint(part)
        or part[0] == "~"
        or (len(part) > 1 and part[1] == ":")
    )


def contained_path(root: str | Path, parts: tuple[str, ...] | list[str],
                   source: str | Path | None = None, line: int | None = None) -> str:
    """``root/part/...`` after checking that no part can leave ``root`` (the one check every
    loader makes before touching a path derived from a sequence name).

    Each part must be a plain component (``plain_component``): such parts can only descend, so
    the joined path lies under ``root`` (absolute names, ``..``, ``C:`` and ``~`` are refused as
    parts). Symbolic links inside the root are followed as usual: a data set split over disks is commonly linked in, and the root's owner put them
    there; names read from list files are what is not trusted.
    """
    base = os.fspath(root)
    # Plain components (no separator, not '.', '..' or empty) can only descend, so their join
    # stays under ``root`` lexically; nothing else is needed, and this runs per sequence.
    if parts and all(map(_is_plain, parts)):
        return os.path.join(base, *parts)
    shown = "/".join(parts)
    raise InputError(f"derived sequence path {shown!r} is not a plain path inside the data "
                     f"root {base} (refused: '..', '.', empty parts, separators)", source, line)


def check_root(root: str | Path) -> Path:
    """A data root as an absolute path; a symlink loop (or another unresolvable path) is an
    ``InputError`` naming it instead of a RuntimeError/OSError traceback."""
    path = Path(root).expanduser()
    try:
        resolved = path.resolve(strict=False)
        os.stat(resolved)
    except FileNotFoundError:
        return resolved
    except RuntimeError:
        raise InputError("data root is a symbolic-link loop", path) from None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise InputError("data root is a symbolic-link loop", path) from None
        raise InputError(f"cannot open data root: {exc.strerror}", path) from None
    return resolved


def list_frame_folder(folder: str) -> list[str]:
    """The names in a frame folder (one directory listing); a missing, non-folder or unreadable
    one is an InputError naming it."""
    try:
        return os.listdir(folder)
    except FileNotFoundError:
        raise InputError("frame folder not found", folder) from None
    except NotADirectoryError:
        raise InputError("frame folder is not a directory", folder) from None
    except OSError as exc:
        raise InputError(f"cannot list frame folder: {exc.strerror}", folder) from None


def list_jpgs(folder: str) -> list[str]:
    """File names ending in ``.jpg`` in ``folder`` (one directory listing, no image read)."""
    return [n for n in list_frame_folder(folder) if n.endswith(".jpg")]


def sort_numeric(names: list[str], folder: str) -> list[str]:
    """Sort ``<int>.jpg`` names by number (TrackingNet ``0.jpg``, GOT-10k ``00000001.jpg``)."""
    keyed = []
    for n in names:
        stem = n[:-4]
        if not stem.isdigit():
            raise InputError(f"frame file {n!r} is not named by a frame number", Path(folder))
        keyed.append((int(stem), n))
    keyed.sort()
    return [n for _, n in keyed]


def is_padded_run(names: list[str], width: int, start: int) -> bool:
    """True when ``names`` are exactly ``start .. start+len-1`` zero-padded to ``width`` digits
    plus ``.jpg`` (checked without sorting or building the expected names)."""
    n = len(names)
    if n == 0:
        return False
    if set(map(len, names)) != {width + 4}:
        return False
    stems = "".join(names).replace(".jpg", "")
    if len(stems) != n * width or not stems.isdigit() or not stems.isascii():
        return False
    # n distinct width-digit numbers between start and start+n-1: exactly that run.
    return min(names) == f"{start:0{width}d}.jpg" and max(names) == f"{start + n - 1:0{width}d}.jpg"


def frame_count_error(n_frames: int, n_boxes: int, folder: str, anno: str | Path) -> InputError:
    return InputError(
        f"{n_boxes} annotation line(s) but {n_frames} frame(s) in {folder}", anno
    )
