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
from .annotations import parse_resolution, read_boxes, read_label_column, read_meta_info
from .base import Sequence
from .frames import FrameList
from .listing import SplitListing, frame_count_error, is_padded_run, list_jpgs, sort_numeric
from .splits import official_list, read_list_file

OFFICIAL_LISTS = {"val": "got10k_val.txt", "test": "got10k_test.txt"}
FIRST_FRAME_ONLY_SPLITS = ("test",)


def split_listing(root: Path, split: str, official: str | None) -> SplitListing:
    """``<root>/<split>/list.txt`` (the dataset's own list is the authority); for val/test of the
    real data set the shipped official list stands in when list.txt is absent."""
    list_file = root / split / "list.txt"
    if list_file.is_file():
        return SplitListing(names=read_list_file(list_file), source=str(list_file))
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

    def exists(self, name: str, listing: SplitListing) -> bool:
        return os.path.isdir(os.path.join(self.folder, name))

    def load(self, name: str, listing: SplitListing) -> Sequence:
        seq_dir = os.path.join(self.folder, name)
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
                labels[label] = read_label_column(p, n)
        cover = labels.get("cover")
        if cover is not None and ((cover < 0) | (cover > 8)).any():
            bad = int(np.flatnonzero((cover < 0) | (cover > 8))[0])
            raise InputError(f"cover level {cover[bad]} outside 0..8", Path(seq_dir, "cover.label"),
                             bad + 1)
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
            image_size=image_size,
        )
