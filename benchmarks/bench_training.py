"""Training throughput: our stage loop (``mfv2bench.training.loop.run_stage``: batch taken from
the precomputed uint8 pairs, random flips, normalisation, the stage's losses, gradient clipping,
logging, validation excluded) against a plain PyTorch loop of the same model in the same run
(preallocated normalised tensors, the official forward, L1 + GIoU, AdamW): the ratio says what
our data path and bookkeeping cost. Both run in this one process with the same threads,
alternating in rounds so that load from other jobs hits both alike.

Prints the CPU model and flags (AVX2 / AVX-512 / AMX / bf16), torch threads and samples/s.

``--precision bf16`` also runs our loop with ``precision = "bf16"`` (autocast forward, fp32
master weights) in the same rounds and prints fp32 vs bf16 samples/s; ``--compare-steps N``
then trains the same seed N steps in fp32 and in bf16 and prints both validation IoUs (measured
in fp32 on the same validation pairs): whether bf16 keeps the result.

    .venv/bin/python benchmarks/bench_training.py [--method direct] [--depth 4] [--steps 30]
        [--rounds 3] [--batch 32] [--threads 1] [--precision bf16 [--compare-steps 300]]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mfv2bench.provenance import cpu_model  # noqa: E402
from mfv2bench.threads import set_threads  # noqa: E402
from mfv2bench.training.precision import native_bf16  # noqa: E402
from mfv2bench.training.data import Normalize, build_pairs  # noqa: E402
from mfv2bench.training.losses import giou_loss  # noqa: E402
from mfv2bench.training.loop import run_stage  # noqa: E402
from mfv2bench.training.recipe import DataConfig, StageConfig  # noqa: E402
from mfv2bench.training.stages import Stage  # noqa: E402


def cpu_info() -> dict:
    name, flags = cpu_model(), []
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags"):
                have = set(line.split(":", 1)[1].split())
                flags = sorted(f for f in have if f in {"avx2", "fma", "avx512f", "avx512_bf16",
                                                         "avx512_vnni", "amx_bf16", "amx_tile"})
                break
    except OSError:
        pass
    return {"cpu": name, "flags": flags, "torch": torch.__version__,
            "threads": torch.get_num_threads()}


def plain_loop(model: torch.nn.Module, pairs, steps: int, batch: int) -> float:
    """samples/s of a minimal loop: fixed normalised batch, official forward, L1 + GIoU."""
    norm = Normalize()
    b = pairs.take(torch.arange(batch))
    t, o, s, gt = norm(b.template), norm(b.online), norm(b.search), b.boxes
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-4)
    model.train()
    t0 = time.perf_counter()
    for _ in range(steps):
        out = model(t, o, s, run_score_head=False, return_blocks=False)
        cx, cy, w, h = out["pred_boxes"][:, 0].unbind(-1)
        pred = torch.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], dim=-1)
        loss = 5 * (pred - gt).abs().sum(-1).mean() + 2 * giou_loss(pred, gt)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return steps * batch / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--method", default="direct", choices=("direct", "teacher"))
    ap.add_argument("--depth", type=int, default=4)
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--precision", default="fp32", choices=("fp32", "bf16"),
                    help="bf16: also time the bf16 autocast loop in the same rounds")
    ap.add_argument("--compare-steps", type=int, default=0,
                    help="with --precision bf16: train N steps in fp32 and bf16 (same seed), "
                         "print both validation IoUs")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    set_threads(args.threads)
    t0 = time.perf_counter()
    data = DataConfig(sequences=20, val_sequences=2, pairs=max(512, args.batch * 4),
                      val_pairs=256 if args.compare_steps else 64)
    train, val = build_pairs(data, 64, 128, seed=0)
    gen_s = time.perf_counter() - t0
    ours, plain, low = [], [], []
    bf16 = args.precision == "bf16"
    tmp = Path(tempfile.mkdtemp(prefix="bench_training_"))
    compare = {}
    try:
        for r in range(args.rounds):
            cfg = StageConfig(name="b", method=args.method, depth=args.depth, steps=args.steps,
                              batch=args.batch, val_every=10 ** 9, checkpoint_seconds=1e9)
            stage = Stage(cfg, None, None, seed=r)
            res = run_stage(stage, train, val, tmp / f"r{r}", seed=r, progress_bar=False)
            ours.append(res.steps * args.batch / res.seconds)
            model = Stage(cfg, None, None, seed=r).student
            plain.append(plain_loop(model, train, args.steps, args.batch))
            if bf16:
                cfg16 = replace(cfg, precision="bf16")
                res = run_stage(Stage(cfg16, None, None, seed=r), train, val, tmp / f"b{r}",
                                seed=r, progress_bar=False)
                low.append(res.steps * args.batch / res.seconds)
        if bf16 and args.compare_steps > 0:
            for prec in ("fp32", "bf16"):
                cfg = StageConfig(name="c", method=args.method, depth=args.depth,
                                  steps=args.compare_steps, batch=args.batch, precision=prec,
                                  val_every=10 ** 9, checkpoint_seconds=1e9)
                res = run_stage(Stage(cfg, None, None, seed=0), train, val, tmp / f"c{prec}",
                                seed=0, progress_bar=False)
                compare[f"val_iou_{prec}_after_{args.compare_steps}_steps"] = round(res.val["val_iou"], 4)
                compare[f"train_seconds_{prec}"] = round(res.seconds, 1)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    out = {**cpu_info(), "native_bf16": native_bf16("cpu"), "method": args.method,
           "depth": args.depth, "batch": args.batch,
           "pairs_per_s_generated": round(len(train) / gen_s, 1),
           "ours_samples_per_s": [round(v, 1) for v in ours],
           "plain_samples_per_s": [round(v, 1) for v in plain],
           "ratio_ours_over_plain": round(statistics.median(ours) / statistics.median(plain), 3)}
    if bf16:
        out["bf16_samples_per_s"] = [round(v, 1) for v in low]
        out["ratio_bf16_over_fp32"] = round(statistics.median(low) / statistics.median(ours), 3)
        out.update(compare)
    if args.json:
        print(json.dumps(out, indent=1))
        return
    for k, v in out.items():
        print(f"{k:24s} {v}")


if __name__ == "__main__":
    main()
