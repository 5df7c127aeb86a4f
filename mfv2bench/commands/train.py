"""``mfv2bench train RECIPE``: run a training recipe (the paper's distillation pipeline)."""

from __future__ import annotations

import json
import os
import shlex
import sys
from dataclasses import replace
from pathlib import Path

import click

from ..errors import ConfigError
from ..training.pipeline import export_stage, train_recipe
from ..training.recipe import load_recipe
from ..workspace import Workspace


@click.command("train")
@click.argument("recipe", type=click.Path(dir_okay=False))
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default=None,
              help="Run folder: logs, checkpoints, report (default: <workspace>/train-runs/<recipe>). "
                   "Re-running into the same folder resumes.")
@click.option("--stage", "stages", multiple=True,
              help="Train only this stage (repeatable); the stages it starts from must be finished.")
@click.option("--threads", type=int, default=None,
              help="Torch threads of this process (default: the recipe's, normally 1).")
@click.option("--scale", type=float, default=None,
              help="Multiply every stage budget (steps and minutes) by this factor (smoke runs); "
                   "changes the recipe hash.")
@click.option("--export", "exports", multiple=True, metavar="STAGE=PATH",
              help="After training, copy a stage's checkpoint (and its JSON sidecar) to PATH.")
@click.option("--export-fp16", "export_fp16", is_flag=True,
              help="Store the exported checkpoints' floating-point tensors as float16 (half the "
                   "size; loaded back into float32 parameters).")
@click.option("--progress/--no-progress", default=None,
              help="Progress bar (default: only on a terminal).")
@click.option("--device", default="cpu", show_default=True,
              help="cpu, cuda or cuda:N. Under torchrun (several processes, DDP) pass cpu or cuda: "
                   "each process then takes cuda:LOCAL_RANK.")
@click.option("--force-bf16", is_flag=True,
              help="Train precision = \"bf16\" stages even where the device has no native bf16.")
@click.option("--trust-checkpoint", "trust", is_flag=True,
              help="Allow init / teacher checkpoint files that hold pickled objects besides "
                   "tensors (runs code from the file: only for files of trusted origin).")
@click.pass_obj
def command(ws: Workspace, recipe, out_dir, stages, threads, scale, exports, export_fp16,
            progress, device, force_bf16, trust) -> None:
    """Train the stages of RECIPE (TOML under recipes/), resuming a killed run.

    Several processes: torchrun --nproc_per_node N -m mfv2bench.cli train RECIPE --device cuda"""
    rec = load_recipe(recipe)
    if threads is not None:
        if threads < 1:
            raise ConfigError("--threads must be at least 1")
        rec = replace(rec, threads=threads)
    if scale is not None:
        if scale <= 0:
            raise ConfigError("--scale must be positive")
        rec = replace(rec, stages=tuple(
            replace(s, steps=int(round(s.steps * scale)) if s.steps else 0,
                    minutes=s.minutes * scale, warmup_steps=max(1, int(s.warmup_steps * min(scale, 1))))
            for s in rec.stages))
    targets = []
    for item in exports:
        name, sep, path = item.partition("=")
        if not sep or not path:
            raise ConfigError(f"--export {item!r}: expected STAGE=PATH")
        rec.stage(name)
        targets.append((name, Path(path)))
    run_dir = Path(out_dir) if out_dir else ws.root / "train-runs" / rec.name
    command_line = "mfv2bench " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    summary = train_recipe(rec, run_dir, only=list(stages) or None, command=command_line,
                           progress_bar=progress, workspace=ws, device=device,
                           force_bf16=force_bf16, trust_checkpoints=trust)
    if os.environ.get("RANK", "0").strip() not in ("", "0"):
        return  # under torchrun: rank 0 exports and reports
    for name, path in targets:
        export_stage(run_dir, name, path, fp16=export_fp16)
    rows = {k: {f: v.get(f) for f in ("method", "steps", "train_seconds", "samples_per_s", "val_iou")}
            for k, v in summary["stages"].items()}
    click.echo(json.dumps({"run": str(run_dir), "recipe_hash": summary["recipe_hash"],
                           "wall_seconds": summary["wall_seconds"], "stages": rows}, indent=1))
