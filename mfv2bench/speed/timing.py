"""Timing one callable properly: warm-up first, then one sample per call, with the device
synchronised (CUDA events on a GPU, a monotonic clock on the CPU), summarised by the median and
the tails rather than a mean of 1/t."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Any, Callable

import numpy as np

from ..devices import check_device, is_cuda, synchronize


@dataclass
class LatencyStats:
    """Summary of per-call latencies in milliseconds; ``fps`` is 1000 / median."""

    n: int
    median_ms: float
    p90_ms: float
    p99_ms: float
    mean_ms: float
    min_ms: float
    max_ms: float
    std_ms: float
    fps: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def summarize_ms(samples_ms: list[float] | np.ndarray) -> LatencyStats:
    """Median, p90, p99, mean, min, max, std of ``samples_ms``, and FPS = 1000 / median."""
    arr = np.asarray(samples_ms, dtype=np.float64).ravel()
    if arr.size == 0:
        raise ValueError("no timing samples to summarise")
    if not np.all(np.isfinite(arr)) or np.any(arr < 0):
        raise ValueError("timing samples must be finite and non-negative")
    median = float(np.median(arr))
    return LatencyStats(
        n=int(arr.size),
        median_ms=median,
        p90_ms=float(np.percentile(arr, 90)),
        p99_ms=float(np.percentile(arr, 99)),
        mean_ms=float(arr.mean()),
        min_ms=float(arr.min()),
        max_ms=float(arr.max()),
        std_ms=float(arr.std(ddof=1)) if arr.size > 1 else 0.0,
        fps=1000.0 / median if median > 0 else float("inf"),
    )


def time_callable(fn: Callable[[], Any], *, device: str = "cpu", warmup: int = 5,
                  iters: int = 50, min_time_s: float = 0.0,
                  max_iters: int | None = None) -> list[float]:
    """Per-call latencies (ms) of ``fn()`` after ``warmup`` untimed calls.

    On CUDA each call is bracketed by CUDA events and waited for before the next call (a tracker
    reads its box back every frame), so asynchronous work is counted and calls never overlap. On the CPU a
    monotonic nanosecond clock is used. At least ``iters`` samples are taken; if ``min_time_s``
    is set, sampling goes on (up to ``max_iters``) until that much time has been spent timing.
    """
    if iters < 1:
        raise ValueError("iters must be >= 1")
    check_device(device)
    for _ in range(max(0, warmup)):
        fn()
    synchronize(device)
    limit = max(iters, max_iters or iters)
    if is_cuda(device):
        return _time_cuda(fn, device, iters, min_time_s, limit)
    samples: list[float] = []
    spent = 0.0
    while len(samples) < iters or (spent < min_time_s and len(samples) < limit):
        t0 = time.perf_counter_ns()
        fn()
        dt = (time.perf_counter_ns() - t0) / 1e6
        samples.append(dt)
        spent += dt / 1e3
    return samples


def _time_cuda(fn: Callable[[], Any], device: str, iters: int, min_time_s: float,
               limit: int) -> list[float]:
    import torch

    stream = torch.cuda.current_stream(torch.device(device))
    events: list[tuple[Any, Any]] = []
    t_start = time.perf_counter()
    while len(events) < iters or (time.perf_counter() - t_start < min_time_s
                                  and len(events) < limit):
        start = torch.cuda.Event(enable_timing=True)
        end = torch.cuda.Event(enable_timing=True)
        start.record(stream)
        fn()
        end.record(stream)
        end.synchronize()  # a tracker reads its box back every frame: no overlap of calls
        events.append((start, end))
    synchronize(device)
    return [float(s.elapsed_time(e)) for s, e in events]


def time_interleaved(fns: dict[str, Callable[[], Any]], *, device: str = "cpu",
                     warmup: int = 3, iters: int = 12, rounds: int = 3,
                     block_warmup: int = 0) -> dict[str, list[float]]:
    """Per-call latencies (ms) of several callables measured in interleaved rounds, so that a
    change of machine load during the measurement affects all of them alike (used where the
    numbers are compared with each other: breakdown shares, runtime ratios).
    ``block_warmup`` untimed calls start every block (e.g. after a thread-count switch)."""
    if rounds < 1:
        raise ValueError("rounds must be >= 1")
    per_round = max(1, -(-iters // rounds))
    for fn in fns.values():
        for _ in range(max(0, warmup)):
            fn()
    samples: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(rounds):
        for name, fn in fns.items():
            samples[name] += time_callable(fn, device=device, warmup=block_warmup,
                                           iters=per_round)
    return samples
