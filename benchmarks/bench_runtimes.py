"""MixFormerV2 Small (and Base with ``--base``) per-frame model latency on the CPU under several
runtimes, in one run: the official computation (``full-eager``: templates re-encoded every frame,
what ``cached = false`` / ``mfv2-s-full`` runs), our cached eager path (explicit attention), fused
attention (SDPA), torch.compile (inductor, frozen weights), ONNX Runtime -- all float32 -- and,
as reduced-precision options, the tracker's bf16 runtimes ``bf16`` (SDPA under bfloat16 autocast)
and ``compile-bf16`` (the same compiled, frozen weights): matmuls in bf16 with fp32 accumulation;
needs a CPU with bf16 instructions. All but ``full-eager`` use the template-side cache.

Prints median/p90 latency, FPS (= 1000 / median), the ratios against both baselines measured in
the same run -- our cached eager path (``vs eager``) and the official full-recompute eager forward
(``vs full``) -- and the largest output difference against eager (boxes and score). Runtimes are
timed in interleaved rounds so that a noisy, shared machine hurts all of them alike. Weights are
random (latency does not depend on weight values). Target: best runtime >= 1.5x eager for Small
with outputs matching eager: float32 runtimes within 1e-4, bf16 runtimes within 2e-3 on the box
(normalised to the search crop: about 0.5 px on a 224-288 px crop) and 1e-2 on the score logit.

    .venv/bin/python benchmarks/bench_runtimes.py [--base | --variants small,base] [--threads 2]
        [--iters 8] [--rounds 3] [--runtimes eager,sdpa,compile,onnxruntime] [--json out.json]
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import json
import sys
import time
from typing import Any, Callable

import torch
from torch import nn

from mfv2bench.provenance import hardware_manifest
from mfv2bench.speed.model_latency import synthetic_inputs
from mfv2bench.speed.timing import summarize_ms, time_callable
from mfv2bench.threads import available_cores, set_threads

RUNTIMES = ("full-eager", "eager", "sdpa", "compile", "onnxruntime", "onednn", "bf16",
            "compile-bf16")
# the ratios are taken against these; eager is always measured, full-eager is in the default
# list (an explicit --runtimes list measures it only where named)
BASELINES = ("full-eager", "eager")
# Largest allowed |difference| to eager per output kind: float32 runtimes differ only by kernel
# order; bf16 matmuls (8-bit mantissa) move the box by a fraction of a pixel.
TOLERANCE = {"fp32": {"box": 1e-4, "score": 1e-4}, "bf16": {"box": 2e-3, "score": 1e-2}}


def precision_of(runtime: str) -> str:
    return "bf16" if runtime == "bf16" or runtime.endswith("-bf16") else "fp32"


def _replace(config: Any, **changes: Any) -> Any:
    if dataclasses.is_dataclass(config):
        return dataclasses.replace(config, **changes)
    return {**config, **changes}


def _get(config: Any, key: str) -> Any:
    return config[key] if isinstance(config, dict) else getattr(config, key)


def build_model(variant: str, overrides: dict[str, Any]) -> tuple[nn.Module, Any]:
    """The variant with seeded random weights and explicit (eager) attention, and its config."""
    from mfv2bench.trackers.mixformerv2 import model as mfv2
    from mfv2bench.trackers.mixformerv2.config import VARIANTS

    cfg = _replace(VARIANTS[variant], **overrides, attention="eager")
    return mfv2.init_random_weights(mfv2.build_model(cfg)).eval(), cfg


def _freeze_when_compiling() -> None:
    """Inductor with frozen weights: constant-folded, pre-packed oneDNN matmuls on the CPU."""
    import torch._inductor.config as inductor_config

    inductor_config.freezing = True


def bf16_supported() -> bool:
    """Whether this CPU has native bf16 matmul support (else bf16 is emulated and slow)."""
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def _engine(model: nn.Module, runtime: str, threads: int) -> Any:
    """The tracker's own engine for ``runtime`` (a private copy of the model each);
    ``full-eager`` is the eager engine without the template cache (the official computation)."""
    from mfv2bench.trackers.mixformerv2.runtimes import make_engine

    m = copy.deepcopy(model)
    if runtime == "full-eager":
        with torch.inference_mode():
            return make_engine(m, "eager", cached=False)
    if runtime == "compile":
        _freeze_when_compiling()
        m.set_attention("sdpa")
    options = {"threads": threads} if runtime == "onnxruntime" else {}
    with torch.inference_mode(runtime != "onnxruntime"):
        return make_engine(m, runtime, cached=True, **options)


def make_runtimes(model: nn.Module, template: torch.Tensor, online: torch.Tensor,
                  search: torch.Tensor, wanted: list[str], threads: int
                  ) -> tuple[dict[str, Callable[[], Any]], dict[str, str], dict[str, float]]:
    """Per-frame callables (``engine.step(search)`` after ``set_templates``) for each runtime,
    with set-up notes and set-up seconds (export, compilation and the first call)."""
    steps: dict[str, Callable[[], Any]] = {}
    notes: dict[str, str] = {}
    setup: dict[str, float] = {}
    for name in wanted:
        bf16 = precision_of(name) == "bf16"
        if bf16 and not bf16_supported():
            notes[name] = "skipped: this CPU has no native bf16 matmuls"
            continue
        t0 = time.perf_counter()
        try:
            engine = _engine(model, name, threads)

            def run(engine=engine, onnx=name == "onnxruntime"):
                with torch.inference_mode(not onnx):  # bf16 engines enter autocast themselves
                    return engine.step(search)

            with torch.inference_mode(name != "onnxruntime"):
                engine.set_templates(template, online)
            run()  # compilation / session start-up happens here, not in the timings
            steps[name] = run
        except Exception as exc:  # noqa: BLE001 - one failing runtime must not stop the others
            notes[name] = f"skipped: {type(exc).__name__}: {str(exc).splitlines()[0][:120]}"
        setup[name] = time.perf_counter() - t0
    return steps, notes, setup


def output_diffs(ref: tuple[torch.Tensor, float], out: tuple[torch.Tensor, float]
                 ) -> dict[str, float]:
    """Largest |difference| to eager of the box (cx, cy, w, h normalised to the search crop)
    and of the score logit."""
    return {"box": float((out[0].float() - ref[0].float()).abs().max()),
            "score": abs(float(out[1]) - float(ref[1]))}


def matches(runtime: str, diffs: dict[str, float]) -> bool:
    tol = TOLERANCE[precision_of(runtime)]
    return all(d <= tol[kind] for kind, d in diffs.items())


def bench_variant(variant: str, args: argparse.Namespace) -> dict[str, Any]:
    overrides = json.loads(args.overrides) if args.overrides else {}
    model, cfg = build_model(variant, overrides)
    t_size, s_size = int(_get(cfg, "template_size")), int(_get(cfg, "search_size"))
    template, online, search = synthetic_inputs(t_size, s_size, batch=1)
    steps, notes, setup = make_runtimes(model, template, online, search, args.runtimes,
                                        args.threads)
    ref = steps["eager"]() if "eager" in steps else None
    samples: dict[str, list[float]] = {k: [] for k in steps}
    for k, step in steps.items():  # warm-up once each
        for _ in range(args.warmup):
            step()
    for _ in range(args.rounds):  # interleaved rounds: shared-machine noise hits all alike
        for k, step in steps.items():
            samples[k] += time_callable(step, warmup=0, iters=args.iters)
    rows = []
    eager_median = summarize_ms(samples["eager"]).median_ms if "eager" in samples else None
    full_median = summarize_ms(samples["full-eager"]).median_ms if "full-eager" in samples else None
    for k in args.runtimes:
        if k not in steps:
            rows.append({"variant": variant, "runtime": k, "note": notes.get(k, "not run")})
            continue
        stats = summarize_ms(samples[k])
        diffs = output_diffs(ref, steps[k]())
        rows.append({
            "variant": variant, "runtime": k, "precision": precision_of(k),
            "median_ms": stats.median_ms, "p90_ms": stats.p90_ms, "fps": stats.fps,
            "n": stats.n, "vs_eager": eager_median / stats.median_ms if eager_median else None,
            "vs_full": full_median / stats.median_ms if full_median else None,
            "box_diff": diffs.get("box"), "score_diff": diffs.get("score"),
            "max_abs_diff": max(diffs.values()), "matches_eager": matches(k, diffs),
            "setup_s": setup.get(k), "note": notes.get(k, ""),
        })
    return {"variant": variant, "template_size": t_size, "search_size": s_size, "rows": rows}


def _ratio(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}x"


def format_rows(results: list[dict[str, Any]]) -> str:
    head = f"{'variant':8} {'runtime':13} {'median ms':>10} {'p90 ms':>8} {'FPS':>7} " \
           f"{'vs eager':>9} {'vs full':>8} {'box |d|':>9} {'score |d|':>9}  ok  note"
    lines = [head]
    for res in results:
        for r in res["rows"]:
            if "median_ms" not in r:
                lines.append(f"{r['variant']:8} {r['runtime']:13} {'-':>10} {'':>8} {'':>7} "
                             f"{'':>9} {'':>8} {'':>9} {'':>9}  --  {r['note']}")
                continue
            note = r["note"] or (f"setup {r['setup_s']:.1f}s" if r.get("setup_s") else "")
            lines.append(
                f"{r['variant']:8} {r['runtime']:13} {r['median_ms']:10.2f} {r['p90_ms']:8.2f} "
                f"{r['fps']:7.1f} {_ratio(r['vs_eager']):>9} {_ratio(r['vs_full']):>8} {r['box_diff']:9.2e} "
                f"{r['score_diff']:9.2e}  {'ok' if r['matches_eager'] else 'NO'}  {note}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--variants", default="small")
    p.add_argument("--base", action="store_true", help="also Base (same as --variants small,base)")
    p.add_argument("--runtimes", default=",".join(RUNTIMES),
                   help="comma-separated; eager is always added, full-eager only where named "
                        "(it is in the default list)")
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--iters", type=int, default=8, help="timed calls per runtime per round")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--overrides", default=None,
                   help='JSON config overrides, e.g. \'{"depth": 1}\' for a quick check')
    p.add_argument("--json", default=None, help="also write the results here")
    args = p.parse_args(argv)
    args.runtimes = [r.strip() for r in args.runtimes.split(",") if r.strip()]
    unknown = set(args.runtimes) - set(RUNTIMES)
    if unknown:
        p.error(f"unknown runtimes: {sorted(unknown)}")
    if "eager" not in args.runtimes:
        args.runtimes.insert(1 if args.runtimes[:1] == ["full-eager"] else 0, "eager")
    variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    if args.base and "base" not in variants:
        variants.append("base")
    args.threads = set_threads(args.threads or available_cores())
    results = [bench_variant(v, args) for v in variants]
    manifest = hardware_manifest("cpu", args.threads, precision="fp32", weights="random weights")
    print(f"CPU: {manifest['cpu']['model']}, {args.threads} thread(s), torch "
          f"{manifest['packages']['torch']}, onnxruntime {manifest['packages']['onnxruntime']}, "
          f"load {manifest['load_average']}; random weights; model latency, cached templates, "
          f"batch 1; {args.rounds} rounds x {args.iters} calls per runtime; tolerances {TOLERANCE}; "
          f"'vs eager' = ratio to our cached eager path, 'vs full' = ratio to the official "
          f"full-recompute eager forward (full-eager)")
    print(format_rows(results))
    for res in results:
        for label, keep in (("float32", ("fp32",)), ("any precision", ("fp32", "bf16"))):
            ok = [r for r in res["rows"] if r.get("matches_eager") and r["runtime"] not in BASELINES
                  and r["precision"] in keep]
            if ok:
                best = max(ok, key=lambda r: r["vs_eager"])
                print(f"{res['variant']}: best {label} runtime = {best['runtime']} at "
                      f"{best['vs_eager']:.2f}x cached eager, {_ratio(best['vs_full'])} full eager "
                      f"(official computation), outputs matching eager (target for small: >= 1.5x)")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump({"manifest": manifest, "results": results}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
