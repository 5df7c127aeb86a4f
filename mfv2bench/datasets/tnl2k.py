"""TNL2K test set: ``<root>/<seq>/imgs/<frames>.jpg|png``, ``<root>/<seq>/groundtruth.txt``
(comma-separated ``x,y,w,h``, one line per frame) and ``<root>/<seq>/language.txt`` (the
sentence).

The 700 test names (``splits/tnl2k_test.txt``) are the official toolkit's
``sequence_evaluation_config/TNL2K_testing_set.txt`` (wangxiao5791509/TNL2K_evaluation_toolkit
@1a96f6e). A root's own ``testing_set.txt`` (or the toolkit's ``TNL2K_testing_set.txt``) replaces
it (synthetic trees, subsets). The per-sequence layout and the frame order are those of
botaoye/OSTrack@33b5e12 ``lib/test/evaluation/tnl2kdataset.py`` (pytracking has no TNL2K loader):
every file of ``imgs/`` sorted by name; here numeric names are sorted by number, which is the
same order for zero-padded names and the right one where padding differs. Frames are jpg or png
depending on the sequence. OSTrack notes that frame ``00000492.png`` of
``test_015_Sord_video_Q01_done`` is damaged in the download; the toolkit repository ships a
replacement ``00000492.png`` (put it in that sequence's ``imgs/``): the reader refuses the
damaged file with its path.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import InputError, MissingDataError
from .annotations import read_boxes
from .base import Sequence
from .common import TableLoader, language_meta, layout_error, sorted_images
from .frames import FrameList
from .listing import SplitListing, frame_count_error
from .splits import official_list, read_list_entries

OFFICIAL_LIST = "tnl2k_test.txt"
ROOT_LISTS = ("testing_set.txt", "TNL2K_testing_set.txt")
TITLE = "TNL2K test"
EXPECTED = "<root>/<seq>/imgs/*.jpg|png with <root>/<seq>/groundtruth.txt (and language.txt)"


def _is_sequence(folder: str) -> bool:
    return os.path.isdir(os.path.join(folder, "imgs")) and os.path.isfile(
        os.path.join(folder, "groundtruth.txt"))


def probe(root: Path) -> bool:
    """Whether some folder of ``root`` is a TNL2K sequence folder."""
    try:
        entries = sorted(os.listdir(root))[:50]
    except OSError:
        return False
    return any(_is_sequence(os.path.join(root, e)) for e in entries)


def split_listing(root: Path, split: str, official: str | None) -> SplitListing:
    """The root's list file, else the official 700 names (a root holding none of them and no
    sequence folder is a layout error)."""
    for list_name in ROOT_LISTS:
        list_file = root / list_name
        if list_file.is_file():
            entries = read_list_entries(list_file)
            return SplitListing(names=[n for n, _ in entries], source=str(list_file),
                                lines={n: (str(list_file), i) for n, i in entries})
    if official is None:
        raise MissingDataError(f"{root / ROOT_LISTS[0]} not found: this root has no test list "
                               "(write one with `mfv2bench datasets synth --format tnl2k`)")
    names = official_list(OFFICIAL_LIST)
    if not any(os.path.isdir(os.path.join(root, n)) for n in names) and not probe(root):
        raise layout_error(TITLE, root, EXPECTED, probe)
    return SplitListing(names=names, source=f"package:{OFFICIAL_LIST}")


class Tnl2kLoader(TableLoader):
    """Loads TNL2K test sequences."""

    def exists(self, name: str, listing: SplitListing) -> bool:
        return os.path.isdir(self._dir(name, listing))

    def load(self, name: str, listing: SplitListing) -> Sequence:
        seq_dir = self._dir(name, listing)
        gt_path = os.path.join(seq_dir, "groundtruth.txt")
        gt = read_boxes(gt_path)
        img_dir = os.path.join(seq_dir, "imgs")
        if not os.path.isdir(img_dir):
            raise InputError("sequence folder has no imgs/ folder", seq_dir)
        frames = sorted_images(self._folders, img_dir)
        if len(frames) != len(gt):
            raise frame_count_error(len(frames), len(gt), img_dir, gt_path)
        meta = language_meta(seq_dir)
        return Sequence(name=name, dataset=self.dataset, split=self.split,
                        frames=FrameList(img_dir, frames), gt=gt, visible=None, meta=meta,
                        annotation_file=str(gt_path), annotation_first_line=1)
