"""Results store: exact round trip, atomic writes, completeness, the lock; frame prefetching."""

from __future__ import annotations

import time

import numpy as np
import pytest

from mfv2bench.errors import ConfigError, InputError
from mfv2bench.datasets.base import Sequence
from mfv2bench.results.store import ResultsStore, StoreLock
from mfv2bench.runner.sequence import FramePrefetcher, run_sequence
from mfv2bench.trackers.base import TrackOutput


def test_write_sequence_round_trips_full_precision(tmp_path):
    store = ResultsStore(tmp_path)
    boxes = np.array([[1.0, 2.0, 3.0, 4.0], [0.1 + 0.2, 1e-17, 123456.789012345678, -0.5]])
    store.write_sequence("trk", "lasot-test", "seq-1", boxes, [0.5, 1 / 3], scores=[None, 0.9])
    back = np.loadtxt(store.boxes_path("trk", "lasot-test", "seq-1"), delimiter=",")
    assert np.array_equal(back, boxes)  # bit-exact
    times = np.loadtxt(store.times_path("trk", "lasot-test", "seq-1"))
    assert times[1] == 1 / 3
    scores = store.scores_path("trk", "lasot-test", "seq-1").read_text().split()
    assert scores[0] == "nan" and float(scores[1]) == 0.9
    folder = store.sequence_dir("trk", "lasot-test")
    assert not [p for p in folder.iterdir() if p.name.startswith(".tmp-")]
    assert store.is_complete("trk", "lasot-test", "seq-1", 2)
    assert not store.is_complete("trk", "lasot-test", "seq-1", 3)
    assert store.complete_sequences("trk", "lasot-test", {"seq-1": 2, "seq-2": 2}) == ["seq-1"]


def test_mismatched_lengths_and_bad_names_are_refused(tmp_path):
    store = ResultsStore(tmp_path)
    with pytest.raises(ValueError):
        store.write_sequence("trk", "k", "s", np.zeros((3, 4)), [0.1, 0.2])
    with pytest.raises(ConfigError):
        store.sequence_dir("../evil", "k")


def test_broken_manifest_names_the_file(tmp_path):
    store = ResultsStore(tmp_path)
    path = store.manifest_path("trk", "k")
    path.parent.mkdir(parents=True)
    path.write_text("{\n  broken")
    with pytest.raises(InputError, match="run.json:2"):
        store.read_manifest("trk", "k")


def test_lock_refuses_a_second_writer(tmp_path):
    with StoreLock(tmp_path):
        with pytest.raises(ConfigError, match="another eval is writing"):
            StoreLock(tmp_path).acquire()
    with StoreLock(tmp_path):  # released: usable again
        pass


def test_prefetcher_keeps_order_and_reraises_decode_errors():
    def reader(p):
        if p == "bad":
            raise OSError("cannot decode")
        return np.full((2, 2, 3), int(p), dtype=np.uint8)

    got = [int(f[0, 0, 0]) for f in FramePrefetcher([str(i) for i in range(20)], reader=reader)]
    assert got == list(range(20))
    with pytest.raises(OSError, match="cannot decode"):
        list(FramePrefetcher(["1", "bad", "2"], reader=reader))


def test_prefetcher_close_stops_the_thread_early():
    pf = FramePrefetcher([str(i) for i in range(1000)], depth=2,
                         reader=lambda p: np.zeros((1, 1, 3), np.uint8))
    next(iter(pf))
    pf.close()
    assert not pf._thread.is_alive()


class _Instant:
    name = "instant"

    def initialize(self, image, box):
        self.box = np.asarray(box, float)

    def track(self, image):
        return TrackOutput(box=self.box, score=None)


def test_tracker_time_excludes_decoding(tmp_path, monkeypatch):
    """Decoding happens in the prefetch thread; recorded times hold only the tracker's calls."""
    import cv2

    paths = []
    for i in range(6):
        p = tmp_path / f"{i:08d}.jpg"
        cv2.imwrite(str(p), np.zeros((16, 16, 3), np.uint8))
        paths.append(p)
    from mfv2bench.runner import sequence as seqmod

    def slow_read(p):
        time.sleep(0.05)
        return np.zeros((16, 16, 3), np.uint8)

    monkeypatch.setattr(seqmod, "read_rgb", slow_read)
    monkeypatch.setattr(FramePrefetcher.__init__, "__defaults__", (4, slow_read))
    seq = Sequence("s", "synthetic-lasot", "test", paths, np.array([[1.0, 2.0, 3.0, 4.0]]))
    res = run_sequence(_Instant(), seq)
    assert res.ok and res.boxes.shape == (6, 4)
    assert np.array_equal(res.boxes[0], [1, 2, 3, 4])
    assert res.times.sum() < 0.05 < res.wall  # six 50 ms decodes are not in the tracker time


def test_progress_writer_reports_frames_done(tmp_path):
    from mfv2bench.runner.worker import progress_writer

    path = tmp_path / "7"
    on_frame = progress_writer(str(path), every=0.0)
    for i in range(5):
        on_frame(i)
    assert path.read_text() == "5"
    throttled = progress_writer(str(tmp_path / "8"), every=60.0)
    throttled(0)
    assert not (tmp_path / "8").exists()  # nothing written before the interval
