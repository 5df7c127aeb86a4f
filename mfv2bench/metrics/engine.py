"""Vectorized metric engine: interprets a ``MetricProtocol`` over many sequences at once.

All frames of all sequences (and runs) are concatenated into flat column-major arrays; per-frame
IoU and centre errors follow the protocol's exact operation order; per-sequence curves are
counted with one threshold binning + ``bincount`` per metric, so the cost is linear in frames
with no Python loop over frames or thresholds.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence as Seq, TypeVar

import numpy as np

from mfv2bench.errors import InputError
from mfv2bench.metrics.protocols import SHORT_RULES, MetricProtocol, get_protocol

_T = TypeVar("_T")

# Scoring hostile boxes (1e308, inf - inf, 0/0) overflows on purpose: the rules give those frames
# their value (failed, rejected); numpy's warnings about it must not reach the user's terminal.
# Local to our computations (a decorator), never a global filter.
def QUIET(fn: Callable[..., _T]) -> Callable[..., _T]:
    """Run ``fn`` with numpy's floating-point warnings off (a fresh ``np.errstate`` per call, so
    nesting is safe)."""
    @functools.wraps(fn)
    def quiet(*args: Any, **kwargs: Any) -> _T:
        with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
            return fn(*args, **kwargs)
    return quiet


class ProtocolRejection(InputError):
    """The protocol's toolkit cannot evaluate this input; we refuse it with the reason."""


@dataclass
class SequenceInput:
    """One sequence to score: GT, one or more runs of predictions, optional labels."""

    name: str
    gt: np.ndarray
    runs: list[np.ndarray]
    visible: np.ndarray | None = None
    cover: np.ndarray | None = None
    image_size: tuple[int, int] | None = None
    times: np.ndarray | None = None
    sources: list[Path | None] = field(default_factory=list)
    gt_source: Path | str | None = None  # the GT file, for errors about a GT value
    gt_first_line: int | None = None  # its line holding frame 1 (None: rows are not lines)
    gaps: list[int | None] = field(default_factory=list)  # per run: a blank line inside a short file


@dataclass
class BatchScores:
    """Per-sequence curves (S, T) and scalars (S,) for one protocol; NaN where undefined."""

    protocol: MetricProtocol
    names: list[str]
    n_frames: np.ndarray
    success: np.ndarray
    precision: np.ndarray | None
    norm_precision: np.ndarray | None
    ao: np.ndarray | None
    sr50: np.ndarray | None
    sr75: np.ndarray | None
    iou_sum: np.ndarray | None
    speed_fps: np.ndarray | None
    time_stats: np.ndarray | None  # (S, 2): sum of 1/t and count of usable per-frame times
    rejected: dict[str, str] = field(default_factory=dict)
    coverage: np.ndarray | None = None  # TrackingNet: share of frames with a submitted box
    # repeated runs: (R, M) overall score of each run alone, M = the protocol's headline metrics
    # (filled by the analysis; None for single runs)
    run_values: np.ndarray | None = None
    # sequence -> what the protocol's length rules did to a result shorter or longer than it
    length_notes: dict[str, list[str]] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.names)


@dataclass
class FrameErrors:
    """Per-frame IoU, centre error and normalized centre error with the protocol's sentinels
    (-1: failure for success / success for precision; inf: failure) for one run; ``counted``
    marks frames that enter the denominator."""

    iou: np.ndarray
    center_error: np.ndarray | None
    norm_center_error: np.ndarray | None
    counted: np.ndarray
    submitted: np.ndarray | None = None  # TrackingNet's sanity check: h + w + x + y > 0
    missing: np.ndarray | None = None  # frames a short result lacks, scored as failures


def _reject(p: MetricProtocol, rule: str, name: str, src: Path | str | None, detail: str,
            line: int | None = None) -> None:
    reason = p.reject_messages.get(rule, rule)
    raise ProtocolRejection(
        f"protocol {p.name!r} cannot evaluate sequence {name}: {reason}; {detail}", path=src,
        line=line,
    )


@dataclass
class _Flat:
    gt: np.ndarray  # (4, N) column-major: x, y, w, h rows
    pred: np.ndarray  # (4, N)
    unit: np.ndarray  # (N,) unit index (one unit = one run of one sequence)
    starts: np.ndarray  # (U,)
    visible: np.ndarray | None  # (N,) bool
    cover: np.ndarray | None
    bound: np.ndarray | None  # (N,2) image W,H
    unit_item: np.ndarray  # (U,) sequence index of each unit
    missing: np.ndarray | None = None  # (N,) bool: padded rows of a short result


def _run_label(it: SequenceInput, r: int, src: Path | str | None) -> str:
    """How a note names one run's file (its name, or the run number when it has none)."""
    if src is not None:
        return Path(str(src)).name
    return f"run {r + 1}" if len(it.runs) > 1 else "the result"


def _fit_length(p: MetricProtocol, it: SequenceInput, r: int, pred: np.ndarray, n: int,
                src: Path | str | None, notes: list[str]
                ) -> tuple[np.ndarray, int, np.ndarray | None]:
    """Apply the protocol's length rules to one run: (rows to score, frames scored, mask of the
    padded rows or None). A shorter or longer result is noted (or refused) naming its file."""
    rows = len(pred)
    if rows > n:
        if p.pred_longer == "reject":
            _reject(p, "pred_longer", it.name, src, f"{rows} rows for {n} frames")
        # pytracking validates the whole file before truncating it
        extra = pred[n:]
        if p.pred_nan == "reject" and np.isnan(extra).any():
            _reject(p, "pred_nan", it.name, src,
                    f"row {n + 1 + int(np.flatnonzero(np.isnan(extra).any(1))[0])} "
                    "(beyond the sequence) has a NaN")
        if p.pred_negative_size == "reject" and (extra[:, 2:] < 0).any():
            _reject(p, "pred_negative_size", it.name, src,
                    f"row {n + 1 + int(np.flatnonzero((extra[:, 2:] < 0).any(1))[0])}"
                    " (beyond the sequence) has a negative size")
        notes.append(f"{_run_label(it, r, src)}: {rows - n} row(s) beyond the {n} frames "
                     f"ignored ({p.name} rule: truncate)")
        return pred[:n], n, None
    if rows == n:
        return pred, n, None
    short = n - rows
    gap = it.gaps[r] if r < len(it.gaps) else None
    where = (f"; the blank line {gap} inside the file stands for a lost frame, so the rows "
             "after it are one frame early" if gap is not None else "")
    if p.pred_shorter == "reject":
        _reject(p, "pred_shorter", it.name, src,
                f"{rows} rows for {n} frames: {short} row(s) short{where}",
                line=gap if gap is not None else rows + 1)
    note = (f"{_run_label(it, r, src)}: {short} row(s) short of {n} frames: "
            f"{SHORT_RULES[p.pred_shorter]} ({p.name} rule: {p.pred_shorter}){where}")
    if p.pred_shorter == "truncate-gt":
        if rows < p.min_frames:
            _reject(p, "min_frames", it.name, src, f"the result has {rows} row(s) and the "
                    "toolkit cuts the sequence to them")
        notes.append(note)
        return pred, rows, None
    fill = 0.0 if p.pred_shorter == "pad-zeros" else np.nan
    padded = np.concatenate([pred, np.full((short, 4), fill)]) if rows else np.full((n, 4), fill)
    missing = np.zeros(n, dtype=bool)
    missing[rows:] = True
    notes.append(note)
    return padded, n, missing


def _prepare(items: Seq[SequenceInput], p: MetricProtocol, on_reject: str,
             rejected: dict[str, str], length_notes: dict[str, list[str]] | None = None
             ) -> tuple[list[int], _Flat | None]:
    """Length checks and concatenation; returns the kept item indices and flat arrays (and, in
    ``length_notes``, what the protocol's length rules did per kept sequence)."""
    kept: list[int] = []
    gts, preds, vis, covs, bounds, unit_item, lengths = [], [], [], [], [], [], []
    misses: list[np.ndarray | None] = []
    need_vis = p.absent in ("fail", "fail-except-norm")
    for i, it in enumerate(items):
        try:
            n = len(it.gt)
            if n == 0:
                raise InputError(f"sequence {it.name} has no GT rows")
            if n < p.min_frames:
                _reject(p, "min_frames", it.name, None, f"it has {n} frame(s)")
            if p.clip_to_image and it.image_size is None:
                raise InputError(f"protocol {p.name!r} needs the image size of sequence "
                                 f"{it.name} (GOT-10k meta_info.ini resolution)")
            if p.absent == "drop-cover0" and it.cover is None:
                raise InputError(f"protocol {p.name!r} needs the cover labels of sequence "
                                 f"{it.name}")
            if not it.runs:
                raise InputError(f"no results for sequence {it.name}")
            if np.ndim(it.gt) != 2 or np.shape(it.gt)[1] != 4:
                raise InputError(f"GT of sequence {it.name} must be (N, 4) x,y,w,h, got shape "
                                 f"{np.shape(it.gt)}")
            for label, arr in (("visibility flags", it.visible), ("cover labels", it.cover)):
                if arr is not None and np.size(arr) != n:
                    raise InputError(f"sequence {it.name} has {n} GT rows but {np.size(arr)} "
                                     f"{label}")
            run_preds = []
            notes: list[str] = []
            for r, pred in enumerate(it.runs):
                src = it.sources[r] if r < len(it.sources) else None
                pred = np.asarray(pred, dtype=np.float64)
                if pred.ndim == 1 and pred.shape[0] == 4:
                    pred = pred.reshape(1, 4)
                if pred.size == 0:
                    pred = pred.reshape(0, 4)
                if pred.ndim != 2 or pred.shape[1] != 4:
                    raise InputError(f"result of sequence {it.name} must be (N, 4) x,y,w,h, got "
                                     f"shape {pred.shape}", path=src)
                run_preds.append(_fit_length(p, it, r, pred, n, src, notes))
        except ProtocolRejection as exc:
            if on_reject == "raise":
                raise
            rejected[it.name] = exc.reason
            continue
        kept.append(i)
        if notes and length_notes is not None:
            length_notes[it.name] = notes
        gt = np.asarray(it.gt, dtype=np.float64).reshape(-1, 4)
        for pred, m, miss in run_preds:
            gts.append(gt[:m])
            preds.append(pred)
            lengths.append(m)
            misses.append(miss)
            unit_item.append(len(kept) - 1)
            if need_vis:
                vis.append(np.ones(m, bool) if it.visible is None
                           else np.asarray(it.visible, bool).reshape(-1)[:m])
            if p.absent == "drop-cover0":
                covs.append(np.asarray(it.cover).reshape(-1)[:m])
            if p.clip_to_image:
                bounds.append(np.broadcast_to(np.asarray(it.image_size, np.float64), (m, 2)))
    if not kept:
        return kept, None
    lengths_arr = np.asarray(lengths, dtype=np.int64)
    starts = np.zeros(len(lengths_arr), dtype=np.int64)
    np.cumsum(lengths_arr[:-1], out=starts[1:])
    unit = np.repeat(np.arange(len(lengths_arr)), lengths_arr)
    flat = _Flat(
        gt=np.concatenate([g.T for g in gts], axis=1) if len(gts) > 1 else gts[0].T.copy(),
        pred=(np.concatenate([a.T for a in preds], axis=1) if len(preds) > 1
              else preds[0].T.copy()),
        unit=unit, starts=starts,
        visible=np.concatenate(vis) if need_vis else None,
        cover=np.concatenate(covs) if covs else None,
        bound=np.concatenate(bounds) if bounds else None,
        unit_item=np.asarray(unit_item, dtype=np.int64),
        missing=(None if all(m is None for m in misses) else np.concatenate(
            [np.zeros(k, bool) if m is None else m for m, k in zip(misses, lengths)])),
    )
    if flat.missing is not None and p.first_frame == "gt":
        flat.missing[flat.starts] = False  # frame 1 is the GT box whatever the file holds
    return kept, flat


def _first_bad(mask: np.ndarray, flat: _Flat) -> tuple[int, int]:
    """(unit, 1-based frame) of the first True in a per-frame mask."""
    row = int(np.flatnonzero(mask)[0])
    u = int(flat.unit[row])
    return u, row - int(flat.starts[u]) + 1


def _has_nan(a: np.ndarray) -> bool:
    """Any NaN, in one pass without a mask (min propagates NaN)."""
    return a.size > 0 and bool(np.isnan(np.min(a)))


def _check_rejections(flat: _Flat, p: MetricProtocol, items: Seq[SequenceInput],
                      kept: list[int], on_reject: str, rejected: dict[str, str]) -> np.ndarray:
    """Apply the toolkit's refusals; returns a per-unit mask of units still to score."""
    ok = np.ones(len(flat.starts), dtype=bool)
    checks = []
    if p.nan_gt == "reject" and _has_nan(flat.gt):
        checks.append(("nan_gt", np.isnan(flat.gt).any(axis=0), "GT frame {f} has a NaN"))
    pred_nan = _has_nan(flat.pred)
    if p.pred_nan == "reject" and pred_nan:
        checks.append(("pred_nan", np.isnan(flat.pred).any(axis=0), "frame {f} has a NaN"))
    if p.pred_negative_size == "reject" and flat.pred.shape[1] and (
            (pred_nan and (flat.pred[2:] < 0).any()) or np.min(flat.pred[2:]) < 0):
        checks.append(("pred_negative_size", (flat.pred[2:] < 0).any(axis=0),
                       "frame {f} has a negative size"))
    for rule, mask, detail in checks:
        if flat.missing is not None and rule != "nan_gt":
            mask = mask & ~flat.missing  # padding is the protocol's, not the tracker's output
        if not mask.any():
            continue
        bad_units = np.unique(flat.unit[mask])
        for u in bad_units:
            if not ok[u]:
                continue
            it = items[kept[flat.unit_item[u]]]
            umask = mask & (flat.unit == u)
            _, f = _first_bad(umask, flat)
            run = int(u - np.flatnonzero(flat.unit_item == flat.unit_item[u])[0])
            src = it.sources[run] if run < len(it.sources) else None
            line = None
            if rule == "nan_gt" and it.gt_source is not None:  # the GT file holds the bad value
                src = it.gt_source
                line = None if it.gt_first_line is None else it.gt_first_line + f - 1
            try:
                _reject(p, rule, it.name, src, detail.format(f=f), line=line)
            except ProtocolRejection as exc:
                if on_reject == "raise":
                    raise
                rejected[it.name] = exc.reason
            # every run of a rejected sequence leaves
            ok[flat.unit_item == flat.unit_item[u]] = False
    return ok


def _carry_forward(flat: _Flat, p: MetricProtocol) -> None:
    """Replace invalid prediction rows by the previous (already repaired) row, from frame 2 on,
    except where the GT row has a NaN (pytracking and the LaSOT MATLAB toolkit)."""
    pred = flat.pred  # column-major (4, N)
    wh = pred[2:]
    parts = []
    if not pred.shape[1] or (np.min(wh) > 0 and not _has_nan(pred)):
        return  # all sizes positive, no NaN (a NaN minimum compares False)
    if p.pred_zero_size == "carry" and (wh == 0).any():
        parts.append((wh == 0).any(axis=0))
    if p.pred_negative_size == "carry" and (wh < 0).any():
        parts.append((wh < 0).any(axis=0))
    if p.pred_nan == "carry" and np.isnan(pred).any():
        parts.append(np.isnan(pred).any(axis=0))
    if not parts:
        return
    bad = parts[0]
    for extra in parts[1:]:
        bad |= extra
    bad[flat.starts] = False
    if flat.missing is not None:  # pytracking pads after its carry-over: padding stays as is
        bad &= ~flat.missing
    if np.isnan(flat.gt).any():
        bad &= ~np.isnan(flat.gt).any(axis=0)
    if not bad.any():
        return
    idx = np.where(bad, 0, np.arange(pred.shape[1]))
    np.maximum.accumulate(idx, out=idx)
    flat.pred = pred[:, idx]


def _iou(p: MetricProtocol, a: np.ndarray, g: np.ndarray) -> np.ndarray:
    """Per-frame IoU in the protocol's exact operation order (a: prediction, g: GT; both
    column-major (4, N))."""
    ax, ay, aw, ah = a
    gx, gy, gw, gh = g
    with np.errstate(invalid="ignore", divide="ignore"):
        if p.iou == "inclusive":
            # in-place steps (large temporaries cost page faults), same operation order as
            # pytracking: sz = (min(a.xy + a.wh - 1, g.xy + g.wh - 1) - max(a.xy, g.xy)) + 1
            t = np.add(ax, aw)
            t -= 1.0
            u = np.add(gx, gw)
            u -= 1.0
            np.minimum(t, u, out=t)
            np.maximum(ax, gx, out=u)
            t -= u
            t += 1.0
            np.maximum(t, 0.0, out=t)
            v = np.add(ay, ah)
            v -= 1.0
            np.add(gy, gh, out=u)
            u -= 1.0
            np.minimum(v, u, out=v)
            np.maximum(ay, gy, out=u)
            v -= u
            v += 1.0
            np.maximum(v, 0.0, out=v)
            t *= v  # intersection
            np.multiply(aw, ah, out=v)
            np.multiply(gw, gh, out=u)
            v += u
            v -= t  # union
            t /= v
            return t
        if p.iou in ("got10k", "pysot"):
            x1 = np.maximum(ax, gx)
            y1 = np.maximum(ay, gy)
            x2 = np.minimum(ax + aw, gx + gw)
            y2 = np.minimum(ay + ah, gy + gh)
            inter = np.maximum(x2 - x1, 0.0) * np.maximum(y2 - y1, 0.0)
            union = aw * ah + gw * gh - inter
            if p.iou == "got10k":
                return np.clip(inter / (union + np.finfo(float).eps), 0.0, 1.0)
            return np.maximum(np.minimum(1.0, inter / union), 0.0)
        if p.iou == "trackingnet":
            # pandas' row-wise max/min skip NaN: np.fmax/np.fmin
            ix1 = np.fmax(gx, ax)
            iy1 = np.fmax(gy, ay)
            ix2 = np.fmin(gx + gw - 1.0, ax + aw - 1.0)
            iy2 = np.fmin(gy + gh - 1.0, ay + ah - 1.0)
            iw = np.round(ix2 - ix1 + 1)
            ih = np.round(iy2 - iy1 + 1)
            iw = np.where(iw < 0, 0.0, iw)
            ih = np.where(ih < 0, 0.0, ih)
            inter = iw * ih
            return inter / (gh * gw + ah * aw - inter)
    raise ValueError(f"unknown IoU convention {p.iou!r}")


def _centers(b: np.ndarray, p: MetricProtocol) -> tuple[np.ndarray, np.ndarray]:
    """x + (w - 1) / 2 (x + (w + 1) / 2 for TrackingNet), computed in place."""
    out = []
    for xy, wh in ((b[0], b[2]), (b[1], b[3])):
        c = np.add(wh, 1.0) if p.norm_center == "trackingnet" else np.subtract(wh, 1.0)
        c /= 2.0
        c += xy
        out.append(c)
    return out[0], out[1]


def _center_errors(p: MetricProtocol, a: np.ndarray, g: np.ndarray
                   ) -> tuple[np.ndarray | None, np.ndarray | None]:
    if not (p.has_center or p.has_norm):
        return None, None
    pcx, pcy = _centers(a, p)
    gcx, gcy = _centers(g, p)
    gw, gh = g[2], g[3]
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        dx = np.subtract(gcx, pcx)
        dy = np.subtract(gcy, pcy)
        err = None
        if p.has_center:
            err = np.multiply(dx, dx)
            err += dy * dy
            np.sqrt(err, out=err)
        norm = None
        if p.has_norm:
            if p.norm_center == "divide-first":  # pc/w - gc/w
                nx, ny = pcx, pcy
                nx /= gw
                gcx /= gw
                nx -= gcx
                ny /= gh
                gcy /= gh
                ny -= gcy
            elif p.norm_center == "divide-first-eps":  # gc/(w+1e-16) - pc/(w+1e-16)
                ew = gw + 1e-16
                eh = gh + 1e-16
                nx, ny = gcx, gcy
                nx /= ew
                pcx /= ew
                nx -= pcx
                ny /= eh
                pcy /= eh
                ny -= pcy
            elif p.norm_center == "subtract-first-max1":  # (pc - gc) / max(1, w)
                nx = np.subtract(pcx, gcx)
                nx /= np.maximum(1.0, gw)
                ny = np.subtract(pcy, gcy)
                ny /= np.maximum(1.0, gh)
            elif p.norm_center == "trackingnet":  # sqrt(dx/w*dx/w + dy/h*dy/h)
                nx = np.divide(dx, gw)
                nx *= dx
                nx /= gw
                ny = np.divide(dy, gh)
                ny *= dy
                ny /= gh
                nx += ny
                return err, np.sqrt(nx, out=nx)
            else:
                raise ValueError(f"unknown normalized-centre convention {p.norm_center!r}")
            nx *= nx
            ny *= ny
            nx += ny
            norm = np.sqrt(nx, out=nx)
    return err, norm


def _gt_valid(rule: str, g: np.ndarray) -> np.ndarray | None:
    """Valid-GT mask from column-major GT (4, N); NaN compares False, so NaN rows are invalid."""
    with np.errstate(invalid="ignore", divide="ignore"):
        if rule == "none":
            return None
        if rule == "wh>0":
            return (g[2] > 0) & (g[3] > 0)
        if rule == "all>0":
            return (g[0] > 0) & (g[1] > 0) & (g[2] > 0) & (g[3] > 0)
        cx = g[0] + (g[2] - 1) / 2
        cy = g[1] + (g[3] - 1) / 2
        if rule == "center>0":
            return (cx > 0) & (cy > 0)
        if rule == "norm-center>0":
            return (cx / (g[2] + 1e-16) > 0) & (cy / (g[3] + 1e-16) > 0)
    raise ValueError(f"unknown GT validity rule {rule!r}")


def _frame_errors(flat: _Flat, p: MetricProtocol) -> FrameErrors:
    """Per-frame errors with sentinels, for all units at once (mutates flat.pred)."""
    _carry_forward(flat, p)
    g = flat.gt
    a = flat.pred
    if p.round_boxes == "half-even":
        g = np.round(g)
        a = np.round(a)
    if p.first_frame == "gt":
        a[:, flat.starts] = g[:, flat.starts]
    if p.clip_to_image:
        a = _clip(a, flat.bound)
        g = _clip(g, flat.bound)
    iou = _iou(p, a, g)
    err, norm = _center_errors(p, a, g)
    missing = flat.missing if p.pred_shorter == "fail" else None
    if missing is not None and missing.any():
        # TrackingNet: a NaN row fails every threshold (NaN compares False); the GT validity and
        # visibility rules below still decide frames whose score does not depend on the box
        iou[missing] = np.nan
        if err is not None:
            err[missing] = np.inf
        if norm is not None:
            norm[missing] = np.inf
    submitted = None
    if p.iou == "trackingnet":
        with np.errstate(invalid="ignore"):
            submitted = a[3] + a[2] + a[0] + a[1] > 0
    counted = np.ones(iou.shape[0], dtype=bool)
    if p.first_frame == "drop":
        counted[flat.starts] = False
    if p.nan_gt == "drop":
        counted &= ~(np.isnan(g[0]) | np.isnan(g[1]) | np.isnan(g[2]) | np.isnan(g[3]))
    if p.absent == "drop-cover0":
        counted &= flat.cover > 0
    invalid: dict[str, np.ndarray | None] = {}

    def invalid_rows(rule: str) -> np.ndarray | None:  # each rule evaluated once
        if rule not in invalid:
            valid = _gt_valid(rule, g)
            invalid[rule] = None if valid is None or valid.all() else ~valid
        return invalid[rule]

    bad = invalid_rows(p.gt_valid_success)
    if bad is not None:
        iou[bad] = -1.0
    if err is not None:
        bad = invalid_rows(p.gt_valid_center)
        if bad is not None:
            err[bad] = np.inf if p.invalid_gt_center == "fail" else -1.0
    if norm is not None:
        bad = invalid_rows(p.gt_valid_norm)
        if bad is not None:
            norm[bad] = np.inf if p.invalid_gt_norm == "fail" else -1.0
    if flat.visible is not None:
        inv = ~flat.visible
        if inv.any():
            iou[inv] = -1.0
            if err is not None:
                err[inv] = np.inf
            if norm is not None:
                norm[inv] = np.inf if p.absent == "fail" else -1.0
    return FrameErrors(iou=iou, center_error=err, norm_center_error=norm, counted=counted,
                       submitted=submitted, missing=missing)


def _clip(b: np.ndarray, bound: np.ndarray) -> np.ndarray:
    """got10k rect_iou(bound=(W,H)): x,y into [0,W],[0,H]; w,h into [0, W-x], [0, H-y]
    (boxes column-major (4, N), bounds (N, 2))."""
    out = np.empty_like(b)
    out[0] = np.clip(b[0], 0, bound[:, 0])
    out[1] = np.clip(b[1], 0, bound[:, 1])
    out[2] = np.clip(b[2], 0, bound[:, 0] - out[0])
    out[3] = np.clip(b[3], 0, bound[:, 1] - out[1])
    return out


def _bin_index(values: np.ndarray, thr: np.ndarray, side: str) -> np.ndarray:
    """``np.searchsorted(thr, values, side)`` for a sorted threshold grid, computed
    arithmetically for evenly spaced grids (an estimate from the grid step, then one exact
    correction step each way against the real threshold values, so ulp-level grid quirks are
    honoured). NaN gives 0."""
    t = len(thr)
    step = (thr[-1] - thr[0]) / (t - 1) if t > 1 else 0.0
    if t < 3 or step <= 0 or np.abs(np.diff(thr) - step).max() > 1e-9 * step:
        idx = np.searchsorted(thr, values, side=side)
        idx[np.isnan(values)] = 0
        return idx
    with np.errstate(invalid="ignore"):
        k = values - thr[0]
        k /= step
        np.floor(k, out=k)
        np.clip(k, -1.0, float(t), out=k)  # NaN stays NaN
        k[np.isnan(k)] = -1.0
        idx = k.astype(np.intp)
        idx += 1
    ext = np.concatenate(([-np.inf], thr, [np.inf, np.inf]))
    nan = np.isnan(values)
    v = np.where(nan, -np.inf, values) if nan.any() else values
    if side == "left":  # count of thresholds < v
        idx -= ext[idx] >= v
        idx += ext[idx + 1] < v
    else:  # count of thresholds <= v
        idx -= ext[idx] > v
        idx += ext[idx + 1] <= v
    np.clip(idx, 0, t, out=idx)  # +-inf
    if nan.any():
        idx[nan] = 0
    return idx


def _curve_counts(values: np.ndarray, unit: np.ndarray, n_units: int,
                  thresholds: tuple[float, ...], op: str) -> np.ndarray:
    """(U, T) number of frames per unit with ``value op threshold`` for every threshold."""
    thr = np.asarray(thresholds, dtype=np.float64)
    t = len(thr)
    if op == ">":
        idx = _bin_index(values, thr, "left")  # thresholds strictly below the value
    elif op == ">=":
        idx = _bin_index(values, thr, "right")  # thresholds <= value
    elif op == "<=":
        idx = _bin_index(values, thr, "left")  # thresholds strictly below
        nan = np.isnan(values)
        if nan.any():
            idx[nan] = t  # NaN is never <= a threshold
    else:
        raise ValueError(f"unknown comparison {op!r}")
    code = unit * (t + 1)
    code += idx
    hist = np.bincount(code, minlength=n_units * (t + 1)).reshape(n_units, t + 1)
    if op == "<=":
        return np.cumsum(hist, axis=1)[:, :t]
    return np.cumsum(hist[:, ::-1], axis=1)[:, ::-1][:, 1:]


# frames per group of whole units scored together: temporaries stay in cache and are reused by
# the allocator instead of being faulted in afresh (every reduction is per unit, so grouping
# whole units gives bit-identical results)
GROUP_FRAMES = 1 << 16


def _subset(flat: _Flat, u0: int, u1: int) -> _Flat:
    """Units [u0, u1) of ``flat`` (views where possible)."""
    a = int(flat.starts[u0])
    b = int(flat.starts[u1]) if u1 < len(flat.starts) else flat.gt.shape[1]
    return _Flat(gt=flat.gt[:, a:b], pred=flat.pred[:, a:b], unit=flat.unit[a:b] - u0,
                 starts=flat.starts[u0:u1] - a,
                 visible=None if flat.visible is None else flat.visible[a:b],
                 cover=None if flat.cover is None else flat.cover[a:b],
                 bound=None if flat.bound is None else flat.bound[a:b],
                 unit_item=flat.unit_item[u0:u1],
                 missing=None if flat.missing is None else flat.missing[a:b])


def _unit_counts_grouped(flat: _Flat, p: MetricProtocol) -> dict[str, np.ndarray]:
    """``_unit_counts`` over groups of about ``GROUP_FRAMES`` frames of whole units."""
    n_units = len(flat.starts)
    n = flat.gt.shape[1]
    if n <= 2 * GROUP_FRAMES or n_units < 2:
        return _unit_counts(flat, p)
    bounds = [0]
    edges = np.searchsorted(flat.starts, np.arange(GROUP_FRAMES, n, GROUP_FRAMES),
                            side="right")
    for e in edges.tolist():
        if e > bounds[-1]:
            bounds.append(e)
    if bounds[-1] != n_units:
        bounds.append(n_units)
    parts = [_unit_counts(_subset(flat, u0, u1), p) for u0, u1 in zip(bounds[:-1], bounds[1:])]
    return {k: np.concatenate([d[k] for d in parts]) for k in parts[0]}


def _unit_counts(flat: _Flat, p: MetricProtocol) -> dict[str, np.ndarray]:
    """Per-unit frame counts, curve counts and sums for the units of ``flat``."""
    fe = _frame_errors(flat, p)
    n_units = len(flat.starts)
    unit = flat.unit
    if not fe.counted.all():
        c = fe.counted
        unit = unit[c]
        fe = FrameErrors(fe.iou[c], None if fe.center_error is None else fe.center_error[c],
                         None if fe.norm_center_error is None else fe.norm_center_error[c],
                         np.ones(int(c.sum()), bool),
                         None if fe.submitted is None else fe.submitted[c],
                         None if fe.missing is None else fe.missing[c])
    out = {"n": np.bincount(unit, minlength=n_units),
           "success": _curve_counts(fe.iou, unit, n_units, p.overlap_thresholds, p.overlap_op)}
    if p.has_center:
        out["precision"] = _curve_counts(fe.center_error, unit, n_units, p.center_thresholds,
                                         p.center_op)
    if p.has_norm:
        out["norm"] = _curve_counts(fe.norm_center_error, unit, n_units, p.norm_thresholds,
                                    p.norm_op)
    if p.defines_ao:
        if p.absent == "drop-cover0":
            w = fe.iou
        else:  # pytracking: mean IoU over valid (visible, valid-GT) frames only
            w = np.where(fe.iou == -1.0, 0.0, fe.iou)
        if fe.missing is not None:  # a missing frame is an overlap of 0 in the average
            w = np.where(fe.missing & np.isnan(w), 0.0, w)
        out["iou_sum"] = np.bincount(unit, weights=w, minlength=n_units)
        out["n_valid"] = (np.bincount(unit, weights=(fe.iou != -1.0), minlength=n_units)
                          if p.absent != "drop-cover0" else out["n"].astype(float))
    if p.defines_sr:
        out["sr50"] = np.bincount(unit, weights=fe.iou > 0.5, minlength=n_units)
        out["sr75"] = np.bincount(unit, weights=fe.iou > 0.75, minlength=n_units)
    if fe.submitted is not None:
        out["submitted"] = np.bincount(unit, weights=fe.submitted, minlength=n_units)
    return out



def _as_curve(counts: np.ndarray, n: np.ndarray, dtype: str) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        if dtype == "float32":
            return counts.astype(np.float32) / n.astype(np.float32)[:, None]
        return counts.astype(np.float64) / n.astype(np.float64)[:, None]


@QUIET
def frame_errors(gt: np.ndarray, pred: np.ndarray, protocol: str | MetricProtocol = "mixformerv2",
                 visible: np.ndarray | None = None, cover: np.ndarray | None = None,
                 image_size: tuple[int, int] | None = None) -> FrameErrors:
    """Per-frame IoU / centre errors of one run under a protocol (for inspection and tests)."""
    p = get_protocol(protocol)
    item = SequenceInput("sequence", np.asarray(gt, float), [np.asarray(pred, float)],
                         visible=visible, cover=cover, image_size=image_size)
    rejected: dict[str, str] = {}
    kept, flat = _prepare([item], p, "raise", rejected)
    assert flat is not None
    _check_rejections(flat, p, [item], kept, "raise", rejected)
    return _frame_errors(flat, p)


@QUIET
def score_batch(items: Iterable[SequenceInput], protocol: str | MetricProtocol,
                on_reject: str = "raise") -> BatchScores:
    """Score many sequences at once. ``on_reject='skip'`` records the toolkit's refusals in
    ``.rejected`` (sequence -> reason) instead of raising. Results shorter or longer than their
    sequence follow the protocol's ``pred_shorter`` / ``pred_longer`` rules; what was done is
    listed per sequence in ``.length_notes``."""
    p = get_protocol(protocol)
    items = list(items)
    rejected: dict[str, str] = {}
    length_notes: dict[str, list[str]] = {}
    kept, flat = _prepare(items, p, on_reject, rejected, length_notes)
    if flat is not None:
        ok = _check_rejections(flat, p, items, kept, on_reject, rejected)
        if not ok.all():
            keep_items = sorted(set(flat.unit_item[ok].tolist()))
            keep_set = {kept[k] for k in keep_items}
            if not keep_set:
                return _empty(p, rejected)
            out = score_batch([items[i] for i in kept if i in keep_set], p, on_reject="raise")
            out.rejected = rejected
            return out
    if flat is None:
        return _empty(p, rejected)
    n_units = len(flat.starts)
    c = _unit_counts_grouped(flat, p)
    n_unit, succ_c, prec_c, norm_c = c["n"], c["success"], c.get("precision"), c.get("norm")
    iou_sum, n_valid = c.get("iou_sum"), c.get("n_valid")
    sr50_c, sr75_c, sub = c.get("sr50"), c.get("sr75"), c.get("submitted")

    n_items = len(kept)
    ui = flat.unit_item
    if p.runs == "pool-frames" or n_units == n_items:
        def pool(x):
            if x is None:
                return None
            if n_units == n_items:
                return x
            out = np.zeros((n_items,) + x.shape[1:], dtype=x.dtype)
            np.add.at(out, ui, x)
            return out
        n_item = pool(n_unit)
        succ = _as_curve(pool(succ_c), n_item, p.curve_dtype)
        prec = None if prec_c is None else _as_curve(pool(prec_c), n_item, p.curve_dtype)
        norm = None if norm_c is None else _as_curve(pool(norm_c), n_item, p.curve_dtype)
        iou_s = pool(iou_sum)
        nv = pool(n_valid) if p.defines_ao else None
    else:  # mean of per-run curves (MixFormerV2 merge_results=True)
        runs_per_item = np.bincount(ui, minlength=n_items)

        def mean_curves(c):
            if c is None:
                return None
            cur = _as_curve(c, n_unit, p.curve_dtype)
            out = np.zeros((n_items, cur.shape[1]), dtype=cur.dtype)
            np.add.at(out, ui, cur)
            return out / runs_per_item[:, None].astype(cur.dtype)
        n_item = np.bincount(ui, weights=n_unit, minlength=n_items).astype(np.int64)
        succ, prec, norm = mean_curves(succ_c), mean_curves(prec_c), mean_curves(norm_c)
        iou_s = None if iou_sum is None else np.bincount(ui, weights=iou_sum, minlength=n_items)
        nv = None if not p.defines_ao else np.bincount(ui, weights=n_valid, minlength=n_items)
    with np.errstate(invalid="ignore", divide="ignore"):
        ao = None if iou_s is None else iou_s / nv
        sr50 = None if sr50_c is None else np.bincount(ui, weights=sr50_c, minlength=n_items) / n_item
        sr75 = None if sr75_c is None else np.bincount(ui, weights=sr75_c, minlength=n_items) / n_item
    speed = tstats = None
    if p.defines_sr:
        speed = np.array([_speed_fps(items[i].times) for i in kept])
        tstats = np.array([_time_stats(items[i].times) for i in kept]).reshape(-1, 2)
    coverage = None
    if sub is not None:
        with np.errstate(invalid="ignore", divide="ignore"):
            coverage = np.bincount(ui, weights=sub, minlength=n_items) / np.bincount(
                ui, weights=n_unit, minlength=n_items)
    return BatchScores(protocol=p, names=[items[i].name for i in kept], n_frames=n_item,
                       success=succ, precision=prec, norm_precision=norm, ao=ao, sr50=sr50,
                       sr75=sr75, iou_sum=iou_s, speed_fps=speed, time_stats=tstats,
                       rejected=rejected, coverage=coverage, length_notes=length_notes)


def _usable_times(times: np.ndarray | None) -> np.ndarray:
    if times is None:
        return np.zeros(0)
    t = np.asarray(times, dtype=np.float64).reshape(-1)
    t = t[~np.isnan(t)]
    return t[t > 0]


def _time_stats(times: np.ndarray | None) -> tuple[float, float]:
    t = _usable_times(times)
    return float((1.0 / t).sum()), float(len(t))


def _speed_fps(times: np.ndarray | None) -> float:
    """GOT-10k: mean of 1/t over the positive, non-NaN per-frame times (-1 when none)."""
    if times is None:
        return -1.0
    t = np.asarray(times, dtype=np.float64).reshape(-1)
    t = t[~np.isnan(t)]
    t = t[t > 0]
    return float(np.mean(1.0 / t)) if len(t) else -1.0


def _empty(p: MetricProtocol, rejected: dict[str, str]) -> BatchScores:
    def z(th):
        return None if th is None else np.zeros((0, len(th)))
    return BatchScores(p, [], np.zeros(0, np.int64), z(p.overlap_thresholds),
                       z(p.center_thresholds), z(p.norm_thresholds),
                       np.zeros(0) if p.defines_ao else None,
                       np.zeros(0) if p.defines_sr else None,
                       np.zeros(0) if p.defines_sr else None,
                       np.zeros(0) if p.defines_ao else None,
                       np.zeros(0) if p.defines_sr else None, None, rejected)
