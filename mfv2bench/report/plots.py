"""The report's figures, in the style of tracking papers, built on ``matplotlib.figure.Figure``
(no pyplot global state, no display needed). The same Figure objects go into the HTML (as
base64 PNG) and the PDF (PdfPages)."""

from __future__ import annotations

import base64
import io
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

# Colour and line-style cycle: distinct in colour and in grey print.
_COLOURS = ("#d62728", "#1f77b4", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2",
            "#7f7f7f", "#bcbd22", "#17becf")
_STYLES = ("-", "--", "-.", ":")


@dataclass
class CurveSeries:
    """One tracker's curve: ``x`` thresholds, ``y`` rates in [0, 1], ``score`` for the legend."""

    tracker: str
    x: np.ndarray
    y: np.ndarray
    score: float
    score_name: str = ""  # legend title; default per kind (AUC, P@20, NP@0.2)


# kind -> (title prefix, x label, y label, legend score label)
CURVE_KINDS = {
    "success": ("Success plots of OPE", "Overlap threshold", "Success rate", "AUC"),
    "precision": ("Precision plots of OPE", "Location error threshold (pixels)", "Precision", "P@20"),
    "norm_precision": ("Normalized precision plots of OPE", "Normalized location error threshold",
                       "Normalized precision", "NP@0.2"),
}


def style_for(index: int) -> dict:
    return {"color": _COLOURS[index % len(_COLOURS)], "linestyle": _STYLES[(index // len(_COLOURS)) % 4]}


def curve_figure(kind: str, series: list[CurveSeries], dataset: str) -> Figure:
    """Success / precision / normalized precision plot; legend ``[score] tracker``, best first."""
    fig = Figure(figsize=(6.0, 4.6), dpi=100)
    draw_curves(fig.add_subplot(), kind, series, dataset)
    fig.tight_layout()
    return fig


def draw_curves(ax, kind: str, series: list[CurveSeries], dataset: str) -> None:
    """The curve plot on ``ax`` (shared by the HTML figure and the PDF page)."""
    title, xlabel, ylabel, score_name = CURVE_KINDS[kind]
    if series and series[0].score_name:
        score_name = series[0].score_name
    # legend best first; each tracker keeps its own colour in every plot (its input position)
    colour_of = {s.tracker: i for i, s in enumerate(series)}
    ordered = sorted(series, key=lambda s: -s.score if math.isfinite(s.score) else math.inf)
    for s in ordered:
        ax.plot(np.asarray(s.x, float), np.asarray(s.y, float), linewidth=2,
                label=f"[{s.score:.3f}] {s.tracker}", **style_for(colour_of[s.tracker]))
    ax.set_title(f"{title} on {dataset}")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if ordered:
        xs = np.concatenate([np.asarray(s.x, float) for s in ordered])
        ax.set_xlim(float(np.nanmin(xs)), float(np.nanmax(xs)))
    ax.set_ylim(0.0, 1.0)
    ax.grid(True, linestyle=":", linewidth=0.6)
    ax.legend(loc="lower left" if kind == "success" else "lower right", fontsize=8,
              title=score_name, title_fontsize=8)


def attribute_figure(auc: pd.DataFrame, dataset: str) -> Figure:
    """Per-attribute AUC as grouped horizontal bars: rows = attributes, columns = trackers."""
    n_attr, n_trk = auc.shape
    fig = Figure(figsize=(7.0, max(3.0, 0.32 * n_attr * max(1, min(n_trk, 4)) + 1.2)), dpi=100)
    draw_attributes(fig.add_subplot(), auc, dataset)
    fig.tight_layout()
    return fig


def draw_attributes(ax, auc: pd.DataFrame, dataset: str) -> None:
    """Grouped horizontal bars of per-attribute AUC on ``ax``."""
    n_attr, n_trk = auc.shape
    height = 0.8 / max(n_trk, 1)
    ypos = np.arange(n_attr)
    for j, tracker in enumerate(auc.columns):
        ax.barh(ypos + (j - (n_trk - 1) / 2) * height, auc[tracker].to_numpy(float), height=height,
                label=str(tracker), color=_COLOURS[j % len(_COLOURS)])
    ax.set_yticks(ypos)
    ax.set_yticklabels([str(a) for a in auc.index], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("AUC")
    ax.set_xlim(0.0, 1.0)
    ax.set_title(f"AUC per attribute on {dataset}")
    ax.grid(True, axis="x", linestyle=":", linewidth=0.6)
    ax.legend(fontsize=8, loc="lower right")


def speed_accuracy_figure(points: pd.DataFrame, dataset: str, accuracy_label: str = "AUC") -> Figure:
    """Scatter of FPS (log axis) against accuracy; ours filled, published hollow; Pareto front line.

    ``points`` columns: label, fps, accuracy, ours (bool), pareto (bool, optional).
    """
    fig = Figure(figsize=(6.4, 4.6), dpi=100)
    draw_speed_accuracy(fig.add_subplot(), points, dataset, accuracy_label)
    fig.tight_layout()
    return fig


def draw_speed_accuracy(ax, points: pd.DataFrame, dataset: str, accuracy_label: str = "AUC") -> None:
    """The speed-accuracy scatter on ``ax``."""
    pts = points[np.isfinite(points["fps"].astype(float)) & np.isfinite(points["accuracy"].astype(float))]
    pts = pts[pts["fps"].astype(float) > 0]
    for ours, marker, face in ((False, "o", "none"), (True, "*", None)):
        sub = pts[pts["ours"] == ours]
        if sub.empty:
            continue
        ax.scatter(sub["fps"].astype(float), sub["accuracy"].astype(float), marker=marker,
                   s=110 if ours else 40, facecolors=face if face else "#d62728",
                   edgecolors="#d62728" if ours else "#1f77b4",
                   label="ours (this machine)" if ours else "published")
        for row in sub.itertuples(index=False):
            ax.annotate(str(row.label), (float(row.fps), float(row.accuracy)), fontsize=7,
                        xytext=(4, 3), textcoords="offset points")
    if "pareto" in pts.columns:
        front = pts[pts["pareto"].astype(bool)].sort_values("fps")
        if len(front) > 1:
            ax.plot(front["fps"].astype(float), front["accuracy"].astype(float), color="#7f7f7f",
                    linestyle="--", linewidth=1, label="Pareto front")
    if not pts.empty:
        ax.set_xscale("log")
    ax.set_xlabel("Speed (FPS, log scale)")
    ax.set_ylabel(accuracy_label)
    ax.set_title(f"Speed vs accuracy on {dataset}")
    ax.grid(True, which="both", linestyle=":", linewidth=0.5)
    if not pts.empty:
        ax.legend(fontsize=8, loc="best")
    else:
        ax.text(0.5, 0.5, "no speed measurements", ha="center", va="center", transform=ax.transAxes)


def figure_png(fig: Figure, dpi: int = 110) -> bytes:
    """PNG bytes of a figure (Agg canvas, no display)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()


def figure_data_uri(fig: Figure, dpi: int = 110) -> str:
    """``data:image/png;base64,...`` for embedding in a self-contained HTML page."""
    return "data:image/png;base64," + base64.b64encode(figure_png(fig, dpi)).decode("ascii")
