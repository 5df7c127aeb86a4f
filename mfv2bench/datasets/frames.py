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
    """Read-only list of frame paths ``folder/name`` in playback order."""

    __slots__ = ("_folder", "_names")

    def __init__(self, folder: str | Path, names: list[str]):
        self._folder = os.fspath(folder)
        self._names = list(names)

    @property
    def folder(self) -> Path:
        return Path(self._folder)

    @property
    def names(self) -> list[str]:
        """File names in order (no folder)."""
        return list(self._names)

    def __len__(self) -> int:
        return len(self._names)

    @overload
    def __getitem__(self, index: int) -> Path: ...

    @overload
    def __getitem__(self, index: slice) -> list[Path]: ...

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [Path(self._folder, n) for n in self._names[index]]
        return Path(self._folder, self._names[index])

    def __iter__(self) -> Iterator[Path]:
        folder = self._folder
        for n in self._names:
            yield Path(folder, n)

    def strings(self) -> list[str]:
        """Frame paths as strings (cheaper than Paths, e.g. for JSON)."""
        join = os.path.join
        folder = self._folder
        return [join(folder, n) for n in self._names]

    def __eq__(self, other: object) -> bool:
        if isinstance(other, FrameList):
            return self._folder == other._folder and self._names == other._names
        if isinstance(other, (list, tuple)):
            return len(other) == len(self) and all(Path(a) == b for a, b in zip(other, self))
        return NotImplemented

    def __repr__(self) -> str:
        return f"FrameList({self._folder!r}, {len(self._names)} frames)"

    def __getstate__(self):
        return (self._folder, self._names)

    def __setstate__(self, state) -> None:
        self._folder, self._names = state
