"""Public result types and the notebook API: ``evaluate`` (one sequence) and ``aggregate``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable

import numpy as np

from mfv2bench.metrics.engine import QUIET, BatchScores, SequenceInput, _speed_fps, score_batch
from mfv2bench.metrics.protocols import MetricProtocol, get_protocol


def _trapz(y: np.ndarray, x: np.ndarray) -> float:
    """np.trapz's formula (sum of d * (y[1:] + y[:-1]) / 2), kept for bit-exact areas."""
    d = np.diff(x)
    return float((d * (y[1:] + y[:-1]) / 2.0).sum())


def _index_of(thresholds: tuple[float, ...], value: float) -> int:
    thr = np.asarray(thresholds)
    i = int(np.argmin(np.abs(thr - value)))
    if abs(thr[i] - value) > 1e-9:
        raise ValueError(f"threshold {value} is not on the grid")
    return i


def _score(curve: np.ndarray | None, thresholds: tuple[float, ...] | None, rule: str,
           dtype: str) -> float | None:
    """A curve's reported score: ``mean``, ``trapz`` or ``at:<threshold>``."""
    if curve is None or thresholds is None or not rule:
        return None
    if rule == "mean":
        v = curve.astype(np.float64).mean()
        return float(np.float32(v)) if dtype == "float32" else float(v)
    if rule == "trapz":
        return _trapz(curve.astype(np.float64), np.linspace(0, 1, len(curve)))
    if rule.startswith("at:"):
        return float(curve[_index_of(thresholds, float(rule[3:]))])
    raise ValueError(f"unknown score rule {rule!r}")


def _at(curve: np.ndarray | None, thresholds: tuple[float, ...] | None, t: float) -> float | None:
    if curve is None or thresholds is None:
        return None
    try:
        return float(curve[_index_of(thresholds, t)])
    except ValueError:
        return None


@dataclass(kw_only=True)
class _Scores:
    """Curves and scores shared by one sequence's and a set's results."""

    protocol: str
    protocol_hash: str
    thresholds: dict[str, np.ndarray]
    success_curve: np.ndarray
    precision_curve: np.ndarray | None
    norm_precision_curve: np.ndarray | None
    auc: float
    op50: float | None
    op75: float | None
    p20: float | None
    np20: float | None
    precision_score: float | None
    norm_precision_score: float | None
    ao: float | None = None
    sr50: float | None = None
    sr75: float | None = None
    speed_fps: float | None = None
    coverage: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return _to_dict(self)


@dataclass(kw_only=True)
class SequenceScores(_Scores):
    """One sequence's curves and scores under a protocol; None where it defines no such number.

    ``auc`` is the protocol's success score (mean of the curve, or the trapezoid area for
    TrackingNet); ``p20`` / ``np20`` are the curve values at 20 px / 0.20;
    ``precision_score`` / ``norm_precision_score`` are what the toolkit reports (P@20 or an
    area); ``ao`` is the per-sequence average overlap (pytracking-family protocols) or GOT-10k AO.
    """

    name: str
    n_frames: int
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(kw_only=True)
class OverallScores(_Scores):
    """Scores over a set of sequences (the protocol's aggregation), plus the sequences used and,
    for the LaSOT MATLAB toolkit, the sequences it dropped per metric (all-zero curves)."""

    sequences: list[str]
    dropped: dict[str, list[str]] = field(default_factory=dict)


def _to_dict(obj: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in obj.__dict__.items():
        if isinstance(v, np.ndarray):
            out[k] = v.astype(float).tolist()
        elif isinstance(v, dict):
            out[k] = {kk: (vv.astype(float).tolist() if isinstance(vv, np.ndarray) else vv)
                      for kk, vv in v.items()}
        else:
            out[k] = v
    return out


def thresholds_of(p: MetricProtocol) -> dict[str, np.ndarray]:
    out = {"overlap": np.asarray(p.overlap_thresholds)}
    if p.center_thresholds is not None:
        out["center"] = np.asarray(p.center_thresholds)
    if p.norm_thresholds is not None:
        out["norm_center"] = np.asarray(p.norm_thresholds)
    return out


def _scalar(x: np.ndarray | None, i: int) -> float | None:
    return None if x is None else float(x[i])


def _common_scores(p: MetricProtocol, succ: np.ndarray, prec: np.ndarray | None,
                   norm: np.ndarray | None) -> dict[str, Any]:
    return dict(
        auc=_score(succ, p.overlap_thresholds, p.success_score, p.curve_dtype),
        op50=_at(succ, p.overlap_thresholds, 0.5),
        op75=_at(succ, p.overlap_thresholds, 0.75),
        p20=_at(prec, p.center_thresholds, 20.0),
        np20=_at(norm, p.norm_thresholds, 0.2),
        precision_score=_score(prec, p.center_thresholds, p.precision_score, p.curve_dtype),
        norm_precision_score=_score(norm, p.norm_thresholds, p.norm_precision_score,
                                    p.curve_dtype),
    )


def sequence_scores(batch: BatchScores) -> list[SequenceScores]:
    """Split a batch into per-sequence ``SequenceScores``."""
    p = batch.protocol
    thr = thresholds_of(p)
    out = []
    for i, name in enumerate(batch.names):
        succ = batch.success[i]
        prec = None if batch.precision is None else batch.precision[i]
        norm = None if batch.norm_precision is None else batch.norm_precision[i]
        out.append(SequenceScores(
            protocol=p.name, protocol_hash=p.hash, name=name, n_frames=int(batch.n_frames[i]),
            thresholds=thr, success_curve=succ, precision_curve=prec, norm_precision_curve=norm,
            ao=_scalar(batch.ao, i), sr50=_scalar(batch.sr50, i), sr75=_scalar(batch.sr75, i),
            speed_fps=_scalar(batch.speed_fps, i), coverage=_scalar(batch.coverage, i),
            extra={} if batch.time_stats is None else {
                "time_inv_sum": float(batch.time_stats[i, 0]),
                "time_count": float(batch.time_stats[i, 1])},
            **_common_scores(p, succ, prec, norm)))
    return out


@QUIET
def evaluate(gt: np.ndarray, pred: np.ndarray | list[np.ndarray],
             protocol: str | MetricProtocol = "mixformerv2", visible: np.ndarray | None = None,
             cover: np.ndarray | None = None, image_size: tuple[int, int] | None = None,
             times: np.ndarray | None = None, name: str = "sequence") -> SequenceScores:
    """Score one sequence: ``gt`` and ``pred`` are (N,4) x,y,w,h (``pred`` may be a list of
    runs). Raises ``ProtocolRejection`` where the protocol's toolkit refuses the input."""
    runs = list(pred) if isinstance(pred, (list, tuple)) else [pred]
    item = SequenceInput(name, np.asarray(gt, dtype=np.float64), runs, visible=visible,
                         cover=cover, image_size=image_size, times=times)
    return sequence_scores(score_batch([item], protocol))[0]


def _stack(results: Iterable[SequenceScores] | BatchScores, p: MetricProtocol) -> BatchScores:
    if isinstance(results, BatchScores):
        return results
    res = list(results)
    for r in res:
        if r.protocol != p.name:
            raise ValueError(f"sequence {r.name} was scored with {r.protocol}, not {p.name}")

    def st(attr):
        vals = [getattr(r, attr) for r in res]
        return None if not vals or vals[0] is None else np.stack(vals)

    def sc(attr):
        vals = [getattr(r, attr) for r in res]
        return None if not vals or vals[0] is None else np.asarray(vals, dtype=float)

    n = np.asarray([r.n_frames for r in res], dtype=np.int64)
    ao = sc("ao")
    tstats = None
    if res and all("time_count" in r.extra for r in res):
        tstats = np.array([[r.extra["time_inv_sum"], r.extra["time_count"]] for r in res])
    return BatchScores(p, [r.name for r in res], n, st("success_curve"), st("precision_curve"),
                       st("norm_precision_curve"), ao, sc("sr50"), sc("sr75"),
                       None if ao is None else ao * n, sc("speed_fps"), tstats,
                       coverage=sc("coverage"))


def _mean_rows(c: np.ndarray | None, dtype: str) -> np.ndarray | None:
    if c is None:
        return None
    m = c.astype(np.float64).mean(axis=0)
    return m.astype(np.float32) if dtype == "float32" else m


@QUIET
def aggregate(results: Iterable[SequenceScores] | BatchScores,
              protocol: str | MetricProtocol = "mixformerv2",
              times: Iterable[np.ndarray] | None = None) -> OverallScores:
    """Overall scores over sequences with the protocol's reduction (unweighted mean of curves,
    MATLAB's all-zero drop, or GOT-10k's frame-weighted pooling)."""
    p = get_protocol(protocol)
    b = _stack(results, p)
    if len(b) == 0:
        raise ValueError("no sequences to aggregate")
    dropped: dict[str, list[str]] = {}
    ao = sr50 = sr75 = speed = None
    coverage = None
    if b.coverage is not None:  # TrackingNet pools the sanity check over all frames
        coverage = float((b.coverage * b.n_frames).sum() / b.n_frames.sum())
    if p.aggregate == "frame-weighted":
        w = b.n_frames.astype(np.float64)[:, None]
        tot = float(b.n_frames.sum())
        succ = (b.success * w).sum(axis=0) / tot
        prec = None if b.precision is None else (b.precision * w).sum(axis=0) / tot
        norm = None if b.norm_precision is None else (b.norm_precision * w).sum(axis=0) / tot
        if b.iou_sum is not None:
            ao = float(b.iou_sum.sum() / tot)
        if b.sr50 is not None:
            sr50 = float((b.sr50 * b.n_frames).sum() / tot)
            sr75 = float((b.sr75 * b.n_frames).sum() / tot)
    elif p.aggregate == "mean-drop-all-zero":
        def drop(c, key):
            if c is None:
                return None
            keep = c.sum(axis=1) > np.finfo(float).eps
            dropped[key] = [n for n, k in zip(b.names, keep) if not k]
            return c[keep].mean(axis=0) if keep.any() else np.zeros(c.shape[1])
        succ = drop(b.success, "success")
        prec = drop(b.precision, "precision")
        norm = drop(b.norm_precision, "norm_precision")
    elif p.aggregate == "mean":
        succ = _mean_rows(b.success, p.curve_dtype)
        prec = _mean_rows(b.precision, p.curve_dtype)
        norm = _mean_rows(b.norm_precision, p.curve_dtype)
        if b.ao is not None:
            ao = float(np.mean(b.ao))
    else:
        raise ValueError(f"unknown aggregation {p.aggregate!r}")
    if times is None and b.time_stats is not None and len(b.time_stats):
        inv, cnt = b.time_stats.sum(axis=0)
        speed = float(inv / cnt) if cnt > 0 else -1.0
    if times is not None:
        parts = [np.asarray(t, float).reshape(-1) for t in times if t is not None]
        speed = _speed_fps(np.concatenate(parts)) if parts else -1.0
    return OverallScores(
        protocol=p.name, protocol_hash=p.hash, sequences=list(b.names),
        thresholds=thresholds_of(p), success_curve=succ, precision_curve=prec,
        norm_precision_curve=norm, ao=ao, sr50=sr50, sr75=sr75, speed_fps=speed,
        coverage=coverage,
        dropped=dropped, **_common_scores(p, succ, prec, norm))
