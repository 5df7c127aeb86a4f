"""SIGTERM (and SIGHUP) handled like Ctrl-C: ``kill PID`` (a batch system's stop, ``timeout``)
or a closed terminal stops an eval the same clean way: workers stopped, finished results kept,
the manifest marked interrupted."""

from __future__ import annotations

import signal
import threading
from contextlib import contextmanager
from typing import Iterator

EXIT_INTERRUPTED = 130  # Ctrl-C (128 + SIGINT)
EXIT_TERMINATED = 143  # SIGTERM (128 + SIGTERM); SIGHUP: 129
SIGNALS = (signal.SIGTERM, signal.SIGHUP)


class Terminated(KeyboardInterrupt):
    """Raised in the main thread when SIGTERM or SIGHUP arrives (a KeyboardInterrupt, so every
    cleanup path of an interrupted run applies unchanged)."""

    def __init__(self, signum: int = signal.SIGTERM):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum

    @property
    def exit_status(self) -> int:
        """128 + the signal number, as a shell reports a process ended by it."""
        return 128 + int(self.signum)


@contextmanager
def terminate_as_interrupt() -> Iterator[None]:
    """While active (main thread only; elsewhere a no-op), the first SIGTERM or SIGHUP raises
    ``Terminated``; later ones during the cleanup are ignored so the cleanup can finish."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    fired = [False]

    def handler(signum: int, frame: object) -> None:
        if fired[0]:
            return
        fired[0] = True
        raise Terminated(signum)

    previous = {sig: signal.signal(sig, handler) for sig in SIGNALS}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
