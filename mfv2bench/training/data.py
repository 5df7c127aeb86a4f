"""Training pairs, precomputed once into uint8 tensors so the data never limits the step rate.

A pair is (template, online template, search) crops of one sequence plus the target box in the
search crop (normalised x1, y1, x2, y2) and a presence label. Crops use the tracker's own
``sample_target`` (same rounding, padding and resize as at test time); the search crop is cut
around a jittered box (centre and scale jitter as in the official MixFormer training).

Sources: our synthetic generator's LaSOT-layout TRAIN split made in memory (split index 1;
the test split, index 0, is never generated here), or any loader's split read from disk.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Iterable, Iterator

import numpy as np
import torch

from ..datasets.images import read_rgb
from ..datasets.registry import load_split
from ..datasets.synthetic import _sequence
from ..errors import ConfigError
from ..trackers.mixformerv2.config import MEAN, STD
from ..trackers.mixformerv2.preprocessing import sample_target
from .recipe import DataConfig

log = logging.getLogger(__name__)

# Split index of the synthetic LaSOT layout's TRAIN split (datasets/synthetic.py _write_lasot:
# test = 0, train = 1). The test split is never generated for training.
SYNTHETIC_TRAIN_SPLIT = 1


@dataclass
class SeqData:
    """One sequence in memory: RGB frames, GT boxes (x, y, w, h), visible share per frame."""

    name: str
    frames: list[np.ndarray]
    gt: np.ndarray
    visible: np.ndarray


@dataclass
class PairSet:
    """Precomputed pairs: uint8 crops (N, 3, S, S) and boxes (N, 4) x1y1x2y2 in [0, 1] of the
    search crop; ``present`` is 0 for negative pairs (target not in the search crop)."""

    template: torch.Tensor
    online: torch.Tensor
    search: torch.Tensor
    boxes: torch.Tensor
    present: torch.Tensor

    def __len__(self) -> int:
        return int(self.boxes.shape[0])

    def take(self, index: torch.Tensor) -> "PairSet":
        return PairSet(self.template[index], self.online[index], self.search[index],
                       self.boxes[index], self.present[index])

    def to(self, device: torch.device | str) -> "PairSet":
        """The same pairs on ``device`` (a training batch going to the GPU)."""
        return PairSet(*(t.to(device, non_blocking=True) for t in
                         (self.template, self.online, self.search, self.boxes, self.present)))

    def nbytes(self) -> int:
        return sum(t.numel() * t.element_size() for t in
                   (self.template, self.online, self.search, self.boxes, self.present))


def synthetic_sequences(cfg: DataConfig, start: int, count: int) -> Iterator[SeqData]:
    """Sequences ``start .. start+count-1`` of the synthetic LaSOT train split (in memory)."""
    for i in range(start, start + count):
        track, frames = _sequence(cfg.seed, SYNTHETIC_TRAIN_SPLIT, i, tuple(cfg.frames),
                                  tuple(cfg.image_size))
        rgb = [np.ascontiguousarray(f[:, :, ::-1]) for f in frames]  # generator draws BGR
        yield SeqData(f"synthetic-train-{i}", rgb, track.gt(), track.visible_ratio())


class _LazyFrames:
    """Frames of a sequence on disk, read when a crop needs them (long videos stay on disk)."""

    def __init__(self, paths: list) -> None:
        self.paths = paths

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, i: int) -> np.ndarray:
        return read_rgb(self.paths[i])


def dataset_sequences(cfg: DataConfig, start: int, count: int, workspace=None) -> Iterator[SeqData]:
    """Sequences ``start .. start+count-1`` of a loader's split (frames read from disk)."""
    split = load_split(cfg.dataset, cfg.split, root=cfg.root or None, workspace=workspace,
                       allow_partial=True)
    seqs = [s for s in split.sequences if s.has_full_gt]
    if len(seqs) < start + count:
        raise ConfigError(f"[data] {cfg.dataset}-{cfg.split} has {len(seqs)} sequences with full "
                          f"GT; the recipe asks for {start + count} (sequences + val_sequences)")
    for seq in seqs[start:start + count]:
        frames = _LazyFrames(list(seq.frames))
        gt = np.asarray(seq.gt, dtype=np.float64)
        ok = (gt[:, 2] > 0) & (gt[:, 3] > 0)
        vis = ok.astype(np.float64)
        if seq.visible is not None:
            vis = vis * np.asarray(seq.visible, dtype=np.float64)
        yield SeqData(seq.name, frames, gt, vis)


def _crop_box(box: np.ndarray, crop_origin: tuple[int, int], resize: float, size: int) -> np.ndarray:
    """GT (x, y, w, h) frame pixels -> (x1, y1, x2, y2) in the crop, normalised, clipped to [0, 1]."""
    x1 = (box[0] - crop_origin[0]) * resize / size
    y1 = (box[1] - crop_origin[1]) * resize / size
    x2 = x1 + box[2] * resize / size
    y2 = y1 + box[3] * resize / size
    return np.clip(np.array([x1, y1, x2, y2]), 0.0, 1.0)


def _jittered(box: np.ndarray, rng: np.random.Generator, center: float, scale: float) -> np.ndarray:
    """Official-style jitter: size * exp(N(0,1) * scale), centre moved by up to
    +-center/2 * sqrt(jittered area)."""
    wh = box[2:4] * np.exp(rng.standard_normal(2) * scale)
    wh = np.maximum(wh, 2.0)
    max_offset = math.sqrt(float(wh[0] * wh[1])) * center
    c = box[:2] + 0.5 * box[2:4] + max_offset * (rng.random(2) - 0.5)
    return np.array([c[0] - wh[0] / 2, c[1] - wh[1] / 2, wh[0], wh[1]])


def _to_chw(img: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(img.transpose(2, 0, 1))


def _quota(n: int, k: int) -> list[int]:
    """``n`` pairs spread over ``k`` sequences as evenly as possible."""
    return [n // k + (1 if i < n % k else 0) for i in range(k)]


def _held_box(seq: SeqData, t: int) -> np.ndarray | None:
    """The box a tracker should hold at frame ``t``: its annotation when that has an area
    (e.g. behind an occluder), else the last annotated box before ``t`` (out of view)."""
    for k in range(t, -1, -1):
        if seq.gt[k, 2] > 0 and seq.gt[k, 3] > 0 and np.isfinite(seq.gt[k]).all():
            return seq.gt[k]
    return None


def make_pairs(seqs: Iterable[SeqData], n: int, n_seqs: int, cfg: DataConfig, template_size: int,
               search_size: int, seed: int, negative_fraction: float = 0.0,
               hidden_fraction: float = 0.0) -> PairSet:
    """``n`` pairs spread evenly over the ``n_seqs`` sequences of ``seqs`` (deterministic in
    ``seed``), one sequence in memory at a time. Negative pairs (a share ``negative_fraction``)
    take the search crop from the previous sequence's frames (no target in it). Hidden pairs
    (a share ``hidden_fraction``, in sequences that have such frames) take the search frame
    where the target is partly or fully hidden, the box target being ``_held_box``."""
    rng = np.random.default_rng([seed, 4242])
    hrng = np.random.default_rng([seed, 4243])  # its own stream: hidden_fraction 0 changes nothing
    T, S = template_size, search_size
    tmpl = np.empty((n, 3, T, T), np.uint8)
    onl = np.empty((n, 3, T, T), np.uint8)
    srch = np.empty((n, 3, S, S), np.uint8)
    boxes = np.zeros((n, 4), np.float32)
    present = np.ones(n, np.float32)
    k = 0
    prev: SeqData | None = None
    quotas = _quota(n, n_seqs)
    for quota, seq in zip(quotas, seqs):
        good_t = np.flatnonzero(seq.visible >= 0.9)
        good_s = np.flatnonzero(seq.visible >= cfg.min_visible)
        if not len(good_t) or not len(good_s):
            good_t = good_s = np.flatnonzero(seq.visible > 0)
        if not len(good_t):
            log.warning("sequence %s: no visible target frame, skipped", seq.name)
            continue
        hard = np.flatnonzero(seq.visible < 0.9) if hidden_fraction > 0 else np.empty(0, np.int64)
        for _ in range(quota):
            t0 = int(good_t[rng.integers(len(good_t))])
            near_t = good_t[np.abs(good_t - t0) <= cfg.max_gap]
            near_s = good_s[np.abs(good_s - t0) <= cfg.max_gap]
            t1 = int(near_t[rng.integers(len(near_t))])
            t2 = int(near_s[rng.integers(len(near_s))]) if len(near_s) else t0
            held = None
            if len(hard) and hrng.random() < hidden_fraction:
                th = int(hard[hrng.integers(len(hard))])
                held = _held_box(seq, th)
                if held is not None:
                    t2 = th
            for dst, t in ((tmpl, t0), (onl, t1)):
                dst[k] = _to_chw(sample_target(seq.frames[t], seq.gt[t], cfg.template_factor, T).image)
            if prev is not None and negative_fraction > 0 and rng.random() < negative_fraction:
                # another sequence's frame cut around this target's box: same scale, no target
                other = prev.frames[int(rng.integers(len(prev.frames)))]
                crop = sample_target(other, _jittered(seq.gt[t0], rng, 4.0, 0.3), cfg.search_factor, S)
                srch[k] = _to_chw(crop.image)
                present[k] = 0.0
            else:
                target = seq.gt[t2] if held is None else held
                jb = _jittered(target, rng, cfg.center_jitter, cfg.scale_jitter)
                crop = sample_target(seq.frames[t2], jb, cfg.search_factor, S)
                srch[k] = _to_chw(crop.image)
                boxes[k] = _crop_box(target, crop.origin, crop.resize_factor, S)
                if boxes[k, 2] - boxes[k, 0] <= 0 or boxes[k, 3] - boxes[k, 1] <= 0:
                    present[k] = 0.0
            k += 1
        prev = seq
    if k == 0:
        raise ConfigError("[data] no sequence has a visible target frame")
    return PairSet(torch.from_numpy(tmpl[:k]), torch.from_numpy(onl[:k]), torch.from_numpy(srch[:k]),
                   torch.from_numpy(boxes[:k]), torch.from_numpy(present[:k]))


def build_pairs(cfg: DataConfig, template_size: int, search_size: int, seed: int,
                negative_fraction: float = 0.0, workspace=None,
                hidden_fraction: float = 0.0) -> tuple[PairSet, PairSet]:
    """Training and validation pairs (validation from sequences disjoint from training's)."""
    if cfg.source == "synthetic":
        def source(a: int, b: int) -> Iterator[SeqData]:
            return synthetic_sequences(cfg, a, b)
    else:
        def source(a: int, b: int) -> Iterator[SeqData]:
            return dataset_sequences(cfg, a, b, workspace=workspace)
    train = make_pairs(source(0, cfg.sequences), cfg.pairs, cfg.sequences, cfg, template_size,
                       search_size, seed, negative_fraction, hidden_fraction)
    val = make_pairs(source(cfg.sequences, cfg.val_sequences), cfg.val_pairs, cfg.val_sequences,
                     cfg, template_size, search_size, seed + 7919, negative_fraction, hidden_fraction)
    log.info("pairs: %d train (%d sequences), %d val (%d sequences), %.0f MB",
             len(train), cfg.sequences, len(val), cfg.val_sequences,
             (train.nbytes() + val.nbytes()) / 1e6)
    return train, val


class Normalize:
    """uint8 (B, 3, H, W) -> float32 normalised with the ImageNet statistics of the tracker."""

    def __init__(self, device: torch.device | str = "cpu") -> None:
        self.mean = (torch.tensor(MEAN, dtype=torch.float32).view(1, 3, 1, 1) * 255.0).to(device)
        self.std = (torch.tensor(STD, dtype=torch.float32).view(1, 3, 1, 1) * 255.0).to(device)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return (x.float() - self.mean) / self.std


def batch_indices(n: int, batch: int, step: int, seed: int) -> torch.Tensor:
    """Indices of the batch at ``step``: epochs are seeded permutations, so a resumed run sees
    exactly the batches an uninterrupted one would."""
    start = step * batch
    out = []
    while len(out) < batch:
        epoch, pos = divmod(start + len(out), n)
        perm = torch.randperm(n, generator=torch.Generator().manual_seed(seed * 100003 + epoch))
        take = min(batch - len(out), n - pos)
        out.extend(perm[pos:pos + take].tolist())
    return torch.tensor(out, dtype=torch.long)


def flip_batch(b: PairSet, step: int, seed: int) -> PairSet:
    """Horizontal flip of a random half of the batch (all three crops and the box)."""
    g = torch.Generator().manual_seed(seed * 7 + step)
    mask = torch.rand(len(b), generator=g) < 0.5
    if not mask.any():
        return b
    t, o, s, bx = b.template.clone(), b.online.clone(), b.search.clone(), b.boxes.clone()
    t[mask] = t[mask].flip(-1)
    o[mask] = o[mask].flip(-1)
    s[mask] = s[mask].flip(-1)
    x1 = 1.0 - bx[mask, 2]
    x2 = 1.0 - bx[mask, 0]
    bx[mask, 0], bx[mask, 2] = x1, x2
    return PairSet(t, o, s, bx, b.present)
