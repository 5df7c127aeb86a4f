"""Report data -> display pieces (tables of formatted cells, figures) shared by HTML and PDF."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from . import plots
from .model import ReportModel


@dataclass
class Cell:
    text: str
    sort: str = ""
    num: bool = False


@dataclass
class RowView:
    cells: list[Cell]


@dataclass
class TableView:
    """A table ready to print: headers and rows of formatted cells (sortable in HTML)."""

    id: str
    headers: list[str]
    rows: list[RowView] = field(default_factory=list)

    def text_rows(self) -> list[list[str]]:
        return [[c.text for c in r.cells] for r in self.rows]


def format_number(x: float) -> str:
    """Compact, readable: 3 significant digits below 100, one decimal above."""
    if isinstance(x, (bool, np.bool_)):
        return "yes" if x else "no"
    x = float(x)
    if math.isnan(x):
        return ""
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    if x == int(x) and abs(x) < 1e9:
        return str(int(x))
    if abs(x) >= 100:
        return f"{x:.1f}"
    return f"{x:.3g}"


def cell(value) -> Cell:
    if value is None:
        return Cell("")
    if isinstance(value, (bool, np.bool_)):
        return Cell("yes" if value else "no")
    if isinstance(value, (int, float, np.integer, np.floating)):
        f = float(value)
        return Cell(format_number(f), "" if math.isnan(f) else repr(f), True)
    return Cell(str(value))


def frame_view(frame: pd.DataFrame, view_id: str, index: bool = False) -> TableView:
    """A DataFrame as a table of formatted cells (numbers right-aligned and sortable)."""
    df = frame.reset_index() if index else frame
    view = TableView(view_id, [str(c) for c in df.columns])
    for row in df.itertuples(index=False):
        view.rows.append(RowView([cell(v) for v in row]))
    return view


def overall_view(m: ReportModel) -> TableView:
    """Tracker x metric, each as ``value [lo, hi]``; sortable on the value."""
    headers = ["tracker", *[f"{metric} [95% CI]" for metric in m.overall_metrics]]
    view = TableView("overall-table", headers)
    for _, row in m.overall.iterrows():
        cells = [Cell(str(row["tracker"]))]
        for metric in m.overall_metrics:
            value = row.get(metric)
            if value is None or (isinstance(value, float) and math.isnan(value)):
                cells.append(Cell(""))
                continue
            lo, hi = row.get(f"{metric}_lo"), row.get(f"{metric}_hi")
            text = format_number(value)
            if lo is not None and hi is not None and not (math.isnan(float(lo)) or math.isnan(float(hi))):
                text += f" [{format_number(lo)}, {format_number(hi)}]"
            cells.append(Cell(text, repr(float(value)), True))
        view.rows.append(RowView(cells))
    return view


def speed_view(m: ReportModel) -> TableView:
    return frame_view(m.speed_table, "speed-table") if not m.speed_table.empty else TableView("speed-table", [])


def attribute_view(m: ReportModel) -> TableView:
    frame = m.attributes.copy()
    frame.index.name = "attribute"
    return frame_view(frame, "attributes-table", index=True)


@dataclass
class FigureView:
    id: str
    caption: str
    figure: Figure
    uri: str = ""
    width: int = 0
    height: int = 0

    def embed(self) -> "FigureView":
        self.uri = plots.figure_data_uri(self.figure)
        w, h = self.figure.get_size_inches()
        self.width, self.height = int(round(w * 110)), int(round(h * 110))
        return self


def figures(m: ReportModel) -> dict:
    """The report's figures (curve plots, attribute bars, speed-accuracy scatter)."""
    curves = []
    for kind in ("success", "precision", "norm_precision"):
        series = m.curves.get(kind)
        if series:
            title = plots.CURVE_KINDS[kind][0]
            curves.append(FigureView(f"plot-{kind.replace('_', '-')}", f"{title} on {m.dataset}",
                                     plots.curve_figure(kind, series, m.dataset)))
    attributes = None
    if m.attributes is not None and not m.attributes.empty:
        attributes = FigureView("plot-attributes", f"AUC per attribute on {m.dataset}",
                                plots.attribute_figure(m.attributes, m.dataset))
    speed = None
    if not m.speed_points.empty:
        speed = FigureView("plot-speed-accuracy", f"Speed vs accuracy on {m.dataset}",
                           plots.speed_accuracy_figure(m.speed_points, m.dataset))
    return {"curves": curves, "attributes": attributes, "speed": speed}


def as_json_text(data: dict) -> str:
    return json.dumps(data, indent=1, sort_keys=True, default=str)


def manifest_texts(m: ReportModel) -> list[tuple[str, str]]:
    return [(name, as_json_text(man)) for name, man in m.manifests.items()]
