"""The training loop of one stage: AdamW, warm-up + cosine schedule over the budget (steps or
minutes, whichever ends first), gradient clipping, validation, a JSON-lines log, a progress bar
(loss and validation IoU; silent off a TTY) and resumable checkpoints.

Checkpoints (``state.pt``, written atomically every ``checkpoint_seconds``) hold the student,
the optimiser, the step, the training time used and the log so far; a killed run resumes from
the last one and, with a step budget, sees exactly the batches an uninterrupted run would
(batches are a function of the seed and the step).
"""

from __future__ import annotations

import json
import logging
import math
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from tqdm import tqdm

from .data import Normalize, PairSet, batch_indices, flip_batch
from .distributed import SINGLE, DistInfo, broadcast_float, shard
from .recipe import StageConfig
from .stages import Stage

log = logging.getLogger(__name__)


@dataclass
class StageResult:
    name: str
    steps: int
    seconds: float
    samples_per_s: float
    val: dict[str, float]
    history: list[dict[str, Any]] = field(default_factory=list)


def _atomic_save(obj: Any, path: Path) -> None:
    tmp = path.with_name(path.name + ".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def lr_at(cfg: StageConfig, step: int, progress: float) -> float:
    """Linear warm-up, then cosine to 5 % of the base rate over the budget's progress."""
    if step < cfg.warmup_steps:
        return cfg.lr * (step + 1) / cfg.warmup_steps
    return cfg.lr * (0.05 + 0.95 * 0.5 * (1.0 + math.cos(math.pi * min(progress, 1.0))))


def run_stage(stage: Stage, train: PairSet, val: PairSet, out_dir: Path, seed: int,
              flip: bool = True, progress_bar: bool | None = None,
              log_file: Path | None = None, key: str = "", dist: DistInfo = SINGLE) -> StageResult:
    """Train ``stage`` in ``out_dir`` (resuming from ``out_dir/state.pt`` when present and
    written for the same ``key``, the stage hash; a state of another configuration is set
    aside as ``state.stale.pt`` and the stage starts afresh).

    The stage's student is on ``stage.device``; batches are cut from the uint8 pairs on the
    CPU and moved there. With ``dist`` active (torchrun), each process trains on its shard of
    the same batch under DistributedDataParallel and only rank 0 validates, logs and saves."""
    cfg = stage.cfg
    device = stage.device
    out_dir.mkdir(parents=True, exist_ok=True)
    state_path = out_dir / "state.pt"
    params = stage.parameters()
    opt = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    step, used, history = 0, 0.0, []
    st = torch.load(state_path, map_location="cpu", weights_only=True) if state_path.is_file() else None
    if st is not None and st.get("key", "") != key:
        log.warning("stage %s: %s was written for another configuration; starting afresh",
                    cfg.name, state_path)
        if dist.main:
            os.replace(state_path, out_dir / "state.stale.pt")
        st = None
    if st is not None:
        stage.student.load_state_dict(st["model"], strict=True)
        opt.load_state_dict(st["optim"])
        step, used, history = int(st["step"]), float(st["seconds"]), json.loads(st["history"])
        log.info("stage %s: resumed at step %d (%.0f s used)", cfg.name, step, used)
    if dist.active:
        stage.distribute()  # after the resume: every process starts from the same state
    norm = Normalize(device)
    vt, vo, vs = (norm(x.to(device)) if dist.main else None
                  for x in (val.template, val.online, val.search))
    vboxes, vpresent = val.boxes.to(device), val.present.to(device)
    budget_s = cfg.minutes * 60.0

    def progress_of(step_: int, used_: float) -> float:
        p = []
        if cfg.steps:
            p.append(step_ / cfg.steps)
        if budget_s:
            p.append(used_ / budget_s)
        return max(p)

    def save() -> None:
        _atomic_save({"model": stage.student.state_dict(), "optim": opt.state_dict(),
                      "step": step, "seconds": used, "history": json.dumps(history), "key": key},
                     state_path)

    def record(entry: dict[str, Any]) -> None:
        history.append(entry)
        if log_file is not None and dist.main:
            with open(log_file, "a", encoding="utf-8") as f:
                f.write(json.dumps({"stage": cfg.name, **entry}) + "\n")

    show = (sys.stderr.isatty() if progress_bar is None else progress_bar) and dist.main
    bar = tqdm(total=cfg.steps or None, initial=step, desc=cfg.name, disable=not show,
               dynamic_ncols=True, leave=True)
    last_val: dict[str, float] = {}
    last_save = time.perf_counter()
    window_t, window_n, loss_acc, parts_acc, n_acc = time.perf_counter(), 0, 0.0, {}, 0
    t_start_used = used
    while progress_of(step, used) < 1.0:
        t0 = time.perf_counter()
        if dist.active:
            used = broadcast_float(used, dist)  # one clock for the budget and the schedules
        progress = progress_of(step, used)
        extra = stage.set_progress(progress)
        lr = lr_at(cfg, step, progress)
        for g in opt.param_groups:
            g["lr"] = lr
        b = train.take(batch_indices(len(train), cfg.batch, step, seed))
        if flip:
            b = flip_batch(b, step, seed)
        if dist.active:
            b = b.take(shard(cfg.batch, dist))
        if device.type != "cpu":
            b = b.to(device)
        loss, parts = stage.loss(norm(b.template), norm(b.online), norm(b.search), b.boxes, b.present)
        if not torch.isfinite(loss):
            raise FloatingPointError(f"stage {cfg.name}: loss is {float(loss)} at step {step}")
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        step += 1
        used += time.perf_counter() - t0
        window_n += cfg.batch
        loss_acc += float(loss.detach())
        n_acc += 1
        for k, v in parts.items():
            parts_acc[k] = parts_acc.get(k, 0.0) + v
        bar.update(1)
        done = progress_of(step, used) >= 1.0
        if step % 20 == 0 or done:
            now = time.perf_counter()
            entry = {"step": step, "seconds": round(used, 2), "lr": lr,
                     "loss": loss_acc / n_acc, **{k: v / n_acc for k, v in parts_acc.items()},
                     "samples_per_s": window_n / max(now - window_t, 1e-9), **extra}
            record(entry)
            bar.set_postfix(loss=f"{entry['loss']:.3f}", val_iou=f"{last_val.get('val_iou', float('nan')):.3f}")
            window_t, window_n, loss_acc, parts_acc, n_acc = now, 0, 0.0, {}, 0
        if (step % cfg.val_every == 0 or done) and dist.main:
            t1 = time.perf_counter()
            last_val = stage.validate(vt, vo, vs, vboxes, vpresent)
            record({"step": step, "seconds": round(used, 2), **last_val, **extra})
            bar.set_postfix(loss=f"{history[-2]['loss'] if len(history) > 1 and 'loss' in history[-2] else float('nan'):.3f}",
                            val_iou=f"{last_val['val_iou']:.3f}")
            log.info("stage %s step %d: %s", cfg.name, step, last_val)
            window_t += time.perf_counter() - t1  # validation is not training throughput
        if (time.perf_counter() - last_save >= cfg.checkpoint_seconds or done) and dist.main:
            save()
            last_save = time.perf_counter()
    bar.close()
    if not last_val and dist.main:
        last_val = stage.validate(vt, vo, vs, vboxes, vpresent)
    rates = [h["samples_per_s"] for h in history if "samples_per_s" in h]
    sps = sorted(rates)[len(rates) // 2] if rates else float("nan")
    return StageResult(cfg.name, step, used, sps, last_val, history)
