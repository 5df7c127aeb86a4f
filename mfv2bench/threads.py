"""Explicit thread counts for torch, OpenCV, pyarrow and BLAS: default threading on small machines
makes small ops many times slower, and parallel workers must not oversubscribe the cores."""

from __future__ import annotations

import os

_ENV_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


_BUDGET = [1]  # the last count given to set_threads (1 until a caller asks for more)


def thread_budget() -> int:
    """Threads the program allowed with ``set_threads`` (1 when it never did): how many our own
    thread pools (the analysis of several trackers) may use."""
    return _BUDGET[0]


def set_threads(n: int) -> int:
    """Pin torch (intra-op and, if still possible, inter-op), OpenCV, pyarrow and BLAS env to
    ``n`` threads."""
    n = max(1, int(n))
    _BUDGET[0] = n
    for var in _ENV_VARS:
        os.environ[var] = str(n)
    try:
        import torch

        torch.set_num_threads(n)
        try:
            torch.set_num_interop_threads(n)
        except RuntimeError:
            pass  # only settable once per process, before any parallel work
    except ImportError:
        pass
    try:
        import cv2

        cv2.setNumThreads(n)
    except ImportError:
        pass
    try:  # its CSV reader parses result files (results.fastparse)
        import pyarrow

        pyarrow.set_cpu_count(n)
    except ImportError:
        pass
    return n


def available_cores() -> int:
    """Cores this process may use (respects affinity masks / cgroups where the OS exposes them)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1
