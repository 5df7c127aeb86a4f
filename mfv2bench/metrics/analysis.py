"""Full analysis of several trackers on one split: scores, CIs, paired tests, attributes, guard.

``Analysis`` is what tables, plots and reports render. Field names are stable:

- ``protocol`` / ``protocol_hash``: the metric protocol (print them beside every number).
- ``dataset``, ``split``, ``partial`` (split incomplete on disk), ``missing``.
- ``trackers``: names in the order given.
- ``metrics``: headline metric keys of this protocol: ``auc``, ``precision``,
  ``norm_precision`` (the protocol's reported precision scores: P@20 / NP@0.2, or areas for
  TrackingNet and got10k-LaSOT's NP), or ``ao``, ``sr50``, ``sr75`` for GOT-10k.
- ``overall``: tracker -> ``OverallScores`` (every curve, every score).
- ``ci``: tracker -> metric -> (low, high), 95 % per-sequence percentile bootstrap.
- ``per_sequence``: DataFrame, one row per (tracker, sequence) with n_frames and every score.
- ``sequence_curves``: tracker -> {"success"|"precision"|"norm_precision": (S, T) array}, rows
  in ``sequences[tracker]`` order.
- ``pairwise``: list of ``PairedTest`` for every tracker pair and headline metric, on the
  sequences both trackers have.
- ``attributes``: DataFrame (attribute, tracker, n_sequences, metric columns) for LaSOT's 14
  attributes (empty where the split has none).
- ``degenerate``: tracker -> ``DegenerateReport``.
- ``rejected``: tracker -> {sequence: reason} (only with ``on_reject='skip'``).
- ``length_notes``: tracker -> {sequence: [what the protocol's length rule did]} for results
  shorter or longer than their sequence (scored as the protocol's toolkit scores them).
- ``sequences``: tracker -> the sequences scored (all of the split unless refused).
- ``bootstrap``: resamples, seed, level and the names of the CI and paired-test methods.
- ``runs``: tracker -> runs averaged per sequence (1 for single-run results); ``run_scores``:
  tracker -> metric -> the overall score of each run alone (only for trackers with several
  runs); ``run_spread(tracker, metric)``: their standard deviation (ddof=1), the run-to-run
  spread printed next to the bootstrap CI (which resamples sequences of the averaged scores).
  Runs are averaged as the protocol's toolkit does (``MetricProtocol.runs``): per-sequence
  curves averaged over runs (pytracking ``merge_results=True``), or every frame of every run
  pooled (GOT-10k).
- ``coverage``: tracker -> ``full`` | ``subset`` | ``partial`` (``results.manifest``): only
  ``full`` (every sequence of the official split scored, the run complete, GT unchanged) is
  comparable with published numbers; ``coverage_reasons``: tracker -> why not (short phrases).

Methods: ``score(tracker, metric)``, ``table()`` (headline scores, CI bounds, FPS for GOT-10k,
flags; percent), ``pairwise_table()``, ``to_json()`` (everything, every curve), ``label``
(``"<protocol> [<hash>]"``).
"""

from __future__ import annotations

import multiprocessing as mp
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mfv2bench.datasets.base import DatasetSplit, Sequence
from mfv2bench.datasets.registry import official_names
from mfv2bench.errors import InputError, MissingDataError, Mfv2benchError
from mfv2bench.metrics.analysis_cache import (analysis_key, cache_file, load_analysis,
                                              options_of, save_analysis)
from mfv2bench.metrics.engine import (QUIET, BatchScores, ProtocolRejection, SequenceInput,
                                      score_batch)
from mfv2bench.metrics.guard import DegenerateReport, check_outputs
from mfv2bench.metrics.protocols import MetricProtocol, default_protocol, get_protocol
from mfv2bench.metrics.score_cache import (cache_key, cache_path, gt_digest, load_scores,
                                          save_scores)
from mfv2bench.metrics.scores import OverallScores, aggregate
from mfv2bench.metrics.stats import (DEFAULT_RESAMPLES, DEFAULT_SEED, PairedTest,
                                     bootstrap_means, percentile_interval, resample_counts,
                                     sign_flip_p_values)
from mfv2bench.results import manifest as mf
from mfv2bench.results.layout import run_folder, tracker_folder
from mfv2bench.results.readers import RawResult, locate_results, read_results
from mfv2bench.results.store import ResultsStore
from mfv2bench.threads import thread_budget

# order in which LaSOT's attributes are listed (LaSOT toolkit annos/att)
LASOT_ATTRIBUTES = ("IV", "POC", "DEF", "MB", "CM", "ROT", "BC", "VC", "SV", "FOC", "FM", "OV",
                    "LR", "ARC")
COVERAGE_RANK = {mf.FULL: 0, mf.SUBSET: 1, mf.PARTIAL: 2}
METRIC_LABELS = {"auc": "AUC", "precision": "P", "norm_precision": "NP", "ao": "AO",
                 "sr50": "SR0.5", "sr75": "SR0.75"}


def headline_metrics(p: MetricProtocol) -> tuple[str, ...]:
    if p.defines_sr:
        return ("ao", "sr50", "sr75")
    out = ["auc"]
    if p.precision_score:
        out.append("precision")
    if p.norm_precision_score:
        out.append("norm_precision")
    return tuple(out)


@dataclass
class Analysis:
    protocol: str
    protocol_hash: str
    dataset: str
    split: str
    partial: bool
    missing: list[str]
    trackers: list[str]
    metrics: tuple[str, ...]
    overall: dict[str, OverallScores]
    ci: dict[str, dict[str, tuple[float, float]]]
    per_sequence: pd.DataFrame
    sequences: dict[str, list[str]]
    sequence_curves: dict[str, dict[str, np.ndarray]]
    pairwise: list[PairedTest]
    attributes: pd.DataFrame
    degenerate: dict[str, DegenerateReport]
    rejected: dict[str, dict[str, str]] = field(default_factory=dict)
    bootstrap: dict[str, Any] = field(default_factory=dict)
    coverage: dict[str, str] = field(default_factory=dict)
    coverage_reasons: dict[str, list[str]] = field(default_factory=dict)
    length_notes: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    runs: dict[str, int] = field(default_factory=dict)
    run_scores: dict[str, dict[str, list[float]]] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return f"{self.protocol} [{self.protocol_hash}]"

    def coverage_of(self, tracker: str) -> str:
        """``full``, ``subset`` or ``partial`` (``full`` where nothing was judged)."""
        return self.coverage.get(tracker, mf.FULL)

    def comparable(self, tracker: str) -> bool:
        """True only for full coverage: the one state that may be ranked with published rows."""
        return self.coverage_of(tracker) == mf.FULL

    def mark_coverage(self, tracker: str, state: str, reasons: list[str]) -> None:
        """Lower ``tracker``'s coverage to ``state`` (never raise it) and add the reasons."""
        if COVERAGE_RANK[state] > COVERAGE_RANK[self.coverage_of(tracker)]:
            self.coverage[tracker] = state
        if state != mf.FULL:
            self.coverage_reasons.setdefault(tracker, [])
            self.coverage_reasons[tracker] += [r for r in reasons
                                              if r not in self.coverage_reasons[tracker]]

    def score(self, tracker: str, metric: str) -> float | None:
        return _overall_value(self.overall[tracker], metric)

    @property
    def runs_rule(self) -> str:
        """How the protocol combines repeated runs (``MetricProtocol.runs``)."""
        return get_protocol(self.protocol).runs

    def runs_of(self, tracker: str) -> int:
        """Runs averaged for ``tracker`` (1 for single-run results)."""
        return self.runs.get(tracker, 1)

    def run_spread(self, tracker: str, metric: str) -> float | None:
        """Standard deviation (ddof=1) of the per-run scores (None for a single run)."""
        values = self.run_scores.get(tracker, {}).get(metric)
        if not values or len(values) < 2:
            return None
        return float(np.std(np.asarray(values, dtype=np.float64), ddof=1))

    def table(self, percent: bool = True) -> pd.DataFrame:
        """One row per tracker: headline scores with their 95 % CI bounds, sequence count and
        degenerate-output flags (scores in percent unless ``percent=False``)."""
        k = 100.0 if percent else 1.0
        rows = []
        for t in self.trackers:
            row: dict[str, Any] = {"tracker": t}
            for m in self.metrics:
                v = self.score(t, m)
                lo, hi = self.ci[t][m]
                lab = METRIC_LABELS[m]
                row[lab] = None if v is None else v * k
                row[f"{lab} CI low"] = lo * k
                row[f"{lab} CI high"] = hi * k
                if any(n > 1 for n in self.runs.values()):
                    sd = self.run_spread(t, m)
                    row[f"{lab} run SD"] = None if sd is None else sd * k
            fps = self.overall[t].speed_fps
            if fps is not None and fps > 0:
                row["FPS"] = fps
            row["sequences"] = len(self.sequences[t])
            row["runs"] = self.runs_of(t)
            row["coverage"] = self.coverage_of(t)
            flags = self.degenerate[t].summary() if t in self.degenerate else {}
            row["flags"] = ", ".join(f"{f}: {len(s)}" for f, s in flags.items())
            rows.append(row)
        return pd.DataFrame(rows).set_index("tracker")

    def pairwise_table(self, percent: bool = True) -> pd.DataFrame:
        k = 100.0 if percent else 1.0
        return pd.DataFrame([{
            "a": t.a, "b": t.b, "metric": METRIC_LABELS[t.metric], "sequences": t.n_sequences,
            "diff": t.diff * k, "CI low": t.ci_low * k, "CI high": t.ci_high * k,
            "p": t.p_value} for t in self.pairwise],
            columns=["a", "b", "metric", "sequences", "diff", "CI low", "CI high", "p"])

    def to_json(self) -> dict[str, Any]:
        """Everything, every curve included, as JSON-ready data (NaN written as null)."""
        return _clean({
            "protocol": self.protocol, "protocol_hash": self.protocol_hash,
            "protocol_definition": get_protocol(self.protocol).to_dict(),
            "dataset": self.dataset, "split": self.split, "partial": self.partial,
            "missing": self.missing, "trackers": self.trackers, "metrics": list(self.metrics),
            "bootstrap": self.bootstrap,
            "overall": {t: o.to_dict() for t, o in self.overall.items()},
            "ci": {t: {m: list(v) for m, v in c.items()} for t, c in self.ci.items()},
            "sequences": self.sequences,
            "per_sequence": self.per_sequence.to_dict(orient="records"),
            "sequence_curves": {t: {k: v.astype(float).tolist() for k, v in c.items()}
                                for t, c in self.sequence_curves.items()},
            "pairwise": [p.to_dict() for p in self.pairwise],
            "attributes": self.attributes.to_dict(orient="records"),
            "degenerate": {t: d.to_dict() for t, d in self.degenerate.items()},
            "rejected": self.rejected,
            "length_notes": self.length_notes,
            "coverage": {t: self.coverage_of(t) for t in self.trackers},
            "coverage_reasons": {t: self.coverage_reasons.get(t, []) for t in self.trackers},
            "comparable": {t: self.comparable(t) for t in self.trackers},
            "runs": {t: self.runs_of(t) for t in self.trackers},
            "run_scores": self.run_scores,
            "run_spread": {t: {m: self.run_spread(t, m) for m in self.metrics}
                           for t in self.trackers if self.runs_of(t) > 1},
        })


def _clean(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return _clean(obj.tolist())
    if isinstance(obj, (np.floating, float)):
        f = float(obj)
        return None if f != f or f in (float("inf"), float("-inf")) else f
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.bool_):
        return bool(obj)
    return obj


def _overall_value(o: OverallScores, metric: str) -> float | None:
    return {"auc": o.auc, "precision": o.precision_score,
            "norm_precision": o.norm_precision_score, "ao": o.ao, "sr50": o.sr50,
            "sr75": o.sr75}[metric]


def _per_sequence_values(b: BatchScores, p: MetricProtocol, metric: str) -> np.ndarray:
    """Per-sequence values whose (weighted) mean is the overall score."""
    if metric == "ao":
        return b.ao
    if metric in ("sr50", "sr75"):
        return getattr(b, metric)
    curve, thr, rule = {
        "auc": (b.success, p.overlap_thresholds, p.success_score),
        "precision": (b.precision, p.center_thresholds, p.precision_score),
        "norm_precision": (b.norm_precision, p.norm_thresholds, p.norm_precision_score),
    }[metric]
    c = curve.astype(np.float64)
    if rule == "mean":
        return c.mean(axis=1)
    if rule == "trapz":
        x = np.linspace(0, 1, c.shape[1])
        d = np.diff(x)
        return (d * (c[:, 1:] + c[:, :-1]) / 2.0).sum(axis=1)
    t = float(rule[3:])
    i = int(np.argmin(np.abs(np.asarray(thr) - t)))
    return c[:, i]


def _weights(b: BatchScores, p: MetricProtocol, metric: str) -> np.ndarray:
    if p.aggregate == "frame-weighted":
        return b.n_frames.astype(np.float64)
    if p.aggregate == "mean-drop-all-zero":
        curve = {"auc": b.success, "precision": b.precision,
                 "norm_precision": b.norm_precision}[metric]
        return (curve.sum(axis=1) > np.finfo(float).eps).astype(np.float64)
    return np.ones(len(b))


def sequence_input(seq: Sequence, result: RawResult | np.ndarray | list[np.ndarray]
                   ) -> SequenceInput:
    """Pair a data-set sequence with its raw results (one run or several)."""
    if len(seq.frames) > 1 and len(seq.gt) < len(seq.frames):  # GOT-10k test, TrackingNet TEST
        raise InputError(f"sequence {seq.name} of {seq.dataset}-{seq.split} has first-frame GT "
                         "only: it is scored by the evaluation server (use `mfv2bench submit`)")
    gaps: list[int | None] = []
    if isinstance(result, RawResult):
        runs, sources, times = result.runs, list(result.sources), result.times
        gaps = list(result.gaps)
    elif isinstance(result, list):
        runs, sources, times = result, [], None
    else:
        runs, sources, times = [result], [], None
    return SequenceInput(seq.name, seq.gt, runs, visible=seq.visible, cover=seq.cover,
                         image_size=seq.image_size, times=times, sources=sources,
                         gt_source=seq.annotation_file, gt_first_line=seq.annotation_first_line,
                         gaps=gaps)


@QUIET
def score_tracker(split: DatasetSplit, tracker: str, results: dict[str, Any],
                  protocol: MetricProtocol, on_reject: str = "raise"
                  ) -> tuple[BatchScores, DegenerateReport]:
    """Score one tracker's results on every sequence of the split, and run the guard."""
    seqs = split.sequences
    absent = [s.name for s in seqs if s.name not in results]
    if absent:
        few = ", ".join(absent[:5]) + (" ..." if len(absent) > 5 else "")
        raise InputError(f"tracker {tracker!r} has no results for {len(absent)} of {len(seqs)} "
                         f"sequences of {split.key}: {few}")
    items = [sequence_input(s, results[s.name]) for s in seqs]
    try:
        batch = score_batch(items, protocol, on_reject=on_reject)
    except ProtocolRejection as exc:
        raise ProtocolRejection(f"tracker {tracker!r}: {exc.reason} (leave such sequences out "
                                "with on_reject='skip' / --skip-refused, or choose another "
                                "protocol)", path=exc.path, line=exc.line) from None
    guard = check_outputs({it.name: it.runs[0] for it in items},
                          {s.name: s.image_size for s in seqs})
    batch.run_values = run_values(items, protocol, on_reject)
    return batch, guard


def run_values(items: list[SequenceInput], protocol: MetricProtocol, on_reject: str = "raise"
               ) -> np.ndarray | None:
    """(R, M): the overall headline scores of each run scored alone, R = the runs every
    sequence has (None when a sequence has a single run): the run-to-run spread."""
    n_runs = min((len(it.runs) for it in items), default=1)
    if n_runs < 2:
        return None
    metrics = headline_metrics(protocol)
    out = np.full((n_runs, len(metrics)), np.nan)
    for r in range(n_runs):
        one = [replace(it, runs=[it.runs[r]], sources=list(it.sources[r:r + 1]),
                       gaps=list(it.gaps[r:r + 1])) for it in items]
        b = score_batch(one, protocol, on_reject=on_reject)
        if len(b) == 0:
            continue
        overall = aggregate(b, protocol)
        for k, m in enumerate(metrics):
            v = _overall_value(overall, m)
            out[r, k] = np.nan if v is None else v
    return out


def analyze(split: DatasetSplit, results: dict[str, dict[str, Any]],
            protocol: str | None = None, on_reject: str = "raise",
            n_resamples: int = DEFAULT_RESAMPLES, seed: int = DEFAULT_SEED,
            level: float = 0.95, pairwise: bool = True) -> Analysis:
    """Score every tracker of ``results`` (tracker -> sequence -> boxes or ``RawResult``) on
    ``split`` under one protocol (default: the data set's), with CIs, paired tests, the LaSOT
    attribute breakdown and the degenerate-output guard. Sequences missing from a tracker's
    results are an error: the analysis never scores a tracker on a subset silently."""
    p = get_protocol(protocol if protocol is not None else default_protocol(split.dataset))
    if not results:
        raise InputError("no trackers to analyze")
    batches: dict[str, BatchScores] = {}
    degenerate: dict[str, DegenerateReport] = {}
    for t, res in results.items():
        batches[t], degenerate[t] = score_tracker(split, t, res, p, on_reject)
    return analysis_from_scores(split, p, batches, degenerate, n_resamples=n_resamples,
                                seed=seed, level=level, pairwise=pairwise)


@QUIET
def analysis_from_scores(split: DatasetSplit, protocol: str | MetricProtocol,
                         batches: dict[str, BatchScores],
                         degenerate: dict[str, DegenerateReport],
                         n_resamples: int = DEFAULT_RESAMPLES, seed: int = DEFAULT_SEED,
                         level: float = 0.95, pairwise: bool = True) -> Analysis:
    """Overall scores, CIs, paired tests and attribute table from per-sequence scores."""
    p = get_protocol(protocol)
    trackers = list(batches)
    metrics = headline_metrics(p)
    overall: dict[str, OverallScores] = {}
    ci: dict[str, dict[str, tuple[float, float]]] = {}
    rows = []
    curves: dict[str, dict[str, np.ndarray]] = {}
    for t, b in batches.items():
        if len(b) == 0:
            raise InputError(f"protocol {p.name!r} refused every sequence of tracker {t!r}")
        overall[t] = aggregate(b, p)
        counts = resample_counts(len(b), n_resamples, seed)
        vals = np.stack([_per_sequence_values(b, p, m) for m in metrics], axis=1)
        wts = np.stack([_weights(b, p, m) for m in metrics], axis=1)
        lo, hi = percentile_interval(bootstrap_means(vals, wts, counts), level)
        ci[t] = {m: (float(lo[k]), float(hi[k])) for k, m in enumerate(metrics)}
        curves[t] = {"success": b.success}
        if b.precision is not None:
            curves[t]["precision"] = b.precision
        if b.norm_precision is not None:
            curves[t]["norm_precision"] = b.norm_precision
        rows.append(_per_sequence_frame(t, b, p))
    per_seq = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame()
    tests = _pairwise(batches, p, metrics, n_resamples, seed, level) if pairwise else []
    coverage, reasons = _coverage(split, {t: (list(b.names), b.rejected)
                                          for t, b in batches.items()})
    runs: dict[str, int] = {}
    run_scores: dict[str, dict[str, list[float]]] = {}
    for t, b in batches.items():
        rv = b.run_values
        if rv is not None and np.ndim(rv) == 2 and rv.shape[0] > 1 and rv.shape[1] == len(metrics):
            runs[t] = int(rv.shape[0])
            run_scores[t] = {m: [float(v) for v in rv[:, k]] for k, m in enumerate(metrics)}
    return Analysis(
        protocol=p.name, protocol_hash=p.hash, dataset=split.dataset, split=split.split,
        partial=split.partial, missing=list(split.missing), trackers=trackers, metrics=metrics,
        overall=overall, ci=ci, per_sequence=per_seq,
        sequences={t: list(b.names) for t, b in batches.items()}, sequence_curves=curves,
        pairwise=tests, attributes=_attribute_table(split.sequences, batches, p, metrics),
        degenerate=degenerate, rejected={t: b.rejected for t, b in batches.items() if b.rejected},
        length_notes={t: b.length_notes for t, b in batches.items() if b.length_notes},
        bootstrap={"method": "per-sequence percentile bootstrap", "resamples": n_resamples,
                   "seed": seed, "level": level,
                   "paired_test": "sign-flip permutation p-value (exact up to 16 sequences, "
                                  "else 10000 draws); paired percentile bootstrap CI"},
        coverage=coverage, coverage_reasons=reasons, runs=runs, run_scores=run_scores)


def _coverage(split: DatasetSplit, scored: dict[str, tuple[list[str], dict[str, str]]]
              ) -> tuple[dict[str, str], dict[str, list[str]]]:
    """Per tracker (its scored sequences and refusals): coverage state, and the reasons of
    those not ``full``."""
    coverage: dict[str, str] = {}
    reasons: dict[str, list[str]] = {}
    for t, (names, refused) in scored.items():
        coverage[t], why = split_coverage(split, names, refused)
        if why and coverage[t] != mf.FULL:
            reasons[t] = why
    return coverage, reasons


def split_coverage(split: DatasetSplit, scored: list[str], refused: dict[str, str]
                   ) -> tuple[str, list[str]]:
    """How much of the OFFICIAL split ``scored`` covers (the shipped list; the root's own list
    where none is shipped): ``partial`` when sequences are missing on disk or were refused by
    the protocol, ``subset`` when the split itself is cut (a root list naming fewer or other
    sequences, ``--sequences``), else ``full``; and why, in short phrases."""
    try:
        official = official_names(split.dataset, split.split)
    except Mfv2benchError:
        official = None
    done = set(scored)
    state, reasons = mf.FULL, []
    if official is not None:
        ref = set(official)
        outside = [n for n in scored if n not in ref]
        if outside:
            state = mf.SUBSET
            reasons.append(f"{len(outside)} scored sequence(s) outside the official "
                           f"{split.key} list")
        covered = len(done & ref)
        if covered < len(ref) and not split.missing and not refused:
            state = mf.SUBSET
            reasons.append(f"{covered} of the {len(ref)} official sequences scored")
        elif covered < len(ref):
            reasons.append(f"{covered} of the {len(ref)} official sequences scored")
    if split.missing:
        state = mf.PARTIAL
        reasons.append(f"{len(split.missing)} of {split.expected} sequences missing on disk")
    if refused:
        state = mf.PARTIAL
        reasons.append(f"{len(refused)} sequence(s) refused by the protocol")
    return state, reasons


def stale_sequences(split: DatasetSplit, manifest: dict[str, Any] | None,
                    current: dict[str, dict[str, Any]] | None = None) -> list[str]:
    """Sequences whose ground truth (or frame count) changed since the run that made their
    results (the manifest's annotation fingerprints); [] for manifests without them."""
    if not mf.annotation_fingerprints(manifest):
        return []
    if current is None:
        current = {s.name: mf.annotation_fingerprint(s.gt, s.n_frames) for s in split.sequences}
    return mf.changed_annotations(manifest, current)


def _per_sequence_frame(tracker: str, b: BatchScores, p: MetricProtocol) -> pd.DataFrame:
    data: dict[str, Any] = {"tracker": tracker, "sequence": b.names, "n_frames": b.n_frames}
    for m in ("auc", "precision", "norm_precision"):
        if m == "auc" or (m == "precision" and b.precision is not None and p.precision_score) \
                or (m == "norm_precision" and b.norm_precision is not None
                    and p.norm_precision_score):
            data[m] = _per_sequence_values(b, p, m)
    thr = p.overlap_thresholds
    for name, t in (("op50", 0.5), ("op75", 0.75)):
        i = int(np.argmin(np.abs(np.asarray(thr) - t)))
        if abs(thr[i] - t) < 1e-9:
            data[name] = b.success[:, i].astype(np.float64)
    if b.precision is not None:
        data["p20"] = b.precision[:, int(np.argmin(np.abs(np.asarray(p.center_thresholds) - 20)))
                                  ].astype(np.float64)
    if b.norm_precision is not None:
        data["np20"] = b.norm_precision[:, int(np.argmin(np.abs(
            np.asarray(p.norm_thresholds) - 0.2)))].astype(np.float64)
    for m in ("ao", "sr50", "sr75", "speed_fps"):
        v = getattr(b, m)
        if v is not None:
            data[m] = v
    return pd.DataFrame(data)


def _pairwise(batches: dict[str, BatchScores], p: MetricProtocol, metrics: tuple[str, ...],
              n_resamples: int, seed: int, level: float) -> list[PairedTest]:
    """Every tracker pair on the sequences both have; pairs that share the same sequences are
    tested together (one bootstrap and one permutation matrix product for all of them)."""
    names = list(batches)
    # per tracker once: (S, M) values and weights, and its sequence names
    vals = {t: np.stack([_per_sequence_values(b, p, m) for m in metrics], axis=1)
            for t, b in batches.items()}
    wts = {t: np.stack([_weights(b, p, m) for m in metrics], axis=1) for t, b in batches.items()}
    seqs = {t: tuple(b.names) for t, b in batches.items()}
    per_pair = []
    for i, a in enumerate(names):
        for bname in names[i + 1:]:
            va, vb, wa, wb = vals[a], vals[bname], wts[a], wts[bname]
            if seqs[a] == seqs[bname]:  # the usual case: the same sequences in the same order
                common = seqs[a]
            else:
                in_b = set(seqs[bname])
                common = tuple(n for n in seqs[a] if n in in_b)
                if not common:
                    continue
                ia = _positions(list(seqs[a]), list(common))
                ib = _positions(list(seqs[bname]), list(common))
                va, vb, wa, wb = va[ia], vb[ib], wa[ia], wb[ib]
            # MATLAB drops a sequence for a tracker when its curve is all zero: keep only
            # sequences both trackers contribute to; frame weights are the same for both
            per_pair.append((a, bname, common, va, vb, np.minimum(wa, wb)))
    groups: dict[tuple[str, ...], list[int]] = {}
    for k, entry in enumerate(per_pair):
        groups.setdefault(entry[2], []).append(k)
    results: dict[int, list[PairedTest]] = {}
    for common, ks in groups.items():
        s = len(common)
        d = np.concatenate([per_pair[k][3] - per_pair[k][4] for k in ks], axis=1)
        w = np.concatenate([per_pair[k][5] for k in ks], axis=1)
        counts = resample_counts(s, n_resamples, seed)
        lo, hi = percentile_interval(bootstrap_means(d, w, counts), level)
        pv = sign_flip_p_values(d, None if (w == 1.0).all() else w[:, 0], seed=seed) \
            if (w == w[:, :1]).all() else np.concatenate(
                [sign_flip_p_values(d[:, c], w[:, c], seed=seed) for c in range(d.shape[1])])
        for j, k in enumerate(ks):
            a, bname, _, va, vb, wk = per_pair[k]
            tests = []
            for m_i, m in enumerate(metrics):
                col = j * len(metrics) + m_i
                ww = wk[:, m_i]
                tot = ww.sum()
                sa = float((ww * va[:, m_i]).sum() / tot) if tot else float("nan")
                sb = float((ww * vb[:, m_i]).sum() / tot) if tot else float("nan")
                tests.append(PairedTest(a=a, b=bname, metric=m, n_sequences=s, score_a=sa,
                                        score_b=sb, diff=sa - sb, ci_low=float(lo[col]),
                                        ci_high=float(hi[col]), p_value=float(pv[col])))
            results[k] = tests
    return [t for k in range(len(per_pair)) for t in results[k]]


def _positions(names: list[str], wanted: list[str]) -> np.ndarray:
    pos = {n: i for i, n in enumerate(names)}
    return np.array([pos[n] for n in wanted], dtype=np.int64)


def _attribute_table(seqs: list[Sequence], batches: dict[str, BatchScores], p: MetricProtocol,
                     metrics: tuple[str, ...]) -> pd.DataFrame:
    """Scores on the sequences carrying each attribute (LaSOT's 14, or whatever the split's
    sequences declare), aggregated with the protocol's reduction."""
    attrs: list[str] = []
    for s in seqs:
        for a in s.attributes:
            if a not in attrs:
                attrs.append(a)
    ordered = [a for a in LASOT_ATTRIBUTES if a in attrs] + [a for a in attrs
                                                             if a not in LASOT_ATTRIBUTES]
    rows = []
    flagged = {a: {s.name for s in seqs if _truthy(s.attributes.get(a))} for a in ordered}
    for a in ordered:
        for t, b in batches.items():
            idx = np.array([i for i, n in enumerate(b.names) if n in flagged[a]], dtype=np.int64)
            row: dict[str, Any] = {"attribute": a, "tracker": t, "n_sequences": len(idx)}
            for m in metrics:
                if len(idx) == 0:
                    row[m] = None
                    continue
                v = _per_sequence_values(b, p, m)[idx]
                w = _weights(b, p, m)[idx]
                row[m] = float((w * v).sum() / w.sum()) if w.sum() else None
            rows.append(row)
    return pd.DataFrame(rows, columns=["attribute", "tracker", "n_sequences", *metrics])


def _truthy(v: Any) -> bool:
    try:
        return bool(int(v))
    except (TypeError, ValueError):
        return bool(v)


_WORKER_CONTEXT: dict[str, Any] = {}


def _score_stored(tracker: str) -> tuple[str, BatchScores, DegenerateReport, str]:
    """Read, score and cache one tracker (runs in the caller or a forked worker)."""
    ctx = _WORKER_CONTEXT
    folder, files, key = ctx["plan"][tracker]
    # key None: no score cache was there to look up, so the files were not hashed before
    # reading; the key is made from the digests of the bytes that were read
    read = {} if key is None else None
    # short files are kept: the protocol's pred_shorter rule decides, per sequence
    raw = read_results(files, ctx["lengths"], nan=ctx["nan"], cache=ctx["cache"], short="keep",
                       digests=read)
    batch, guard = score_tracker(ctx["split"], tracker, raw, ctx["protocol"], ctx["on_reject"])
    if key is None:
        key = cache_key(ctx["protocol"], ctx["gt_sig"], files.signature(known=read),
                        ctx["on_reject"])
    if ctx["cache"] and folder.is_dir():
        save_scores(folder, ctx["protocol"], key, batch, guard)
    return tracker, batch, guard, key


def _run_workers(names: list[str], workers: int
                 ) -> list[tuple[str, BatchScores, DegenerateReport, str]]:
    """Score the trackers in ``workers`` forked processes, else in as many threads as the
    program allowed (``threads.thread_budget``: reading, pyarrow's parser, hashing and numpy's
    large operations release the GIL), else one after the other."""
    if workers > 1 and len(names) > 1 and "fork" in mp.get_all_start_methods():
        with ProcessPoolExecutor(max_workers=min(workers, len(names)),
                                 mp_context=mp.get_context("fork")) as pool:
            return list(pool.map(_score_stored, names))
    threads = min(thread_budget(), len(names))
    if threads > 1:
        with ThreadPoolExecutor(max_workers=threads) as pool:
            return list(pool.map(_score_stored, names))
    return [_score_stored(t) for t in names]


def analyze_store(split: DatasetSplit, trackers: list[str], results_dir: str | Path,
                  protocol: str | None = None, on_reject: str = "raise", cache: bool = True,
                  workers: int = 1, **kwargs: Any) -> Analysis:
    """``analyze`` on raw results read from the store ``<results_dir>/<tracker>/<split.key>/``
    (or, where that folder does not exist, ``<results_dir>/<tracker>/`` in any known raw
    layout: pytracking, OSTrack, got10k toolkit, submission folders or zips).

    With ``cache``, parsed boxes and per-sequence scores are kept beside the raw files, and the
    finished analysis in ``results_dir`` (``analysis_cache``), reused while no file, nor the GT,
    the split or an option changed. ``workers`` > 1 reads and scores trackers whose scores are
    not cached in that many forked processes; with one worker, in as many threads as
    ``threads.set_threads`` allowed."""
    p = get_protocol(protocol if protocol is not None else default_protocol(split.dataset))
    lengths = {s.name: len(s.gt) for s in split.sequences}
    names = list(lengths)
    gt_sig = gt_digest(split.sequences) if cache else ""
    batches: dict[str, BatchScores] = {}
    degenerate: dict[str, DegenerateReport] = {}
    plan: dict[str, tuple[Path, Any, str | None]] = {}
    located: dict[str, tuple[Path, Any, str | None]] = {}
    store = ResultsStore(results_dir)
    manifests: dict[str, dict[str, Any] | None] = {}
    current: dict[str, dict[str, Any]] | None = None
    for t in trackers:
        folder = run_folder(results_dir, t, split.key)
        if folder.is_dir():
            manifests[t] = manifest = store.read_manifest(t, split.key)
            if mf.annotation_fingerprints(manifest):
                if current is None:  # hashed once, only where a manifest has fingerprints
                    current = {s.name: mf.annotation_fingerprint(s.gt, s.n_frames)
                               for s in split.sequences}
                stale = stale_sequences(split, manifest, current)
                if stale:
                    few = ", ".join(stale[:5]) + (" ..." if len(stale) > 5 else "")
                    raise InputError(
                        f"tracker {t!r}: the ground truth of {len(stale)} sequence(s) of "
                        f"{split.key} changed since their results were made: {few} (old boxes "
                        "are not scored against new ground truth; re-run them with `mfv2bench "
                        "eval`, which redoes changed sequences)")
        if not folder.is_dir():
            folder = tracker_folder(results_dir, t)
            if not folder.exists():
                raise MissingDataError(
                    f"no results of tracker {t!r} for {split.key} under {results_dir} (looked "
                    f"for {folder / split.key} and {folder}; run `mfv2bench eval` first or "
                    "pass --results)")
        files = locate_results(folder, names)
        key: str | None = ""
        if cache and folder.is_dir() and not cache_path(folder, p).is_file():
            key = None  # nothing to look up: hashed while reading (``_score_stored``)
        elif cache:
            key = cache_key(p, gt_sig, files.signature(), on_reject)
        located[t] = (folder, files, key)
    options = options_of(kwargs) if cache else None
    a_path = cache_file(results_dir, p.name, split.key, trackers)
    if options is not None and all(v[2] is not None for v in located.values()):
        # the whole analysis, when nothing it depends on changed
        a_key = analysis_key(p.hash, split, trackers, {t: v[2] for t, v in located.items()},
                             options)
        cached = load_analysis(a_path, a_key, _CACHED_TYPES)
        if cached is not None:
            cached.coverage, cached.coverage_reasons = _coverage(
                split, {t: (cached.sequences[t], cached.rejected.get(t, {}))
                        for t in cached.trackers})
            return _apply_manifests(cached, manifests)
    for t, (folder, files, key) in located.items():
        hit = load_scores(folder, p, key) if key and folder.is_dir() else None
        if hit is None:
            plan[t] = (folder, files, key)
        else:
            batches[t], degenerate[t] = hit
    keys = {t: v[2] for t, v in located.items()}
    if plan:
        _WORKER_CONTEXT.update(split=split, protocol=p, lengths=lengths, on_reject=on_reject,
                               nan="error" if p.pred_nan == "reject" else "keep", cache=cache,
                               plan=plan, gt_sig=gt_sig)
        try:
            for t, batch, guard, key in _run_workers(list(plan), workers):
                batches[t], degenerate[t], keys[t] = batch, guard, key
        finally:
            _WORKER_CONTEXT.clear()
    ordered = [t for t in trackers]
    analysis = analysis_from_scores(split, p, {t: batches[t] for t in ordered},
                                    {t: degenerate[t] for t in ordered}, **kwargs)
    if options is not None:
        save_analysis(a_path, analysis_key(p.hash, split, trackers, keys, options), analysis,
                      _CACHED_TYPES)
    return _apply_manifests(analysis, manifests)


# the dataclasses an Analysis holds (the analysis cache rebuilds only these)
_CACHED_TYPES = (Analysis, OverallScores, PairedTest, DegenerateReport)


def _apply_manifests(analysis: Analysis, manifests: dict[str, dict[str, Any] | None]
                     ) -> Analysis:
    """Lower coverage where a run manifest says the run was not complete."""
    for t, manifest in manifests.items():
        state = mf.coverage(manifest)
        if state is not None and state != mf.FULL:
            analysis.mark_coverage(t, state, [f"run manifest: {r}"
                                              for r in mf.coverage_reasons(manifest)])
    return analysis
