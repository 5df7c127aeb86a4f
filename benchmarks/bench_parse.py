"""Parse-throughput floor of the cold analysis on this machine (issue 15, item 3).

On the LaSOT-sized workload of ``bench_metrics.py`` (same folder, generated there if absent),
measures in one run, wall time, best of a few:

- reading the bytes of every result and GT file (open + read), and hashing them (blake2b, the
  parse cache's content digest);
- pyarrow's CSV reader on all the text joined into one buffer, with 1 and 2 threads, and on
  each file alone (one call per file);
- numpy: ``np.loadtxt`` (on an eighth of the text), ``np.fromstring(sep=",")`` (numpy's C
  integer reader, the fallback of ``fastparse``);
- our ``fastparse.parse_int_rows`` on each tracker's files (one call per tracker: what a cold
  analysis does);
- the got10k toolkit's metric code on the same workload (``bench_metrics.run_got10k``).

Then prints the text volume, each throughput, and the floor of a cold analysis implied by the
best parse rate: ``MB / (MB/s)`` plus reading and hashing, against ``got10k / 10`` (the cold
target). Thread counts are set explicitly; CPU model, flags and the load average are printed.

    .venv/bin/python benchmarks/bench_parse.py [--workdir /tmp/mfv2bench_bench_metrics]
"""

from __future__ import annotations

import argparse
import hashlib
import io
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import bench_metrics as bm  # noqa: E402


def _best(fn, repeats: int = 3) -> float:
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def _arrow(buf: bytes, threads: bool):
    import pyarrow as pa
    import pyarrow.csv as pa_csv
    names = ["x", "y", "w", "h"]
    return pa_csv.read_csv(
        pa.py_buffer(buf),
        read_options=pa_csv.ReadOptions(column_names=names, use_threads=threads),
        parse_options=pa_csv.ParseOptions(quote_char=False, double_quote=False,
                                          escape_char=False, newlines_in_values=False,
                                          ignore_empty_lines=False),
        convert_options=pa_csv.ConvertOptions(column_types={n: pa.int32() for n in names},
                                              null_values=[], strings_can_be_null=False,
                                              check_utf8=False))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--workdir", default="/tmp/mfv2bench_bench_metrics")
    args = ap.parse_args(argv)
    from mfv2bench.provenance import cpu_model
    from mfv2bench.results.fastparse import parse_int_rows
    from mfv2bench.threads import set_threads
    import pyarrow as pa
    set_threads(1)
    flags = bm.cpu_flags()
    print(f"CPU: {cpu_model()}; flags: {' '.join(f for f in bm._SHOWN_FLAGS if f in flags)}")
    print(f"numpy {np.__version__}, pyarrow {pa.__version__}; cores: {os.cpu_count()}; "
          f"load average: {os.getloadavg()[0]:.2f}")
    work = Path(args.workdir)
    bm.generate(work)
    names = bm.names_of(work)
    trackers = bm.trackers_of(work)
    paths = {t: [work / "results" / t / f"{n}.txt" for n in names] for t in trackers}
    gt_paths = [work / "annos" / f"{n}.txt" for n in names]
    all_paths = [p for t in trackers for p in paths[t]] + gt_paths

    def read_all() -> list[bytes]:
        out = []
        for p in all_paths:
            with open(p, "rb") as fh:
                out.append(fh.read())
        return out

    datas = read_all()
    buf = b"".join(datas)
    mb = len(buf) / 1e6
    rows: list[tuple[str, float, float]] = []  # label, seconds, MB handled

    def row(label: str, seconds: float, size: float = mb) -> None:
        rows.append((label, seconds, size))
        print(f"  {label:52s} {seconds * 1000:8.1f} ms  {size / seconds:7.0f} MB/s")

    print(f"text: {len(all_paths)} files (results + GT boxes), {mb:.1f} MB")
    row("read (open + read every file)", _best(read_all))
    row("blake2b-128 of every file (parse cache digest)",
        _best(lambda: [hashlib.blake2b(d, digest_size=16).digest() for d in datas]))
    row("pyarrow CSV, one buffer, 1 thread", _best(lambda: _arrow(buf, False)))
    cores = min(2, os.cpu_count() or 1)
    if cores > 1:
        pa.set_cpu_count(cores)
        row(f"pyarrow CSV, one buffer, {cores} threads", _best(lambda: _arrow(buf, True)))
        pa.set_cpu_count(1)
    one = datas[:len(datas) // 10]
    size_one = sum(len(d) for d in one) / 1e6
    row("pyarrow CSV, one call per file (a tenth of the files)",
        _best(lambda: [_arrow(d, False) for d in one], 1), size_one)
    row("fastparse.parse_int_rows, one call per tracker",
        _best(lambda: [parse_int_rows(datas[k * len(names):(k + 1) * len(names)], 4)
                       for k in range(len(trackers) + 1)], 2))
    eighth = buf[:buf.index(b"\n", len(buf) // 8) + 1]
    row("np.loadtxt (an eighth of the text)",
        _best(lambda: np.loadtxt(io.BytesIO(eighth), delimiter=",", dtype=np.int64), 1),
        len(eighth) / 1e6)
    flat = buf.replace(b"\n", b",")
    row("np.fromstring(sep=',') (numpy's C integer reader)",
        _best(lambda: np.fromstring(flat, dtype=np.int64, sep=","), 1))
    g = _best(lambda: bm.run_got10k(work), 1)
    print(f"got10k ExperimentOTB metric code: {g:.2f} s; cold target (10x): {g / 10 * 1000:.0f} ms")
    parse = min(s / size for label, s, size in rows if "pyarrow" in label or "fast" in label)
    read = rows[0][1] / mb
    hashing = rows[1][1] / mb
    print(f"best parse rate: {1 / parse:.0f} MB/s -> {mb * parse * 1000:.0f} ms to parse "
          f"{mb:.1f} MB; + reading {mb * read * 1000:.0f} ms + hashing {mb * hashing * 1000:.0f} ms"
          f" = floor {mb * (parse + read + hashing) * 1000:.0f} ms before any scoring "
          f"(ratio at most {g / (mb * (parse + read + hashing)):.1f}x)")
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
