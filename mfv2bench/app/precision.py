"""Reduced precision judged by tracking accuracy, not only by output deviation.

One run evaluates a trained MixFormerV2 spec (default ``mfv2-micro``) in several runtimes over
the same split: the official computation (fp32, templates re-encoded every frame), the exact
fp32 cached path (the reference), exact ONNX Runtime, and the reduced-precision runtimes (bf16
autocast eager / compiled, ONNX Runtime dynamic int8). For each it reports AUC / P / NP with
95 % CIs, the difference from the fp32 reference with the project's paired test (sign-flip
p-value, paired bootstrap CI; ``metrics.analysis``), the network step latency (synthetic inputs,
interleaved rounds) and the per-frame ``track()`` time, each as a speed-up over the official
computation measured in the same run. A runtime whose AUC drops by more than
``AUC_DROP_LIMIT`` points is labelled so.

Reduced precision is only ever run because it was named here: bf16 on a CPU without native bf16
is refused by the tracker (``devices.require_native_bf16``) and shows up as a refused row, unless
the user forced it (``MFV2BENCH_ALLOW_EMULATED_BF16=1``), in which case the row is labelled
``emulated bf16``.
"""

from __future__ import annotations

import importlib.util
import logging
import statistics
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

from ..datasets.base import DatasetSplit
from ..datasets.registry import load_split
from .. import devices
from ..devices import ReducedPrecisionError, torch_cpu_capability
from ..errors import ConfigError, Mfv2benchError
from ..metrics.analysis import METRIC_LABELS, Analysis, analyze
from ..metrics.stats import PairedTest
from ..provenance import load_average, package_versions
from ..runner.sequence import run_sequence
from ..speed.model_latency import engine_step
from ..speed.timing import time_interleaved
from ..threads import set_threads
from ..trackers.kinds import kind_of
from ..trackers.specs import SpecRegistry
from ..workspace import Workspace

logger = logging.getLogger(__name__)

REFERENCE = "fp32"
OFFICIAL = "official"
AUC_DROP_LIMIT = 0.5  # AUC points: a larger drop against fp32 is labelled
SIGNIFICANCE = 0.05


@dataclass(frozen=True)
class Variant:
    """One way of running the same weights: the spec's ``[params]`` overrides."""

    name: str
    params: dict[str, Any]
    description: str


VARIANTS: dict[str, Variant] = {v.name: v for v in (
    Variant(OFFICIAL, {"runtime": "eager", "cached": False, "attention": "eager"},
            "fp32, templates re-encoded every frame (the official forward)"),
    Variant(REFERENCE, {"runtime": "eager", "cached": True},
            "fp32 eager, template-side cache (exact; the reference)"),
    Variant("onnx", {"runtime": "onnxruntime", "cached": True},
            "fp32 ONNX Runtime, template-side cache (exact)"),
    Variant("bf16", {"runtime": "bf16", "cached": True},
            "bf16 autocast, fused attention (reduced precision)"),
    Variant("compile-bf16", {"runtime": "compile-bf16", "cached": True},
            "bf16 autocast, torch.compile with frozen weights (reduced precision)"),
    Variant("int8", {"runtime": "onnxruntime", "quantize": "int8", "cached": True},
            "ONNX Runtime dynamic int8 quantisation (reduced precision)"),
)}
DEFAULT_VARIANTS = tuple(VARIANTS)


@dataclass
class PrecisionRow:
    """One runtime: its accuracy, its difference from fp32, its speed, its labels."""

    name: str
    description: str
    precision: str  # fp32 | bf16 | int8
    status: str = "ok"  # ok | refused (bf16 not native) | unavailable (extra missing) | failed
    reason: str | None = None
    scores: dict[str, float] = field(default_factory=dict)  # metric -> percent
    ci: dict[str, tuple[float, float]] = field(default_factory=dict)  # percent
    deltas: dict[str, dict[str, float]] = field(default_factory=dict)  # metric -> diff/CI/p
    step_ms: float | None = None
    track_ms: float | None = None
    step_speedup: float | None = None  # vs the official computation, same run
    track_speedup: float | None = None
    labels: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["ci"] = {m: list(v) for m, v in self.ci.items()}
        return out


@dataclass
class PrecisionReport:
    """Everything one run measured, with the machine it ran on."""

    tracker: str
    dataset: str
    protocol: str
    sequences: list[str]
    frames: int
    threads: int
    reference: str
    rows: list[PrecisionRow]
    machine: dict[str, Any]
    limit: float = AUC_DROP_LIMIT
    weights: str | None = None

    def row(self, name: str) -> PrecisionRow:
        return next(r for r in self.rows if r.name == name)

    def to_dict(self) -> dict[str, Any]:
        return {"tracker": self.tracker, "dataset": self.dataset, "protocol": self.protocol,
                "sequences": self.sequences, "frames": self.frames, "threads": self.threads,
                "reference": self.reference, "auc_drop_limit_points": self.limit,
                "weights": self.weights, "machine": self.machine,
                "rows": [r.to_dict() for r in self.rows]}


# ----------------------------------------------------------------------------------------------
# accuracy against the reference, and labels (pure: tested on hand-made inputs)

def oriented(test: PairedTest, candidate: str) -> PairedTest:
    """``test`` as candidate - other (a pair is stored in either order)."""
    if test.a == candidate:
        return test
    return PairedTest(a=test.b, b=test.a, metric=test.metric, n_sequences=test.n_sequences,
                      score_a=test.score_b, score_b=test.score_a, diff=-test.diff,
                      ci_low=-test.ci_high, ci_high=-test.ci_low, p_value=test.p_value,
                      method=test.method)


def deltas_against(tests: list[PairedTest], reference: str) -> dict[str, dict[str, PairedTest]]:
    """candidate -> metric -> paired test of candidate - reference, from every pair's tests."""
    out: dict[str, dict[str, PairedTest]] = {}
    for t in tests:
        if reference not in (t.a, t.b) or t.a == t.b:
            continue
        candidate = t.b if t.a == reference else t.a
        out.setdefault(candidate, {})[t.metric] = oriented(t, candidate)
    return out


def labels_for(row: PrecisionRow, limit: float = AUC_DROP_LIMIT,
               native_bf16: bool = True) -> list[str]:
    """Labels of a finished row: an AUC drop beyond ``limit`` points (with its significance),
    bf16 that was emulated (forced on a CPU without native bf16), exactness otherwise."""
    labels: list[str] = []
    auc = row.deltas.get("auc")
    if auc is not None and auc["diff"] < -limit:
        sig = "significant" if auc["p"] < SIGNIFICANCE else "not significant"
        labels.append(f"AUC DROP > {limit:g} pt ({sig}, p={auc['p']:.3g})")
    if row.precision == "bf16" and not native_bf16:
        labels.append("emulated bf16 (forced)")
    if row.precision != "fp32":
        labels.append("reduced precision")
    return labels


def fill_accuracy(rows: list[PrecisionRow], analysis: Analysis, reference: str,
                  limit: float = AUC_DROP_LIMIT, native_bf16: bool = True) -> None:
    """Scores, CIs (percent) and paired deltas against ``reference`` into the finished rows,
    then their labels."""
    deltas = deltas_against(analysis.pairwise, reference)
    for row in rows:
        if row.status != "ok" or row.name not in analysis.overall:
            continue
        for m in analysis.metrics:
            v = analysis.score(row.name, m)
            if v is not None:
                row.scores[m] = 100.0 * v
                lo, hi = analysis.ci[row.name][m]
                row.ci[m] = (100.0 * lo, 100.0 * hi)
        for m, t in deltas.get(row.name, {}).items():
            row.deltas[m] = {"diff": 100.0 * t.diff, "ci_low": 100.0 * t.ci_low,
                             "ci_high": 100.0 * t.ci_high, "p": t.p_value,
                             "sequences": t.n_sequences}
        row.labels = labels_for(row, limit, native_bf16)


def fill_speed(rows: list[PrecisionRow], step_ms: dict[str, float],
               track_ms: dict[str, float], official: str = OFFICIAL) -> None:
    """Latencies and speed-ups over the official computation measured in the same run."""
    for row in rows:
        row.step_ms = step_ms.get(row.name)
        row.track_ms = track_ms.get(row.name)
        if row.step_ms and step_ms.get(official):
            row.step_speedup = step_ms[official] / row.step_ms
        if row.track_ms and track_ms.get(official):
            row.track_speedup = track_ms[official] / row.track_ms


def table_text(report: PrecisionReport) -> str:
    """The table: one line per runtime (scores, deltas vs fp32 with CI and p, ms, speed-ups,
    labels), refused and failed runtimes with their reason, then the legend."""
    metrics = [m for m in ("auc", "precision", "norm_precision")
               if any(m in r.scores for r in report.rows)]
    head = (f"{'runtime':<13} {'prec':<5} " + " ".join(f"{METRIC_LABELS[m]:>6}" for m in metrics)
            + "  " + " ".join(f"{'d' + METRIC_LABELS[m] + ' [95% CI] p':>27}" for m in metrics)
            + f" {'step ms':>8} {'x off.':>6} {'track ms':>8} {'x off.':>6}  labels")
    lines = [head, "-" * len(head)]
    for r in report.rows:
        if r.status != "ok":
            lines.append(f"{r.name:<13} {r.precision:<5} {r.status.upper()}: {r.reason}")
            continue
        cells = " ".join(f"{r.scores[m]:6.2f}" if m in r.scores else f"{'-':>6}" for m in metrics)
        ds = []
        for m in metrics:
            d = r.deltas.get(m)
            ds.append(f"{'(reference)' if r.name == report.reference else '-':>27}" if d is None
                      else f"{d['diff']:+6.2f} [{d['ci_low']:+6.2f},{d['ci_high']:+6.2f}] "
                           f"{d['p']:5.3f}")
        lines.append(f"{r.name:<13} {r.precision:<5} {cells}  {' '.join(ds)} "
                     f"{_num(r.step_ms, 8, 2)} {_num(r.step_speedup, 6, 2, 'x')} "
                     f"{_num(r.track_ms, 8, 2)} {_num(r.track_speedup, 6, 2, 'x')}  "
                     + "; ".join(r.labels))
    lines.append(f"d: runtime - {report.reference} in points on the same {len(report.sequences)} "
                 "sequences (paired bootstrap 95% CI, sign-flip permutation p); step: network "
                 "step on synthetic inputs, median of interleaved rounds; track: track() per frame "
                 f"(crop + network + update, decode excluded), median; x off.: speed-up over "
                 f"'{OFFICIAL}' in this run; an AUC drop > {report.limit:g} pt is labelled.")
    return "\n".join(lines)


def _num(v: float | None, width: int, digits: int, suffix: str = "") -> str:
    return f"{'-':>{width}}" if v is None else f"{v:{width - len(suffix)}.{digits}f}{suffix}"


# ----------------------------------------------------------------------------------------------
# the run

def machine_info(threads: int) -> dict[str, Any]:
    """CPU model and precision flags, torch's dispatch level, threads, load, versions."""
    cpu = devices.cpu_features()  # the probe the guard uses
    return {"cpu": cpu.to_dict(), "cpu_line": cpu.describe(),
            "torch_cpu_capability": torch_cpu_capability(), "threads": threads,
            "load_average": load_average(), "packages": package_versions()}


def precision_accuracy(workspace: Workspace, tracker: str = "mfv2-micro",
                       dataset: str = "synthetic-lasot", *, root: str | Path | None = None,
                       sequences: int | list[str] | None = None,
                       variants: tuple[str, ...] | list[str] = DEFAULT_VARIANTS,
                       threads: int = 1, protocol: str | None = None, latency_iters: int = 60,
                       limit: float = AUC_DROP_LIMIT,
                       log: Callable[[str], None] = lambda _msg: None) -> PrecisionReport:
    """Evaluate ``tracker`` in each runtime of ``variants`` over ``dataset`` (``sequences``: the
    first N, or those names) and compare with the fp32 reference and the official computation.
    Every runtime sees the same sequences, sequence by sequence in turn, so machine load hits
    all alike. A runtime that cannot be built here (bf16 refused, an extra missing) becomes a
    refused / failed row; the others go on."""
    unknown = [v for v in variants if v not in VARIANTS]
    if unknown:
        raise ConfigError(f"unknown runtime variant(s) {unknown}; known: {list(VARIANTS)}")
    names = list(dict.fromkeys(variants))
    if REFERENCE not in names:
        raise ConfigError(f"the variants must include the reference {REFERENCE!r}")
    set_threads(threads)
    split = _split(workspace, dataset, root, sequences)
    registry = SpecRegistry(workspace.trackers_dir, workspace.root)
    spec = registry.resolve(tracker, dataset=dataset)
    kind = kind_of(spec)
    missing = kind.missing_weights(spec)
    if missing is not None:
        raise ConfigError(f"tracker {tracker!r}: {missing}")
    cpu = devices.cpu_features()  # the probe the guard uses
    rows: dict[str, PrecisionRow] = {}
    built: dict[str, Any] = {}
    for name in names:
        v = VARIANTS[name]
        params = dict(v.params)
        if params.get("runtime") == "onnxruntime":
            params["threads"] = threads
        vspec = spec.with_overrides({"params": params})
        row = rows[name] = PrecisionRow(name, v.description, kind.precision_of(vspec))
        if params.get("runtime") == "onnxruntime" and not importlib.util.find_spec("onnxruntime"):
            row.status = "unavailable"
            row.reason = "onnxruntime not installed (pip install 'mfv2bench[onnx]')"
            log(f"{name}: {row.reason}")
            continue
        try:
            built[name] = kind.build(vspec, device="cpu")
        except ReducedPrecisionError as exc:
            row.status, row.reason = "refused", str(exc)
        except (Mfv2benchError, ImportError) as exc:
            row.status, row.reason = "failed", f"{type(exc).__name__}: {exc}"
        if row.status != "ok":
            log(f"{name}: {row.status}: {row.reason}")
    results: dict[str, dict[str, Any]] = {n: {} for n in built}
    times: dict[str, list[float]] = {n: [] for n in built}
    total = sum(s.n_frames for s in split.sequences)
    for i, seq in enumerate(split.sequences):
        for name in list(built):
            res = run_sequence(built[name], seq)
            if res.error:
                rows[name].status = "failed"
                rows[name].reason = res.error.strip().splitlines()[-1]
                log(f"{name}: failed on {seq.name}: {rows[name].reason}")
                del built[name], results[name], times[name]
                continue
            results[name][seq.name] = res.boxes
            times[name] += list(res.times[1:])
        log(f"sequence {i + 1}/{len(split)} {seq.name} done ({seq.n_frames} frames)")
    if REFERENCE not in results:
        raise ConfigError(f"the reference {REFERENCE!r} did not run: {rows[REFERENCE].reason}")
    # the reference last: every stored pair then reads candidate - reference
    ordered = {n: results[n] for n in names if n in results and n != REFERENCE}
    ordered[REFERENCE] = results[REFERENCE]
    analysis = analyze(split, ordered, protocol=protocol)
    fill_accuracy(list(rows.values()), analysis, REFERENCE, limit, cpu.native_bf16)
    log(f"timing the network step of {len(built)} runtimes ({latency_iters} calls each)")
    step = _step_latency(built, latency_iters)
    track = {n: 1e3 * statistics.median(t) for n, t in times.items() if t}
    fill_speed(list(rows.values()), step, track)
    weights = kind.weights(spec, sha256=True)
    return PrecisionReport(
        tracker=tracker, dataset=split.key, protocol=analysis.label,
        sequences=[s.name for s in split.sequences], frames=total, threads=threads,
        reference=REFERENCE, rows=[rows[n] for n in names], machine=machine_info(threads),
        limit=limit, weights=f"{weights.path} sha256:{weights.sha256}" if weights.path else None)


def _split(workspace: Workspace, dataset: str, root: str | Path | None,
           sequences: int | list[str] | None) -> DatasetSplit:
    split = load_split(dataset, root=root, workspace=workspace)
    if sequences is None:
        return split
    if isinstance(sequences, int):
        if sequences < 1:
            raise ConfigError(f"sequences must be at least 1, got {sequences}")
        wanted = [s.name for s in split.sequences[:sequences]]
    else:
        wanted = list(sequences)
    return load_split(dataset, root=root, workspace=workspace, sequences=wanted)


def _step_latency(trackers: dict[str, Any], iters: int) -> dict[str, float]:
    """Median ms of one network step per runtime (synthetic inputs at the model's crop sizes,
    interleaved rounds, after warm-up)."""
    fns = {}
    for name, tr in trackers.items():
        fns[name] = engine_step(tr.engine, tr.template_size, tr.search_size)
    samples = time_interleaved(fns, warmup=3, iters=max(3, iters), rounds=3)
    return {n: statistics.median(s) for n, s in samples.items()}
