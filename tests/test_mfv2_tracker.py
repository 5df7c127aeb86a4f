"""Tracker parity with the official MixFormerV2 tracker runs, plus the crop / clip quirks."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from mfv2_helpers import load_golden_model, load_golden_run, md5, read_sequence
from mfv2bench.errors import ConfigError
from mfv2bench.trackers.base import Tracker
from mfv2bench.trackers.mixformerv2.model import build_model, init_random_weights
from mfv2bench.trackers.mixformerv2.preprocessing import (Normalizer, clip_box, map_box_back,
                                                          sample_target)
from mfv2bench.trackers.mixformerv2.config import TrackerParams
from mfv2bench.trackers.mixformerv2.tracker import MixFormerV2Tracker


@pytest.fixture(scope="module")
def frames():
    return read_sequence()


def golden_tracker(style: str, **kwargs) -> tuple[MixFormerV2Tracker, dict]:
    data = load_golden_model(style)
    model = build_model(data["config"])
    model.load_state_dict(data["state_dict"], strict=True)
    run = load_golden_run(style)
    return MixFormerV2Tracker(model, run["params"], **kwargs), run


def replay(tracker: MixFormerV2Tracker, run: dict, frames: list[np.ndarray]) -> None:
    """Run the tracker over the golden sequence and compare every recorded quantity."""
    init = run["init_frame"]
    tracker.initialize(frames[0], init["init_bbox_xywh"])
    assert md5(tracker.template_crop) == init["template_crop"]["md5"]
    outputs = [np.asarray(init["init_bbox_xywh"], dtype=np.float64)]
    for rec in run["frames"]:
        k = rec["frame_index"]
        out = tracker.track(frames[k])
        assert md5(tracker.last_search_crop) == rec["search_crop"]["md5"], f"search crop, frame {k}"
        np.testing.assert_allclose(out.extra["pred_box_norm"], rec["net_pred_box_cxcywh_norm"], atol=2e-6)
        np.testing.assert_allclose(out.box, rec["pred_bbox_xywh"], atol=1e-3, rtol=0)
        assert out.score == pytest.approx(rec["score"], abs=1e-5)
        assert out.extra["candidate_refreshed"] == rec["candidate_refreshed"], f"frame {k}"
        if rec["candidate_refreshed"]:
            assert md5(tracker.last_candidate_crop) == rec["candidate_crop"]["md5"], f"candidate, frame {k}"
        assert out.extra["template_updated"] == rec["is_update_frame"], f"frame {k}"
        assert out.extra["online_template_source"] == rec["online_template_source_after"], f"frame {k}"
        assert tracker.max_pred_score == pytest.approx(rec["max_pred_score_after"], abs=1e-5)
        outputs.append(out.box)
    np.testing.assert_allclose(np.array(outputs), np.array(run["results_target_bbox"]), atol=1e-3, rtol=0)


@pytest.mark.parametrize("style", ["base", "small"])
@pytest.mark.parametrize("cached", [True, False], ids=["cached", "full"])
def test_tracker_matches_official_run(style, cached, frames):
    tracker, run = golden_tracker(style, cached=cached)
    assert isinstance(tracker, Tracker)
    replay(tracker, run, frames)


def test_sdpa_runtime_matches_official_run(frames):
    tracker, run = golden_tracker("small", runtime="sdpa")
    replay(tracker, run, frames)


def test_crop_round_half_even_and_border_quirk():
    img = np.arange(20 * 30 * 3, dtype=np.uint8).reshape(20, 30, 3)
    # centre x = 10.5 + 2/2 = 11.5 - side/2 (=2) -> 9.5 -> round-half-even 10 (not 9 or 11)
    crop = sample_target(img, (10.5, 5.0, 2.0, 2.0), factor=2.0, output_sz=4)
    assert crop.side == 4 and crop.origin == (10, 4) and crop.resize_factor == 1.0
    np.testing.assert_array_equal(crop.image, img[4:8, 10:14])
    # a crop reaching the right border drops the last image column (the official +1 quirk)
    crop = sample_target(img, (26.0, 0.0, 4.0, 4.0), factor=1.0, output_sz=4)
    assert crop.origin == (26, 0)
    np.testing.assert_array_equal(crop.image[:, :3], img[0:4, 26:29])
    assert not crop.image[:, 3].any()
    # the bottom row likewise, and left/top padding is zero
    crop = sample_target(img, (-2.0, 16.0, 4.0, 4.0), factor=1.0, output_sz=4)
    assert not crop.image[:, :2].any() and not crop.image[3].any()
    np.testing.assert_array_equal(crop.image[:3, 2:], img[16:19, 0:2])


def test_crop_fully_outside_is_black_and_tiny_box_fails():
    img = np.full((10, 10, 3), 200, dtype=np.uint8)
    assert not sample_target(img, (50.0, 50.0, 4.0, 4.0), 2.0, 8).image.any()
    with pytest.raises(ValueError):
        sample_target(img, (1.0, 1.0, 0.0, 5.0), 2.0, 8)


def test_clip_box_minimum_size_and_margin():
    """The 10 px minimum size of the official clip (not reached in the golden runs)."""
    assert clip_box([50.0, 40.0, 3.0, 2.0], H=100, W=200) == [50.0, 40.0, 10.0, 10.0]
    assert clip_box([-30.0, -5.0, 20.0, 8.0], H=100, W=200) == [0.0, 0.0, 10.0, 10.0]
    # past the right/bottom border: kept 10 px inside, at least 10 px wide
    assert clip_box([195.0, 98.0, 30.0, 30.0], H=100, W=200) == [190.0, 90.0, 10.0, 10.0]
    assert clip_box([180.0, 10.0, 50.0, 20.0], H=100, W=200) == [180.0, 10.0, 20.0, 20.0]
    assert clip_box([-5.0, 10.0, 3.0, 20.0], H=100, W=200, margin=10) == [0.0, 10.0, 10.0, 20.0]


def test_map_box_back_float32_scaling():
    box = torch.tensor([[0.5, 0.5, 0.25, 0.125]])
    out = map_box_back(box, [100.0, 50.0, 20.0, 10.0], search_size=224, resize_factor=2.0)
    # centred crop maps the crop centre back to the previous centre (110, 55)
    assert out == pytest.approx([110 - 14.0, 55 - 7.0, 28.0, 14.0])


def test_normalizer_matches_official_inputs():
    data = load_golden_model("small")
    norm = Normalizer()
    for i in range(data["inputs_uint8_bhwc"]["search"].shape[0]):
        u8 = data["inputs_uint8_bhwc"]["search"][i].numpy()
        torch.testing.assert_close(norm(u8)[0], data["inputs"]["search"][i], atol=0, rtol=0)


def test_any_dataset_with_updates_and_no_update(frames):
    """Random weights, update every 2 frames, a data set the official tracker crashes on."""
    model = init_random_weights(build_model({"embed_dim": 32, "num_heads": 2, "depth": 1,
                                             "mlp_ratio": 1.0, "template_size": 64,
                                             "search_size": 128}), seed=0)
    for interval in (2, 0):
        params = {"update_interval": interval, "score_threshold": 0.0, "search_factor": 4.0,
                  "dataset_name": "otb"}
        tracker = MixFormerV2Tracker(model, params)
        tracker.initialize(frames[0], [120.0, 90.0, 45.0, 35.0])
        outs = [tracker.track(f) for f in frames[1:6]]
        updates = [o.extra["template_updated"] for o in outs]
        assert updates == ([False, True, False, True, False] if interval else [False] * 5)
        assert all(np.isfinite(o.box).all() and o.box[2] >= 10 for o in outs)


def test_params_validation():
    with pytest.raises(ConfigError, match="unknown"):
        TrackerParams.from_dict({"search_factr": 4.0}, strict=True)
    with pytest.raises(ConfigError, match="online_size"):
        TrackerParams.from_dict({"online_size": 3})
    with pytest.raises(ConfigError, match="runtime"):
        TrackerParams.from_dict({"runtime": "tensorrt"})
    tracker_model = build_model({"embed_dim": 32, "num_heads": 2, "depth": 1, "mlp_ratio": 1.0,
                                 "template_size": 64, "search_size": 128})
    with pytest.raises(ConfigError, match="crop sizes"):
        MixFormerV2Tracker(tracker_model, {"search_size": 256})
    with pytest.raises(RuntimeError, match="initialize"):
        MixFormerV2Tracker(tracker_model, {}).track(np.zeros((50, 50, 3), np.uint8))
