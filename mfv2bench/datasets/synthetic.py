"""Synthetic sequences written in the real on-disk layouts (the embedded default data).

Each sequence shows one textured, saturated object over muted textured clutter. The object moves
smoothly between key positions, changes scale and aspect, and (depending on the sequence) passes
behind an opaque occluder bar (full occlusion) or leaves the image and comes back (out of view).
Ground truth is exact: the object is pasted at integer pixel boxes, and each frame's box is its
extent inside the image (``0,0,0,0`` when none of it is inside). Visibility files follow from the
same geometry. Everything is drawn from ``numpy.random.default_rng`` seeded by (seed, split,
index), so a tree is reproducible and a sequence does not depend on how many others are written.
"""

from __future__ import annotations

import json
import logging
import math
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from ..errors import ConfigError, InputError
from ..results.atomic import atomic_write
from ..results.boxtext import format_boxes
from .lasot import ROOT_LIST_FILES
from .splits import LASOT_ATTRIBUTES, official_list

FORMATS = ("lasot", "got10k", "trackingnet", "otb100", "uav123", "nfs", "tnl2k", "custom")
# The registry's default split of each layout: what ``load_split("synthetic-<fmt>")`` reads.
DEFAULT_SPLITS = {"lasot": ("test",), "got10k": ("val",), "trackingnet": ("test",),
                  "otb100": ("test",), "uav123": ("test",), "nfs": ("test",), "tnl2k": ("test",),
                  "custom": ("test",)}
_JPEG = [int(cv2.IMWRITE_JPEG_QUALITY), 90]
_GOT10K_PREFIX = {"train": "GOT-10k_Train_", "val": "GOT-10k_Val_", "test": "GOT-10k_Test_"}
log = logging.getLogger(__name__)
_YT_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


@dataclass
class Track:
    """Geometry of one synthetic sequence, per frame (integer pixels)."""

    size: tuple[int, int]            # (W, H)
    boxes: np.ndarray                # (N, 4) int: full object box, may extend beyond the image
    occluder: tuple[int, int, int, int] | None  # x, y, w, h of the opaque bar, or None

    @property
    def n(self) -> int:
        return len(self.boxes)

    def _areas(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Full area, area inside the image, area inside the image and not under the occluder."""
        W, H = self.size
        x, y, w, h = (self.boxes[:, k].astype(np.int64) for k in range(4))
        full = w * h
        ix0, iy0 = np.clip(x, 0, W), np.clip(y, 0, H)
        ix1, iy1 = np.clip(x + w, 0, W), np.clip(y + h, 0, H)
        inside = np.maximum(ix1 - ix0, 0) * np.maximum(iy1 - iy0, 0)
        hidden = np.zeros_like(inside)
        if self.occluder is not None:
            ox, oy, ow, oh = self.occluder
            hx = np.maximum(np.minimum(ix1, ox + ow) - np.maximum(ix0, ox), 0)
            hy = np.maximum(np.minimum(iy1, oy + oh) - np.maximum(iy0, oy), 0)
            hidden = hx * hy
        return full, inside, inside - hidden

    def gt(self) -> np.ndarray:
        """Exact annotation: the object's extent inside the image, zeros when it is all outside."""
        W, H = self.size
        x, y, w, h = (self.boxes[:, k] for k in range(4))
        x0, y0 = np.clip(x, 0, W), np.clip(y, 0, H)
        x1, y1 = np.clip(x + w, 0, W), np.clip(y + h, 0, H)
        out = np.stack([x0, y0, x1 - x0, y1 - y0], axis=1).astype(np.float64)
        out[(x1 <= x0) | (y1 <= y0)] = 0.0
        return out

    def out_of_view(self) -> np.ndarray:
        return self._areas()[1] == 0

    def full_occlusion(self) -> np.ndarray:
        _, inside, seen = self._areas()
        return (inside > 0) & (seen == 0)

    def partial_occlusion(self) -> np.ndarray:
        _, inside, seen = self._areas()
        return (seen > 0) & (seen < inside)

    def visible_ratio(self) -> np.ndarray:
        full, _, seen = self._areas()
        return seen / np.maximum(full, 1)

    def cut_by_image(self) -> np.ndarray:
        full, inside, _ = self._areas()
        return (inside > 0) & (inside < full)


def cover_level(ratio: np.ndarray) -> np.ndarray:
    """GOT-10k cover.label: 0 = 0 %, 1 = (0, 15 %], ..., 7 = (90, 100 %), 8 = 100 % visible."""
    level = np.ceil(np.asarray(ratio) / 0.15 - 1e-12).astype(np.int64)
    level = np.clip(level, 0, 7)
    level[np.asarray(ratio) >= 1.0] = 8
    level[np.asarray(ratio) <= 0.0] = 0
    return level


def _smooth(a: float, b: float, t: float) -> float:
    s = 0.5 - 0.5 * math.cos(math.pi * t)
    return a + (b - a) * s


def make_track(rng: np.random.Generator, n: int, size: tuple[int, int], event: str) -> Track:
    """Key positions/scales interpolated smoothly; ``event`` in {"occlusion", "out_of_view",
    "both", "none"} places one hidden stretch in the middle of the sequence."""
    W, H = size
    base_w = max(4, int(round(W * rng.uniform(0.13, 0.2))))
    base_h = max(4, int(round(H * rng.uniform(0.17, 0.27))))
    n_keys = max(2, min(7, n // 14 + 1))
    key_t = np.linspace(0, n - 1, n_keys)
    margin_x, margin_y = base_w, base_h

    def inside_point() -> tuple[float, float]:
        return (rng.uniform(margin_x * 0.8, max(margin_x * 0.8 + 1, W - margin_x * 0.8)),
                rng.uniform(margin_y * 0.8, max(margin_y * 0.8 + 1, H - margin_y * 0.8)))

    # A bounded random walk between keys: about 10 px/frame at most on 320 x 240, so a
    # correlation tracker can follow it; scale drifts by at most x1.25 per key.
    lo_x, hi_x = margin_x * 0.8, max(margin_x * 0.8 + 1, W - margin_x * 0.8)
    lo_y, hi_y = margin_y * 0.8, max(margin_y * 0.8 + 1, H - margin_y * 0.8)
    step_x, step_y = 0.3 * W, 0.3 * H
    cx = np.empty(n_keys)
    cy = np.empty(n_keys)
    cx[0], cy[0] = inside_point()
    scales = np.ones(n_keys)
    aspects = np.ones(n_keys)
    for k in range(1, n_keys):
        cx[k] = np.clip(cx[k - 1] + rng.uniform(-step_x, step_x), lo_x, hi_x)
        cy[k] = np.clip(cy[k - 1] + rng.uniform(-step_y, step_y), lo_y, hi_y)
        scales[k] = np.clip(scales[k - 1] * rng.uniform(0.8, 1.25), 0.6, 1.7)
        aspects[k] = np.clip(aspects[k - 1] * rng.uniform(0.92, 1.08), 0.8, 1.25)

    occluder = None
    hold: dict[int, int] = {}
    can_event = n >= 20 and n_keys >= 4
    if can_event and event in ("occlusion", "both"):
        k = n_keys // 2
        bar_w = int(math.ceil(base_w * 1.15)) + 4
        # Keep the bar clear of the first frame's box so the start is fully visible.
        a = cx[0] - base_w / 2 - 2
        b = cx[0] + base_w / 2 + 2
        spans = [(0.0, a - bar_w), (b, W - bar_w)]
        spans = [(lo, hi) for lo, hi in spans if hi - lo >= 1]
        if spans:
            lo, hi = spans[int(rng.integers(len(spans)))]
            ox = int(rng.uniform(lo, hi))
            occluder = (ox, 0, bar_w, H)
            cx[k] = ox + bar_w / 2.0
            scales[k] = min(scales[k], 1.0)
            aspects[k] = 1.0
            hold[k] = max(2, n // 12)
    if can_event and event in ("out_of_view", "both"):
        k = n_keys // 2 + (1 if event == "both" else 0)
        k = min(k, n_keys - 2)
        side = rng.integers(4)
        far = 1.5
        if side == 0:
            cx[k] = -far * base_w * scales[k]
        elif side == 1:
            cx[k] = W + far * base_w * scales[k]
        elif side == 2:
            cy[k] = -far * base_h * scales[k]
        else:
            cy[k] = H + far * base_h * scales[k]
        hold[k] = max(2, n // 12)

    # Stretch the timeline so that held keys stay put for a few frames.
    times: list[float] = []
    values: list[tuple[float, float, float, float]] = []
    for k in range(n_keys):
        times.append(float(key_t[k]))
        values.append((cx[k], cy[k], scales[k], aspects[k]))
        if k in hold and k < n_keys - 1:
            times.append(float(key_t[k]) + hold[k])
            values.append((cx[k], cy[k], scales[k], aspects[k]))
    times_arr = np.array(times)
    times_arr = np.maximum.accumulate(times_arr)

    boxes = np.empty((n, 4), dtype=np.int64)
    for t in range(n):
        j = int(np.searchsorted(times_arr, t, side="right") - 1)
        j = min(max(j, 0), len(times) - 1)
        if j == len(times) - 1 or times_arr[j + 1] <= times_arr[j]:
            v = values[j] if j == len(times) - 1 else values[j + 1]
        else:
            u = (t - times_arr[j]) / (times_arr[j + 1] - times_arr[j])
            a, b = values[j], values[j + 1]
            v = tuple(_smooth(a[i], b[i], u) for i in range(4))
        x_c, y_c, s, asp = v
        w = max(4, int(round(base_w * s * asp)))
        h = max(4, int(round(base_h * s / asp)))
        boxes[t] = (int(round(x_c - w / 2)), int(round(y_c - h / 2)), w, h)
    # The first frame shows the whole object (its key centre is inside; clamp rounding).
    x, y, w, h = boxes[0]
    boxes[0, 0] = min(max(x, 0), max(W - w, 0))
    boxes[0, 1] = min(max(y, 0), max(H - h, 0))
    return Track(size=size, boxes=boxes, occluder=occluder)


def _muted_background(rng: np.random.Generator, size: tuple[int, int]) -> np.ndarray:
    W, H = size
    low = rng.uniform(70, 170, (max(2, H // 24), max(2, W // 24), 1))
    tint = rng.uniform(0.85, 1.15, (1, 1, 3))
    img = cv2.resize(low * tint, (W, H), interpolation=cv2.INTER_CUBIC)
    img = img.reshape(H, W, -1)
    if img.shape[2] == 1:
        img = np.repeat(img, 3, axis=2)
    img = np.ascontiguousarray(img, dtype=np.float32)
    for _ in range(int(rng.integers(12, 24))):
        g = float(rng.uniform(50, 200))
        color = tuple(float(g * c) for c in rng.uniform(0.85, 1.15, 3))
        x0, y0 = int(rng.integers(0, W)), int(rng.integers(0, H))
        a, b = int(rng.integers(3, max(4, W // 6))), int(rng.integers(3, max(4, H // 6)))
        if rng.random() < 0.5:
            cv2.rectangle(img, (x0, y0), (x0 + a, y0 + b), color, -1)
        else:
            cv2.ellipse(img, (x0, y0), (a, b), float(rng.uniform(0, 180)), 0, 360, color, -1)
    for _ in range(int(rng.integers(4, 10))):
        g = float(rng.uniform(40, 210))
        p0 = (int(rng.integers(0, W)), int(rng.integers(0, H)))
        p1 = (int(rng.integers(0, W)), int(rng.integers(0, H)))
        cv2.line(img, p0, p1, (g, g, g), int(rng.integers(1, 3)))
    img += rng.normal(0, 6, img.shape).astype(np.float32)
    return np.clip(img, 0, 255).astype(np.uint8)


def _hsv_color(hue: float, sat: int = 255, val: int = 230) -> tuple[int, int, int]:
    px = np.array([[[int(hue) % 180, sat, val]]], dtype=np.uint8)
    b, g, r = cv2.cvtColor(px, cv2.COLOR_HSV2BGR)[0, 0]
    return int(b), int(g), int(r)


def _object_texture(rng: np.random.Generator, side: int = 64) -> np.ndarray:
    """A saturated, high-contrast pattern (checker + disc + stripe + dark rim): easy to tell from
    the muted clutter, so a correlation tracker can follow it."""
    h0 = float(rng.uniform(0, 180))
    c1, c2, c3 = _hsv_color(h0), _hsv_color(h0 + 60, 200, 250), _hsv_color(h0 + 110, 255, 150)
    tex = np.empty((side, side, 3), dtype=np.uint8)
    cell = int(rng.integers(6, 12))
    yy, xx = np.mgrid[0:side, 0:side]
    checker = ((yy // cell + xx // cell) % 2).astype(bool)
    tex[checker] = c1
    tex[~checker] = c2
    cv2.circle(tex, (side // 2, side // 2), side // 4, c3, -1)
    cv2.line(tex, (0, int(rng.integers(0, side))), (side - 1, int(rng.integers(0, side))),
             (255, 255, 255), 3)
    cv2.rectangle(tex, (0, 0), (side - 1, side - 1), (20, 20, 20), 3)
    return tex


def _occluder_patch(rng: np.random.Generator, w: int, h: int) -> np.ndarray:
    patch = np.empty((h, w, 3), dtype=np.uint8)
    g = rng.uniform(60, 120)
    stripes = (np.arange(h) // 6) % 2
    patch[:] = (g * (0.8 + 0.3 * stripes))[:, None, None].astype(np.uint8)
    patch += rng.integers(0, 12, patch.shape, dtype=np.uint8)
    return patch


def render_frames(rng: np.random.Generator, track: Track) -> list[np.ndarray]:
    """BGR frames of ``track`` (object pasted, then the occluder on top)."""
    W, H = track.size
    bg = _muted_background(rng, track.size)
    tex = _object_texture(rng)
    occ = None
    if track.occluder is not None:
        ox, oy, ow, oh = track.occluder
        occ = _occluder_patch(rng, ow, oh)
    frames = []
    for x, y, w, h in track.boxes:
        frame = bg.copy()
        x0, y0, x1, y1 = max(x, 0), max(y, 0), min(x + w, W), min(y + h, H)
        if x1 > x0 and y1 > y0:
            obj = cv2.resize(tex, (int(w), int(h)), interpolation=cv2.INTER_LINEAR)
            frame[y0:y1, x0:x1] = obj[y0 - y:y1 - y, x0 - x:x1 - x]
        if occ is not None:
            ox, oy, ow, oh = track.occluder
            frame[oy:oy + oh, ox:ox + ow] = occ[: H - oy, : W - ox]
        frames.append(frame)
    return frames


def _write_jpgs(folder: Path, frames: list[np.ndarray], names: list[str]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for frame, name in zip(frames, names):
        ok, buf = cv2.imencode(".jpg", frame, _JPEG)
        if not ok:  # pragma: no cover - OpenCV always encodes uint8 BGR
            raise RuntimeError("JPEG encoding failed")
        (folder / name).write_bytes(buf.tobytes())


def _n_frames_for(rng: np.random.Generator, n_frames: int | tuple[int, int]) -> int:
    if isinstance(n_frames, (tuple, list)):
        lo, hi = int(n_frames[0]), int(n_frames[1])
        if lo < 1 or hi < lo:
            raise ConfigError(f"n_frames range {n_frames} is not 1 <= lo <= hi")
        return int(rng.integers(lo, hi + 1))
    if int(n_frames) < 1:
        raise ConfigError(f"n_frames must be >= 1, got {n_frames}")
    return int(n_frames)


_EVENTS = ("occlusion", "out_of_view", "both", "none")


def _sequence(seed: int, split_index: int, index: int, n_frames,
              size) -> tuple[Track, list[np.ndarray]]:
    rng = np.random.default_rng([seed, split_index, index])
    n = _n_frames_for(rng, n_frames)
    track = make_track(rng, n, size, _EVENTS[index % len(_EVENTS)])
    return track, render_frames(rng, track)


def lasot_attributes(track: Track) -> dict[str, int]:
    """The 14 LaSOT attributes that follow from the geometry; the unsimulated ones are 0 and
    background clutter (BC) is always 1."""
    gt = track.gt()
    shown = ~track.out_of_view() & ~track.full_occlusion()
    area = gt[:, 2] * gt[:, 3]
    a0 = max(area[0], 1.0)
    aspect = gt[:, 2] / np.maximum(gt[:, 3], 1e-9)
    asp0 = aspect[0] if aspect[0] > 0 else 1.0
    centers = gt[:, :2] + gt[:, 2:] / 2
    motion = np.linalg.norm(np.diff(centers, axis=0), axis=1) if len(gt) > 1 else np.zeros(0)
    both = shown[1:] & shown[:-1]
    size_prev = np.sqrt(np.maximum(area[:-1], 1.0))
    flags = dict.fromkeys(LASOT_ATTRIBUTES, 0)
    flags["BC"] = 1
    flags["POC"] = int(track.partial_occlusion().any())
    flags["FOC"] = int(track.full_occlusion().any())
    flags["OV"] = int(track.out_of_view().any())
    ratio = area[shown] / a0
    flags["SV"] = int(((ratio < 0.5) | (ratio > 2.0)).any())
    asp_ratio = aspect[shown] / asp0
    flags["ARC"] = int(((asp_ratio < 0.5) | (asp_ratio > 2.0)).any())
    flags["FM"] = int((motion[both] > size_prev[both]).any()) if len(motion) else 0
    flags["LR"] = int((area[shown] < 1000).any())
    return flags


def _lasot_names(seed: int, splits: tuple[str, ...], n_sequences: int) -> dict[str, list[str]]:
    classes = sorted({n.split("-", 1)[0] for n in official_list("lasot_test.txt")})
    order = np.random.default_rng([seed, 9999]).permutation(len(classes))
    counters: dict[str, int] = {}
    out: dict[str, list[str]] = {}
    for split in splits:
        names = []
        for i in range(n_sequences):
            cls = classes[int(order[i % len(classes)])]
            counters[cls] = counters.get(cls, 0) + 1
            names.append(f"{cls}-{counters[cls]}")
        out[split] = names
    return out


def _youtube_like_name(rng: np.random.Generator, i: int) -> str:
    chars = "".join(_YT_CHARS[int(k)] for k in rng.integers(0, len(_YT_CHARS), 11))
    if i == 1:  # TrackingNet ids may start with '-': keep that quirk in every tree
        chars = "-" + chars[1:]
    return f"{chars}_{int(rng.integers(0, 4))}"


def write_synthetic(
    fmt: str,
    out: str | Path,
    n_sequences: int = 6,
    n_frames: int | tuple[int, int] = (60, 100),
    size: tuple[int, int] = (320, 240),
    seed: int = 0,
    splits: tuple[str, ...] | list[str] | None = None,
    force: bool = False,
) -> list[str]:
    """Write ``n_sequences`` per split in the real layout of ``fmt`` under ``out``; return names.

    ``splits`` defaults to the layout's default split (lasot: test, got10k: val, trackingnet:
    test), so the returned names are, in order, what ``load_split("synthetic-<fmt>")`` lists;
    with several splits, the names of each in turn. Test splits of GOT-10k and TrackingNet get
    first-frame-only GT, as the real ones. LaSOT roots get
    ``testing_set.txt`` and ``training_set.txt`` (possibly empty) and an ``attributes.csv``;
    LaSOT's ``val`` split (``validation_set.txt``, only when asked for) is a tuning split of its
    own generator stream, disjoint from test and from train (the stream training draws from).

    The tree is generated in a temporary sibling of ``out`` and then put in place, with a marker
    file (``MARKER``: parameters and what was written). A root holding that marker is rewritten
    whole (nothing of the previous generation is left). A non-empty folder without it is refused
    unless ``force``; one that looks like a real data set is refused always (``InputError``).
    """
    if fmt not in FORMATS:
        raise ConfigError(f"unknown synthetic format {fmt!r} (choose from {', '.join(FORMATS)})")
    if n_sequences < 1:
        raise ConfigError(f"n_sequences must be >= 1, got {n_sequences}")
    W, H = int(size[0]), int(size[1])
    if W < 32 or H < 32:
        raise ConfigError(f"image size {size} is too small (at least 32 x 32)")
    chosen = tuple(splits) if splits else DEFAULT_SPLITS[fmt]
    allowed = {"lasot": ("test", "train", "val"), "got10k": ("train", "val", "test"),
               "trackingnet": ("test",) + tuple(f"train_{k}" for k in range(12))}.get(
                   fmt, ("test",))
    for s in chosen:
        if s not in allowed:
            raise ConfigError(f"split {s!r} is not one of {', '.join(allowed)} for {fmt}")
    root = _target_root(out)
    old_entries = _check_target(root, force)
    writers = {"lasot": _write_lasot, "got10k": _write_got10k, "trackingnet": _write_trackingnet,
               "otb100": _write_otb, "uav123": _write_uav, "nfs": _write_nfs,
               "tnl2k": _write_tnl2k, "custom": _write_custom}
    params = {"format": fmt, "splits": list(chosen), "n_sequences": int(n_sequences),
              "n_frames": list(n_frames) if isinstance(n_frames, (tuple, list)) else int(n_frames),
              "size": [W, H], "seed": int(seed)}
    try:
        root.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{root.name}.mfv2bench-tmp-", dir=root.parent))
    except OSError as exc:
        raise InputError(f"cannot write a synthetic tree here: {exc.strerror or exc}",
                         root) from None
    try:
        names = writers[fmt](tmp, chosen, n_sequences, n_frames, (W, H), seed)
        entries = {e: _fingerprint(tmp / e) for e in sorted(os.listdir(tmp))}
        marker = {"written_by": "mfv2bench datasets synth", "marker_version": 1, **params,
                  "names": names, "entries": entries}
        _install(tmp, root, old_entries, marker)
    except OSError as exc:
        raise InputError(f"cannot write the synthetic tree: {exc.strerror or exc}",
                         exc.filename or root) from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    log.info("wrote %d synthetic %s sequences under %s", len(names), fmt, root)
    return names


# --------------------------------------------------------------------------- owning a root
# The generator owns a root only through this marker: what it wrote (top-level entries with
# their file counts) and with which parameters. A folder without it is someone else's.
MARKER = ".mfv2bench-synthetic.json"
# Files whose presence means a folder holds a tracking data set (ours carry the marker).
_LIST_FILES = ("testing_set.txt", "training_set.txt")


def _target_root(out: str | Path) -> Path:
    """The output root as an absolute path; a symlink loop or a file is refused."""
    path = Path(out).expanduser()
    try:
        root = path.resolve()
    except RuntimeError:
        raise InputError("output folder is a symbolic-link loop", path) from None
    if os.path.lexists(root) and not os.path.isdir(root):
        raise InputError("output path exists and is not a folder", path)
    return root


def read_marker(root: str | Path) -> dict[str, Any] | None:
    """The generator's marker at ``root`` (None when absent or unreadable: not ours)."""
    p = Path(root, MARKER)
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("entries"), dict):
        return None
    return data


def _fingerprint(path: Path) -> dict[str, int]:
    """File count and bytes under ``path`` (a top-level entry of a generated tree)."""
    if not path.is_dir() or path.is_symlink():
        return {"files": 1, "bytes": path.lstat().st_size}
    files = size = 0
    for folder, _dirs, names in os.walk(path):
        for n in names:
            files += 1
            size += os.lstat(os.path.join(folder, n)).st_size
    return {"files": files, "bytes": size}


def _dataset_evidence(root: Path, names: list[str]) -> str | None:
    """Why the entries ``names`` of ``root`` look like a real tracking data set, or None: a split
    list, a TrackingNet ``anno`` folder, UAV123's ``data_seq``/``anno``, an NfS ``<Seq>/30``
    folder, or a sequence folder holding ``groundtruth.txt`` (``groundtruth_rect*.txt`` for
    OTB) up to two levels down (LaSOT class/sequence, GOT-10k split/sequence). Stops at the
    first hit."""
    for name in names:
        p = root / name
        if name in _LIST_FILES or name == "OTB100.json":
            return f"split list {p}"
        if not p.is_dir():
            continue
        if (p / "groundtruth.txt").is_file() or any(p.glob("groundtruth_rect*.txt")):
            return f"sequence folder {p}"
        if name in ("data_seq", "anno") or (p / "30").is_dir():
            return f"data set folder {p}"  # UAV123 / pytracking NfS, NfS release
        if name in ("train", "val", "test") and (p / "list.txt").is_file():
            return f"split list {p / 'list.txt'}"
        if re.fullmatch(r"TEST|TRAIN_\d+", name) and (p / "anno").is_dir():
            return f"annotation folder {p / 'anno'}"
        try:
            with os.scandir(p) as it:
                for k, sub in enumerate(it):
                    if k >= 2000:
                        break
                    if sub.is_dir() and os.path.isfile(os.path.join(sub.path, "groundtruth.txt")):
                        return f"sequence folder {sub.path}"
        except OSError:
            return f"unreadable folder {p}"
    return None


def _check_target(root: Path, force: bool) -> dict[str, Any]:
    """Whether the generator may write at ``root``; returns the entries it wrote there before
    (empty for a new or empty folder, or a --force'd foreign one). Refuses, even with ``force``,
    a folder holding what looks like a real data set that the generator did not write."""
    if not root.exists():
        return {}
    try:
        present = sorted(os.listdir(root))
    except OSError as exc:
        raise InputError(f"cannot list output folder: {exc.strerror}", root) from None
    present = [n for n in present if n != MARKER]
    marker = read_marker(root)
    owned = dict(marker["entries"]) if marker is not None else {}
    foreign = [n for n in present if n not in owned]
    evidence = _dataset_evidence(root, foreign)
    if evidence is not None:
        raise InputError(
            f"refusing to write: the folder holds a data set that mfv2bench did not write "
            f"({evidence}); this is refused even with --force. Choose an empty folder, or "
            "delete this one yourself if it really is disposable", root)
    for name in present:
        if name in owned:
            before = owned[name]
            now = _fingerprint(root / name)
            if isinstance(before, dict) and now["files"] > int(before.get("files", 0)):
                raise InputError(
                    f"refusing to write: {root / name} holds {now['files']} files, more than "
                    f"the {before.get('files')} mfv2bench wrote there (files were added: they "
                    "may be real data); this is refused even with --force. Move them out or "
                    "delete the folder yourself", root)
    if marker is None and present and not force:
        raise InputError(
            f"refusing to write into a non-empty folder that mfv2bench did not write (no {MARKER}"
            f"; {len(present)} entries, e.g. {present[0]!r}). Pass --force to write into it "
            "(entries of the same names are replaced, others are kept), or choose an empty "
            "folder", root)
    return owned


def _write_marker(root: Path, marker: dict[str, Any]) -> None:
    atomic_write(root / MARKER, json.dumps(marker, indent=1, sort_keys=True) + "\n", mode=0o644)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif os.path.lexists(path):
        path.unlink()


def _install(tmp: Path, root: Path, old_entries: dict[str, Any], marker: dict[str, Any]) -> None:
    """Put the tree generated in ``tmp`` at ``root``. A new root is one rename. Into an existing
    one, entries the generator wrote before are removed (no stale frames or lists are left),
    same-named entries replaced, other entries kept; the marker first lists old and new entries,
    so an interrupted install leaves a root the next run still recognises as its own."""
    if not os.path.lexists(root):
        _write_marker(tmp, marker)
        os.rename(tmp, root)
        return
    new_entries = marker["entries"]
    both = {**old_entries, **new_entries}
    _write_marker(root, {**marker, "entries": both, "state": "installing"})
    for name in sorted(set(old_entries) | set(new_entries)):
        _remove(root / name)
        if name in new_entries:
            os.rename(tmp / name, root / name)
    _write_marker(root, marker)


def _write_lasot(root: Path, splits, n_sequences, n_frames, size, seed) -> list[str]:
    names_by_split = _lasot_names(seed, splits, n_sequences)
    written: list[str] = []
    attr_rows = []
    # split index = the generator stream: 0 test, 1 train (the stream training draws from),
    # 2 val (a tuning split: never trained on, never the test split)
    for split_index, split in enumerate(("test", "train", "val")):
        if split == "val" and split not in names_by_split:
            continue  # validation_set.txt only in trees that asked for it
        names = names_by_split.get(split, [])
        for i, name in enumerate(names):
            track, frames = _sequence(seed, split_index, i, n_frames, size)
            cls = name.split("-", 1)[0]
            seq_dir = root / cls / name
            _write_jpgs(seq_dir / "img", frames, [f"{t:08d}.jpg" for t in range(1, track.n + 1)])
            (seq_dir / "groundtruth.txt").write_text(format_boxes(track.gt(), 0))
            (seq_dir / "full_occlusion.txt").write_text(
                ",".join(str(int(v)) for v in track.full_occlusion()) + "\n")
            (seq_dir / "out_of_view.txt").write_text(
                ",".join(str(int(v)) for v in track.out_of_view()) + "\n")
            (seq_dir / "nlp.txt").write_text(f"textured {cls} moving over clutter\n")
            attrs = lasot_attributes(track)
            attr_rows.append(name + "," + ",".join(str(attrs[a]) for a in LASOT_ATTRIBUTES))
            written.append(name)
        (root / ROOT_LIST_FILES[split]).write_text("".join(n + "\n" for n in names))
    (root / "attributes.csv").write_text(
        "sequence," + ",".join(LASOT_ATTRIBUTES) + "\n" + "".join(r + "\n" for r in attr_rows))
    return written


def _write_got10k(root: Path, splits, n_sequences, n_frames, size, seed) -> list[str]:
    written: list[str] = []
    for split in splits:
        split_index = ("train", "val", "test").index(split)
        names = [f"{_GOT10K_PREFIX[split]}{i + 1:06d}" for i in range(n_sequences)]
        for i, name in enumerate(names):
            track, frames = _sequence(seed, 10 + split_index, i, n_frames, size)
            seq_dir = root / split / name
            _write_jpgs(seq_dir, frames, [f"{t:08d}.jpg" for t in range(1, track.n + 1)])
            gt = track.gt()
            if split == "test":
                (seq_dir / "groundtruth.txt").write_text(format_boxes(gt[:1], 4))
            else:
                (seq_dir / "groundtruth.txt").write_text(format_boxes(gt, 4))
                ratio = track.visible_ratio()
                absent = ratio <= 0
                for label, values in (("absence", absent.astype(int)),
                                      ("cover", cover_level(ratio)),
                                      ("cut_by_image", track.cut_by_image().astype(int))):
                    (seq_dir / f"{label}.label").write_text("".join(f"{v}\n" for v in values))
                (seq_dir / "meta_info.ini").write_text(
                    "[METAINFO]\n"
                    f"url: synthetic://seed{seed}/{split}/{i + 1}\n"
                    "begin: 00:00:00\n"
                    f"end: 00:00:{min(track.n // 10, 59):02d}\n"
                    "anno_fps: 10Hz\n"
                    "object_class: textured patch\n"
                    "motion_class: sliding\n"
                    "major_class: synthetic\n"
                    "root_class: object\n"
                    "motion_adverb: smoothly\n"
                    f"resolution: ({size[0]}, {size[1]})\n"
                )
            written.append(name)
        (root / split / "list.txt").write_text("".join(n + "\n" for n in names))
    return written


def _write_trackingnet(root: Path, splits, n_sequences, n_frames, size, seed) -> list[str]:
    written: list[str] = []
    for split in splits:
        chunk = "TEST" if split == "test" else f"TRAIN_{int(split[6:])}"
        split_index = 20 + (0 if split == "test" else 1 + int(split[6:]))
        name_rng = np.random.default_rng([seed, split_index, 7777])
        names: list[str] = []
        while len(names) < n_sequences:
            candidate = _youtube_like_name(name_rng, len(names))
            if candidate not in names:
                names.append(candidate)
        (root / chunk / "anno").mkdir(parents=True, exist_ok=True)
        # Written (and returned) in the order loaders list anno/*.txt; the content stays tied
        # to the generation index, so a name always gets the same sequence.
        for name, i in sorted((name, i) for i, name in enumerate(names)):
            track, frames = _sequence(seed, split_index, i, n_frames, size)
            _write_jpgs(root / chunk / "frames" / name, frames,
                        [f"{t}.jpg" for t in range(track.n)])
            gt = track.gt()
            (root / chunk / "anno" / f"{name}.txt").write_text(
                format_boxes(gt[:1] if split == "test" else gt, 2))
            written.append(name)
    return written


# ------------------------------------------------------ OPE benchmarks and the generic layout
# Each writes the real layout with the benchmark's quirks (frame ranges, shared folders, NaN
# rows, separators, frame-name digits) and a root table or list naming what it wrote, since the
# official tables name sequences the tree does not hold.


def _write_frames(folder: Path, frames: list[np.ndarray], names: list[str]) -> None:
    """Frames as JPEG or PNG by each name's extension."""
    folder.mkdir(parents=True, exist_ok=True)
    for frame, name in zip(frames, names):
        ext = os.path.splitext(name)[1]
        ok, buf = cv2.imencode(ext, frame, _JPEG if ext == ".jpg" else [])
        if not ok:  # pragma: no cover - OpenCV always encodes uint8 BGR
            raise RuntimeError(f"{ext} encoding failed")
        (folder / name).write_bytes(buf.tobytes())


def _boxes_text(gt: np.ndarray, sep: str) -> str:
    """Integer boxes joined by ``sep`` (NaN rows spelled NaN as UAV123 does)."""
    return format_boxes(gt, 0).replace(",", sep)


# OTB-100 quirks by sequence index: plain; first image numbered 5 (BlurCar1/3/4); two targets in
# one folder (Jogging); annotated range inside a longer folder (David, Freeman3); 5-digit names
# (Board); first frames omitted (Tiger1). Separators cycle comma, tab, whitespace.
_OTB_KINDS = ("two-targets", "late-start", "range", "digits5", "omit", "plain")
_OTB_HEADER = "name,folder,img_dir,start,end,digits,ext,anno,init_omit,object_class,aliases\n"


def _write_otb(root: Path, splits, n_sequences, n_frames, size, seed) -> list[str]:
    rows: list[str] = []
    written: list[str] = []
    i = 0
    while len(written) < n_sequences:
        kind = _OTB_KINDS[i % len(_OTB_KINDS)]
        if kind == "two-targets" and n_sequences - len(written) < 2:
            kind = "plain"
        track, frames = _sequence(seed, 30, i, n_frames, size)
        folder = f"Synth{i + 1}"
        sep = (",", "\t", " ")[i % 3]
        gt = track.gt()
        n = track.n
        digits, start, omit, extra = 4, 1, 0, 0
        if kind == "late-start":
            start = 5  # the image folder starts at 0005, as BlurCar1's starts at 0247
        elif kind == "range" and n >= 4:
            start, extra = 2, 2  # images 1 and the last two are not annotated (David, Diving)
        elif kind == "digits5":
            digits = 5
        elif kind == "omit" and n >= 3:
            omit = 2
        end = start + n - 1
        numbers = list(range(1 if kind == "range" else start, end + extra + 1))
        imgs = [frames[min(max(k - start, 0), n - 1)] for k in numbers]
        _write_frames(root / folder / "img", imgs, [f"{k:0{digits}d}.jpg" for k in numbers])
        if kind == "two-targets":
            for t in (1, 2):
                (root / folder / f"groundtruth_rect.{t}.txt").write_text(_boxes_text(gt, sep))
                name = f"{folder}_{t}"
                rows.append(f"{name},{folder},img,{start},{end},{digits},jpg,"
                            f"groundtruth_rect.{t}.txt,0,object,{folder}-{t}")
                written.append(name)
        else:
            (root / folder / "groundtruth_rect.txt").write_text(_boxes_text(gt, sep))
            rows.append(f"{folder},{folder},img,{start},{end},{digits},jpg,groundtruth_rect.txt,"
                        f"{omit},object,")
            written.append(folder)
        i += 1
    (root / "sequences.csv").write_text(_OTB_HEADER + "".join(r + "\n" for r in rows))
    return written


def _write_uav(root: Path, splits, n_sequences, n_frames, size, seed) -> list[str]:
    """``data_seq/UAV123/<folder>/%06d.jpg`` and ``anno/UAV123/<name>.txt``; every other folder
    is cut into two sub-sequences (``<folder>_1``, ``<folder>_2``) at a visible frame; boxes of
    frames where the object is out of view are written NaN."""
    rows: list[str] = []
    written: list[str] = []
    i = 0
    (root / "anno" / "UAV123").mkdir(parents=True, exist_ok=True)
    while len(written) < n_sequences:
        track, frames = _sequence(seed, 31, i, n_frames, size)
        folder = f"synth{i + 1}"
        _write_frames(root / "data_seq" / "UAV123" / folder, frames,
                      [f"{k:06d}.jpg" for k in range(1, track.n + 1)])
        gt = track.gt()
        gt[track.out_of_view()] = np.nan
        visible = ~np.isnan(gt).any(axis=1)
        cut = None
        if i % 2 == 1 and n_sequences - len(written) >= 2 and track.n >= 4:
            later = [k for k in range(max(2, track.n // 2), track.n) if visible[k]]
            cut = later[0] if later else None
        parts = [(f"{folder}_1", 0, cut), (f"{folder}_2", cut, track.n)] if cut else [
            (folder, 0, track.n)]
        for anno, a, b in parts:
            (root / "anno" / "UAV123" / f"{anno}.txt").write_text(
                format_boxes(gt[a:b], 0).replace("nan", "NaN"))
            rows.append(f"uav_{anno},{folder},{a + 1},{b},{anno},object")
            written.append(f"uav_{anno}")
        i += 1
    (root / "sequences.csv").write_text("name,folder,start,end,anno,object_class\n"
                                        + "".join(r + "\n" for r in rows))
    return written


def _write_nfs(root: Path, splits, n_sequences, n_frames, size, seed) -> list[str]:
    """The release layout ``<Seq>/30/<Seq>/%05d.jpg`` + ``<Seq>/30/<Seq>.txt`` (``id xmin ymin
    xmax ymax frame lost occluded generated "label"``); sequence 2 carries 240 fps annotation
    rows (8 per frame) and sequence 3 one image more than annotations, as some real ones do."""
    rows: list[str] = []
    written: list[str] = []
    for i in range(n_sequences):
        track, frames = _sequence(seed, 32, i, n_frames, size)
        folder = f"synth_{i + 1}"
        gt = track.gt()
        extra = [frames[-1]] if i % 4 == 3 else []
        _write_frames(root / folder / "30" / folder, frames + extra,
                      [f"{k:05d}.jpg" for k in range(1, track.n + 1 + len(extra))])
        repeat = 8 if i % 4 == 2 else 1
        lines = []
        for k, (x, y, w, h) in enumerate(gt):
            for r in range(repeat):
                f = k * repeat + r + 1
                lines.append(f'1 {int(x)} {int(y)} {int(x + w)} {int(y + h)} {f} 0 0 0 "object"\n')
        (root / folder / "30" / f"{folder}.txt").write_text("".join(lines))
        rows.append(f"nfs_{folder},{folder},{track.n},object,0")
        written.append(f"nfs_{folder}")
    (root / "sequences.csv").write_text("name,folder,end,object_class,occlusion\n"
                                        + "".join(r + "\n" for r in rows))
    return written


def _write_tnl2k(root: Path, splits, n_sequences, n_frames, size, seed) -> list[str]:
    """``<seq>/imgs/`` (png for even sequences, jpg for odd ones, as TNL2K mixes them),
    ``groundtruth.txt`` and ``language.txt``; the root's ``testing_set.txt`` lists them."""
    names: list[str] = []
    for i in range(n_sequences):
        track, frames = _sequence(seed, 33, i, n_frames, size)
        name = f"Synth_video_{i + 1:02d}-Done"
        ext = "png" if i % 2 == 0 else "jpg"
        _write_frames(root / name / "imgs", frames,
                      [f"{k:05d}.{ext}" for k in range(1, track.n + 1)])
        (root / name / "groundtruth.txt").write_text(format_boxes(track.gt(), 0))
        (root / name / "language.txt").write_text("the textured object moving over clutter\n")
        names.append(name)
    (root / "testing_set.txt").write_text("".join(n + "\n" for n in names))
    return names


def _write_custom(root: Path, splits, n_sequences, n_frames, size, seed) -> list[str]:
    """The generic layout: frames in ``img/`` (jpg) or directly in the sequence folder (png,
    numbers without padding), ``groundtruth.txt``, ``visible.txt`` for every other sequence;
    ``list.txt`` at the root."""
    names: list[str] = []
    for i in range(n_sequences):
        track, frames = _sequence(seed, 34, i, n_frames, size)
        name = f"clip{i + 1:02d}"
        if i % 2 == 0:
            _write_frames(root / name / "img", frames,
                          [f"{k:06d}.jpg" for k in range(1, track.n + 1)])
        else:
            _write_frames(root / name, frames, [f"{k}.png" for k in range(track.n)])
        (root / name / "groundtruth.txt").write_text(format_boxes(track.gt(), 0))
        if i % 2 == 0:
            visible = ~track.out_of_view() & ~track.full_occlusion()
            (root / name / "visible.txt").write_text("".join(f"{int(v)}\n" for v in visible))
        names.append(name)
    (root / "list.txt").write_text("".join(n + "\n" for n in names))
    return names


def ensure_synthetic(fmt: str, root: str | Path, **kwargs) -> bool:
    """Write the synthetic tree of ``fmt`` at ``root`` unless one is already there (its split
    list exists). Returns True when it wrote. ``kwargs`` go to ``write_synthetic``."""
    root = Path(root)
    listed = {"lasot": root / "testing_set.txt", "got10k": root / "val" / "list.txt",
              "trackingnet": root / "TEST" / "anno", "otb100": root / "sequences.csv",
              "uav123": root / "sequences.csv", "nfs": root / "sequences.csv",
              "tnl2k": root / "testing_set.txt", "custom": root / "list.txt"}.get(fmt)
    if listed is None:
        raise ConfigError(f"unknown synthetic format {fmt!r} (choose from {', '.join(FORMATS)})")
    if listed.exists():
        return False
    write_synthetic(fmt, root, **kwargs)
    return True
