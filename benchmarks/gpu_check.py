"""Every CUDA check of mfv2bench in one run of under 8 minutes, for the day a GPU is available:
prints one table and writes JSON (``--out``).

Run from the repository root after the README set-up (the package installed in ``.venv``). On a
GPU machine install WITHOUT ``-c constraints.txt`` (it pins the CPU build of torch), so that a
CUDA build of torch is kept or installed: ``.venv/bin/pip install -e ".[all,dev]"``. Then::

    .venv/bin/python benchmarks/gpu_check.py --out gpu_check.json            # on a GPU machine
    .venv/bin/python benchmarks/gpu_check.py --dry-run --out /tmp/dry.json   # CPU, seconds

Options: ``--variants small,base``, ``--precisions fp32,fp16,bf16``, ``--sections ...``,
``--iters 50 --warmup 10``, ``--max-autotune``, ``--budget 420`` (seconds for the whole run).

Sections (each guarded by its own time budget; one that fails or runs out of time is a row of
the table and of the JSON, the others still run; the JSON is rewritten after every section):

- ``env``: torch, CUDA, cuDNN, GPU name / capability / memory / driver, TF32 settings, CPU.
- ``parity``: the tracker's engine on the device against the same engine on the CPU in float32,
  SAME seeded random weights and inputs (3 search crops), Small and Base: largest |difference| of
  the box (cx, cy, w, h normalised to the search crop) and of the score logit. Rows: fp32 with
  TF32 off (must agree within 1e-4) and the official full recompute (``cached = false``) in fp32
  (same bound); fp32 with torch's default TF32 settings (TF32 in cuDNN convolutions), fp16 and
  bf16 autocast (within 2e-3 on the box and 1e-2 on the score, the bound ``bench_runtimes.py``
  uses for bf16).
- ``latency``: per-frame engine step (``engine.step(search)``, box read back to the host as the
  tracker does) for Small and Base, fp32 (explicit attention: the exact runtime), fp32 with fused
  attention (SDPA), fp16 and bf16 autocast (SDPA), and the official full recompute in fp32:
  CUDA events around each call, warm-up, median of N; ratios against fp32 eager of the variant.
- ``memory``: weights and peak ``torch.cuda.max_memory_allocated`` of each latency row.
- ``eval``: ``mfv2bench eval`` (the app layer's ``evaluate_spec``: runner, worker process,
  results store, metrics) on a synthetic LaSOT-layout split, on the device: the trained micro
  model (its AUC means something) and Small with random weights (speed only); the micro model
  also on the CPU, and its boxes compared frame by frame with the device run (tracking parity).
- ``cuda_graphs``: the cached search step captured in a CUDA graph (``torch.cuda.graph``) per
  variant and precision: latency against the same step without the graph, outputs compared.
- ``compile``: ``torch.compile`` (inductor; ``--max-autotune`` optional) of the per-frame step per
  variant and precision; compile time, latency, ratio, outputs compared with the eager engine.

``--dry-run`` runs every section on the CPU with a tiny network and a tiny split: CUDA events
become ``perf_counter``, compilation uses the ``eager`` backend (the dynamo path, no inductor
C++ build), CUDA graphs are skipped, memory figures are absent. It is what tests run.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import json
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

from mfv2bench.app.evaluation import evaluate_spec
from mfv2bench.datasets.synthetic import ensure_synthetic
from mfv2bench.devices import is_cuda, synchronize
from mfv2bench.provenance import cpu_model, gpu_info, hardware_manifest
from mfv2bench.results.readers import parse_box_file
from mfv2bench.results.store import ResultsStore
from mfv2bench.speed.eval_timings import eval_timing_summary
from mfv2bench.speed.model_latency import synthetic_inputs
from mfv2bench.speed.timing import summarize_ms, time_callable
from mfv2bench.threads import available_cores, set_threads
from mfv2bench.trackers.mixformerv2.config import VARIANTS
from mfv2bench.trackers.mixformerv2.model import MixFormerV2, build_model, init_random_weights
from mfv2bench.trackers.mixformerv2.runtimes import SearchStep, TemplateStep, TorchEngine
from mfv2bench.trackers.specs import SpecRegistry
from mfv2bench.workspace import load_workspace

REPO = Path(__file__).resolve().parents[1]
TOTAL_BUDGET_S = 420.0  # the whole run; + one grace period + imports stays under 8 min (480 s)
# per-section caps (seconds) on a GPU; compile gets what is left. Order = run order: the cheap,
# most telling checks first, so a budget cut loses only compiled rows.
SECTION_CAPS = {"env": 20, "parity": 45, "latency": 75, "memory": 5, "eval": 110,
                "cuda_graphs": 45, "compile": 10_000}
SECTIONS = tuple(SECTION_CAPS)
TOLERANCE = {"fp32": {"box": 1e-4, "score": 1e-4}, "reduced": {"box": 2e-3, "score": 1e-2}}
DTYPES = {"fp32": None, "fp16": torch.float16, "bf16": torch.bfloat16}
# latency modes: (label, precision, attention)
LATENCY_MODES = (("fp32", "fp32", "eager"), ("fp32-sdpa", "fp32", "sdpa"),
                 ("fp16", "fp16", "sdpa"), ("bf16", "bf16", "sdpa"))
TINY = {"embed_dim": 32, "num_heads": 2, "depth": 1, "template_size": 32, "search_size": 64}
DATASET = "synthetic-lasot"


class SectionTimeout(Exception):
    """A section ran past its hard limit (its budget plus a grace period)."""


class Budget:
    """Wall-clock deadlines: the whole run and the section in progress."""

    def __init__(self, total_s: float):
        self.start = time.monotonic()
        self.end = self.start + total_s
        self.section_end = self.end

    def open_section(self, cap_s: float) -> float:
        self.section_end = min(self.end, time.monotonic() + cap_s)
        return self.section_end - time.monotonic()

    def left(self) -> float:
        """Seconds left in the current section."""
        return self.section_end - time.monotonic()

    def total_left(self) -> float:
        return self.end - time.monotonic()


@contextlib.contextmanager
def hard_limit(seconds: float):
    """SIGALRM after ``seconds`` raises SectionTimeout in this (main) thread; no-op elsewhere."""
    if seconds <= 0 or not hasattr(signal, "setitimer") or \
            threading.current_thread() is not threading.main_thread():
        yield
        return

    def fire(_signum, _frame):
        raise SectionTimeout(f"hard time limit of {seconds:.0f} s reached")

    old = signal.signal(signal.SIGALRM, fire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


# ----------------------------------------------------------------------------------- helpers

def model_config(variant: str, dry: bool) -> dict[str, Any]:
    cfg = dict(VARIANTS[variant])
    if dry:  # tiny network, same code: base keeps one more block than small
        cfg.update(TINY, depth=2 if variant == "base" else 1)
    return cfg


def random_model(variant: str, dry: bool) -> MixFormerV2:
    """The variant with seeded random weights (seed 0), float32 on the CPU."""
    return init_random_weights(build_model(model_config(variant, dry)), seed=0).eval()


def on_device(model: MixFormerV2, device: str, attention: str) -> MixFormerV2:
    m = copy.deepcopy(model).to(device).eval()
    m.set_attention(attention)
    return m


def inputs(model: MixFormerV2, device: str, n_search: int = 1):
    """(template, online, [search crops]) as the tracker feeds them: float32, normalised-looking."""
    cfg = model.config
    t, o, s = synthetic_inputs(cfg["template_size"], cfg["search_size"], seed=0)
    searches = [s] + [synthetic_inputs(cfg["template_size"], cfg["search_size"], seed=k)[2]
                      for k in range(1, n_search)]
    return t.to(device), o.to(device), [x.to(device) for x in searches]


def engine_for(model: MixFormerV2, precision: str, cached: bool = True, compile: bool = False
               ) -> TorchEngine:
    """The tracker's own PyTorch engine (autocast for fp16 / bf16, as runtime 'bf16' does).
    Compiled reduced precision freezes the weights on the CPU (as 'compile-bf16'), not on a GPU
    (freezing pre-packs oneDNN weights: a CPU gain)."""
    on_cpu = next(model.parameters()).device.type == "cpu"
    with torch.inference_mode():
        return TorchEngine(model, cached=cached, compile=compile, autocast=DTYPES[precision],
                           freeze=compile and precision != "fp32" and on_cpu)


def run_step(engine: Any, search: torch.Tensor) -> tuple[torch.Tensor, float]:
    with torch.inference_mode():
        return engine.step(search)


def set_templates(engine: Any, template: torch.Tensor, online: torch.Tensor) -> None:
    with torch.inference_mode():
        engine.set_templates(template, online)


def diffs(ref: tuple[torch.Tensor, float], out: tuple[torch.Tensor, float]) -> dict[str, float]:
    return {"box": float((out[0].float() - ref[0].float()).abs().max()),
            "score": abs(float(out[1]) - float(ref[1]))}


def within(d: dict[str, float], precision: str) -> bool:
    """``precision``: fp32 (1e-4 bound) or anything else (the reduced-precision bound)."""
    tol = TOLERANCE["fp32" if precision == "fp32" else "reduced"]
    return d["box"] <= tol["box"] and d["score"] <= tol["score"]


@contextlib.contextmanager
def tf32(enabled: bool | None):
    """TF32 for CUDA matmuls and convolutions on (True), off (False) or as torch has it (None)."""
    old = (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32)
    if enabled is not None:
        torch.backends.cuda.matmul.allow_tf32 = enabled
        torch.backends.cudnn.allow_tf32 = enabled
    try:
        yield
    finally:
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = old


def reset_peak(device: str) -> None:
    if is_cuda(device):
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(torch.device(device))


def peak_mb(device: str) -> float | None:
    if is_cuda(device):
        return torch.cuda.max_memory_allocated(torch.device(device)) / 2**20
    return None


def weights_mb(model: MixFormerV2) -> float:
    return sum(p.numel() * p.element_size() for p in model.parameters()) / 2**20


def timed(fn: Callable[[], Any], device: str, args: argparse.Namespace) -> dict[str, float]:
    """Median / p90 ms and FPS of ``fn`` (CUDA events on a GPU, perf_counter on the CPU)."""
    stats = summarize_ms(time_callable(fn, device=device, warmup=args.warmup, iters=args.iters))
    return {"median_ms": stats.median_ms, "p90_ms": stats.p90_ms, "fps": stats.fps, "n": stats.n}


def skipped_for_time(rows: list[dict[str, Any]], what: str) -> None:
    rows.append({"check": what, "status": "skipped", "note": "time budget of the section used up"})


# ----------------------------------------------------------------------------------- sections

def section_env(ctx: dict[str, Any], args: argparse.Namespace, budget: Budget) -> dict[str, Any]:
    dev = args.device
    info = {"torch": torch.__version__, "cuda_build": torch.version.cuda,
            "cuda_available": torch.cuda.is_available(), "device": dev,
            "gpu": gpu_info(dev), "cpu": cpu_model(), "cores": available_cores(),
            "tf32_matmul": torch.backends.cuda.matmul.allow_tf32,
            "tf32_cudnn": torch.backends.cudnn.allow_tf32,
            "float32_matmul_precision": torch.get_float32_matmul_precision(),
            "dry_run": args.dry_run}
    gpu = info["gpu"]
    value = (f"{gpu['name']} cc {gpu['capability']}, {gpu['memory_gib']} GiB, driver {gpu['driver']}"
             if gpu else "CPU dry run")
    rows = [{"check": "device", "status": "ok", "value": value,
             "note": f"torch {torch.__version__}, CUDA {torch.version.cuda}, TF32 matmul "
                     f"{info['tf32_matmul']} / cuDNN {info['tf32_cudnn']}"}]
    return {"info": info, "rows": rows}


def section_parity(ctx: dict[str, Any], args: argparse.Namespace, budget: Budget) -> dict[str, Any]:
    """Device vs CPU, same weights and inputs; the CPU fp32 cached eager engine is the reference."""
    rows: list[dict[str, Any]] = ctx["rows"]  # kept if the section is stopped
    dev = args.device
    # (label, precision, TF32 setting, cached, tolerance class). torch's defaults allow TF32
    # (10-bit mantissa) in cuDNN convolutions -- the patch embedding -- so that row is held to
    # the reduced-precision bound; with TF32 off the device must match the CPU as fp32 does.
    cases = [("fp32 (TF32 off)", "fp32", False, True, "fp32"),
             ("fp32 (torch TF32 defaults)", "fp32", None, True, "reduced"),
             ("fp16 autocast", "fp16", None, True, "reduced"),
             ("bf16 autocast", "bf16", None, True, "reduced"),
             ("fp32 full recompute (TF32 off)", "fp32", False, False, "fp32")]
    for variant in args.variants:
        model = ctx["models"][variant]
        t, o, searches = inputs(model, "cpu", n_search=3)
        ref_engine = engine_for(copy.deepcopy(model), "fp32")
        set_templates(ref_engine, t, o)
        refs = [run_step(ref_engine, s) for s in searches]
        for label, precision, tf, cached, tol in cases:
            check = f"{variant} {label}"
            if budget.left() < 2:
                skipped_for_time(rows, check)
                continue
            try:
                m = on_device(model, dev, "eager" if precision == "fp32" else "sdpa")
                with tf32(tf):
                    eng = engine_for(m, precision, cached=cached)
                    set_templates(eng, t.to(dev), o.to(dev))
                    outs = [run_step(eng, s.to(dev)) for s in searches]
                d = {k: max(diffs(r, x)[k] for r, x in zip(refs, outs)) for k in ("box", "score")}
                ok = within(d, tol)
                rows.append({"check": check, "status": "ok" if ok else "MISMATCH",
                             "box_diff": d["box"], "score_diff": d["score"],
                             "tolerance": TOLERANCE[tol],
                             "value": f"box {d['box']:.1e} score {d['score']:.1e}",
                             "note": f"vs CPU fp32 cached eager, {len(searches)} search crops"})
                del m, eng
            except Exception as exc:  # noqa: BLE001 - one case must not lose the others
                rows.append(failure_row(check, exc))
    return {"rows": rows}


def section_latency(ctx: dict[str, Any], args: argparse.Namespace, budget: Budget) -> dict[str, Any]:
    rows: list[dict[str, Any]] = ctx["rows"]  # kept if the section is stopped
    dev = args.device
    for variant in args.variants:
        model = ctx["models"][variant]
        t, o, (s,) = inputs(model, dev)
        base_ms = None
        modes = [(label, prec, attn, True) for label, prec, attn in LATENCY_MODES]
        modes.append(("fp32 full recompute", "fp32", "eager", False))
        for label, precision, attention, cached in modes:
            check = f"{variant} {label} eager"
            if precision not in args.precisions:
                continue
            if budget.left() < 3:
                skipped_for_time(rows, check)
                continue
            try:
                reset_peak(dev)
                m = on_device(model, dev, attention)
                eng = engine_for(m, precision, cached=cached)
                set_templates(eng, t, o)
                res = timed(lambda eng=eng: run_step(eng, s), dev, args)
                base_ms = base_ms or (res["median_ms"] if label == "fp32" else None)
                row = {"check": check, "status": "ok", "variant": variant, "precision": precision,
                       "attention": attention, "cached": cached, **res,
                       "vs_fp32_eager": base_ms / res["median_ms"] if base_ms else None,
                       "peak_mb": peak_mb(dev), "weights_mb": weights_mb(m)}
                row["value"] = f"{res['median_ms']:.2f} ms ({res['fps']:.0f} FPS)"
                row["note"] = (f"{row['vs_fp32_eager']:.2f}x fp32 eager" if row["vs_fp32_eager"]
                               else "") + (f", peak {row['peak_mb']:.0f} MB" if row["peak_mb"] else "")
                rows.append(row)
                del m, eng
            except Exception as exc:  # noqa: BLE001
                rows.append(failure_row(check, exc))
    ctx["latency_rows"] = rows
    return {"rows": rows, "timing": "CUDA events" if is_cuda(dev) else "perf_counter (CPU)",
            "warmup": args.warmup, "iters": args.iters}


def section_memory(ctx: dict[str, Any], args: argparse.Namespace, budget: Budget) -> dict[str, Any]:
    rows: list[dict[str, Any]] = ctx["rows"]
    for r in ctx.get("latency_rows", []):
        if r.get("status") != "ok":
            continue
        peak = r.get("peak_mb")
        rows.append({"check": r["check"].replace(" eager", ""), "status": "ok" if peak else "n/a",
                     "weights_mb": r["weights_mb"], "peak_mb": peak,
                     "value": f"peak {peak:.0f} MB" if peak else "-",
                     "note": f"weights {r['weights_mb']:.0f} MB (fp32 parameters)"
                             + ("" if peak else "; no CUDA memory statistics on the CPU")})
    if not rows:
        raise RuntimeError("no latency row to take memory figures from")
    return {"rows": rows, "measure": "torch.cuda.max_memory_allocated after set_templates + steps"}


def section_eval(ctx: dict[str, Any], args: argparse.Namespace, budget: Budget) -> dict[str, Any]:
    """``evaluate_spec`` (what ``mfv2bench eval`` runs) on the device and, for tracking parity,
    the micro model on the CPU; boxes compared frame by frame."""
    dev = args.device
    workdir = Path(args.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "mfv2bench.toml").write_text("[paths]\n", encoding="utf-8")
    ws = load_workspace(workdir)
    ensure_synthetic("lasot", ws.data_root(DATASET), n_sequences=args.eval_sequences,
                     n_frames=args.eval_frames, seed=11)
    registry = SpecRegistry(REPO / "trackers", REPO)  # the repository's specs and checkpoints
    dev_tag = dev.replace(":", "")
    runs = [(f"gpu-check-micro-{dev_tag}", "mfv2-micro", dev),
            ("gpu-check-micro-cpu", "mfv2-micro", "cpu")]
    if not args.dry_run:
        runs.append((f"gpu-check-s-random-{dev_tag}", "mfv2-s-random", dev))
    rows: list[dict[str, Any]] = ctx["rows"]  # kept if the section is stopped
    done: dict[str, Any] = {}
    for name, parent, device in runs:
        if name in done:  # dry run: device is the CPU too; same name, one run
            continue
        registry.add(name, {"extends": parent})
        check = f"eval {parent} on {device}"
        if budget.left() < 5:
            skipped_for_time(rows, check)
            continue
        try:
            t0 = time.perf_counter()
            ev = evaluate_spec(name, DATASET, workspace=ws, registry=registry, device=device,
                               jobs=1, threads=args.eval_threads if device == "cpu" else 1,
                               force=True, progress=False,
                               timeout_sequence=max(10.0, budget.left()))
            wall = time.perf_counter() - t0
            frames = sum(sq.n_frames for sq in ev.run.split.sequences)
            scores = ev.analysis.overall[name] if ev.analysis is not None else None
            trk = eval_timing_summary(ev.run.folder)
            row = {"check": check, "status": "ok" if ev.ok and ev.run.complete else "FAILED",
                   "device": device, "frames": frames, "wall_s": wall, "fps_wall": frames / wall,
                   "fps_tracker": trk["fps"], "auc": scores.auc if scores else None,
                   "p20": scores.p20 if scores else None, "np20": scores.np20 if scores else None,
                   "random_weights": ev.random_weights, "failed": dict(ev.run.failed)}
            row["value"] = f"{row['fps_tracker']:.0f} FPS tracker ({row['fps_wall']:.0f} e2e)"
            row["note"] = ("random weights: speed only" if ev.random_weights else
                           f"AUC {row['auc']:.1f}" if row["auc"] is not None else "no metrics")
            done[name] = ev
            rows.append(row)
        except Exception as exc:  # noqa: BLE001
            rows.append(failure_row(check, exc))
    dev_name, cpu_name = runs[0][0], runs[1][0]
    if dev_name in done and cpu_name in done:
        rows.append(tracking_parity(done[dev_name], done[cpu_name], dev))
    return {"rows": rows, "dataset": str(ws.data_root(DATASET)),
            "sequences": args.eval_sequences, "frames": args.eval_frames}


def tracking_parity(dev_ev: Any, cpu_ev: Any, device: str) -> dict[str, Any]:
    """Per-frame boxes of the same tracker on the device and on the CPU: largest |difference|
    in pixels and mean IoU (a tracker may drift apart after a tiny numeric difference; the
    model-level parity section is the strict check)."""
    key = dev_ev.run.split.key
    a_store, b_store = ResultsStore(dev_ev.run.results_dir), ResultsStore(cpu_ev.run.results_dir)
    worst, ious = 0.0, []
    for seq in dev_ev.run.split.sequences:
        a = parse_box_file(a_store.boxes_path(dev_ev.run.tracker, key, seq.name))
        b = parse_box_file(b_store.boxes_path(cpu_ev.run.tracker, key, seq.name))
        worst = max(worst, float(np.abs(a - b).max()))
        ious.append(box_iou(a, b))
    iou = float(np.concatenate(ious).mean())
    return {"check": f"eval mfv2-micro {device} vs cpu boxes", "status": "ok" if iou > 0.99 else "DIFFERS",
            "max_box_diff_px": worst, "mean_iou": iou, "value": f"mean IoU {iou:.4f}",
            "note": f"largest box difference {worst:.2e} px"}


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of matching (x, y, w, h) rows."""
    x1, y1 = np.maximum(a[:, 0], b[:, 0]), np.maximum(a[:, 1], b[:, 1])
    x2 = np.minimum(a[:, 0] + a[:, 2], b[:, 0] + b[:, 2])
    y2 = np.minimum(a[:, 1] + a[:, 3], b[:, 1] + b[:, 3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    union = a[:, 2] * a[:, 3] + b[:, 2] * b[:, 3] - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1), 1.0)


def graphed_step(model: MixFormerV2, template: torch.Tensor, online: torch.Tensor,
                 search: torch.Tensor, precision: str) -> Callable[[], tuple[torch.Tensor, float]]:
    """The cached search step captured once in a CUDA graph; each call copies the search crop
    into the static input, replays, and reads the box back (as ``engine.step`` does)."""
    dtype = DTYPES[precision]

    def autocast():
        return torch.autocast("cuda", dtype=dtype or torch.float16, enabled=dtype is not None,
                              cache_enabled=False)

    step = SearchStep(model)
    with torch.inference_mode(), autocast():
        kt, vt = TemplateStep(model)(template, online)
        static = search.clone()
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):
            for _ in range(3):
                step(static, kt, vt)
        torch.cuda.current_stream().wait_stream(side)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            boxes, scores = step(static, kt, vt)

    def run() -> tuple[torch.Tensor, float]:
        with torch.inference_mode():
            static.copy_(search)
            graph.replay()
            return boxes.reshape(-1, 4).float().cpu(), float(scores.reshape(-1)[0])
    return run


def section_cuda_graphs(ctx: dict[str, Any], args: argparse.Namespace, budget: Budget
                        ) -> dict[str, Any]:
    dev = args.device
    if not is_cuda(dev):
        return {"status": "skipped", "rows": [{"check": "cuda graphs", "status": "skipped",
                                               "note": "CPU dry run: CUDA graphs need a GPU"}]}
    rows: list[dict[str, Any]] = ctx["rows"]  # kept if the section is stopped
    for variant in args.variants:
        model = ctx["models"][variant]
        t, o, (s,) = inputs(model, dev)
        for precision in args.precisions:
            check = f"{variant} {precision} cuda graph"
            if budget.left() < 5:
                skipped_for_time(rows, check)
                continue
            try:
                m = on_device(model, dev, "eager" if precision == "fp32" else "sdpa")
                eng = engine_for(m, precision)
                set_templates(eng, t, o)
                plain = timed(lambda eng=eng: run_step(eng, s), dev, args)
                fn = graphed_step(m, t, o, s, precision)
                graphed = timed(fn, dev, args)
                d = diffs(run_step(eng, s), fn())
                gain = plain["median_ms"] / graphed["median_ms"]
                rows.append({"check": check, "status": "ok" if within(d, precision) else "MISMATCH",
                             "median_ms": graphed["median_ms"], "eager_ms": plain["median_ms"],
                             "speedup": gain, "helps": gain > 1.05, "box_diff": d["box"],
                             "score_diff": d["score"],
                             "value": f"{graphed['median_ms']:.2f} ms",
                             "note": f"{gain:.2f}x the eager step ({plain['median_ms']:.2f} ms): "
                                     + ("helps" if gain > 1.05 else "no help")
                                     + f"; box |d| {d['box']:.1e}"})
                del m, eng, fn
            except Exception as exc:  # noqa: BLE001
                rows.append(failure_row(check, exc))
    return {"rows": rows}


def section_compile(ctx: dict[str, Any], args: argparse.Namespace, budget: Budget) -> dict[str, Any]:
    """torch.compile of the engine's per-frame step; on the CPU dry run with the 'eager' backend
    (dynamo traces the same graph, no inductor build)."""
    dev = args.device
    rows: list[dict[str, Any]] = ctx["rows"]  # kept if the section is stopped
    if args.max_autotune and is_cuda(dev):
        import torch._inductor.config as inductor_config

        inductor_config.max_autotune = True
    import torch._dynamo

    for key in ("recompile_limit", "cache_size_limit"):  # one compiled step per row, same code
        if hasattr(torch._dynamo.config, key):
            setattr(torch._dynamo.config, key, 64)
    last_compile_s = 0.0
    order = [(v, p) for p in args.precisions for v in args.variants]  # small first per precision
    order.sort(key=lambda vp: (vp[0] != "small", args.precisions.index(vp[1])))
    if args.dry_run:  # the code path is the same for every row: two rows (plain and autocast)
        order = [vp for vp in order if vp[0] == order[0][0] and vp[1] in ("fp32", "bf16")][:2]
    for variant, precision in order:
        check = f"{variant} {precision} compiled"
        if budget.left() < max(10.0, 1.3 * last_compile_s):
            skipped_for_time(rows, check)
            continue
        try:
            model = ctx["models"][variant]
            t, o, (s,) = inputs(model, dev)
            m = on_device(model, dev, "eager" if precision == "fp32" else "sdpa")
            eager = engine_for(m, precision)
            set_templates(eager, t, o)
            plain = timed(lambda eng=eager: run_step(eng, s), dev, args)
            ref = run_step(eager, s)
            comp = engine_for(m, precision, compile=True)
            if args.dry_run:
                comp.step_module = torch.compile(comp.step_module._orig_mod, backend="eager",
                                                 dynamic=False)
            set_templates(comp, t, o)
            t0 = time.perf_counter()
            out = run_step(comp, s)  # compiles
            synchronize(dev)
            last_compile_s = time.perf_counter() - t0
            res = timed(lambda eng=comp: run_step(eng, s), dev, args)
            d = diffs(ref, out)
            gain = plain["median_ms"] / res["median_ms"]
            rows.append({"check": check, "status": "ok" if within(d, precision) else "MISMATCH",
                         **res, "eager_ms": plain["median_ms"], "speedup": gain,
                         "compile_s": last_compile_s, "box_diff": d["box"], "score_diff": d["score"],
                         "backend": "eager (dry run)" if args.dry_run else "inductor"
                         + (" max-autotune" if args.max_autotune else ""),
                         "value": f"{res['median_ms']:.2f} ms",
                         "note": f"{gain:.2f}x eager, compile {last_compile_s:.0f} s, "
                                 f"box |d| {d['box']:.1e}"})
            del m, eager, comp
        except Exception as exc:  # noqa: BLE001
            rows.append(failure_row(check, exc))
    return {"rows": rows}


SECTION_FUNCS: dict[str, Callable[..., dict[str, Any]]] = {
    "env": section_env, "parity": section_parity, "latency": section_latency,
    "memory": section_memory, "eval": section_eval, "cuda_graphs": section_cuda_graphs,
    "compile": section_compile}


def failure_row(check: str, exc: BaseException) -> dict[str, Any]:
    first = (str(exc).strip().splitlines() or [""])[0][:200]
    return {"check": check, "status": "failed", "note": f"{type(exc).__name__}: {first}"}


def run_section(name: str, ctx: dict[str, Any], args: argparse.Namespace, budget: Budget
                ) -> dict[str, Any]:
    """One section under its budget; an exception or a hard timeout becomes its result."""
    cap = min(args.caps[name], budget.total_left())
    t0 = time.perf_counter()
    if budget.total_left() < 1:
        return {"status": "skipped", "seconds": 0.0, "note": "overall time budget used up",
                "rows": [{"check": name, "status": "skipped", "note": "overall time budget used up"}]}
    budget.open_section(cap)
    ctx["rows"] = []
    try:
        with hard_limit(cap + args.grace):
            out = SECTION_FUNCS[name](ctx, args, budget)
        rows = out.get("rows", [])
        bad = [r for r in rows if r.get("status") not in ("ok", "n/a", "skipped")]
        out.setdefault("status", "ok" if not bad else "problems")
    except (Exception, SectionTimeout) as exc:  # noqa: BLE001 - the table keeps the others
        out = {"status": "failed", "error": f"{type(exc).__name__}: {exc}",
               "rows": ctx["rows"] + [failure_row(name, exc)]}
    out["seconds"] = time.perf_counter() - t0
    out["budget_s"] = cap
    return out


def format_table(report: dict[str, Any]) -> str:
    lines = [f"{'section':12} {'check':38} {'status':9} {'value':28} note"]
    for name, sec in report["sections"].items():
        rows = sec.get("rows") or [{"check": "-", "status": sec.get("status")}]
        for r in rows:
            lines.append(f"{name:12} {str(r.get('check', '')):38.38} {str(r.get('status')):9} "
                         f"{str(r.get('value', '')):28.28} {r.get('note', '')}")
        lines.append(f"{'':12} {'(section ' + sec.get('status', '?') + ')':38} "
                     f"{'':9} {sec.get('seconds', 0):.1f} s of {sec.get('budget_s', 0):.0f} s")
    return "\n".join(lines)


def write_json(path: str | None, report: dict[str, Any]) -> None:
    if not path:
        return
    tmp = Path(str(path) + ".tmp")
    tmp.write_text(json.dumps(report, indent=1, default=str), encoding="utf-8")
    tmp.replace(path)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", default=None, help="cuda:0 (default) or cpu")
    p.add_argument("--dry-run", action="store_true",
                   help="every section on the CPU with a tiny network, in seconds")
    p.add_argument("--out", default="gpu_check.json", help="JSON report path")
    p.add_argument("--budget", type=float, default=None,
                   help=f"seconds for the whole run (default {TOTAL_BUDGET_S:.0f}; dry run 120)")
    p.add_argument("--sections", default=",".join(SECTIONS))
    p.add_argument("--variants", default="small,base")
    p.add_argument("--precisions", default="fp32,fp16,bf16")
    p.add_argument("--iters", type=int, default=None, help="timed calls per row (default 50)")
    p.add_argument("--warmup", type=int, default=None, help="untimed calls first (default 10)")
    p.add_argument("--max-autotune", action="store_true", help="inductor max_autotune for compile")
    p.add_argument("--eval-sequences", type=int, default=None)
    p.add_argument("--eval-frames", type=int, default=None)
    p.add_argument("--eval-threads", type=int, default=None, help="threads of the CPU eval run")
    p.add_argument("--threads", type=int, default=None,
                   help="torch threads of this process (default: 1 on a dry run, else up to 4)")
    p.add_argument("--workdir", default=None, help="eval workspace (default: a temporary folder)")
    p.add_argument("--section-cap", type=float, default=None,
                   help="seconds for every section (default: per-section caps; dry run 60)")
    p.add_argument("--grace", type=float, default=30.0,
                   help="seconds past a section's budget before it is stopped")
    args = p.parse_args(argv)
    dry = args.dry_run
    args.device = args.device or ("cpu" if dry else "cuda:0")
    args.budget = args.budget or (120.0 if dry else TOTAL_BUDGET_S)
    args.iters = args.iters or (3 if dry else 50)
    args.warmup = args.warmup if args.warmup is not None else (1 if dry else 10)
    args.eval_sequences = args.eval_sequences or (2 if dry else 6)
    args.eval_frames = args.eval_frames or (6 if dry else 100)
    args.threads = args.threads or (1 if dry else min(4, available_cores()))
    args.eval_threads = args.eval_threads or (1 if dry else min(4, available_cores()))
    args.sections = [s.strip() for s in args.sections.split(",") if s.strip()]
    args.variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    args.precisions = [x.strip() for x in args.precisions.split(",") if x.strip()]
    for what, got, known in (("sections", args.sections, SECTIONS),
                             ("variants", args.variants, ("small", "base")),
                             ("precisions", args.precisions, tuple(DTYPES))):
        bad = set(got) - set(known)
        if bad:
            p.error(f"unknown {what} {sorted(bad)} (known: {', '.join(known)})")
    args.caps = dict(SECTION_CAPS)
    if dry or args.section_cap:  # dry run: everything is small; the caps guard against a hang
        args.caps = {k: args.section_cap or 60.0 for k in SECTION_CAPS}
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if is_cuda(args.device) and not torch.cuda.is_available():
        print(f"{args.device} asked for, but CUDA is not available here (torch "
              f"{torch.__version__}, CUDA build {torch.version.cuda}); use --dry-run to check the "
              "script on the CPU", file=sys.stderr)
        return 2
    if is_cuda(args.device):
        torch.cuda.set_device(torch.device(args.device))
    set_threads(args.threads)
    budget = Budget(args.budget)
    own_workdir = args.workdir is None
    args.workdir = args.workdir or tempfile.mkdtemp(prefix="mfv2bench-gpu-check-")
    report: dict[str, Any] = {
        "script": "benchmarks/gpu_check.py", "device": args.device, "dry_run": args.dry_run,
        "budget_s": args.budget, "manifest": hardware_manifest(args.device, None,
                                                               weights="random weights (seed 0)"),
        "tolerance": TOLERANCE, "sections": {}}
    ctx: dict[str, Any] = {"models": {}}
    try:
        for variant in args.variants:
            ctx["models"][variant] = random_model(variant, args.dry_run)
        for name in SECTIONS:
            if name not in args.sections:
                continue
            report["sections"][name] = run_section(name, ctx, args, budget)
            write_json(args.out, report)  # nothing measured is lost if a later section dies
            print(f"[{name}] {report['sections'][name]['status']} "
                  f"({report['sections'][name]['seconds']:.1f} s)", flush=True)
    finally:
        if own_workdir:
            shutil.rmtree(args.workdir, ignore_errors=True)
    report["seconds"] = time.monotonic() - budget.start
    write_json(args.out, report)
    gpu = report["manifest"].get("gpu")
    print(f"\nmfv2bench gpu_check on {args.device}"
          + (f" ({gpu['name']}, driver {gpu['driver']})" if gpu else " (CPU dry run)")
          + f"; CPU {report['manifest']['cpu']['model']}; torch {torch.__version__}; "
          f"random weights except the trained micro model in eval; "
          f"{report['seconds']:.0f} s of {args.budget:.0f} s")
    print(format_table(report))
    if args.out:
        print(f"JSON: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
