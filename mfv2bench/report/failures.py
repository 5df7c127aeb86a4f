"""Where trackers fail: per-frame IoU of every tracker on every sequence, the frames worth
looking at (lowest IoU, first loss after a stretch of success, recovery after a loss) and the
IoU-over-time strips of the report's failure section (inline SVG, absent frames shaded).

The per-frame IoU is the protocol's own (``metrics.engine.frame_errors``: same IoU convention,
same sentinels), read from the raw results through ``results.readers``; frames the protocol does
not count (absent target, invalid GT) are NaN here and never selected. Thumbnails are drawn by
``report.gallery``.
"""

from __future__ import annotations

import html
import logging
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from markupsafe import Markup

from ..datasets.base import DatasetSplit, Sequence
from ..errors import Mfv2benchError
from ..metrics.engine import frame_errors
from ..metrics.protocols import MetricProtocol, get_protocol
from ..results.layout import run_folder, tracker_folder
from ..results.readers import read_results
from . import plots
from .gallery import SEQUENCE_BUDGET, THUMB_SIDE, AttentionImage, attention_images, draw_gallery

log = logging.getLogger(__name__)

SUCCESS_IOU = 0.5      # a frame is a success at IoU >= this (the SR0.5 / OP50 threshold)
SUCCESS_STRETCH = 10   # "lost" = first failure after at least this many successful frames
FAILURE_STRETCH = 5    # "recovered" = first success after at least this many failed frames
MAX_FRAMES = 6         # gallery frames per sequence (all trackers together)
STRIP_POINTS = 400     # an IoU strip has at most this many points (minimum per bucket)
# Page budget of the section, characters per sequence: the thumbnails (gallery.SEQUENCE_BUDGET),
# the strip (at most STRIP_POINTS points per tracker, at most STRIP_POINTS / 4 shaded runs of
# absent frames), and the markup around them (summary, captions).
STRIP_BYTES_PER_TRACKER = 6_000
STRIP_SHADING_BYTES = 12_000  # at most STRIP_POINTS / 4 shaded runs
MARKUP_BYTES_PER_SEQUENCE = 1_500

# reason keys, in the order they win a gallery place
REASONS = ("lowest", "lost", "recovered")
REASON_TEXT = {"lowest": "lowest IoU", "lost": "lost after success", "recovered": "recovered"}


@dataclass
class FrameEvent:
    """One tracker's reason to show a frame."""

    tracker: str
    reason: str  # one of REASONS
    iou: float

    @property
    def text(self) -> str:
        return f"{self.tracker}: {REASON_TEXT[self.reason]} (IoU {self.iou:.2f})"


@dataclass
class GalleryFrame:
    """A selected frame (0-based index) and why; ``uri`` is its JPEG thumbnail once drawn."""

    index: int
    events: list[FrameEvent]
    ious: dict[str, float]
    absent: bool = False
    uri: str = ""
    width: int = 0
    height: int = 0

    @property
    def caption(self) -> str:
        return f"frame {self.index + 1}: " + "; ".join(e.text for e in self.events)


@dataclass
class SequenceFailures:
    """One sequence: each tracker's per-frame IoU (NaN: not counted), the absent-frame mask,
    the selected gallery frames and the inline SVG strip."""

    name: str
    n_frames: int
    ious: dict[str, np.ndarray]
    absent: np.ndarray
    frames: list[GalleryFrame] = field(default_factory=list)
    strip: Markup = Markup("")
    gallery_bytes: int = 0  # characters of the embedded thumbnails (data URIs)
    note: str = ""

    def mean_iou(self, tracker: str) -> float:
        v = self.ious.get(tracker)
        if v is None or not np.isfinite(v).any():
            return math.nan
        return float(np.nanmean(v))

    @property
    def worst(self) -> float:
        """The lowest tracker mean IoU (sequences are listed worst first)."""
        values = [self.mean_iou(t) for t in self.ious]
        values = [v for v in values if math.isfinite(v)]
        return min(values) if values else math.inf


@dataclass
class FailureSection:
    """The report's failure section: trackers in report order with their colours, sequences
    worst first, and the size budget the thumbnails were held to."""

    trackers: list[str]
    colours: dict[str, str]
    sequences: list[SequenceFailures]
    budget_per_sequence: int
    thumb_side: int
    notes: list[str] = field(default_factory=list)

    @property
    def total_bytes(self) -> int:
        return sum(s.gallery_bytes for s in self.sequences)


def page_budget(n_sequences: int, trackers: list[str]) -> int:
    """The most characters the failure section may take in the page (its stated size budget):
    per sequence, the thumbnails' budget, the strip (line and name per tracker, shading), and
    the markup (summary, and captions naming each tracker on each frame)."""
    names = sum(len(html.escape(t)) + 40 for t in trackers)
    per_sequence = (SEQUENCE_BUDGET + MARKUP_BYTES_PER_SEQUENCE + STRIP_SHADING_BYTES
                    + STRIP_BYTES_PER_TRACKER * len(trackers) + names * (1 + 2 * MAX_FRAMES))
    return n_sequences * per_sequence


def tracker_colours(trackers: list[str]) -> dict[str, str]:
    """Each tracker's report colour: the one its curves have (``plots.style_for`` by position)."""
    return {t: plots.style_for(i)["color"] for i, t in enumerate(trackers)}


def absent_mask(seq: Sequence) -> np.ndarray:
    """Frames whose target is labelled absent / fully occluded / out of view, or whose GT box is
    not a box (NaN, zero size)."""
    n = len(seq.gt)
    gt = np.asarray(seq.gt, float).reshape(n, 4)
    bad = ~np.isfinite(gt).all(axis=1) | (gt[:, 2] <= 0) | (gt[:, 3] <= 0)
    if seq.visible is not None and len(seq.visible) == n:
        bad |= ~np.asarray(seq.visible, bool)
    return bad


def sequence_ious(seq: Sequence, boxes: np.ndarray, protocol: str | MetricProtocol) -> np.ndarray:
    """The protocol's per-frame IoU of one run, in [0, 1]; NaN where the protocol does not count
    the frame and at frame 0 (the initialisation)."""
    fe = frame_errors(seq.gt, np.asarray(boxes, float)[:len(seq.gt)], protocol, visible=seq.visible,
                      cover=seq.cover, image_size=seq.image_size)
    iou = np.asarray(fe.iou, float).copy()
    if len(iou) != len(seq.gt):  # protocols that drop frames: no per-frame alignment to show
        raise ValueError(f"{len(iou)} scored frames for {len(seq.gt)} GT rows")
    iou[iou < 0] = 0.0  # the failure sentinel
    if fe.missing is not None:
        iou[fe.missing] = 0.0  # frames a short result lacks, failed by the protocol's rule
    iou[~np.asarray(fe.counted, bool)] = np.nan
    if len(iou):
        iou[0] = np.nan
    return iou


def _first_after_run(ok: np.ndarray, valid: np.ndarray, want: bool, run: int) -> int | None:
    """First valid frame whose ``ok`` equals ``want`` right after ``run`` valid frames of the
    opposite (invalid frames are skipped, they neither break nor extend a run)."""
    count = 0
    for i in np.flatnonzero(valid):
        if ok[i] == want:
            if count >= run:
                return int(i)
            count = 0
        else:
            count += 1
    return None


def tracker_events(tracker: str, iou: np.ndarray, absent: np.ndarray) -> list[tuple[int, FrameEvent]]:
    """(frame, event) for one tracker: its lowest-IoU frame (when a failure), the first loss after
    ``SUCCESS_STRETCH`` successes and the first recovery after ``FAILURE_STRETCH`` failures."""
    valid = np.isfinite(iou) & ~absent
    if not valid.any():
        return []
    ok = iou >= SUCCESS_IOU
    out: list[tuple[int, FrameEvent]] = []
    masked = np.where(valid, iou, np.inf)
    low = int(np.argmin(masked))
    if masked[low] < SUCCESS_IOU:
        out.append((low, FrameEvent(tracker, "lowest", float(iou[low]))))
    lost = _first_after_run(ok, valid, False, SUCCESS_STRETCH)
    if lost is not None:
        out.append((lost, FrameEvent(tracker, "lost", float(iou[lost]))))
    back = _first_after_run(ok, valid, True, FAILURE_STRETCH)
    if back is not None:
        out.append((back, FrameEvent(tracker, "recovered", float(iou[back]))))
    return out


def select_frames(ious: dict[str, np.ndarray], absent: np.ndarray,
                  max_frames: int = MAX_FRAMES) -> list[GalleryFrame]:
    """The gallery frames of one sequence, at most ``max_frames``: every tracker's events merged
    by frame; when there are too many, lowest-IoU frames win over losses over recoveries (round
    robin over trackers within each), and the kept frames are shown in time order."""
    by_frame: dict[int, list[FrameEvent]] = {}
    ranked: list[tuple[int, int, int]] = []  # (reason rank, tracker position, frame)
    for pos, (t, iou) in enumerate(ious.items()):
        for frame, ev in tracker_events(t, iou, absent):
            by_frame.setdefault(frame, []).append(ev)
            ranked.append((REASONS.index(ev.reason), pos, frame))
    keep: list[int] = []
    for _, _, frame in sorted(ranked):
        if frame not in keep and len(keep) < max_frames:
            keep.append(frame)
    return [GalleryFrame(f, by_frame[f], {t: float(v[f]) for t, v in ious.items()},
                         absent=bool(absent[f])) for f in sorted(keep)]


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """[start, end) of each run of True."""
    if not mask.any():
        return []
    d = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(d == 1).tolist(), np.flatnonzero(d == -1).tolist()))


def _absent_runs(absent: np.ndarray, points: int = STRIP_POINTS // 2) -> list[tuple[int, int]]:
    """Runs of absent frames to shade, at most ``points // 2`` of them: on long sequences the
    frames are bucketed as the IoU line is (a bucket with an absent frame is shaded), so a
    flickering label cannot blow up the strip."""
    n = len(absent)
    if n <= points:
        return _runs(absent)
    edges = np.linspace(0, n, points + 1).astype(int)
    buckets = np.logical_or.reduceat(absent, edges[:-1])
    return [(int(edges[a]), int(edges[b])) for a, b in _runs(buckets)]


def _downsample(iou: np.ndarray, points: int) -> tuple[np.ndarray, np.ndarray]:
    """(x, y) with at most ``points`` points: the minimum of each bucket (failures stay visible);
    NaN buckets stay NaN (gaps in the line)."""
    n = len(iou)
    if n <= points:
        return np.arange(n, dtype=float), iou
    edges = np.linspace(0, n, points + 1).astype(int)
    ys = np.empty(points)
    for k in range(points):
        chunk = iou[edges[k]:edges[k + 1]]
        ys[k] = np.nanmin(chunk) if np.isfinite(chunk).any() else np.nan
    return (edges[:-1] + edges[1:] - 1) / 2.0, ys


def strip_svg(ious: dict[str, np.ndarray], absent: np.ndarray, colours: dict[str, str],
              marks: list[int] = (), width: int = 600, row: int = 22) -> Markup:
    """IoU over time, one row per tracker in its colour (0 at the bottom of its row, 1 at the
    top), absent frames shaded grey, the 0.5 line dotted, gallery frames marked; names escaped."""
    n = max(len(absent), 1)
    label_w = 0
    height = row * len(ious) + 12
    sx = (width - 1) / max(n - 1, 1)
    parts = [f'<svg class="iou-strip" xmlns="http://www.w3.org/2000/svg" width="{width}" '
             f'height="{height}" viewBox="0 0 {width} {height}" role="img">']
    for a, b in _absent_runs(np.asarray(absent, bool)):
        parts.append(f'<rect x="{label_w + a * sx:.1f}" y="0" width="{max((b - a) * sx, 1.0):.1f}" '
                     f'height="{row * len(ious)}" fill="#ccc"><title>absent: frames {a + 1}-{b}</title></rect>')
    for k, (t, iou) in enumerate(ious.items()):
        top = k * row + 1
        h = row - 3
        colour = colours.get(t, "#333")
        parts.append(f'<line x1="0" x2="{width}" y1="{top + h * 0.5:.1f}" y2="{top + h * 0.5:.1f}" '
                     'stroke="#999" stroke-width="0.5" stroke-dasharray="2,2"/>')
        xs, ys = _downsample(np.asarray(iou, float), STRIP_POINTS)
        seg: list[str] = []
        segments: list[list[str]] = []
        for x, y in zip(xs, ys):
            if not math.isfinite(y):
                if seg:
                    segments.append(seg)
                seg = []
                continue
            seg.append(f"{label_w + x * sx:.1f},{top + h * (1.0 - y):.1f}")
        if seg:
            segments.append(seg)
        for s in segments:
            if len(s) == 1:
                s = s + s
            parts.append(f'<polyline points="{" ".join(s)}" fill="none" stroke="{colour}" '
                         'stroke-width="1.2"/>')
        parts.append(f'<text x="3" y="{top + 9}" font-size="9" fill="{colour}">'
                     f'{html.escape(t)}</text>')
    base = row * len(ious)
    for f in marks:
        x = label_w + f * sx
        parts.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="0" y2="{base + 3}" stroke="#000" '
                     'stroke-width="0.6"/>')
        parts.append(f'<text x="{x:.1f}" y="{base + 11}" font-size="8" text-anchor="middle">{f + 1}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def tracker_boxes(split: DatasetSplit, trackers: list[str], results_dir: str | Path,
                  protocol: MetricProtocol) -> dict[str, dict[str, np.ndarray]]:
    """tracker -> sequence -> (N, 4) boxes of its first run, from the store (or any raw layout
    under ``<results>/<tracker>``, as the analysis reads them)."""
    lengths = {s.name: len(s.gt) for s in split.sequences}
    nan = "error" if protocol.pred_nan == "reject" else "keep"
    out: dict[str, dict[str, np.ndarray]] = {}
    for t in trackers:
        folder = run_folder(results_dir, t, split.key)
        if not folder.is_dir():
            folder = tracker_folder(results_dir, t)
        # short results as read: the protocol's length rule decides (sequence_ious)
        raw = read_results(folder, lengths, nan=nan, times=False, short="keep")
        out[t] = {name: r.boxes for name, r in raw.items()}
    return out


def analyze_failures(split: DatasetSplit, trackers: list[str], boxes: dict[str, dict[str, np.ndarray]],
                     protocol: str | MetricProtocol, max_frames: int = MAX_FRAMES
                     ) -> list[SequenceFailures]:
    """Per-frame IoUs, absent masks and gallery frames of every sequence with full GT (no
    images read). A tracker the protocol refuses on a sequence is left out of that sequence."""
    p = get_protocol(protocol) if isinstance(protocol, str) else protocol
    out = []
    for seq in split.sequences:
        if not seq.has_full_gt:
            continue
        absent = absent_mask(seq)
        ious: dict[str, np.ndarray] = {}
        notes = []
        for t in trackers:
            b = boxes.get(t, {}).get(seq.name)
            if b is None:
                continue
            try:
                ious[t] = sequence_ious(seq, b, p)
            except (Mfv2benchError, ValueError) as exc:
                notes.append(f"{t}: not scored per frame ({exc})")
        if not ious:
            continue
        sf = SequenceFailures(seq.name, len(seq.gt), ious, absent, note="; ".join(notes))
        sf.frames = select_frames(ious, absent, max_frames)
        out.append(sf)
    return out


def failure_section(split: DatasetSplit, trackers: list[str], results_dir: str | Path,
                    protocol: str | MetricProtocol, thumbnails: bool = True,
                    budget_per_sequence: int | None = None, max_frames: int = MAX_FRAMES,
                    boxes: dict[str, dict[str, np.ndarray]] | None = None) -> FailureSection:
    """The whole failure section: strips for every sequence, and (``thumbnails``) the gallery
    frames read from the data set, drawn and embedded within the per-sequence budget."""
    p = get_protocol(protocol) if isinstance(protocol, str) else protocol
    budget = SEQUENCE_BUDGET if budget_per_sequence is None else budget_per_sequence
    colours = tracker_colours(trackers)
    if boxes is None:
        boxes = tracker_boxes(split, trackers, results_dir, p)
    seqs = analyze_failures(split, trackers, boxes, p, max_frames)
    by_name = split.by_name()
    notes: list[str] = []
    unreadable = 0
    for sf in seqs:
        if thumbnails and sf.frames:
            try:
                draw_gallery(by_name[sf.name], sf, {t: boxes[t][sf.name] for t in sf.ious}, colours, budget)
            except Mfv2benchError as exc:
                unreadable += 1
                sf.note = (sf.note + "; " if sf.note else "") + f"frames not readable: {exc}"
        sf.strip = strip_svg(sf.ious, sf.absent, colours, [f.index for f in sf.frames])
    if unreadable:
        notes.append(f"frames of {unreadable} sequences could not be read: their galleries show no "
                     "thumbnails")
    seqs.sort(key=lambda s: (s.worst, s.name))
    return FailureSection(trackers=list(trackers), colours=colours, sequences=seqs,
                          budget_per_sequence=budget, thumb_side=THUMB_SIDE, notes=notes)


def frames_readable(split: DatasetSplit) -> bool:
    """Whether the split's frames are on disk (the first frame of the first sequence is a file):
    the default of ``report --failures``."""
    for seq in split.sequences:
        try:
            return Path(seq.frames[0]).is_file()
        except (IndexError, OSError):
            return False
    return False


def section_json(section: FailureSection) -> dict[str, Any]:
    """The selected frames and reasons per sequence as plain data (for tests and tools)."""
    return {s.name: [{"frame": f.index, "reasons": [e.text for e in f.events]} for f in s.frames]
            for s in section.sequences}


def optional_sections(split: DatasetSplit, trackers: list[str], results_dir: str | Path,
                      protocol: str | MetricProtocol, failures: bool | None = None,
                      attention: list[str | Path] | None = None
                      ) -> tuple[FailureSection | None, list[AttentionImage]]:
    """The report's optional sections: the failure analysis (``failures`` None: on when the
    split's frames are on disk; True without frames: strips only, and a note says why) and the
    attention figures of the given ``mfv2bench explain`` output folders."""
    section = None
    if failures is None or failures:
        readable = frames_readable(split)
        if failures or readable:
            section = failure_section(split, trackers, results_dir, protocol, thumbnails=readable)
            if not readable:
                section.notes.append("the data set's frames are not on disk: IoU strips only, no thumbnails")
    images = [img for folder in (attention or []) for img in attention_images(folder)]
    return section, images
