"""Scripted trackers for the runner tests (built through the ``python`` spec kind).

The tracker never learns the sequence name, so tests pick the sequence to fail on by its
first-frame box (``fail_box`` / ``kill_box``)."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import numpy as np

from mfv2bench.datasets.synthetic import write_synthetic
from mfv2bench.trackers.base import TrackOutput


class ScriptedTracker:
    def __init__(self, name: str, delay: float = 0.0, fail_box=None, kill_box=None,
                 kill_marker: str | None = None):
        self.name = name
        self.delay = float(delay)
        self.fail_box = None if fail_box is None else np.asarray(fail_box, dtype=float)
        self.kill_box = None if kill_box is None else np.asarray(kill_box, dtype=float)
        self.kill_marker = kill_marker
        self.box = np.zeros(4)
        self.frame = 0
        self.mode = None

    def initialize(self, image, box) -> None:
        self.box = np.asarray(box, dtype=float)
        self.frame = 0
        self.mode = None
        if self.fail_box is not None and np.allclose(self.box, self.fail_box):
            self.mode = "fail"
        if self.kill_box is not None and np.allclose(self.box, self.kill_box):
            self.mode = "kill"

    def track(self, image) -> TrackOutput:
        self.frame += 1
        if self.delay:
            time.sleep(self.delay)
        if self.mode == "fail" and self.frame == 3:
            raise ValueError("scripted failure on frame 3")
        if self.mode == "kill" and self.frame == 2:
            if self.kill_marker is not None:  # kill only once: the retry then finishes
                if Path(self.kill_marker).exists():
                    return TrackOutput(box=self.box + self.frame, score=0.5)
                Path(self.kill_marker).touch()
            os.kill(os.getpid(), signal.SIGKILL)
        return TrackOutput(box=self.box + 0.25 * self.frame, score=1.0 / (1 + self.frame))


def build(name: str, device: str = "cpu", **params) -> ScriptedTracker:
    return ScriptedTracker(name, **params)


def toml_value(v) -> str:
    if isinstance(v, str):
        return '"' + v + '"'
    if isinstance(v, (list, tuple, np.ndarray)):
        return "[" + ", ".join(repr(float(x)) for x in v) + "]"
    return repr(v)


def write_scripted_spec(workspace: Path, name: str, **params) -> None:
    lines = ['kind = "python"', "[model]", 'factory = "runner_helpers:build"', "[params]"]
    lines += [f"{k} = {toml_value(v)}" for k, v in params.items() if v is not None]
    (workspace / "trackers" / f"{name}.toml").write_text("\n".join(lines) + "\n")


def make_synthetic(workspace: Path, fmt: str = "lasot", n_sequences: int = 3, n_frames: int = 8,
                   splits=None) -> list[str]:
    """A tiny synthetic tree at the workspace's default root of ``synthetic-<fmt>``."""
    root = workspace / "datasets" / "synthetic" / fmt
    return write_synthetic(fmt, root, n_sequences=n_sequences, n_frames=n_frames,
                           size=(96, 72), seed=1, splits=splits)


def line_count(path: Path) -> int:
    return sum(1 for line in path.read_text().splitlines() if line.strip())
