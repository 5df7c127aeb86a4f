"""The training forward and the losses of the paper's stages.

``train_forward`` runs the same backbone and heads as inference (``model.py``), under the
official token order, and returns what the losses need: boxes as (x1, y1, x2, y2) normalised to
the search crop, the token head's logits, the corner maps, block outputs and the score logit.
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F

from ..trackers.mixformerv2.model import MixFormerV2


def train_forward(model: MixFormerV2, template: torch.Tensor, online: torch.Tensor,
                  search: torch.Tensor, score: bool = False) -> dict[str, Any]:
    """Joint forward (templates, search, prediction tokens), with the pieces losses read."""
    tokens, blocks = model.backbone(template, online, search, return_blocks=True)
    out: dict[str, Any] = {"blocks": blocks}
    cfg = model.config
    if model.head_kind == "corner":
        ns = cfg["num_search_tokens"]
        head = model.box_head
        tl, br = head.maps(tokens[:, -4 - ns:-4])
        x1, y1 = head._soft_argmax(tl)
        x2, y2 = head._soft_argmax(br)
        out.update(boxes=torch.stack([x1, y1, x2, y2], dim=-1), corner_tl=tl, corner_br=br)
    else:
        reg = tokens[:, -4:]
        head = model.box_head
        logits = head.layers[1](head.layers[0](reg))  # (B, 4, nb), edges l, r, t, b
        edges = (logits.softmax(-1) * head.bins).sum(-1) / head.norm_factor
        l, r, t, b = edges.unbind(-1)
        out.update(boxes=torch.stack([l, t, r, b], dim=-1), logits=logits)
        if score:
            out["score"] = model.score_head(reg)
    return out


def box_iou_xyxy(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """IoU per row of two (N, 4) x1y1x2y2 tensors (degenerate boxes give 0)."""
    iw = (torch.minimum(a[:, 2], b[:, 2]) - torch.maximum(a[:, 0], b[:, 0])).clamp(min=0)
    ih = (torch.minimum(a[:, 3], b[:, 3]) - torch.maximum(a[:, 1], b[:, 1])).clamp(min=0)
    inter = iw * ih
    area_a = (a[:, 2] - a[:, 0]).clamp(min=0) * (a[:, 3] - a[:, 1]).clamp(min=0)
    area_b = (b[:, 2] - b[:, 0]).clamp(min=0) * (b[:, 3] - b[:, 1]).clamp(min=0)
    return inter / (area_a + area_b - inter).clamp(min=1e-9)


def giou_loss(pred: torch.Tensor, gt: torch.Tensor) -> torch.Tensor:
    """Mean (1 - GIoU) of (N, 4) x1y1x2y2 boxes."""
    iw = (torch.minimum(pred[:, 2], gt[:, 2]) - torch.maximum(pred[:, 0], gt[:, 0])).clamp(min=0)
    ih = (torch.minimum(pred[:, 3], gt[:, 3]) - torch.maximum(pred[:, 1], gt[:, 1])).clamp(min=0)
    inter = iw * ih
    area_p = (pred[:, 2] - pred[:, 0]).clamp(min=0) * (pred[:, 3] - pred[:, 1]).clamp(min=0)
    area_g = (gt[:, 2] - gt[:, 0]) * (gt[:, 3] - gt[:, 1])
    union = (area_p + area_g - inter).clamp(min=1e-9)
    ew = torch.maximum(pred[:, 2], gt[:, 2]) - torch.minimum(pred[:, 0], gt[:, 0])
    eh = torch.maximum(pred[:, 3], gt[:, 3]) - torch.minimum(pred[:, 1], gt[:, 1])
    enclose = (ew * eh).clamp(min=1e-9)
    giou = inter / union - (enclose - union) / enclose
    return (1.0 - giou).mean()


def edge_targets(gt_xyxy: torch.Tensor, num_bins: int) -> torch.Tensor:
    """GT edges (order l, r, t, b) as two-bin distributions over bin positions i / num_bins."""
    x1, y1, x2, y2 = gt_xyxy.unbind(-1)
    pos = torch.stack([x1, x2, y1, y2], dim=-1).clamp(0, 1) * num_bins
    pos = pos.clamp(0, num_bins - 1)
    lo = pos.floor().long().clamp(max=num_bins - 1)
    hi = (lo + 1).clamp(max=num_bins - 1)
    w_hi = pos - lo.float()
    tgt = torch.zeros(*pos.shape, num_bins, dtype=gt_xyxy.dtype, device=gt_xyxy.device)
    tgt.scatter_add_(-1, lo.unsqueeze(-1), (1 - w_hi).unsqueeze(-1))
    tgt.scatter_add_(-1, hi.unsqueeze(-1), w_hi.unsqueeze(-1))
    return tgt


def soft_ce(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Cross-entropy of (..., nb) logits to target distributions, mean over rows."""
    return -(target * logits.log_softmax(-1)).sum(-1).mean()


def kl_to(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """KL(target || softmax(logits)), mean over rows (logit distillation)."""
    logp = logits.log_softmax(-1)
    t = target.clamp(min=1e-12)
    return (target * (t.log() - logp)).sum(-1).mean()


def marginal_to_bins(feat: int, num_bins: int) -> torch.Tensor:
    """(feat, num_bins) map from a corner map's 1-D marginal (cell j at (j + 0.5) / feat) to a
    distribution over the token head's bins (i / num_bins): each cell's mass is spread over
    the bins it covers (Gaussian, sigma half a cell), keeping its position."""
    centres = (torch.arange(feat, dtype=torch.float32) + 0.5) / feat * num_bins
    bins = torch.arange(num_bins, dtype=torch.float32)
    sigma = max(0.5 * num_bins / feat, 0.5)
    m = torch.exp(-0.5 * ((bins[None, :] - centres[:, None]) / sigma) ** 2)
    return m / m.sum(-1, keepdim=True)


def corner_marginals(tl: torch.Tensor, br: torch.Tensor, feat: int, num_bins: int) -> torch.Tensor:
    """Teacher corner logits (B, feat*feat) -> per-edge distributions (B, 4, num_bins), order
    l, r, t, b: the 1-D marginals of the corner maps, carried onto the student's bins."""
    b = tl.shape[0]
    ptl = tl.softmax(-1).view(b, feat, feat)  # rows y, columns x
    pbr = br.softmax(-1).view(b, feat, feat)
    m = marginal_to_bins(feat, num_bins).to(device=tl.device, dtype=tl.dtype)
    margs = torch.stack([ptl.sum(1), pbr.sum(1), ptl.sum(2), pbr.sum(2)], dim=1)  # x1 x2 y1 y2
    return margs @ m


def feature_loss(student: list[torch.Tensor], teacher: list[torch.Tensor]) -> torch.Tensor:
    """Feature mimicking: mean squared error over matched block outputs."""
    terms = [F.mse_loss(s, t) for s, t in zip(student, teacher)]
    return torch.stack(terms).mean()


def cosine_gamma(progress: float, decay_fraction: float) -> float:
    """Residual factor of the layers being removed: 1 -> 0 on a cosine over the first
    ``decay_fraction`` of the stage, 0 after."""
    u = min(max(progress / decay_fraction, 0.0), 1.0)
    return 0.5 * (1.0 + math.cos(math.pi * u))
