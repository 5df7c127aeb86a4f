"""Published results as speed-accuracy points: the published side of the speed-accuracy table
(``speed.table.speed_accuracy_table`` takes them as plain rows; the report and the app add them)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from .published import load_published, published_dataset_name, published_metric_name


def published_speed_points(dataset: str, published: pd.DataFrame | None = None) -> list[dict[str, Any]]:
    """One row per published AUC (AO on GOT-10k) of ``dataset`` that states an FPS, in the
    columns of ``speed_accuracy_table`` (``source`` = ``fps_measure`` = "published"); the paper's
    FPS and hardware as written. ``published`` defaults to the shipped table."""
    published = load_published() if published is None else published
    name = published_dataset_name(dataset)
    metric = published_metric_name("auc", name)
    rows = published[(published["dataset"] == name) & (published["metric"] == metric)]
    out = []
    for _, row in rows.iterrows():
        fps_gpu = None if pd.isna(row["fps_gpu"]) else float(row["fps_gpu"])
        fps_cpu = None if pd.isna(row["fps_cpu"]) else float(row["fps_cpu"])
        if fps_gpu is None and fps_cpu is None:
            continue
        hardware = row["hardware"] or None
        out.append({
            "tracker": row["tracker"], "variant": row["variant"] or None, "dataset": name,
            "auc": float(row["value"]), "fps_cpu": fps_cpu, "fps_gpu": fps_gpu,
            "fps_measure": "published", "source": "published",
            "hardware_cpu": hardware if fps_cpu is not None else None,
            "hardware_gpu": hardware if fps_gpu is not None else None,
            "weights": None,
        })
    return out
