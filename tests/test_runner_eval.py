"""run_eval / `mfv2bench eval`: OpenCV and MixFormerV2 runs on synthetic trees, resume, --force,
changed specs, a raising tracker, a killed worker, fail-fast checks."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from mfv2bench.cli import main
from mfv2bench.datasets.registry import load_split
from mfv2bench.app.evaluation import eval_analysis
from mfv2bench.devices import parse_devices
from mfv2bench.errors import ConfigError, MissingDataError
from mfv2bench.runner.evaluate import run_eval
from mfv2bench.workspace import load_workspace
from runner_helpers import line_count, make_synthetic, write_scripted_spec

REPO_TRACKERS = Path(__file__).resolve().parents[1] / "trackers"


@pytest.fixture
def ws(workspace):
    for name in ("kcf.toml", "mil.toml", "_mfv2.toml", "mfv2-s.toml", "mfv2-b.toml"):
        shutil.copy(REPO_TRACKERS / name, workspace / "trackers" / name)
    return workspace


def _init_boxes(ws_root: Path, dataset: str = "synthetic-lasot") -> dict[str, np.ndarray]:
    split = load_split(dataset, workspace=load_workspace(ws_root))
    return {s.name: s.init_box for s in split.sequences}


@pytest.mark.parametrize("fmt,dataset,full_gt", [("lasot", "synthetic-lasot", True),
                                                 ("got10k", "synthetic-got10k-val", True),
                                                 ("trackingnet", "synthetic-trackingnet", False)])
@pytest.mark.slow  # end-to-end with worker processes (> 1 s)
def test_opencv_baseline_end_to_end(ws, fmt, dataset, full_gt):
    names = make_synthetic(ws, fmt, n_sequences=2, n_frames=6)
    res = CliRunner().invoke(main, ["eval", "-t", "kcf", "-d", dataset, "-j", "1"])
    assert res.exit_code == 0, res.output
    assert "run is COMPLETE" in res.output
    assert ("AUC" in res.output or "AO" in res.output) == full_gt
    split = load_split(dataset, workspace=load_workspace(ws))
    folder = ws / "results" / "kcf" / split.key
    for s in split.sequences:
        assert line_count(folder / f"{s.name}.txt") == s.n_frames
        assert line_count(folder / f"{s.name}_time.txt") == s.n_frames
        first = np.loadtxt(folder / f"{s.name}.txt", delimiter=",")[0]
        assert np.allclose(first, s.init_box)
    m = json.loads((folder / "run.json").read_text())
    assert m["complete"] and not m["partial"] and m["tracker"] == "kcf"
    assert m["spec_hash"] and m["versions"]["opencv"] and m["hardware"]["cpu"]
    assert m["workers"] == 1 and m["timing"] == "sequential" and m["threads"] >= 1
    assert m["started"] and m["finished"] and m["package"]["version"]
    assert set(m["sequence_runs"]) == {s.name for s in split.sequences}
    assert len(names) == 2


@pytest.mark.slow  # end-to-end with worker processes (> 1 s)
def test_resume_skips_complete_and_redoes_broken(ws):
    make_synthetic(ws, "lasot", n_sequences=3, n_frames=6)
    first = run_eval("kcf", "synthetic-lasot", workspace=load_workspace(ws), jobs=1, progress=False)
    assert len(first.done) == 3 and first.complete
    folder = first.folder
    names = first.finished_sequences
    (folder / f"{names[0]}.txt").write_text("1,2,3,4\n")  # truncated (as by a crash elsewhere)
    mtime = (folder / f"{names[1]}.txt").stat().st_mtime_ns
    again = run_eval("kcf", "synthetic-lasot", workspace=load_workspace(ws), jobs=1, progress=False)
    assert again.done == [names[0]] and sorted(again.skipped) == sorted(names[1:])
    assert (folder / f"{names[1]}.txt").stat().st_mtime_ns == mtime
    assert line_count(folder / f"{names[0]}.txt") == 6
    m = again.manifest
    assert len(m["runs"]) == 2 and m["complete"] and m["sequence_runs"][names[0]] == 1
    forced = run_eval("kcf", "synthetic-lasot", workspace=load_workspace(ws), jobs=1,
                      progress=False, force=True)
    assert sorted(forced.done) == sorted(names) and not forced.skipped
    assert len(forced.manifest["runs"]) == 1


@pytest.mark.slow  # end-to-end with worker processes (> 1 s)
def test_changed_spec_never_mixes(ws):
    make_synthetic(ws, "lasot", n_sequences=2, n_frames=5)
    write_scripted_spec(ws, "scripted", delay=0.0)
    run_eval("scripted", "synthetic-lasot", workspace=load_workspace(ws), jobs=1, progress=False)
    write_scripted_spec(ws, "scripted", delay=0.001)
    with pytest.raises(ConfigError, match="results never mix"):
        run_eval("scripted", "synthetic-lasot", workspace=load_workspace(ws), jobs=1, progress=False)
    run = run_eval("scripted", "synthetic-lasot", workspace=load_workspace(ws), jobs=1,
                   progress=False, force=True)
    assert len(run.done) == 2 and run.manifest["spec"]["spec"]["params"]["delay"] == 0.001


@pytest.mark.slow  # end-to-end with worker processes (> 1 s)
def test_raising_tracker_is_logged_others_finish_exit_nonzero(ws):
    make_synthetic(ws, "lasot", n_sequences=3, n_frames=6)
    boxes = _init_boxes(ws)
    bad = sorted(boxes)[1]
    write_scripted_spec(ws, "flaky", fail_box=boxes[bad])
    res = CliRunner().invoke(main, ["eval", "-t", "flaky", "-d", "synthetic-lasot", "-j", "2"])
    assert res.exit_code == 1, res.output
    assert f"failed sequences: {bad}" in res.output and "PARTIAL" in res.output
    folder = ws / "results" / "flaky" / "synthetic-lasot-test"
    log = (folder / "errors.log").read_text()
    assert "Traceback" in log and "scripted failure on frame 3" in log and bad in log
    assert not (folder / f"{bad}.txt").exists()
    for name in set(boxes) - {bad}:
        assert line_count(folder / f"{name}.txt") == 6
    m = json.loads((folder / "run.json").read_text())
    assert m["partial"] and m["sequences"]["failed"] == [bad]
    assert m["workers"] == 2 and m["timing"] == "contended"


@pytest.mark.slow  # a worker process is killed and the pool recovers (~7 s)
def test_killed_worker_loses_only_its_sequence(ws, tmp_path):
    make_synthetic(ws, "lasot", n_sequences=4, n_frames=6)
    boxes = _init_boxes(ws)
    victim = sorted(boxes)[0]
    write_scripted_spec(ws, "killer", kill_box=boxes[victim], delay=0.01)
    run = run_eval("killer", "synthetic-lasot", workspace=load_workspace(ws), jobs=2, progress=False)
    assert list(run.failed) == [victim] and "worker process" in run.failed[victim]
    assert sorted(run.done) == sorted(set(boxes) - {victim})
    assert "died" in (run.folder / "errors.log").read_text()
    # killed once only (marker): a rerun resumes just that sequence
    write_scripted_spec(ws, "killer2", kill_box=boxes[victim], kill_marker=str(tmp_path / "k"))
    run2 = run_eval("killer2", "synthetic-lasot", workspace=load_workspace(ws), jobs=2,
                    progress=False)
    assert not run2.failed and sorted(run2.done) == sorted(boxes)


@pytest.mark.slow  # end-to-end with worker processes (> 1 s)
def test_missing_checkpoint_fails_before_any_sequence(ws):
    make_synthetic(ws, "lasot", n_sequences=2, n_frames=5)
    with pytest.raises(MissingDataError, match="checkpoint not found"):
        run_eval("mfv2-b", "synthetic-lasot", workspace=load_workspace(ws), progress=False)
    assert not list((ws / "results").rglob("*.txt"))
    assert not list((ws / "results").rglob("run.json"))
    # --force with a now-missing checkpoint fails before deleting anything
    write_scripted_spec(ws, "swapped")
    first = run_eval("swapped", "synthetic-lasot", workspace=load_workspace(ws), jobs=1,
                     progress=False)
    (ws / "trackers" / "swapped.toml").write_text('extends = "mfv2-b"\n')
    with pytest.raises(MissingDataError, match="checkpoint not found"):
        run_eval("swapped", "synthetic-lasot", workspace=load_workspace(ws), force=True,
                 progress=False)
    assert len(list(first.folder.glob("*_time.txt"))) == 2 and (first.folder / "run.json").is_file()


@pytest.mark.slow  # end-to-end with worker processes (> 1 s)
def test_mixformerv2_random_weights_runs(ws):
    make_synthetic(ws, "lasot", n_sequences=1, n_frames=4)
    (ws / "trackers" / "tiny-mfv2.toml").write_text(
        'extends = "mfv2-s"\n[model]\nrandom_weights = true\ndepth = 1\nmlp_hidden = 64\n')
    run = run_eval("tiny-mfv2", "synthetic-lasot", workspace=load_workspace(ws), jobs=1,
                   progress=False)
    assert run.ok and run.complete
    m = run.manifest
    assert m["checkpoint"]["random_weights"] and m["versions"]["torch"]
    assert eval_analysis(run) is not None


def test_device_and_option_errors(ws):
    make_synthetic(ws, "lasot", n_sequences=1, n_frames=4)
    with pytest.raises(ConfigError):
        parse_devices("gpu0")
    with pytest.raises(ConfigError):
        parse_devices("cuda:0,cuda:0")
    try:
        import torch
        has_cuda = torch.cuda.is_available()
    except ImportError:
        has_cuda = False
    if not has_cuda:
        res = CliRunner().invoke(main, ["eval", "-t", "kcf", "-d", "synthetic-lasot",
                                        "--device", "cuda:0,cuda:1"])
        assert res.exit_code == 2 and "CUDA is not available" in res.output
    res = CliRunner().invoke(main, ["eval", "-t", "kcf", "-d", "synthetic-lasot", "--scheduler", "x"])
    assert res.exit_code == 2 and "--backend dask" in res.output
    res = CliRunner().invoke(main, ["eval", "-t", "nope", "-d", "synthetic-lasot"])
    assert res.exit_code == 2 and "unknown tracker" in res.output


@pytest.mark.slow  # end-to-end with worker processes (> 1 s)
def test_subset_run_is_partial_until_the_whole_split_is_done(ws):
    import cv2

    make_synthetic(ws, "lasot", n_sequences=3, n_frames=5)
    names = sorted(_init_boxes(ws))
    before = cv2.getNumThreads()
    run = run_eval("kcf", "synthetic-lasot", workspace=load_workspace(ws), jobs=1, threads=2,
                   sequences=[names[0]], progress=False)
    assert cv2.getNumThreads() == before  # an in-process run restores the caller's threads
    assert run.ok and run.partial and run.manifest["sequences"]["expected"] == 3
    assert run.manifest["threads"] == 2
    rest = run_eval("kcf", "synthetic-lasot", workspace=load_workspace(ws), jobs=2, progress=False)
    assert rest.skipped == [names[0]] and sorted(rest.done) == names[1:] and rest.complete


def _claim(devices, slots_dir, out, release):
    from mfv2bench.runner import worker

    out.put(worker._claim_device(devices, slots_dir))
    release.wait(10)


def test_each_worker_process_takes_its_own_device(tmp_path):
    """--device cuda:0,cuda:1: one worker per GPU via slot locks held for the process's life
    (only the assignment is checked here; no GPU is touched)."""
    import multiprocessing as mp

    ctx = mp.get_context("fork")
    out, release = ctx.Queue(), ctx.Event()
    devices = ("cuda:0", "cuda:1")
    procs = [ctx.Process(target=_claim, args=(devices, str(tmp_path), out, release)) for _ in range(2)]
    for p in procs:
        p.start()
    got = sorted(out.get(timeout=20) for _ in procs)
    release.set()
    for p in procs:
        p.join(10)
    assert got == ["cuda:0", "cuda:1"]
    # both processes gone: their slots are free again
    proc = ctx.Process(target=_claim, args=(devices, str(tmp_path), out, release))
    proc.start()
    assert out.get(timeout=20) == "cuda:0"
    proc.join(10)


@pytest.mark.slow  # end-to-end with worker processes (> 1 s)
def test_missing_sequences_on_disk_need_allow_partial(ws):
    make_synthetic(ws, "lasot", n_sequences=3, n_frames=5)
    split = load_split("synthetic-lasot", workspace=load_workspace(ws))
    gone = split.sequences[1]
    shutil.rmtree(Path(gone.frames[0]).parent.parent)
    with pytest.raises(MissingDataError, match="allow-partial"):
        run_eval("kcf", "synthetic-lasot", workspace=load_workspace(ws), progress=False)
    res = CliRunner().invoke(main, ["eval", "-t", "kcf", "-d", "synthetic-lasot", "-j", "1",
                                    "--allow-partial"])
    assert res.exit_code == 0 and "PARTIAL" in res.output and "not on disk" in res.output
    m = json.loads((ws / "results" / "kcf" / "synthetic-lasot-test" / "run.json").read_text())
    assert m["partial"] and m["sequences"]["missing_on_disk"] == [gone.name]
