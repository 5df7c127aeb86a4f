"""Write a ReportModel as a self-contained HTML page and as a PDF (matplotlib PdfPages only)."""

from __future__ import annotations

import io
import textwrap
from dataclasses import dataclass
from pathlib import Path

from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure

from ..leaderboard.board import Leaderboard
from ..leaderboard.render import (SHOWN, board_title, display_rows, front_text, headers_for,
                                  scatter_points)
from ..results.atomic import atomic_write
from . import plots
from .html import render_template
from .model import ReportModel
from .views import (Cell, RowView, TableView, as_json_text, attribute_view, figures, frame_view,
                    manifest_texts, overall_view, speed_view)

A4 = (8.27, 11.69)
ROWS_PER_PAGE = 42


@dataclass
class ReportFiles:
    html: Path
    pdf: Path | None


def _views(m: ReportModel) -> dict[str, TableView]:
    views = {
        "overall": overall_view(m),
        "paired": frame_view(m.paired, "paired-table"),
        "per_sequence": frame_view(m.per_sequence, "per-sequence-table"),
        "speed": speed_view(m),
    }
    if m.attributes is not None and not m.attributes.empty:
        views["attributes"] = attribute_view(m)
    return views


def render_html(m: ReportModel) -> str:
    """The HTML text: plots as base64 PNG, inline CSS and JS, no external requests."""
    figs = figures(m)
    for fig in [*figs["curves"], figs["attributes"], figs["speed"]]:
        if fig is not None and not fig.uri:
            fig.embed()
    leaderboard = None
    if m.leaderboard is not None and not m.leaderboard.rows.empty:
        leaderboard = {"board": m.leaderboard, "headers": headers_for(m.leaderboard), "columns": SHOWN,
                       "rows": display_rows(m.leaderboard)}
    return render_template("report.html.j2", title=m.title, m=m, views=_views(m), figures=figs,
                           manifests=manifest_texts(m), leaderboard=leaderboard,
                           protocol_text=as_json_text(m.protocol_definition) if m.protocol_definition else "")


def _text_page(lines: list[str], title: str) -> tuple[Figure, float]:
    """An A4 page of monospace lines under a title; returns it and the height left (0..1)."""
    fig = Figure(figsize=A4)
    fig.text(0.06, 0.96, title, fontsize=14, weight="bold", va="top")
    y = 0.92
    for line in lines:
        for part in textwrap.wrap(line, 100) or [""]:
            if y < 0.03:
                return fig, y
            fig.text(0.06, y, part, fontsize=8, family="monospace", va="top")
            y -= 0.016
    return fig, y


def _draw_table(ax, view: TableView, fontsize: float) -> None:
    ax.axis("off")
    table = ax.table(cellText=view.text_rows(), colLabels=view.headers, loc="upper left", cellLoc="left")
    table.auto_set_font_size(False)
    table.set_fontsize(fontsize)
    table.auto_set_column_width(list(range(len(view.headers))))


def _table_pages(view: TableView, title: str, max_chars: int = 28) -> list[Figure]:
    """One or more A4 pages holding a table (long cells cut; the HTML has them whole)."""
    rows = [[t if len(t) <= max_chars else t[: max_chars - 1] + "\u2026" for t in r] for r in view.text_rows()]
    pages = []
    chunks = [rows[i:i + ROWS_PER_PAGE] for i in range(0, len(rows), ROWS_PER_PAGE)] or [[]]
    for k, chunk in enumerate(chunks):
        fig = Figure(figsize=A4)
        suffix = f" ({k + 1}/{len(chunks)})" if len(chunks) > 1 else ""
        fig.text(0.06, 0.96, title + suffix, fontsize=14, weight="bold", va="top")
        ax = fig.add_axes((0.04, 0.04, 0.92, 0.88))
        if chunk and view.headers:
            _draw_table(ax, TableView(view.id, view.headers, [RowView([Cell(t) for t in r]) for r in chunk]),
                        6.5 if len(view.headers) > 6 else 7.5)
        else:
            ax.axis("off")
            ax.text(0.0, 1.0, "(empty)", va="top", fontsize=9)
        pages.append(fig)
    return pages


def _plot_pages(m: ReportModel) -> list[Figure]:
    """The plots, vector-drawn, two to an A4 page: curves, attributes, speed-accuracy."""
    drawers = [(lambda ax, k=kind: plots.draw_curves(ax, k, m.curves[k], m.dataset))
               for kind in ("success", "precision", "norm_precision") if m.curves.get(kind)]
    if m.attributes is not None and not m.attributes.empty:
        drawers.append(lambda ax: plots.draw_attributes(ax, m.attributes, m.dataset))
    if not m.speed_points.empty:
        drawers.append(lambda ax: plots.draw_speed_accuracy(ax, m.speed_points, m.dataset))
    pages = []
    for i in range(0, len(drawers), 2):
        fig = Figure(figsize=A4)
        for k, draw in enumerate(drawers[i:i + 2]):
            draw(fig.add_axes((0.12, 0.56 - 0.48 * k, 0.8, 0.38)))
        pages.append(fig)
    return pages


def pdf_pages(m: ReportModel) -> list[Figure]:
    """Every page of the PDF, in order: summary with the overall table, plots, paired
    comparisons, attribute and speed tables, leaderboard, per-sequence tables, manifests."""
    views = _views(m)
    summary = [f"Data set: {m.dataset} (results key {m.split_key})",
               f"Trackers: {', '.join(m.trackers)}",
               f"Metric protocol: {m.protocol} (hash {m.protocol_hash})",
               f"Generated: {m.generated}"]
    if m.partial:
        summary += ["", "PARTIAL RESULTS: at least one split or run was incomplete or covers only a",
                    "subset of the official split; these numbers are not comparable with full-split",
                    "or published results."] + [f"  - {d}" for d in m.partial_details]
    summary += [f"WARNING: {w}" for w in m.warnings] + m.notes
    first, y = _text_page(summary, m.title)
    pages = [first]
    ov = views["overall"]
    if ov.rows:
        height = min(0.5, 0.03 * (len(ov.rows) + 2))
        if y - 0.05 < height:  # no room left under the summary: a page of its own
            page, y = _text_page([], "Overall results")
            pages.append(page)
        host = pages[-1]
        host.text(0.06, y - 0.01, "Overall results (%, 95% bootstrap CI)", fontsize=10, va="top")
        _draw_table(host.add_axes((0.06, y - 0.04 - height, 0.88, height)), ov, 7.5)
    pages += _plot_pages(m)
    if views["paired"].rows:
        pages += _table_pages(views["paired"], "Paired comparisons")
    if "attributes" in views:
        pages += _table_pages(views["attributes"], "AUC per attribute")
    if views["speed"].rows:
        pages += _table_pages(views["speed"], "Speed")
    if m.leaderboard is not None and not m.leaderboard.rows.empty:
        board = TableView("leaderboard", [headers_for(m.leaderboard)[c] for c in SHOWN])
        board.rows = [RowView([Cell(r[c]) for c in SHOWN]) for r in display_rows(m.leaderboard)]
        pages += _table_pages(board, f"{m.leaderboard.dataset}: against published results")
    pages += _table_pages(views["per_sequence"], "Per-sequence results")
    manifest_lines: list[str] = []
    for name, text in manifest_texts(m):
        manifest_lines += [f"== {name}", *text.splitlines()[:60], ""]
    pages.append(_text_page(manifest_lines or ["No run manifests found."], "Run manifests")[0])
    return pages


def write_report(m: ReportModel, out_dir: str | Path, pdf: bool = True) -> ReportFiles:
    """``<out_dir>/index.html`` and, with ``pdf``, ``<out_dir>/report.pdf`` (written atomically)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    html_path = out_dir / "index.html"
    atomic_write(html_path, render_html(m), mode=0o644)
    pdf_path = None
    if pdf:
        pdf_path = out_dir / "report.pdf"
        buf = io.BytesIO()
        with PdfPages(buf, metadata={"Title": m.title, "Subject": f"{m.dataset} {m.protocol}"}) as doc:
            for page in pdf_pages(m):
                doc.savefig(page)
        atomic_write(pdf_path, buf.getvalue(), mode=0o644)
    return ReportFiles(html=html_path, pdf=pdf_path)


def leaderboard_page(board: Leaderboard) -> str:
    """The leaderboard as a self-contained HTML page: the table (names escaped) and the
    speed-accuracy scatter with its Pareto front as an embedded PNG."""
    points = scatter_points(board)
    plot = None
    if not points.empty:
        fig = plots.speed_accuracy_figure(points, board.dataset, board.metric)
        plot = {"uri": plots.figure_data_uri(fig), "caption": front_text(board)}
    return render_template("leaderboard_page.html.j2", board=board, headers=headers_for(board),
                           columns=SHOWN, rows=display_rows(board), title=board_title(board), plot=plot)
