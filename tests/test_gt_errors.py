"""A bad ground-truth value found by the metrics step (a NaN the protocol refuses) is reported at
the annotation file and its line, not at the results file (issue 11)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from mfv2bench.cli import main
from mfv2bench.datasets.registry import load_split
from mfv2bench.workspace import load_workspace
from runner_helpers import make_synthetic

REPO_TRACKERS = Path(__file__).resolve().parent.parent / "trackers"


@pytest.mark.slow  # end-to-end with worker processes (> 1 s)
def test_nan_in_a_later_gt_row_names_groundtruth_file_and_line(workspace):
    shutil.copy(REPO_TRACKERS / "kcf.toml", workspace / "trackers" / "kcf.toml")
    make_synthetic(workspace, n_sequences=2, n_frames=8)
    split = load_split("synthetic-lasot", workspace=load_workspace(workspace))
    seq = split.sequences[0]
    gt_file = Path(seq.annotation_file)
    assert gt_file.name == "groundtruth.txt" and seq.annotation_first_line == 1
    lines = gt_file.read_text().splitlines()
    lines[4] = "nan,nan,nan,nan"  # frame 5
    gt_file.write_text("\n".join(lines) + "\n")
    res = CliRunner().invoke(main, ["eval", "--tracker", "kcf", "--dataset", "synthetic-lasot",
                                    "--jobs", "1"])
    assert res.exit_code == 2, res.output
    assert "Traceback" not in res.output
    assert f"{gt_file}:5:" in res.output
    assert "NaN in the ground truth" in res.output


def test_every_loader_records_its_annotation_file(workspace):
    for fmt in ("lasot", "got10k", "trackingnet", "otb100", "uav123", "nfs", "tnl2k", "custom"):
        make_synthetic(workspace, fmt=fmt, n_sequences=1, n_frames=6)
        split = load_split(f"synthetic-{fmt}", workspace=load_workspace(workspace))
        for seq in split.sequences:
            assert seq.annotation_file and Path(seq.annotation_file).is_file(), (fmt, seq.name)
