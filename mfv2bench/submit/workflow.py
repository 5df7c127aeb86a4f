"""``mfv2bench submit`` as one library call: find the split and the raw results, pack, validate."""

from __future__ import annotations

from pathlib import Path

from ..datasets.registry import load_split, parse_dataset_arg
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


def submit(workspace: Workspace, tracker: str, dataset: str, out: str | Path | None = None,
           root: str | Path | None = None, results_dir: str | Path | None = None) -> SubmissionReport:
    """Pack ``results/<tracker>/<dataset>-<split>`` for the server and validate the zip."""
    split = _load_split(dataset, workspace, root)
    results = Path(results_dir) if results_dir else workspace.results_dir
    seq_dir = run_folder(results, tracker, split.key)
    out_path = Path(out) if out else default_zip_path(workspace, tracker, split.key)
    return pack_submission(split, seq_dir, out_path, tracker=tracker)


def check_zip(workspace: Workspace, zip_path: str | Path, dataset: str,
              root: str | Path | None = None) -> SubmissionReport:
    """Validate an existing zip (ours or anyone's) against the split on disk."""
    split = _load_split(dataset, workspace, root)
    fmt = format_for_dataset(split.dataset)
    expected = {s.name: s.n_frames for s in split.sequences}
    return validate_submission(zip_path, expected, fmt, dataset=split.key)
