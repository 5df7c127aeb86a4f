"""Reading one frame as the trackers expect it: RGB uint8 (H, W, 3)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import cv2
import numpy as np

from ..errors import InputError

# A complete JPEG ends with the EOI marker (FF D9), possibly followed by a little padding. The
# marker cannot occur inside entropy-coded data (FF is always stuffed there), so a JPEG whose
# tail lacks it was cut short: OpenCV would decode it with a grey bottom and only warn.
_JPEG_SOI = b"\xff\xd8"
_JPEG_EOI = b"\xff\xd9"
_TAIL = 4096


def read_rgb(path: str | Path) -> np.ndarray:
    """Decode an image file to an RGB uint8 array; an unreadable, truncated or undecodable file
    is an ``InputError`` naming it (never a silently half-grey frame)."""
    p = os.fspath(path)
    try:
        if not stat.S_ISREG(os.stat(p).st_mode):  # a FIFO or device would block or never end
            kind = "a directory" if os.path.isdir(p) else "not a regular file"
            raise InputError(f"image path is {kind}", path)
        with open(p, "rb") as f:
            head = f.read(2)
            size = f.seek(0, os.SEEK_END)
            f.seek(max(0, size - _TAIL))
            tail = f.read(_TAIL)
    except FileNotFoundError:
        raise InputError("image file not found", path) from None
    except OSError as exc:
        raise InputError(f"cannot read image: {exc.strerror or exc}", path) from None
    if size == 0:
        raise InputError("cannot read image (empty file)", path)
    if head == _JPEG_SOI and _JPEG_EOI not in tail:
        raise InputError(f"cannot read image (JPEG cut short: no end marker, {size} bytes)", path)
    img = cv2.imread(p, cv2.IMREAD_COLOR)
    if img is None or img.size == 0:
        raise InputError("cannot read image (not a decodable image)", path)
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
