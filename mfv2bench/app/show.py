"""``mfv2bench show``: a sequence with the ground truth and stored trackers' boxes drawn, as an
MP4 video (OpenCV ``mp4v``) or a folder of PNG / JPEG frames.

Boxes come from the results store (``results/<tracker>/<dataset>-<split>/``, or any raw layout
under ``results/<tracker>/``, as ``analyze`` reads them) through ``results.readers``; each tracker
is drawn in its report colour (``report.failures.tracker_colours``); each frame is decoded once.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from ..datasets.images import read_rgb
from ..datasets.registry import load_split
from ..errors import ConfigError, InputError
from ..report.failures import tracker_colours
from ..report.gallery import draw_frame
from ..results.layout import run_folder, tracker_folder
from ..results.readers import read_results
from ..workspace import Workspace

log = logging.getLogger(__name__)

VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv")
IMAGE_FORMATS = ("jpg", "png")


@dataclass
class ShowFiles:
    """What ``show`` wrote: a video file or a folder of frames, and how many frames."""

    path: Path
    frames: int
    video: bool
    short: dict[str, tuple[int, int]] | None = None  # tracker -> (rows, frames): last frames undrawn


def short_notes(files: ShowFiles) -> list[str]:
    """One line per tracker whose stored result is shorter than the sequence: which frames
    have no box (drawn without one; results are never padded)."""
    out = []
    for t, (rows, n) in (files.short or {}).items():
        gap = f"frame {n}" if rows + 1 == n else f"frames {rows + 1}-{n}"
        out.append(f"{t}: result has {rows} rows for {n} frames: {gap} have no box (not drawn)")
    return out


def parse_frames(text: str | None, n_frames: int) -> tuple[int, int]:
    """``a:b`` (1-based, inclusive, either side optional; ``a`` alone: one frame) -> 0-based
    [start, stop) inside the sequence; refused when empty or outside it."""
    if text is None or text.strip() in ("", ":"):
        return 0, n_frames
    parts = text.split(":")
    if len(parts) > 2:
        raise ConfigError(f"--frames {text!r}: expected a:b (1-based, inclusive)")
    try:
        a = int(parts[0]) if parts[0].strip() else 1
        b = (int(parts[1]) if parts[1].strip() else n_frames) if len(parts) == 2 else a
    except ValueError:
        raise ConfigError(f"--frames {text!r}: expected whole numbers a:b") from None
    if not 1 <= a <= b <= n_frames:
        raise ConfigError(f"--frames {text!r}: the sequence has frames 1..{n_frames} (a <= b)")
    return a - 1, b


def stored_boxes(results_dir: str | Path, tracker: str, split_key: str, sequence: str,
                 n_frames: int) -> np.ndarray:
    """A tracker's (N, 4) boxes of one sequence from the store (first run), NaN rows kept; a
    short result (imported as released) is returned as it is, with fewer rows than frames."""
    folder = run_folder(results_dir, tracker, split_key)
    if not folder.is_dir():
        folder = tracker_folder(results_dir, tracker)
    raw = read_results(folder, {sequence: n_frames}, nan="keep", times=False, short="keep")
    return np.asarray(raw[sequence].boxes, float)


def show(workspace: Workspace, trackers: list[str], dataset: str, sequence: str, out: str | Path,
         frames: str | None = None, root: str | Path | None = None,
         results_dir: str | Path | None = None, fps: float = 25.0, image_format: str = "jpg",
         gt: bool = True) -> ShowFiles:
    """Draw the GT (white) and each tracker's boxes (report colours) on the frames of one
    sequence: ``out`` ending in .mp4 (or .avi/.mov/.mkv) is a video, anything else a folder of
    ``<frame>.<image_format>`` files (frame numbers 1-based, as the data set's)."""
    if not trackers:
        raise ConfigError("show needs at least one --tracker")
    if image_format not in IMAGE_FORMATS:
        raise ConfigError(f"image format must be one of {', '.join(IMAGE_FORMATS)}")
    split = load_split(dataset, root=root, sequences=[sequence], workspace=workspace)
    seq = split.by_name()[sequence]
    n = seq.n_frames
    start, stop = parse_frames(frames, n)
    results = Path(results_dir) if results_dir else workspace.results_dir
    boxes = {t: stored_boxes(results, t, split.key, sequence, len(seq.gt)) for t in trackers}
    short = {t: (len(b), n) for t, b in boxes.items() if len(b) < n}
    for t, (rows, _) in short.items():
        log.warning("%s: %s has %d rows for %d frames: frames %d-%d drawn without its box", t,
                    sequence, rows, n, rows + 1, n)
    colours = tracker_colours(list(trackers))
    truth = np.asarray(seq.gt, float) if gt and seq.has_full_gt else None
    out = Path(out)
    video = out.suffix.lower() in VIDEO_SUFFIXES
    writer = None
    part = out.with_name(out.stem + ".part" + out.suffix)
    if not video:
        out.mkdir(parents=True, exist_ok=True)
    else:
        out.parent.mkdir(parents=True, exist_ok=True)
    written = 0
    try:
        for i in range(start, stop):
            image = read_rgb(seq.frames[i])  # decoded once, drawn once, written once
            drawn = draw_frame(image, truth[i] if truth is not None else None,
                               [(t, boxes[t][i] if i < len(boxes[t]) else None, colours[t]) for t in trackers],
                               label=f"#{i + 1}")
            if video:
                if writer is None:
                    h, w = drawn.shape[:2]
                    writer = cv2.VideoWriter(str(part), cv2.VideoWriter_fourcc(*"mp4v"), float(fps), (w, h))
                    if not writer.isOpened():
                        raise InputError("OpenCV cannot write this video (codec mp4v)", out)
                    size = (w, h)
                if (drawn.shape[1], drawn.shape[0]) != size:  # frames of another size: fit them
                    drawn = cv2.resize(drawn, size)
                writer.write(cv2.cvtColor(drawn, cv2.COLOR_RGB2BGR))
            else:
                target = out / f"{i + 1:08d}.{image_format}"
                if not cv2.imwrite(str(target), cv2.cvtColor(drawn, cv2.COLOR_RGB2BGR)):
                    raise InputError("cannot write the image", target)
            written += 1
    except BaseException:
        if writer is not None:
            writer.release()
            writer = None
        part.unlink(missing_ok=True)
        raise
    finally:
        if writer is not None:
            writer.release()
    if video:
        os.replace(part, out)
    log.info("%s: %d frames of %s with %s", out, written, sequence, ", ".join(trackers))
    return ShowFiles(path=out, frames=written, video=video, short=short)


__all__ = ["ShowFiles", "parse_frames", "short_notes", "show", "stored_boxes"]
