"""`mfv2bench demo` end to end on tiny synthetic data: baselines run, MixFormerV2 without
checkpoints skipped with the reason, speed measured, report written with every section."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from mfv2bench.cli import main

REPO_TRACKERS = Path(__file__).resolve().parents[1] / "trackers"


@pytest.fixture
def demo_workspace(workspace):
    for spec in REPO_TRACKERS.glob("*.toml"):
        shutil.copy(spec, workspace / "trackers" / spec.name)
    return workspace


@pytest.mark.slow  # end-to-end with worker processes (> 1 s)
def test_demo_runs_baselines_and_skips_missing_checkpoints(demo_workspace):
    pytest.importorskip("cv2")
    if not (demo_workspace / "trackers" / "csrt.toml").is_file():
        pytest.skip("OpenCV baseline specs (trackers/csrt.toml) are not in the repository yet")
    res = CliRunner().invoke(main, ["demo", "--sequences", "2", "--frames", "15",
                                    "--trackers", "csrt,kcf,mfv2-b"])
    assert res.exit_code == 0, res.output
    out = res.output
    assert "skip mfv2-b: checkpoint not found" in out and "ran: csrt, kcf" in out
    assert (demo_workspace / "datasets" / "synthetic" / "lasot" / "testing_set.txt").is_file()
    report = demo_workspace / "reports" / "demo"
    html = (report / "index.html").read_text()
    assert (report / "report.pdf").stat().st_size > 10_000
    for section in ('id="overall-table"', 'id="plot-success"', 'id="plot-speed-accuracy"',
                    'id="per-sequence-table"', 'id="paired-table"', "skipped mfv2-b"):
        assert section in html, section
    speed_files = list((demo_workspace / "results" / "csrt" / "speed").glob("*.json"))
    assert speed_files
    # a second run reuses the data set and the finished results
    res = CliRunner().invoke(main, ["demo", "--trackers", "csrt", "--no-speed", "--no-pdf"])
    assert res.exit_code == 0, res.output
    assert "using existing synthetic" in res.output


def test_demo_with_nothing_runnable_says_why(demo_workspace):
    res = CliRunner().invoke(main, ["demo", "--sequences", "1", "--frames", "8", "--trackers", "mfv2-s,nosuch"])
    assert res.exit_code == 2 and res.output.count("error:") == 1
    assert "no tracker ran" in res.output and "mfv2-s" in res.output and "nosuch" in res.output
