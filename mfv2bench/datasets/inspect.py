"""Plain-data views of a loaded split, for ``mfv2bench datasets inspect`` and other tools."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .base import DatasetSplit, Sequence
from .frames import FrameList


def _frame_strings(seq: Sequence) -> list[str]:
    if isinstance(seq.frames, FrameList):
        return seq.frames.strings()
    return [str(p) for p in seq.frames]


def _number(v: float) -> float | int | None:
    """JSON-safe number: NaN/inf become null; integral values stay floats as in the array."""
    f = float(v)
    return None if math.isnan(f) or math.isinf(f) else f


def sequence_record(seq: Sequence) -> dict[str, Any]:
    """``{"name", "n_frames", "frames", "gt", "visible"}`` exactly as the inspect schema says:
    gt has one row per annotated frame (as in the file), visible a bool per frame or None."""
    return {
        "name": seq.name,
        "n_frames": seq.n_frames,
        "frames": _frame_strings(seq),
        "gt": [[_number(v) for v in row] for row in np.asarray(seq.gt)],
        "visible": None if seq.visible is None else [bool(v) for v in seq.visible],
    }


def split_records(split: DatasetSplit) -> list[dict[str, Any]]:
    """One ``sequence_record`` per sequence, in split order."""
    return [sequence_record(s) for s in split.sequences]


def summary_rows(split: DatasetSplit) -> list[dict[str, Any]]:
    """Short per-sequence facts for a human-readable listing."""
    rows = []
    for s in split.sequences:
        rows.append(
            {
                "name": s.name,
                "n_frames": s.n_frames,
                "gt_rows": int(len(s.gt)),
                "visible": None if s.visible is None else int(np.count_nonzero(s.visible)),
                "image_size": None if s.image_size is None
                else f"{s.image_size[0]}x{s.image_size[1]}",
                "attributes": ",".join(k for k, v in s.attributes.items() if v) or "",
            }
        )
    return rows
