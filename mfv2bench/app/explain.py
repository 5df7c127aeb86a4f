"""``mfv2bench explain``: what a tracker's network looks at on one frame of a sequence.

The tracker kind answers (``kind.capabilities(spec).explain``, ``kind.explainer(spec)``); this
module only reads the frames, puts the tracker's state before the frame (tracked from frame 1,
or the GT / a stored result of the previous frame) and renders the explanation: for each
prediction token (one per box edge), its attention over the search crop and both templates
overlaid on the crops, with the predicted distribution of its edge beside them; one figure
averaged over layers (and heads) and one per layer. PNGs, ``attention.npz`` (the raw maps) and
``explain.json`` (the index ``report --attention DIR`` reads) go to the output folder.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from matplotlib.figure import Figure

from ..datasets.images import read_rgb
from ..datasets.registry import load_split
from ..errors import ConfigError, InputError
from ..report.gallery import EXPLAIN_INDEX
from ..report.plots import figure_png
from ..results.atomic import atomic_write
from ..trackers.kinds import kind_of
from ..trackers.specs import SpecRegistry
from ..workspace import Workspace
from .show import stored_boxes

log = logging.getLogger(__name__)

STATES = ("run", "gt", "result")
# one colour per prediction token (left, right, top, bottom)
TOKEN_COLOURS = ("#d62728", "#1f77b4", "#2ca02c", "#ff7f0e")


@dataclass
class ExplainFiles:
    """The output folder, its figures (averaged first) and the index."""

    folder: Path
    figures: list[Path]
    index: Path


def _overlay(ax: Any, crop: np.ndarray, amap: np.ndarray, title: str) -> None:
    """The crop with an attention map (patch grid, scaled from its minimum to its maximum: the
    share of attention on the crop is in the title) over it."""
    h, w = crop.shape[:2]
    lo, hi = (float(amap.min()), float(amap.max())) if amap.size else (0.0, 0.0)
    norm = (amap - lo) / (hi - lo) if hi > lo else np.zeros_like(amap)
    ax.imshow(crop, extent=(0, w, h, 0))
    ax.imshow(norm, cmap="jet", alpha=0.5, extent=(0, w, h, 0), interpolation="nearest", vmin=0.0, vmax=1.0)
    ax.set_xlim(0, w)
    ax.set_ylim(h, 0)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(title, fontsize=8)


def _edge_line(ax: Any, token: int, box: tuple[float, float, float, float], colour: str) -> None:
    """The predicted box on the search crop, the token's own edge thicker."""
    x, y, w, h = box
    ax.plot([x, x + w, x + w, x, x], [y, y, y + h, y + h, y], color="white", linewidth=0.8)
    edge = [([x, x], [y, y + h]), ([x + w, x + w], [y, y + h]), ([x, x + w], [y, y]),
            ([x, x + w], [y + h, y + h])][token]
    ax.plot(*edge, color=colour, linewidth=2.2)


def explanation_figure(ex: Any, layer: int | None, title: str) -> Figure:
    """Rows: the prediction tokens; columns: each crop with the token's attention over it (the
    share of the token's attention on that crop in the title), then the edge distribution."""
    tokens = list(ex.tokens)
    names = list(ex.crops)
    has_dist = ex.distributions is not None
    cols = len(names) + (1 if has_dist else 0)
    fig = Figure(figsize=(2.3 * cols + 0.6, 2.2 * len(tokens) + 0.6), dpi=80)
    fig.suptitle(title, fontsize=9)
    mass = {n: m for n, m in ex.mass().items()}
    for r, token in enumerate(tokens):
        colour = TOKEN_COLOURS[r % len(TOKEN_COLOURS)]
        for c, name in enumerate(names):
            maps = ex.maps[name]
            amap = maps.mean(axis=0)[r] if layer is None else maps[layer, r]
            share = mass[name].mean(axis=0)[r] if layer is None else mass[name][layer, r]
            ax = fig.add_subplot(len(tokens), cols, r * cols + c + 1)
            _overlay(ax, ex.crops[name], amap, f"{token} token: {name} ({100 * share:.0f}%)")
            if name == "search":
                _edge_line(ax, r, ex.box, colour)
        if has_dist:
            ax = fig.add_subplot(len(tokens), cols, r * cols + cols)
            x = np.asarray(ex.bin_positions, float)
            p = np.asarray(ex.distributions[r], float)
            ax.plot(x, p, color=colour, linewidth=1.2)
            ax.fill_between(x, 0, p, color=colour, alpha=0.25)
            ax.axvline(float((p * x).sum()), color="black", linewidth=0.8, linestyle="--")
            ax.set_xlim(float(x[0]), float(x[-1]))
            ax.set_ylim(0, max(float(p.max()) * 1.1, 1e-6))
            ax.set_title(f"{token} edge: {len(p)} bins (crop px)", fontsize=8)
            ax.tick_params(labelsize=6)
    fig.tight_layout(rect=(0, 0, 1, 0.97))
    return fig


def explain(workspace: Workspace, tracker: str, dataset: str, sequence: str, frame: int,
            out: str | Path | None = None, state: str = "run", cached: bool = True,
            device: str = "cpu", root: str | Path | None = None,
            results_dir: str | Path | None = None, layers: bool = True) -> ExplainFiles:
    """Explain 1-based ``frame`` of ``sequence`` for ``tracker`` (a spec name). ``state``: where
    the tracker's state before the frame comes from: ``run`` (track frames 1..frame-1), ``gt``
    (the previous frame's GT box) or ``result`` (the tracker's stored result for it). ``out``
    defaults to ``reports/explain/<tracker>-<sequence>-<frame>``."""
    if state not in STATES:
        raise ConfigError(f"state must be one of {', '.join(STATES)}, got {state!r}")
    split = load_split(dataset, root=root, sequences=[sequence], workspace=workspace)
    seq = split.by_name()[sequence]
    if not 2 <= frame <= seq.n_frames:
        raise ConfigError(f"--frame {frame}: explain one of frames 2..{seq.n_frames} of {sequence} "
                          "(frame 1 initialises the tracker)")
    spec = SpecRegistry(workspace.trackers_dir, workspace.root).resolve(tracker, dataset=split.dataset)
    kind = kind_of(spec)
    if not kind.capabilities(spec).explain:
        raise ConfigError(f"tracker {tracker!r} (kind {spec.kind!r}) has no attention to explain")
    idx = frame - 1
    previous = None
    if state == "gt":
        if not seq.has_full_gt:
            raise InputError(f"{sequence} has first-frame GT only: use --state run or result")
        previous = seq.gt[idx - 1]
    elif state == "result":
        results = Path(results_dir) if results_dir else workspace.results_dir
        previous = stored_boxes(results, tracker, split.key, sequence, len(seq.gt))[idx - 1]
    decoded: dict[int, np.ndarray] = {}

    def read_frame(i: int) -> np.ndarray:
        if i not in decoded:
            decoded.clear()  # frames are read in order: keep only the current one
            decoded[i] = read_rgb(seq.frames[i])
        return decoded[i]

    explainer = kind.explainer(spec, device=device, cached=cached)
    ex = explainer.explain(read_frame, seq.gt[0], idx, previous_box=previous)
    folder = Path(out) if out else workspace.reports_dir / "explain" / f"{tracker}-{sequence}-{frame}"
    folder.mkdir(parents=True, exist_ok=True)
    what = f"{tracker} on {sequence}, frame {frame} ({ex.meta.get('path', '?')} path, state: {state})"
    written: list[tuple[str, str, bool]] = []
    fig = explanation_figure(ex, None, f"{what}: averaged over {ex.n_layers} layers")
    atomic_write(folder / "attention_mean.png", figure_png(fig, dpi=80), mode=0o644)
    written.append(("attention_mean.png", f"averaged over {ex.n_layers} layers and the heads", True))
    if layers:
        for layer in range(ex.n_layers):
            name = f"attention_layer{layer + 1:02d}.png"
            fig = explanation_figure(ex, layer, f"{what}: layer {layer + 1} of {ex.n_layers}")
            atomic_write(folder / name, figure_png(fig, dpi=80), mode=0o644)
            written.append((name, f"layer {layer + 1} of {ex.n_layers} (heads averaged)", False))
    arrays = {f"map_{n.replace(' ', '_')}": m for n, m in ex.maps.items()}
    if ex.distributions is not None:
        arrays["distributions"] = np.asarray(ex.distributions)
        arrays["bin_positions"] = np.asarray(ex.bin_positions)
    np.savez_compressed(folder / "attention.npz", **arrays)
    for name, crop in ex.crops.items():
        cv2.imwrite(str(folder / f"crop_{name.replace(' ', '_')}.png"), cv2.cvtColor(crop, cv2.COLOR_RGB2BGR))
    index = {
        "tracker": tracker, "spec_hash": spec.hash, "dataset": split.dataset, "split_key": split.key,
        "sequence": sequence, "frame": frame, "state": state, "tokens": list(ex.tokens),
        "box_in_search_crop": list(ex.box), "box_in_frame": list(ex.frame_box), "score": ex.score,
        "meta": ex.meta,
        "figures": [{"file": f, "caption": c, "main": m} for f, c, m in written],
    }
    atomic_write(folder / EXPLAIN_INDEX, json.dumps(index, indent=2), mode=0o644)
    return ExplainFiles(folder=folder, figures=[folder / f for f, _, _ in written], index=folder / EXPLAIN_INDEX)


__all__ = ["ExplainFiles", "STATES", "explain", "explanation_figure"]
