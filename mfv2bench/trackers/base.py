"""The tracker contract: ``initialize(image, box)`` then ``track(image)`` per frame.

Images are RGB uint8 arrays (H, W, 3); boxes are (x, y, w, h) in image pixels, float.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np


@dataclass
class TrackOutput:
    """One frame's answer: the box and, where the tracker has one, a confidence score."""

    box: np.ndarray
    score: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@runtime_checkable
class Tracker(Protocol):
    """What the runner, speed and demo code call. Build trackers with ``specs.build_tracker``."""

    name: str

    def initialize(self, image: np.ndarray, box: np.ndarray) -> None: ...

    def track(self, image: np.ndarray) -> TrackOutput: ...
