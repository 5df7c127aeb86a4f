"""The text the evaluation servers accept: comma-separated x,y,w,h lines (the results layer's
box text with the ``SUBMISSION`` syntax, 4 decimals) and one-number-per-line time files. Every
problem names the file (or zip member) and the line."""

from __future__ import annotations

import math

import numpy as np

from ..errors import InputError
from ..results.boxtext import SUBMISSION, parse_boxes
from ..results.boxtext import format_boxes as format_results_boxes

SUBMISSION_DECIMALS = 4


def parse_box_lines(text: str, source: str) -> np.ndarray:
    """``x,y,w,h`` per line, comma-separated, finite numbers -> (N, 4) float64 (the one box-text
    parser, with the servers' syntax)."""
    return parse_boxes(text, source, SUBMISSION)


def parse_time_lines(text: str, source: str) -> np.ndarray:
    """One non-negative finite number of seconds per line -> (N,) float64."""
    lines = text.splitlines()
    if lines and lines[-1].strip() == "":
        lines = lines[:-1]
    times = np.empty(len(lines), dtype=np.float64)
    for i, line in enumerate(lines):
        stripped = line.strip()
        try:
            value = float(stripped)
        except ValueError:
            raise InputError(f"expected one number of seconds, found {stripped[:60]!r}", source, i + 1) from None
        if not math.isfinite(value) or value < 0:
            raise InputError(f"time must be a finite number >= 0, found {stripped}", source, i + 1)
        times[i] = value
    return times


def format_boxes(boxes: np.ndarray) -> str:
    """Comma-separated lines with 4 decimals (sub-pixel precision is kept; servers round anyway)."""
    return format_results_boxes(boxes, decimals=SUBMISSION_DECIMALS)


def format_times(times: np.ndarray) -> str:
    """One time in seconds per line."""
    return "".join(f"{t:.8f}\n" for t in np.asarray(times, float))
