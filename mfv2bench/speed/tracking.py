"""End-to-end tracking speed of any ``Tracker`` over real frames: what a user waits for per frame
(crop + forward + post-processing inside ``track``), frame 0 (initialisation) excluded, image
decoding timed separately, aggregated as frames / total time."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

import numpy as np

from ..datasets.base import Sequence
from ..datasets.images import read_rgb
from ..devices import synchronize
from ..errors import ConfigError, Mfv2benchError
from ..trackers.base import Tracker
from .timing import LatencyStats, summarize_ms

ImageReader = Callable[[Path], np.ndarray]

MEASURE_TRACKING = "end-to-end tracking speed (real frames; crop + forward + post-processing; " \
    "frame 0 excluded; decode timed separately)"


@dataclass
class SequenceSpeed:
    """One sequence's timed frames."""

    name: str
    frames: int
    track_s: float
    decode_s: float
    init_s: float

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "frames": self.frames, "track_s": self.track_s,
                "decode_s": self.decode_s, "init_s": self.init_s,
                "fps": self.frames / self.track_s if self.track_s > 0 else None}


@dataclass
class TrackingSpeed:
    """End-to-end speed: ``fps`` = tracked frames / total ``track`` time (frame 0 excluded)."""

    frames: int
    sequences: int
    track_s: float
    decode_s: float
    fps: float
    decode_fps: float
    fps_with_decode: float
    per_frame: LatencyStats
    warmup_frames: int
    per_sequence: list[SequenceSpeed] = field(default_factory=list)
    measure: str = MEASURE_TRACKING

    def to_dict(self) -> dict[str, Any]:
        return {
            "measure": self.measure,
            "frames": self.frames,
            "sequences": self.sequences,
            "track_s": self.track_s,
            "decode_s": self.decode_s,
            "fps": self.fps,
            "decode_fps": self.decode_fps,
            "fps_with_decode": self.fps_with_decode,
            "per_frame_ms": self.per_frame.to_dict(),
            "warmup_frames": self.warmup_frames,
            "per_sequence": [s.to_dict() for s in self.per_sequence],
        }


def default_reader() -> ImageReader:
    """The data sets' own RGB reader (same decoding as evaluation runs)."""
    return read_rgb


def _timed_read(reader: ImageReader, path: Path) -> tuple[np.ndarray, float]:
    t0 = time.perf_counter_ns()
    image = reader(path)
    return image, (time.perf_counter_ns() - t0) / 1e9


def _warm_up(tracker: Tracker, seq: Sequence, frames: int, reader: ImageReader,
             device: str) -> int:
    """Untimed first frames (lazy allocations, compilation, caches); returns frames tracked."""
    n = min(frames, seq.n_frames - 1)
    if n <= 0:
        return 0
    tracker.initialize(reader(seq.frames[0]), np.asarray(seq.init_box, dtype=np.float64))
    for i in range(1, n + 1):
        tracker.track(reader(seq.frames[i]))
    synchronize(device)
    return n


def measure_tracking_speed(tracker: Tracker, sequences: Iterable[Sequence], *,
                           max_frames: int | None = None, warmup_frames: int = 5,
                           reader: ImageReader | None = None,
                           device: str = "cpu") -> TrackingSpeed:
    """Track every sequence from its ground-truth first box and time each ``track`` call.

    ``max_frames`` caps the frames read per sequence (frame 0 included). Before timing, the
    tracker tracks ``warmup_frames`` frames of the first sequence untimed and is then
    re-initialised, so one-off costs (allocation, compilation) are not counted as speed.
    """
    seqs = list(sequences)
    if not seqs:
        raise ConfigError("no sequences to time end-to-end speed on")
    try:
        return _measure(tracker, seqs, max_frames, warmup_frames, reader, device)
    except Mfv2benchError:
        raise
    except Exception as exc:  # noqa: BLE001 - the tracker (maybe the user's code) raised
        message = " ".join(str(exc).split()) or "(no message)"
        raise TrackerRaisedError(f"tracker {getattr(tracker, 'name', type(tracker).__name__)!r} "
                                 f"raised {type(exc).__name__} while timed end to end: "
                                 f"{message}") from exc


class TrackerRaisedError(Mfv2benchError):
    """The timed tracker raised: one line naming it and its exception, not a traceback."""


def _measure(tracker: Tracker, seqs: list, max_frames: int | None, warmup_frames: int,
             reader: ImageReader | None, device: str) -> TrackingSpeed:
    read = reader or default_reader()
    warm = _warm_up(tracker, seqs[0], warmup_frames, read, device) if warmup_frames > 0 else 0
    samples: list[float] = []
    per_seq: list[SequenceSpeed] = []
    for seq in seqs:
        paths = seq.frames if max_frames is None else seq.frames[:max(1, max_frames)]
        if len(paths) < 2:
            continue
        image, _ = _timed_read(read, paths[0])
        t0 = time.perf_counter_ns()
        tracker.initialize(image, np.asarray(seq.init_box, dtype=np.float64))
        synchronize(device)
        init_s = (time.perf_counter_ns() - t0) / 1e9
        track_s = decode_s = 0.0
        for path in paths[1:]:
            image, dt_read = _timed_read(read, path)
            decode_s += dt_read
            t0 = time.perf_counter_ns()
            tracker.track(image)
            synchronize(device)
            dt = (time.perf_counter_ns() - t0) / 1e9
            track_s += dt
            samples.append(dt * 1e3)
        per_seq.append(SequenceSpeed(seq.name, len(paths) - 1, track_s, decode_s, init_s))
    if not samples:
        raise ConfigError("sequences too short to time: each needs at least 2 frames")
    frames = len(samples)
    track_total = sum(s.track_s for s in per_seq)
    decode_total = sum(s.decode_s for s in per_seq)
    return TrackingSpeed(
        frames=frames,
        sequences=len(per_seq),
        track_s=track_total,
        decode_s=decode_total,
        fps=frames / track_total if track_total > 0 else float("inf"),
        decode_fps=frames / decode_total if decode_total > 0 else float("inf"),
        fps_with_decode=frames / (track_total + decode_total),
        per_frame=summarize_ms(samples),
        warmup_frames=warm,
        per_sequence=per_seq,
    )
