"""Our side of the leaderboard: scores of local raw results (via the metrics analysis, under the
data set's default protocol) and the best isolated speed measured for each tracker."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

from ..datasets.registry import load_split
from ..errors import ConfigError, Mfv2benchError
from ..metrics.analysis import Analysis, analyze_store
from ..results.store import ResultsStore
from ..speed.store import load_speed_results
from ..speed.table import best_fps
from ..workspace import Workspace
from .board import LocalEntry

# Command-line metric -> the analysis' headline metric key.
ANALYSIS_METRIC = {"auc": "auc", "ao": "ao", "p": "precision", "precision": "precision",
                   "p_norm": "norm_precision", "np": "norm_precision",
                   "norm_precision": "norm_precision", "sr50": "sr50", "sr0.5": "sr50",
                   "sr75": "sr75", "sr0.75": "sr75"}


@dataclass
class LocalScores:
    entries: list[LocalEntry] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    protocol: str | None = None


def analysis_metric(metric: str, analysis: Analysis) -> str:
    """The analysis key for a command-line metric (``auc`` is ``ao`` under GOT-10k protocols)."""
    key = ANALYSIS_METRIC.get(metric.strip().lower())
    if key is None:
        raise ConfigError(f"unknown metric {metric!r}; choose from {', '.join(sorted(ANALYSIS_METRIC))}")
    if key == "auc" and "auc" not in analysis.metrics and "ao" in analysis.metrics:
        key = "ao"
    return key


def entries_from_analysis(analysis: Analysis, metric: str, results_dir: str | Path) -> list[LocalEntry]:
    """One LocalEntry per analysed tracker: value and CI in percent, best isolated FPS."""
    key = analysis_metric(metric, analysis)
    if key not in analysis.metrics:
        raise ConfigError(f"protocol {analysis.protocol} does not report {metric!r} "
                          f"(it reports {', '.join(analysis.metrics)})")
    out = []
    for tracker in analysis.trackers:
        value = analysis.score(tracker, key)
        if value is None or math.isnan(value):
            continue
        lo, hi = analysis.ci[tracker][key]
        speeds = load_speed_results(results_dir, tracker)
        fps_cpu, _, hw_cpu = best_fps(speeds, gpu=False)
        fps_gpu, _, hw_gpu = best_fps(speeds, gpu=True)
        hardware = "; ".join(h for h in (hw_gpu, hw_cpu) if h)
        out.append(LocalEntry(tracker=tracker, value=100.0 * value, ci_low=100.0 * lo, ci_high=100.0 * hi,
                              fps_cpu=fps_cpu, fps_gpu=fps_gpu, hardware=hardware,
                              source=f"local results, protocol {analysis.protocol} [{analysis.protocol_hash}]",
                              partial=analysis.partial, coverage=analysis.coverage_of(tracker),
                              coverage_reasons=list(analysis.coverage_reasons.get(tracker, []))))
    return out


def trackers_with_results(results_dir: str | Path, split_key: str) -> list[str]:
    """Tracker folders of the store holding results for ``split_key``."""
    return ResultsStore(results_dir).trackers(split_key)


def local_scores(workspace: Workspace, dataset: str, metric: str = "auc",
                 trackers: list[str] | None = None, protocol: str | None = None,
                 root: str | Path | None = None, results_dir: str | Path | None = None) -> LocalScores:
    """Local entries for the board. Without ``trackers``, every tracker with results for the split;
    then a split that cannot be loaded (data not on disk, server-scored) yields notes, not errors."""
    results = Path(results_dir) if results_dir else workspace.results_dir
    explicit = trackers is not None
    try:
        split = load_split(dataset, root=root, workspace=workspace, allow_partial=True)
    except Mfv2benchError as exc:
        if explicit:
            raise
        return LocalScores(notes=[f"no local rows: {exc}"])
    names = trackers if explicit else trackers_with_results(results, split.key)
    if not names:
        return LocalScores(notes=[f"no local results for {split.key} under {results}"])
    if split.sequences and not split.sequences[0].has_full_gt:
        note = f"{split.key} is scored by its evaluation server (use `mfv2bench submit`); no local rows"
        if explicit:
            raise ConfigError(note)
        return LocalScores(notes=[note])
    out = LocalScores()
    store = ResultsStore(results)
    for name in names:  # one at a time: a broken folder costs its own row only
        if store.random_weights(name, split.key):
            out.notes.append(f"{name}: no row (random weights: latency-only spec, no accuracy)")
            continue
        try:
            analysis = analyze_store(split, [name], results, protocol=protocol, pairwise=False)
        except Mfv2benchError as exc:
            if explicit:
                raise
            out.notes.append(f"{name}: no row ({exc})")
            continue
        out.entries += entries_from_analysis(analysis, metric, results)
        out.protocol = analysis.label
    return out
