"""Degenerate-output guard: flags raw results that no metric should be trusted on.

A tracker that returns the same box every frame, never changes size, emits NaN, or places its
box outside the image usually has a bug (wrong checkpoint, wrong colour order, broken
pre-processing); its AUC is still a number. The guard checks raw predictions (frame 1 excluded,
since every protocol overwrites or drops it) and lists the sequences affected.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from mfv2bench.metrics.engine import QUIET

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


@QUIET
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


@QUIET
def check_outputs(preds: dict[str, np.ndarray],
                  image_sizes: dict[str, tuple[int, int] | None] | None = None
                  ) -> DegenerateReport:
    """``check_sequence`` over a tracker's sequences, vectorized over all frames at once."""
    rep = DegenerateReport(n_sequences=len(preds))
    names = list(preds)
    arrays = [np.asarray(preds[n], dtype=np.float64).reshape(-1, 4)[1:] for n in names]
    lengths = np.array([len(a) for a in arrays], dtype=np.int64)
    total = int(lengths.sum())
    if total == 0:
        return rep
    s_count = len(names)
    x, y, w, h = np.concatenate([a.T for a in arrays], axis=1)  # column-major copy
    seq_of: list[np.ndarray] = []

    def per_seq(mask: np.ndarray) -> np.ndarray:  # flags are rare: count the hits only
        if not seq_of:
            seq_of.append(np.repeat(np.arange(s_count), lengths))
        return np.bincount(seq_of[0][mask], minlength=s_count)

    starts = np.concatenate(([0], np.cumsum(lengths)[:-1]))
    # min propagates NaN (and so does the sum): four reductions tell whether a row has one
    any_nan = bool(np.isnan(x.min() + y.min() + w.min() + h.min()))
    if any_nan:
        nan_rows = np.isnan(x)
        nan_rows |= np.isnan(y)
        nan_rows |= np.isnan(w)
        nan_rows |= np.isnan(h)
        ok = ~nan_rows
        nan_count = per_seq(nan_rows)
        # first non-NaN row of each sequence as reference
        idx = np.where(ok, np.arange(total), total - 1)
        first = np.full(s_count, total - 1)
        nonempty = lengths > 0
        first[nonempty] = np.minimum.reduceat(idx, starts[nonempty])
    else:
        ok = np.ones(total, dtype=bool)
        nan_count = np.zeros(s_count, np.int64)
    n_ok = lengths - nan_count
    if any_nan:
        with np.errstate(invalid="ignore"):
            same_size = np.repeat(w[first], lengths) == w
            same_size &= np.repeat(h[first], lengths) == h
            same_all = same_size & (np.repeat(x[first], lengths) == x)
            same_all &= np.repeat(y[first], lengths) == y
            bad_size = (w <= 0) | (h <= 0)
        # rows with any NaN take part in no other flag
        same_size &= ok
        same_all &= ok
        bad_size &= ok
        const_size = per_seq(same_size) == n_ok
        const_all = per_seq(same_all) == n_ok
        n_bad = per_seq(bad_size)
    else:  # the usual case: per-sequence extremes instead of per-frame comparisons
        const_size, const_all = _constant_rows(x, y, w, h, starts, lengths)
        n_bad = per_seq((w <= 0) | (h <= 0)) if min(w.min(), h.min()) <= 0 \
            else np.zeros(s_count, np.int64)
    outside_n = np.zeros(s_count, dtype=np.int64)
    if image_sizes is not None:
        wh = np.array([image_sizes.get(n) or (np.nan, np.nan) for n in names], dtype=np.float64)
        if np.isfinite(wh).any():
            iw, ih = np.repeat(wh[:, 0], lengths), np.repeat(wh[:, 1], lengths)
            with np.errstate(invalid="ignore"):
                outside = ((x + w <= 0) | (y + h <= 0) | (x >= iw) | (y >= ih))
            outside &= ok & ~np.isnan(iw)
            outside_n = per_seq(outside)
    multi = n_ok >= 2
    for i in np.flatnonzero(nan_count | n_bad | outside_n | (multi & const_size)):
        name = names[i]
        if nan_count[i]:
            rep.flags["nan"][name] = int(nan_count[i])
        if multi[i]:
            if const_all[i]:
                rep.flags["all_identical"][name] = int(n_ok[i])
            elif const_size[i]:
                rep.flags["constant_size"][name] = int(n_ok[i])
        if n_bad[i]:
            rep.flags["non_positive_size"][name] = int(n_bad[i])
        if outside_n[i]:
            rep.flags["outside_image"][name] = int(outside_n[i])
    return rep


def _constant_rows(x: np.ndarray, y: np.ndarray, w: np.ndarray, h: np.ndarray,
                   starts: np.ndarray, lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per sequence (no NaN anywhere): every row of the same size, and every row the same box
    (min == max of each column over the sequence's rows)."""
    s_count = len(lengths)
    const_size = np.ones(s_count, dtype=bool)  # empty sequences: vacuously constant
    nonempty = lengths > 0
    at = starts[nonempty]
    for col in (w, h):
        const_size[nonempty] &= np.minimum.reduceat(col, at) == np.maximum.reduceat(col, at)
    const_all = const_size.copy()
    for i in np.flatnonzero(const_size & nonempty):  # rare: degenerate sequences only
        a, b = int(starts[i]), int(starts[i] + lengths[i])
        const_all[i] = bool((x[a:b] == x[a]).all() and (y[a:b] == y[a]).all())
    return const_size, const_all
