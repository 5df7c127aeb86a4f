"""The results store: one layout for every tracker (``layout``), written so that a crash never
leaves a file that looks complete but is not.

    results/<tracker>/<dataset>-<split>/<seq>.txt         x,y,w,h per frame (frame 0 included),
                                                           comma, full float precision
                                        <seq>_time.txt    seconds per frame, one per line
                                        <seq>_scores.txt  confidence per frame (optional)
                                        run.json          manifest (spec + hash, versions, ...)
                                        errors.log        tracebacks of failed sequences

Every file is written to a temp file in the same folder and renamed into place (``atomic_write``);
the boxes file is renamed last, so its presence (with one row per frame) marks a finished sequence.
"""

from __future__ import annotations

import errno
import fcntl
import json
import logging
import os
import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ConfigError, InputError
from . import manifest as run_manifest
from .atomic import TMP_PREFIX, atomic_write
from .boxtext import format_boxes, format_column
from .layout import (ERRORS_NAME, LOCK_NAME, MANIFEST_NAME, SCORES_SUFFIX, TIME_SUFFIX,
                     check_tracker_name, is_boxes_file, repeat_folder, repeat_ids, run_folder)


log = logging.getLogger(__name__)
LOCK_WAIT_S = 1.0  # a reader may hold a run's lock for a moment (settling a stale manifest)


def make_folder(folder: Path) -> Path:
    """``mkdir -p`` that says in one line why it cannot (a file in the way, no permission)."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        blocker = next((p for p in [folder, *folder.parents] if p.exists() and not p.is_dir()),
                       folder)
        raise ConfigError(f"{blocker} is a file, not a folder: results cannot be written under "
                          "it (move it away or choose another results folder)") from None
    except PermissionError:
        raise ConfigError(f"cannot create the results folder {folder}: permission denied") from None
    return folder


def _count_lines(path: Path) -> int | None:
    """Non-empty lines of a text file (None when absent)."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    return sum(1 for line in data.splitlines() if line.strip())


class StoreLock:
    """An exclusive ``flock`` on ``<run folder>/.lock``: a second eval writing the same folder is
    refused with a clear message. The OS drops the lock when the process dies (no stale locks)."""

    def __init__(self, folder: Path):
        self.path = Path(folder) / LOCK_NAME
        self._fd: int | None = None

    def acquire(self) -> "StoreLock":
        make_folder(self.path.parent)
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except PermissionError:
            raise ConfigError(f"cannot write to the results folder {self.path.parent}: "
                              "permission denied") from None
        deadline = time.monotonic() + LOCK_WAIT_S
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as exc:
                busy = exc.errno in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK)
                if busy and time.monotonic() < deadline:
                    time.sleep(0.05)  # a reader settling a stale manifest holds it briefly
                    continue
                holder = ""
                try:
                    holder = os.read(fd, 200).decode("utf-8", "replace").strip()
                finally:
                    os.close(fd)
                if busy:
                    raise ConfigError(
                        f"another eval is writing {self.path.parent} ({holder or 'holder unknown'}); "
                        "wait for it to finish or write elsewhere (--results)") from None
                raise
        os.ftruncate(fd, 0)
        os.write(fd, f"pid {os.getpid()} on {os.uname().nodename}".encode())
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> "StoreLock":
        return self.acquire()

    def __exit__(self, *exc: Any) -> None:
        self.release()


class ResultsStore:
    """Reads and writes ``<results_dir>/<tracker>/<dataset>-<split>/``."""

    def __init__(self, results_dir: str | Path):
        self.root = Path(results_dir)

    # -- places -------------------------------------------------------------------------------
    def sequence_dir(self, tracker: str, split_key: str) -> Path:
        """The folder holding one tracker's results on one split (the name checked: written)."""
        return run_folder(self.root, check_tracker_name(tracker), split_key)

    def boxes_path(self, tracker: str, split_key: str, seq: str) -> Path:
        return self.sequence_dir(tracker, split_key) / f"{seq}.txt"

    def times_path(self, tracker: str, split_key: str, seq: str) -> Path:
        return self.sequence_dir(tracker, split_key) / f"{seq}{TIME_SUFFIX}"

    def scores_path(self, tracker: str, split_key: str, seq: str) -> Path:
        return self.sequence_dir(tracker, split_key) / f"{seq}{SCORES_SUFFIX}"

    def manifest_path(self, tracker: str, split_key: str) -> Path:
        return self.sequence_dir(tracker, split_key) / MANIFEST_NAME

    def errors_path(self, tracker: str, split_key: str) -> Path:
        return self.sequence_dir(tracker, split_key) / ERRORS_NAME

    def lock(self, tracker: str, split_key: str) -> StoreLock:
        return StoreLock(self.sequence_dir(tracker, split_key))

    def check_folder(self, tracker: str, split_key: str) -> Path:
        """The run folder, if it (or a folder above it) is not a file in the way: a one-line
        ConfigError before anything runs instead of a traceback at the first write."""
        folder = self.sequence_dir(tracker, split_key)
        for path in (self.root, folder.parent, folder):
            if path.exists() and not path.is_dir():
                raise ConfigError(f"{path} is a file, not a folder: results cannot be written "
                                  "under it (move it away or choose another results folder)")
        return folder

    # -- writing ------------------------------------------------------------------------------
    def write_sequence(self, tracker: str, split_key: str, seq: str, boxes: np.ndarray,
                       times: np.ndarray | list[float] | None,
                       scores: np.ndarray | list[float | None] | None = None) -> Path:
        """Write one sequence's results atomically; the boxes file goes last (it marks done)."""
        arr = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
        folder = make_folder(self.sequence_dir(tracker, split_key))
        if times is not None:
            t = np.asarray(times, dtype=np.float64).reshape(-1)
            if len(t) != len(arr):
                raise ValueError(f"{seq}: {len(t)} times for {len(arr)} boxes")
            atomic_write(self.times_path(tracker, split_key, seq), format_column(t))
        scores_file = self.scores_path(tracker, split_key, seq)
        if scores is not None and any(s is not None for s in scores):
            s = np.asarray([np.nan if v is None else float(v) for v in scores], dtype=np.float64)
            if len(s) != len(arr):
                raise ValueError(f"{seq}: {len(s)} scores for {len(arr)} boxes")
            atomic_write(scores_file, format_column(s))
        elif scores_file.exists():
            scores_file.unlink()
        path = self.boxes_path(tracker, split_key, seq)
        atomic_write(path, format_boxes(arr))
        return path

    def remove_sequence(self, tracker: str, split_key: str, seq: str) -> None:
        """Delete a sequence's files (boxes first, so a crash in between leaves it 'not done')."""
        for path in (self.boxes_path(tracker, split_key, seq),
                     self.times_path(tracker, split_key, seq),
                     self.scores_path(tracker, split_key, seq)):
            try:
                path.unlink()
            except FileNotFoundError:
                pass

    def clear(self, tracker: str, split_key: str) -> int:
        """Delete every result file, the manifest and the errors log of one run folder
        (``--force`` or a changed spec); returns how many result sequences were removed."""
        folder = self.sequence_dir(tracker, split_key)
        if not folder.is_dir():
            return 0
        removed = 0
        for path in folder.iterdir():
            name = path.name
            if not path.is_file() or name == LOCK_NAME:
                continue
            if name.endswith(".txt") or name in (MANIFEST_NAME, ERRORS_NAME) \
                    or name.startswith(TMP_PREFIX) or name.startswith(".mfv2bench-cache"):
                if is_boxes_file(name):
                    removed += 1
                path.unlink()
        return removed

    def repeat_ids(self, tracker: str, split_key: str) -> list[int]:
        """Run ids stored for a tracker on a split (``layout.repeat_ids``: [0, 1, ...])."""
        return repeat_ids(self.sequence_dir(tracker, split_key))

    def remove_repeats(self, tracker: str, split_key: str, keep: int = 1) -> list[int]:
        """Delete the folders of runs ``keep`` and above (``--force``: results of an earlier
        repeated eval must not be averaged with new ones); returns the run ids removed."""
        gone = [r for r in self.repeat_ids(tracker, split_key) if r >= max(keep, 1)]
        for r in gone:
            shutil.rmtree(repeat_folder(self.root, check_tracker_name(tracker), split_key, r))
        return gone

    def remove_temp_files(self, tracker: str, split_key: str) -> None:
        """Temp files left by a process killed while writing (never read as results)."""
        folder = self.sequence_dir(tracker, split_key)
        if folder.is_dir():
            for path in folder.glob(TMP_PREFIX + "*"):
                path.unlink(missing_ok=True)

    def write_manifest(self, tracker: str, split_key: str, manifest: dict[str, Any]) -> Path:
        path = self.manifest_path(tracker, split_key)
        make_folder(path.parent)
        atomic_write(path, json.dumps(manifest, indent=1, sort_keys=False, default=str) + "\n")
        return path

    def append_error(self, tracker: str, split_key: str, text: str) -> Path:
        path = self.errors_path(tracker, split_key)
        make_folder(path.parent)
        with open(path, "a", encoding="utf-8") as f:
            f.write(text if text.endswith("\n") else text + "\n")
        return path

    # -- reading ------------------------------------------------------------------------------
    def read_manifest(self, tracker: str, split_key: str) -> dict[str, Any] | None:
        """The run's ``run.json`` (None when absent); a broken file is an InputError."""
        path = self.manifest_path(tracker, split_key)
        if not path.is_file():
            return None
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise InputError(f"not valid JSON: {exc.msg}", path, exc.lineno) from None
        if not isinstance(data, dict):
            raise InputError("a run manifest must be a JSON object", path)
        if data.get("status") == run_manifest.RUNNING:
            data = self._settle_if_stale(path, data)
        return data

    def _settle_if_stale(self, path: Path, data: dict[str, Any]) -> dict[str, Any]:
        """A manifest still "running" whose eval is gone (killed: SIGKILL, power loss) is marked
        interrupted, on disk where possible. The eval holds the run's lock while it runs and the
        OS drops it when the process dies, so a lock nobody holds means a stale manifest."""
        lock_path = path.parent / LOCK_NAME
        fd: int | None = None
        try:
            fd = os.open(lock_path, os.O_RDONLY)
        except FileNotFoundError:
            fd = None
        except OSError:
            return data  # cannot tell
        try:
            if fd is not None:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except OSError:
                    return data  # an eval holds it: really running
            try:  # re-read under the lock: the eval may have finished meanwhile
                data = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                return data
            if not isinstance(data, dict) or data.get("status") != run_manifest.RUNNING:
                return data
            data = run_manifest.mark_interrupted(data, "the eval that wrote it ended without "
                                                 "finishing (killed)")
            try:
                atomic_write(path, json.dumps(data, indent=1, sort_keys=False, default=str) + "\n")
                log.info("%s: marked interrupted (its eval is no longer running)", path)
            except OSError as exc:  # a read-only store: the caller still sees it interrupted
                log.debug("could not mark %s interrupted: %s", path, exc)
            return data
        finally:
            if fd is not None:
                os.close(fd)

    def random_weights(self, tracker: str, split_key: str) -> bool:
        """True when the run's network had random weights (a latency-only spec): such results
        carry no accuracy and are kept out of leaderboards and flagged in tables and reports."""
        return run_manifest.random_weights(self.read_manifest(tracker, split_key))

    def is_complete(self, tracker: str, split_key: str, seq: str, n_frames: int,
                    need_times: bool = True) -> bool:
        """True when ``<seq>.txt`` (and ``<seq>_time.txt``) hold exactly ``n_frames`` rows."""
        if _count_lines(self.boxes_path(tracker, split_key, seq)) != n_frames:
            return False
        if need_times and _count_lines(self.times_path(tracker, split_key, seq)) != n_frames:
            return False
        return True

    def complete_sequences(self, tracker: str, split_key: str, lengths: dict[str, int],
                           need_times: bool = True) -> list[str]:
        """Names (of ``lengths``: name -> frame count) whose results are complete."""
        folder = self.sequence_dir(tracker, split_key)
        if not folder.is_dir():
            return []
        present = set(os.listdir(folder))
        return [s for s, n in lengths.items() if f"{s}.txt" in present
                and self.is_complete(tracker, split_key, s, n, need_times=need_times)]

    def runs(self) -> list[dict[str, Any]]:
        """Every run folder in the store with its manifest summary (for ``results list``)."""
        out: list[dict[str, Any]] = []
        if not self.root.is_dir():
            return out
        for tdir in sorted(p for p in self.root.iterdir() if p.is_dir() and not p.name.startswith(".")):
            for sdir in sorted(p for p in tdir.iterdir() if p.is_dir()):
                manifest_file = sdir / MANIFEST_NAME
                n = sum(1 for f in sdir.iterdir() if is_boxes_file(f.name))
                if not manifest_file.is_file() and n == 0:
                    continue  # e.g. results/<tracker>/speed/
                m = self.read_manifest(tdir.name, sdir.name) or {}
                out.append({
                    "tracker": tdir.name, "split": sdir.name, "sequences": n,
                    "expected": (m.get("sequences") or {}).get("expected"),
                    "complete": m.get("complete"), "partial": m.get("partial"),
                    "coverage": run_manifest.coverage(m) if m else None,
                    "subset": run_manifest.coverage_reasons(m) if m else [],
                    "imported": bool(m.get("imported")), "spec_hash": m.get("spec_hash"),
                    "timing": m.get("timing"), "finished": m.get("finished"),
                    "runs": len(repeat_ids(sdir)), "path": str(sdir),
                })
        return out

    def trackers(self, split_key: str) -> list[str]:
        """Tracker folders of the store holding a ``<split_key>`` folder, sorted."""
        if not self.root.is_dir():
            return []
        return sorted(p.parent.name for p in self.root.glob(f"*/{split_key}") if p.is_dir())
