"""A recipe end to end: pairs once, then each stage in order (or the ones asked for), each
stage's network saved in the official checkpoint layout (``{'net': state_dict}``) with a JSON
sidecar (command, recipe hash, stage, training time, validation IoU, the model config), then the
training report. Stages already finished with the same stage hash are not retrained, so a
killed pipeline re-run continues where it stopped.

``init`` / ``teacher`` may name a checkpoint file instead of a stage (``checkpoints.py``): one
of ours or an official MixFormerV2 one.
Runs on ``device`` (``cpu``, ``cuda:N``), and under torchrun on several processes (see
``distributed.py``): every process runs the pipeline, only rank 0 writes.
"""

from __future__ import annotations

import json
import logging
import platform
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import torch

from ..devices import check_device
from ..errors import ConfigError
from ..threads import set_threads
from ..trackers.mixformerv2.checkpoint import load_checkpoint
from . import distributed
from .checkpoints import load_reference
from .data import PairSet, build_pairs
from .distributed import DistInfo
from .loop import StageResult, run_stage
from .precision import check_precision
from .recipe import Recipe, file_ref_path, is_file_ref
from .report import write_report
from .stages import Stage

log = logging.getLogger(__name__)
MODEL_FILE = "model.pth"
SIDECAR = "model.json"


def save_trained(path: Path, config: dict[str, Any], sd: dict[str, torch.Tensor],
                 meta: dict[str, Any]) -> None:
    """``{'net': sd}`` (loadable with weights_only) and the sidecar ``<stem>.json``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    torch.save({"net": {k: v.contiguous() for k, v in sd.items()}}, tmp)
    tmp.replace(path)
    path.with_suffix(".json").write_text(json.dumps({**meta, "config": config}, indent=1) + "\n")


def load_trained(path: str | Path) -> tuple[dict[str, Any], dict[str, torch.Tensor], dict[str, Any]]:
    """(config, state dict, sidecar) of a checkpoint written by ``save_trained``."""
    path = Path(path)
    side = path.with_suffix(".json")
    if not side.is_file():
        raise ConfigError(f"{path}: no sidecar {side.name} with the model config beside it")
    meta = json.loads(side.read_text())
    return meta["config"], load_checkpoint(path), meta


def _pairs_for(recipe: Recipe, negatives: bool, cache: dict, workspace,
               hidden_fraction: float = 0.0) -> tuple[PairSet, PairSet]:
    key = "score" if negatives else f"box-hidden-{hidden_fraction}" if hidden_fraction else "box"
    if key not in cache:
        st = recipe.stages[0].model_config()
        data = recipe.data
        if negatives:  # the score stage needs fewer pairs, with target-less ones
            data = replace(data, pairs=max(data.pairs // 4, 256))
        cache[key] = build_pairs(data, st["template_size"], st["search_size"],
                                 recipe.seed + (17 if negatives else 0),
                                 negative_fraction=data.negative_fraction if negatives else 0.0,
                                 hidden_fraction=hidden_fraction, workspace=workspace)
    return cache[key]


def train_recipe(recipe: Recipe, run_dir: str | Path, only: list[str] | None = None,
                 command: str = "", progress_bar: bool | None = None,
                 workspace=None, device: str = "cpu", force_bf16: bool = False,
                 trust_checkpoints: bool = False) -> dict[str, Any]:
    """Run the recipe's stages (``only``: just these, their inputs must be finished) in
    ``run_dir`` on ``device`` (several processes under torchrun); returns the summary also
    written to ``run_dir/summary.json``. ``force_bf16``: bf16 stages even without native bf16;
    ``trust_checkpoints``: checkpoint files with pickled objects besides tensors."""
    device = check_device(device)
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    set_threads(recipe.threads)
    sizes = {(s.model_config()["template_size"], s.model_config()["search_size"]) for s in recipe.stages}
    if len(sizes) != 1:
        raise ConfigError(f"recipe {recipe.name!r}: stages use different crop sizes {sorted(sizes)}")
    wanted = only or [s.name for s in recipe.stages]
    for name in wanted:
        check_precision(recipe.stage(name).precision, device, force_bf16, where=f"stage {name!r}")
    dist = distributed.setup(device)
    try:
        return _train(recipe, run_dir, wanted, command, progress_bar, workspace, dist,
                      trust_checkpoints)
    finally:
        distributed.teardown(dist)


def _train(recipe: Recipe, run_dir: Path, wanted: list[str], command: str,
           progress_bar: bool | None, workspace, dist: DistInfo, trust: bool) -> dict[str, Any]:
    if dist.main:
        (run_dir / "recipe.json").write_text(json.dumps(
            {"name": recipe.name, "hash": recipe.hash, "path": recipe.path,
             "effective": recipe.effective()}, indent=1) + "\n")
    pair_cache: dict = {}
    log_file = run_dir / "log.jsonl"
    t_pipe = time.perf_counter()
    summary: dict[str, Any] = {"recipe": recipe.name, "recipe_hash": recipe.hash, "stages": {},
                               "threads": recipe.threads, "cpu": platform.processor() or platform.machine()}
    for index, scfg in enumerate(recipe.stages):
        out = run_dir / scfg.name
        model_path = out / MODEL_FILE
        stage_hash = recipe.stage_hash(scfg.name)
        finished = model_path.is_file() and (out / SIDECAR).is_file() and json.loads(
            (out / SIDECAR).read_text()).get("stage_hash") == stage_hash
        if finished or scfg.name not in wanted:
            if finished:
                summary["stages"][scfg.name] = {k: v for k, v in json.loads(
                    (out / SIDECAR).read_text()).items() if k != "config"}
            continue

        def resolve(ref: str) -> tuple[dict, dict] | None:
            if not ref:
                return None
            if not is_file_ref(ref):
                path = run_dir / ref / MODEL_FILE
                if not path.is_file():
                    raise ConfigError(f"stage {scfg.name!r} needs stage {ref!r}, not trained yet "
                                      f"in {run_dir} (run it first or without --stage)")
                cfg, sd, _ = load_trained(path)
                return cfg, sd
            return load_reference(file_ref_path(ref), scfg.variant, trust)

        seed = recipe.seed * 1000 + index
        t0 = time.perf_counter()
        stage = Stage(scfg, resolve(scfg.init), resolve(scfg.teacher), seed).to(dist.device)
        train, val = _pairs_for(recipe, scfg.method == "score", pair_cache, workspace,
                                scfg.hidden_fraction)
        res: StageResult = run_stage(stage, train, val, out, seed, flip=recipe.data.flip,
                                     progress_bar=progress_bar, log_file=log_file, key=stage_hash,
                                     dist=dist)
        cfg, sd = stage.final()
        meta = {"stage": scfg.name, "method": scfg.method, "recipe": recipe.name,
                "recipe_path": recipe.path, "recipe_hash": recipe.hash, "stage_hash": stage_hash,
                "command": command, "steps": res.steps, "train_seconds": round(res.seconds, 1),
                "wall_seconds": round(time.perf_counter() - t0, 1),
                "samples_per_s": round(res.samples_per_s, 1), "seed": seed,
                "val_iou": round(res.val.get("val_iou", float("nan")), 4),
                **{k: round(v, 4) for k, v in res.val.items() if k != "val_iou"},
                "trained_on": f"{recipe.data.source}:{recipe.data.dataset}-{recipe.data.split}"
                              if recipe.data.source == "dataset" else "synthetic LaSOT-layout train split",
                "parameters": int(sum(v.numel() for v in sd.values())),
                "note": "trained by mfv2bench on synthetic data; not comparable to published numbers"
                        if recipe.data.source == "synthetic" else "trained by mfv2bench",
                "device": dist.device, "processes": dist.world, "precision": scfg.precision}
        if dist.main:
            save_trained(model_path, cfg, sd, meta)
        distributed.barrier(dist)  # the next stage's init / teacher is on disk for every rank
        summary["stages"][scfg.name] = meta
        log.info("stage %s done: val IoU %.3f, %d steps, %.0f s", scfg.name, meta["val_iou"],
                 res.steps, res.seconds)
    summary["wall_seconds"] = round(time.perf_counter() - t_pipe, 1)
    if dist.main:
        (run_dir / "summary.json").write_text(json.dumps(summary, indent=1) + "\n")
        write_report(run_dir)
    return summary


FP16_NOTE = "float16 (loaded into float32 parameters; keeps the repository small)"


def export_stage(run_dir: str | Path, stage: str, dest: str | Path, fp16: bool = False) -> Path:
    """Copy a finished stage's checkpoint and sidecar to ``dest`` (the shipped weights);
    ``fp16``: floating-point tensors stored as float16 (our loader casts them back)."""
    src = Path(run_dir) / stage / MODEL_FILE
    if not src.is_file():
        raise ConfigError(f"stage {stage!r} is not finished in {run_dir}")
    config, sd, meta = load_trained(src)
    chain = _ancestors(Path(run_dir), stage)
    if chain:
        meta = {**meta, "pipeline": chain,
                "pipeline_train_seconds": round(sum(c["train_seconds"] for c in chain), 1)}
    if fp16:
        sd = {k: v.half() if v.is_floating_point() else v for k, v in sd.items()}
        meta = {**meta, "stored_dtype": FP16_NOTE}
    save_trained(Path(dest), config, sd, meta)
    return Path(dest)


def _ancestors(run_dir: Path, stage: str) -> list[dict[str, Any]]:
    """The stages whose weights went into ``stage`` (through init / teacher), in recipe order,
    each with its steps, training time and validation IoU (from their sidecars)."""
    try:
        stages = json.loads((run_dir / "recipe.json").read_text())["effective"]["stages"]
    except (OSError, KeyError, ValueError):
        return []
    by_name = {s["name"]: s for s in stages}
    wanted, todo = set(), [stage]
    while todo:
        name = todo.pop()
        if name in wanted or name not in by_name:
            continue
        wanted.add(name)
        todo += [by_name[name].get("init", ""), by_name[name].get("teacher", "")]
    out = []
    for s in stages:
        side = run_dir / s["name"] / SIDECAR
        if s["name"] in wanted and side.is_file():
            m = json.loads(side.read_text())
            out.append({k: m.get(k) for k in ("stage", "method", "steps", "train_seconds",
                                              "samples_per_s", "val_iou")})
    return out
