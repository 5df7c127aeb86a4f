"""Where sequences run: in this process, on joblib's loky process pool, or on a Dask cluster.
Each backend yields one ``SequenceResult`` per task as it finishes (any order)."""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import traceback
from dataclasses import dataclass, field, replace
from typing import Any, Iterator

from ..errors import ConfigError, Mfv2benchError
from .sequence import SequenceResult
from .worker import Task, execute

WORKER_DIED = ("the worker process running it died (killed, out of memory, or a crash in native "
               "code); the other sequences went on")


@dataclass
class BackendInfo:
    """What the manifest records about where the run happened."""

    name: str
    workers: int
    scheduler: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "workers": self.workers, "scheduler": self.scheduler, **self.extra}


def run_inprocess(tasks: list[Task], on_frame=None) -> Iterator[SequenceResult]:
    """One worker: this process (its tracker was already built by the fail-fast check)."""
    for task in tasks:
        yield execute(task, on_frame=on_frame)


def _terminated_errors() -> tuple[type[BaseException], ...]:
    from concurrent.futures.process import BrokenProcessPool

    from joblib.externals.loky.process_executor import TerminatedWorkerError

    return (TerminatedWorkerError, BrokenProcessPool)


def _in_flight(claims_dir: str) -> set[int]:
    return {int(name.split(".", 1)[0]) for name in os.listdir(claims_dir)}


def run_joblib(tasks: list[Task], jobs: int, threads: int) -> Iterator[SequenceResult]:
    """Run tasks on joblib's loky pool (``jobs`` processes, ``threads`` each).

    A worker that dies (kill -9, OOM) breaks loky's pool and every in-flight task with it. The
    finished results are already handed back; the sequences that were in flight become suspects
    and are re-run one at a time in a one-process pool: the one that kills its worker again is
    reported failed, the innocent ones finish. The rest goes on in a fresh pool."""
    from joblib import Parallel, delayed, parallel_config
    from joblib.externals.loky import ProcessPoolExecutor

    dead = _terminated_errors()
    work_dir = tempfile.mkdtemp(prefix="mfv2bench-run-")
    slots_dir = os.path.join(work_dir, "slots")
    os.makedirs(slots_dir)
    pending: dict[int, Task] = {t.index: t for t in tasks}
    suspects: list[Task] = []
    crashes_without_progress = 0
    try:
        while pending:
            claims_dir = tempfile.mkdtemp(dir=work_dir)
            batch = [replace(t, claims_dir=claims_dir, slots_dir=slots_dir) for t in pending.values()]
            progressed = False
            try:
                with parallel_config(backend="loky", inner_max_num_threads=threads):
                    parallel = Parallel(n_jobs=min(jobs, len(batch)), return_as="generator_unordered",
                                        pre_dispatch="n_jobs", batch_size=1)
                    by_name = {t.seq.name: t.index for t in batch}
                    for result in parallel(delayed(execute)(t) for t in batch):
                        pending.pop(by_name[result.name], None)
                        progressed = True
                        yield result
            except dead:
                in_flight = _in_flight(claims_dir) & set(pending)
                if not in_flight:
                    crashes_without_progress = 0 if progressed else crashes_without_progress + 1
                    if crashes_without_progress >= 3:
                        raise Mfv2benchError("joblib workers keep dying before running any sequence "
                                             "(see the worker's stderr above)") from None
                for idx in sorted(in_flight):
                    suspects.append(pending.pop(idx))
        for task in suspects:  # each alone in its own one-process pool (not joblib's shared one)
            executor = ProcessPoolExecutor(max_workers=1)
            try:
                future = executor.submit(execute, replace(task, claims_dir=None, slots_dir=slots_dir))
                result = future.result()
            except dead:
                result = SequenceResult(task.seq.name, error=f"sequence {task.seq.name}: {WORKER_DIED}")
            finally:
                executor.shutdown(wait=True)
            yield result
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)


def _dask_client(jobs: int, threads: int, scheduler: str | None):
    try:
        import dask
        from distributed import Client, LocalCluster
    except ImportError:
        raise ConfigError("the dask backend needs dask[distributed]: pip install 'mfv2bench[dask]'") from None
    if scheduler:
        try:
            return Client(scheduler, timeout="20s"), None
        except (OSError, TimeoutError) as exc:
            raise ConfigError(f"cannot reach the Dask scheduler at {scheduler}: {exc}") from None
    # A local cluster on loopback (tests, single machines). One task per worker thread at a time
    # (no queue on the worker), so a dying worker takes only the sequence it was running; that
    # sequence is retried once, then reported failed.
    with dask.config.set({"distributed.scheduler.allowed-failures": 1,
                          "distributed.scheduler.worker-saturation": 1.0}):
        cluster = LocalCluster(n_workers=jobs, threads_per_worker=1, processes=True,
                               host="127.0.0.1", dashboard_address=None,
                               silence_logs=logging.ERROR,
                               env={"OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)})
    return Client(cluster), cluster


def run_dask(tasks: list[Task], jobs: int, threads: int, scheduler: str | None,
             info: BackendInfo) -> Iterator[SequenceResult]:
    """Run tasks on an existing Dask cluster (``scheduler`` address) or a LocalCluster of
    ``jobs`` processes. Sequence files and frame paths must be readable by the workers."""
    client, cluster = _dask_client(jobs, threads, scheduler)
    try:
        from distributed import as_completed

        info.workers = len(client.scheduler_info().get("workers", {})) or jobs
        info.scheduler = scheduler or client.scheduler.address
        futures = {client.submit(execute, t, pure=False, key=f"mfv2bench-{t.index}-{t.seq.name}"): t
                   for t in tasks}
        for future in as_completed(futures):
            task = futures[future]
            try:
                yield future.result()
            except Exception as exc:
                if type(exc).__name__ == "KilledWorker":
                    yield SequenceResult(task.seq.name, error=f"sequence {task.seq.name}: {WORKER_DIED}"
                                         f" (dask: {exc})")
                else:
                    yield SequenceResult(task.seq.name, error=f"sequence {task.seq.name} on dask\n"
                                         + traceback.format_exc())
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
