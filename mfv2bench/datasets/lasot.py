"""LaSOT and LaSOT extension, as distributed:

``<root>/<class>/<class>-<k>/{img/%08d.jpg, groundtruth.txt, full_occlusion.txt, out_of_view.txt,
nlp.txt}``. The split list is the root's ``testing_set.txt`` / ``training_set.txt`` when present
(LoRAT-style roots and synthetic trees), else the official list shipped with the package.
Frame names are generated from the ground-truth line count (as pytracking does) and checked
against one listing of ``img/``.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..errors import InputError, MissingDataError
from .annotations import read_boxes, read_flag_row
from .base import Sequence
from .frames import FrameList
from .listing import (SplitListing, contained_path, frame_count_error, is_padded_run,
                      list_jpgs)
from .splits import lasot_test_attributes, official_list, read_attributes_csv, read_list_entries

# "val": synthetic trees only (a tuning split; real LaSOT has none, its description refuses it)
ROOT_LIST_FILES = {"test": "testing_set.txt", "train": "training_set.txt",
                   "val": "validation_set.txt"}
OFFICIAL_LISTS = {
    "lasot": {"test": "lasot_test.txt", "train": "lasot_train.txt"},
    "lasot_ext": {"test": "lasot_extension.txt"},
}
# Per-sequence attribute table a root may carry (the synthetic generator writes one).
ROOT_ATTRIBUTES_FILE = "attributes.csv"


def class_of(name: str) -> str:
    """Class folder of a LaSOT sequence: the text before the first hyphen."""
    return name.split("-", 1)[0]


def split_listing(root: Path, split: str, official: str | None) -> SplitListing:
    """Names of ``split`` (test, train or all). ``official`` is a key of OFFICIAL_LISTS or None
    for roots that must carry their own lists (synthetic)."""
    if split == "all":
        parts = [split_listing(root, s, official) for s in ("test", "train")]
        names = [n for p in parts for n in p.names]
        lines = {k: v for p in parts for k, v in p.lines.items()}
        return SplitListing(names=names, source=" + ".join(p.source for p in parts), lines=lines)
    list_file = root / ROOT_LIST_FILES[split]
    if list_file.is_file():
        entries = read_list_entries(list_file)
        return SplitListing(names=[n for n, _ in entries], source=str(list_file),
                            lines={n: (str(list_file), i) for n, i in entries})
    packaged = OFFICIAL_LISTS.get(official or "", {}).get(split)
    if packaged is None:
        raise MissingDataError(
            f"{list_file} not found: this root has no '{split}' split list "
            "(write one with `mfv2bench datasets synth --format lasot --out DIR`)"
        )
    return SplitListing(names=official_list(packaged), source=f"package:{packaged}")


def _attribute_table(root: Path, official: str | None) -> dict[str, dict[str, int]]:
    table: dict[str, dict[str, int]] = {}
    if official == "lasot":
        table.update(lasot_test_attributes())
    own = root / ROOT_ATTRIBUTES_FILE
    if own.is_file():
        table.update(read_attributes_csv(own))  # the root's own table knows its sequences
    return table


class LasotLoader:
    """Loads sequences of one LaSOT-layout root; the attribute table is read once."""

    def __init__(self, root: Path, dataset: str, split: str, official: str | None):
        self.root = root
        self.dataset = dataset
        self.split = split
        self._attributes = _attribute_table(root, official)

    def _seq_dir(self, name: str, listing: SplitListing) -> str:
        """``root/<class>/<name>``; a name whose class part could leave the root (``..-1``) is
        an ``InputError`` at the list line that named it."""
        return contained_path(self.root, (class_of(name), name), *listing.origin(name))

    def exists(self, name: str, listing: SplitListing) -> bool:
        return os.path.isdir(self._seq_dir(name, listing))

    def load(self, name: str, listing: SplitListing) -> Sequence:
        cls = class_of(name)
        seq_dir = self._seq_dir(name, listing)
        gt_path = Path(seq_dir, "groundtruth.txt")
        gt = read_boxes(gt_path)
        n = len(gt)
        img_dir = os.path.join(seq_dir, "img")
        if not os.path.isdir(img_dir):
            raise InputError("sequence folder has no img/ folder", seq_dir)
        try:
            listed = os.listdir(img_dir)
        except OSError as exc:
            raise InputError(f"cannot list frame folder: {exc.strerror}", img_dir) from None
        # Usual case: img/ holds exactly 00000001.jpg..N and nothing else; else look closer.
        if not (len(listed) == n and is_padded_run(listed, 8, 1)):
            listed = list_jpgs(img_dir)
            if len(listed) != n:
                raise frame_count_error(len(listed), n, img_dir, gt_path)
            self._check_names(listed, n, img_dir)
        visible = self._visibility(seq_dir, n)
        meta: dict = {"class": cls}
        nlp = Path(seq_dir, "nlp.txt")
        if nlp.is_file():
            try:
                meta["nlp"] = nlp.read_text(encoding="utf-8", errors="replace").strip()
            except OSError as exc:
                raise InputError(f"cannot read language annotation: {exc.strerror}", nlp) from None
        return Sequence(
            name=name,
            dataset=self.dataset,
            split=self.split,
            frames=FrameList.numbered(img_dir, "{:08d}.jpg", 1, n),
            gt=gt,
            visible=visible,
            attributes=dict(self._attributes.get(name, {})),
            meta=meta,
            annotation_file=str(gt_path),
            annotation_first_line=1,
        )

    @staticmethod
    def _check_names(listed: list[str], n: int, img_dir: str) -> None:
        if is_padded_run(listed, 8, 1):
            return
        expected = {f"{i:08d}.jpg" for i in range(1, n + 1)}
        missing = sorted(expected.difference(listed))[:3]
        unexpected = sorted(set(listed).difference(expected))[:3]
        raise InputError(f"frames are not 00000001.jpg..{n:08d}.jpg: missing {missing}, "
                         f"unexpected {unexpected}", img_dir)

    @staticmethod
    def _visibility(seq_dir: str, n: int) -> np.ndarray | None:
        occ_path = Path(seq_dir, "full_occlusion.txt")
        oov_path = Path(seq_dir, "out_of_view.txt")
        has_occ, has_oov = occ_path.is_file(), oov_path.is_file()
        if not (has_occ or has_oov):
            return None
        visible = np.ones(n, dtype=bool)
        if has_occ:
            visible &= ~read_flag_row(occ_path, n)
        if has_oov:
            visible &= ~read_flag_row(oov_path, n)
        return visible
