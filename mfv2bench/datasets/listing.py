"""What the three layout modules share: the split listing they return and directory helpers."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

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


def list_jpgs(folder: str) -> list[str]:
    """File names ending in ``.jpg`` in ``folder`` (one directory listing, no image read)."""
    try:
        return [n for n in os.listdir(folder) if n.endswith(".jpg")]
    except FileNotFoundError:
        raise InputError("frame folder not found", folder) from None
    except NotADirectoryError:
        raise InputError("frame folder is not a directory", folder) from None


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
