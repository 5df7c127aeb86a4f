"""Per-frame cost of MixFormerV2: the official computation (templates re-encoded every frame,
our full eager path) vs our template-side cache, measured in the same run.

For each variant (Small, and Base unless ``--small-only``), with seeded random weights (latency
only) and batch 1, three per-frame steps are timed, interleaved round-robin so that machine load
hits them alike (median over ``--frames`` rounds, a third for Base, after ``--warmup``):

- full eager:     ``model(template, online_template, search)``, i.e. the official forward;
- cached eager:   ``forward_search(search)`` after ``set_templates`` (exact, same function);
- cached sdpa:    the same with the fused attention kernel.

Then whole-tracker ``track()`` per frame (crop + normalise + network + update bookkeeping) on a
synthetic moving-box sequence, ``cached=False`` vs ``cached=True``, and the maximum deviation of
boxes and scores between the two over that sequence (identical outputs up to float rounding).

GFLOP/s reached = counted matmul/conv FLOPs of the step / its median time, printed beside a
plain fp32 matrix multiply measured in the same run: a square 1024 matmul and one of the
model's own shape (search tokens x C) @ (C x 3C).

``--int8`` adds the opt-in reduced-precision runtime: ONNX Runtime dynamic int8 (spec
``mfv2-s-int8``) against the exact cached path (torch eager, and ONNX Runtime fp32) as whole-tracker
``track()`` time (runtimes alternate per sequence), with its deviation from the fp32 tracker over ``--sequences`` synthetic
sequences (closed loop: box error in px, IoU per frame; open loop: the same per frame when the
reduced-precision tracker starts from the fp32 tracker's box, i.e. sees the same crop). Random
weights: the deviation shows how far reduced precision moves this network's outputs, not an
accuracy figure on real data (random weights do not hold a target, so closed-loop runs drift
apart from small differences; the open-loop figure is the per-frame error).

``--bf16`` does the same for the bf16 autocast runtimes (specs ``mfv2-s-bf16`` / ``mfv2-b-bf16``:
``runtime = "bf16"`` eager with fused attention, and ``"compile-bf16"``), against torch eager
and fused attention in fp32. ``--reduced-only`` skips the full-vs-cached part.

    .venv/bin/python benchmarks/bench_mfv2_cache.py [--threads 2] [--frames 20] [--small-only]
                                                   [--int8] [--bf16] [--sequences 3] [--reduced-only]
"""

from __future__ import annotations

import argparse
import copy
import statistics
import time

import numpy as np
import torch

from mfv2bench.threads import set_threads
from mfv2bench.trackers.mixformerv2.config import VARIANTS
from mfv2bench.trackers.mixformerv2.model import build_model, flops_per_frame, init_random_weights
from mfv2bench.trackers.mixformerv2.tracker import MixFormerV2Tracker

SEARCH_FACTOR = {"small": 4.4, "base": 5.0}


def _median_times(fns: dict, rounds: int, warmup: int) -> dict[str, float]:
    """Round-robin timing of several zero-argument callables; median seconds per call
    (the minimum of each is kept under ``<name> min`` keys: less sensitive to a busy machine)."""
    times: dict[str, list[float]] = {k: [] for k in fns}
    for i in range(warmup + rounds):
        for name, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            dt = time.perf_counter() - t0
            if i >= warmup:
                times[name].append(dt)
    out = {k: statistics.median(v) for k, v in times.items()}
    out.update({f"{k} min": min(v) for k, v in times.items()})
    return out


def matmul_gflops(m: int, k: int, n: int, rounds: int = 20) -> float:
    a, b = torch.randn(m, k), torch.randn(k, n)
    t = _median_times({"mm": lambda: torch.mm(a, b)}, rounds, 3)["mm"]
    return 2 * m * k * n / t / 1e9


def synthetic_sequence(n: int, size=(240, 320), seed: int = 0) -> tuple[list[np.ndarray], list[float]]:
    """A textured box moving over a noisy striped background; returns frames and the init box."""
    rng = np.random.default_rng(seed)
    H, W = size
    background = (np.sin(np.arange(W) / 7.0)[None, :, None] * 60 + 120
                  + rng.integers(0, 40, (H, W, 3))).astype(np.uint8)
    patch = rng.integers(0, 255, (40, 50, 3), dtype=np.uint8)
    frames = []
    for i in range(n):
        img = background.copy()
        x, y = 80 + 4 * i % 150, 90 + int(10 * np.sin(i / 4))
        img[y:y + 40, x:x + 50] = patch
        frames.append(img)
    return frames, [80.0, 90.0, 50.0, 40.0]


def bench_variant(variant: str, rounds: int, warmup: int) -> dict:
    cfg = dict(VARIANTS[variant])
    model = init_random_weights(build_model(cfg), seed=0)
    gen = torch.Generator().manual_seed(1)
    T, S = cfg["template_size"], cfg["search_size"]
    t, ot = torch.randn(1, 3, T, T, generator=gen), torch.randn(1, 3, T, T, generator=gen)
    s = torch.randn(1, 3, S, S, generator=gen)

    def full():
        model.set_attention("eager")
        return model(t, ot, s, return_blocks=False)

    def cached_eager():
        model.set_attention("eager")
        return model.forward_search(s)

    def cached_sdpa():
        model.set_attention("sdpa")
        return model.forward_search(s)

    # a plain matmul of the model's own qkv shape, timed in the same rounds
    n_tok, dim = cfg["search_size"] // 16 * (cfg["search_size"] // 16) + 4, cfg["embed_dim"]
    ma, mb = torch.randn(n_tok, dim, generator=gen), torch.randn(dim, 3 * dim, generator=gen)

    with torch.inference_mode():
        model.set_templates(t, ot)
        step = _median_times({"full eager": full, "cached eager": cached_eager,
                              "cached sdpa": cached_sdpa, "matmul": lambda: torch.mm(ma, mb)},
                             rounds, warmup)
        ref, a, b = full(), cached_eager(), cached_sdpa()
    mm_gflops = 2 * n_tok * dim * 3 * dim / step.pop("matmul") / 1e9
    step_min = {k: step.pop(f"{k} min") for k in list(step) if not k.endswith(" min")}
    step.pop("matmul min")
    step_dev = {name: max((o["pred_boxes"] - ref["pred_boxes"]).abs().max().item(),
                          (o["pred_scores"] - ref["pred_scores"]).abs().max().item())
                for name, o in (("cached eager", a), ("cached sdpa", b))}
    flops = {"full eager": flops_per_frame(cfg, cached=False),
             "cached eager": flops_per_frame(cfg, cached=True),
             "cached sdpa": flops_per_frame(cfg, cached=True)}

    # whole tracker, same synthetic sequence, full vs cached
    frames, init = synthetic_sequence(warmup + rounds + 1)
    params = {"search_factor": SEARCH_FACTOR[variant], "update_interval": 10, "score_threshold": 0.5}
    trackers = {"track full": MixFormerV2Tracker(model, dict(params), cached=False),
                "track cached": MixFormerV2Tracker(model, dict(params), cached=True)}
    model.set_attention("eager")
    boxes: dict[str, list] = {k: [] for k in trackers}
    track_times: dict[str, list[float]] = {k: [] for k in trackers}
    for tr in trackers.values():
        tr.initialize(frames[0], init)
    for i, frame in enumerate(frames[1:]):
        for name, tr in trackers.items():
            t0 = time.perf_counter()
            out = tr.track(frame)
            dt = time.perf_counter() - t0
            if i >= warmup:
                track_times[name].append(dt)
            boxes[name].append(list(out.box) + [out.score])
    diff = np.abs(np.array(boxes["track full"]) - np.array(boxes["track cached"]))
    return {
        "variant": variant,
        "step": step, "step_min": step_min, "step_dev": step_dev, "flops": flops,
        "track": {k: statistics.median(v) for k, v in track_times.items()},
        "track_box_dev_px": float(diff[:, :4].max()), "track_score_dev": float(diff[:, 4].max()),
        "mm_shape": n_tok, "dim": dim, "mm_gflops": mm_gflops,
    }


def iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of (N, 4) x, y, w, h boxes row by row."""
    x1, y1 = np.maximum(a[:, 0], b[:, 0]), np.maximum(a[:, 1], b[:, 1])
    x2 = np.minimum(a[:, 0] + a[:, 2], b[:, 0] + b[:, 2])
    y2 = np.minimum(a[:, 1] + a[:, 3], b[:, 1] + b[:, 3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    return inter / (a[:, 2] * a[:, 3] + b[:, 2] * b[:, 3] - inter)


def compare_to_exact(variant: str, title: str, candidates: dict[str, dict], sequences: int,
                     frames: int, threads: int) -> None:
    """Reduced-precision tracker runtimes vs the exact cached path: whole-tracker ``track()``
    time and deviation from the fp32 tracker.

    ``candidates``: name -> extra tracker params; the first one or more entries are exact
    baselines (their deviation is printed as a float-rounding reference), the rest are the
    reduced-precision runtimes. Deviation is measured two ways over ``sequences`` synthetic
    sequences: closed loop (each tracker follows its own boxes: box error in px, IoU per frame)
    and open loop (each frame the candidate starts from the fp32 tracker's previous box, so the
    same crop is seen: the network's own per-frame error, no drift).
    """
    model = init_random_weights(build_model(dict(VARIANTS[variant])), seed=0)
    params = {"search_factor": SEARCH_FACTOR[variant], "update_interval": 10, "threads": threads}
    # a private copy of the model each: some runtimes switch the attention kernel in place
    trackers = {"torch cached (exact)": MixFormerV2Tracker(copy.deepcopy(model), dict(params))}
    trackers.update({name: MixFormerV2Tracker(copy.deepcopy(model), {**params, **extra})
                     for name, extra in candidates.items()})
    # runtimes alternate per sequence (not per frame: the thread pools of one runtime disturb
    # the other when they alternate every call), so slow drifts of machine load hit all alike
    times: dict[str, list[float]] = {k: [] for k in trackers}
    boxes: dict[str, list[np.ndarray]] = {k: [] for k in trackers}
    for seq in range(sequences):
        seq_frames, init = synthetic_sequence(frames + 1, seed=seq)
        for name, tr in trackers.items():
            tr.initialize(seq_frames[0], init)
            for i, frame in enumerate(seq_frames[1:]):
                t0 = time.perf_counter()
                res = tr.track(frame)
                if i >= 2:
                    times[name].append(time.perf_counter() - t0)
                boxes[name].append(res.box)
    open_err: dict[str, list[float]] = {k: [] for k in candidates}
    open_iou: dict[str, list[float]] = {k: [] for k in candidates}
    open_net: dict[str, list[float]] = {k: [] for k in candidates}  # network box, crop units
    for seq in range(sequences):  # open loop, untimed
        seq_frames, init = synthetic_sequence(frames + 1, seed=seq)
        ref_tr = trackers["torch cached (exact)"]
        ref_tr.initialize(seq_frames[0], init)
        for name in candidates:
            trackers[name].initialize(seq_frames[0], init)
        for frame in seq_frames[1:]:
            prev = list(ref_tr.state)
            ref_out = ref_tr.track(frame)
            ref_box = ref_out.box[None]
            for name in candidates:
                trackers[name].state = list(prev)
                out = trackers[name].track(frame)
                box = out.box[None]
                open_net[name].append(float(np.abs(np.subtract(out.extra["pred_box_norm"],
                                                               ref_out.extra["pred_box_norm"])).max()))
                open_err[name].append(float(np.abs(box - ref_box).max()))
                open_iou[name].append(float(iou(box, ref_box)[0]))
    ref = np.array(boxes["torch cached (exact)"])
    base = statistics.median(times["torch cached (exact)"])
    print(f"\nMixFormerV2-{variant.capitalize()} {title}, {sequences} synthetic sequences x "
          f"{frames} frames, random weights, track() per frame; deviation from the fp32 tracker "
          f"(closed loop: own boxes; open loop: same crops); fp32 boxes median "
          f"{np.median(ref[:, 2]):.1f} x {np.median(ref[:, 3]):.1f} px:")
    for name, ts in times.items():
        t = statistics.median(ts)
        line = f"  {name:25s} {t * 1e3:8.1f} ms/frame  x{base / t:4.2f} vs exact cached"
        if name in candidates:
            q = np.array(boxes[name])
            err, io = np.abs(q - ref).max(axis=1), iou(q, ref)
            oe, oi = np.array(open_err[name]), np.array(open_iou[name])
            line += (f" | closed: box err max {err.max():.2f} px, mean {err.mean():.3f} px, "
                     f"IoU mean {io.mean():.4f} min {io.min():.4f}"
                     f" | open: box err max {oe.max():.2f} px, mean {oe.mean():.3f} px, "
                     f"IoU mean {oi.mean():.4f} min {oi.min():.4f}, network box |d| max "
                     f"{max(open_net[name]):.1e} of the crop")
        print(line)


def bench_int8(variant: str, sequences: int, frames: int, threads: int) -> None:
    """int8 ONNX Runtime vs the exact cached path (torch eager and ONNX Runtime fp32)."""
    compare_to_exact(variant, "int8 (opt-in, reduced precision)",
                     {"onnxruntime fp32 cached": {"runtime": "onnxruntime"},
                      "onnxruntime int8 cached": {"runtime": "onnxruntime", "quantize": "int8"}},
                     sequences, frames, threads)


def bench_bf16(variant: str, sequences: int, frames: int, threads: int) -> None:
    """bf16 autocast runtimes (specs mfv2-s-bf16 / mfv2-b-bf16) vs the exact cached path."""
    compare_to_exact(variant, "bf16 autocast (opt-in, reduced precision)",
                     {"torch sdpa cached (exact)": {"runtime": "sdpa"},
                      "bf16 cached": {"runtime": "bf16"},
                      "compile-bf16 cached": {"runtime": "compile-bf16"}},
                     sequences, frames, threads)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--frames", type=int, default=20, help="timed rounds per step (Base: a third)")
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--small-only", action="store_true")
    ap.add_argument("--int8", action="store_true", help="also measure the int8 ONNX Runtime spec")
    ap.add_argument("--bf16", action="store_true", help="also measure the bf16 autocast specs")
    ap.add_argument("--sequences", type=int, default=3, help="synthetic sequences for --int8/--bf16")
    ap.add_argument("--reduced-only", action="store_true",
                    help="skip the full-vs-cached comparison (only --int8 / --bf16)")
    args = ap.parse_args()
    set_threads(args.threads)
    print(f"torch {torch.__version__}, {args.threads} thread(s), batch 1, random weights, "
          f"median of {args.frames} interleaved rounds")
    variants = ["small"] if args.small_only else ["small", "base"]
    for variant in ([] if args.reduced_only else variants):
        rounds = args.frames if variant == "small" else max(5, args.frames // 3)
        r = bench_variant(variant, rounds, args.warmup)
        mm_square = matmul_gflops(1024, 1024, 1024)
        mm_model = r["mm_gflops"]
        print(f"\nMixFormerV2-{variant.capitalize()} "
              f"(plain fp32 matmul: {mm_square:.1f} GFLOP/s at 1024^3, "
              f"{mm_model:.1f} GFLOP/s at {r['mm_shape']}x{r['dim']}x{3 * r['dim']} in the same rounds)")
        base_t, base_min = r["step"]["full eager"], r["step_min"]["full eager"]
        for name, t in r["step"].items():
            gf = r["flops"][name] / 1e9
            tmin = r["step_min"][name]
            dev = r["step_dev"].get(name)
            dev_s = "" if dev is None else f"  max|dev| vs full {dev:.1e}"
            print(f"  {name:13s} {t * 1e3:8.1f} ms/frame (min {tmin * 1e3:6.1f})  {gf:5.2f} GFLOP  "
                  f"{gf / t:6.1f} GFLOP/s  x{base_t / t:4.2f} (min x{base_min / tmin:4.2f}){dev_s}")
        tf, tc = r["track"]["track full"], r["track"]["track cached"]
        print(f"  tracker track(): full {tf * 1e3:.1f} ms/frame, cached {tc * 1e3:.1f} ms/frame, "
              f"x{tf / tc:.2f}; max box dev {r['track_box_dev_px']:.1e} px, "
              f"score dev {r['track_score_dev']:.1e}")
        if variant == "small":
            ratio = base_t / r["step"]["cached eager"]
            print(f"  target: Small cached >= 1.5x full with identical outputs -> "
                  f"{'MET' if ratio >= 1.5 else 'NOT MET'} (x{ratio:.2f} step, x{tf / tc:.2f} track)")

    if args.int8:
        for variant in variants:
            bench_int8(variant, args.sequences, args.frames, args.threads)
    if args.bf16:
        for variant in variants:
            bench_bf16(variant, args.sequences, args.frames, args.threads)


if __name__ == "__main__":
    main()
