"""What a report shows, gathered once and rendered twice (HTML and PDF).

Built from a metrics ``Analysis`` (see ``report.build``); holds only data, no formatting.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from .plots import CurveSeries


@dataclass
class ReportModel:
    """Everything one report displays.

    ``overall``: one row per tracker, columns = metric names, plus ``<metric>_lo`` / ``<metric>_hi``
    for the 95% CI where known. ``paired``: one row per tracker pair (columns as the analysis gives
    them). ``per_sequence``: one row per (sequence, tracker) or per sequence. ``attributes``: rows =
    attributes, columns = trackers, values = AUC in [0, 1] (LaSOT only). ``speed_points``: label,
    fps, accuracy, ours, pareto, hardware (our measured trackers and published ones).
    """

    title: str
    dataset: str
    split_key: str
    trackers: list[str]
    protocol: str
    protocol_hash: str
    generated: str
    protocol_definition: dict[str, Any] = field(default_factory=dict)
    partial: bool = False
    partial_details: list[str] = field(default_factory=list)
    overall: pd.DataFrame = field(default_factory=pd.DataFrame)
    overall_metrics: list[str] = field(default_factory=list)
    paired: pd.DataFrame = field(default_factory=pd.DataFrame)
    paired_method: str = ""
    per_sequence: pd.DataFrame = field(default_factory=pd.DataFrame)
    curves: dict[str, list[CurveSeries]] = field(default_factory=dict)
    attributes: pd.DataFrame | None = None
    speed_points: pd.DataFrame = field(default_factory=pd.DataFrame)
    speed_table: pd.DataFrame = field(default_factory=pd.DataFrame)
    manifests: dict[str, dict[str, Any]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    leaderboard: Any = None  # a leaderboard.board.Leaderboard, when the data set has published rows
    failures: Any = None  # a report.failures.FailureSection: IoU strips and failure galleries
    attention: list[Any] = field(default_factory=list)  # AttentionImage: explain figures shown
    coverage: dict[str, str] = field(default_factory=dict)  # tracker -> full | subset | partial
