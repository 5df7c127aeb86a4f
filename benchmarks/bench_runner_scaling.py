"""Parallel scaling of `eval`: 1 worker vs 2 joblib (loky) workers on a CPU-bound tracker.

Workload: a synthetic LaSOT-layout split (8 sequences x 120 frames, 160x120 JPEG, written once
under --workdir) and the calibrated ~10 ms/frame GIL-free "busy" tracker of
``bench_runner_overhead.py``. Each configuration runs ``run_eval(..., force=True)`` end to end
(worker start-up, tracker builds and result writing included), alternating 1 and 2 workers for
--rounds rounds; the best wall time of each is kept (the machine is shared).

Baseline measured in the same rounds: the same total compute split over 1 vs 2 plain forked
processes (no runner, no decoding, same total compute), i.e. the scaling this machine offers at that moment; other
processes on a shared machine take cores away from the 2-worker run first.

Prints the eval speed-up (target >= 1.8x on a 2-core machine), the machine's own speed-up and
their ratio (how much of the available scaling the runner keeps).

    .venv/bin/python benchmarks/bench_runner_scaling.py [--workdir /tmp/mfv2bench_bench_scaling]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_runner_overhead import _work, calibrate, make_workspace, write_spec  # noqa: E402


def plain_processes(n_proc: int, total_reps: int) -> float:
    """Wall time of ``total_reps`` matmuls split over ``n_proc`` forked processes."""
    import multiprocessing as mp

    ctx = mp.get_context("fork")
    procs = [ctx.Process(target=_work, args=(total_reps // n_proc,)) for _ in range(n_proc)]
    t0 = time.perf_counter()
    for p in procs:
        p.start()
    for p in procs:
        p.join()
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--workdir", default="/tmp/mfv2bench_bench_scaling")
    ap.add_argument("--sequences", type=int, default=8)
    ap.add_argument("--frames", type=int, default=120)
    ap.add_argument("--ms", type=float, default=10.0)
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()

    from mfv2bench.runner.evaluate import run_eval
    from mfv2bench.threads import available_cores, set_threads
    from mfv2bench.workspace import load_workspace

    set_threads(1)
    workdir = make_workspace(Path(args.workdir), args.sequences, args.frames, size=(160, 120))
    ws = load_workspace(workdir)
    reps = calibrate(args.ms)
    write_spec(workdir, "bench-busy", reps)
    n_frames = None
    best: dict[int, float] = {}
    loads = []
    plain: dict[int, float] = {}
    total_reps = reps * args.sequences * args.frames  # the eval's tracker compute
    for _ in range(args.rounds):
        for n_proc in (1, 2):
            wall = plain_processes(n_proc, total_reps)
            plain[n_proc] = min(plain.get(n_proc, wall), wall)
        for jobs in (1, 2):
            loads.append(os.getloadavg()[0])
            t0 = time.perf_counter()
            run = run_eval("bench-busy", "synthetic-lasot", workspace=ws, jobs=jobs,
                           progress=False, force=True)
            wall = time.perf_counter() - t0
            assert run.ok and run.complete and run.workers == jobs
            n_frames = sum(s.n_frames for s in run.split.sequences)
            best[jobs] = min(best.get(jobs, wall), wall)
            print(f"  jobs={jobs}: {wall:.2f} s ({n_frames / wall:.1f} frames/s)")
    speedup = best[1] / best[2]
    print(f"\n{args.sequences} sequences, {n_frames} frames, ~{args.ms:g} ms/frame tracker, "
          f"{available_cores()} cores, load average before runs {min(loads):.2f}..{max(loads):.2f}")
    ceiling = plain[1] / plain[2]
    print(f"machine (plain processes, same compute): 1 -> {plain[1]:.2f} s, 2 -> "
          f"{plain[2]:.2f} s: speed-up {ceiling:.2f}x")
    print(f"eval best wall: 1 worker {best[1]:.2f} s, 2 workers {best[2]:.2f} s -> speed-up "
          f"{speedup:.2f}x (target >= 1.8x); runner keeps {100 * speedup / ceiling:.0f}% of "
          "the machine's scaling")


if __name__ == "__main__":
    main()
