"""UAV123, as distributed: ``<root>/data_seq/UAV123/<folder>/000001.jpg`` and
``<root>/anno/UAV123/<name>.txt``.

The sequence table (``splits/uav123.csv``: name, folder, first and last frame, annotation file,
object class) is transcribed from pytracking's ``pytracking/evaluation/uavdataset.py``
(visionml/pytracking@7eb9e74); got-10k/toolkit@956e728 ``got10k/datasets/uav123.json`` gives
the same folder and frame range for all 123 sequences. Facts it encodes:

- several sequences are cut from one folder by frame range: ``bird1_1..3`` from ``bird1``,
  ``car1_1..3``, ``car6_1..5``, ``group1_1..4``, ``group3_1..4``, ``person19_1..3``, ... (32
  sequences start after frame 1); each has its own annotation file ``anno/UAV123/<name>.txt``
  with one line per frame of its range (the got10k toolkit asserts that);
- frames are ``%06d.jpg``; annotations are comma-separated ``x,y,w,h``;
- frames where the target is absent are annotated ``NaN,NaN,NaN,NaN``. They are kept as NaN
  rows: pytracking's analysis (``calc_seq_err_robust``, dataset ``uav``) accepts NaN only for
  this data set and scores such frames as invalid (overlap -1, a failure; centre and normalized
  centre error -1, successes), with the full sequence length as denominator. The protocol
  ``mixformerv2-uav`` declares exactly that.

Per-sequence attributes (``splits/uav123_attributes.csv``: SV, ARC, LR, FM, FOC, POC, OV, BC,
IV, VC, CM, SOB) are pytracking's ``dataset_attribute_specs/UAV123_attributes.json``.

Sequence names are pytracking's (``uav_bike1``), the names of pytracking/OSTrack/MixFormerV2 raw
results. The download unpacks to ``Dataset_UAV123/UAV123/{data_seq,anno}``: the root is the
folder holding ``data_seq`` and ``anno``; a root one level off gets an error naming the right one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError, MissingDataError
from .annotations import read_boxes
from .base import Sequence
from .common import (TableLoader, layout_error, numbered_frames, package_table, read_root_table,
                     table_int)
from .listing import SplitListing, contained_path, plain_component
from .splits import package_attributes

OFFICIAL_TABLE = "uav123.csv"
ROOT_TABLE = "sequences.csv"
# pytracking's dataset_attribute_specs (UAV123_attributes.json), one 0/1 column each
ATTRIBUTES = "uav123_attributes.csv"
COLUMNS = ("name", "folder", "start", "end", "anno")
TITLE = "UAV123"
EXPECTED = "<root>/data_seq/UAV123/<folder>/000001.jpg and <root>/anno/UAV123/<name>.txt"
FRAMES_DIR = ("data_seq", "UAV123")
ANNO_DIR = ("anno", "UAV123")


def probe(root: Path) -> bool:
    """Whether ``root`` holds ``data_seq/UAV123`` and ``anno/UAV123``."""
    return root.joinpath(*FRAMES_DIR).is_dir() and root.joinpath(*ANNO_DIR).is_dir()


def _row(row: dict[str, str], source: str, line: int | None) -> dict[str, Any]:
    for key in ("folder", "anno"):
        plain_component(row[key], key, source, line)
    out: dict[str, Any] = {"name": row["name"], "folder": row["folder"],
                           "anno": row["anno"] + ".txt",
                           "start": table_int(row, "start", source, line),
                           "end": table_int(row, "end", source, line),
                           "object_class": row.get("object_class", "")}
    if out["end"] < out["start"]:
        raise InputError(f"sequence {out['name']}: empty frame range", source, line)
    return out


def split_listing(root: Path, split: str, official: str | None) -> SplitListing:
    """The root's own ``sequences.csv`` (synthetic trees) or the official table; a root without
    ``data_seq/UAV123`` and ``anno/UAV123`` is a layout error."""
    if not probe(root):
        raise layout_error(TITLE, root, EXPECTED, probe)
    own = root / ROOT_TABLE
    if own.is_file():
        rows = read_root_table(own, COLUMNS)
        entries = {r["name"]: _row(r, str(own), line) for r, line in rows}
        return SplitListing(names=list(entries), source=str(own), entries=entries,
                            lines={r["name"]: (str(own), line) for r, line in rows})
    if official is None:
        raise MissingDataError(f"{own} not found: this root has no sequence table (write one "
                               "with `mfv2bench datasets synth --format uav123 --out DIR`)")
    entries = {r["name"]: _row(r, f"package:{OFFICIAL_TABLE}", i + 2)
               for i, r in enumerate(package_table(OFFICIAL_TABLE))}
    return SplitListing(names=list(entries), source=f"package:{OFFICIAL_TABLE}", entries=entries)


class UavLoader(TableLoader):
    """Loads UAV123 sequences (sub-sequences share their folder's listing)."""

    def __init__(self, root: Path, dataset: str, split: str, official: str | None):
        super().__init__(root, dataset, split, official)
        self._attributes = package_attributes(ATTRIBUTES) if official else {}

    def _paths(self, name: str, listing: SplitListing) -> tuple[dict[str, Any], str, str]:
        e = listing.entries[name]
        source, line = listing.origin(name)
        frames = contained_path(self.root, (*FRAMES_DIR, e["folder"]), source, line)
        anno = contained_path(self.root, (*ANNO_DIR, e["anno"]), source, line)
        return e, frames, anno

    def load(self, name: str, listing: SplitListing) -> Sequence:
        e, frame_dir, anno = self._paths(name, listing)
        gt = read_boxes(anno)
        start, end = e["start"], e["end"]
        if len(gt) != end - start + 1:
            raise InputError(f"{len(gt)} annotation lines, but the table gives frames "
                             f"{start}..{end} ({end - start + 1} frames) of {e['folder']}", anno)
        if np.isnan(gt[0]).any():
            raise InputError("the first frame's box is NaN: a tracker cannot be started", anno, 1)
        frames = numbered_frames(self._folders, frame_dir, start, end, 6, "jpg")
        absent = int(np.isnan(gt).any(axis=1).sum())
        return Sequence(name=name, dataset=self.dataset, split=self.split, frames=frames, gt=gt,
                        visible=None, attributes=dict(self._attributes.get(name, {})),
                        meta={"folder": e["folder"], "first_frame": start,
                              "object_class": e["object_class"], "nan_rows": absent},
                        annotation_file=str(anno), annotation_first_line=1)
