"""Runner hardening (issue 11): nothing silently wrong (coverage of the official split, ground truth
changed since a run), nothing hung (timeouts, Dask scheduler bounds), nothing left behind
(SIGTERM, kill -9, native crashes), and one clear line instead of a traceback."""

from __future__ import annotations

import errno
import json
import os
import shutil
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from hardening_trackers import write_spec
from mfv2bench.cli import main
from mfv2bench.datasets.registry import load_split, official_names
from mfv2bench.errors import ConfigError
from mfv2bench.results import manifest as mf
from mfv2bench.results.store import ResultsStore, StoreLock
from mfv2bench.runner.backends import parse_scheduler, probe_scheduler
from mfv2bench.runner.evaluate import DiskWriteError, run_eval
from mfv2bench.workspace import load_workspace
from runner_helpers import line_count, make_synthetic, write_scripted_spec

TESTS_DIR = Path(__file__).resolve().parent
REPO_TRACKERS = TESTS_DIR.parent / "trackers"
SPLIT_KEY = "synthetic-lasot-test"


@pytest.fixture
def ws(workspace):
    shutil.copy(REPO_TRACKERS / "kcf.toml", workspace / "trackers" / "kcf.toml")
    return workspace


def _boxes(ws_root: Path, dataset: str = "synthetic-lasot") -> dict[str, np.ndarray]:
    split = load_split(dataset, workspace=load_workspace(ws_root))
    return {s.name: s.init_box for s in split.sequences}


def _manifest(ws_root: Path, tracker: str, key: str = SPLIT_KEY) -> dict:
    return json.loads((ws_root / "results" / tracker / key / "run.json").read_text())


def _eval(ws_root: Path, *args: str):
    return CliRunner().invoke(main, ["eval", *args])


# -- coverage: results on anything but the whole official split are marked ----------------------
@pytest.mark.slow  # end-to-end with worker processes (> 1 s)
def test_sequences_subset_is_marked_subset_until_the_rest_is_done(ws):
    make_synthetic(ws, "lasot", n_sequences=3, n_frames=5)
    names = sorted(_boxes(ws))
    run = run_eval("kcf", "synthetic-lasot", workspace=load_workspace(ws), jobs=1,
                   sequences=names[:1], progress=False)
    m = run.manifest
    assert mf.coverage(m) == mf.SUBSET and run.coverage == "subset" and not mf.is_full(m)
    assert m["complete"] is False and m["partial"] is True
    assert mf.sequences_expected(m) == 3 and mf.sequences_done(m) == 1
    assert any("--sequences" in r for r in mf.coverage_reasons(m))
    assert run.summary()["partial"] is True  # was reported "partial": false before
    rest = run_eval("kcf", "synthetic-lasot", workspace=load_workspace(ws), jobs=2, progress=False)
    assert mf.coverage(rest.manifest) == mf.FULL and mf.coverage_reasons(rest.manifest) == []
    assert mf.sequences_done(rest.manifest) == 3


def _official_lasot_root(tmp: Path, k: int = 3) -> tuple[Path, list[str]]:
    """A LaSOT-layout root whose own testing_set.txt names only ``k`` official test sequences."""
    synth = tmp / "synth"
    made = make_synthetic_at(synth, k)
    official = official_names("lasot")[:k]
    root = tmp / "lasot"
    for (cls, name), target in zip(made, official):
        dest = root / target.split("-", 1)[0] / target
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(synth / cls / name), dest)
    (root / "testing_set.txt").write_text("\n".join(official) + "\n")
    return root, official


def make_synthetic_at(root: Path, k: int) -> list[tuple[str, str]]:
    from mfv2bench.datasets.synthetic import write_synthetic

    names = write_synthetic("lasot", root, n_sequences=k, n_frames=5, size=(96, 72), seed=2)
    return [(n.split("-", 1)[0], n) for n in names]


@pytest.mark.slow  # end-to-end with worker processes (> 1 s)
def test_lasot_root_listing_three_sequences_is_a_subset_not_complete(ws, tmp_path):
    root, official = _official_lasot_root(tmp_path)
    res = _eval(ws, "-t", "kcf", "-d", "lasot", "--root", str(root), "-j", "1", "--no-metrics")
    assert res.exit_code == 0, res.output
    assert "SUBSET" in res.output and "COMPLETE" not in res.output
    m = _manifest(ws, "kcf", "lasot-test")
    assert m["coverage"] == "subset" and m["complete"] is False
    assert m["sequences_expected"] == 280 and m["sequences_done"] == 3
    assert "root list names 3 of the 280 official sequences" in m["subset"]
    assert m["sequences"]["official"] == "package"


@pytest.mark.slow  # end-to-end with worker processes (> 1 s)
def test_allow_partial_is_partial_with_its_reason(ws):
    make_synthetic(ws, "lasot", n_sequences=3, n_frames=5)
    split = load_split("synthetic-lasot", workspace=load_workspace(ws))
    shutil.rmtree(Path(split.sequences[0].frames[0]).parent.parent)
    run = run_eval("kcf", "synthetic-lasot", workspace=load_workspace(ws), jobs=1,
                   allow_partial=True, progress=False)
    assert run.coverage == "partial"
    assert any("missing on disk" in r for r in mf.coverage_reasons(run.manifest))


def test_coverage_accessors_read_old_and_odd_manifests():
    assert mf.coverage(None) is None and not mf.is_full(None)
    assert mf.coverage({"complete": True}) == "full"  # written before coverage was recorded
    assert mf.coverage({"complete": False, "partial": True}) == "partial"
    assert mf.coverage({"coverage": "bogus", "complete": False}) == "partial"
    assert mf.sequences_expected({"sequences": {"expected": 7, "done": 2}}) == 7
    assert mf.sequences_done({"sequences": {"expected": 7, "done": 2}}) == 2
    assert mf.sequences_expected({"sequences": "oops"}) is None
    assert mf.coverage_reasons({"complete": False}) == ["not complete"]
    assert mf.annotation_fingerprints({"annotations": "oops"}) == {}


def test_official_names_only_where_a_list_is_shipped():
    assert len(official_names("lasot")) == 280 and len(official_names("lasot-all")) == 1400
    assert len(official_names("got10k-val")) == 180 and len(official_names("trackingnet")) == 511
    assert official_names("synthetic-lasot") is None and official_names("got10k-train") is None


# -- ground truth changed after the run -----------------------------------------------------------
def _gt_file(ws_root: Path, name: str) -> Path:
    return next((ws_root / "datasets" / "synthetic" / "lasot").glob(f"*/{name}/groundtruth.txt"))


def _edit_gt(path: Path, line: int = 3) -> None:
    rows = path.read_text().splitlines()
    x, y, w, h = (float(v) for v in rows[line - 1].split(","))
    rows[line - 1] = f"{x + 3:g},{y},{w},{h}"
    path.write_text("\n".join(rows) + "\n")


@pytest.mark.slow  # end-to-end with worker processes (> 1 s)
def test_changed_ground_truth_is_run_again(ws, caplog):
    make_synthetic(ws, "lasot", n_sequences=2, n_frames=6)
    names = sorted(_boxes(ws))
    first = run_eval("kcf", "synthetic-lasot", workspace=load_workspace(ws), jobs=1, progress=False)
    recorded = mf.annotation_fingerprints(first.manifest)
    assert set(recorded) == set(names) and recorded[names[0]]["frames"] == 6
    _edit_gt(_gt_file(ws, names[0]))
    split = load_split("synthetic-lasot", workspace=load_workspace(ws))
    current = {s.name: mf.annotation_fingerprint(s.gt, s.n_frames) for s in split.sequences}
    assert mf.changed_annotations(first.manifest, current) == [names[0]]  # what metrics check
    again = run_eval("kcf", "synthetic-lasot", workspace=load_workspace(ws), jobs=1, progress=False)
    assert again.done == [names[0]] and again.skipped == [names[1]]
    assert names[0] in caplog.text and "ground truth changed" in caplog.text
    assert mf.changed_annotations(again.manifest, current) == [] and again.complete
    assert again.manifest["runs"][-1]["rerun_changed_ground_truth"] == [names[0]]


@pytest.mark.slow  # end-to-end with worker processes (> 1 s)
def test_changed_ground_truth_outside_a_subset_run_is_not_counted_done(ws):
    make_synthetic(ws, "lasot", n_sequences=2, n_frames=6)
    names = sorted(_boxes(ws))
    run_eval("kcf", "synthetic-lasot", workspace=load_workspace(ws), jobs=1, progress=False)
    _edit_gt(_gt_file(ws, names[0]))
    run = run_eval("kcf", "synthetic-lasot", workspace=load_workspace(ws), jobs=1,
                   sequences=[names[1]], progress=False)
    assert run.coverage == "partial" and mf.sequences_done(run.manifest) == 1
    assert any("ground truth changed" in r and names[0] in r
               for r in mf.coverage_reasons(run.manifest))
    split = load_split("synthetic-lasot", workspace=load_workspace(ws))
    current = {s.name: mf.annotation_fingerprint(s.gt, s.n_frames) for s in split.sequences}
    assert mf.changed_annotations(run.manifest, current) == [names[0]]  # old record kept


def test_fingerprint_follows_values_and_frame_count_not_spelling():
    gt = np.array([[1.0, 2.0, 3.0, 4.0], [1.5, 2.0, 3.0, 4.0]])
    fp = mf.annotation_fingerprint(gt, 2)
    assert fp == mf.annotation_fingerprint(gt.astype(np.float32).astype(np.float64), 2)
    assert fp != mf.annotation_fingerprint(gt, 3)
    assert fp != mf.annotation_fingerprint(gt[:1], 2)
    other = gt.copy()
    other[1, 0] = np.nan
    assert fp != mf.annotation_fingerprint(other, 2)


# -- metrics refusal after the run: the summary is printed first ----------------------------------
@pytest.mark.slow  # end-to-end with worker processes (> 1 s)
def test_run_summary_printed_when_the_metrics_step_refuses(ws):
    make_synthetic(ws, "lasot", n_sequences=2, n_frames=6)
    names = sorted(_boxes(ws))
    gt = _gt_file(ws, names[0])
    rows = gt.read_text().splitlines()
    rows[2] = "nan,nan,nan,nan"
    gt.write_text("\n".join(rows) + "\n")
    res = _eval(ws, "-t", "kcf", "-d", "synthetic-lasot", "-j", "1")
    assert res.exit_code == 2, res.output
    assert "kcf on synthetic-lasot-test: ran 2" in res.output and "COMPLETE" in res.output
    assert "no metrics:" in res.output and "NaN" in res.output
    assert "Traceback" not in res.output
    res = _eval(ws, "-t", "kcf", "-d", "synthetic-lasot", "-j", "1", "--json")
    assert res.exit_code == 2
    out = json.loads(res.output[:res.output.rindex("}") + 1])
    assert out["metrics"] is None and "NaN" in out["metrics_error"] and out["ran"] == 0


# -- hangs: per-frame / per-sequence timeouts -----------------------------------------------------
@pytest.mark.slow  # end-to-end with worker processes (> 1 s)
@pytest.mark.parametrize("jobs", [1, 2])
def test_tracker_stuck_in_python_times_out_the_others_finish(ws, jobs):
    make_synthetic(ws, "lasot", n_sequences=3, n_frames=5)
    boxes = _boxes(ws)
    bad = sorted(boxes)[1]
    write_spec(ws, "busy", "busy", boxes[bad])
    t0 = time.monotonic()
    res = _eval(ws, "-t", "busy", "-d", "synthetic-lasot", "-j", str(jobs), "--no-metrics",
                "--timeout-frame", "1")
    assert res.exit_code == 1, res.output
    assert time.monotonic() - t0 < 60
    assert f"failed sequences: {bad}" in res.output
    log = (ws / "results" / "busy" / SPLIT_KEY / "errors.log").read_text()
    assert "took longer than 1 s (--timeout-frame)" in log and f"sequence {bad}" in log
    m = _manifest(ws, "busy")
    assert m["sequences"]["failed"] == [bad] and m["coverage"] == "partial"
    assert m["runs"][-1]["timeouts"] == {"frame": 1.0, "sequence": None}
    for name in set(boxes) - {bad}:
        assert line_count(ws / "results" / "busy" / SPLIT_KEY / f"{name}.txt") == 5


@pytest.mark.slow  # the stuck worker is killed after a grace period and the pool restarted
def test_tracker_stuck_in_a_blocking_call_is_killed_by_its_worker(ws):
    make_synthetic(ws, "lasot", n_sequences=3, n_frames=5)
    boxes = _boxes(ws)
    bad = sorted(boxes)[0]
    write_spec(ws, "sleeper", "sleep", boxes[bad])
    run = run_eval("sleeper", "synthetic-lasot", workspace=load_workspace(ws), jobs=2,
                   timeout_sequence=1.5, progress=False)
    assert list(run.failed) == [bad] and "--timeout-sequence" in run.failed[bad]
    assert sorted(run.done) == sorted(set(boxes) - {bad})
    log = (run.folder / "errors.log").read_text()
    assert "worker process" in log and "was ended" in log


@pytest.mark.slow  # a Dask LocalCluster (the blocking case kills a worker twice: ~25 s)
@pytest.mark.parametrize("mode,option", [("busy", "timeout_frame"), ("sleep", "timeout_sequence")])
def test_timeout_on_dask(ws, mode, option):
    pytest.importorskip("distributed")
    make_synthetic(ws, "lasot", n_sequences=2, n_frames=5)
    boxes = _boxes(ws)
    bad = sorted(boxes)[0]
    write_spec(ws, mode, mode, boxes[bad])
    run = run_eval(mode, "synthetic-lasot", workspace=load_workspace(ws), jobs=2,
                   backend="dask", progress=False, **{option: 1.0})
    flag = "--" + option.replace("_", "-")
    assert list(run.failed) == [bad] and flag in run.failed[bad], run.failed
    assert run.done == [n for n in boxes if n != bad]


def test_timeout_values_and_tracker_objects_refused(ws):
    make_synthetic(ws, "lasot", n_sequences=1, n_frames=4)
    for opt, value in (("--timeout-frame", "0"), ("--timeout-sequence", "-1"),
                       ("--timeout-frame", "nan"), ("--timeout-sequence", "inf"),
                       ("--scheduler-timeout", "0")):
        res = _eval(ws, "-t", "kcf", "-d", "synthetic-lasot", opt, value)
        assert res.exit_code == 2 and "positive number of seconds" in res.output, (opt, res.output)
    with pytest.raises(ConfigError, match="worker process"):
        run_eval("kcf", "synthetic-lasot", workspace=load_workspace(ws), timeout_frame=1.0,
                 tracker_object=object(), progress=False)


# -- --jobs 1: a native crash costs its sequence, not the run -------------------------------------
@pytest.mark.slow  # end-to-end with worker processes (> 1 s)
def test_native_crash_with_one_job_is_reported_and_the_rest_kept(ws):
    make_synthetic(ws, "lasot", n_sequences=3, n_frames=5)
    boxes = _boxes(ws)
    bad = sorted(boxes)[1]
    write_spec(ws, "aborter", "abort", boxes[bad])
    res = _eval(ws, "-t", "aborter", "-d", "synthetic-lasot", "-j", "1", "--no-metrics")
    assert res.exit_code == 1, res.output
    assert f"failed sequences: {bad}" in res.output
    log = (ws / "results" / "aborter" / SPLIT_KEY / "errors.log").read_text()
    assert f"sequence {bad}" in log and "died" in log
    for name in set(boxes) - {bad}:
        assert line_count(ws / "results" / "aborter" / SPLIT_KEY / f"{name}.txt") == 5
    assert _manifest(ws, "aborter")["status"] == "finished"


# -- Dask scheduler: bounded connect and handshake, clear errors ----------------------------------
class _Server:
    """A TCP server on 127.0.0.1 that accepts and then stays silent or sends ``reply``; it stops
    itself after ``life`` seconds whatever happens."""

    def __init__(self, reply: bytes | None = None, life: float = 20.0):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(4)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.reply = reply
        self.deadline = time.monotonic() + life
        self.conns: list[socket.socket] = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while time.monotonic() < self.deadline:
            try:
                conn, _ = self.sock.accept()
            except (socket.timeout, OSError):
                continue
            self.conns.append(conn)
            if self.reply is not None:
                try:
                    conn.sendall(self.reply)
                except OSError:
                    pass
        self.close()

    def close(self) -> None:
        self.deadline = 0
        for c in self.conns:
            c.close()
        self.sock.close()

    def __enter__(self) -> "_Server":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


@pytest.mark.parametrize("reply,match", [(None, "sent no Dask handshake"),
                                         (b"\xff" * 64, "not as a Dask scheduler"),
                                         (b"HTTP/1.1 200 OK\r\n\r\nhello", "not as a Dask scheduler")])
@pytest.mark.slow  # end-to-end with worker processes (> 1 s)
def test_scheduler_that_hangs_or_is_not_dask_is_one_clear_error(ws, reply, match):
    make_synthetic(ws, "lasot", n_sequences=1, n_frames=4)
    with _Server(reply) as server:
        t0 = time.monotonic()
        res = _eval(ws, "-t", "kcf", "-d", "synthetic-lasot", "--backend", "dask",
                    "--scheduler", f"tcp://127.0.0.1:{server.port}", "--scheduler-timeout", "1")
        assert time.monotonic() - t0 < 30
    assert res.exit_code == 2, res.output
    assert match in res.output and "Traceback" not in res.output
    assert not (ws / "results" / "kcf").exists()  # refused before any sequence


def test_closed_port_is_one_clear_error():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    with pytest.raises(ConfigError, match="cannot reach the Dask scheduler"):
        probe_scheduler(f"127.0.0.1:{port}", 1.0)


@pytest.mark.parametrize("address", ["not a url", "", "tcp://host", "tcp://host:99999",
                                     "ftp://host:21", "tcp://:8786", "tcp://h:port",
                                     "tcp://h:8786/path"])
def test_scheduler_address_refused_before_anything(ws, address):
    make_synthetic(ws, "lasot", n_sequences=1, n_frames=4)
    res = _eval(ws, "-t", "kcf", "-d", "synthetic-lasot", "--backend", "dask",
                "--scheduler", address)
    assert res.exit_code == 2 and "Traceback" not in res.output, res.output
    assert "--scheduler" in res.output


def test_scheduler_address_forms_accepted():
    assert parse_scheduler("tcp://10.0.0.1:8786") == ("tcp", "10.0.0.1", 8786)
    assert parse_scheduler("node7:8786") == ("tcp", "node7", 8786)
    assert parse_scheduler("tls://[::1]:8786") == ("tls", "::1", 8786)


# -- SIGTERM, kill -9 and stale "running" manifests ------------------------------------------------
def _spawn_eval(ws_root: Path, tracker: str, jobs: int) -> subprocess.Popen:
    env = dict(os.environ, MFV2BENCH_WORKSPACE=str(ws_root), PYTHONPATH=str(TESTS_DIR),
               OMP_NUM_THREADS="1")
    return subprocess.Popen([sys.executable, "-m", "mfv2bench.cli", "eval", "-t", tracker, "-d",
                             "synthetic-lasot", "-j", str(jobs), "--no-metrics"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)


def _children(pid: int) -> list[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True)
    return [int(p) for p in out.stdout.split()]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie is dead
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return False


def _wait_for_results(proc, folder: Path, names: set[str], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if folder.is_dir() and any(p.name[:-4] in names for p in folder.glob("*.txt")):
            return
        if proc.poll() is not None:
            pytest.fail(f"eval ended early: {proc.communicate()}")
        time.sleep(0.02)
    pytest.fail("no result appeared")


@pytest.mark.slow  # a real eval subprocess with workers, stopped by SIGTERM
def test_sigterm_stops_workers_keeps_results_marks_interrupted(workspace):
    make_synthetic(workspace, "lasot", n_sequences=5, n_frames=12)
    write_scripted_spec(workspace, "slow", delay=0.05)
    names = set(_boxes(workspace))
    folder = workspace / "results" / "slow" / SPLIT_KEY
    proc = _spawn_eval(workspace, "slow", 2)
    _wait_for_results(proc, folder, names)
    workers = _children(proc.pid)
    assert workers, "the eval has worker processes"
    os.kill(proc.pid, signal.SIGTERM)  # to the eval only, as `kill PID` does
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, (out, err)
    assert "SIGTERM" in err and "resume" in err
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and any(map(_alive, workers)):
        time.sleep(0.1)
    assert not [p for p in workers if _alive(p)], "worker processes outlived the eval"
    m = json.loads((folder / "run.json").read_text())
    assert m["status"] == "interrupted" and m["coverage"] == "partial"
    assert m["runs"][-1]["interrupted"] is True
    for p in folder.glob("*.txt"):
        if p.name[:-4] in names:
            assert line_count(p) == 12
    assert not list(folder.glob(".tmp-*"))


@pytest.mark.slow  # a real eval subprocess killed with SIGKILL
def test_kill9_leaves_running_manifest_marked_interrupted_by_the_next_reader(workspace):
    make_synthetic(workspace, "lasot", n_sequences=4, n_frames=12)
    write_scripted_spec(workspace, "slow", delay=0.05)
    names = set(_boxes(workspace))
    folder = workspace / "results" / "slow" / SPLIT_KEY
    proc = _spawn_eval(workspace, "slow", 2)
    _wait_for_results(proc, folder, names)
    workers = _children(proc.pid)
    os.kill(proc.pid, signal.SIGKILL)  # the eval only: its workers notice and end themselves
    proc.communicate(timeout=30)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and any(map(_alive, workers)):
        time.sleep(0.1)
    left = [p for p in workers if _alive(p)]
    for pid in left:  # never leave them behind, even when the assertion fails
        os.kill(pid, signal.SIGKILL)
    assert not left, "worker processes outlived a killed eval"
    assert json.loads((folder / "run.json").read_text())["status"] == "running"
    res = CliRunner().invoke(main, ["results", "list"])
    assert res.exit_code == 0, res.output
    m = json.loads((folder / "run.json").read_text())
    assert m["status"] == "interrupted" and mf.coverage(m) == "partial"
    assert "killed" in m["interrupted_note"]
    again = CliRunner().invoke(main, ["eval", "-t", "slow", "-d", "synthetic-lasot", "-j", "1",
                                      "--no-metrics"])
    assert again.exit_code == 0 and "COMPLETE" in again.output, again.output
    m = json.loads((folder / "run.json").read_text())
    assert all(r["finished"] for r in m["runs"][-1:]) and m["runs"][0]["interrupted"] is True


def test_running_manifest_is_left_alone_while_its_eval_holds_the_lock(tmp_path):
    store = ResultsStore(tmp_path)
    store.write_manifest("t", "s-test", {"status": "running", "complete": False, "runs": [{}]})
    with StoreLock(store.sequence_dir("t", "s-test")):
        assert store.read_manifest("t", "s-test")["status"] == "running"
    m = store.read_manifest("t", "s-test")  # lock released: nobody is running it
    assert m["status"] == "interrupted" and m["runs"][-1]["interrupted"] is True
    assert json.loads(store.manifest_path("t", "s-test").read_text())["status"] == "interrupted"
    (store.sequence_dir("t", "s-test") / ".lock").unlink()  # no lock file at all: stale as well
    store.write_manifest("t", "s-test", {"status": "running"})
    assert store.read_manifest("t", "s-test")["status"] == "interrupted"


# -- tracebacks become one line --------------------------------------------------------------------
def test_run_folder_path_that_is_a_file(ws):
    make_synthetic(ws, "lasot", n_sequences=1, n_frames=4)
    (ws / "results" / "kcf").write_text("not a folder")
    res = _eval(ws, "-t", "kcf", "-d", "synthetic-lasot", "-j", "1")
    assert res.exit_code == 2 and "is a file, not a folder" in res.output, res.output
    (ws / "results" / "kcf").unlink()
    (ws / "results" / "kcf").mkdir()
    (ws / "results" / "kcf" / SPLIT_KEY).write_text("")
    res = _eval(ws, "-t", "kcf", "-d", "synthetic-lasot", "-j", "1")
    assert res.exit_code == 2 and "is a file, not a folder" in res.output, res.output


def test_too_many_threads_is_bounded_by_the_cores(ws):
    make_synthetic(ws, "lasot", n_sequences=1, n_frames=4)
    res = _eval(ws, "-t", "kcf", "-d", "synthetic-lasot", "--threads", "100000")
    assert res.exit_code == 2 and "core" in res.output and "Traceback" not in res.output


@pytest.mark.slow  # end-to-end with worker processes (> 1 s)
def test_disk_full_keeps_finished_results_and_says_so(ws, monkeypatch):
    make_synthetic(ws, "lasot", n_sequences=3, n_frames=5)
    real = ResultsStore.write_sequence
    calls = []

    def full_after_one(self, *args, **kw):
        calls.append(args[2])
        if len(calls) > 1:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(self, *args, **kw)

    monkeypatch.setattr(ResultsStore, "write_sequence", full_after_one)
    with pytest.raises(DiskWriteError, match="disk is full") as info:
        run_eval("kcf", "synthetic-lasot", workspace=load_workspace(ws), jobs=1, progress=False)
    assert "1 finished sequence(s) are kept" in str(info.value)
    folder = ws / "results" / "kcf" / SPLIT_KEY
    assert line_count(folder / f"{calls[0]}.txt") == 5
    m = json.loads((folder / "run.json").read_text())
    assert m["status"] == "interrupted" and m["sequences_done"] == 1
    monkeypatch.setattr(ResultsStore, "write_sequence", full_after_one)
    calls.clear()
    calls.append("x")  # every write fails now: through the CLI, one line, exit 2
    res = _eval(ws, "-t", "kcf", "-d", "synthetic-lasot", "-j", "1")
    assert res.exit_code == 2 and "disk is full" in res.output and "Traceback" not in res.output


@pytest.mark.slow  # end-to-end with worker processes (> 1 s)
def test_disk_full_at_the_final_manifest_is_one_line(ws, monkeypatch):
    make_synthetic(ws, "lasot", n_sequences=1, n_frames=4)
    real = ResultsStore.write_manifest
    state = {"n": 0}

    def manifest_fails_at_the_end(self, *args, **kw):
        state["n"] += 1
        if state["n"] > 1:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(self, *args, **kw)

    monkeypatch.setattr(ResultsStore, "write_manifest", manifest_fails_at_the_end)
    with pytest.raises(DiskWriteError, match="run.json.*disk is full"):
        run_eval("kcf", "synthetic-lasot", workspace=load_workspace(ws), jobs=1, progress=False)


@pytest.mark.slow  # end-to-end with worker processes (> 1 s)
@pytest.mark.parametrize("umask,mode", [(0o022, 0o644), (0o002, 0o664), (0o077, 0o600)])
def test_result_files_follow_the_umask_like_the_rest_of_the_store(ws, umask, mode):
    make_synthetic(ws, "lasot", n_sequences=1, n_frames=4)
    old = os.umask(umask)
    try:
        run = run_eval("kcf", "synthetic-lasot", workspace=load_workspace(ws), jobs=1,
                       progress=False)
    finally:
        os.umask(old)
    files = [p for p in run.folder.iterdir() if p.name.endswith((".txt", ".json"))]
    assert len(files) >= 3
    for p in files:
        assert stat.S_IMODE(p.stat().st_mode) == mode, p


@pytest.mark.slow  # end-to-end with worker processes (> 1 s)
def test_a_reader_holding_the_lock_briefly_does_not_refuse_an_eval(tmp_path):
    folder = tmp_path / "t" / "s-test"
    holder = StoreLock(folder).acquire()
    threading.Timer(0.3, holder.release).start()
    with StoreLock(folder):  # waits for the short hold instead of refusing
        pass
    with StoreLock(folder):
        with pytest.raises(ConfigError, match="another eval is writing"):
            StoreLock(folder).acquire()


@pytest.mark.slow  # end-to-end with worker processes (> 1 s)
@pytest.mark.parametrize("first", ["nan,nan,nan,nan", "10,10,0,5", "10,10,inf,5"])
def test_unusable_first_box_fails_its_sequence_with_the_annotation_named(ws, first):
    make_synthetic(ws, "lasot", n_sequences=2, n_frames=5)
    names = sorted(_boxes(ws))
    gt = _gt_file(ws, names[0])
    rows = gt.read_text().splitlines()
    rows[0] = first
    gt.write_text("\n".join(rows) + "\n")
    res = _eval(ws, "-t", "kcf", "-d", "synthetic-lasot", "-j", "1", "--no-metrics")
    assert res.exit_code == 1 and f"failed sequences: {names[0]}" in res.output, res.output
    log = (ws / "results" / "kcf" / SPLIT_KEY / "errors.log").read_text()
    assert "first ground-truth box" in log and "groundtruth.txt" in log
    assert line_count(ws / "results" / "kcf" / SPLIT_KEY / f"{names[1]}.txt") == 5


@pytest.mark.slow  # a real eval subprocess, stopped by SIGHUP (a closed terminal)
def test_sighup_stops_like_sigterm(workspace):
    make_synthetic(workspace, "lasot", n_sequences=3, n_frames=12)
    write_scripted_spec(workspace, "slow", delay=0.05)
    names = set(_boxes(workspace))
    folder = workspace / "results" / "slow" / SPLIT_KEY
    proc = _spawn_eval(workspace, "slow", 1)
    _wait_for_results(proc, folder, names)
    workers = _children(proc.pid)
    os.kill(proc.pid, signal.SIGHUP)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 129 and "SIGHUP" in err, (out, err)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and any(map(_alive, workers)):
        time.sleep(0.1)
    assert not [p for p in workers if _alive(p)]
    assert json.loads((folder / "run.json").read_text())["status"] == "interrupted"


def test_official_names_of_the_reference_layouts():
    assert len(official_names("otb100")) == 100 and len(official_names("uav123")) == 123
    assert len(official_names("tnl2k")) == 700 and official_names("synthetic-otb100") is None


@pytest.mark.slow  # end-to-end with worker processes (> 1 s)
def test_results_from_before_fingerprints_are_fingerprinted_at_resume(ws):
    make_synthetic(ws, "lasot", n_sequences=2, n_frames=5)
    names = sorted(_boxes(ws))
    run = run_eval("kcf", "synthetic-lasot", workspace=load_workspace(ws), jobs=1,
                   sequences=names[:1], progress=False)
    legacy = dict(run.manifest)
    legacy.pop("annotations")
    for key in ("coverage", "subset", "sequences_expected", "sequences_done"):
        legacy.pop(key)
    (run.folder / "run.json").write_text(json.dumps(legacy))
    assert mf.coverage(legacy) == "partial"  # read by the old rule
    again = run_eval("kcf", "synthetic-lasot", workspace=load_workspace(ws), jobs=1,
                     progress=False)
    recorded = mf.annotation_fingerprints(again.manifest)
    assert recorded[names[0]]["recorded"] == "at resume" and "recorded" not in recorded[names[1]]
    _edit_gt(_gt_file(ws, names[0]))
    third = run_eval("kcf", "synthetic-lasot", workspace=load_workspace(ws), jobs=1,
                     progress=False)
    assert third.done == [names[0]]
