"""Strict readers for the text the evaluation servers accept: comma-separated x,y,w,h lines and
one-number-per-line time files. Every problem names the file (or zip member) and the line."""

from __future__ import annotations

import math

import numpy as np

from ..errors import InputError


def parse_box_lines(text: str, source: str) -> np.ndarray:
    """``x,y,w,h`` per line, comma-separated, finite numbers -> (N, 4) float64."""
    lines = text.splitlines()
    if lines and lines[-1].strip() == "":
        lines = lines[:-1]
    boxes = np.empty((len(lines), 4), dtype=np.float64)
    for i, line in enumerate(lines):
        stripped = line.strip()
        if stripped == "":
            raise InputError("empty line", source, i + 1)
        if "\t" in stripped or ";" in stripped or (" " in stripped and "," not in stripped):
            raise InputError(f"fields must be separated by commas: {stripped[:60]!r}", source, i + 1)
        fields = stripped.split(",")
        if len(fields) != 4:
            raise InputError(f"expected 4 comma-separated values x,y,w,h, found {len(fields)}: "
                             f"{stripped[:60]!r}", source, i + 1)
        for j, field in enumerate(fields):
            try:
                value = float(field)
            except ValueError:
                raise InputError(f"not a number: {field.strip()[:30]!r}", source, i + 1) from None
            if not math.isfinite(value):
                raise InputError(f"{'xywh'[j]} is {field.strip()} (NaN or infinite values are not "
                                 "accepted by the server)", source, i + 1)
            boxes[i, j] = value
    return boxes


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
    return "".join(f"{x:.4f},{y:.4f},{w:.4f},{h:.4f}\n" for x, y, w, h in np.asarray(boxes, float))


def format_times(times: np.ndarray) -> str:
    """One time in seconds per line."""
    return "".join(f"{t:.8f}\n" for t in np.asarray(times, float))
