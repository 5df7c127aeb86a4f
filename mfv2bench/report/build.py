"""Gather a report from disk: split -> metrics analysis -> speed results -> run manifests ->
published results, into a ReportModel, then write it (``report.render``)."""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..datasets.base import DatasetSplit
from ..datasets.registry import get_info, load_split
from ..errors import MissingDataError
from ..leaderboard.board import build_leaderboard, pareto_mask
from ..leaderboard.local import entries_from_analysis
from ..leaderboard.points import published_speed_points
from ..leaderboard.published import load_published
from ..metrics.analysis import Analysis, analyze_store
from ..metrics.protocols import get_protocol
from ..results.layout import run_folder
from ..results.store import ResultsStore
from ..speed.store import load_speed_results
from ..speed.table import scatter_points, speed_accuracy_table
from ..workspace import Workspace
from .failures import optional_sections
from .model import ReportModel
from .plots import CurveSeries
from .render import ReportFiles, write_report

# per-sequence score columns shown in percent
_PERCENT_COLUMNS = ("auc", "precision", "norm_precision", "op50", "op75", "p20", "np20", "ao", "sr50", "sr75")
_LABELS = {"auc": "AUC", "precision": "P", "norm_precision": "NP", "ao": "AO", "sr50": "SR0.5", "sr75": "SR0.75"}


def curves_from_analysis(a: Analysis) -> dict[str, list[CurveSeries]]:
    """Overall success / precision / normalized precision curves, scored for the legend."""
    out: dict[str, list[CurveSeries]] = {"success": [], "precision": [], "norm_precision": []}
    use_ao = "auc" not in a.metrics and "ao" in a.metrics  # GOT-10k protocols report AO
    for t in a.trackers:
        o = a.overall[t]
        if use_ao:
            out["success"].append(CurveSeries(t, o.thresholds["overlap"], o.success_curve, float(o.ao), "AO"))
        else:
            out["success"].append(CurveSeries(t, o.thresholds["overlap"], o.success_curve, float(o.auc)))
        if o.precision_curve is not None and "center" in o.thresholds:
            score = o.p20 if o.p20 is not None else o.precision_score
            out["precision"].append(CurveSeries(t, o.thresholds["center"], o.precision_curve,
                                                float(score) if score is not None else math.nan))
        if o.norm_precision_curve is not None and "norm_center" in o.thresholds:
            score = o.np20 if o.np20 is not None else o.norm_precision_score
            out["norm_precision"].append(CurveSeries(t, o.thresholds["norm_center"], o.norm_precision_curve,
                                                     float(score) if score is not None else math.nan))
    return {k: v for k, v in out.items() if v}


def overall_from_analysis(a: Analysis) -> tuple[pd.DataFrame, list[str]]:
    """Tracker rows with each headline metric in percent, its CI as ``<label>_lo/_hi``, the
    run-to-run SD of repeated runs as ``<label>_sd`` (NaN for one run) and ``runs``."""
    labels = [_LABELS[m] for m in a.metrics]
    rows = []
    for t in a.trackers:
        row: dict[str, Any] = {"tracker": t}
        for m, label in zip(a.metrics, labels):
            v = a.score(t, m)
            lo, hi = a.ci[t][m]
            row[label] = math.nan if v is None else 100.0 * v
            row[f"{label}_lo"], row[f"{label}_hi"] = 100.0 * lo, 100.0 * hi
            sd = a.run_spread(t, m)  # repeated runs: the run-to-run spread beside the CI
            row[f"{label}_sd"] = math.nan if sd is None else 100.0 * sd
        row["runs"] = a.runs_of(t)
        rows.append(row)
    return pd.DataFrame(rows), labels


def per_sequence_wide(a: Analysis) -> pd.DataFrame:
    """One row per sequence: frames, then each headline metric per tracker (percent)."""
    ps = a.per_sequence
    if ps.empty:
        return ps
    metrics = [m for m in a.metrics if m in ps.columns]
    wide = ps.pivot_table(index="sequence", columns="tracker", values=metrics, sort=False)
    wide.columns = [f"{_LABELS[m]} {t}" for m, t in wide.columns]
    order = [f"{_LABELS[m]} {t}" for m in metrics for t in a.trackers if f"{_LABELS[m]} {t}" in wide.columns]
    wide = wide[order] * 100.0
    frames = ps.drop_duplicates("sequence").set_index("sequence")["n_frames"]
    wide.insert(0, "frames", frames.reindex(wide.index).to_numpy())
    sequences = list(dict.fromkeys(ps["sequence"]))
    return wide.reindex(sequences).reset_index()


def attributes_from_analysis(a: Analysis) -> pd.DataFrame | None:
    """Attribute x tracker AUC (fractions) where the split's sequences carry attributes."""
    at = a.attributes
    metric = "auc" if "auc" in at.columns else ("ao" if "ao" in at.columns else None)
    if at.empty or metric is None:
        return None
    table = at.pivot_table(index="attribute", columns="tracker", values=metric, sort=False)
    counts = at.drop_duplicates("attribute").set_index("attribute")["n_sequences"]
    table = table.reindex(index=list(dict.fromkeys(at["attribute"])), columns=a.trackers)
    table.index = [f"{attr} ({int(counts[attr])})" for attr in table.index]
    table = table.dropna(how="all")
    return table if not table.empty else None


def paired_from_analysis(a: Analysis) -> pd.DataFrame:
    frame = a.pairwise_table(percent=True)
    return frame.rename(columns={"a": "tracker A", "b": "tracker B", "diff": "A - B",
                                 "CI low": "diff CI low", "CI high": "diff CI high", "p": "p-value"})


def degenerate_warnings(a: Analysis) -> list[str]:
    out = []
    for t in a.trackers:
        report = a.degenerate.get(t)
        if report is None or not report.any:
            continue
        for flag, seqs in report.summary().items():
            few = ", ".join(seqs[:5]) + (" ..." if len(seqs) > 5 else "")
            out.append(f"{t}: degenerate output ({flag}) on {len(seqs)} of {report.n_sequences} "
                       f"sequences: {few}")
    return out


def manifest_partial(manifest: dict[str, Any]) -> bool:
    return bool(manifest.get("partial")) or manifest.get("complete") is False


def speed_section(a: Analysis, results_dir: Path, real_dataset: bool) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(scatter points with Pareto flags, table of our speeds) from saved speed results."""
    speed = {t: load_speed_results(results_dir, t) for t in a.trackers}
    key = "auc" if "auc" in a.metrics else a.metrics[0]
    accuracy = {t: 100.0 * a.score(t, key) for t in a.trackers if a.score(t, key) is not None}
    published = published_speed_points(a.dataset) if real_dataset else []
    table = speed_accuracy_table({t: r for t, r in speed.items() if r}, accuracy, dataset=a.dataset,
                                 published_points=published)
    ours = table[table["source"] == "ours"]
    device = "cpu" if ours["fps_cpu"].notna().any() or not ours["fps_gpu"].notna().any() else "gpu"
    points = scatter_points(table, device=device)
    if not points.empty:
        # ours on a subset / partial run: labelled so, and neither on nor shaping the front
        marks = {t: a.coverage_of(t).upper() for t in a.trackers if not a.comparable(t)}
        off = points["ours"].to_numpy(bool) & points["label"].isin(list(marks)).to_numpy(bool)
        points["label"] = [f"{lab} [{marks[lab]}]" if o else lab
                           for lab, o in zip(points["label"], off)]
        pareto = np.zeros(len(points), dtype=bool)
        pareto[~off] = pareto_mask(points["fps"].to_numpy(float)[~off],
                                   points["accuracy"].to_numpy(float)[~off])
        points["pareto"] = pareto
    shown = ours.drop(columns=["variant", "source"]).rename(columns={"auc": _LABELS.get(key, key)})
    return points, shown.dropna(axis=1, how="all")


def restrict_to_common(split: DatasetSplit, trackers: list[str], results_dir: Path
                       ) -> tuple[DatasetSplit, list[str]]:
    """The split cut down to the sequences every tracker has a result file for in the store,
    and one line per tracker saying what was left out (for the partial banner)."""
    keep = []
    lacking: dict[str, list[str]] = {t: [] for t in trackers}
    for seq in split.sequences:
        absent = [t for t in trackers
                  if run_folder(results_dir, t, split.key).is_dir()
                  and not (run_folder(results_dir, t, split.key) / f"{seq.name}.txt").is_file()]
        for t in absent:
            lacking[t].append(seq.name)
        if not absent:
            keep.append(seq)
    details = [f"{t}: no results for {len(names)} of {len(split.sequences)} sequences "
               f"({', '.join(names[:3])}{' ...' if len(names) > 3 else ''}); scored on the "
               f"{len(keep)} sequences all trackers have" for t, names in lacking.items() if names]
    dropped = [s.name for s in split.sequences if s not in keep]
    cut = replace(split, sequences=keep, missing=[*split.missing, *dropped])
    return cut, details


def report_model(workspace: Workspace, dataset: str, trackers: list[str], protocol: str | None = None,
                 root: str | Path | None = None, results_dir: str | Path | None = None,
                 title: str | None = None, notes: list[str] | None = None,
                 allow_partial: bool = False, failures: bool | None = None,
                 attention: list[str | Path] | None = None) -> ReportModel:
    """Everything the report shows, read from disk. The split may be partial on disk; with
    ``allow_partial``, trackers may also lack some sequences (all are then scored on the common
    ones, and the report says so in its partial banner)."""
    results = Path(results_dir) if results_dir else workspace.results_dir
    split = load_split(dataset, root=root, workspace=workspace, allow_partial=True)
    partial_details = []
    if split.partial:
        few = ", ".join(split.missing[:5]) + (" ..." if len(split.missing) > 5 else "")
        partial_details.append(f"{split.key}: {len(split.missing)} of {split.expected} sequences "
                               f"not on disk ({few})")
    if allow_partial:
        split, lacking = restrict_to_common(split, trackers, results)
        partial_details += lacking
        if not split.sequences:
            raise MissingDataError(f"no sequence of {split.key} has results for all of {', '.join(trackers)}")
    a = analyze_store(split, trackers, results, protocol=protocol)
    store = ResultsStore(results)
    manifests = {}
    random_weights: list[str] = []
    for t in trackers:
        manifest = store.read_manifest(t, split.key)
        if manifest is None:
            continue
        manifests[t] = manifest
        if store.random_weights(t, split.key):
            random_weights.append(f"{t}: ran with random weights (a latency-only spec): its "
                                  "accuracy here is meaningless")
    for t in trackers:  # judged from the split scored and the run manifest (full/subset/partial)
        if not a.comparable(t):
            why = "; ".join(a.coverage_reasons.get(t, [])) or "not the full official split"
            partial_details.append(f"{t}: {a.coverage_of(t).upper()} ({why}): not comparable "
                                   "with full-split or published results")
    real = get_info(split.dataset).published_name is not None
    points, speed_table = speed_section(a, results, real)
    board = None
    if real:
        key = "auc" if "auc" in a.metrics else a.metrics[0]
        board = build_leaderboard(load_published(), split.dataset, key,
                                  entries_from_analysis(a, key, results))
    overall, labels = overall_from_analysis(a)
    all_notes = list(notes or [])
    for t, per_seq in a.length_notes.items():  # results shorter or longer than the sequence
        all_notes += [f"{t}: {seq}: " + "; ".join(per_seq[seq]) for seq in sorted(per_seq)]
    if not real:
        all_notes.append(f"{split.dataset} is not a published benchmark: no published results are "
                         "compared here")
    failure_part, attention_part = optional_sections(split, trackers, results, a.protocol, failures, attention)
    return ReportModel(
        title=title or f"{split.key}: {', '.join(trackers)}",
        dataset=split.dataset, split_key=split.key, trackers=list(trackers),
        protocol=a.protocol, protocol_hash=a.protocol_hash,
        protocol_definition=get_protocol(a.protocol).to_dict(),
        generated=datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        partial=bool(partial_details), partial_details=partial_details,
        overall=overall, overall_metrics=labels, paired=paired_from_analysis(a),
        paired_method=("Differences in percentage points on the sequences both trackers have; "
                       + a.bootstrap.get("paired_test", "")),
        per_sequence=per_sequence_wide(a), curves=curves_from_analysis(a),
        attributes=attributes_from_analysis(a), speed_points=points, speed_table=speed_table,
        manifests=manifests, warnings=random_weights + degenerate_warnings(a), notes=all_notes, leaderboard=board,
        failures=failure_part, attention=attention_part,
        coverage={t: a.coverage_of(t) for t in trackers},
    )


def build_report(workspace: Workspace, dataset: str, trackers: list[str], out: str | Path | None = None,
                 pdf: bool = True, protocol: str | None = None, root: str | Path | None = None,
                 results_dir: str | Path | None = None, title: str | None = None,
                 notes: list[str] | None = None, allow_partial: bool = False,
                 failures: bool | None = None, attention: list[str | Path] | None = None) -> ReportFiles:
    """Write ``<out>/index.html`` (and ``report.pdf``); ``out`` defaults to ``reports/<split key>``.
    ``failures``: the failure section (None: when the frames are on disk); ``attention``: output
    folders of ``mfv2bench explain`` whose figures the page shows."""
    model = report_model(workspace, dataset, trackers, protocol=protocol, root=root,
                         results_dir=results_dir, title=title, notes=notes, allow_partial=allow_partial,
                         failures=failures, attention=attention)
    folder = Path(out) if out else workspace.reports_dir / model.split_key
    return write_report(model, folder, pdf=pdf)


__all__ = ["build_report", "report_model", "ReportFiles"]
