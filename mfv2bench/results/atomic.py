"""The one atomic write: a crash (or an exception) never leaves a file that looks complete but
is not, and never leaves the temp file behind."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

TMP_PREFIX = ".tmp-"


def _umask() -> int:
    """This process's umask, read without changing it where the OS allows (Linux /proc)."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def atomic_write(path: str | Path, data: str | bytes, *, fsync: bool = True,
                 mode: int | None = None) -> Path:
    """Write ``data`` (text as UTF-8, or bytes) to ``path`` via a temp file in the same folder
    (``.tmp-<name>.XXXX``) and ``os.replace``; the temp file is removed on any failure.

    ``fsync=False`` for caches, which may be lost in a crash (they are rebuilt) but should not
    cost a disk flush each. ``mode``: permissions of the file, e.g. 0o644 for reports meant to
    be shared; by default those of any new file (0o666 less the umask), like the rest of the
    store, not the temp file's private 0o600."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=TMP_PREFIX + path.name + ".", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data.encode("utf-8") if isinstance(data, str) else data)
            if fsync:
                f.flush()
                os.fsync(f.fileno())
        os.chmod(tmp, mode if mode is not None else 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    return path
