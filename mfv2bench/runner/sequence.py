"""Running one tracker over one sequence: frames are decoded ahead in a background thread, so
decoding overlaps the tracker's compute, and only the tracker's own calls are timed."""

from __future__ import annotations

import queue
import threading
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence as Seq

import numpy as np

from ..datasets.base import Sequence
from ..datasets.images import read_rgb

_END = object()


class FramePrefetcher:
    """Iterates decoded RGB frames, decoding up to ``depth`` frames ahead in a daemon thread.

    A decode error is re-raised in the consumer at the frame where it happened. ``close`` stops
    the thread early (a tracker that raised mid-sequence)."""

    def __init__(self, paths: Seq[Path | str], depth: int = 4,
                 reader: Callable[[Path | str], np.ndarray] = read_rgb):
        self._paths = paths
        self._reader = reader
        self._queue: queue.Queue = queue.Queue(maxsize=max(1, depth))
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._work, name="frame-prefetch", daemon=True)
        self._thread.start()

    def _put(self, item: Any) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _work(self) -> None:
        try:
            for path in self._paths:
                if self._stop.is_set():
                    return
                if not self._put(self._reader(path)):
                    return
        except BaseException as exc:  # handed to the consumer
            self._put(exc)
            return
        self._put(_END)

    def __iter__(self) -> Iterator[np.ndarray]:
        while True:
            item = self._queue.get()
            if item is _END:
                return
            if isinstance(item, BaseException):
                raise item
            yield item

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def __enter__(self) -> "FramePrefetcher":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


@dataclass
class SequenceResult:
    """What one sequence run returns to the runner (small: arrays of N rows)."""

    name: str
    boxes: np.ndarray | None = None
    times: np.ndarray | None = None
    scores: list[float | None] | None = None
    error: str | None = None  # formatted traceback when the tracker (or decoding) raised
    wall: float = 0.0  # seconds for the whole sequence, decode included
    worker: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.error is None


def init_box_problem(box: Any) -> str | None:
    """What makes a first-frame box unusable (None: usable): NaN/inf, or no positive size."""
    arr = np.asarray(box, dtype=np.float64).reshape(-1)
    shown = "(" + ", ".join(f"{v:g}" for v in arr) + ")"
    if arr.size != 4:
        return f"{shown} does not have 4 values (x, y, w, h)"
    if not np.isfinite(arr).all():
        return f"{shown} is not finite (NaN or infinity)"
    if arr[2] <= 0 or arr[3] <= 0:
        return f"{shown} has no positive width and height"
    return None


def run_sequence(tracker: Any, seq: Sequence, prefetch: int = 4,
                 on_frame: Callable[[int], None] | None = None) -> SequenceResult:
    """Initialize on frame 0 with the first GT box, then track every later frame.

    Row 0 of the result is the GT box (the toolkits' convention); times[0] is ``initialize``.
    Exceptions from the tracker or a frame are caught and returned as ``error`` with the
    traceback, so one bad sequence never stops the others."""
    n = seq.n_frames
    problem = init_box_problem(seq.init_box)
    if problem is not None:
        return SequenceResult(seq.name, error=f"sequence {seq.name}: the first ground-truth box "
                              f"{problem}, so no tracker can start on it; fix the first line of "
                              "its annotation file (groundtruth.txt)")
    boxes = np.zeros((n, 4), dtype=np.float64)
    times = np.zeros(n, dtype=np.float64)
    scores: list[float | None] = [None] * n
    start = time.perf_counter()
    prefetcher = FramePrefetcher(seq.frames, depth=prefetch)
    i = -1
    try:
        clock = time.perf_counter
        for i, image in enumerate(prefetcher):
            if i == 0:
                init = np.asarray(seq.init_box, dtype=np.float64)
                t0 = clock()
                tracker.initialize(image, init.copy())
                times[0] = clock() - t0
                boxes[0] = init
            else:
                t0 = clock()
                out = tracker.track(image)
                times[i] = clock() - t0
                boxes[i] = np.asarray(out.box, dtype=np.float64).reshape(4)
                scores[i] = None if out.score is None else float(out.score)
            if on_frame is not None:
                on_frame(i)
        if i + 1 != n:
            raise RuntimeError(f"decoded {i + 1} frames, expected {n}")
    except Exception:
        where = f"sequence {seq.name}, frame {i + 1} of {n}" if i >= -1 else seq.name
        return SequenceResult(seq.name, error=f"{where}\n{traceback.format_exc()}",
                              wall=time.perf_counter() - start)
    finally:
        prefetcher.close()
    return SequenceResult(seq.name, boxes=boxes, times=times,
                          scores=scores if any(s is not None for s in scores) else None,
                          wall=time.perf_counter() - start)
