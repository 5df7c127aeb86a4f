"""The speed-accuracy flow: accuracy from the metrics analysis of stored results, speed from
saved isolated speed results, and the published points: three domains, so it lives here."""

from __future__ import annotations

import pandas as pd

from ..datasets.registry import get_info, load_split
from ..leaderboard.points import published_speed_points
from ..metrics.analysis import analyze_store
from ..results.layout import run_folder
from ..speed.store import load_speed_results
from ..speed.table import speed_accuracy_table
from ..workspace import Workspace


def speed_accuracy_from_store(workspace: Workspace, dataset: str, trackers: list[str] | None = None,
                              protocol: str | None = None,
                              include_published: bool = True) -> pd.DataFrame:
    """``speed_accuracy_table`` for the trackers of the workspace store that have both eval
    results on ``dataset`` (AUC by the data set's default protocol, in percent) and saved
    isolated speed results. With no ``trackers``, every tracker with saved speed results.
    Published points join only for a data set with published results."""
    results_dir = workspace.results_dir
    speed_all = load_speed_results(results_dir)
    names = trackers or sorted({r.tracker for r in speed_all})
    split = load_split(dataset, workspace=workspace, allow_partial=True)
    have = [t for t in names if run_folder(results_dir, t, split.key).is_dir()]
    accuracy: dict[str, float] = {}
    if have:
        analysis = analyze_store(split, have, results_dir, protocol=protocol)
        key = "auc" if "auc" in analysis.metrics else analysis.metrics[0]
        for t in have:
            value = analysis.score(t, key)
            if value is not None:
                accuracy[t] = 100.0 * value
    speed = {t: [r for r in speed_all if r.tracker == t] for t in names}
    info = get_info(split.dataset)
    published = (published_speed_points(split.dataset)
                 if include_published and not info.synthetic and info.published_name else [])
    return speed_accuracy_table(speed, accuracy, dataset=split.dataset, published_points=published)
