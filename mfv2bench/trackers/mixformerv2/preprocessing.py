"""Crops, normalisation and box mapping of the official MixFormerV2 test-time procedure.

Quirks kept on purpose (they change the crops, hence the results): Python round-half-to-even
for the crop origin, the ``+1`` in the right/bottom padding (the last image column/row is
replaced by zeros when the crop reaches the border), zero padding, bilinear ``cv2.resize``, and
the float32 tensor arithmetic when the network box is scaled back to pixels.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
import torch

from .config import MEAN, STD


@dataclass
class Crop:
    """A square crop resized to ``output_sz``; ``resize_factor`` = output_sz / side."""

    image: np.ndarray  # (output_sz, output_sz, 3) uint8 RGB
    resize_factor: float
    side: int
    origin: tuple[int, int]  # (x1, y1) of the crop in the frame, before padding


def sample_target(image: np.ndarray, box, factor: float, output_sz: int) -> Crop:
    """Square crop of side ceil(sqrt(w*h)*factor) centred on ``box`` (x, y, w, h), zero-padded."""
    x, y, w, h = (float(v) for v in box)
    side = math.ceil(math.sqrt(w * h) * factor)
    if side < 1:
        raise ValueError(f"box {box!r} is too small to crop (side {side})")
    x1 = round(x + 0.5 * w - side * 0.5)
    y1 = round(y + 0.5 * h - side * 0.5)
    x2, y2 = x1 + side, y1 + side
    H, W = image.shape[:2]
    left, top = max(0, -x1), max(0, -y1)
    right, bottom = max(x2 - W + 1, 0), max(y2 - H + 1, 0)
    patch = np.zeros((side, side, image.shape[2]), dtype=image.dtype)
    ys, ye = y1 + top, y2 - bottom
    xs, xe = x1 + left, x2 - right
    if ye > ys and xe > xs:
        patch[top:top + (ye - ys), left:left + (xe - xs)] = image[ys:ye, xs:xe]
    resized = cv2.resize(patch, (output_sz, output_sz))  # INTER_LINEAR, as the official code
    return Crop(image=resized, resize_factor=output_sz / side, side=side, origin=(x1, y1))


class Normalizer:
    """uint8 HWC RGB -> float32 (1, 3, H, W) normalised tensor on ``device``.

    On the CPU the arithmetic is done in NumPy (float32, the same operations and rounding as the
    official torch code): a few small torch ops on a busy 2-core machine can each cost tens of
    milliseconds waiting for OpenMP threads.
    """

    def __init__(self, device: str | torch.device = "cpu", mean=MEAN, std=STD):
        self.device = torch.device(device)
        self.mean = torch.tensor(mean, dtype=torch.float32, device=self.device).view(1, 3, 1, 1)
        self.std = torch.tensor(std, dtype=torch.float32, device=self.device).view(1, 3, 1, 1)
        self._mean_np = np.asarray(mean, dtype=np.float32)
        self._std_np = np.asarray(std, dtype=np.float32)

    def __call__(self, crop: np.ndarray) -> torch.Tensor:
        if self.device.type == "cpu":
            x = (crop.astype(np.float32) / np.float32(255.0) - self._mean_np) / self._std_np
            return torch.from_numpy(np.ascontiguousarray(x.transpose(2, 0, 1)))[None]
        t = torch.from_numpy(np.ascontiguousarray(crop)).to(self.device)
        t = t.permute(2, 0, 1).unsqueeze(0).float()
        return ((t / 255.0) - self.mean) / self.std


def map_box_back(pred_box_norm: torch.Tensor, prev_state, search_size: int,
                 resize_factor: float) -> list[float]:
    """Network (cx, cy, w, h) normalised to the search crop -> (x, y, w, h) frame pixels.

    The crop is taken as centred on the previous state (the rounding of its origin is not
    compensated, as in the official tracker); scaling happens on a float32 tensor."""
    cx, cy, w, h = (pred_box_norm.reshape(-1, 4).mean(dim=0) * search_size / resize_factor).tolist()
    px, py, pw, ph = prev_state
    cx_prev, cy_prev = px + 0.5 * pw, py + 0.5 * ph
    half = 0.5 * search_size / resize_factor
    cx_real = cx + (cx_prev - half)
    cy_real = cy + (cy_prev - half)
    return [cx_real - 0.5 * w, cy_real - 0.5 * h, w, h]


def clip_box(box, H: int, W: int, margin: int = 10) -> list[float]:
    """Clip to the frame keeping at least ``margin`` px of size and of overlap with the frame."""
    x1, y1, w, h = box
    x2, y2 = x1 + w, y1 + h
    x1 = min(max(0, x1), W - margin)
    x2 = min(max(margin, x2), W)
    y1 = min(max(0, y1), H - margin)
    y2 = min(max(margin, y2), H)
    w = max(margin, x2 - x1)
    h = max(margin, y2 - y1)
    return [float(x1), float(y1), float(w), float(h)]
