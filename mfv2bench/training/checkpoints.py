"""Checkpoint files named as a stage's ``init`` / ``teacher`` (``file:PATH``): ours (a JSON
sidecar beside it holds the model config) or an official MixFormerV2 one (``{'net':
state_dict}``, e.g. ``mixformerv2_base.pth.tar``; the config is the stage's variant with the
depth, MLP width and head kind its keys show). Positional embeddings of another crop size (an
official Base checkpoint, 128/288, teaching at Small crops, 112/224) are resized by bicubic
interpolation of their 2-D grid. The result is checked strictly: one error lists every missing,
unexpected or wrong-shaped key.
"""

from __future__ import annotations

import json
import logging
import math
import re
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from ..errors import ConfigError, InputError
from ..trackers.mixformerv2.checkpoint import load_checkpoint, load_into
from ..trackers.mixformerv2.config import VARIANTS, MixFormerV2Config
from ..trackers.mixformerv2.model import MixFormerV2

log = logging.getLogger(__name__)
_BLOCK_KEY = re.compile(r"^backbone\.blocks\.(\d+)\.")
_POS_KEYS = {"backbone.pos_embed_t": "template_feat_size", "backbone.pos_embed_s": "search_feat_size"}


def config_from_state_dict(sd: dict[str, torch.Tensor], variant: str,
                           path: str | Path | None = None) -> dict[str, Any]:
    """The model config of a checkpoint without sidecar: ``variant``'s shape with the depth,
    MLP width and head kind its keys show."""
    blocks = {int(m.group(1)) for k in sd if (m := _BLOCK_KEY.match(k))}
    if not blocks:
        raise InputError("no backbone.blocks.N.* keys: not a MixFormerV2 checkpoint", path=path)
    cfg = dict(VARIANTS[variant], depth=max(blocks) + 1, attention="eager",
               head="corner" if any(k.startswith("box_head.tower_tl.") for k in sd) else "distribution")
    fc1 = sd.get("backbone.blocks.0.mlp.fc1.weight")
    if fc1 is not None:
        cfg["mlp_hidden_dim"] = int(fc1.shape[0])
    return _checked(cfg, variant, path)


def _checked(cfg: dict[str, Any], variant: str, path: str | Path | None) -> dict[str, Any]:
    try:
        return MixFormerV2Config.from_dict(cfg).to_dict()
    except ConfigError as exc:
        raise InputError(f"checkpoint does not fit variant {variant!r}: {exc}", path=path) from None


def resize_grid(pe: torch.Tensor, grid: int) -> torch.Tensor:
    """A (1, g*g, C) positional table resampled to (1, grid*grid, C) (bicubic on the 2-D grid)."""
    n, c = pe.shape[1], pe.shape[2]
    g = math.isqrt(n)
    if g * g != n:
        raise InputError(f"positional table of {n} tokens is not a square grid")
    x = pe.float().reshape(1, g, g, c).permute(0, 3, 1, 2)
    x = F.interpolate(x, size=(grid, grid), mode="bicubic", align_corners=False)
    return x.permute(0, 2, 3, 1).reshape(1, grid * grid, c)


def fit_crop_sizes(sd: dict[str, torch.Tensor], config: dict[str, Any]) -> dict[str, torch.Tensor]:
    """``sd`` with its positional tables resized to ``config``'s crop sizes where they differ."""
    out = dict(sd)
    for key, size_key in _POS_KEYS.items():
        grid = int(config[size_key])
        if key in out and out[key].shape[1] != grid * grid:
            log.info("%s: %d -> %d tokens (bicubic)", key, out[key].shape[1], grid * grid)
            out[key] = resize_grid(out[key], grid)
    return out


def load_reference(path: str | Path, variant: str, trust: bool = False
                   ) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    """(config, float32 state dict) of a checkpoint file named as ``init`` / ``teacher``, at
    the crop sizes of ``variant`` (the recipe's)."""
    path = Path(path)
    side = path.with_suffix(".json")
    sd = load_checkpoint(path, trust=trust)
    if side.is_file():
        try:
            cfg = dict(json.loads(side.read_text())["config"])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise InputError(f"sidecar without a model config: {exc}", path=side) from None
    else:
        cfg = config_from_state_dict(sd, variant, path)
    want = VARIANTS[variant]
    cfg = _checked({**cfg, "template_size": want["template_size"],
                    "search_size": want["search_size"]}, variant, path)
    sd = fit_crop_sizes(sd, cfg)
    load_into(MixFormerV2(cfg), sd, path)
    return cfg, {k: v.float() for k, v in sd.items()}
