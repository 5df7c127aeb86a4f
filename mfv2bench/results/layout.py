"""Where results live on disk: the one place that spells the layout.

    <results>/<tracker>/<split_key>/<seq>.txt          boxes (x,y,w,h per frame)
                                    <seq>_time.txt     seconds per frame
                                    <seq>_scores.txt   confidence per frame (optional)
                                    run.json           the run manifest
                                    errors.log         tracebacks of failed sequences
    <results>/<tracker>/speed/<device>-<threads>t-b<batch>-<precision>.json

Readers accept any tracker folder name (``analyze`` may point at someone else's tree); writers
check the name first (``check_tracker_name``) so nothing is written outside ``<results>``.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import ConfigError

MANIFEST_NAME = "run.json"
ERRORS_NAME = "errors.log"
LOCK_NAME = ".lock"
BOXES_SUFFIX = ".txt"
TIME_SUFFIX = "_time.txt"
SCORES_SUFFIX = "_scores.txt"
SPEED_DIR = "speed"


def check_tracker_name(tracker: str) -> str:
    """``tracker`` if it is usable as one folder name under ``<results>`` (else ConfigError)."""
    if not tracker or "/" in tracker or tracker.startswith("."):
        raise ConfigError(f"not a usable tracker name for a results folder: {tracker!r}")
    return tracker


def tracker_folder(results_dir: str | Path, tracker: str) -> Path:
    """``<results>/<tracker>``: every split and the speed results of one tracker."""
    return Path(results_dir) / tracker


def run_folder(results_dir: str | Path, tracker: str, split_key: str) -> Path:
    """``<results>/<tracker>/<split_key>``: one tracker's raw results on one split."""
    return tracker_folder(results_dir, tracker) / split_key


def parse_run_folder(folder: str | Path) -> tuple[Path, str, str]:
    """The inverse of ``run_folder``: ``(results_dir, tracker, split_key)`` of a run folder."""
    p = Path(folder)
    return p.parent.parent, p.parent.name, p.name


def speed_folder(results_dir: str | Path, tracker: str) -> Path:
    """``<results>/<tracker>/speed``: the tracker's speed results."""
    return tracker_folder(results_dir, tracker) / SPEED_DIR


def speed_file_name(device: str, threads: int | None, batch: int, precision: str) -> str:
    """``cuda0-autot-b1-fp32.json``: one file per measured setting (``cuda:0`` -> ``cuda0``)."""
    dev = device.replace(":", "")
    t = "auto" if threads is None else str(threads)
    return f"{dev}-{t}t-b{batch}-{precision}.json"


def is_boxes_file(name: str) -> bool:
    """True for ``<seq>.txt`` (not the time or score files beside it)."""
    return name.endswith(BOXES_SUFFIX) and not name.endswith((TIME_SUFFIX, SCORES_SUFFIX))
