"""The one atomic write: a crash (or an exception) never leaves a file that looks complete but
is not, and never leaves the temp file behind."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

TMP_PREFIX = ".tmp-"


def atomic_write(path: str | Path, data: str | bytes, *, fsync: bool = True,
                 mode: int | None = None) -> Path:
    """Write ``data`` (text as UTF-8, or bytes) to ``path`` via a temp file in the same folder
    (``.tmp-<name>.XXXX``) and ``os.replace``; the temp file is removed on any failure.

    ``fsync=False`` for caches, which may be lost in a crash (they are rebuilt) but should not
    cost a disk flush each. ``mode``: permissions of the file (the temp file's 0o600 otherwise),
    e.g. 0o644 for reports meant to be shared."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=TMP_PREFIX + path.name + ".", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data.encode("utf-8") if isinstance(data, str) else data)
            if fsync:
                f.flush()
                os.fsync(f.fileno())
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    return path
