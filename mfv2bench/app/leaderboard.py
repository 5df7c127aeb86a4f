"""Leaderboard pages: published results, local scores (metrics) and speeds ranked together, as a
terminal table, CSV, Markdown or an HTML page (drawn by the report layer)."""

from __future__ import annotations

from pathlib import Path

from ..errors import ConfigError
from ..leaderboard.board import Leaderboard, build_leaderboard
from ..leaderboard.local import local_scores
from ..leaderboard.published import load_published
from ..leaderboard.render import TEXT_FORMATS, front_text, render
from ..report.render import leaderboard_page
from ..workspace import Workspace

FORMATS = (*TEXT_FORMATS, "html")


def render_board(board: Leaderboard, fmt: str) -> str:
    """``board`` in ``fmt`` (one of FORMATS); the terminal table ends with the Pareto front."""
    if fmt not in FORMATS:
        raise ConfigError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    if fmt == "html":
        return leaderboard_page(board)
    text = render(board, fmt)
    if fmt == "table":
        text += "\n" + front_text(board)
    return text


def leaderboard(workspace: Workspace, dataset: str, metric: str = "auc",
                trackers: list[str] | None = None, speed: str = "gpu",
                protocol: str | None = None, root: str | Path | None = None,
                results_dir: str | Path | None = None,
                published_path: str | Path | None = None,
                published_as: dict[str, str] | None = None) -> Leaderboard:
    """Published rows (the shipped table or ``published_path``) and local rows (every tracker
    with results for the split, or ``trackers``) on one board, with notes on what was left out."""
    published = load_published(published_path)
    local = local_scores(workspace, dataset, metric, trackers=trackers, protocol=protocol,
                         root=root, results_dir=results_dir)
    board = build_leaderboard(published, dataset, metric, local.entries, speed=speed,
                              published_as=published_as)
    used = [f"local results scored with protocol {local.protocol}"] if local.protocol else []
    board.notes = local.notes + used + board.notes
    return board
