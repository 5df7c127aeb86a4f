"""What MixFormerV2's prediction tokens look at: their attention over the search crop and both
templates in every block, and the predicted distribution of each box edge.

The capture does not touch ``model.py``: ``record_attention`` temporarily replaces the model
module's ``attend`` function by one that also computes the softmax weights of the last 4 query
rows (the prediction tokens l, r, t, b) whenever the keys are the whole token sequence (template,
online template, search, prediction tokens). That is every block of the full forward
(``Block.forward``'s second call) and of the cached path (``Block.forward_search``, where the
last block computes only those 4 queries), so both paths give the same maps. Template-only calls
(template queries never see the search) and the corner score head's cross-attention are not
recorded. The weights are computed explicitly (eager softmax) whatever the attention mode, in
the module's own arithmetic, then averaged over heads in float64.

Not thread-safe: the replacement is module-wide for the duration of the ``with`` block.
"""

from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Iterator

import numpy as np
import torch

from ...errors import ConfigError, InputError
from . import model as model_module
from .model import MixFormerV2

if TYPE_CHECKING:  # pragma: no cover - types only
    from .tracker import MixFormerV2Tracker

TOKENS = ("left", "right", "top", "bottom")


@dataclass
class AttentionRecord:
    """Head-averaged attention of the 4 prediction tokens in each block, (L, B, 4, N) float64 over
    the N = 2 Nt + Ns + 4 keys, and the box head's edge distributions (B, 4, bins) when the
    model has the distribution head."""

    layers: list[torch.Tensor] = field(default_factory=list)
    heads: list[torch.Tensor] = field(default_factory=list)  # (B, heads, 4, N) per block
    edges: torch.Tensor | None = None

    def stacked(self) -> np.ndarray:
        return torch.stack(self.layers).numpy() if self.layers else np.zeros((0, 0, 4, 0))


def _total_tokens(model: MixFormerV2) -> int:
    cfg = model.config
    return 2 * cfg["num_template_tokens"] + cfg["num_search_tokens"] + 4


@contextlib.contextmanager
def record_attention(model: MixFormerV2) -> Iterator[AttentionRecord]:
    """Within the block, every forward of ``model`` (full or cached) appends, per block, the
    prediction tokens' attention weights to the yielded record, and the box head's edge
    distributions are kept (the last call's)."""
    total = _total_tokens(model)
    record = AttentionRecord()
    original = model_module.attend

    def recording(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, scale: float, mode: str) -> torch.Tensor:
        if k.shape[-2] == total and q.shape[-2] >= 4:
            w = (torch.matmul(q[..., -4:, :], k.transpose(-2, -1)) * scale).softmax(dim=-1)
            w = w.detach().to("cpu", torch.float64)
            record.heads.append(w)
            record.layers.append(w.mean(dim=1))
        return original(q, k, v, scale, mode)

    def keep_edges(_module: torch.nn.Module, _inputs: Any, out: Any) -> None:
        if isinstance(out, dict) and "prob_l" in out:
            probs = torch.stack([out[f"prob_{s}"] for s in "lrtb"], dim=1)
            record.edges = probs.detach().to("cpu", torch.float64)

    handle = model.box_head.register_forward_hook(keep_edges)
    model_module.attend = recording
    try:
        yield record
    finally:
        model_module.attend = original
        handle.remove()


def attention_maps(model: MixFormerV2, template: torch.Tensor, online_template: torch.Tensor,
                   search: torch.Tensor, cached: bool = True) -> AttentionRecord:
    """One forward of the network on normalised crops, full (``cached=False``) or through the
    template cache, with the attention recorded."""
    with torch.no_grad(), record_attention(model) as rec:
        if cached:
            model.set_templates(template, online_template)
            model.forward_search(search)
        else:
            model(template, online_template, search, return_blocks=False)
    return rec


@dataclass
class Explanation:
    """One frame explained (the generic shape ``app.explain`` renders, whatever the kind).

    ``crops``: name -> RGB uint8 crop, in display order (search first). ``maps``: the same names
    -> (layers, tokens, rows, cols) attention of each prediction token over that crop's patches
    (averaged over heads; the rest of each token's attention is on the prediction tokens).
    ``distributions``: (tokens, bins) predicted probability of each edge, ``bin_positions`` the
    bins' pixel positions in the search crop (None for heads without distributions).
    ``box``: predicted (x, y, w, h) in search-crop pixels; ``frame_box``: in the frame.
    """

    tokens: tuple[str, ...]
    crops: dict[str, np.ndarray]
    maps: dict[str, np.ndarray]
    distributions: np.ndarray | None
    bin_positions: np.ndarray | None
    box: tuple[float, float, float, float]
    frame_box: tuple[float, float, float, float]
    score: float | None
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def n_layers(self) -> int:
        return next(iter(self.maps.values())).shape[0]

    def mass(self) -> dict[str, np.ndarray]:
        """Share of each token's attention on each crop, (layers, tokens) per crop name."""
        return {name: m.sum(axis=(-1, -2)) for name, m in self.maps.items()}


def _denormalize(t: torch.Tensor, mean: Any, std: Any) -> np.ndarray:
    """A normalised (1, 3, H, W) crop back to RGB uint8 (for display)."""
    x = t.detach().to("cpu", torch.float32)[0].permute(1, 2, 0).numpy()
    x = (x * np.asarray(std, np.float32) + np.asarray(mean, np.float32)) * 255.0
    return np.clip(np.rint(x), 0, 255).astype(np.uint8)


def split_maps(model: MixFormerV2, weights: np.ndarray) -> dict[str, np.ndarray]:
    """(L, 4, N) weights -> crop name -> (L, 4, rows, cols) in token order (template, online
    template, search; row-major patches)."""
    cfg = model.config
    nt, gt, gs = cfg["num_template_tokens"], cfg["template_feat_size"], cfg["search_feat_size"]
    ns = cfg["num_search_tokens"]
    L, T = weights.shape[0], weights.shape[1]
    return {
        "search": weights[:, :, 2 * nt:2 * nt + ns].reshape(L, T, gs, gs),
        "template": weights[:, :, :nt].reshape(L, T, gt, gt),
        "online template": weights[:, :, nt:2 * nt].reshape(L, T, gt, gt),
    }


class MixFormerV2Explainer:
    """``kind.explainer(spec)`` for MixFormerV2: builds the tracker in eager PyTorch (the only
    runtime whose attention can be read) with the template cache on or off, runs it to a frame
    (or crops around a given previous box) and records that frame's step."""

    def __init__(self, tracker: "MixFormerV2Tracker", cached: bool = True):
        if tracker.params.runtime not in ("eager", "sdpa"):
            raise ConfigError(f"runtime {tracker.params.runtime!r}: attention can be read only in "
                              "eager PyTorch (the kind builds the explainer with runtime 'eager')")
        self.tracker = tracker
        self.cached = bool(tracker.params.cached)

    def explain(self, read_frame: Callable[[int], np.ndarray], init_box: Any, frame: int,
                previous_box: Any | None = None) -> Explanation:
        """Explain 0-based ``frame``: initialise on frame 0 with ``init_box``, then either track
        every frame before ``frame`` (``previous_box`` None) or put the state at ``previous_box``
        (e.g. the GT or a stored result of frame - 1), and record the step on ``frame``."""
        if frame < 1:
            raise InputError(f"frame {frame + 1} is the initialisation frame: explain a later one")
        tr = self.tracker
        tr.initialize(read_frame(0), init_box)
        if previous_box is None:
            for i in range(1, frame):
                tr.track(read_frame(i))
        else:
            box = [float(v) for v in np.asarray(previous_box, float).reshape(4)]
            if not all(math.isfinite(v) for v in box) or box[2] <= 0 or box[3] <= 0:
                raise InputError(f"no box to crop around before frame {frame + 1}: {box}")
            tr.state = box
            tr.frame_id = frame - 1
        online = _denormalize(tr.online_template, tr.normalize._mean_np, tr.normalize._std_np)
        with record_attention(tr.model) as rec:
            out = tr.track(read_frame(frame))
        if len(rec.layers) != tr.model.config["depth"]:
            raise ConfigError(f"recorded {len(rec.layers)} attention maps for {tr.model.config['depth']} "
                              "blocks: the runtime bypassed the eager attention")
        weights = torch.stack(rec.layers)[:, 0].numpy()  # (L, 4, N)
        maps = split_maps(tr.model, weights)
        size = tr.search_size
        cx, cy, w, h = (float(v) * size for v in out.extra["pred_box_norm"])
        dist = bins = None
        if rec.edges is not None:
            dist = rec.edges[0].numpy()
            bins = tr.model.box_head.bins.detach().cpu().numpy().astype(float)
        return Explanation(
            tokens=TOKENS,
            crops={"search": tr.last_search_crop, "template": tr.template_crop, "online template": online},
            maps={name: maps[name] for name in ("search", "template", "online template")},
            distributions=dist, bin_positions=bins,
            box=(cx - w / 2, cy - h / 2, w, h),
            frame_box=tuple(float(v) for v in out.box),
            score=out.score,
            meta={"path": "cached" if self.cached else "full", "layers": len(rec.layers),
                  "heads": int(tr.model.config["num_heads"]), "bins": None if dist is None else int(dist.shape[1]),
                  "search_size": size, "template_size": tr.template_size,
                  "state_from": "tracked" if previous_box is None else "given box"},
        )


__all__ = ["AttentionRecord", "Explanation", "MixFormerV2Explainer", "TOKENS", "attention_maps",
           "record_attention", "split_maps"]
