"""A hand-built ReportModel for the rendering tests: every section filled, hostile names."""

from __future__ import annotations

import numpy as np
import pandas as pd

from mfv2bench.leaderboard.board import LocalEntry, build_leaderboard
from mfv2bench.leaderboard.published import load_published
from mfv2bench.report.model import ReportModel
from mfv2bench.report.plots import CurveSeries

EVIL_TRACKER = '<img src=x onerror="document.title=1">'
EVIL_SEQUENCE = "seq</td><script>window.injected=1</script>"


def sample_model(partial: bool = True, n_sequences: int = 50) -> ReportModel:
    trackers = ["csrt", EVIL_TRACKER]
    x = np.linspace(0, 1, 21)
    curves = {
        "success": [CurveSeries(t, x, np.clip(1 - x ** (1 + i), 0, 1), 0.5 - 0.1 * i) for i, t in enumerate(trackers)],
        "precision": [CurveSeries(t, np.arange(51.0), np.clip(np.arange(51) / (50 + 10 * i), 0, 1), 0.4 - 0.1 * i)
                      for i, t in enumerate(trackers)],
        "norm_precision": [CurveSeries(t, np.linspace(0, 0.5, 51), np.linspace(0, 1 - 0.2 * i, 51), 0.45)
                           for i, t in enumerate(trackers)],
    }
    overall = pd.DataFrame([{"tracker": t, "AUC": 50.0 - 10 * i, "AUC_lo": 45.0 - 10 * i, "AUC_hi": 55.0 - 10 * i,
                             "P": 40.0 - i, "P_lo": 38.0 - i, "P_hi": 42.0 - i} for i, t in enumerate(trackers)])
    names = [EVIL_SEQUENCE] + [f"cat-{k}" for k in range(1, n_sequences)]
    per_sequence = pd.DataFrame([{"sequence": s, "tracker": t, "AUC": float((7 * k + 13 * i) % 100)}
                                 for k, s in enumerate(names) for i, t in enumerate(trackers)])
    rng = np.random.default_rng(0)
    attributes = pd.DataFrame({t: rng.uniform(0.2, 0.7, 14) for t in trackers},
                              index=[f"Attribute {i}" for i in range(14)])
    speed = pd.DataFrame([
        {"label": "csrt", "fps": 55.0, "accuracy": 50.0, "ours": True, "pareto": True, "hardware": "cpu"},
        {"label": "MixFormerV2-B", "fps": 165.0, "accuracy": 70.6, "ours": False, "pareto": True, "hardware": "gpu"},
    ])
    return ReportModel(
        title="Sample report", dataset="LaSOT", split_key="lasot-test", trackers=trackers,
        protocol="mixformerv2", protocol_hash="0123abcd", generated="2026-01-01T00:00:00Z",
        partial=partial, partial_details=["csrt: 3 of 280 sequences missing"] if partial else [],
        overall=overall, overall_metrics=["AUC", "P"],
        paired=pd.DataFrame([{"tracker_a": "csrt", "tracker_b": EVIL_TRACKER, "metric": "AUC",
                              "diff": 10.0, "ci_lo": 4.0, "ci_hi": 16.0, "p_value": 0.002}]),
        paired_method="paired bootstrap over sequences", per_sequence=per_sequence, curves=curves,
        attributes=attributes, speed_points=speed, speed_table=speed.drop(columns=["pareto"]),
        manifests={"csrt": {"tracker": "csrt", "spec_hash": "feed", "complete": True}},
        warnings=[f"degenerate output: {EVIL_TRACKER} constant boxes on 2 sequences"],
        leaderboard=build_leaderboard(load_published(), "lasot", "auc", [LocalEntry("csrt", 50.0, fps_cpu=55.0)]),
    )


def write_store_results(results_dir, tracker: str, split, noise: float, seed: int = 0,
                        manifest: dict | None = None):
    """Raw results in the store layout: GT plus centre noise of ``noise`` pixels (frame 0 exact)."""
    import json

    rng = np.random.default_rng(seed)
    folder = results_dir / tracker / split.key
    folder.mkdir(parents=True, exist_ok=True)
    for seq in split.sequences:
        boxes = seq.gt.copy()
        boxes[1:, :2] += rng.normal(0.0, noise, size=(len(boxes) - 1, 2))
        (folder / f"{seq.name}.txt").write_text("".join(",".join(repr(float(v)) for v in b) + "\n" for b in boxes))
        (folder / f"{seq.name}_time.txt").write_text("0.02\n" * len(boxes))
    if manifest is not None:
        (folder / "run.json").write_text(json.dumps(manifest))
    return folder


def official_lasot_tree(tmp_path, n_sequences: int = 2, seed: int = 2):
    """A LaSOT tree whose (synthetic) sequences carry official test names: a partial real split."""
    import shutil

    from mfv2bench.datasets.splits import official_list
    from mfv2bench.datasets.synthetic import write_synthetic

    src = tmp_path / "src"
    names = write_synthetic("lasot", src, n_sequences=n_sequences, n_frames=(10, 14), size=(96, 72), seed=seed)
    root = tmp_path / "lasot"
    for name, official in zip(names, official_list("lasot_test.txt")):
        cls = official.split("-")[0]
        (root / cls).mkdir(parents=True, exist_ok=True)
        shutil.move(str(src / name.split("-")[0] / name), str(root / cls / official))
    return root
