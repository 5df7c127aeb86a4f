"""Ctrl-C (SIGINT to the process group of a real `mfv2bench eval`) leaves only complete files,
releases the lock, and a rerun resumes where it stopped."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mfv2bench.datasets.registry import load_split
from mfv2bench.workspace import load_workspace
from runner_helpers import line_count, make_synthetic, write_scripted_spec

TESTS_DIR = Path(__file__).resolve().parent


def _eval(ws: Path, jobs: int, **kw) -> subprocess.Popen:
    env = dict(os.environ, MFV2BENCH_WORKSPACE=str(ws), PYTHONPATH=str(TESTS_DIR),
               OMP_NUM_THREADS="1")
    # SIGINT back to its default in the child: a test run started in the background of a
    # non-interactive shell inherits SIGINT ignored, and an ignored Ctrl-C stays ignored
    return subprocess.Popen([sys.executable, "-m", "mfv2bench.cli", "eval", "-t", "slow", "-d",
                             "synthetic-lasot", "-j", str(jobs), "--no-metrics"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL), **kw)


@pytest.mark.slow  # subprocesses interrupted mid-run (~5-15 s)
@pytest.mark.parametrize("jobs", [1, 2])
def test_sigint_leaves_only_complete_files_and_resumes(workspace, jobs):
    make_synthetic(workspace, "lasot", n_sequences=5, n_frames=12)
    write_scripted_spec(workspace, "slow", delay=0.04)
    split = load_split("synthetic-lasot", workspace=load_workspace(workspace))
    lengths = {s.name: s.n_frames for s in split.sequences}
    folder = workspace / "results" / "slow" / "synthetic-lasot-test"
    proc = _eval(workspace, jobs, start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if folder.is_dir() and any(p.name[:-4] in lengths for p in folder.glob("*.txt")):
            break
        if proc.poll() is not None:
            pytest.fail(f"eval ended early: {proc.communicate()}")
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGINT)  # what a terminal's Ctrl-C does
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, (out, err)
    assert "rerun" in err or "resume" in err
    names = [p.name for p in folder.iterdir()]
    assert not [n for n in names if n.startswith(".tmp-")]
    finished = [n[:-4] for n in names if n.endswith(".txt") and n[:-4] in lengths]
    assert 1 <= len(finished) < len(lengths)
    for seq in finished:  # every boxes file present is complete, with its times
        assert line_count(folder / f"{seq}.txt") == lengths[seq]
        assert line_count(folder / f"{seq}_time.txt") == lengths[seq]
    manifest = json.loads((folder / "run.json").read_text())
    assert manifest["status"] == "interrupted" and manifest["partial"]
    again = _eval(workspace, jobs)
    out, err = again.communicate(timeout=120)
    assert again.returncode == 0, (out, err)  # the lock was released
    assert f"already complete {len(finished)}" in out and "COMPLETE" in out
