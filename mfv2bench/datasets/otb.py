"""OTB-100 (OTB-2015), as distributed: ``<root>/<Seq>/img/0001.jpg`` and
``<root>/<Seq>/groundtruth_rect.txt``; or pysot's ``OTB100.json`` index at the root.

The sequence table (``splits/otb100.csv``: name, folder, image folder, first and last frame,
digits, extension, annotation file, frames omitted at the start, object class, other toolkits'
names) is transcribed from pytracking's ``pytracking/evaluation/otbdataset.py``
(visionml/pytracking@7eb9e74), with one correction: KiteSurf reads ``img/*.jpg`` (pytracking
issue #186; MCG-NJU/MixFormerV2@1041438's copy of the table; the got10k toolkit globs
``img/*.jpg``), where pytracking HEAD's fix of that issue wrote ``KiteSurf/jpg`` with ``png``.
The quirks it encodes, cross-checked against got-10k/toolkit@956e728 ``got10k/datasets/otb.py``:

- sequences annotated on a frame range only: David 300..770, Football1 1..74, Freeman3 1..460,
  Freeman4 1..283, Diving 1..215 (the folders hold more images); BlurCar1/3/4 whose image
  folders start at 0247/0003/0018;
- Tiger1: the first 5 frames are omitted (frames 6..354 and annotation rows 6..354), pytracking's
  ``initOmit``;
- two targets in one folder: Jogging and Skating2 hold ``groundtruth_rect.1.txt`` and
  ``groundtruth_rect.2.txt`` (sequences ``Jogging_1``/``_2``, ``Skating2_1``/``_2``);
- Human4 is annotated by ``groundtruth_rect.2.txt`` (its ``.1`` file is empty);
- Board's frames have 5 digits, the others 4; annotations use commas, tabs or spaces (one line of
  BlurCar1 mixes them).

Per-sequence attributes (``splits/otb100_attributes.csv``, the 11 OTB attributes IV, SV, OCC, DEF,
MB, FM, IPR, OPR, OV, BC, LR) are pytracking's ``dataset_attribute_specs/otb_attributes.json``
(its stray empty entry for Walking dropped).

Sequence names are pytracking's (``Jogging_1``, ``Human4_2``), the names raw results of
pytracking, OSTrack and MixFormerV2 carry. pysot's ``OTB100.json`` (pysot-toolkit@8b5ced3
``pysot/datasets/otb.py``: ``{name: {video_dir, init_rect, img_names, gt_rect, attr}}``, image
paths relative to the root, names ``Jogging-1``) is used when the root holds it and none of the
release annotation files; its names are mapped through the table's aliases, and a missing
``Jogging-1`` folder (pysot asks users to copy ``Jogging`` there) falls back to ``Jogging``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError, MissingDataError
from .annotations import read_boxes
from .base import Sequence
from .common import (TableLoader, layout_error, numbered_frames, package_table, read_root_table,
                     table_int)
from .frames import FrameList
from .listing import SplitListing, contained_path, plain_component
from .splits import package_attributes

OFFICIAL_TABLE = "otb100.csv"
ROOT_TABLE = "sequences.csv"
# pytracking's dataset_attribute_specs (otb_attributes.json), one 0/1 column each
ATTRIBUTES = "otb100_attributes.csv"
PYSOT_INDEX = "OTB100.json"
COLUMNS = ("name", "folder", "img_dir", "start", "end", "digits", "ext", "anno")
TITLE = "OTB-100"
EXPECTED = ("<root>/<Seq>/img/0001.jpg and <root>/<Seq>/groundtruth_rect.txt "
            "(or pysot's OTB100.json)")


def _row(row: dict[str, str], source: str, line: int | None) -> dict[str, Any]:
    for key in ("folder", "img_dir", "anno"):
        plain_component(row[key], key, source, line)
    out: dict[str, Any] = {k: row[k] for k in ("name", "folder", "img_dir", "anno")}
    for key in ("start", "end", "digits"):
        out[key] = table_int(row, key, source, line)
    out["init_omit"] = table_int(row, "init_omit", source, line) if row.get("init_omit") else 0
    out["ext"] = row["ext"].lstrip(".")
    out["object_class"] = row.get("object_class", "")
    out["aliases"] = [a for a in row.get("aliases", "").split("|") if a]
    if out["end"] < out["start"] + out["init_omit"]:
        raise InputError(f"sequence {out['name']}: empty frame range", source, line)
    return out


def probe(root: Path) -> bool:
    """Whether ``root`` looks like an OTB-100 root (a release folder or pysot's index)."""
    return (root / "Basketball" / "img").is_dir() or (root / PYSOT_INDEX).is_file()


def split_listing(root: Path, split: str, official: str | None) -> SplitListing:
    """The root's own ``sequences.csv`` (synthetic trees), else the official table over the
    release folders, else pysot's ``OTB100.json``."""
    own = root / ROOT_TABLE
    if own.is_file():
        rows = read_root_table(own, COLUMNS)
        entries = {r["name"]: _row(r, str(own), line) for r, line in rows}
        return SplitListing(names=list(entries), source=str(own), entries=entries,
                            lines={r["name"]: (str(own), line) for r, line in rows},
                            layout="release")
    if official is None:
        raise MissingDataError(f"{own} not found: this root has no sequence table (write one "
                               "with `mfv2bench datasets synth --format otb100 --out DIR`)")
    table = [_row(r, f"package:{OFFICIAL_TABLE}", i + 2)
             for i, r in enumerate(package_table(OFFICIAL_TABLE))]
    entries = {r["name"]: r for r in table}
    names = list(entries)
    release = any(os.path.isfile(os.path.join(root, r["folder"], r["anno"])) for r in table)
    if release:
        return SplitListing(names=names, source=f"package:{OFFICIAL_TABLE}", entries=entries,
                            layout="release")
    index = root / PYSOT_INDEX
    if index.is_file():
        return _pysot_listing(root, index, entries)
    raise layout_error(TITLE, root, EXPECTED, probe)


def _pysot_listing(root: Path, index: Path, entries: dict[str, dict[str, Any]]) -> SplitListing:
    try:
        data = json.loads(index.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read pysot index: {exc}", index) from None
    if not isinstance(data, dict):
        raise InputError("pysot index is not a JSON object of videos", index)
    by_alias = {a: n for n, r in entries.items() for a in (n, *r["aliases"])}
    merged: dict[str, dict[str, Any]] = {}
    for key, video in data.items():
        name = by_alias.get(key, key)
        plain_component(name, "sequence name", index)
        if not isinstance(video, dict) or not {"img_names", "gt_rect"} <= set(video):
            raise InputError(f"video {key!r} lacks img_names/gt_rect", index)
        base = dict(entries.get(name, {"name": name, "folder": key, "object_class": ""}))
        base.update(pysot_key=key, img_names=video["img_names"], gt_rect=video["gt_rect"])
        merged[name] = base
    names = [n for n in entries if n in merged] + [n for n in merged if n not in entries]
    missing = [n for n in entries if n not in merged]
    return SplitListing(names=names, source=str(index), entries=merged,
                        missing_parts=[f"{n} (not in {PYSOT_INDEX})" for n in missing],
                        layout="pysot-json")


class OtbLoader(TableLoader):
    """Loads OTB-100 sequences from the release folders or pysot's index."""

    def __init__(self, root: Path, dataset: str, split: str, official: str | None):
        super().__init__(root, dataset, split, official)
        self._attributes = package_attributes(ATTRIBUTES) if official else {}

    def _entry(self, name: str, listing: SplitListing) -> dict[str, Any]:
        return listing.entries[name]

    def exists(self, name: str, listing: SplitListing) -> bool:
        e = self._entry(name, listing)
        if "img_names" in e:
            return os.path.isdir(self._pysot_files(e, listing.source)[0])
        source, line = listing.origin(name)
        anno = contained_path(self.root, (e["folder"], e["anno"]), source, line)
        return os.path.isfile(anno)

    def load(self, name: str, listing: SplitListing) -> Sequence:
        e = self._entry(name, listing)
        if "img_names" in e:
            return self._load_pysot(name, e, listing)
        source, line = listing.origin(name)
        anno = contained_path(self.root, (e["folder"], e["anno"]), source, line)
        img_dir = contained_path(self.root, (e["folder"], e["img_dir"]), source, line)
        gt = read_boxes(anno)
        start, end, omit = e["start"], e["end"], e["init_omit"]
        if len(gt) != end - start + 1:
            raise InputError(f"{len(gt)} annotation lines, but the table annotates frames "
                             f"{start}..{end} ({end - start + 1} frames)", anno)
        frames = numbered_frames(self._folders, img_dir, start + omit, end, e["digits"], e["ext"])
        return Sequence(name=name, dataset=self.dataset, split=self.split, frames=frames,
                        gt=np.ascontiguousarray(gt[omit:]), visible=None,
                        attributes=dict(self._attributes.get(name, {})),
                        meta={"folder": e["folder"], "object_class": e["object_class"],
                              "first_frame": start + omit, "layout": "release"},
                        annotation_file=str(anno), annotation_first_line=1 + omit)

    def _load_pysot(self, name: str, e: dict[str, Any], listing: SplitListing) -> Sequence:
        index = listing.source
        names = e["img_names"]
        try:
            gt = np.asarray(e["gt_rect"], dtype=np.float64)
        except (TypeError, ValueError):
            raise InputError(f"video {e['pysot_key']!r}: gt_rect is not a list of boxes",
                             index) from None
        if gt.ndim != 2 or gt.shape[1] != 4 or not isinstance(names, list) or not names:
            raise InputError(f"video {e['pysot_key']!r}: gt_rect must be N x 4 and img_names "
                             "a non-empty list", index)
        if len(names) != len(gt):
            raise InputError(f"video {e['pysot_key']!r}: {len(names)} img_names but "
                             f"{len(gt)} gt_rect rows", index)
        folder, files = self._pysot_files(e, index)
        return Sequence(name=name, dataset=self.dataset, split=self.split,
                        frames=FrameList(folder, files),
                        gt=gt, visible=None, attributes=dict(self._attributes.get(name, {})),
                        meta={"folder": e.get("folder", ""), "layout": "pysot-json",
                              "object_class": e.get("object_class", "")})

    def _pysot_files(self, e: dict[str, Any], index: str) -> tuple[str, list[str]]:
        """(frame folder, file names) of a pysot video; its ``video_dir`` missing on disk, the
        table's release folder (``Jogging`` for ``Jogging-1``) is used instead."""
        names = e["img_names"]
        if not isinstance(names, list) or not names:
            raise InputError(f"video {e['pysot_key']!r}: img_names must be a non-empty list",
                             index)
        parts = [str(p).replace("\\", "/").split("/") for p in names]
        if any(len(p) < 2 for p in parts):
            raise InputError(f"video {e['pysot_key']!r}: img_names must be <folder>/.../<file>",
                             index)
        first = contained_path(self.root, tuple(parts[0][:-1]), index)
        if not os.path.isdir(first) and e.get("folder") and e["folder"] != parts[0][0]:
            parts = [[e["folder"], *p[1:]] for p in parts]
        dirs = {tuple(p[:-1]) for p in parts}
        if len(dirs) != 1:
            raise InputError(f"video {e['pysot_key']!r}: frames span several folders", index)
        folder = contained_path(self.root, dirs.pop(), index)
        return folder, [plain_component(p[-1], "frame name", index) for p in parts]
