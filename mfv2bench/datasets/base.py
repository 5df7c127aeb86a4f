"""The data-set contract every loader fills and every consumer (runner, metrics, report) reads."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np


@dataclass
class Sequence:
    """One annotated video, described without reading any image.

    ``gt`` has one row per annotated frame as in the file (x, y, w, h, float64; for GOT-10k test
    and TrackingNet TEST only the first frame's row). ``visible`` is a bool per frame or None
    where the data set has no visibility labels. ``cover`` is GOT-10k's 0..8 level per frame.
    ``image_size`` is (width, height) where the annotation says it (GOT-10k meta_info.ini).
    Loaders fill ``frames`` with a ``FrameList`` (datasets/frames.py): a read-only list of Paths
    (len, index, slice, iteration, equality with a list) that makes each Path on access.
    """

    name: str
    dataset: str
    split: str
    frames: list[Path]
    gt: np.ndarray
    visible: np.ndarray | None = None
    cover: np.ndarray | None = None
    attributes: dict[str, Any] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)
    image_size: tuple[int, int] | None = None
    # the file the GT rows were read from, and the line of frame 1's row in it (None where rows do
    # not map one to one onto lines, e.g. NfS's 240 fps release file): a bad GT value found later
    # (a NaN the protocol refuses) is then reported at its file and line
    annotation_file: str | None = None
    annotation_first_line: int | None = None

    @property
    def n_frames(self) -> int:
        return len(self.frames)

    @property
    def init_box(self) -> np.ndarray:
        return self.gt[0]

    @property
    def has_full_gt(self) -> bool:
        """False for server-scored splits whose GT holds the first frame only."""
        return len(self.gt) == len(self.frames) and len(self.frames) > 1 or (
            len(self.frames) == 1 and len(self.gt) == 1
        )


@dataclass
class DatasetSplit:
    """The sequences of one split, in list order, and what was missing on disk."""

    dataset: str
    split: str
    root: Path
    sequences: list[Sequence]
    expected: int
    missing: list[str] = field(default_factory=list)
    # Where the sequence list came from (a list file, "package:<table>") and which variant of the
    # layout was found (NfS: "release" or "pytracking"; OTB-100: "release" or "pysot-json").
    source: str = ""
    layout: str = ""

    @property
    def partial(self) -> bool:
        """True when some sequences of the official split were not on disk (explicitly allowed)."""
        return bool(self.missing)

    @property
    def key(self) -> str:
        """Folder name in the results store: ``<dataset>-<split>``."""
        return f"{self.dataset}-{self.split}"

    def __len__(self) -> int:
        return len(self.sequences)

    def __iter__(self):
        return iter(self.sequences)

    def by_name(self) -> dict[str, Sequence]:
        return {s.name: s for s in self.sequences}
