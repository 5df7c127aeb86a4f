"""``run_eval``: one tracker over every sequence of a split, in parallel, resumable, into the store.

Steps: resolve the spec for the data set, fail fast (checkpoint, CUDA) before any sequence, lock
the run folder, refuse to mix with results of another spec, skip complete sequences, run the
rest on the chosen backend, write each result atomically as it arrives, keep ``run.json`` and
``errors.log`` current, and return an ``EvalRun`` summary.
"""

from __future__ import annotations

import errno
import logging
import os
import shutil
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import __version__, provenance
from ..datasets.base import DatasetSplit
from ..datasets.registry import load_split, official_names
from ..devices import parse_devices
from ..errors import ConfigError, Mfv2benchError, MissingDataError
from ..results import manifest as mf
from ..results.layout import MAX_RUNS, repeat_key
from ..results.store import ResultsStore
from ..threads import available_cores, set_threads
from ..trackers.kinds import kind_of
from ..trackers.specs import ResolvedSpec, SpecRegistry, build_tracker
from ..workspace import Workspace, load_workspace
from .manifest import checkpoint_of
from .backends import (SCHEDULER_TIMEOUT_S, BackendInfo, parse_scheduler, probe_scheduler,
                       run_dask, run_inprocess, run_joblib)
from .seeding import SEEDED_GENERATORS, SEQUENCE_SEED_RULE, run_seed, sequence_seed
from .worker import Task, use_tracker

log = logging.getLogger(__name__)
BACKENDS = ("joblib", "dask")
MANIFEST_EVERY_S = 5.0  # the manifest is rewritten at most this often during a run (and at the end)


class DiskWriteError(Mfv2benchError):
    """Writing results failed (disk full, quota, permissions): the run stops; every sequence
    written before stays (each file is complete or absent); rerun to resume."""

    def __init__(self, folder: Path, what: str, exc: OSError, kept: int):
        self.errno = exc.errno
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            cause = "the disk is full" if exc.errno == errno.ENOSPC else "the disk quota is exceeded"
        else:
            cause = exc.strerror or str(exc)
        super().__init__(f"cannot write the results of {what} to {folder}: {cause}. The "
                         f"{kept} finished sequence(s) are kept; free space and run the same "
                         "command to resume")


@dataclass
class EvalRun:
    """Summary of one ``eval`` invocation (the folder may hold results of earlier runs too)."""

    tracker: str
    split: DatasetSplit
    folder: Path
    manifest: dict[str, Any]
    done: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)  # sequence -> first line of its error
    interrupted: bool = False
    backend: str = "joblib"
    workers: int = 1
    results_dir: Path | None = None  # the store's root (``<results>``) the folder lies in
    run_id: int = 0  # which run of a repeated eval (``eval --runs N``) this is
    seed: int | None = None  # the run's seed (``seeding.run_seed``)
    repeats: list["EvalRun"] = field(default_factory=list)  # runs 1.. (on run 0's summary only)

    @property
    def all_runs(self) -> list["EvalRun"]:
        """This run and its repeats, in run order."""
        return [self, *self.repeats]

    @property
    def split_key(self) -> str:
        return self.split.key

    @property
    def missing(self) -> list[str]:
        """Sequences of the split that were not on disk (``--allow-partial``)."""
        return list(self.split.missing)

    @property
    def complete(self) -> bool:
        return all(bool(r.manifest.get("complete")) for r in self.all_runs)

    @property
    def partial(self) -> bool:
        return not self.complete

    @property
    def coverage(self) -> str | None:
        """``full``, ``subset`` or ``partial`` (``results.manifest.coverage``)."""
        return mf.coverage(self.manifest)

    @property
    def ok(self) -> bool:
        return all(not r.failed and not r.interrupted for r in self.all_runs)

    @property
    def errors_log(self) -> Path | None:
        path = self.folder / "errors.log"
        return path if self.failed and path.is_file() else None

    @property
    def finished_sequences(self) -> list[str]:
        """Names (split order) whose results are complete in the folder now (in every run)."""
        have = set(self.done) | set(self.skipped)
        for r in self.repeats:
            have &= set(r.done) | set(r.skipped)
        return [s.name for s in self.split.sequences if s.name in have]

    def summary(self) -> dict[str, Any]:
        return {
            "tracker": self.tracker, "dataset": self.split.key, "results": str(self.folder),
            "ran": len(self.done), "skipped": len(self.skipped), "failed": sorted(self.failed),
            "missing_on_disk": self.missing, "interrupted": self.interrupted,
            "complete": self.complete, "partial": self.partial, "coverage": self.coverage,
            "subset": mf.coverage_reasons(self.manifest),
            "sequences_expected": mf.sequences_expected(self.manifest),
            "sequences_done": mf.sequences_done(self.manifest), "backend": self.backend,
            "workers": self.workers, "timing": self.manifest.get("timing"),
            "errors_log": str(self.errors_log) if self.errors_log else None,
            "runs": [{"run": r.run_id, "seed": r.seed, "results": str(r.folder),
                      "ran": len(r.done), "skipped": len(r.skipped), "failed": sorted(r.failed),
                      "interrupted": r.interrupted, "coverage": r.coverage}
                     for r in self.all_runs],
        }


@dataclass
class Coverage:
    """Which part of the OFFICIAL split the folder's results cover (``results.manifest``)."""

    state: str  # mf.FULL, mf.SUBSET or mf.PARTIAL
    expected: int  # sequences of the official split (the root's list where none is shipped)
    done: int  # of those, finished in the folder with unchanged ground truth
    reasons: list[str]


def judge_coverage(reference: list[str], official: bool, root_names: list[str],
                   intended: list[str], done: set[str], *, subset_option: bool,
                   failed: list[str], interrupted: bool, missing_on_disk: list[str],
                   stale: list[str]) -> Coverage:
    """``full`` only when every reference sequence is done; ``subset`` when the run was
    restricted on purpose (``--sequences``, a root list naming fewer or other sequences than the
    official one) and all of it finished; ``partial`` otherwise (failed, interrupted, missing
    on disk, ground truth changed since the results were made, still running)."""
    ref = set(reference)
    n_done = len(done & ref)
    reasons: list[str] = []
    restricted = False
    if official:
        not_listed = [n for n in reference if n not in set(root_names)]
        extra = [n for n in root_names if n not in ref]
        if not_listed:
            restricted = True
            reasons.append(f"root list names {len(root_names) - len(extra)} of the "
                           f"{len(reference)} official sequences")
        if extra:
            restricted = True
            reasons.append(f"root list names {len(extra)} sequence(s) outside the official list")
    if subset_option and not ref <= done:
        restricted = True
        reasons.append(f"--sequences: {len(intended)} of {len(reference)} sequences")
    behind: list[str] = []
    if failed:
        behind.append(f"{len(failed)} failed")
    if interrupted:
        behind.append("interrupted")
    if missing_on_disk:
        behind.append(f"{len(missing_on_disk)} missing on disk (--allow-partial)")
    if stale:
        behind.append(f"{len(stale)} with ground truth changed since they ran: {', '.join(stale[:3])}"
                      + (" ..." if len(stale) > 3 else ""))
    unfinished = [n for n in intended if n not in done]
    if unfinished and not (failed or interrupted or stale):
        behind.append(f"{len(unfinished)} not run yet")
    if n_done == len(ref) and not restricted and not missing_on_disk:
        return Coverage(mf.FULL, len(ref), n_done, [])
    state = mf.SUBSET if restricted and not behind else mf.PARTIAL
    return Coverage(state, len(ref), n_done, reasons + behind)


def _preflight(spec: ResolvedSpec, devices: list[str]) -> Any:
    """Fail before any sequence: a missing checkpoint or a bad spec raises here, in the parent.
    On the CPU the tracker is built once (in-process runs use it); on GPUs only the
    checkpoint's presence is checked, so the parent holds no GPU memory."""
    if devices[0] == "cpu":
        return build_tracker(spec, device="cpu")
    problem = kind_of(spec).missing_weights(spec)
    if problem is not None:
        raise MissingDataError(f"tracker '{spec.name}': {problem} (spec {spec.path}); "
                               "nothing was run")
    return None


def _check_identity(store: ResultsStore, tracker: str, key: str, spec: ResolvedSpec,
                    checkpoint: dict[str, Any] | None, force: bool,
                    seed: int | None = None) -> dict[str, Any] | None:
    """The folder's earlier manifest, or None when starting fresh. Results of another spec,
    checkpoint or run seed never mix with new ones: refused, or cleared with ``force``."""
    folder = store.sequence_dir(tracker, key)
    old = store.read_manifest(tracker, key)
    if force:
        store.clear(tracker, key)
        return None
    if old is None:
        leftovers = [p.name for p in folder.glob("*.txt")] if folder.is_dir() else []
        if leftovers:
            raise ConfigError(f"{folder} holds results without a run.json manifest (e.g. "
                              f"{leftovers[0]}); they cannot be resumed safely: pass --force to "
                              "replace them or move them away")
        return None
    if old.get("imported"):
        raise ConfigError(f"{folder} holds imported results ({old.get('source')}); pick another "
                          "tracker name or pass --force to replace them")
    new_id = (spec.hash, (checkpoint or {}).get("sha256"))
    if mf.identity(old) != new_id:
        raise ConfigError(
            f"{folder} holds results of spec hash {old.get('spec_hash')} (checkpoint "
            f"{str(mf.identity(old)[1])[:12]}), but '{tracker}' now resolves to hash {spec.hash} "
            f"(checkpoint {str(new_id[1])[:12]}): results never mix. Pass --force to discard the "
            "old results, or save the changed spec under a new name")
    old_seed = mf.run_seed(old)
    if seed is not None and old_seed is not None and old_seed != seed:
        raise ConfigError(
            f"{folder} holds run {mf.run_id(old)} made with seed {old_seed}, but this eval gives "
            f"that run the seed {seed} (--seed): runs of different seeds never mix. Pass the "
            "same --seed, or --force to discard the old results")
    return old


def _check_repeats(store: ResultsStore, tracker: str, split_key: str, spec: ResolvedSpec,
                   checkpoint: dict[str, Any] | None, force: bool, seed: int) -> None:
    """Run folders (``run_NNN``) already in the split folder are averaged with the new runs by
    the analysis, so they must be runs of the same spec and seeds: checked here, before any
    run starts, those beyond this eval's runs included; ``force`` deletes them all."""
    ids = [r for r in store.repeat_ids(tracker, split_key) if r >= 1]
    if not ids:
        return
    if force:
        gone = store.remove_repeats(tracker, split_key, keep=1)
        log.info("--force: removed the folders of runs %s", ", ".join(map(str, gone)))
        return
    for r in ids:
        key = repeat_key(split_key, r)
        with store.lock(tracker, key):
            _check_identity(store, tracker, key, spec, checkpoint, False, run_seed(seed, r))


class _Progress:
    """A tqdm bar over frames (sequences in the postfix); silent when off or not a TTY.
    In-process runs advance it per frame; joblib workers write their frame counts to small
    files that a thread here reads twice a second; Dask runs advance per sequence."""

    def __init__(self, enabled: bool, total_frames: int, total_seqs: int, label: str):
        self.bar = None
        self.done = 0
        self.in_sequence = 0  # frames already counted for the sequence under way
        self.finished_frames = 0
        self.total_seqs = total_seqs
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.folder: str | None = None
        if enabled and sys.stderr.isatty() and total_seqs:
            from tqdm import tqdm

            self.bar = tqdm(total=total_frames, unit="frame", desc=label, dynamic_ncols=True,
                            smoothing=0.05, file=sys.stderr)
            self.bar.set_postfix_str(f"seq 0/{total_seqs}")

    @property
    def active(self) -> bool:
        return self.bar is not None

    def frame(self, _index: int) -> None:
        self.in_sequence += 1
        self.bar.update(1)

    def watch(self) -> str | None:
        """Start reading workers' frame counts; returns the folder they write to."""
        if self.bar is None:
            return None
        self.folder = tempfile.mkdtemp(prefix="mfv2bench-progress-")
        self._thread = threading.Thread(target=self._poll, name="progress", daemon=True)
        self._thread.start()
        return self.folder

    def _poll(self) -> None:
        while not self._stop.wait(0.5):
            running = 0
            for name in os.listdir(self.folder):
                try:
                    with open(os.path.join(self.folder, name), encoding="ascii") as f:
                        running += int(f.read() or 0)
                except (OSError, ValueError):
                    continue
            with self._lock:
                n = min(self.bar.total, max(self.bar.n, self.finished_frames + running))
                if n != self.bar.n:
                    self.bar.n = n
                    self.bar.refresh()

    def sequence_done(self, frames: int, failed: bool, index: int | None = None) -> None:
        self.done += 1
        if self.bar is None:
            return
        with self._lock:
            if self.folder is not None and index is not None:
                try:
                    os.unlink(os.path.join(self.folder, str(index)))
                except FileNotFoundError:
                    pass
            self.finished_frames += frames
            if self.folder is not None:
                self.bar.n = min(self.bar.total, max(self.bar.n, self.finished_frames))
                self.bar.refresh()
            else:
                self.bar.update(max(0, frames - self.in_sequence))
            self.in_sequence = 0
            self.bar.set_postfix_str(f"seq {self.done}/{self.total_seqs}" + (" (failure)" if failed else ""))

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)
        if self.bar is not None:
            self.bar.close()


def pin_threads(n: int):
    """Set this process's torch/OpenCV/BLAS threads to ``n``; returns a function restoring them
    (an in-process run must not change the threading of its caller, e.g. a notebook)."""
    env = {k: os.environ.get(k) for k in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")}
    torch_threads = cv2_threads = None
    if "torch" in sys.modules:
        torch_threads = sys.modules["torch"].get_num_threads()
    if "cv2" in sys.modules:
        cv2_threads = sys.modules["cv2"].getNumThreads()
    set_threads(n)

    def restore() -> None:
        for k, v in env.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        if torch_threads is not None and "torch" in sys.modules:
            sys.modules["torch"].set_num_threads(torch_threads)
        if cv2_threads is not None and "cv2" in sys.modules:
            sys.modules["cv2"].setNumThreads(cv2_threads)

    return restore


MAX_THREADS_REMOTE = 1024  # --threads bound where this machine's cores say nothing (a cluster)


def _check_limits(jobs: int | None, threads: int | None, local: bool,
                  timeout_frame: float | None, timeout_sequence: float | None,
                  scheduler_timeout: float) -> None:
    """Option values refused before anything runs (one line each, exit 2 from the CLI)."""
    if jobs is not None and jobs < 1:
        raise ConfigError(f"--jobs must be at least 1, got {jobs}")
    if threads is not None and threads < 1:
        raise ConfigError(f"--threads must be at least 1, got {threads}")
    cores = available_cores()
    bound = cores if local else MAX_THREADS_REMOTE
    if threads is not None and threads > bound:
        where = f"this machine has {cores} core(s)" if local else f"at most {bound} on a cluster"
        raise ConfigError(f"--threads {threads} is more than a worker can use ({where}); "
                          "leave it out to share the cores between the workers")
    for name, value in (("--timeout-frame", timeout_frame), ("--timeout-sequence", timeout_sequence),
                        ("--scheduler-timeout", scheduler_timeout)):
        if value is not None and not (value > 0 and value != float("inf")):
            raise ConfigError(f"{name} must be a positive number of seconds, got {value}")


def run_eval(tracker: str, dataset: str, split: str | None = None,
             workspace: Workspace | None = None, jobs: int | None = None, device: str = "cpu",
             backend: str = "joblib", scheduler: str | None = None, force: bool = False,
             allow_partial: bool = False, sequences: list[str] | None = None,
             progress: bool = True, results_dir: str | Path | None = None,
             root: str | Path | None = None, prefetch: int = 4,
             threads: int | None = None, trust_checkpoint: bool = False,
             registry: SpecRegistry | None = None, tracker_object: Any = None,
             timeout_frame: float | None = None, timeout_sequence: float | None = None,
             scheduler_timeout: float = SCHEDULER_TIMEOUT_S, runs: int = 1,
             seed: int = 0) -> EvalRun:
    """Run ``tracker`` (a spec name) on a split and write its raw results to the store.

    ``jobs``: worker processes (default: all cores; with several CUDA devices, one per device).
    Every spec runs in worker processes, ``jobs=1`` included, so a crash in native code or a
    hung tracker costs one sequence, never the run. ``backend``: "joblib" (loky processes on
    this machine) or "dask" (``scheduler`` address of an existing cluster, reached within
    ``scheduler_timeout`` seconds, else a LocalCluster of ``jobs`` workers). ``threads``:
    torch/OpenCV/BLAS threads per worker (default: cores // workers; at most the cores).
    ``timeout_frame`` / ``timeout_sequence``: seconds a frame / a whole sequence may take
    before that sequence is failed (off by default; the first frame includes warm-up).
    A sequence whose tracker raises is logged to ``errors.log`` and listed in
    ``EvalRun.failed``; the others finish. A missing checkpoint fails before anything is
    touched, ``--force`` included. ``trust_checkpoint`` allows a checkpoint holding pickled
    objects to load (not hashed: it changes how the file is read, not what runs).
    ``registry``: where ``tracker`` is resolved (default: the workspace's ``trackers/``).
    ``tracker_object``: an already built tracker to run in this process instead of building the
    spec's (the spec then only describes it in the manifest); one worker on the CPU, no timeouts.

    ``runs``: repeated runs (pytracking averages 5 on LaSOT/OTB/UAV/NfS, GOT-10k asks for 3 of
    a stochastic tracker): run 0 goes to the usual folder, run ``r`` to ``run_<r:03d>/`` inside
    it (``results.layout``), one after the other, each resumable like a single run. Every
    sequence of run ``r`` is seeded with ``seeding.sequence_seed(seed + r, name)`` (Python,
    NumPy, torch, OpenCV and C ``rand()``), recorded in each run's manifest, so rerunning a run
    reproduces its boxes. The returned ``EvalRun`` is run 0's, the others in ``.repeats``.

    The manifest records which part of the OFFICIAL split (the list shipped in the package) the
    folder covers (``results.manifest.coverage``) and a fingerprint of each sequence's ground
    truth; a sequence whose ground truth changed since it ran is run again.
    """
    if backend not in BACKENDS:
        raise ConfigError(f"unknown backend {backend!r} (one of {', '.join(BACKENDS)})")
    if isinstance(runs, bool) or not isinstance(runs, int) or not 1 <= runs <= MAX_RUNS:
        raise ConfigError(f"--runs must be an integer in 1..{MAX_RUNS}, got {runs!r}")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ConfigError(f"--seed must be a non-negative integer, got {seed!r}")
    if scheduler is not None and backend != "dask":
        raise ConfigError("--scheduler needs --backend dask")
    if scheduler is not None:
        parse_scheduler(scheduler)
    devices = parse_devices(device)
    _check_limits(jobs, threads, devices[0] == "cpu" and not scheduler, timeout_frame,
                  timeout_sequence, scheduler_timeout)
    ws = workspace if workspace is not None else load_workspace()
    if tracker_object is not None:
        if backend != "joblib" or devices != ["cpu"] or jobs not in (None, 1):
            raise ConfigError("a tracker object runs in this process: one job on the CPU")
        if timeout_frame or timeout_sequence:
            raise ConfigError("timeouts need the tracker in a worker process (a spec); a tracker "
                              "object runs in this process")
        jobs = 1
    if len(devices) > 1:
        if backend == "dask":
            raise ConfigError("with --backend dask give one --device per worker machine (start "
                              "each Dask worker with its own CUDA_VISIBLE_DEVICES)")
        if jobs is not None and jobs != len(devices):
            raise ConfigError(f"--device lists {len(devices)} GPUs: one worker each, so --jobs "
                              f"must be {len(devices)} (or left out)")
        jobs = len(devices)
    data = load_split(dataset, split=split, root=root, sequences=sequences,
                      allow_partial=allow_partial, workspace=ws)
    if not data.sequences:
        raise MissingDataError(f"{data.key}: no sequence to run")
    # completeness is judged on the whole OFFICIAL split, also when --sequences picked a subset
    # or the root's own list names fewer sequences than the list shipped in the package
    full = data if sequences is None else load_split(dataset, split=split, root=root,
                                                     allow_partial=True, workspace=ws)
    full_lengths = {s.name: s.n_frames for s in full.sequences}
    official = official_names(dataset, split)
    root_names = [s.name for s in full.sequences] + list(full.missing)
    reference = official if official is not None else root_names
    fingerprints = {s.name: mf.annotation_fingerprint(s.gt, s.n_frames) for s in full.sequences}
    registry = registry if registry is not None else SpecRegistry(ws.trackers_dir, ws.root)
    overrides = {"model": {"trust_checkpoint": True}} if trust_checkpoint else None
    spec = registry.resolve(tracker, dataset=data.dataset, overrides=overrides)
    cores = available_cores()
    jobs = jobs if jobs is not None else (1 if devices[0] != "cpu" else cores)
    store = ResultsStore(results_dir if results_dir is not None else ws.results_dir)
    store.check_folder(tracker, data.key)
    lengths = {s.name: s.n_frames for s in data.sequences}
    run_names = set(lengths)
    # before the folder is touched (a spec is built once here to fail fast, then in the workers)
    if scheduler is not None:
        probe_scheduler(scheduler, scheduler_timeout)  # bounded: never a hang inside Dask
    tracker_obj = tracker_object if tracker_object is not None else _preflight(spec, devices)
    in_process = tracker_object is not None
    if not in_process:
        tracker_obj = None

    checkpoint = checkpoint_of(spec)
    with store.lock(tracker, data.key):  # runs of an earlier, longer or other repeated eval
        _check_repeats(store, tracker, data.key, spec, checkpoint, force, seed)

    def run_once(run_id: int) -> EvalRun:
        """One run (``run_id``) over the split into its own folder (``layout.repeat_key``)."""
        key = repeat_key(data.key, run_id)
        this_seed = run_seed(seed, run_id)
        folder = store.sequence_dir(tracker, key)
        with store.lock(tracker, key):
            previous = _check_identity(store, tracker, key, spec, checkpoint, force, this_seed)
            store.remove_temp_files(tracker, key)
            errors_path = store.errors_path(tracker, key)
            errors_path.unlink(missing_ok=True)
            annotations = mf.annotation_fingerprints(previous)
            changed = mf.changed_annotations(previous, fingerprints)
            rerun_changed = [n for n in changed if n in run_names]
            stale = [n for n in changed if n not in run_names]  # outside this run: not done
            for name in rerun_changed:  # results made against other ground truth: run again
                store.remove_sequence(tracker, key, name)
            if rerun_changed:
                log.warning("ground truth changed since these sequences ran; running them again: %s",
                            ", ".join(rerun_changed[:10]) + (" ..." if len(rerun_changed) > 10 else ""))
            complete = set(store.complete_sequences(tracker, key, lengths))
            pending = [s for s in data.sequences if s.name not in complete]
            skipped = [s.name for s in data.sequences if s.name in complete]
            # results from before fingerprints were recorded: fingerprinted now, marked as such, so
            # a later change of their ground truth is caught from here on
            for name in skipped:
                if name not in annotations:
                    annotations[name] = {**fingerprints[name], "recorded": "at resume"}
            workers = max(1, min(jobs, len(pending))) if pending else 1
            threads_each = threads
            if threads_each is None:  # this machine's cores say nothing about a remote cluster's
                local_cpu = devices[0] == "cpu" and not scheduler
                threads_each = max(1, cores // workers) if local_cpu else 1
            info = BackendInfo(backend, workers)

            history = list((previous or {}).get("runs", []))
            for old_run in history:  # a run killed before it could write its end (kill -9, power)
                if isinstance(old_run, dict) and not old_run.get("finished"):
                    old_run["interrupted"] = True
            seq_runs: dict[str, int] = dict((previous or {}).get("sequence_runs", {}))
            hardware = provenance.hardware(devices)
            this_run = {"started": mf.utc_now(), "finished": None, "backend": info.to_dict(),
                        "workers": workers, "threads_per_worker": threads_each, "devices": devices,
                        "host": hardware["host"], "pid": os.getpid(), "ran": 0, "failed": [],
                        "interrupted": False, "force": force,
                        "timeouts": {"frame": timeout_frame, "sequence": timeout_sequence},
                        "rerun_changed_ground_truth": rerun_changed}
            history.append(this_run)
            run_index = len(history) - 1
            base = {
                "format": mf.FORMAT_VERSION, "tracker": tracker, "dataset": data.dataset,
                "split": data.split, "split_key": data.key,
                "spec_hash": spec.hash, "spec": spec.to_dict(), "checkpoint": checkpoint,
                "package": {"name": "mfv2bench", "version": __version__, "git_commit": provenance.git_commit()},
                "versions": provenance.library_versions(), "hardware": hardware,
                "started": (previous or {}).get("started") or this_run["started"],
                **mf.seed_fields(run_id, this_seed, seed, SEQUENCE_SEED_RULE, SEEDED_GENERATORS),
            }
            failed: dict[str, str] = {}
            done: list[str] = []
            interrupted = False

            def write_manifest(final: bool) -> dict[str, Any]:
                finished = set(done) | set(skipped)
                others = {n: k for n, k in full_lengths.items() if n not in run_names}
                if final and others:
                    finished |= set(store.complete_sequences(tracker, key, others))
                finished -= set(stale)
                if final:
                    cov = judge_coverage(reference, official is not None, root_names,
                                         list(lengths), finished, subset_option=sequences is not None,
                                         failed=sorted(failed), interrupted=interrupted,
                                         missing_on_disk=list(full.missing), stale=stale)
                else:
                    cov = Coverage(mf.PARTIAL, len(reference), len(finished & set(reference)),
                                   ["running"])
                max_workers = max(int(r.get("workers", 1)) for r in history)
                backend_names = {(r.get("backend") or {}).get("name") for r in history}
                manifest = {
                    **base,
                    "device": devices[0] if len(devices) == 1 else ",".join(devices),
                    "devices": devices, "threads": threads_each, "workers": max_workers,
                    "backend": info.to_dict() | {"name": "dask" if "dask" in backend_names else backend},
                    "timing": mf.timing_label(max_workers, "dask" if "dask" in backend_names else backend),
                    "finished": mf.utc_now() if final else None,
                    "status": ("interrupted" if interrupted else "finished") if final else "running",
                    **mf.coverage_fields(cov.state, cov.expected, cov.done, cov.reasons),
                    "sequences": {"expected": cov.expected,
                                  "official": "package" if official is not None else "root list",
                                  "on_disk": len(full.sequences), "done": cov.done,
                                  "failed": sorted(failed), "missing_on_disk": list(full.missing)},
                    "runs": history, "sequence_runs": seq_runs,
                    mf.ANNOTATIONS_KEY: annotations,
                }
                try:
                    store.write_manifest(tracker, key, manifest)
                except OSError as exc:
                    raise DiskWriteError(folder, "run.json", exc, len(set(done) | set(skipped))) \
                        from None
                return manifest

            manifest = write_manifest(final=False)
            last_write = time.monotonic()
            bar = _Progress(progress, sum(s.n_frames for s in pending), len(pending),
                            f"{tracker} on {data.key}"
                            + (f" (run {run_id + 1} of {runs})" if runs > 1 else ""))
            progress_dir = bar.watch() if backend == "joblib" and not in_process else None
            tasks = [Task(index=i, seq=s, spec=spec, devices=tuple(devices), threads=threads_each,
                          prefetch=prefetch, progress_dir=progress_dir, timeout_frame=timeout_frame,
                          timeout_sequence=timeout_sequence, seed=sequence_seed(this_seed, s.name))
                     for i, s in enumerate(pending)]
            index_of = {t.seq.name: t.index for t in tasks}
            restore = None
            if in_process:
                use_tracker(spec, "cpu", tracker_obj)
                restore = pin_threads(threads_each)
                stream = run_inprocess(tasks, on_frame=bar.frame if bar.active else None)
            elif backend == "joblib":
                stream = run_joblib(tasks, workers, threads_each)
            else:
                stream = run_dask(tasks, workers, threads_each, scheduler, info, scheduler_timeout)
            write_error: BaseException | None = None
            try:
                for result in stream:
                    try:
                        if result.ok:
                            store.write_sequence(tracker, key, result.name, result.boxes,
                                                 result.times, result.scores)
                        else:
                            store.append_error(tracker, key,
                                               f"=== {result.name} ({mf.utc_now()}) ===\n{result.error}")
                    except OSError as exc:
                        raise DiskWriteError(folder, result.name, exc, len(done) + len(skipped)) \
                            from None
                    if result.ok:
                        done.append(result.name)
                        seq_runs[result.name] = run_index
                        annotations[result.name] = fingerprints[result.name]
                    else:
                        failed[result.name] = (result.error or "").strip().splitlines()[-1][:300]
                    bar.sequence_done(lengths[result.name], not result.ok, index_of[result.name])
                    this_run.update(ran=len(done), failed=sorted(failed))
                    if time.monotonic() - last_write >= MANIFEST_EVERY_S:  # large splits: not O(n^2)
                        manifest = write_manifest(final=False)
                        last_write = time.monotonic()
            except BaseException as exc:  # Ctrl-C, SIGTERM, a full disk: finished results are kept
                interrupted = True
                write_error = exc
                raise
            finally:
                close = getattr(stream, "close", None)
                if close is not None:
                    close()  # stops the workers now (a generator left open would keep them)
                bar.close()
                if restore is not None:
                    restore()
                this_run.update(finished=mf.utc_now(), ran=len(done), failed=sorted(failed),
                                interrupted=interrupted, backend=info.to_dict(), workers=info.workers)
                try:
                    manifest = write_manifest(final=True)
                except DiskWriteError as exc:
                    if write_error is None:
                        raise
                    log.warning("%s", exc)
        return EvalRun(tracker=tracker, split=data, folder=folder, manifest=manifest, done=done,
                       skipped=skipped, failed=failed, interrupted=interrupted,
                       backend=info.name, workers=info.workers, results_dir=store.root,
                       run_id=run_id, seed=this_seed)

    first, *others = [run_once(r) for r in range(runs)]
    first.repeats = others
    return first
