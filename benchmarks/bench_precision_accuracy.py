"""Reduced precision with accuracy (issue 15, item 2): the trained micro MixFormerV2 in fp32,
bf16 and int8 runtimes over the synthetic LaSOT test split, in one run.

For each runtime (``mfv2bench.app.precision.VARIANTS``): AUC / P / NP with 95 % CIs, the
difference from the exact fp32 cached path with the project's paired test (sign-flip p-value,
paired bootstrap CI), the network step latency and the per-frame track() time, each as a
speed-up over the official computation (fp32, templates re-encoded every frame) measured in the
same run. A runtime whose AUC drops by more than 0.5 points is labelled so. bf16 on a CPU
without native bf16 is refused (a REFUSED row) unless ``--allow-emulated-bf16``.

The data: the synthetic LaSOT-layout test split of the training issue (30 sequences of 60-100
frames, 320x240, seed 0: what ``mfv2bench datasets synth lasot --sequences 30`` writes), written
once into ``--root`` (default: a folder under the system temp dir) unless it is there;
``--sequences N`` evaluates the first N. The tracker is a spec name (default ``mfv2-micro``:
rerunning picks up whatever weights its spec names).

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_precision_accuracy.py \
        [--sequences 30] [--root DIR] [--runtimes official,fp32,onnx,bf16,compile-bf16,int8] \
        [--threads 1] [--json out.json] [--allow-emulated-bf16]

Prints the CPU model and its precision flags, torch's CPU dispatch level, threads, load, then
the table; ``--json`` writes everything (rows, machine, sequences).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import tempfile
import time
from pathlib import Path

from mfv2bench.app.precision import DEFAULT_VARIANTS, precision_accuracy, table_text
from mfv2bench.datasets.synthetic import read_marker, write_synthetic
from mfv2bench.devices import ALLOW_EMULATED_BF16_ENV
from mfv2bench.workspace import load_workspace

# the synthetic test split of the training issue (issue 16)
SPLIT = {"n_sequences": 30, "n_frames": (60, 100), "size": (320, 240), "seed": 0}


def ensure_split(root: Path, n_sequences: int, n_frames: tuple[int, int] | int,
                 seed: int = 0) -> bool:
    """Write the synthetic LaSOT tree at ``root`` unless one with these parameters (or more
    sequences: a sequence does not depend on how many are written) is there. True: written."""
    marker = read_marker(root)
    frames = list(n_frames) if isinstance(n_frames, tuple) else n_frames
    if (marker is not None and marker.get("format") == "lasot" and marker.get("seed") == seed
            and marker.get("n_frames") == frames and marker.get("size") == list(SPLIT["size"])
            and int(marker.get("n_sequences", 0)) >= n_sequences):
        return False
    if marker is None and (root / "testing_set.txt").is_file():
        return False  # someone else's LaSOT-layout tree: used as it is
    write_synthetic("lasot", root, n_sequences=n_sequences, n_frames=n_frames,
                    size=SPLIT["size"], seed=seed)
    return True


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tracker", default="mfv2-micro", help="spec name (trained weights)")
    ap.add_argument("--sequences", type=int, default=SPLIT["n_sequences"],
                    help="first N sequences of the split")
    ap.add_argument("--frames", default="60-100", help="frames per sequence: N or A-B "
                    "(written only when the tree is (re)written)")
    ap.add_argument("--root", type=Path, default=None, help="synthetic LaSOT tree (written if "
                    "absent; default: <tmp>/mfv2bench-precision/synthetic-lasot)")
    ap.add_argument("--runtimes", default=",".join(DEFAULT_VARIANTS),
                    help="comma-separated runtime variants (fp32 is the reference)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--latency-iters", type=int, default=60, help="timed network steps each")
    ap.add_argument("--protocol", default=None, help="metric protocol (default: the data set's)")
    ap.add_argument("--json", type=Path, default=None, help="write the results here")
    ap.add_argument("--workspace", type=Path, default=None, help="workspace (default: found "
                    "from the current folder)")
    ap.add_argument("--allow-emulated-bf16", action="store_true",
                    help=f"run bf16 even without native bf16 (sets {ALLOW_EMULATED_BF16_ENV}=1; "
                         "the rows are labelled)")
    ap.add_argument("--quiet", action="store_true", help="no progress lines")
    args = ap.parse_args(argv)
    if args.allow_emulated_bf16:
        os.environ[ALLOW_EMULATED_BF16_ENV] = "1"
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    lo, _, hi = args.frames.partition("-")
    frames: tuple[int, int] | int = (int(lo), int(hi)) if hi else int(lo)
    root = args.root or Path(tempfile.gettempdir()) / "mfv2bench-precision" / "synthetic-lasot"
    t0 = time.perf_counter()
    wrote = ensure_split(root, max(args.sequences, 1), frames)
    ws = load_workspace(args.workspace)

    def log(message: str) -> None:
        if not args.quiet:
            print(f"  [{time.perf_counter() - t0:6.1f} s] {message}", flush=True)

    print(f"{'wrote' if wrote else 'using'} synthetic LaSOT test split at {root}")
    report = precision_accuracy(ws, args.tracker, "synthetic-lasot", root=root,
                                sequences=args.sequences,
                                variants=[v.strip() for v in args.runtimes.split(",") if v.strip()],
                                threads=args.threads, protocol=args.protocol,
                                latency_iters=args.latency_iters, log=log)
    m = report.machine
    print(f"\nCPU: {m['cpu_line']}; torch CPU capability {m['torch_cpu_capability']}; "
          f"threads {report.threads}; load average {m['load_average']} on "
          f"{os.cpu_count()} logical cores")
    print(f"tracker {report.tracker} ({report.weights}); {report.dataset}, "
          f"{len(report.sequences)} sequences, {report.frames} frames; protocol {report.protocol}")
    print(table_text(report))
    print(f"total {time.perf_counter() - t0:.0f} s")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report.to_dict(), indent=1, default=str))
        print(f"wrote {args.json}")
    return 0 if all(r.status != "failed" for r in report.rows) else 1


if __name__ == "__main__":
    sys.exit(main())
