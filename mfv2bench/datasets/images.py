"""Reading one frame as the trackers expect it: RGB uint8 (H, W, 3)."""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np

from ..errors import InputError


def read_rgb(path: str | Path) -> np.ndarray:
    """Decode an image file to an RGB uint8 array; an unreadable file is an ``InputError``."""
    p = os.fspath(path)
    if not os.path.isfile(p):
        raise InputError("image file not found", path)
    img = cv2.imread(p, cv2.IMREAD_COLOR)
    if img is None or img.size == 0:
        size = os.path.getsize(p)
        why = "empty file" if size == 0 else "not a decodable image"
        raise InputError(f"cannot read image ({why})", path)
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)

