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


def format_number(x: float, decimals: int | None = None) -> str:
    """A number for a cell: with ``decimals``, exactly that many (a column's numbers line up:
    41.0, not 41, beside 41.3); without, 3 significant digits below 100, one decimal above."""
    if isinstance(x, (bool, np.bool_)):
        return "yes" if x else "no"
    x = float(x)
    if math.isnan(x):
        return ""
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    if decimals is not None:
        return f"{x:.{decimals}f}"
    if abs(x) >= 100:
        return f"{x:.1f}"
    return f"{x:.3g}"


def column_decimals(values) -> int:
    """Fixed decimals for a column of floats: three significant digits for its typical (median
    non-zero) magnitude, between 1 and 4 (percent scores: 1; p-values: 3 or 4)."""
    arr = np.asarray([float(v) for v in values if isinstance(v, (int, float, np.integer, np.floating))
                      and not isinstance(v, (bool, np.bool_))], dtype=np.float64)
    arr = np.abs(arr[np.isfinite(arr) & (arr != 0)])
    if arr.size == 0:
        return 1
    return int(min(4, max(1, 2 - math.floor(math.log10(float(np.median(arr)))))))


def cell(value, decimals: int | None = None) -> Cell:
    if value is None:
        return Cell("")
    if isinstance(value, (bool, np.bool_)):
        return Cell("yes" if value else "no")
    if isinstance(value, (int, np.integer)):
        return Cell(str(int(value)), repr(float(value)), True)
    if isinstance(value, (float, np.floating)):
        f = float(value)
        return Cell(format_number(f, decimals), "" if math.isnan(f) else repr(f), True)
    return Cell(str(value))


def frame_view(frame: pd.DataFrame, view_id: str, index: bool = False) -> TableView:
    """A DataFrame as a table of formatted cells (numbers right-aligned and sortable; each float
    column with one fixed number of decimals, integer columns without)."""
    df = frame.reset_index() if index else frame
    view = TableView(view_id, [str(c) for c in df.columns])
    decimals = [None if pd.api.types.is_integer_dtype(df[c]) or pd.api.types.is_bool_dtype(df[c])
                else column_decimals(df[c].tolist()) for c in df.columns] if len(df.columns) and \
        len(set(df.columns)) == len(df.columns) else [None] * len(df.columns)
    for row in df.itertuples(index=False):
        view.rows.append(RowView([cell(v, d) for v, d in zip(row, decimals)]))
    return view


def overall_view(m: ReportModel) -> TableView:
    """Tracker x metric, each as ``value [lo, hi]``; sortable on the value."""
    headers = ["tracker", *[f"{metric} [95% CI]" for metric in m.overall_metrics]]
    view = TableView("overall-table", headers)
    # scores in percent: one decimal, as in the terminal table (41.0, never 41)
    decimals = {metric: 1 for metric in m.overall_metrics}
    for _, row in m.overall.iterrows():
        state = m.coverage.get(str(row["tracker"]), "full")
        mark = "" if state == "full" else f" [{state.upper()}: not comparable]"
        cells = [Cell(str(row["tracker"]) + mark)]
        for metric in m.overall_metrics:
            value = row.get(metric)
            if value is None or (isinstance(value, float) and math.isnan(value)):
                cells.append(Cell(""))
                continue
            lo, hi = row.get(f"{metric}_lo"), row.get(f"{metric}_hi")
            text = format_number(value, decimals[metric])
            if lo is not None and hi is not None and not (math.isnan(float(lo)) or math.isnan(float(hi))):
                text += f" [{format_number(lo, decimals[metric])}, {format_number(hi, decimals[metric])}]"
            sd = row.get(f"{metric}_sd")
            if sd is not None and not math.isnan(float(sd)):  # repeated runs: spread beside the CI
                text += f" ±{format_number(sd, 2)} SD over {int(row['runs'])} runs"
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
