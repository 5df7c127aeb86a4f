"""The paper's stages as objects: each sets up its student (and frozen teacher) from the recipe
and earlier stages' weights, computes its loss on a batch, and hands over the final network.

teacher  dense corner head (MixViT style) on GT: L1 + GIoU
direct   token (distribution) head on GT: L1 + GIoU + per-edge cross-entropy (no distillation)
sparse   dense-to-sparse: token head, backbone copied from the teacher, KL to the teacher's
         corner-map marginals + the GT losses
prune    deep-to-shallow: student = copy of its teacher; the removed blocks' residual branches
         are scaled by gamma (1 -> 0, cosine over the first part of the stage), feature
         mimicking on the kept blocks + logit KL + GT; then the blocks are removed
mlp      MLP reduction: student MLPs = the teacher's leading slices, then distilled
score    score head on the frozen tracker; labels: predicted box IoU > threshold (0 without target)
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from ..errors import ConfigError
from ..trackers.mixformerv2.checkpoint import keep_blocks, slice_mlp
from ..trackers.mixformerv2.model import MixFormerV2, init_random_weights
from .losses import (box_iou_xyxy, corner_marginals, cosine_gamma, edge_targets, feature_loss,
                     giou_loss, kl_to, soft_ce, train_forward)
from .recipe import StageConfig


def spread_layers(depth: int, keep: int) -> list[int]:
    """``keep`` blocks spread evenly over ``depth`` (first and last kept)."""
    if keep >= depth:
        return list(range(depth))
    return sorted({int(round(v)) for v in np.linspace(0, depth - 1, keep)})


def _backbone_only(sd: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {k: v for k, v in sd.items() if k.startswith("backbone.")}


class TrainForward(nn.Module):
    """``train_forward`` as a module: what DistributedDataParallel wraps, so that the forward
    goes through DDP (which then averages the gradients over the processes in backward)."""

    def __init__(self, model: MixFormerV2):
        super().__init__()
        self.model = model

    def forward(self, t: torch.Tensor, o: torch.Tensor, s: torch.Tensor,
                score: bool = False) -> dict[str, Any]:
        return train_forward(self.model, t, o, s, score=score)


def _as_float(out: dict[str, Any]) -> dict[str, Any]:
    """Outputs of an autocast forward back in float32 (the losses are computed in float32)."""
    return {k: [v.float() for v in x] if isinstance(x, list) else
            (x.float() if isinstance(x, torch.Tensor) else x) for k, x in out.items()}


class Stage:
    """Student, optional teacher, loss and the network saved at the end."""

    def __init__(self, cfg: StageConfig, init: tuple[dict, dict] | None,
                 teacher: tuple[dict, dict] | None, seed: int):
        """``init`` / ``teacher``: (model config, state dict) of earlier stages' outputs."""
        self.cfg = cfg
        self.teacher: MixFormerV2 | None = None
        if teacher is not None:
            self.teacher = MixFormerV2(teacher[0])
            self.teacher.load_state_dict(teacher[1], strict=True)
            self.teacher.eval().requires_grad_(False)
        self.removed: list[int] = []
        self.keep: list[int] = []
        self.student = self._make_student(init, seed)
        self.student.train()
        self.device = torch.device("cpu")
        self.ddp: DistributedDataParallel | None = None
        if cfg.method == "score":
            self.student.requires_grad_(False)
            self.student.score_head.requires_grad_(True)

    # -- set-up ----------------------------------------------------------------------------------
    def _make_student(self, init: tuple[dict, dict] | None, seed: int) -> MixFormerV2:
        cfg = self.cfg
        torch.manual_seed(seed)
        if cfg.method == "prune":
            base_cfg, sd = init
            full = int(base_cfg["depth"])
            final = cfg.model_config(base_cfg)
            if not cfg.keep_layers and not cfg.depth:
                raise ConfigError(f"[[stage]] {cfg.name!r}: prune needs depth or keep_layers")
            self.keep = list(cfg.keep_layers) or spread_layers(full, int(final["depth"]))
            if len(self.keep) != final["depth"] or not all(0 <= i < full for i in self.keep):
                raise ConfigError(f"[[stage]] {cfg.name!r}: keep_layers {self.keep} do not fit "
                                  f"depth {full} -> {final['depth']}")
            self.removed = [i for i in range(full) if i not in self.keep]
            student = MixFormerV2({**base_cfg, "head": "distribution"})
            student.load_state_dict(sd, strict=True)
            self.final_config = final
            return student
        if cfg.method == "mlp":
            base_cfg, sd = init
            final = cfg.model_config(base_cfg)
            student = MixFormerV2(final)
            student.load_state_dict(slice_mlp(sd, final["mlp_hidden_dim"]), strict=True)
            self.final_config = final
            return student
        if init is not None:
            base_cfg, sd = init
            final = cfg.model_config(base_cfg if cfg.method == "score" else None)
            student = init_random_weights(MixFormerV2(final), seed=seed)
            if base_cfg.get("head") == final["head"] and base_cfg["depth"] == final["depth"]:
                student.load_state_dict(sd, strict=True)
            else:  # a corner teacher's backbone into a token-head student
                try:
                    missing = student.load_state_dict(_backbone_only(sd), strict=False)
                except RuntimeError as exc:  # shapes differ: say which, not a traceback
                    raise ConfigError(f"[[stage]] {cfg.name!r}: init weights do not fit: "
                                      f"{str(exc).splitlines()[1:3]}") from None
                bad = [k for k in missing.unexpected_keys]
                if bad:
                    raise ConfigError(f"[[stage]] {cfg.name!r}: init weights do not fit: {bad[:5]}")
        else:
            final = cfg.model_config()
            student = init_random_weights(MixFormerV2(final), seed=seed)
        self.final_config = final
        return student

    def parameters(self) -> list[torch.nn.Parameter]:
        return [p for p in self.student.parameters() if p.requires_grad]

    def to(self, device: str | torch.device) -> "Stage":
        """Student and teacher on ``device`` (batches are moved there by the loop)."""
        self.device = torch.device(device)
        self.student.to(self.device)
        if self.teacher is not None:
            self.teacher.to(self.device)
        return self

    def distribute(self) -> None:
        """Wrap the student in DistributedDataParallel (the process group must be set up):
        gradients are averaged over the processes, which start from rank 0's weights."""
        ids = [self.device.index or 0] if self.device.type == "cuda" else None
        # unused parameters: the score head outside the score stage (which trains only it)
        self.ddp = DistributedDataParallel(TrainForward(self.student), device_ids=ids,
                                           find_unused_parameters=self.cfg.method != "score")

    def _forward(self, t: torch.Tensor, o: torch.Tensor, s: torch.Tensor, score: bool = False,
                 teacher: bool = False) -> dict[str, Any]:
        """The student's (or the teacher's) training forward, under bf16 autocast when the stage
        asks for it (weights stay float32; outputs come back as float32)."""
        if teacher:
            run = lambda: train_forward(self.teacher, t, o, s)  # noqa: E731
        elif self.ddp is not None:
            run = lambda: self.ddp(t, o, s, score=score)  # noqa: E731
        else:
            run = lambda: train_forward(self.student, t, o, s, score=score)  # noqa: E731
        if self.cfg.precision != "bf16":
            return run()
        with torch.autocast(device_type=self.device.type, dtype=torch.bfloat16):
            return _as_float(run())

    def set_progress(self, progress: float) -> dict[str, float]:
        """Per-step schedule of the stage (prune: gamma of the removed blocks)."""
        if self.cfg.method != "prune" or not self.removed:
            return {}
        gamma = cosine_gamma(progress, self.cfg.decay_fraction) if self.cfg.progressive else 0.0
        for i in self.removed:
            self.student.backbone.blocks[i].residual_scale = gamma
        return {"gamma": gamma}

    # -- loss ------------------------------------------------------------------------------------
    def loss(self, t: torch.Tensor, o: torch.Tensor, s: torch.Tensor, boxes: torch.Tensor,
             present: torch.Tensor) -> tuple[torch.Tensor, dict[str, float]]:
        cfg = self.cfg
        if cfg.method == "score":
            return self._score_loss(t, o, s, boxes, present)
        out = self._forward(t, o, s)
        pos = present > 0
        parts: dict[str, torch.Tensor] = {}
        pred, gt = out["boxes"][pos], boxes[pos]
        if pos.any():
            parts["l1"] = cfg.w_l1 * F.l1_loss(pred, gt, reduction="none").sum(-1).mean()
            parts["giou"] = cfg.w_giou * giou_loss(pred, gt)
            if "logits" in out and cfg.w_dist > 0 and cfg.method in ("direct", "sparse"):
                nb = self.student.config["num_bins"]
                parts["dist"] = cfg.w_dist * soft_ce(out["logits"][pos], edge_targets(gt, nb))
        if self.teacher is not None:
            with torch.no_grad():
                tout = self._forward(t, o, s, teacher=True)
            if cfg.method == "sparse" and cfg.w_kl > 0:
                tc = self.teacher.config
                target = corner_marginals(tout["corner_tl"], tout["corner_br"],
                                          tc["search_feat_size"], self.student.config["num_bins"])
                parts["kl"] = cfg.w_kl * kl_to(out["logits"], target)
            if cfg.method in ("prune", "mlp"):
                if cfg.w_kl > 0:
                    parts["kl"] = cfg.w_kl * kl_to(out["logits"], tout["logits"].softmax(-1))
                if cfg.w_feat > 0:
                    idx = self.keep if cfg.method == "prune" else range(len(out["blocks"]))
                    if cfg.method == "prune" and len(tout["blocks"]) != len(out["blocks"]):
                        raise ConfigError(f"[[stage]] {cfg.name!r}: prune teacher depth differs "
                                          "from its init's")
                    parts["feat"] = cfg.w_feat * feature_loss([out["blocks"][i] for i in idx],
                                                              [tout["blocks"][i] for i in idx])
        total = sum(parts.values()) if parts else out["boxes"].sum() * 0.0
        return total, {k: float(v.detach()) for k, v in parts.items()}

    def _score_loss(self, t, o, s, boxes, present):
        self.student.eval()  # frozen tracker: only the score head learns
        out = self._forward(t, o, s, score=True)
        with torch.no_grad():
            iou = box_iou_xyxy(out["boxes"], boxes)
            label = ((iou > self.cfg.iou_threshold) & (present > 0)).float()
        loss = F.binary_cross_entropy_with_logits(out["score"], label)
        acc = float(((out["score"] > 0).float() == label).float().mean())
        return loss, {"bce": float(loss.detach()), "acc": acc}

    # -- evaluation and hand-over ----------------------------------------------------------------
    @torch.no_grad()
    def validate(self, t, o, s, boxes, present, batch: int = 128) -> dict[str, float]:
        """Mean IoU on the validation pairs with the target (score stage: also accuracy)."""
        model = self.student
        was = model.training
        model.eval()
        ious, accs = [], []
        for i in range(0, len(boxes), batch):
            sl = slice(i, i + batch)
            out = train_forward(model, t[sl], o[sl], s[sl], score=self.cfg.method == "score")
            iou = box_iou_xyxy(out["boxes"], boxes[sl])
            pos = present[sl] > 0
            ious.append(iou[pos])
            if "score" in out:
                label = ((iou > self.cfg.iou_threshold) & pos).float()
                accs.append(((out["score"] > 0).float() == label).float())
        model.train(was)
        res = {"val_iou": float(torch.cat(ious).mean()) if ious else float("nan")}
        if accs:
            res["val_score_acc"] = float(torch.cat(accs).mean())
        return res

    def final(self) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
        """The network this stage hands on: (config, state dict); prune removes its layers."""
        model = copy.deepcopy(self.student).eval()
        for blk in model.backbone.blocks:
            blk.residual_scale = None
        sd = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
        if self.cfg.method == "prune":
            sd = keep_blocks(sd, self.keep)
        cfg = dict(self.final_config)
        check = MixFormerV2(cfg)
        check.load_state_dict(sd, strict=True)
        return cfg, sd
