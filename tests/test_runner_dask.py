"""The Dask backend on a LocalCluster (loopback): same files as joblib, faults reported."""

from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("distributed")
pytestmark = pytest.mark.slow  # local clusters start worker processes (~2-10 s each)

from mfv2bench.runner.evaluate import run_eval  # noqa: E402
from mfv2bench.workspace import load_workspace  # noqa: E402
from mfv2bench.datasets.registry import load_split  # noqa: E402
from runner_helpers import line_count, make_synthetic, write_scripted_spec  # noqa: E402


def test_dask_local_cluster_matches_joblib(workspace):
    make_synthetic(workspace, "lasot", n_sequences=3, n_frames=6)
    split = load_split("synthetic-lasot", workspace=load_workspace(workspace))
    boxes = {s.name: s.init_box for s in split.sequences}
    bad = sorted(boxes)[2]
    write_scripted_spec(workspace, "scripted", fail_box=boxes[bad])
    ws = load_workspace(workspace)
    run = run_eval("scripted", "synthetic-lasot", workspace=ws, jobs=2, backend="dask",
                   progress=False)
    assert list(run.failed) == [bad] and sorted(run.done) == sorted(set(boxes) - {bad})
    assert "scripted failure" in (run.folder / "errors.log").read_text()
    m = json.loads((run.folder / "run.json").read_text())
    assert m["backend"]["name"] == "dask" and m["backend"]["scheduler"].startswith("tcp://127.0.0.1")
    assert m["timing"] == "contended"
    ref = run_eval("scripted", "synthetic-lasot", workspace=ws, jobs=1, progress=False,
                   results_dir=workspace / "ref")
    for name in run.done:
        assert line_count(run.folder / f"{name}.txt") == 6
        a = np.loadtxt(run.folder / f"{name}.txt", delimiter=",")
        b = np.loadtxt(ref.folder / f"{name}.txt", delimiter=",")
        assert np.array_equal(a, b)
    # resume on dask: only the failed sequence is attempted again
    again = run_eval("scripted", "synthetic-lasot", workspace=ws, jobs=2, backend="dask",
                     progress=False)
    assert sorted(again.skipped) == sorted(run.done) and list(again.failed) == [bad]


def test_dask_killed_worker_fails_only_its_sequence(workspace):
    make_synthetic(workspace, "lasot", n_sequences=3, n_frames=6)
    split = load_split("synthetic-lasot", workspace=load_workspace(workspace))
    boxes = {s.name: s.init_box for s in split.sequences}
    victim = sorted(boxes)[0]
    write_scripted_spec(workspace, "killer", kill_box=boxes[victim], delay=0.01)
    run = run_eval("killer", "synthetic-lasot", workspace=load_workspace(workspace), jobs=2,
                   backend="dask", progress=False)
    assert list(run.failed) == [victim] and "died" in run.failed[victim]
    assert sorted(run.done) == sorted(set(boxes) - {victim})


def test_existing_cluster_by_scheduler_address(workspace):
    from distributed import LocalCluster

    make_synthetic(workspace, "lasot", n_sequences=2, n_frames=5)
    write_scripted_spec(workspace, "scripted")
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None) as cluster:
        run = run_eval("scripted", "synthetic-lasot", workspace=load_workspace(workspace),
                       backend="dask", scheduler=cluster.scheduler_address, progress=False)
        assert run.ok and run.complete
        m = json.loads((run.folder / "run.json").read_text())
        assert m["backend"]["scheduler"] == cluster.scheduler_address and m["timing"] == "contended"
        assert len(cluster.workers) == 1  # the user's cluster is left running
