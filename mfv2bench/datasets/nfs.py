"""Need for Speed (NfS), 30 fps, in either of its two common layouts (``datasets inspect``
says which one it found):

- ``release``: the download, ``<root>/<Seq>/30/<Seq>/00001.jpg`` and ``<root>/<Seq>/30/<Seq>.txt``,
  annotation lines ``<id> <xmin> <ymin> <xmax> <ymax> <frame> <lost> <occluded> <generated>
  "<label>"`` (whitespace-separated). Read as got-10k/toolkit@956e728 ``got10k/datasets/nfs.py``
  does: columns 1..4, ``w = xmax - xmin``, ``h = ymax - ymin``; a file holding about 8 rows per
  frame (240 fps annotations) keeps every 8th row.
- ``pytracking``: pytracking's conversion, ``<root>/sequences/<Seq>/00001.jpg`` and
  ``<root>/anno/nfs_<Seq>.txt`` (tab-separated ``x,y,w,h``), as
  ``pytracking/evaluation/nfsdataset.py`` (visionml/pytracking@7eb9e74) reads it.

Both use the 100-sequence table of pytracking's ``nfsdataset.py`` (``splits/nfs30.csv``: name,
folder, last frame, object class, occlusion flag): frames ``00001.jpg`` .. the table's last
frame. Ten sequences (Gymnastics, Skydiving, airtable_3, basketball_2, beach_flipback_person,
bowling_ball, motorcross, parkour, shuffletable_4, soccer_ball_2) have one image more than
annotations (a secondary survey, kumatheworld/tracking-sanity ``Datasets.md``); the table's
frame count is the annotated one, and the got10k toolkit drops that last image too. A release
annotation longer than the table's frame count by at most one row is cut to it, as the got10k
toolkit does; anything else is an error. Names are pytracking's (``nfs_Gymnastics``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError, MissingDataError
from .annotations import read_boxes
from .base import Sequence
from .common import (TableLoader, layout_error, numbered_frames, package_table, read_root_table,
                     table_int)
from .listing import SplitListing, contained_path, plain_component

OFFICIAL_TABLE = "nfs30.csv"
ROOT_TABLE = "sequences.csv"
COLUMNS = ("name", "folder", "end")
TITLE = "NfS (30 fps)"
EXPECTED = ("<root>/<Seq>/30/<Seq>/00001.jpg with <root>/<Seq>/30/<Seq>.txt (release), or "
            "<root>/sequences/<Seq>/00001.jpg with <root>/anno/nfs_<Seq>.txt (pytracking)")


def _is_pytracking(root: Path) -> bool:
    return (root / "sequences").is_dir() and (root / "anno").is_dir()


def _is_release(root: Path, folders: list[str]) -> bool:
    return any(os.path.isdir(os.path.join(root, f, "30")) for f in folders)


def probe(root: Path) -> bool:
    """Whether ``root`` holds either NfS layout (release: any ``<Seq>/30`` folder)."""
    if _is_pytracking(root):
        return True
    try:
        return any(os.path.isdir(os.path.join(root, e, "30"))
                   for e in sorted(os.listdir(root))[:100])
    except OSError:
        return False


def _row(row: dict[str, str], source: str, line: int | None) -> dict[str, Any]:
    plain_component(row["folder"], "folder", source, line)
    end = table_int(row, "end", source, line)
    if end < 1:
        raise InputError(f"sequence {row['name']}: empty frame range", source, line)
    return {"name": row["name"], "folder": row["folder"], "end": end,
            "object_class": row.get("object_class", ""),
            "occlusion": row.get("occlusion", "") in ("1", "True", "true")}


def split_listing(root: Path, split: str, official: str | None) -> SplitListing:
    """The table (the root's ``sequences.csv``, else the official one) and which layout holds
    it; a root with neither layout is an error naming both."""
    own = root / ROOT_TABLE
    if own.is_file():
        rows = read_root_table(own, COLUMNS)
        entries = {r["name"]: _row(r, str(own), line) for r, line in rows}
        source, lines = str(own), {r["name"]: (str(own), line) for r, line in rows}
    elif official is None:
        raise MissingDataError(f"{own} not found: this root has no sequence table (write one "
                               "with `mfv2bench datasets synth --format nfs --out DIR`)")
    else:
        entries = {r["name"]: _row(r, f"package:{OFFICIAL_TABLE}", i + 2)
                   for i, r in enumerate(package_table(OFFICIAL_TABLE))}
        source, lines = f"package:{OFFICIAL_TABLE}", {}
    if _is_pytracking(root):
        layout = "pytracking"
    elif _is_release(root, [e["folder"] for e in entries.values()]):
        layout = "release"
    else:
        raise layout_error(TITLE, root, EXPECTED, probe)
    return SplitListing(names=list(entries), source=source, entries=entries, lines=lines,
                        layout=layout)


def read_release_annotation(path: str | Path, n_images: int | None = None) -> np.ndarray:
    """A release ``30/<Seq>.txt`` as (N, 4) ``x,y,w,h``: whitespace-separated fields, columns
    1..4 are ``xmin ymin xmax ymax``; about 8 rows per image (240 fps rows) keep every 8th."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError("annotation file not found", path) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read annotation file: {exc}", path) from None
    rows = []
    for i, line in enumerate(text.splitlines()):
        fields = line.split()
        if not fields:
            continue
        try:
            rows.append([float(v) for v in fields[1:5]])
        except ValueError:
            rows.append([])
        if len(rows[-1]) != 4:
            raise InputError("expected '<id> <xmin> <ymin> <xmax> <ymax> ...'", path, i + 1)
    if not rows:
        raise InputError("annotation file is empty", path)
    arr = np.asarray(rows, dtype=np.float64)
    if n_images and abs(len(arr) / n_images - 8) < 1:
        arr = arr[0::8]
    arr[:, 2:] -= arr[:, :2]
    return arr


class NfsLoader(TableLoader):
    """Loads NfS 30 fps sequences from the layout ``split_listing`` found."""

    def _paths(self, name: str, listing: SplitListing) -> tuple[dict[str, Any], str, str]:
        e = listing.entries[name]
        source, line = listing.origin(name)
        f = e["folder"]
        if listing.layout == "pytracking":
            frames = contained_path(self.root, ("sequences", f), source, line)
            anno = contained_path(self.root, ("anno", f"nfs_{f}.txt"), source, line)
        else:
            frames = contained_path(self.root, (f, "30", f), source, line)
            anno = contained_path(self.root, (f, "30", f"{f}.txt"), source, line)
        return e, frames, anno

    def load(self, name: str, listing: SplitListing) -> Sequence:
        e, frame_dir, anno = self._paths(name, listing)
        n = e["end"]
        if listing.layout == "pytracking":
            gt = read_boxes(anno)
            if len(gt) != n:
                raise InputError(f"{len(gt)} annotation lines, but the table gives {n} frames",
                                 anno)
        else:
            images = sum(1 for x in self._folders.names(frame_dir) if x.endswith(".jpg"))
            gt = read_release_annotation(anno, images)
            if not n <= len(gt) <= n + 1:
                raise InputError(f"{len(gt)} annotation rows at 30 fps, but the table gives "
                                 f"{n} frames", anno)
            gt = np.ascontiguousarray(gt[:n])
        frames = numbered_frames(self._folders, frame_dir, 1, n, 5, "jpg")
        return Sequence(name=name, dataset=self.dataset, split=self.split, frames=frames, gt=gt,
                        visible=None,
                        meta={"folder": e["folder"], "object_class": e["object_class"],
                              "occlusion": e["occlusion"], "layout": listing.layout},
                        annotation_file=str(anno),
                        annotation_first_line=1 if listing.layout == "pytracking" else None)
