"""Where sequences run: in this process, on joblib's loky process pool, or on a Dask cluster.
Each backend yields one ``SequenceResult`` per task as it finishes (any order)."""

from __future__ import annotations

import logging
import os
import shutil
import socket
import struct
import tempfile
import time
import traceback
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import urlsplit

from ..errors import ConfigError, Mfv2benchError
from .sequence import SequenceResult
from .worker import TIMEOUT_EVENT, TIMEOUT_SUFFIX, Task, execute

log = logging.getLogger(__name__)
SCHEDULER_TIMEOUT_S = 10.0  # default bound on connecting to a Dask scheduler (and its handshake)
DASK_SCHEMES = ("tcp", "tls", "ucx", "ws", "wss", "inproc")

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


def _timed_out(claims_dir: str) -> dict[int, str]:
    """Task index -> message, for workers that ended themselves over a time limit."""
    out: dict[int, str] = {}
    for name in os.listdir(claims_dir):
        if name.endswith(TIMEOUT_SUFFIX):
            try:
                out[int(name.split(".", 1)[0])] = Path(claims_dir, name).read_text("utf-8")
            except (OSError, ValueError):
                continue
    return out


def stop_joblib_workers() -> None:
    """Kill loky's reusable workers now (Ctrl-C, SIGTERM, an error): they would otherwise idle
    for minutes holding memory (and GPU memory) after the run stopped."""
    try:
        from joblib.externals.loky import reusable_executor

        executor = reusable_executor._executor  # None when no pool was started
        if executor is not None:
            executor.shutdown(wait=False, kill_workers=True)
    except Exception:  # noqa: BLE001 - best effort on the way out
        log.debug("stopping loky workers failed", exc_info=True)


def _one_worker(tasks: list[Task], threads: int, work_dir: str,
                slots_dir: str) -> Iterator[SequenceResult]:
    """``--jobs 1``: the tasks one after the other in ONE worker process (kept for the next
    task, so the tracker is built once), never in this process (joblib runs ``n_jobs=1``
    in-process): a native crash or a hung tracker costs its sequence; a fresh worker takes
    the next one."""
    from joblib.externals.loky import ProcessPoolExecutor

    dead = _terminated_errors()
    env = {var: str(threads) for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS",
                                         "OPENBLAS_NUM_THREADS")}
    executor = None
    ended = False
    try:
        for task in tasks:
            claims_dir = tempfile.mkdtemp(dir=work_dir)
            if executor is None:
                executor = ProcessPoolExecutor(max_workers=1, env=env)
            try:
                future = executor.submit(execute, replace(task, claims_dir=claims_dir,
                                                          slots_dir=slots_dir))
                result = future.result()
            except dead:
                executor.shutdown(wait=True)
                executor = None
                result = SequenceResult(task.seq.name, error=_timed_out(claims_dir).get(
                    task.index, f"sequence {task.seq.name}: {WORKER_DIED}"))
            yield result
        ended = True
    finally:
        if executor is not None:
            executor.shutdown(wait=ended, kill_workers=not ended)


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
    finished = False
    try:
        if jobs == 1:  # joblib would run n_jobs=1 in this process: no isolation, no timeouts
            yield from _one_worker(list(pending.values()), threads, work_dir, slots_dir)
            pending.clear()
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
                timed_out = {i: m for i, m in _timed_out(claims_dir).items() if i in pending}
                if timed_out:  # a worker ended itself over a time limit: the others are innocent
                    for idx, message in sorted(timed_out.items()):
                        yield SequenceResult(pending.pop(idx).seq.name, error=message)
                    crashes_without_progress = 0
                    continue
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
            alone = tempfile.mkdtemp(dir=work_dir)
            ended = False
            try:
                future = executor.submit(execute, replace(task, claims_dir=alone, slots_dir=slots_dir))
                result = future.result()
                ended = True
            except dead:
                ended = True
                result = SequenceResult(task.seq.name, error=_timed_out(alone).get(
                    task.index, f"sequence {task.seq.name}: {WORKER_DIED}"))
            finally:
                executor.shutdown(wait=ended, kill_workers=not ended)
            yield result
        finished = True
    finally:
        if not finished:  # interrupted (Ctrl-C, SIGTERM, a failed write): no worker may linger
            stop_joblib_workers()
        shutil.rmtree(work_dir, ignore_errors=True)


def parse_scheduler(address: str) -> tuple[str, str, int | None]:
    """``tcp://host:8786`` or ``host:8786`` -> (scheme, host, port); anything else a
    ConfigError naming the expected form (checked before Dask sees it)."""
    text = address.strip()
    expected = "expected a Dask scheduler address such as tcp://HOST:8786"
    if not text or any(c.isspace() for c in text):
        raise ConfigError(f"--scheduler {address!r} is not an address ({expected})")
    if "://" not in text:
        text = "tcp://" + text
    parts = urlsplit(text)
    if parts.scheme not in DASK_SCHEMES:
        raise ConfigError(f"--scheduler {address!r}: unknown protocol {parts.scheme!r} ({expected})")
    if parts.scheme == "inproc":
        return parts.scheme, parts.netloc, None
    try:
        port = parts.port
    except ValueError:
        port = -1
    if not parts.hostname or port is None or not 0 < port < 65536 or parts.path not in ("", "/"):
        raise ConfigError(f"--scheduler {address!r} needs a host and a port ({expected})")
    return parts.scheme, parts.hostname, port


def _recv_exactly(sock: socket.socket, n: int, deadline: float) -> bytes:
    data = b""
    while len(data) < n:
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise ConnectionError("the connection was closed")
        data += chunk
    return data


MAX_HANDSHAKE_BYTES = 1 << 20  # a Dask handshake is a few hundred bytes


def probe_scheduler(address: str, timeout: float) -> None:
    """Connect to a tcp scheduler and read its handshake, all within ``timeout`` seconds: a
    port that accepts and never answers, or answers with something that is not Dask, is a
    ConfigError here instead of a hang or a huge allocation inside Dask."""
    scheme, host, port = parse_scheduler(address)
    if port is None:
        return
    deadline = time.monotonic() + timeout
    where = f"{host}:{port}"
    try:
        sock = socket.create_connection((host, port), timeout=timeout)
    except OSError as exc:
        raise ConfigError(f"cannot reach the Dask scheduler at {where}: "
                          f"{exc.strerror or exc or 'timed out'} (waited at most {timeout:g} s, "
                          "--scheduler-timeout)") from None
    try:
        if scheme != "tcp":
            return  # tls/ws: reachable; the handshake is checked by Dask under its timeout
        try:
            (total,) = struct.unpack("<Q", _recv_exactly(sock, 8, deadline))
            if not 8 <= total <= MAX_HANDSHAKE_BYTES:
                raise ValueError
            payload = _recv_exactly(sock, total, deadline)
            (n_frames,) = struct.unpack("<Q", payload[:8])
            if not 1 <= n_frames <= 64:
                raise ValueError
        except (socket.timeout, TimeoutError):
            raise ConfigError(f"{where} accepted the connection but sent no Dask handshake within "
                              f"{timeout:g} s (--scheduler-timeout): is it a Dask scheduler?") from None
        except (ValueError, struct.error):
            raise ConfigError(f"{where} answered, but not as a Dask scheduler (unexpected "
                              "handshake bytes)") from None
        except OSError as exc:
            raise ConfigError(f"the Dask scheduler at {where} closed the connection during the "
                              f"handshake ({exc.strerror or exc})") from None
    finally:
        sock.close()


def _dask_client(jobs: int, threads: int, scheduler: str | None,
                 timeout: float = SCHEDULER_TIMEOUT_S):
    try:
        import dask
        from distributed import Client, LocalCluster
    except ImportError:
        raise ConfigError("the dask backend needs dask[distributed]: pip install 'mfv2bench[dask]'") from None
    if scheduler:
        try:
            return Client(scheduler, timeout=f"{timeout}s"), None
        except (OSError, TimeoutError, ValueError) as exc:
            raise ConfigError(f"cannot connect to the Dask scheduler at {scheduler}: {exc}") from None
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


def _timeout_message(client: Any, name: str) -> str | None:
    """The message a worker left (Dask event) before ending itself over a time limit."""
    try:
        for _, event in client.get_events(TIMEOUT_EVENT):
            if isinstance(event, dict) and event.get("sequence") == name:
                return str(event.get("message"))
    except Exception:  # noqa: BLE001 - the generic message is used instead
        log.debug("reading Dask timeout events failed", exc_info=True)
    return None


def run_dask(tasks: list[Task], jobs: int, threads: int, scheduler: str | None,
             info: BackendInfo, timeout: float = SCHEDULER_TIMEOUT_S) -> Iterator[SequenceResult]:
    """Run tasks on an existing Dask cluster (``scheduler`` address) or a LocalCluster of
    ``jobs`` processes. Sequence files and frame paths must be readable by the workers.
    ``timeout``: seconds connecting to ``scheduler`` (and its handshake) may take."""
    client, cluster = _dask_client(jobs, threads, scheduler, timeout)
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
                    message = _timeout_message(client, task.seq.name)
                    yield SequenceResult(task.seq.name, error=message or f"sequence {task.seq.name}: "
                                         f"{WORKER_DIED} (dask: {exc})")
                else:
                    yield SequenceResult(task.seq.name, error=f"sequence {task.seq.name} on dask\n"
                                         + traceback.format_exc())
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
