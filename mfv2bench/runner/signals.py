"""SIGTERM handled like Ctrl-C: ``kill PID`` (a batch system's stop, ``timeout``) stops an eval
the same clean way: workers stopped, finished results kept, the manifest marked interrupted."""

from __future__ import annotations

import signal
import threading
from contextlib import contextmanager
from typing import Iterator

EXIT_INTERRUPTED = 130  # Ctrl-C (128 + SIGINT)
EXIT_TERMINATED = 143  # SIGTERM (128 + SIGTERM)


class Terminated(KeyboardInterrupt):
    """Raised in the main thread when SIGTERM arrives (a KeyboardInterrupt, so every cleanup
    path of an interrupted run applies unchanged)."""


@contextmanager
def terminate_as_interrupt() -> Iterator[None]:
    """While active (main thread only; elsewhere a no-op), the first SIGTERM raises
    ``Terminated``; a second one during the cleanup is ignored so the cleanup can finish."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    fired = [False]

    def handler(signum: int, frame: object) -> None:
        if fired[0]:
            return
        fired[0] = True
        raise Terminated()

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
