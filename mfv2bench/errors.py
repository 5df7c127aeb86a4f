"""Errors raised where bad input is read; the CLI turns them into one clear line, no traceback."""

from __future__ import annotations

from pathlib import Path


class Mfv2benchError(Exception):
    """Base class: an error the user can fix, reported without a traceback."""


class InputError(Mfv2benchError):
    """Bad input file or value; names the file and, where known, the 1-based line."""

    def __init__(self, message: str, path: str | Path | None = None, line: int | None = None):
        self.path = Path(path) if path is not None else None
        self.line = line
        self.reason = message
        where = ""
        if self.path is not None:
            where = f"{self.path}" + (f":{line}" if line is not None else "") + ": "
        super().__init__(where + message)


class ConfigError(Mfv2benchError):
    """Bad workspace configuration, tracker spec or command-line choice."""


class MissingDataError(Mfv2benchError):
    """A data root, sequence or checkpoint that should be on disk is not."""
