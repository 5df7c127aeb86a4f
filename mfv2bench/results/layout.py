"""Where results live on disk: the one place that spells the layout.

    <results>/<tracker>/<split_key>/<seq>.txt          boxes (x,y,w,h per frame)
                                    <seq>_time.txt     seconds per frame
                                    <seq>_scores.txt   confidence per frame (optional)
                                    run.json           the run manifest
                                    errors.log         tracebacks of failed sequences
                                    run_001/           run 1 of a repeated eval (``eval --runs N``):
                                    run_002/ ...       the same files (boxes, times, scores,
                                                       run.json with its run id and seed)
    <results>/<tracker>/speed/<device>-<threads>t-b<batch>-<precision>.json

Repeated runs: run 0 is the split folder itself, so a single-run eval and the first run of a
repeated one are the same files (folders written before repeated runs existed read as run 0);
run ``r >= 1`` lives in ``run_<r:03d>/`` inside it (the pytracking convention of 3-digit run
ids, ``<param>_000``..., with ``run`` as the parameter name). Each run folder is a store key of
its own (``repeat_key``): the store, its locks and manifests treat it like a split folder.
Analysis reads every run folder present (``repeat_ids``) and averages them as the protocol's
toolkit does. Others' layouts with run ids (pytracking ``<param>_000/<seq>.txt``, GOT-10k
``<seq>/<seq>_001.txt``) are the readers' business.

Readers accept any tracker folder name (``analyze`` may point at someone else's tree); writers
check the name first (``check_tracker_name``) so nothing is written outside ``<results>``.
"""

from __future__ import annotations

import re
from pathlib import Path

from ..errors import ConfigError

MANIFEST_NAME = "run.json"
ERRORS_NAME = "errors.log"
LOCK_NAME = ".lock"
BOXES_SUFFIX = ".txt"
TIME_SUFFIX = "_time.txt"
SCORES_SUFFIX = "_scores.txt"
SPEED_DIR = "speed"
REPEAT_PREFIX = "run_"  # run folders of a repeated eval: run_001, run_002, ... (run 0: none)
_REPEAT_DIR = re.compile(r"^run_(\d{3})$")
MAX_RUNS = 999  # 3-digit run ids


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


def repeat_name(run: int) -> str:
    """``run_001``: the folder of run ``run`` (>= 1) inside the split folder."""
    if not 1 <= run <= MAX_RUNS:
        raise ValueError(f"run id {run} has no folder (1..{MAX_RUNS}; run 0 is the split folder)")
    return f"{REPEAT_PREFIX}{run:03d}"


def parse_repeat_name(name: str) -> int | None:
    """The run id of a run folder name (``run_002`` -> 2); None for anything else."""
    m = _REPEAT_DIR.match(name)
    if m is None or int(m.group(1)) == 0:
        return None
    return int(m.group(1))


def repeat_key(split_key: str, run: int) -> str:
    """The store key of run ``run`` of a split: the split key itself for run 0, else
    ``<split_key>/run_<NNN>`` (so ``run_folder(results, tracker, repeat_key(k, r))`` is the run's
    folder and every store method works on it unchanged)."""
    return split_key if run == 0 else f"{split_key}/{repeat_name(run)}"


def repeat_folder(results_dir: str | Path, tracker: str, split_key: str, run: int) -> Path:
    """The folder holding run ``run`` of a tracker on a split."""
    return run_folder(results_dir, tracker, repeat_key(split_key, run))


def repeat_ids(folder: str | Path) -> list[int]:
    """Run ids stored in a split folder: 0 (the folder itself) then the ids of its ``run_NNN``
    folders, sorted; [] when the folder does not exist."""
    p = Path(folder)
    if not p.is_dir():
        return []
    ids = sorted(r for r in (parse_repeat_name(e.name) for e in p.iterdir() if e.is_dir())
                 if r is not None)
    return [0] + ids


def repeat_path(split_folder: str | Path, run: int) -> Path:
    """Run ``run``'s folder inside a split folder (the split folder itself for run 0)."""
    p = Path(split_folder)
    return p if run == 0 else p / repeat_name(run)
