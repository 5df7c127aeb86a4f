"""Degenerate-output guard: flags raw results that no metric should be trusted on.

A tracker that returns the same box every frame, never changes size, emits NaN, or places its
box outside the image usually has a bug (wrong checkpoint, wrong colour order, broken
pre-processing); its AUC is still a number. The guard checks raw predictions (frame 1 excluded,
since every protocol overwrites or drops it) and lists the sequences affected.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

FLAGS = ("all_identical", "constant_size", "nan", "non_positive_size", "outside_image")


@dataclass
class DegenerateReport:
    """Per flag, the sequences affected and how many frames (of how many) triggered it."""

    flags: dict[str, dict[str, int]] = field(default_factory=lambda: {f: {} for f in FLAGS})
    n_sequences: int = 0

    @property
    def any(self) -> bool:
        return any(self.flags.values())

    def sequences(self, flag: str) -> list[str]:
        return sorted(self.flags[flag])

    def summary(self) -> dict[str, list[str]]:
        """flag -> sorted sequence names (only flags that fired)."""
        return {f: sorted(v) for f, v in self.flags.items() if v}

    def to_dict(self) -> dict:
        return {"n_sequences": self.n_sequences, "flags": {f: dict(v) for f, v in
                                                           self.flags.items()}}


def check_sequence(pred: np.ndarray, image_size: tuple[int, int] | None = None
                   ) -> dict[str, int]:
    """Flags for one sequence's predictions: flag -> number of frames concerned."""
    p = np.asarray(pred, dtype=np.float64).reshape(-1, 4)[1:]
    out: dict[str, int] = {}
    if len(p) == 0:
        return out
    nan_rows = np.isnan(p).any(axis=1)
    if nan_rows.any():
        out["nan"] = int(nan_rows.sum())
    ok = p[~nan_rows]
    if len(ok) >= 2:
        if (ok == ok[0]).all():
            out["all_identical"] = len(ok)
        elif (ok[:, 2:] == ok[0, 2:]).all():
            out["constant_size"] = len(ok)
    bad_size = (ok[:, 2] <= 0) | (ok[:, 3] <= 0)
    if bad_size.any():
        out["non_positive_size"] = int(bad_size.sum())
    if image_size is not None and len(ok):
        w, h = float(image_size[0]), float(image_size[1])
        x1, y1 = ok[:, 0], ok[:, 1]
        x2, y2 = x1 + ok[:, 2], y1 + ok[:, 3]
        outside = (x2 <= 0) | (y2 <= 0) | (x1 >= w) | (y1 >= h)
        if outside.any():
            out["outside_image"] = int(outside.sum())
    return out


def check_outputs(preds: dict[str, np.ndarray],
                  image_sizes: dict[str, tuple[int, int] | None] | None = None
                  ) -> DegenerateReport:
    """Run ``check_sequence`` over a tracker's sequences."""
    rep = DegenerateReport(n_sequences=len(preds))
    for name, pred in preds.items():
        size = None if image_sizes is None else image_sizes.get(name)
        for flag, count in check_sequence(pred, size).items():
            rep.flags[flag][name] = count
    return rep
