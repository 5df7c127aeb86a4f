"""Frame paths of a sequence, held as one folder and a list of file names.

Real splits hold millions of frames (LaSOT: 3.5 M). Building a ``Path`` per frame at indexing time
would dominate the cost of loading a split, so a ``FrameList`` keeps the names and makes each
``Path`` when it is asked for. It behaves as a read-only list of ``Path`` (len, index, slice,
iteration, equality with a list).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from collections.abc import Sequence as AbcSequence
from pathlib import Path
from typing import overload


class FrameList(AbcSequence):
    """Read-only list of frame paths ``folder/name`` in playback order.

    Either an explicit list of names, or (``numbered``) ``count`` names made from a format and a
    first number, e.g. LaSOT's ``%08d.jpg`` from 1: nothing per frame is stored then.
    """

    __slots__ = ("_folder", "_names", "_fmt", "_start", "_count")

    def __init__(self, folder: str | Path, names: list[str]):
        self._folder = os.fspath(folder)
        self._names: list[str] | None = list(names)
        self._fmt = ""
        self._start = 0
        self._count = len(self._names)

    @classmethod
    def numbered(cls, folder: str | Path, fmt: str, start: int, count: int) -> "FrameList":
        """Frames ``fmt.format(start)`` .. ``fmt.format(start + count - 1)`` (``{:08d}.jpg``)."""
        obj = cls.__new__(cls)
        obj._folder = os.fspath(folder)
        obj._names = None
        obj._fmt = fmt
        obj._start = int(start)
        obj._count = int(count)
        return obj

    @property
    def folder(self) -> Path:
        return Path(self._folder)

    def _name(self, i: int) -> str:
        if self._names is not None:
            return self._names[i]
        if i < 0:
            i += self._count
        if not 0 <= i < self._count:
            raise IndexError("frame index out of range")
        return self._fmt.format(self._start + i)

    @property
    def names(self) -> list[str]:
        """File names in order (no folder)."""
        if self._names is not None:
            return list(self._names)
        fmt, start = self._fmt, self._start
        return [fmt.format(start + i) for i in range(self._count)]

    def __len__(self) -> int:
        return self._count

    @overload
    def __getitem__(self, index: int) -> Path: ...

    @overload
    def __getitem__(self, index: slice) -> list[Path]: ...

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [Path(self._folder, self._name(i)) for i in range(*index.indices(self._count))]
        return Path(self._folder, self._name(index))

    def __iter__(self) -> Iterator[Path]:
        folder = self._folder
        for n in self.names:
            yield Path(folder, n)

    def strings(self) -> list[str]:
        """Frame paths as strings (cheaper than Paths, e.g. for JSON)."""
        join = os.path.join
        folder = self._folder
        return [join(folder, n) for n in self.names]

    def __eq__(self, other: object) -> bool:
        if isinstance(other, FrameList):
            return self._folder == other._folder and self.names == other.names
        if isinstance(other, (list, tuple)):
            return len(other) == len(self) and all(Path(a) == b for a, b in zip(other, self))
        return NotImplemented

    __hash__ = None  # mutable-looking sequence semantics, like list

    def __repr__(self) -> str:
        return f"FrameList({self._folder!r}, {self._count} frames)"

    def __getstate__(self):
        return (self._folder, self._names, self._fmt, self._start, self._count)

    def __setstate__(self, state) -> None:
        self._folder, self._names, self._fmt, self._start, self._count = state
