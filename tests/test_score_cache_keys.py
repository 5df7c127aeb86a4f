"""Issue 15, warm path: the per-sequence score cache (one blob per tracker, compact GT digest)
round-trips exactly, refuses other keys, old formats and damaged files, and never serves
scores for changed GT or changed result files."""

from __future__ import annotations

import dataclasses
import io
import json
import os
from pathlib import Path

import numpy as np
import pytest

from mfv2bench.datasets.base import DatasetSplit, Sequence
from mfv2bench.metrics.analysis import analyze_store
from mfv2bench.results import score_cache as sc


def _entries(gt: np.ndarray, visible=None, cover=None, name: str = "s1"):
    return [(name, gt, visible, cover, (640, 480))]


GT = np.array([[10.0, 20, 30, 40], [11, 21, 31, 41], [0, 0, 0, 0]])


@pytest.mark.parametrize("change", [
    lambda g: g + np.array([[0, 0, 0, 1], [0, 0, 0, 0], [0, 0, 0, 0]]),  # one integer
    lambda g: np.where(g == 0, -0.0, g),                                # signed zeros
    lambda g: g + 0.5,                                                  # not integers any more
    lambda g: np.where(g == 0, np.nan, g),                              # NaN rows
    lambda g: g * 1e8,                                                  # beyond int32
])
def test_gt_digest_sees_every_change_of_value(change):
    before = sc.gt_digest(_entries(GT))
    after = change(GT.copy())
    assert not np.array_equal(after, GT, equal_nan=True) or np.signbit(after).any()
    assert sc.gt_digest(_entries(after)) != before


def test_gt_digest_sees_visibility_cover_names_and_shape():
    vis = np.array([True, True, False])
    base = sc.gt_digest(_entries(GT, vis, np.array([8.0, 8, 0])))
    assert sc.gt_digest(_entries(GT, ~vis, np.array([8.0, 8, 0]))) != base
    assert sc.gt_digest(_entries(GT, None, np.array([8.0, 8, 0]))) != base
    assert sc.gt_digest(_entries(GT, vis.astype(float), np.array([8.0, 8, 0]))) != base
    assert sc.gt_digest(_entries(GT, vis, np.array([8.0, 8, 1]))) != base
    assert sc.gt_digest(_entries(GT, vis, np.array([8.0, 8, 0]), name="s2")) != base
    assert sc.gt_digest(_entries(GT[:2], vis[:2], np.array([8.0, 8]))) != base
    # the same values in another dtype are the same GT
    assert sc.gt_digest(_entries(GT.astype(np.int64), vis, np.array([8, 8, 0]))) == base
    big = np.array([[3e9, 1, 2, 3]])
    assert sc.gt_digest(_entries(big)) != sc.gt_digest(_entries(big + [[1, 0, 0, 0]]))


def test_blob_round_trip_keeps_dtypes_shapes_and_absent_arrays(tmp_path: Path):
    arrays = {"success": np.linspace(0, 1, 21 * 5, dtype=np.float32).reshape(5, 21),
              "n_frames": np.arange(5, dtype=np.int64), "flags": np.array([True, False, True]),
              "time_stats": np.random.default_rng(0).random((5, 2)),
              "empty": np.zeros((0, 3))}
    path = sc.cache_path(tmp_path, "proto")
    sc.save_cached(path, "k1", {"names": ["a", "b"]}, arrays)
    meta, got = sc.load_cached(path, "k1", list(arrays) + ["absent"])
    assert meta["names"] == ["a", "b"] and got["absent"] is None
    for k, a in arrays.items():
        assert got[k].dtype == a.dtype and got[k].shape == a.shape
        np.testing.assert_array_equal(got[k], a)
    got["success"][0, 0] = 5.0  # arrays are writable and independent of each other
    assert got["n_frames"][0] == 0
    assert sc.load_cached(path, "other-key", list(arrays)) is None


def test_damaged_and_old_format_caches_are_not_used(tmp_path: Path):
    path = sc.cache_path(tmp_path, "proto")
    path.write_bytes(b"garbage")
    assert sc.load_cached(path, "k", ["success"]) is None
    # the format before issue 15: one zip member per array, no layout in the metadata
    buf = io.BytesIO()
    np.savez(buf, meta=np.frombuffer(json.dumps({"key": "k"}).encode(), dtype=np.uint8),
             success=np.ones((2, 3)))
    path.write_bytes(buf.getvalue())
    assert sc.load_cached(path, "k", ["success"]) is None
    # a truncated blob
    sc.save_cached(path, "k", {}, {"success": np.ones((20, 21))})
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    assert sc.load_cached(path, "k", ["success"]) is None


def _rows(path: Path, rows: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(",".join(str(int(v)) for v in r) + "\n" for r in rows))
    return path


def _split(gt: np.ndarray, names=("s1", "s2")) -> DatasetSplit:
    seqs = [Sequence(name=n, dataset="lasot", split="test", frames=[], gt=gt.copy(),
                     visible=np.ones(len(gt), dtype=bool)) for n in names]
    return DatasetSplit("lasot", "test", Path("."), seqs, expected=len(seqs))


def _same_analysis(a, b) -> None:
    for t in a.trackers:
        for m in a.metrics:
            assert a.score(t, m) == b.score(t, m)
        for k, v in a.sequence_curves[t].items():
            np.testing.assert_array_equal(v, b.sequence_curves[t][k])
    assert [dataclasses.asdict(p) for p in a.pairwise] == [dataclasses.asdict(p)
                                                            for p in b.pairwise]


def test_warm_equals_cold_and_gt_or_result_changes_are_never_served_stale(tmp_path: Path):
    rng = np.random.default_rng(1)
    gt = np.floor(rng.uniform(10, 200, (30, 4)))
    res = tmp_path / "results"
    for t in ("a", "b"):
        for s in ("s1", "s2"):
            _rows(res / t / "lasot-test" / f"{s}.txt", gt + rng.integers(-3, 4, gt.shape))
    split = _split(gt)
    cold = analyze_store(split, ["a", "b"], res, "mixformerv2", n_resamples=200)
    caches = list((res / "a" / "lasot-test").glob(".mfv2bench-scores-*"))
    assert caches
    stamp = caches[0].stat().st_mtime_ns
    warm = analyze_store(split, ["a", "b"], res, "mixformerv2", n_resamples=200)
    assert caches[0].stat().st_mtime_ns == stamp  # served, not rewritten
    _same_analysis(cold, warm)
    # one GT box moves by one pixel: scores are recomputed, equal to a cache-free analysis
    gt2 = gt.copy()
    gt2[5, 0] += 40
    split2 = _split(gt2)
    moved = analyze_store(split2, ["a", "b"], res, "mixformerv2", n_resamples=200)
    fresh = analyze_store(split2, ["a", "b"], res, "mixformerv2", n_resamples=200, cache=False)
    _same_analysis(moved, fresh)
    assert moved.sequence_curves["a"]["success"].tolist() != \
        cold.sequence_curves["a"]["success"].tolist()
    # a result file edited with its size and mtime kept: rescored
    f = res / "a" / "lasot-test" / "s1.txt"
    st = os.stat(f)
    text = f.read_text().splitlines()
    x = text[3].split(",")
    x[0] = str(int(x[0]) + 1) if not x[0].endswith("9") else str(int(x[0]) - 1)
    text[3] = ",".join(x)
    f.write_text("\n".join(text) + "\n")
    assert os.stat(f).st_size == st.st_size
    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns))
    edited = analyze_store(split2, ["a", "b"], res, "mixformerv2", n_resamples=200)
    _same_analysis(edited, analyze_store(split2, ["a", "b"], res, "mixformerv2",
                                         n_resamples=200, cache=False))
