"""How close the exact float32 MixFormerV2 step runs to the machine's matmul rate, in ONE run.

For each variant (Small, Base; seeded random weights: latency does not depend on weight values),
batch 1, with the same thread count throughout:

1. the sgemm rate at each of the model's matrix-product shapes (``model.matmul_shapes``: patch
   embedding, qkv, attention q.k and p.v per head, proj, fc1, fc2, the last block's 4-token
   products, heads), measured with every float32 GEMM this process has: ATen (``torch.mm`` /
   ``torch.bmm``: MKL on x86), oneDNN (``mkldnn._linear_pointwise``, weights packed) and MLAS
   (an ONNX Runtime graph of one MatMul). The best of them per shape is "the matmul rate";
2. the ideal step time = sum over shapes of FLOPs / that rate (cached step and full recompute);
3. each exact runtime's per-frame step (the tracker's engines: ``full-eager`` is the official
   computation, the others use the template cache), timed in the same interleaved rounds as
   the matmuls, with its output difference from the full path (exact: <= 1e-6);
4. per runtime: median ms, the ratio to the official full path (``vs official``), the fraction
   of the matmul rate (ideal / measured: 1.0 = every FLOP at the best sgemm rate, all other work
   free) from wall-clock medians, from the fastest calls (``best``) and from CPU-time medians
   (``CPU``: with one thread, the time other processes held the core is left out, so on a
   loaded machine this is the fair figure).

Prints the CPU model and flags, threads, library versions and the load average before and after
(numbers taken on a loaded machine are marked so); ``--json`` writes everything.

    .venv/bin/python benchmarks/bench_matmul_fraction.py [--variants small,base] [--threads 1]
        [--rounds 3] [--iters 4] [--runtimes full-eager,eager,sdpa,compile,onnxruntime,onednn]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from typing import Any, Callable

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_runtimes  # noqa: E402  (the tracker's engines, built as that benchmark does)

from mfv2bench.devices import cpu_features  # noqa: E402
from mfv2bench.provenance import cpu_model, load_average, package_versions  # noqa: E402
from mfv2bench.speed.model_latency import synthetic_inputs  # noqa: E402
from mfv2bench.threads import set_threads  # noqa: E402
from mfv2bench.trackers.mixformerv2.model import matmul_shapes  # noqa: E402
from mfv2bench.trackers.mixformerv2.packed import onednn_available  # noqa: E402

EXACT = ("full-eager", "eager", "sdpa", "compile", "onnxruntime", "onednn")
EXACT_TOL = 1e-6
TARGET = 0.80


def cpu_flags() -> list[str]:
    """The instruction-set flags that decide GEMM speed (``devices.PRECISION_FLAGS`` present)."""
    return cpu_features().precision_flags()


# ------------------------------------------------------------------------------------------------
# sgemm at one shape, three implementations


def _aten(batch: int, m: int, k: int, n: int) -> Callable[[], Any]:
    a, b = torch.randn(batch, m, k), torch.randn(batch, k, n)
    if batch == 1:
        a2, b2 = a[0], b[0]
        return lambda: torch.mm(a2, b2)
    return lambda: torch.bmm(a, b)


def _onednn(batch: int, m: int, k: int, n: int) -> Callable[[], Any] | None:
    if not onednn_available():
        return None
    a = torch.randn(batch, m, k)
    if batch == 1:  # a weight: packed once, as the onednn runtime does
        w = torch.ops.mkldnn._reorder_linear_weight(torch.randn(n, k), m)
        a2 = a[0]
        return lambda: torch.ops.mkldnn._linear_pointwise(a2, w, None, "none", [], "")
    bt = torch.randn(batch, n, k)  # attention: one product per head (keys / values^T plain)
    return lambda: [torch.ops.mkldnn._linear_pointwise(a[i], bt[i], None, "none", [], "")
                    for i in range(batch)]


def _mlas(batch: int, m: int, k: int, n: int, threads: int) -> Callable[[], Any] | None:
    try:
        import onnxruntime as ort
        from onnx import TensorProto, helper, numpy_helper
    except ImportError:
        return None
    rng = np.random.default_rng(0)
    w = rng.standard_normal((batch, k, n) if batch > 1 else (k, n)).astype(np.float32)
    a_shape = [batch, m, k] if batch > 1 else [m, k]
    out_shape = [batch, m, n] if batch > 1 else [m, n]
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["a", "w"], ["y"])], "mm",
        [helper.make_tensor_value_info("a", TensorProto.FLOAT, a_shape)],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, out_shape)],
        [numpy_helper.from_array(w, "w")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = min(model.ir_version, 9)
    opts = ort.SessionOptions()
    opts.intra_op_num_threads, opts.inter_op_num_threads = threads, 1
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    sess = ort.InferenceSession(model.SerializeToString(), opts, providers=["CPUExecutionProvider"])
    feed = {"a": rng.standard_normal(a_shape).astype(np.float32)}
    return lambda: sess.run(None, feed)


def gemm_callables(shapes: list[tuple], threads: int) -> dict[tuple[str, str], Callable[[], Any]]:
    """(shape key 'b x m x k x n', backend) -> one product, for every distinct shape."""
    out: dict[tuple[str, str], Callable[[], Any]] = {}
    for _, b, m, k, n, _ in shapes:
        key = f"{b}x{m}x{k}x{n}"
        if (key, "aten") in out:
            continue
        out[(key, "aten")] = _aten(b, m, k, n)
        for name, fn in (("onednn", _onednn(b, m, k, n)), ("mlas", _mlas(b, m, k, n, threads))):
            if fn is not None:
                out[(key, name)] = fn
    return out


# ------------------------------------------------------------------------------------------------


def _time(fn: Callable[[], Any], iters: int) -> tuple[list[float], list[float]]:
    """Per-call wall seconds and process CPU seconds. With one thread the CPU time leaves out the
    time other processes held the core: on a loaded machine it is the fairer measure of the
    work (a long step is preempted more often than a short product)."""
    wall, cpu = [], []
    for _ in range(iters):
        c0, t0 = time.process_time(), time.perf_counter()
        fn()
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return wall, cpu


def ideal_ms(shapes: list[tuple], rates: dict[str, float]) -> float:
    """Milliseconds of the shapes' FLOPs at the given GFLOP/s per shape key."""
    return sum(cnt * 2 * b * m * k * n / (rates[f"{b}x{m}x{k}x{n}"] * 1e9)
               for _, b, m, k, n, cnt in shapes) * 1e3


STATS = {"median": lambda s: float(np.median(s["wall"])), "best": lambda s: min(s["wall"]),
         "cpu": lambda s: float(np.median(s["cpu"]))}


def bench_variant(variant: str, args: argparse.Namespace) -> dict[str, Any]:
    model, cfg = bench_runtimes.build_model(variant, json.loads(args.overrides or "{}"))
    cfg = dict(cfg)
    t_size, s_size = int(cfg["template_size"]), int(cfg["search_size"])
    template, online, search = synthetic_inputs(t_size, s_size, batch=1)
    shapes = {"cached": matmul_shapes(cfg, cached=True), "full": matmul_shapes(cfg, cached=False)}
    gemms = gemm_callables(shapes["cached"] + shapes["full"], args.threads)
    steps, notes, _ = bench_runtimes.make_runtimes(model, template, online, search,
                                                  args.runtimes, args.threads)
    with torch.inference_mode():
        ref_model = model(template, online, search, return_blocks=False)
    ref_box = ref_model["pred_boxes"].reshape(-1, 4)
    ref_score = float(ref_model["pred_scores"].reshape(-1)[0])
    samples: dict[Any, dict[str, list[float]]] = {k: {"wall": [], "cpu": []}
                                                  for k in [*steps, *gemms]}
    with torch.inference_mode():
        for fn in [*steps.values(), *gemms.values()]:
            fn()  # warm-up
        for _ in range(args.rounds):  # interleaved: load drifts hit runtimes and matmuls alike
            for key, fn in [*steps.items(), *gemms.items()]:
                wall, cpu = _time(fn, args.iters if key in steps else args.mm_iters)
                samples[key]["wall"] += wall
                samples[key]["cpu"] += cpu
    gemm_rows, best = [], {stat: {} for stat in STATS}
    for kind, shape_list in shapes.items():
        for label, b, m, k, n, cnt in shape_list:
            key = f"{b}x{m}x{k}x{n}"
            flops = 2 * b * m * k * n
            backends = [be for (sk, be) in gemms if sk == key]
            rates = {stat: {be: flops / max(f(samples[(key, be)]), 1e-9) / 1e9 for be in backends}
                     for stat, f in STATS.items()}
            for stat in STATS:
                best[stat][key] = max(rates[stat].values())
            gemm_rows.append({"path": kind, "product": label, "shape": key, "count": cnt,
                              "gflop": cnt * flops / 1e9, "gflops": rates["median"],
                              "gflops_cpu": rates["cpu"],
                              "best_backend": max(rates["median"], key=rates["median"].get)})
    ideal = {kind: {stat: ideal_ms(sh, best[stat]) for stat in STATS} for kind, sh in shapes.items()}
    full = {stat: f(samples["full-eager"]) * 1e3 for stat, f in STATS.items()} \
        if "full-eager" in steps else None
    rows = []
    for name in args.runtimes:
        if name not in steps:
            rows.append({"runtime": name, "note": notes.get(name, "not run")})
            continue
        box, score = steps[name]()
        path = "full" if name == "full-eager" else "cached"
        ms = {stat: f(samples[name]) * 1e3 for stat, f in STATS.items()}
        diff = max(float((box.float() - ref_box).abs().max()), abs(float(score) - ref_score))
        rows.append({"runtime": name, "path": path, "median_ms": ms["median"],
                     "best_ms": ms["best"], "cpu_ms": ms["cpu"],
                     "vs_official": full["median"] / ms["median"] if full else None,
                     "vs_official_cpu": full["cpu"] / ms["cpu"] if full else None,
                     "fraction": ideal[path]["median"] / ms["median"],
                     "fraction_best": ideal[path]["best"] / ms["best"],
                     "fraction_cpu": ideal[path]["cpu"] / ms["cpu"],
                     "max_abs_diff": diff, "exact": diff <= EXACT_TOL})
    return {"variant": variant, "gemm": gemm_rows, "ideal_ms": ideal, "rows": rows,
            "gflop": {k: sum(r["gflop"] for r in gemm_rows if r["path"] == k) for k in shapes}}


def format_variant(res: dict[str, Any], cpu_decides: bool = False) -> str:
    v = res["variant"]
    lines = [f"\n== {v}: sgemm rate at the model's shapes (GFLOP/s, medians; best per shape "
             f"is the matmul rate)"]
    backends = ("aten", "onednn", "mlas")
    lines.append(f"{'path':6} {'product':20} {'b x m x k x n':18} {'count':>5} {'GFLOP':>7} "
                 + " ".join(f"{b:>8}" for b in backends) + "  best")
    for r in res["gemm"]:
        rates = " ".join(f"{r['gflops'][b]:8.1f}" if b in r["gflops"] else f"{'-':>8}"
                         for b in backends)
        lines.append(f"{r['path']:6} {r['product']:20} {r['shape']:18} {r['count']:5d} "
                     f"{r['gflop']:7.3f} {rates}  {r['best_backend']}")
    for path, ideal in res["ideal_ms"].items():
        lines.append(f"{v} {path} step: {res['gflop'][path]:.2f} GFLOP -> {ideal['median']:.2f} ms "
                     f"at the matmul rate (wall medians), {ideal['best']:.2f} ms (fastest calls), "
                     f"{ideal['cpu']:.2f} ms (CPU-time medians)")
    lines.append(f"\n{'runtime':12} {'path':6} {'median ms':>10} {'best ms':>8} {'CPU ms':>8} "
                 f"{'vs official':>11} {'(CPU)':>6} {'fraction':>8} {'(best)':>7} {'(CPU)':>6} "
                 f"{'|d| full':>9}  exact")
    for r in res["rows"]:
        if "median_ms" not in r:
            lines.append(f"{r['runtime']:12} {'-':6} {'-':>10}  {r['note']}")
            continue
        vs = f"{r['vs_official']:.2f}x" if r["vs_official"] else "-"
        vs_cpu = f"{r['vs_official_cpu']:.2f}x" if r["vs_official_cpu"] else "-"
        lines.append(f"{r['runtime']:12} {r['path']:6} {r['median_ms']:10.2f} {r['best_ms']:8.2f} "
                     f"{r['cpu_ms']:8.2f} {vs:>11} {vs_cpu:>6} {r['fraction']:8.2f} "
                     f"{r['fraction_best']:7.2f} {r['fraction_cpu']:6.2f} "
                     f"{r['max_abs_diff']:9.1e}  {'yes' if r['exact'] else 'NO'}")
    cached = [r for r in res["rows"] if r.get("path") == "cached" and r["exact"]]
    if cached:
        # on a loaded machine with one thread the CPU-time figures decide (wall time there
        # counts the time other processes held the core)
        field = "fraction_cpu" if cpu_decides else "fraction"
        top = min(cached, key=lambda r: r["cpu_ms" if cpu_decides else "median_ms"])
        verdict = "meets" if top[field] >= TARGET else "below"
        lines.append(f"{v}: fastest exact cached runtime = {top['runtime']}, {top['median_ms']:.2f} ms "
                     f"({top['cpu_ms']:.2f} ms CPU), {top['vs_official']:.2f}x official "
                     f"({top['vs_official_cpu']:.2f}x CPU), fraction of the matmul rate "
                     f"{top['fraction']:.2f} wall / {top['fraction_best']:.2f} fastest calls / "
                     f"{top['fraction_cpu']:.2f} CPU time: {verdict} the {TARGET:.2f} target "
                     f"({'CPU time' if cpu_decides else 'wall clock'})")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--variants", default="small,base")
    p.add_argument("--runtimes", default=",".join(EXACT))
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--iters", type=int, default=4, help="timed steps per runtime per round")
    p.add_argument("--mm-iters", type=int, default=6, help="timed products per shape per round")
    p.add_argument("--overrides", default=None, help="JSON config overrides (quick checks)")
    p.add_argument("--json", default=None)
    args = p.parse_args(argv)
    args.runtimes = [r.strip() for r in args.runtimes.split(",") if r.strip()]
    unknown = set(args.runtimes) - set(EXACT)
    if unknown:
        p.error(f"not exact float32 runtimes: {sorted(unknown)} (known: {EXACT})")
    if "full-eager" not in args.runtimes:
        args.runtimes.insert(0, "full-eager")  # the official computation: every ratio's base
    args.threads = set_threads(args.threads)
    pkgs = package_versions()
    load_start = load_average()
    header = (f"CPU: {cpu_model()} | flags: {' '.join(cpu_flags()) or '?'} | {args.threads} "
              f"thread(s) | torch {pkgs.get('torch')}, onnxruntime {pkgs.get('onnxruntime')}, "
              f"mfv2bench {pkgs.get('mfv2bench')} | random weights, batch 1, float32 | "
              f"{args.rounds} rounds x {args.iters} steps, {args.mm_iters} products per shape, "
              f"interleaved | load average at start {load_start}")
    print(header, flush=True)
    results = []
    cores = os.cpu_count() or 1
    cpu_decides = args.threads == 1 and (load_start or [0])[0] > 0.5 * cores
    for v in [x.strip() for x in args.variants.split(",") if x.strip()]:
        res = bench_variant(v, args)
        results.append(res)
        print(format_variant(res, cpu_decides), flush=True)
    load_end = load_average()
    loaded = any((la or [0])[0] > 0.5 * cores for la in (load_start, load_end))
    print(f"\nload average at end {load_end}"
          + (" -- the machine was LOADED: absolute times are inflated; the fractions and ratios "
             "are taken in the same interleaved rounds" if loaded else ""))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump({"cpu": cpu_model(), "flags": cpu_flags(), "threads": args.threads,
                       "packages": pkgs, "load_start": load_start, "load_end": load_end,
                       "results": results}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
