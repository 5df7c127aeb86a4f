"""Drawing frames with boxes, and the small JPEG thumbnails of the report's failure gallery.

Boxes are (x, y, w, h) in frame pixels; colours are the report's hex colours (``plots``). The
ground truth is drawn white on black (so it shows on any frame and is never a tracker colour).
Thumbnails show the region around the ground truth and every tracker's box, scaled so their
longest side is ``THUMB_SIDE`` pixels, and are held to ``SEQUENCE_BUDGET`` characters of data
URI per sequence: quality, then size are lowered, then the least important frames dropped.
"""

from __future__ import annotations

import base64
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

import cv2
import numpy as np

from ..datasets.base import Sequence
from ..datasets.images import read_rgb
from ..errors import InputError

log = logging.getLogger(__name__)

THUMB_SIDE = 160          # longest side of a thumbnail, pixels
JPEG_QUALITY = 70         # first try; lowered to fit the budget
SEQUENCE_BUDGET = 16_000  # characters of embedded thumbnails (base64 data URIs) per sequence
_QUALITIES = (JPEG_QUALITY, 55, 40)
_SCALES = (1.0, 0.75)
GT_COLOUR = "#ffffff"


def hex_to_bgr(colour: str) -> tuple[int, int, int]:
    """'#rrggbb' -> (b, g, r) for OpenCV drawing."""
    c = colour.lstrip("#")
    r, g, b = int(c[0:2], 16), int(c[2:4], 16), int(c[4:6], 16)
    return b, g, r


def hex_to_rgb(colour: str) -> tuple[int, int, int]:
    b, g, r = hex_to_bgr(colour)
    return r, g, b


_FAR = 1e7  # px: a box beyond this is drawn clipped (and ignored when choosing the view)


def _valid(box: Any) -> bool:
    """A drawable box: 4 finite values, positive size, corners that stay finite (a tracker that
    diverged can emit 1e308-sized boxes, whose x + w overflows)."""
    b = np.asarray(box, float).reshape(-1)
    if b.size != 4 or not np.isfinite(b).all() or b[2] <= 0 or b[3] <= 0:
        return False
    with np.errstate(over="ignore"):
        return bool(np.isfinite(b[:2] + b[2:]).all())


def _near(box: Any) -> bool:
    """A valid box within ``_FAR`` pixels of the frame (usable to choose a thumbnail's view)."""
    return _valid(box) and bool((np.abs(np.asarray(box, float).reshape(4)) < _FAR).all())


def _px(v: float) -> int:
    return int(round(min(max(v, -_FAR), _FAR)))


def draw_box(image: np.ndarray, box: Any, colour: str, thickness: int = 1, scale: float = 1.0,
             offset: tuple[float, float] = (0.0, 0.0), outline: bool = False) -> None:
    """Draw one (x, y, w, h) box on an RGB image in place (``scale``/``offset`` map frame
    pixels to the image); ``outline`` adds a black border around the line (for the GT)."""
    if not _valid(box):
        return
    x, y, w, h = (float(v) for v in np.asarray(box, float).reshape(4))
    p1 = (_px((x - offset[0]) * scale), _px((y - offset[1]) * scale))
    p2 = (_px((x + w - offset[0]) * scale), _px((y + h - offset[1]) * scale))
    if outline:
        cv2.rectangle(image, p1, p2, (0, 0, 0), thickness + 2, lineType=cv2.LINE_8)
    cv2.rectangle(image, p1, p2, hex_to_rgb(colour), thickness, lineType=cv2.LINE_8)


def draw_frame(image: np.ndarray, gt: Any, boxes: Iterable[tuple[str, Any, str]],
               thickness: int = 2, legend: bool = True, label: str = "") -> np.ndarray:
    """A copy of the RGB frame with the GT (white, black outline) and each (name, box, colour)
    drawn, names in their colours at the top left, and ``label`` (e.g. the frame number)."""
    out = np.ascontiguousarray(image).copy()
    boxes = list(boxes)
    for _, box, colour in boxes:
        draw_box(out, box, colour, thickness)
    if gt is not None:
        draw_box(out, gt, GT_COLOUR, thickness, outline=True)
    if legend:
        font = max(0.35, min(out.shape[:2]) / 720.0 * 0.6)
        step = int(round(28 * font)) + 2
        y = step
        for name, _, colour in [("GT", None, GT_COLOUR), *boxes] + ([(label, None, "#ffff00")] if label else []):
            cv2.putText(out, str(name), (4, y), cv2.FONT_HERSHEY_SIMPLEX, font, (0, 0, 0),
                        max(2, int(round(4 * font))), cv2.LINE_AA)
            cv2.putText(out, str(name), (4, y), cv2.FONT_HERSHEY_SIMPLEX, font,
                        hex_to_rgb(colour), max(1, int(round(1.5 * font))), cv2.LINE_AA)
            y += step
    return out


def view_region(shape: tuple[int, ...], boxes: list[Any], pad: float = 0.3,
                min_side: float = 48.0) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1) of the frame shown in a thumbnail: the union of the valid boxes padded by
    ``pad`` of its size, at least ``min_side`` pixels, inside the frame (the whole frame when no
    box is valid)."""
    H, W = shape[:2]
    valid = [np.asarray(b, float).reshape(4) for b in boxes if _near(b)]
    if not valid:
        return 0, 0, W, H
    a = np.array(valid)
    x0, y0 = a[:, 0].min(), a[:, 1].min()
    x1, y1 = (a[:, 0] + a[:, 2]).max(), (a[:, 1] + a[:, 3]).max()
    w, h = max(x1 - x0, min_side), max(y1 - y0, min_side)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    w, h = w * (1 + 2 * pad), h * (1 + 2 * pad)
    X0, Y0 = int(max(0, np.floor(cx - w / 2))), int(max(0, np.floor(cy - h / 2)))
    X1, Y1 = int(min(W, np.ceil(cx + w / 2))), int(min(H, np.ceil(cy + h / 2)))
    if X1 - X0 < 2 or Y1 - Y0 < 2:  # boxes outside the frame
        return 0, 0, W, H
    return X0, Y0, X1, Y1


def thumbnail(image: np.ndarray, gt: Any, boxes: list[tuple[Any, str]], side: int = THUMB_SIDE
              ) -> np.ndarray:
    """The region around the GT and the trackers' boxes, longest side ``side`` pixels, boxes
    drawn 1 px in their colours (GT white with a black outline) after scaling (crisp lines)."""
    x0, y0, x1, y1 = view_region(image.shape, [gt] + [b for b, _ in boxes])
    region = image[y0:y1, x0:x1]
    s = side / max(region.shape[:2])
    size = (max(1, int(round(region.shape[1] * s))), max(1, int(round(region.shape[0] * s))))
    small = cv2.resize(region, size, interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR)
    small = np.ascontiguousarray(small)
    for box, colour in boxes:
        draw_box(small, box, colour, 1, scale=s, offset=(x0, y0))
    if gt is not None:
        draw_box(small, gt, GT_COLOUR, 1, scale=s, offset=(x0, y0), outline=True)
    return small


def jpeg_bytes(rgb: np.ndarray, quality: int = JPEG_QUALITY) -> bytes:
    """Baseline JPEG of an RGB image (no metadata)."""
    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR),
                           [int(cv2.IMWRITE_JPEG_QUALITY), int(quality)])
    if not ok:  # pragma: no cover - OpenCV always encodes a valid uint8 image
        raise ValueError("JPEG encoding failed")
    return buf.tobytes()


def data_uri(data: bytes, mime: str = "image/jpeg") -> str:
    return f"data:{mime};base64," + base64.b64encode(data).decode("ascii")


def _priority(frame: Any) -> int:
    order = ("lowest", "lost", "recovered")
    return min((order.index(e.reason) for e in frame.events if e.reason in order), default=len(order))


def draw_gallery(seq: Sequence, failures: Any, boxes: dict[str, np.ndarray], colours: dict[str, str],
                 budget: int = SEQUENCE_BUDGET, side: int = THUMB_SIDE) -> None:
    """Read each selected frame of ``failures`` (a ``failures.SequenceFailures``) once, draw its
    thumbnail and set ``uri``/``width``/``height``; lower quality, then size, then drop the least
    important frames until the data URIs fit ``budget`` characters. Sets ``gallery_bytes``."""
    frames = failures.frames
    images = {f.index: read_rgb(seq.frames[f.index]) for f in frames}
    gt = np.asarray(seq.gt, float)
    cache: dict[tuple[int, float], np.ndarray] = {}

    def encode(quality: int, scale: float) -> list[str]:
        uris = []
        for f in frames:
            key = (f.index, scale)
            if key not in cache:
                tb = [(boxes[t][f.index], colours[t]) for t in boxes if f.index < len(boxes[t])]
                cache[key] = thumbnail(images[f.index], gt[f.index], tb, max(16, int(side * scale)))
            uris.append(data_uri(jpeg_bytes(cache[key], quality)))
        return uris

    uris: list[str] = []
    used = _SCALES[0]
    for scale in _SCALES:
        for quality in _QUALITIES:
            uris, used = encode(quality, scale), scale
            if sum(map(len, uris)) <= budget:
                break
        else:
            continue
        break
    while frames and sum(map(len, uris)) > budget:  # still too big: drop the least important
        worst = max(range(len(frames)), key=lambda i: (_priority(frames[i]), i))
        log.debug("%s: frame %d dropped from the gallery (budget %d)", seq.name, frames[worst].index, budget)
        del frames[worst]
        del uris[worst]
    for f, uri in zip(frames, uris):
        img = cache[(f.index, used)]
        f.uri, f.height, f.width = uri, img.shape[0], img.shape[1]
    failures.gallery_bytes = sum(map(len, uris))


# ---------------------------------------------------------------------------------------------
# attention figures written by `mfv2bench explain` (PNG files and their index, explain.json)

EXPLAIN_INDEX = "explain.json"
ATTENTION_QUALITY = 80  # JPEG quality of the attention figures embedded in the page


@dataclass
class AttentionImage:
    """One explain figure embedded in the report: caption, PNG data URI, pixel size, and
    whether it is the headline (averaged) figure or a per-layer one."""

    caption: str
    uri: str
    width: int
    height: int
    group: str  # the run it belongs to (tracker, sequence, frame)
    main: bool = True


def attention_images(folder: str | Path) -> list[AttentionImage]:
    """The figures of an explain output folder, in its index's order (the averaged figure
    first); a folder without an index is an ``InputError``."""
    folder = Path(folder)
    index = folder / EXPLAIN_INDEX
    try:
        meta = json.loads(index.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"no {EXPLAIN_INDEX} here: not an output folder of `mfv2bench explain`",
                         folder) from None
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read the explain index: {exc}", index) from None
    group = f"{meta.get('tracker', '?')} on {meta.get('sequence', '?')} frame {meta.get('frame', '?')}"
    out = []
    for fig in meta.get("figures", []):
        path = folder / str(fig["file"])
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise InputError(f"cannot read the figure: {exc.strerror or exc}", path) from None
        img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
        if img is None:
            raise InputError("not a decodable image", path)
        rgb = cv2.cvtColor(img, cv2.COLOR_BGR2RGB)  # embedded as JPEG: a third of the PNG's size
        out.append(AttentionImage(caption=str(fig.get("caption", path.name)),
                                  uri=data_uri(jpeg_bytes(rgb, ATTENTION_QUALITY)),
                                  width=int(img.shape[1]), height=int(img.shape[0]), group=group,
                                  main=bool(fig.get("main", False))))
    return out
