"""Logging for the command line (core module).

Library modules never print: they log with ``logging.getLogger(__name__)`` (every logger of the
package is a child of ``mfv2bench``) and leave output to their caller. Only the CLI calls
``configure``: warnings and errors then reach stderr as ``warning: ...`` lines, like the CLI's own
``error: ...`` lines; ``-v`` adds info messages, ``-vv`` debug ones, ``-q`` keeps errors only.
A notebook that wants the messages calls ``configure`` itself (or its own ``logging`` set-up).
"""

from __future__ import annotations

import logging
import sys
from typing import TextIO

ROOT_LOGGER = "mfv2bench"


class _CurrentStderr(logging.StreamHandler):
    """A stream handler that writes to the ``sys.stderr`` of the moment, not the one it was
    built with (click's test runner and notebooks swap it)."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property  # type: ignore[override]
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, value: TextIO) -> None:  # set by StreamHandler.__init__; ignored
        pass


class _Formatter(logging.Formatter):
    """``warning: message`` for warnings and errors (the CLI's ``error:`` style); bare info."""

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        if record.levelno >= logging.WARNING:
            return f"{record.levelname.lower()}: {text}"
        return text


def level_for(verbosity: int) -> int:
    """``-q`` (-1): errors; default (0): warnings; ``-v`` (1): info; ``-vv`` (2+): debug."""
    if verbosity < 0:
        return logging.ERROR
    return (logging.WARNING, logging.INFO)[verbosity] if verbosity < 2 else logging.DEBUG


def configure(verbosity: int = 0) -> logging.Logger:
    """Send the package's log records at ``verbosity`` to stderr; calling again replaces the
    previous set-up (one handler, never duplicated lines)."""
    logger = logging.getLogger(ROOT_LOGGER)
    for handler in [h for h in logger.handlers if isinstance(h, _CurrentStderr)]:
        logger.removeHandler(handler)
    handler = _CurrentStderr()
    handler.setFormatter(_Formatter("%(message)s"))
    logger.addHandler(handler)
    logger.setLevel(level_for(verbosity))
    return logger


__all__ = ["ROOT_LOGGER", "configure", "level_for"]
