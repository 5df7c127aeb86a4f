"""GOT-10k, as distributed: ``<root>/{train,val,test}/list.txt`` and one folder per sequence with
``%08d.jpg`` frames, ``groundtruth.txt``, ``absence.label``, ``cover.label``,
``cut_by_image.label`` and ``meta_info.ini``. The test split's ``groundtruth.txt`` holds the
first frame's box only. Frames are listed once and sorted by number, as pytracking does.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..errors import InputError, MissingDataError
from .annotations import read_boxes, read_label_column, read_meta_info
from .base import Sequence
from .frames import FrameList
from .listing import (SplitListing, contained_path, frame_count_error, is_padded_run,
                      list_jpgs, sort_numeric)
from .splits import official_list, read_list_entries

OFFICIAL_LISTS = {"val": "got10k_val.txt", "test": "got10k_test.txt"}
FIRST_FRAME_ONLY_SPLITS = ("test",)


def split_listing(root: Path, split: str, official: str | None) -> SplitListing:
    """``<root>/<split>/list.txt`` (the dataset's own list is the authority); for val/test of the
    real data set the shipped official list stands in when list.txt is absent."""
    list_file = root / split / "list.txt"
    if list_file.is_file():
        entries = read_list_entries(list_file)
        return SplitListing(names=[n for n, _ in entries], source=str(list_file),
                            lines={n: (str(list_file), i) for n, i in entries})
    packaged = OFFICIAL_LISTS.get(split) if official == "got10k" else None
    if packaged is None:
        raise MissingDataError(f"{list_file} not found: no GOT-10k '{split}' split under {root}")
    return SplitListing(names=official_list(packaged), source=f"package:{packaged}")


class Got10kLoader:
    """Loads sequences of one GOT-10k split folder."""

    def __init__(self, root: Path, dataset: str, split: str, official: str | None):
        self.root = root
        self.dataset = dataset
        self.split = split
        self.folder = os.path.join(root, split)

    def _seq_dir(self, name: str, listing: SplitListing) -> str:
        return contained_path(self.root, (self.split, name), *listing.origin(name))

    def exists(self, name: str, listing: SplitListing) -> bool:
        return os.path.isdir(self._seq_dir(name, listing))

    def load(self, name: str, listing: SplitListing) -> Sequence:
        seq_dir = self._seq_dir(name, listing)
        gt_path = Path(seq_dir, "groundtruth.txt")
        gt = read_boxes(gt_path)
        listed = list_jpgs(seq_dir)
        n = len(listed)
        if is_padded_run(listed, 8, 1):
            frames = FrameList.numbered(seq_dir, "{:08d}.jpg", 1, n)
        else:  # not the usual 00000001.jpg.. run: sorted by number, as pytracking does
            frames = FrameList(seq_dir, sort_numeric(listed, seq_dir))
        if n == 0:
            raise InputError("sequence folder holds no .jpg frames", seq_dir)
        first_only = self.split in FIRST_FRAME_ONLY_SPLITS
        if len(gt) != n and not (first_only and len(gt) == 1):
            raise frame_count_error(n, len(gt), seq_dir, gt_path)

        labels: dict[str, np.ndarray] = {}
        for label in ("absence", "cover", "cut_by_image"):
            p = Path(seq_dir, f"{label}.label")
            if not p.is_file() and label == "absence":
                p = Path(seq_dir, "absense.label")  # the dataset README's spelling
            if p.is_file():
                labels[label] = _read_label(p, n, label)
        cover = labels.get("cover")
        visible = None
        if "absence" in labels or cover is not None:
            visible = np.ones(n, dtype=bool)
            if "absence" in labels:
                visible &= labels["absence"] == 0
            if cover is not None:
                visible &= cover > 0

        meta: dict = {}
        image_size = None
        ini = Path(seq_dir, "meta_info.ini")
        if ini.is_file():
            meta.update(read_meta_info(ini))
            if "resolution" in meta:
                image_size = parse_resolution(meta["resolution"], ini)
        for label in ("absence", "cut_by_image"):
            if label in labels:
                meta[label] = labels[label]
        return Sequence(
            name=name,
            dataset=self.dataset,
            split=self.split,
            frames=frames,
            gt=gt,
            visible=visible,
            cover=cover,
            meta=meta,
            annotation_file=str(gt_path),
            annotation_first_line=1,
            image_size=image_size,
        )


# Labels and sizes beyond these are not GOT-10k values but damaged files.
_LABEL_RANGE = {"absence": (0, 1), "cut_by_image": (0, 1), "cover": (0, 8)}
_MAX_SIDE = 100_000


def _read_label(path: Path, n: int, label: str) -> np.ndarray:
    """One ``*.label`` file, each value checked against the label's range with its line."""
    try:
        values = read_label_column(path, n)
    except OverflowError:  # a number too large for int64: find its line
        for i, line in enumerate(path.read_text(encoding="utf-8").splitlines()):
            s = line.strip()
            try:
                huge = abs(float(s)) >= 2.0**62
            except ValueError:
                continue
            if huge:
                raise InputError(f"label {s[:40]!r} is not a {label} value", path, i + 1) from None
        raise InputError(f"label value too large for a {label} label", path) from None
    lo, hi = _LABEL_RANGE[label]
    bad = np.flatnonzero((values < lo) | (values > hi))
    if len(bad):
        k = int(bad[0])
        kind = "cover level" if label == "cover" else f"{label} flag"
        raise InputError(f"{kind} {values[k]} outside {lo}..{hi}", path, k + 1)
    return values


def parse_resolution(value: str, path: str | Path | None = None) -> tuple[int, int]:
    """``(1920, 1080)`` -> (width, height): two positive integers, finite and plausible. The
    error names the ``resolution:`` line of ``path``."""
    text = value.strip()
    inner = text[1:-1] if text.startswith("(") and text.endswith(")") else text
    parts = [p.strip() for p in inner.split(",")]
    if len(parts) != 2 or not all(p.isdigit() and p.isascii() for p in parts):
        raise InputError(f"resolution {text[:60]!r} is not '(width, height)' in whole pixels",
                         path, _line_of(path, "resolution"))
    w, h = int(parts[0]), int(parts[1])
    if not (0 < w <= _MAX_SIDE and 0 < h <= _MAX_SIDE):
        raise InputError(f"resolution {text[:60]!r} is not a plausible image size "
                         f"(1..{_MAX_SIDE} pixels a side)", path, _line_of(path, "resolution"))
    return w, h


def _line_of(path: str | Path | None, key: str) -> int | None:
    """Line of ``key:`` in ``path`` (read again only to word an error)."""
    if path is None:
        return None
    try:
        lines = Path(path).read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return None
    for i, line in enumerate(lines):
        if line.strip().partition(":")[0].strip() == key:
            return i + 1
    return None
