"""The leaderboard as a terminal table, CSV or Markdown, and the rows and points its HTML page
shows (the page itself is drawn by ``report.render.leaderboard_page``, with the report's
templates and plots)."""

from __future__ import annotations

import io
import math

import pandas as pd

from ..errors import ConfigError
from .board import Leaderboard

TEXT_FORMATS = ("table", "csv", "markdown")

# Columns shown in the human-readable formats (CSV keeps every column).
SHOWN = ("rank", "tracker", "variant", "value", "ci", "fps_gpu", "fps_cpu", "delta", "pareto", "source")


def _fmt(value, digits: int = 1) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def display_rows(board: Leaderboard) -> list[dict[str, str]]:
    """Rows as strings, ours marked with '*', delta signed, front marked."""
    out = []
    for row in board.rows.itertuples(index=False):
        ci = ""
        if not (math.isnan(row.ci_low) or math.isnan(row.ci_high)):
            ci = f"[{row.ci_low:.1f}, {row.ci_high:.1f}]"
        delta = ""
        if not math.isnan(row.delta):
            delta = f"{row.delta:+.1f} vs {row.paper_value:.1f}"
        comparable = bool(row.comparable)
        out.append({
            "rank": "-" if pd.isna(row.rank) else str(row.rank),
            "tracker": ("* " if row.ours else "") + str(row.tracker)
                       + ("" if comparable else f" [{str(row.coverage).upper()}]"),
            "variant": str(row.variant),
            "value": _fmt(row.value),
            "ci": ci,
            "fps_gpu": _fmt(row.fps_gpu, 0),
            "fps_cpu": _fmt(row.fps_cpu, 0),
            "delta": delta,
            "pareto": "front" if row.pareto else "",
            "source": str(row.source),
            "ours": bool(row.ours),
            "comparable": comparable,
        })
    return out


def headers_for(board: Leaderboard) -> dict[str, str]:
    return {"rank": "#", "tracker": "tracker", "variant": "variant", "value": board.metric,
            "ci": "95% CI", "fps_gpu": "FPS GPU", "fps_cpu": "FPS CPU", "delta": "repro. delta",
            "pareto": f"Pareto ({board.speed.upper()})", "source": "source"}


def board_title(board: Leaderboard) -> str:
    """The board's heading (every format uses it)."""
    return (f"{board.dataset} leaderboard by {board.metric} (* = ours, local results; "
            "[SUBSET]/[PARTIAL] = not the full official split: not ranked)")


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."


def to_text(board: Leaderboard, source_width: int = 48, variant_width: int = 30) -> str:
    """Fixed-width table for the terminal (long texts cut, full text in CSV/HTML)."""
    headers = headers_for(board)
    rows = display_rows(board)
    for r in rows:
        r["source"] = _cut(r["source"], source_width)
        r["variant"] = _cut(r["variant"], variant_width)
    widths = {c: max([len(headers[c])] + [len(r[c]) for r in rows]) for c in SHOWN}
    lines = [board_title(board)]
    lines.append("  ".join(headers[c].ljust(widths[c]) for c in SHOWN).rstrip())
    lines.append("  ".join("-" * widths[c] for c in SHOWN))
    for r in rows:
        lines.append("  ".join(r[c].ljust(widths[c]) for c in SHOWN).rstrip())
    lines.extend(f"note: {n}" for n in board.notes)
    return "\n".join(lines)


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_safe_cell(value):
    """A text cell a spreadsheet would run as a formula (``=``, ``+``, ``-``, ``@``, tab or CR
    first) gets a leading ``'`` (OWASP's rule); numbers, and text that is a plain number such as
    ``-3.5``, are left as they are."""
    if not isinstance(value, str) or not value.startswith(_FORMULA_START):
        return value
    try:
        float(value)
        return value if value.strip() == value else "'" + value
    except ValueError:
        return "'" + value


def csv_safe_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with every text cell (and column name) passed through ``csv_safe_cell``."""
    out = frame.copy()
    for col in out.columns:
        if not (pd.api.types.is_numeric_dtype(out[col]) or pd.api.types.is_bool_dtype(out[col])):
            out[col] = out[col].map(csv_safe_cell)
    out.columns = [csv_safe_cell(c) if isinstance(c, str) else c for c in out.columns]
    return out


def to_csv(board: Leaderboard) -> str:
    """Every column, machine-readable, with ``dataset`` and ``metric`` on each row (text cells
    that would start a spreadsheet formula are neutralised: ``csv_safe_cell``)."""
    frame = board.rows.copy()
    frame.insert(1, "dataset", board.dataset)
    frame.insert(2, "metric", board.metric)
    buf = io.StringIO()
    csv_safe_frame(frame).to_csv(buf, index=False, lineterminator="\n")
    return buf.getvalue()


def _md_cell(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("*", "\\*").replace("\n", " ")


def to_markdown(board: Leaderboard) -> str:
    """A GitHub-flavoured Markdown table, ours in bold."""
    headers = headers_for(board)
    lines = [f"**{_md_cell(board_title(board))}**", ""]
    lines.append("| " + " | ".join(_md_cell(headers[c]) for c in SHOWN) + " |")
    lines.append("|" + "|".join("---" for _ in SHOWN) + "|")
    for r in display_rows(board):
        cells = [_md_cell(r[c]) for c in SHOWN]
        if r["ours"]:
            cells = [f"**{c}**" if c else c for c in cells]
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    lines.extend(f"- {_md_cell(n)}" for n in [*board.notes, front_text(board)])
    return "\n".join(lines) + "\n"


def scatter_points(board: Leaderboard) -> pd.DataFrame:
    """Rows with a speed in the board's FPS column, as speed-accuracy plot points."""
    col = f"fps_{board.speed}"
    rows = board.rows[board.rows[col].notna()]
    labels = [(str(r.tracker) + ("" if r.comparable else f" [{str(r.coverage).upper()}]"))
              if r.ours else f"{r.tracker} {r.variant}"[:40] for r in rows.itertuples(index=False)]
    return pd.DataFrame({"label": labels, "fps": rows[col].to_numpy(float), "accuracy": rows["value"].to_numpy(float),
                         "ours": rows["ours"].to_numpy(bool), "pareto": rows["pareto"].to_numpy(bool)})


def render(board: Leaderboard, fmt: str) -> str:
    """Dispatch on ``fmt`` in TEXT_FORMATS (HTML: ``app.leaderboard.render_board``)."""
    if fmt == "table":
        return to_text(board)
    if fmt == "csv":
        return to_csv(board)
    if fmt == "markdown":
        return to_markdown(board)
    raise ConfigError(f"unknown text format {fmt!r}; choose one of {', '.join(TEXT_FORMATS)}")


def front_text(board: Leaderboard) -> str:
    """The Pareto front as short lines (fastest first)."""
    front = board.pareto_front()
    col = f"fps_{board.speed}"
    if front.empty:
        return f"Pareto front ({board.speed.upper()} FPS): no rows with {board.speed.upper()} FPS"
    parts = [f"{('* ' if r.ours else '')}{r.tracker} {r.variant} ({getattr(r, col):.0f} fps, {r.value:.1f})"
             for r in front.itertuples(index=False)]
    return f"Pareto front ({board.speed.upper()} FPS, fastest first): " + "; ".join(parts)


def frame_for_display(board: Leaderboard) -> pd.DataFrame:
    """The displayed columns as a DataFrame (used by the report)."""
    return pd.DataFrame(display_rows(board), columns=[*SHOWN, "ours", "comparable"])
