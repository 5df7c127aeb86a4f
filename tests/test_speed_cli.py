"""`mfv2bench speed` command: argument errors are one line with exit 2; saved results are shown."""

from __future__ import annotations

import json

import pytest
import torch
from click.testing import CliRunner

from mfv2bench.cli import main
from mfv2bench.provenance import hardware_manifest
from mfv2bench.speed.store import SpeedResult, save_speed_result


def _run(args):
    return CliRunner().invoke(main, ["speed", *args])


def test_needs_a_tracker(workspace):
    res = _run([])
    assert res.exit_code == 2
    assert "error: give --tracker" in res.output


def test_unknown_tracker_is_one_line(workspace):
    res = _run(["--tracker", "nope", "--no-tracking"])
    assert res.exit_code == 2
    assert "unknown tracker 'nope'" in res.output
    assert "Traceback" not in res.output


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_cuda_without_gpu_is_skipped_with_a_clear_message(workspace):
    res = _run(["--tracker", "whatever", "--device", "cuda"])
    assert res.exit_code == 2
    assert "no CUDA GPU is available" in res.output and "GPU timings skipped" in res.output


def test_saved_results_table_and_json(workspace):
    r = SpeedResult(tracker="mfv2-s", device="cpu", threads=2, batch=1, precision="fp32",
                    weights="random weights", runtime="eager",
                    model_latency={"median_ms": 20.0, "p90_ms": 21.0, "p99_ms": 22.0,
                                   "mean_ms": 20.5, "fps": 50.0},
                    tracking={"fps": 30.0, "frames": 100, "decode_s": 0.2},
                    breakdown=[{"component": "backbone", "mparams": 1.0, "gflops": 2.0,
                                "gmacs": 1.0, "median_ms": 15.0, "share": 0.75,
                                "how": "measured"}],
                    thread_scaling=[{"threads": 1, "median_ms": 30.0, "fps": 33.3,
                                     "speedup": 1.0}],
                    manifest=hardware_manifest("cpu", 2))
    save_speed_result(r, workspace / "results")
    res = _run(["--saved"])
    assert res.exit_code == 0, res.output
    assert "mfv2-s" in res.output and "e2e_fps" in res.output and "frame 0 excluded" in res.output
    assert "component breakdown" in res.output and "thread scaling" in res.output
    res = _run(["--saved", "--tracker", "mfv2-s", "--json"])
    data = json.loads(res.output)
    assert data[0]["tracking"]["fps"] == 30.0 and data[0]["weights"] == "random weights"
