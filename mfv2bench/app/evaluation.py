"""Eval-then-analyze: run a tracker over a split (runner), then score what finished (metrics).

The runner never imports metrics; this flow sits above both. ``evaluate_object`` runs a Python
tracker object (anything with ``initialize(image, box)`` / ``track(image)``) through the same
runner and results store as a spec, in this process.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from ..datasets.base import DatasetSplit
from ..errors import ConfigError, Mfv2benchError
from ..metrics.analysis import Analysis, analyze_store
from ..metrics.text import analysis_text
from ..results import manifest as mf
from ..results.manifest import random_weights
from ..runner.evaluate import EvalRun, run_eval
from ..trackers.base import TrackOutput
from ..trackers.specs import ResolvedSpec, SpecRegistry
from ..workspace import Workspace


def finished_split(run: EvalRun) -> DatasetSplit | None:
    """The split restricted to sequences with complete results (None when none or when the split
    has first-frame-only GT and is scored by a server, e.g. GOT-10k test, TrackingNet TEST)."""
    names = set(run.finished_sequences)
    seqs = [s for s in run.split.sequences if s.name in names]
    if not seqs or not all(s.has_full_gt for s in seqs):
        return None
    missing = list(run.split.missing) + [s.name for s in run.split.sequences if s.name not in names]
    return DatasetSplit(dataset=run.split.dataset, split=run.split.split, root=run.split.root,
                        sequences=seqs, expected=run.split.expected, missing=missing)


def eval_analysis(run: EvalRun, protocol: str | None = None) -> Analysis | None:
    """Metrics of the finished sequences under the data set's default protocol (None where the
    split's GT is first-frame only or nothing finished)."""
    sub = finished_split(run)
    if sub is None:
        return None
    return analyze_store(sub, [run.tracker], run.results_dir, protocol=protocol)


@dataclass
class Evaluation:
    """One eval-then-analyze: the run summary and, where the split has full GT, its metrics."""

    run: EvalRun
    analysis: Analysis | None
    analysis_error: str | None = None  # why the metrics step refused (the run itself is kept)

    @property
    def ok(self) -> bool:
        return self.run.ok

    @property
    def random_weights(self) -> bool:
        """The run used random weights (a latency-only spec): its accuracy is meaningless."""
        return random_weights(self.run.manifest)

    def to_json(self) -> dict[str, Any]:
        out = self.run.summary()
        out["metrics"] = self.analysis.to_json() if self.analysis is not None else None
        out["metrics_error"] = self.analysis_error
        return out

    def summary_lines(self) -> list[str]:
        """What happened, for a terminal: counts, folder, failures, complete or partial."""
        s = self.run.summary()
        lines = [f"{s['tracker']} on {s['dataset']}: ran {s['ran']}, already complete {s['skipped']}, "
                 f"failed {len(s['failed'])}" + (", interrupted" if s["interrupted"] else "")
                 + f" ({s['backend']}, {s['workers']} worker(s), timing: {s['timing']})",
                 f"results: {s['results']}"]
        if s["failed"]:
            few = ", ".join(s["failed"][:5]) + (" ..." if len(s["failed"]) > 5 else "")
            lines.append(f"failed sequences: {few}; tracebacks in {s['errors_log']}")
        if len(s["runs"]) > 1:
            lines.append(f"{len(s['runs'])} runs (seeds " + ", ".join(str(r["seed"]) for r in s["runs"])
                         + "): " + "; ".join(f"run {r['run']}: ran {r['ran']}, already complete "
                                             f"{r['skipped']}, failed {len(r['failed'])}"
                                             for r in s["runs"]))
        if s["missing_on_disk"]:
            lines.append(f"{len(s['missing_on_disk'])} sequence(s) of the split were not on disk")
        reasons = "; ".join(s["subset"])
        official = (self.run.manifest.get("sequences") or {}).get("official") == "package"
        done = (f"{s['sequences_done']} of {s['sequences_expected']} sequences of the "
                + ("official split" if official else "split"))
        if s["coverage"] == mf.FULL:
            lines.append(f"run is COMPLETE ({done})")
        elif s["coverage"] == mf.SUBSET:
            lines.append(f"run covers a SUBSET ({done}: {reasons}); its metrics are marked and "
                         "never ranked with full-split results")
        else:
            lines.append(f"run is PARTIAL ({done}: {reasons}); metrics below cover the finished "
                         "sequences only; rerun to resume")
        return lines

    def metrics_text(self) -> str:
        """The metrics table, or why there is none."""
        if self.analysis_error is not None:
            return f"no metrics: {self.analysis_error}"
        if self.analysis is not None:
            return analysis_text(self.analysis)
        if self.run.finished_sequences:
            return ("no metrics: this split has first-frame ground truth only (server-scored); "
                    "see `mfv2bench submit`")
        return "no metrics: no sequence finished"


def evaluate_spec(tracker: str, dataset: str, *, metrics: bool = True,
                  protocol: str | None = None, **run_options: Any) -> Evaluation:
    """``run_eval`` (all its options) then, unless ``metrics`` is False, the analysis of the
    finished sequences."""
    run = run_eval(tracker, dataset, **run_options)
    return _with_metrics(run, metrics, protocol)


def _with_metrics(run: EvalRun, metrics: bool, protocol: str | None) -> Evaluation:
    """The run and its metrics; a metrics step that refuses (a protocol rejecting the GT, a
    broken result) is kept as ``analysis_error`` so the run's summary is never lost."""
    if not metrics:
        return Evaluation(run=run, analysis=None)
    try:
        return Evaluation(run=run, analysis=eval_analysis(run, protocol=protocol))
    except Mfv2benchError as exc:
        return Evaluation(run=run, analysis=None, analysis_error=str(exc))


class ObjectTracker:
    """Adapts a user's tracker object to the runner's contract: ``track`` may return a plain
    box (x, y, w, h) instead of a ``TrackOutput``."""

    def __init__(self, obj: Any, name: str):
        self.obj = obj
        self.name = name

    def initialize(self, image: np.ndarray, box: np.ndarray) -> None:
        self.obj.initialize(image, box)

    def track(self, image: np.ndarray) -> TrackOutput:
        out = self.obj.track(image)
        if hasattr(out, "box"):
            return out
        return TrackOutput(box=np.asarray(out, dtype=np.float64).reshape(4))


class _ObjectRegistry(SpecRegistry):
    """The workspace's specs plus tracker objects' specs, which have no file."""

    def resolve(self, name: str, dataset: str | None = None,
                overrides: dict[str, Any] | None = None) -> ResolvedSpec:
        return replace(super().resolve(name, dataset=dataset, overrides=overrides), path=None)


def object_spec(obj: Any, config: dict[str, Any] | None = None) -> dict[str, Any]:
    """The spec (kind "python") that describes a tracker object in the run manifest: its class
    as the factory and ``config`` as its parameters, so the spec hash changes with either."""
    cls = type(obj)
    return {"kind": "python", "description": f"Python object {cls.__module__}.{cls.__qualname__}",
            "model": {"factory": f"{cls.__module__}:{cls.__qualname__}"},
            "params": dict(config or {})}


def evaluate_object(obj: Any, name: str, dataset: str, *, workspace: Workspace,
                    split: str | None = None, metrics: bool = True, protocol: str | None = None,
                    force: bool = False, sequences: list[str] | None = None,
                    root: str | Path | None = None, results_dir: str | Path | None = None,
                    allow_partial: bool = False, progress: bool = False,
                    config: dict[str, Any] | None = None) -> Evaluation:
    """Run a Python tracker object over a split in this process and store its results as
    ``name`` (same runner, store, manifest and resume rules as a spec run).

    The manifest describes the object by its class and ``config`` (kind "python"); results of
    another class or config under the same name are refused like a changed spec (``force``
    replaces them). A spec file of the same name in the workspace is not consulted."""
    for method in ("initialize", "track"):
        if not callable(getattr(obj, method, None)):
            raise ConfigError(f"{type(obj).__qualname__} has no {method}(): a tracker object needs "
                              "initialize(image, box) and track(image)")
    registry = _ObjectRegistry(workspace.trackers_dir, workspace.root)
    registry.add(name, object_spec(obj, config))
    run = run_eval(name, dataset, split=split, workspace=workspace, jobs=1, device="cpu",
                   force=force, allow_partial=allow_partial, sequences=sequences,
                   progress=progress, results_dir=results_dir, root=root, registry=registry,
                   tracker_object=ObjectTracker(obj, name))
    return _with_metrics(run, metrics, protocol)
