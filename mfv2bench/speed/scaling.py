"""Thread scaling (CPU, 1..N threads) and batch scaling of model latency, as small tables
(lists of rows). Each row is its own warmed-up measurement; speed-ups are against the first row."""

from __future__ import annotations

from typing import Any, Iterable

from ..devices import is_cuda
from ..errors import ConfigError
from ..threads import available_cores, set_threads
from .model_latency import model_step, prepare_model
from .timing import summarize_ms, time_interleaved


def thread_counts(max_threads: int | None = None) -> list[int]:
    """1, 2, 4, ... up to ``max_threads`` (default: the cores available), always ending on it."""
    top = max(1, max_threads or available_cores())
    counts, n = [], 1
    while n < top:
        counts.append(n)
        n *= 2
    counts.append(top)
    return counts


def thread_scaling(model: Any, template_size: int, search_size: int, *,
                   threads: Iterable[int] | None = None, batch: int = 1,
                   mode: str = "cached", precision: str = "fp32", warmup: int = 3,
                   iters: int = 12, rounds: int = 3) -> list[dict[str, Any]]:
    """Model latency on the CPU at each thread count, thread counts timed in interleaved
    rounds; the caller's thread setting is restored."""
    import torch

    counts = [int(n) for n in (threads if threads is not None else thread_counts())]
    if not counts or any(n < 1 for n in counts):
        raise ConfigError(f"thread counts must be >= 1, got {counts}")
    before = torch.get_num_threads()
    net = prepare_model(model, "cpu", precision)
    step = model_step(net, template_size, search_size, batch=batch, mode=mode, device="cpu",
                      precision=precision)

    def at(n: int):
        def run():
            torch.set_num_threads(n)
            return step()
        return run

    try:
        # a thread-count switch resizes the OpenMP pool: two untimed calls after each switch
        samples = time_interleaved({str(n): at(n) for n in counts}, warmup=warmup, iters=iters,
                                   rounds=rounds, block_warmup=2)
    finally:
        set_threads(before)
    rows: list[dict[str, Any]] = []
    for n in counts:
        stats = summarize_ms(samples[str(n)])
        rows.append({"threads": n, "median_ms": stats.median_ms, "p90_ms": stats.p90_ms,
                     "mean_ms": stats.mean_ms, "fps": stats.fps})
    base = rows[0]["median_ms"]
    for row in rows:
        row["speedup"] = base / row["median_ms"] if row["median_ms"] > 0 else None
    return rows


def batch_scaling(model: Any, template_size: int, search_size: int, *,
                  batches: Iterable[int] = (1, 2, 4, 8), device: str = "cpu",
                  threads: int | None = None, mode: str = "cached", precision: str = "fp32",
                  warmup: int = 3, iters: int = 12, rounds: int = 3) -> list[dict[str, Any]]:
    """Latency per call and per sample, and throughput (samples/s), at each batch size
    (batch sizes timed in interleaved rounds)."""
    sizes = [int(b) for b in batches]
    if not sizes or any(b < 1 for b in sizes):
        raise ConfigError(f"batch sizes must be >= 1, got {sizes}")
    if threads is not None and not is_cuda(device):
        set_threads(threads)
    nets = {b: prepare_model(model, device, precision) for b in sizes}  # one template cache each
    steps = {str(b): model_step(nets[b], template_size, search_size, batch=b, mode=mode,
                                device=device, precision=precision) for b in sizes}
    samples = time_interleaved(steps, device=device, warmup=warmup, iters=iters, rounds=rounds)
    rows: list[dict[str, Any]] = []
    for b in sizes:
        stats = summarize_ms(samples[str(b)])
        rows.append({"batch": b, "median_ms": stats.median_ms, "p90_ms": stats.p90_ms,
                     "per_sample_ms": stats.median_ms / b,
                     "throughput_fps": 1000.0 * b / stats.median_ms})
    base = rows[0]["per_sample_ms"]
    for row in rows:
        row["per_sample_speedup"] = base / row["per_sample_ms"]
    return rows
