"""The synthetic generator: reproducible, exact ground truth, visibility consistent with the
geometry, and the events it promises (occlusion, leaving and re-entering, scaling)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import cv2
import numpy as np
import pytest

from mfv2bench.datasets.images import read_rgb
from mfv2bench.datasets.registry import load_split
from mfv2bench.datasets.synthetic import (
    Track,
    cover_level,
    ensure_synthetic,
    lasot_attributes,
    make_track,
    write_synthetic,
)
from mfv2bench.errors import ConfigError


def _digest(root: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(root.rglob("*")):
        if p.is_file():
            h.update(str(p.relative_to(root)).encode())
            h.update(p.read_bytes())
    return h.hexdigest()


@pytest.fixture(scope="module")
def lasot_default(tmp_path_factory):
    root = tmp_path_factory.mktemp("syn") / "lasot"
    names = write_synthetic("lasot", root)
    return root, names


def test_same_seed_same_bytes_other_seed_differs(tmp_path):
    kw = dict(n_sequences=2, n_frames=(6, 9), size=(64, 48))
    write_synthetic("got10k", tmp_path / "a", seed=5, **kw)
    write_synthetic("got10k", tmp_path / "b", seed=5, **kw)
    write_synthetic("got10k", tmp_path / "c", seed=6, **kw)
    assert _digest(tmp_path / "a") == _digest(tmp_path / "b")
    assert _digest(tmp_path / "a") != _digest(tmp_path / "c")


def test_sequence_does_not_depend_on_how_many_are_written(tmp_path):
    kw = dict(n_frames=(6, 9), size=(64, 48), seed=1, splits=["train_0"])
    write_synthetic("trackingnet", tmp_path / "few", n_sequences=1, **kw)
    write_synthetic("trackingnet", tmp_path / "many", n_sequences=3, **kw)
    few = load_split("synthetic-trackingnet-train_0", root=tmp_path / "few").sequences
    many = load_split("synthetic-trackingnet-train_0", root=tmp_path / "many").by_name()
    assert few[0].name in many
    np.testing.assert_array_equal(few[0].gt, many[few[0].name].gt)


def test_default_lasot_tree_has_the_promised_events(lasot_default):
    root, names = lasot_default
    split = load_split("synthetic-lasot", root=root)
    assert [s.name for s in split] == names and len(names) == 6
    assert all(60 <= s.n_frames <= 100 for s in split)
    assert all(s.name.split("-")[0] == s.meta["class"] for s in split)
    foc = [s.attributes["FOC"] for s in split]
    ov = [s.attributes["OV"] for s in split]
    assert any(foc) and any(ov) and not all(foc)
    for seq in split:
        assert seq.visible[0]  # the first frame always shows the object
        if seq.attributes["OV"]:
            # out of view: GT all zeros there, and the object comes back afterwards
            oov = np.loadtxt(root / seq.meta["class"] / seq.name / "out_of_view.txt",
                             delimiter=",").astype(bool)
            assert (seq.gt[oov] == 0).all()
            assert seq.visible[np.flatnonzero(oov)[-1] + 1:].any()
        if seq.attributes["FOC"]:
            occ = np.loadtxt(root / seq.meta["class"] / seq.name / "full_occlusion.txt",
                             delimiter=",").astype(bool)
            assert (seq.gt[occ][:, 2:] > 0).all()  # hidden but inside: its box is kept
    areas = np.concatenate([s.gt[s.visible, 2] * s.gt[s.visible, 3] / np.prod(s.gt[0, 2:])
                            for s in split])
    assert areas.min() < 0.8 and areas.max() > 1.25  # the object scales


def test_gt_is_exact_on_the_pixels(lasot_default):
    """Inside each GT box of a fully visible frame the saturated object fills the box; the
    muted clutter outside is never that saturated."""
    root, _ = lasot_default
    seq = load_split("synthetic-lasot", root=root).sequences[3]
    for t in (0, seq.n_frames // 3):
        if not seq.visible[t]:
            continue
        img = read_rgb(seq.frames[t])
        sat = cv2.cvtColor(img, cv2.COLOR_RGB2HSV)[..., 1].astype(float)
        x, y, w, h = seq.gt[t].astype(int)
        inner = sat[y + 4:y + h - 4, x + 4:x + w - 4]
        assert inner.mean() > 120
        ring = np.concatenate([sat[max(y - 6, 0):max(y - 2, 0), x:x + w].ravel(),
                               sat[y + h + 2:y + h + 6, x:x + w].ravel()])
        if ring.size:
            assert ring.mean() < 90


def test_track_geometry_flags():
    boxes = np.array([[10, 10, 20, 20],    # visible
                      [50, 10, 20, 20],    # under the occluder entirely
                      [45, 10, 20, 20],    # flush with the bar edge: still all under
                      [-30, 10, 20, 20],   # outside
                      [-10, 10, 20, 20]])  # cut by the image border
    track = Track(size=(100, 80), boxes=boxes, occluder=(45, 0, 30, 80))
    np.testing.assert_array_equal(track.out_of_view(), [0, 0, 0, 1, 0])
    np.testing.assert_array_equal(track.full_occlusion(), [0, 1, 1, 0, 0])
    np.testing.assert_array_equal(track.partial_occlusion(), [0, 0, 0, 0, 0])
    np.testing.assert_array_equal(track.cut_by_image(), [0, 0, 0, 0, 1])
    np.testing.assert_allclose(track.visible_ratio(), [1, 0, 0, 0, 0.5])
    gt = track.gt()
    np.testing.assert_array_equal(gt[3], [0, 0, 0, 0])
    np.testing.assert_array_equal(gt[4], [0, 10, 10, 20])
    half = Track(size=(100, 80), boxes=np.array([[35, 10, 20, 20]]), occluder=(45, 0, 30, 80))
    assert half.partial_occlusion()[0] and half.visible_ratio()[0] == 0.5


def test_cover_levels_follow_got10k_bins():
    ratios = np.array([0.0, 0.1, 0.15, 0.16, 0.5, 0.9, 0.95, 1.0])
    np.testing.assert_array_equal(cover_level(ratios), [0, 1, 1, 2, 4, 6, 7, 8])


def test_got10k_labels_consistent(tmp_path):
    write_synthetic("got10k", tmp_path, n_sequences=4, n_frames=(50, 60), size=(160, 120),
                    splits=["val"])
    split = load_split("synthetic-got10k", root=tmp_path)
    for seq in split:
        absence = seq.meta["absence"].astype(bool)
        np.testing.assert_array_equal(absence, seq.cover == 0)
        np.testing.assert_array_equal(seq.visible, ~absence)
    assert any((s.cover == 0).any() for s in split) and any((s.cover < 8).any() for s in split)


def test_lasot_attributes_from_geometry():
    rng = np.random.default_rng(0)
    track = make_track(rng, 80, (320, 240), "both")
    flags = lasot_attributes(track)
    assert flags["FOC"] == int(track.full_occlusion().any()) == 1
    assert flags["OV"] == 1 and flags["BC"] == 1 and flags["IV"] == 0


def test_tiny_parameters_and_bad_ones(tmp_path):
    names = write_synthetic("lasot", tmp_path / "t", n_sequences=1, n_frames=2, size=(32, 32))
    seq = load_split("synthetic-lasot", root=tmp_path / "t").sequences[0]
    assert seq.name == names[0] and seq.n_frames == 2 and seq.visible.all()
    with pytest.raises(ConfigError):
        write_synthetic("vot", tmp_path / "x")
    with pytest.raises(ConfigError):
        write_synthetic("got10k", tmp_path / "x", splits=["nope"])
    with pytest.raises(ConfigError):
        write_synthetic("lasot", tmp_path / "x", n_frames=(5, 2))


@pytest.mark.parametrize("fmt", ["lasot", "got10k", "trackingnet"])
def test_returned_names_are_the_default_split_in_order(tmp_path, fmt):
    names = write_synthetic(fmt, tmp_path, n_sequences=3, n_frames=2, size=(48, 48))
    assert [s.name for s in load_split(f"synthetic-{fmt}", root=tmp_path)] == names


def test_ensure_synthetic_writes_once(tmp_path):
    kw = dict(n_sequences=1, n_frames=3, size=(48, 48))
    assert ensure_synthetic("trackingnet", tmp_path, **kw) is True
    assert ensure_synthetic("trackingnet", tmp_path, **kw) is False
