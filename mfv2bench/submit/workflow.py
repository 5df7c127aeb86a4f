"""``mfv2bench submit`` as one library call: find the split and the raw results, pack, validate."""

from __future__ import annotations

import json
from pathlib import Path

from ..datasets.registry import load_split, parse_dataset_arg
from ..results.atomic import atomic_write
from ..results.layout import run_folder
from ..workspace import Workspace
from .pack import SubmissionReport, format_for_dataset, pack_submission, validate_submission


def default_zip_path(workspace: Workspace, tracker: str, split_key: str) -> Path:
    """``reports/submissions/<tracker>_<dataset>-<split>.zip`` (outside the raw results)."""
    return workspace.reports_dir / "submissions" / f"{tracker}_{split_key}.zip"


def _load_split(dataset: str, workspace: Workspace, root: str | Path | None):
    """The split, after checking (before touching the disk) that a server takes its family."""
    format_for_dataset(parse_dataset_arg(dataset)[0])
    return load_split(dataset, root=root, workspace=workspace)


def manifest_path(zip_path: str | Path) -> Path:
    """The submission manifest beside the zip: ``<name>.manifest.json`` (never inside the zip,
    whose members the server checks)."""
    zip_path = Path(zip_path)
    return zip_path.with_name(zip_path.stem + ".manifest.json")


def submit(workspace: Workspace, tracker: str, dataset: str, out: str | Path | None = None,
           root: str | Path | None = None, results_dir: str | Path | None = None,
           no_times: bool = False) -> SubmissionReport:
    """Pack ``results/<tracker>/<dataset>-<split>`` for the server, validate the zip and write
    its manifest beside it (what was packed, whether per-frame times are in it, the server's rule
    on times)."""
    split = _load_split(dataset, workspace, root)
    results = Path(results_dir) if results_dir else workspace.results_dir
    seq_dir = run_folder(results, tracker, split.key)
    out_path = Path(out) if out else default_zip_path(workspace, tracker, split.key)
    report = pack_submission(split, seq_dir, out_path, tracker=tracker, no_times=no_times)
    fmt = format_for_dataset(split.dataset)
    if no_times:
        report.notes.append(f"--no-times: no time file is submitted here anyway ({fmt.times_rule})")
    manifest = dict(report.to_dict(), times_omitted=report.times != "included",
                    times_rule=fmt.times_rule)
    atomic_write(manifest_path(report.zip_path), json.dumps(manifest, indent=1) + "\n")
    return report


def check_zip(workspace: Workspace, zip_path: str | Path, dataset: str,
              root: str | Path | None = None, no_times: bool = False) -> SubmissionReport:
    """Validate an existing zip (ours or anyone's) against the split on disk (``no_times`` is
    refused where the server needs the time files, as for packing)."""
    split = _load_split(dataset, workspace, root)
    fmt = format_for_dataset(split.dataset)
    if no_times:
        fmt = fmt.without_times()
    expected = {s.name: s.n_frames for s in split.sequences}
    return validate_submission(zip_path, expected, fmt, dataset=split.key)
