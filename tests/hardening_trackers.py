"""Trackers that misbehave on one chosen sequence (picked by its first-frame box): hang in Python,
hang in a blocking call, or crash the process natively. Built through the ``python`` spec kind,
so worker processes import this module by name (tests/ is on their path)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np

from mfv2bench.trackers.base import TrackOutput


class Misbehaving:
    def __init__(self, mode: str, bad_box=None, on_frame: int = 2):
        self.mode = mode
        self.bad_box = None if bad_box is None else np.asarray(bad_box, dtype=float)
        self.on_frame = int(on_frame)
        self.box = np.zeros(4)
        self.frame = 0
        self.bad = False

    def initialize(self, image, box) -> None:
        self.box = np.asarray(box, dtype=float)
        self.frame = 0
        self.bad = self.bad_box is not None and np.allclose(self.box, self.bad_box)

    def track(self, image) -> TrackOutput:
        self.frame += 1
        if self.bad and self.frame == self.on_frame:
            if self.mode == "busy":  # stuck in Python code
                while True:
                    sum(range(1000))
            if self.mode == "sleep":  # stuck in a blocking call (native code)
                time.sleep(3600)
            if self.mode == "abort":  # a native crash
                os.abort()
        return TrackOutput(box=self.box + 0.5 * self.frame, score=0.9)


def build(name: str, device: str = "cpu", **params) -> Misbehaving:
    return Misbehaving(**params)


def write_spec(workspace: Path, name: str, mode: str, bad_box, on_frame: int = 2) -> None:
    box = "[" + ", ".join(repr(float(x)) for x in bad_box) + "]"
    (workspace / "trackers" / f"{name}.toml").write_text(
        f'kind = "python"\n[model]\nfactory = "hardening_trackers:build"\n[params]\n'
        f'mode = "{mode}"\nbad_box = {box}\non_frame = {on_frame}\n')
