"""What runs inside a worker process (joblib/loky or a Dask worker): the tracker is built once per
process and reused for every sequence; threads are pinned; with several GPUs each worker process
takes one device for its whole life."""

from __future__ import annotations

import fcntl
import os
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from ..datasets.base import Sequence
from ..devices import use_device
from ..threads import set_threads
from ..trackers.specs import ResolvedSpec, build_tracker
from .sequence import SequenceResult, run_sequence


@dataclass
class Task:
    """One sequence to run, with everything a fresh worker process needs to build the tracker."""

    index: int
    seq: Sequence
    spec: ResolvedSpec
    devices: tuple[str, ...]
    threads: int
    prefetch: int = 4
    claims_dir: str | None = None  # in-flight markers (joblib: tells which sequence a dead worker held)
    slots_dir: str | None = None  # one lock file per device (several GPUs)
    progress_dir: str | None = None  # frames done so far, for the parent's progress bar


# Per-process state: the tracker built for (spec hash, devices), and the device slot held.
_STATE: dict[str, Any] = {"key": None, "tracker": None, "device": None, "slot_fd": None}


def _claim_device(devices: tuple[str, ...], slots_dir: str | None) -> str:
    """One device per worker process: the first device whose slot lock is free. The lock is held
    until the process exits, so a replacement for a dead worker takes the freed device."""
    if len(devices) == 1 or slots_dir is None:
        return devices[0]
    if _STATE["device"] is not None:
        return _STATE["device"]
    for i, dev in enumerate(devices):
        fd = os.open(os.path.join(slots_dir, f"slot-{i}"), os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            continue
        _STATE["slot_fd"], _STATE["device"] = fd, dev
        return dev
    raise RuntimeError(f"no free device among {list(devices)} for worker pid {os.getpid()}")


def tracker_for(task: Task) -> tuple[Any, str]:
    """The tracker of this process, built on first use (and rebuilt only if the spec changed)."""
    device = _claim_device(task.devices, task.slots_dir)
    key = (task.spec.name, task.spec.hash, device)
    if _STATE["key"] != key:
        set_threads(task.threads)
        use_device(device)
        _STATE["tracker"] = None
        _STATE["tracker"] = build_tracker(task.spec, device=device)
        _STATE["key"] = key
    return _STATE["tracker"], device


def use_tracker(spec: ResolvedSpec, device: str, tracker: Any) -> None:
    """Adopt a tracker the parent already built (sequential runs reuse the fail-fast build)."""
    _STATE["key"] = (spec.name, spec.hash, device)
    _STATE["tracker"] = tracker


def progress_writer(path: str, every: float = 0.5) -> Callable[[int], None]:
    """``on_frame`` that writes the frames done to ``path`` at most every ``every`` seconds
    (one clock read per frame otherwise)."""
    last = [time.monotonic()]

    def on_frame(i: int) -> None:
        now = time.monotonic()
        if now - last[0] >= every:
            last[0] = now
            with open(path, "w", encoding="ascii") as f:
                f.write(str(i + 1))

    return on_frame


def execute(task: Task, on_frame: Callable[[int], None] | None = None) -> SequenceResult:
    """Run one sequence; any exception (tracker build included) comes back as ``error``.
    ``on_frame(i)`` is called after each frame (in-process runs: a frame-level progress bar)."""
    claim = None
    if task.claims_dir:
        claim = Path(task.claims_dir) / f"{task.index}.{os.getpid()}"
        claim.touch()
    try:
        try:
            tracker, device = tracker_for(task)
        except Exception:
            import traceback

            return SequenceResult(task.seq.name, error=f"building the tracker failed in worker "
                                  f"pid {os.getpid()}\n{traceback.format_exc()}")
        if on_frame is None and task.progress_dir:
            on_frame = progress_writer(os.path.join(task.progress_dir, str(task.index)))
        result = run_sequence(tracker, task.seq, prefetch=task.prefetch, on_frame=on_frame)
        result.worker = {"pid": os.getpid(), "host": socket.gethostname(), "device": device}
        return result
    finally:
        if claim is not None:
            claim.unlink(missing_ok=True)
