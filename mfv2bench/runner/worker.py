"""What runs inside a worker process (joblib/loky or a Dask worker): the tracker is built once per
process and reused for every sequence; threads are pinned; with several GPUs each worker process
takes one device for its whole life."""

from __future__ import annotations

import ctypes
import fcntl
import logging
import os
import signal
import socket
import sys
import threading
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from ..datasets.base import Sequence
from ..devices import use_device
from ..threads import set_threads
from ..trackers.specs import ResolvedSpec, build_tracker
from .seeding import seed_everything
from .sequence import SequenceResult, run_sequence

log = logging.getLogger(__name__)
TIMEOUT_SUFFIX = ".timeout"  # marker a worker leaves in the claims folder before killing itself
TIMEOUT_EVENT = "mfv2bench-timeout"  # Dask event topic with the same message


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
    timeout_frame: float | None = None  # seconds one frame (decode + track) may take
    timeout_sequence: float | None = None  # seconds the whole sequence may take
    seed: int | None = None  # this (run, sequence)'s seed (``seeding.sequence_seed``); None: unseeded


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


class SequenceTimeout(Exception):
    """Raised in the thread running a sequence that ran past its time limit."""


def _async_raise(ident: int, exc: type[BaseException] | None) -> None:
    """Raise ``exc`` in thread ``ident`` at its next Python instruction (None: cancel that)."""
    ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(ident),
                                               ctypes.py_object(exc) if exc is not None else None)


def _dask_worker() -> Any:
    """The Dask worker running this task (None outside Dask)."""
    if "distributed" not in sys.modules:
        return None
    try:
        from distributed import get_worker

        return get_worker()
    except (ImportError, ValueError):
        return None


class Watchdog:
    """Enforces ``--timeout-frame`` / ``--timeout-sequence`` in a worker process.

    On expiry it first raises ``SequenceTimeout`` in the thread running the sequence (a tracker
    stuck in Python code stops there and the worker goes on); if that thread is still busy after
    a grace period (stuck in native code, a blocking call), the worker leaves the reason where
    the parent finds it (a marker file, or a Dask event) and kills itself: only a process can
    stop native code. The parent reports the sequence failed and runs the others."""

    def __init__(self, task: Task):
        self.task = task
        self.frame_limit = task.timeout_frame
        self.seq_limit = task.timeout_sequence
        self.ident = threading.get_ident()
        self.dask_worker = _dask_worker()  # get_worker() only works in the task's own thread
        self.start = self.last = time.monotonic()
        self.frames = 0
        self.reason: str | None = None
        self._done = False
        self._lock = threading.Lock()
        self._stop = threading.Event()
        limits = [x for x in (self.frame_limit, self.seq_limit) if x]
        self.grace = min(5.0, max(1.0, min(limits)))
        self._step = max(0.02, min(0.5, min(limits) / 20))
        self._thread = threading.Thread(target=self._watch, name="mfv2bench-watchdog", daemon=True)
        self._thread.start()

    def tick(self, i: int) -> None:
        self.frames = i + 1
        self.last = time.monotonic()

    def _expired(self, now: float) -> str | None:
        name, n = self.task.seq.name, self.task.seq.n_frames
        if self.seq_limit and now - self.start > self.seq_limit:
            return (f"sequence {name}: timed out after {self.seq_limit:g} s (--timeout-sequence), "
                    f"at frame {self.frames + 1} of {n}")
        if self.frame_limit and now - self.last > self.frame_limit:
            return (f"sequence {name}: frame {self.frames + 1} of {n} took longer than "
                    f"{self.frame_limit:g} s (--timeout-frame)")
        return None

    def _watch(self) -> None:
        while not self._stop.wait(self._step):
            reason = self._expired(time.monotonic())
            if reason is None:
                continue
            with self._lock:
                if self._done:
                    return
                self.reason = reason
                _async_raise(self.ident, SequenceTimeout)
            if self._stop.wait(self.grace):
                return  # the sequence's thread stopped: the worker carries on
            self._kill_self(reason)
            return

    def _kill_self(self, reason: str) -> None:
        message = f"{reason}; the tracker did not stop, so its worker process (pid " \
                  f"{os.getpid()}) was ended"
        try:
            if self.task.claims_dir:
                marker = Path(self.task.claims_dir) / f"{self.task.index}{TIMEOUT_SUFFIX}"
                marker.write_text(message, encoding="utf-8")
            elif self.dask_worker is not None:
                self.dask_worker.log_event(TIMEOUT_EVENT, {"sequence": self.task.seq.name,
                                                           "message": message})
                time.sleep(1.0)  # let the worker's event loop send it
        except Exception:  # noqa: BLE001 - the kill below must happen whatever failed here
            log.debug("could not record the timeout of %s", self.task.seq.name, exc_info=True)
        os.kill(os.getpid(), signal.SIGKILL)

    def finish(self) -> None:
        """The sequence ended (either way): stand down, and cancel a timeout not yet raised."""
        with self._lock:
            self._done = True
            if self.reason is not None:
                _async_raise(self.ident, None)
        self._stop.set()


def _chain(*callbacks: Callable[[int], None] | None) -> Callable[[int], None] | None:
    calls = [c for c in callbacks if c is not None]
    if not calls:
        return None
    if len(calls) == 1:
        return calls[0]

    def on_frame(i: int) -> None:
        for c in calls:
            c(i)

    return on_frame


_PARENT: dict[str, int | None] = {"pid": None}


def watch_parent(every: float = 0.5) -> None:
    """End this worker process when the eval that started it is gone (kill -9, a crash): loky
    workers would otherwise idle for minutes under PID 1 holding memory and GPU memory.
    Started once per process, on its first task."""
    if _PARENT["pid"] is not None:
        return
    _PARENT["pid"] = parent = os.getppid()

    def watch() -> None:
        while True:
            time.sleep(every)
            if os.getppid() != parent:
                os._exit(1)

    threading.Thread(target=watch, name="mfv2bench-parent-watch", daemon=True).start()


def execute(task: Task, on_frame: Callable[[int], None] | None = None) -> SequenceResult:
    """Run one sequence; any exception (tracker build included) comes back as ``error``.
    ``on_frame(i)`` is called after each frame (in-process runs: a frame-level progress bar).
    With a timeout in the task, a watchdog stops a sequence that runs past it (``Watchdog``)."""
    claim = None
    if task.claims_dir:  # a loky worker of this machine's eval (Dask workers have a nanny)
        watch_parent()
        claim = Path(task.claims_dir) / f"{task.index}.{os.getpid()}"
        claim.touch()
    dog: Watchdog | None = None
    try:
        try:
            tracker, device = tracker_for(task)
        except Exception:
            return SequenceResult(task.seq.name, error=f"building the tracker failed in worker "
                                  f"pid {os.getpid()}\n{traceback.format_exc()}")
        if on_frame is None and task.progress_dir:
            on_frame = progress_writer(os.path.join(task.progress_dir, str(task.index)))
        if task.timeout_frame or task.timeout_sequence:
            dog = Watchdog(task)
        if task.seed is not None:  # after the build, right before initialize: reproducible runs
            seed_everything(task.seed)
        try:
            result = run_sequence(tracker, task.seq, prefetch=task.prefetch,
                                  on_frame=_chain(on_frame, dog.tick if dog else None))
        except SequenceTimeout:
            result = SequenceResult(task.seq.name, error="timed out")
        if dog is not None:
            dog.finish()
            if dog.reason is not None and not result.ok:
                result = SequenceResult(task.seq.name, error=dog.reason, wall=result.wall)
        result.worker = {"pid": os.getpid(), "host": socket.gethostname(), "device": device}
        return result
    except SequenceTimeout:  # raised a moment after the sequence ended: the limit was met
        return SequenceResult(task.seq.name, error=dog.reason if dog and dog.reason else "timed out")
    finally:
        if dog is not None:
            dog.finish()
        if claim is not None:
            claim.unlink(missing_ok=True)
