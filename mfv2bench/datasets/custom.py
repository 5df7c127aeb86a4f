"""Your own sequences, in a generic layout (documented in ``datasets/README.md``)::

    <root>/
      list.txt                 optional: one sequence name per line (order kept); without it,
                               every sub-folder holding a groundtruth.txt, sorted by name
      <seq>/
        groundtruth.txt        one x,y,w,h line per frame (comma, tab or spaces)
        img/ or imgs/          the frames (jpg, jpeg, png or bmp); without such a folder, the
                               images in <seq>/ itself
        visible.txt            optional: 1 (target visible) or 0 per frame, one per line or
                               comma-separated on one line
        language.txt           optional: a description, kept as metadata

Frames play in the order of their numbers when every file name is a number (``1.png`` before
``10.png``), else by name. With ``visible.txt`` the default protocol counts invisible frames as
failures (as LaSOT's labels count); without it every frame with a valid box counts.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import InputError, MissingDataError
from .annotations import read_boxes, read_flag_row
from .base import Sequence
from .common import IMAGE_EXTS, TableLoader, first_dir, language_meta, sorted_images
from .frames import FrameList
from .listing import SplitListing, frame_count_error
from .splits import check_name, read_list_entries

LIST_FILE = "list.txt"
GT_FILE = "groundtruth.txt"
VISIBLE_FILE = "visible.txt"
FRAME_DIRS = ("img", "imgs")


def probe(root: Path) -> bool:
    """Whether ``root`` holds a list file or a sequence folder with ``groundtruth.txt``."""
    if (root / LIST_FILE).is_file():
        return True
    try:
        return any((root / e / GT_FILE).is_file() for e in sorted(os.listdir(root))[:50])
    except OSError:
        return False


def split_listing(root: Path, split: str, official: str | None) -> SplitListing:
    """``list.txt`` when present, else every sub-folder holding ``groundtruth.txt``."""
    list_file = root / LIST_FILE
    if list_file.is_file():
        entries = read_list_entries(list_file)
        return SplitListing(names=[n for n, _ in entries], source=str(list_file),
                            lines={n: (str(list_file), i) for n, i in entries})
    try:
        listed = sorted(os.listdir(root))
    except OSError as exc:
        raise InputError(f"cannot list data root: {exc.strerror}", root) from None
    names = [check_name(e, root) for e in listed if (root / e / GT_FILE).is_file()]
    if not names:
        found = ", ".join(first_dir(root)) or "nothing (empty folder)"
        raise MissingDataError(
            f"{root} holds no sequence: expected <root>/<seq>/{GT_FILE} with the frames in "
            f"<seq>/img/ (or imgs/, or <seq>/ itself), and optionally <root>/{LIST_FILE}; "
            f"found {found}")
    return SplitListing(names=names, source=f"{root}/*/{GT_FILE}")


class CustomLoader(TableLoader):
    """Loads sequences of the generic layout."""

    def exists(self, name: str, listing: SplitListing) -> bool:
        return os.path.isfile(os.path.join(self._dir(name, listing), GT_FILE))

    def load(self, name: str, listing: SplitListing) -> Sequence:
        seq_dir = self._dir(name, listing)
        gt_path = os.path.join(seq_dir, GT_FILE)
        gt = read_boxes(gt_path)
        img_dir = next((os.path.join(seq_dir, d) for d in FRAME_DIRS
                        if os.path.isdir(os.path.join(seq_dir, d))), seq_dir)
        frames = sorted_images(self._folders, img_dir)
        if not frames:
            raise InputError(f"no frames ({', '.join(IMAGE_EXTS)}) in the sequence folder, "
                             f"its {' or '.join(f + '/' for f in FRAME_DIRS)}", seq_dir)
        if len(frames) != len(gt):
            raise frame_count_error(len(frames), len(gt), img_dir, gt_path)
        vis_path = Path(seq_dir, VISIBLE_FILE)
        visible = read_flag_row(vis_path, len(gt)) if vis_path.is_file() else None
        meta = language_meta(seq_dir)
        return Sequence(name=name, dataset=self.dataset, split=self.split,
                        frames=FrameList(img_dir, frames), gt=gt, visible=visible, meta=meta,
                        annotation_file=str(gt_path), annotation_first_line=1)
