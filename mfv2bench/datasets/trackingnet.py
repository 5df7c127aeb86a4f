"""TrackingNet, as distributed: ``<root>/TRAIN_0..TRAIN_11`` and ``<root>/TEST``, each with
``anno/<seq>.txt`` and ``frames/<seq>/<n>.jpg`` (0-based, not zero-padded: sorted by number).
TEST annotations hold the first frame's box only.

The TEST list is the official 511 names shipped with the package whenever the root's
``TEST/anno`` holds any of them (so missing ones are counted); a root whose annotations are all
other names (a synthetic or custom tree) is listed from ``anno/*.txt`` as the toolkits do.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import InputError, MissingDataError
from .annotations import read_boxes
from .base import Sequence
from .frames import FrameList
from .listing import SplitListing, contained_path, frame_count_error, list_jpgs, sort_numeric
from .splits import check_name, official_list

N_TRAIN_CHUNKS = 12
OFFICIAL_TEST_LIST = "trackingnet_test.txt"


def chunks_of(split: str) -> list[str]:
    """Chunk folders of a split: test -> TEST, train -> TRAIN_0..11, train_<k> -> TRAIN_<k>."""
    if split == "test":
        return ["TEST"]
    if split == "train":
        return [f"TRAIN_{k}" for k in range(N_TRAIN_CHUNKS)]
    if split.startswith("train_") and split[6:].isdigit() and int(split[6:]) < N_TRAIN_CHUNKS:
        return [f"TRAIN_{int(split[6:])}"]
    raise ValueError(f"not a TrackingNet split: {split}")


def _anno_stems(anno_dir: str) -> list[str]:
    try:
        listed = os.listdir(anno_dir)
    except OSError as exc:
        raise InputError(f"cannot list annotation folder: {exc.strerror}", anno_dir) from None
    names = sorted(n[:-4] for n in listed if n.endswith(".txt"))
    for n in names:
        check_name(n, anno_dir)
    return names


def split_listing(root: Path, split: str, official: str | None) -> SplitListing:
    """Names from each chunk's ``anno/*.txt``; the official TEST list for the real data set."""
    chunks = chunks_of(split)
    present = [c for c in chunks if os.path.isdir(os.path.join(root, c, "anno"))]
    if not present:
        wanted = chunks[0] if len(chunks) == 1 else f"{chunks[0]}..{chunks[-1]}"
        raise MissingDataError(f"no TrackingNet {wanted}/anno folder under {root}")
    where: dict[str, str] = {}
    names: list[str] = []
    for chunk in present:
        for name in _anno_stems(os.path.join(root, chunk, "anno")):
            if name not in where:
                where[name] = chunk
                names.append(name)
    source = " + ".join(str(root / c / "anno") for c in present)
    if split == "test" and official == "trackingnet":
        test_names = official_list(OFFICIAL_TEST_LIST)
        if any(n in where for n in test_names):
            for n in test_names:
                where.setdefault(n, "TEST")
            return SplitListing(names=test_names, source=f"package:{OFFICIAL_TEST_LIST}",
                                where=where)
    missing_parts = [f"{c} (whole chunk)" for c in chunks if c not in present]
    return SplitListing(names=names, source=source, where=where, missing_parts=missing_parts)


class TrackingNetLoader:
    """Loads sequences of TrackingNet chunks."""

    def __init__(self, root: Path, dataset: str, split: str, official: str | None):
        self.root = root
        self.dataset = dataset
        self.split = split
        self.first_frame_only = split == "test"

    def _paths(self, name: str, listing: SplitListing) -> tuple[str, str, str]:
        chunk = listing.where.get(name, "TEST" if self.split == "test" else "")
        source, line = listing.origin(name)
        anno = contained_path(self.root, (chunk, "anno", name + ".txt"), source, line)
        frames = contained_path(self.root, (chunk, "frames", name), source, line)
        return chunk, anno, frames

    def exists(self, name: str, listing: SplitListing) -> bool:
        _, anno, frames = self._paths(name, listing)
        return os.path.isfile(anno) and os.path.isdir(frames)

    def load(self, name: str, listing: SplitListing) -> Sequence:
        chunk, anno, frame_dir = self._paths(name, listing)
        gt = read_boxes(anno)
        frames = sort_numeric(list_jpgs(frame_dir), frame_dir)
        n = len(frames)
        if n == 0:
            raise InputError("frame folder holds no .jpg frames", frame_dir)
        if int(frames[-1][:-4]) != n - 1 or int(frames[0][:-4]) != 0:
            raise InputError(f"frames are not numbered 0..{n - 1}", frame_dir)
        if len(gt) != n and not (self.first_frame_only and len(gt) == 1):
            raise frame_count_error(n, len(gt), frame_dir, anno)
        return Sequence(
            name=name,
            dataset=self.dataset,
            split=self.split,
            frames=FrameList(frame_dir, frames),
            gt=gt,
            visible=None,
            meta={"chunk": chunk},
            annotation_file=str(anno),
            annotation_first_line=1,
        )
