"""Speed-accuracy table: for every tracker with both an accuracy (AUC) and an isolated speed
result, AUC vs FPS on the CPU and on the GPU separately, plus published points given as rows
(``leaderboard.points``; this module reads neither metrics nor the leaderboard).

FPS is the end-to-end tracking speed where it was measured (``fps_measure`` = "end-to-end"),
else the model-only latency FPS (``fps_measure`` = "model"); contended timings are never used.
Published points carry the paper's FPS and hardware as written (``fps_measure`` = "published")."""

from __future__ import annotations

import math
from typing import Any, Iterable, Mapping

import pandas as pd

from .store import SpeedResult

COLUMNS = ("tracker", "variant", "dataset", "auc", "fps_cpu", "fps_gpu", "fps_measure",
           "source", "hardware_cpu", "hardware_gpu", "weights")


def best_fps(results: Iterable[SpeedResult], gpu: bool) -> tuple[float | None, str | None, str | None]:
    """Highest isolated FPS on the CPU (``gpu`` False) or GPU, preferring end-to-end over model
    latency; returns (fps, measure, hardware)."""
    pool = [r for r in results if r.is_gpu == gpu and not r.contended]
    e2e = [(r.tracking_fps, r) for r in pool if r.tracking_fps]
    if e2e:
        fps, r = max(e2e, key=lambda t: t[0])
        return float(fps), "end-to-end", r.hardware()
    model = [(r.model_fps, r) for r in pool if r.model_fps and r.batch == 1]
    if model:
        fps, r = max(model, key=lambda t: t[0])
        return float(fps), "model", r.hardware()
    return None, None, None


def speed_accuracy_table(speed: Mapping[str, list[SpeedResult]],
                         accuracy: Mapping[str, float], dataset: str = "lasot", *,
                         published_points: Iterable[Mapping[str, Any]] = ()) -> pd.DataFrame:
    """Rows for our trackers (``source`` = "ours") that have an AUC in ``accuracy`` and at
    least one isolated FPS in ``speed``, then ``published_points`` (``source`` = "published",
    from ``leaderboard.points.published_speed_points``).

    ``accuracy`` maps tracker name -> AUC in percent; ``speed`` maps tracker name -> its speed
    results (``load_speed_results``). Random-weight timings are valid speeds (latency does not
    depend on weight values); the AUC always comes from ``accuracy``, i.e. real runs.
    """
    rows: list[dict[str, Any]] = []
    for tracker in sorted(set(speed) & set(accuracy)):
        auc = accuracy[tracker]
        if auc is None or (isinstance(auc, float) and math.isnan(auc)):
            continue
        results = speed[tracker]
        fps_cpu, m_cpu, hw_cpu = best_fps(results, gpu=False)
        fps_gpu, m_gpu, hw_gpu = best_fps(results, gpu=True)
        if fps_cpu is None and fps_gpu is None:
            continue
        measures = sorted({m for m in (m_cpu, m_gpu) if m})
        weights = sorted({r.weights for r in results if r.weights})
        rows.append({
            "tracker": tracker, "variant": None, "dataset": dataset, "auc": float(auc),
            "fps_cpu": fps_cpu, "fps_gpu": fps_gpu, "fps_measure": "/".join(measures),
            "source": "ours", "hardware_cpu": hw_cpu, "hardware_gpu": hw_gpu,
            "weights": ", ".join(weights) or None,
        })
    rows.extend(dict(p) for p in published_points)
    return pd.DataFrame(rows, columns=list(COLUMNS))


def scatter_points(table: pd.DataFrame, device: str = "cpu") -> pd.DataFrame:
    """The points of one scatter (CPU or GPU FPS vs AUC) from ``speed_accuracy_table``:
    columns label, fps, accuracy, ours, hardware, fps_measure (the report's plot input)."""
    if device not in ("cpu", "gpu"):
        raise ValueError("device must be 'cpu' or 'gpu'")
    column = f"fps_{device}"
    rows = []
    for _, row in table.iterrows():
        fps = row[column]
        if fps is None or pd.isna(fps):
            continue
        variant = row["variant"] if isinstance(row["variant"], str) and row["variant"] else ""
        label = f"{row['tracker']}-{variant}" if variant else str(row["tracker"])
        rows.append({"label": label, "fps": float(fps), "accuracy": float(row["auc"]),
                     "ours": row["source"] == "ours",
                     "hardware": row[f"hardware_{device}"], "fps_measure": row["fps_measure"]})
    return pd.DataFrame(rows, columns=["label", "fps", "accuracy", "ours", "hardware",
                                       "fps_measure"])


def speed_accuracy_text(table: pd.DataFrame) -> str:
    """The table as text, with what the FPS columns mean."""
    if table.empty:
        return "no tracker has both accuracy and isolated speed results"
    shown = table.astype(object).where(table.notna(), "-")
    legend = ("fps_cpu / fps_gpu: ours = end-to-end tracking FPS where measured (else model-only "
              "FPS, see fps_measure), isolated runs only; published = as the source states.")
    return shown.to_string(index=False) + "\n" + legend
