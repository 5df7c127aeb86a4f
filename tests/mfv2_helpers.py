"""Shared helpers of the MixFormerV2 tests: golden files copied from the official code's outputs."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import cv2
import numpy as np
import torch

MFV2_DATA = Path(__file__).parent / "data" / "mfv2"


def load_golden_model(style: str) -> dict:
    return torch.load(MFV2_DATA / f"model_{style}_style.pt", weights_only=True)


def load_golden_run(style: str) -> dict:
    return json.loads((MFV2_DATA / f"tracker_{style}_style.json").read_text())


def read_sequence() -> list[np.ndarray]:
    """The 15 golden frames as RGB uint8 (cv2.imread + BGR->RGB, as the official loop)."""
    frames = []
    for i in range(1, 16):
        bgr = cv2.imread(str(MFV2_DATA / "sequence" / f"{i:08d}.png"))
        frames.append(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
    return frames


def md5(arr: np.ndarray) -> str:
    return hashlib.md5(np.ascontiguousarray(arr).tobytes()).hexdigest()
