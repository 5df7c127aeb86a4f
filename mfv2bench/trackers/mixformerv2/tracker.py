"""The MixFormerV2 online tracker (test-time procedure of the official ``MixFormerOnline``).

Per frame: search crop around the previous state, network, box mapped back and clipped, then
the online-template update driven by the score head (interval / threshold from the params).
Unlike the official tracker it works on every data set (online size 1 and the update interval
come from the spec, not from a data-set-name lookup) and, by default, encodes the templates
only when they change (``cached=True``) instead of every frame.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ...errors import ConfigError, InputError, MissingDataError
from ...hashing import file_sha256
from ..base import TrackOutput
from .checkpoint import keep_blocks, load_checkpoint, load_into, non_finite_tensors, slice_mlp
from .config import (VARIANTS, WEIGHTS, TrackerParams, kept_layers, model_config_from_spec,
                     params_from_spec)
from .model import MixFormerV2, build_model, init_random_weights
from .preprocessing import Normalizer, clip_box, map_box_back, sample_target
from .runtimes import RUNTIMES, make_engine

logger = logging.getLogger(__name__)


class MixFormerV2Tracker:
    """``initialize(image, box)`` then ``track(image)``; RGB uint8 images, (x, y, w, h) boxes.

    After each call, ``last_search_crop`` / ``last_candidate_crop`` hold the uint8 crops used
    (for inspection and parity tests); ``TrackOutput.extra`` reports the update decisions.
    """

    def __init__(self, model: MixFormerV2, params: TrackerParams | dict[str, Any] | None = None,
                 device: str = "cpu", runtime: str | None = None, cached: bool | None = None,
                 name: str = "mixformerv2"):
        if not isinstance(params, TrackerParams):
            params = TrackerParams.from_dict(params or {}, strict=False)
        if runtime is not None:
            params.runtime = runtime
        if cached is not None:
            params.cached = cached
        params.validate()
        if params.runtime == "onnxruntime" and torch.device(device).type != "cpu":
            raise ConfigError("runtime 'onnxruntime' runs on the CPU; use device 'cpu'")
        self.name = name
        self.params = params
        self.device = torch.device(device)
        self.template_size = int(params.template_size or model.config["template_size"])
        self.search_size = int(params.search_size or model.config["search_size"])
        if self.template_size != model.config["template_size"] or self.search_size != model.config["search_size"]:
            raise ConfigError(
                f"crop sizes {self.template_size}/{self.search_size} do not match the model's "
                f"{model.config['template_size']}/{model.config['search_size']}")
        self.model = model.to(self.device).eval()
        if params.runtime != "sdpa":
            self.model.set_attention(params.attention)
        self.normalize = Normalizer(self.device, params.normalize_mean, params.normalize_std)
        options = ({"threads": params.threads, "quantize": params.quantize}
                   if params.runtime == "onnxruntime" else {})
        with torch.inference_mode(params.runtime != "onnxruntime"):
            self.engine = make_engine(self.model, params.runtime, cached=params.cached, **options)
        self.state: list[float] | None = None
        self.last_search_crop: np.ndarray | None = None
        self.last_candidate_crop: np.ndarray | None = None

    # ------------------------------------------------------------------------------------------
    def initialize(self, image: np.ndarray, box) -> None:
        """Cut the template from the first frame; it is also the first online template."""
        box = [float(v) for v in np.asarray(box, dtype=np.float64).reshape(4)]
        if not all(math.isfinite(v) for v in box) or box[2] <= 0 or box[3] <= 0:
            raise ValueError(f"initial box must be finite with positive size, got {box}")
        crop = sample_target(image, box, self.params.template_factor, self.template_size)
        self.template_crop = crop.image
        with torch.inference_mode():
            self.template = self.normalize(crop.image)
            self.online_template = self.template
            self.candidate = self.template
            self.candidate_source: Any = "init"
            self.online_source: Any = "init"
            self.engine.set_templates(self.template, self.online_template)
        self.state = box
        self.max_pred_score = -1.0
        self.frame_id = 0

    def track(self, image: np.ndarray) -> TrackOutput:
        """One frame: search crop at the previous state, network, box back to the frame, update."""
        if self.state is None:
            raise RuntimeError("initialize() must be called before track()")
        p = self.params
        H, W = image.shape[:2]
        self.frame_id += 1
        crop = sample_target(image, self.state, p.search_factor, self.search_size)
        self.last_search_crop = crop.image
        with torch.inference_mode():
            pred_box, logit = self.engine.step(self.normalize(crop.image))
            score = float(torch.sigmoid(torch.tensor(logit, dtype=torch.float32)))
            prev = self.state
            self.state = clip_box(map_box_back(pred_box, prev, self.search_size, crop.resize_factor),
                                  H, W, margin=p.clip_margin)
            refreshed, updated = self._update_templates(image, score)
        extra = {
            "score_logit": logit,
            "pred_box_norm": pred_box.reshape(-1).tolist(),
            "candidate_refreshed": refreshed,
            "template_updated": updated,
            "online_template_source": self.online_source,
        }
        return TrackOutput(box=np.asarray(self.state, dtype=np.float64), score=score, extra=extra)

    def _update_templates(self, image: np.ndarray, score: float) -> tuple[bool, bool]:
        """Official online update: best crop above threshold in each interval replaces the
        online template at the interval's end (falls back to the first-frame template)."""
        p = self.params
        self.last_candidate_crop = None
        if p.update_interval == 0:
            return False, False
        self.max_pred_score = self.max_pred_score * p.max_score_decay
        refreshed = False
        if score > p.score_threshold and score > self.max_pred_score:
            crop = sample_target(image, self.state, p.template_factor, self.template_size)
            self.last_candidate_crop = crop.image
            self.candidate = self.normalize(crop.image)
            self.candidate_source = self.frame_id
            self.max_pred_score = score
            refreshed = True
        updated = False
        if self.frame_id % p.update_interval == 0:
            changed = self.candidate is not self.online_template
            self.online_template = self.candidate
            self.online_source = self.candidate_source
            if changed:
                self.engine.set_templates(self.template, self.online_template)
            self.max_pred_score = -1.0
            self.candidate = self.template
            self.candidate_source = "init"
            updated = True
        return refreshed, updated


# ----------------------------------------------------------------------------------------------
# Building from a spec (the kind object in ``kind.py`` calls this)


def build_from_spec(spec, device: str = "cpu") -> MixFormerV2Tracker:
    """Tracker for a resolved spec; a missing checkpoint fails here, before any sequence runs."""
    mspec = dict(spec.model)
    source = str(spec.path) if getattr(spec, "path", None) else spec.name
    variant = mspec.get("variant", "base")
    try:
        attention = dict(spec.params).get("attention", "eager")
        cfg = model_config_from_spec(mspec, attention=attention)
        params = params_from_spec(spec.params, cfg, variant, source=f"{source} [params]")
        model = build_model(cfg)
    except ValueError as exc:
        raise ConfigError(f"{source}: {exc}") from None
    if mspec.get("random_weights", False):
        init_random_weights(model, seed=int(mspec.get("seed", 0)))
    else:
        if cfg["head"] != "distribution":
            raise ConfigError(f"{source}: head '{cfg['head']}' has no official weights; "
                              "set [model] random_weights = true (latency only)")
        ckpt = mspec.get("checkpoint")
        if not ckpt:
            raise ConfigError(f"{source}: [model] checkpoint is not set (or set random_weights = true "
                              "for latency-only runs)")
        path = spec.resolve_path(ckpt)
        if not Path(path).is_file():
            raise MissingDataError(
                f"tracker '{spec.name}': checkpoint not found at {path} (spec {source}, [model] "
                f"checkpoint = {ckpt!r}, relative to the workspace). Download the official "
                f"MixFormerV2 weights ({WEIGHTS[variant].file_name}) from "
                f"{WEIGHTS[variant].url} and put the file there.")
        expected = WEIGHTS[variant].sha256
        if expected is not None and file_sha256(str(path)) != expected:
            raise InputError(f"sha256 differs from the released {variant} weights ({expected})",
                             path=path)
        # consent comes from the caller's override (--trust-checkpoint), never the spec file
        sd = load_checkpoint(path, trust=bool(getattr(spec, "trusts_checkpoint", False)))
        bad = non_finite_tensors(sd)
        if bad:
            logger.warning("%s: %d tensor(s) hold NaN or Inf (every output will be NaN): %s",
                           path, len(bad), ", ".join(bad[:5]) + (" ..." if len(bad) > 5 else ""))
        full_depth = VARIANTS[variant]["depth"]
        keep = kept_layers(mspec, full_depth)
        if keep != list(range(full_depth)):
            sd = keep_blocks(sd, keep)
        if "mlp_hidden" in mspec:
            sd = slice_mlp(sd, cfg["mlp_hidden_dim"])
        load_into(model, sd, path=path)
    return MixFormerV2Tracker(model, params, device=device, name=spec.name)
