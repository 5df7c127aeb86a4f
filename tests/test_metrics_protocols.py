"""Protocols as data, the notebook API on hand-computed cases (DEFINITIONS.md section 6.1), and
the exactness of the engine's threshold binning."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from mfv2bench.errors import ConfigError, InputError
from mfv2bench.metrics import (PROTOCOLS, ProtocolRejection, aggregate, default_protocol,
                               evaluate, get_protocol)
from mfv2bench.metrics.engine import _bin_index
from mfv2bench.metrics import protocols as P

REQUIRED = ("mixformerv2", "pytracking", "lasot-toolkit", "pysot", "got10k-val", "trackingnet",
            "otb")


def test_required_protocols_exist_with_distinct_stable_hashes() -> None:
    for name in REQUIRED:
        assert name in PROTOCOLS
    hashes = {p.hash for p in PROTOCOLS.values()}
    assert len(hashes) == len(PROTOCOLS)
    p = get_protocol("mixformerv2")
    assert p.hash == get_protocol("mixformerv2").hash and len(p.hash) == 8
    assert p.label == f"mixformerv2 [{p.hash}]"
    # the hash covers the conventions, not the prose
    changed = dataclasses.replace(p, description="other words")
    assert changed.hash == p.hash
    changed = dataclasses.replace(p, overlap_op=">=")
    assert changed.hash != p.hash
    d = p.to_dict()
    assert d["hash"] == p.hash and d["overlap_op"] == ">" and len(d["overlap_thresholds"]) == 21


def test_threshold_grids_are_the_toolkits_own() -> None:
    torch_grid = torch.arange(0, 1.05, 0.05, dtype=torch.float64).numpy()
    assert np.array_equal(np.array(P.OVERLAP_TORCH_ARANGE), torch_grid)
    assert P.OVERLAP_TORCH_ARANGE[13] == 0.6500000000000001
    assert np.array_equal(np.array(P.PIXELS_0_50), np.arange(0, 51))
    assert np.array_equal(np.array(P.NORM_HUNDREDTHS),
                          torch.arange(0, 51, dtype=torch.float64).numpy() / 100.0)
    assert np.array_equal(np.array(P.NORM_LINSPACE_51), np.linspace(0, 0.5, 51))
    assert np.array_equal(np.array(get_protocol("pysot").overlap_thresholds),
                          np.arange(0, 1.05, 0.05))


def test_get_and_default_protocol() -> None:
    with pytest.raises(ConfigError, match="unknown metric protocol"):
        get_protocol("nope")
    assert get_protocol("lasot-matlab").name == "lasot-toolkit"
    assert default_protocol("lasot") == "mixformerv2"
    assert default_protocol("lasot_ext") == "mixformerv2"
    assert default_protocol("synthetic-lasot") == "mixformerv2"
    assert default_protocol("got10k") == "got10k-val"
    assert default_protocol("synthetic-got10k") == "got10k-val"
    assert default_protocol("trackingnet") == "trackingnet"
    assert default_protocol("otb100") == "mixformerv2-nolabels"
    assert default_protocol("uav123") == "mixformerv2-uav"
    assert default_protocol("something") in PROTOCOLS


def _absent_example():
    """100 frames, 10 absent with GT 0,0,0,0, a perfect tracker (DEFINITIONS.md 6.1)."""
    rng = np.random.default_rng(3)
    gt = np.column_stack([rng.integers(10, 200, 100), rng.integers(10, 200, 100),
                          rng.integers(20, 60, 100), rng.integers(20, 60, 100)]).astype(float)
    absent = np.zeros(100, bool)
    absent[40:50] = True
    pred = gt.copy()
    gt[absent] = 0
    return gt, pred, ~absent


@pytest.mark.parametrize("protocol", ["mixformerv2", "pytracking", "lasot-toolkit", "pysot"])
def test_absent_frames_hand_example_lasot_aware(protocol: str) -> None:
    gt, pred, visible = _absent_example()
    s = evaluate(gt, pred, protocol=protocol, visible=visible)
    assert s.auc == pytest.approx(0.90 * 20 / 21, abs=1e-6)
    assert s.p20 == pytest.approx(0.90, abs=1e-7)
    assert s.np20 == pytest.approx(0.90, abs=1e-7)
    assert s.success_curve[0] == pytest.approx(0.9) and s.success_curve[-1] == 0


def test_absent_frames_hand_example_other_conventions() -> None:
    gt, pred, visible = _absent_example()
    assert evaluate(gt, pred, "pytracking-nolabels").np20 == pytest.approx(1.0)
    s = evaluate(gt, pred, "pysot-otb")
    assert (s.p20, s.np20) == (pytest.approx(1.0), pytest.approx(1.0))
    tn = evaluate(gt, pred, "trackingnet")
    assert tn.auc == pytest.approx(0.9025, abs=1e-12)
    g = evaluate(gt, pred, "got10k-val", cover=visible.astype(int) * 8, image_size=(640, 480))
    assert g.ao == pytest.approx(1.0) and g.sr50 == 1.0 and g.sr75 == 1.0
    gt_nan = gt.copy()
    gt_nan[~visible] = np.nan
    s = evaluate(gt_nan, pred, "got10k-lasot")
    assert s.auc == pytest.approx(20 / 21) and s.p20 == 1.0


def test_evaluate_returns_none_where_protocol_defines_nothing() -> None:
    gt, pred, visible = _absent_example()
    s = evaluate(gt, pred, "otb")
    assert s.norm_precision_curve is None and s.np20 is None and s.ao is None
    assert s.sr50 is None and s.precision_curve is not None
    g = evaluate(gt, pred, "got10k-val", cover=np.ones(100), image_size=(640, 480))
    assert g.precision_curve is None and g.p20 is None and len(g.success_curve) == 101
    assert set(s.thresholds) == {"overlap", "center"}


def test_rejections_and_length_rules() -> None:
    gt, pred, visible = _absent_example()
    bad = pred.copy()
    bad[5] = np.nan
    with pytest.raises(ProtocolRejection, match="frame 6 has a NaN"):
        evaluate(gt, bad, "mixformerv2")
    # the LaSOT toolkit repairs it from the previous frame instead
    assert evaluate(gt, bad, "lasot-toolkit", visible=visible).auc == pytest.approx(
        evaluate(gt, pred, "lasot-toolkit", visible=visible).auc, abs=0.05)
    neg = pred.copy()
    neg[7, 2] = -3
    with pytest.raises(ProtocolRejection, match="negative size"):
        evaluate(gt, neg, "pytracking")
    with pytest.raises(ProtocolRejection, match=r"index out of bound.*1 row\(s\) short"):
        evaluate(gt, pred[:-1], "lasot-toolkit")  # its toolkit refuses a short result
    longer = np.vstack([pred, pred[:3]])
    assert evaluate(gt, longer, "mixformerv2").auc == evaluate(gt, pred, "mixformerv2").auc
    with pytest.raises(ProtocolRejection, match="longer"):
        evaluate(gt, longer, "pysot")
    with pytest.raises(ProtocolRejection, match="1-frame"):
        evaluate(gt[:1], pred[:1], "mixformerv2")
    assert evaluate(gt[:1], pred[:1], "lasot-toolkit").auc == pytest.approx(20 / 21)
    with pytest.raises(InputError, match="image size"):
        evaluate(gt, pred, "got10k-val", cover=np.ones(100))


def test_zero_size_predictions_carried_from_previous_frame() -> None:
    gt = np.tile([10.0, 10.0, 20.0, 20.0], (4, 1))
    pred = np.array([[10, 10, 20, 20], [10, 10, 20, 20], [0, 0, 0, 5], [0, 0, 5, 0]], float)
    s = evaluate(gt, pred, "mixformerv2")
    assert s.success_curve[-2] == 1.0  # frames 3 and 4 repaired to the perfect frame 2
    assert evaluate(gt, pred, "otb").op50 == 0.5


def test_runs_average_curves_or_pool_frames() -> None:
    gt, pred, visible = _absent_example()
    worse = pred + 15
    one = evaluate(gt, pred, "mixformerv2", visible=visible)
    two = evaluate(gt, worse, "mixformerv2", visible=visible)
    both = evaluate(gt, [pred, worse], "mixformerv2", visible=visible)
    np.testing.assert_allclose(both.success_curve, (one.success_curve + two.success_curve) / 2,
                               atol=1e-7)
    cover = np.where(visible, 8, 0)
    g = evaluate(gt, [pred, worse], "got10k-val", cover=cover, image_size=(640, 480))
    g1 = evaluate(gt, pred, "got10k-val", cover=cover, image_size=(640, 480))
    g2 = evaluate(gt, worse, "got10k-val", cover=cover, image_size=(640, 480))
    assert g.ao == pytest.approx((g1.ao + g2.ao) / 2) and g.n_frames == 2 * g1.n_frames


def test_aggregate_of_sequence_scores_matches_batch() -> None:
    rng = np.random.default_rng(5)
    seqs = []
    for _ in range(4):
        gt, pred, visible = _absent_example()
        seqs.append(evaluate(gt, pred + rng.normal(0, 5, pred.shape), "mixformerv2",
                             visible=visible))
    o = aggregate(seqs, "mixformerv2")
    assert o.auc == pytest.approx(np.mean([s.auc for s in seqs]), abs=1e-6)
    assert o.precision_score == o.p20
    with pytest.raises(ValueError):
        aggregate(seqs, "otb")


def test_arithmetic_binning_equals_searchsorted_on_every_grid() -> None:
    rng = np.random.default_rng(0)
    grids = [P.OVERLAP_TORCH_ARANGE, P.OVERLAP_OCTAVE_COLON, P.PIXELS_0_50, P.NORM_LINSPACE_51,
             P.NORM_HUNDREDTHS, P.OVERLAP_LINSPACE_101, P.PIXELS_LINSPACE_21,
             P.OVERLAP_LINSPACE_21, P.NORM_LINSPACE_21, (0.0, 0.3, 0.31, 2.0)]
    for grid in grids:
        thr = np.array(grid)
        v = np.concatenate([rng.uniform(-2, thr[-1] * 1.5, 20000), thr,
                            np.nextafter(thr, np.inf), np.nextafter(thr, -np.inf),
                            [np.nan, np.inf, -np.inf, -1.0, 1e300, -1e300],
                            np.arange(0, 101) / 20, np.arange(0, 101) / 100,
                            np.arange(0, 101) * 0.05])
        for side in ("left", "right"):
            ref = np.searchsorted(thr, v, side=side)
            ref[np.isnan(v)] = 0
            np.testing.assert_array_equal(_bin_index(v, thr, side), ref)


def test_pytracking_validates_rows_beyond_the_sequence_before_truncating() -> None:
    gt, pred, visible = _absent_example()
    longer = np.vstack([pred, [[1.0, 2.0, np.nan, 4.0]]])
    with pytest.raises(ProtocolRejection, match="row 101"):
        evaluate(gt, longer, "mixformerv2", visible=visible)
    # the LaSOT toolkit just truncates
    assert evaluate(gt, longer, "lasot-toolkit", visible=visible).auc == pytest.approx(
        evaluate(gt, pred, "lasot-toolkit", visible=visible).auc)


def test_malformed_arrays_are_input_errors() -> None:
    gt, pred, visible = _absent_example()
    with pytest.raises(InputError, match=r"must be \(N, 4\)"):
        evaluate(gt, pred[:, :3], "otb")
    with pytest.raises(InputError, match=r"GT of sequence .* must be \(N, 4\)"):
        evaluate(gt[:, :2], pred, "otb")
    with pytest.raises(InputError, match="99 visibility flags"):
        evaluate(gt, pred, "mixformerv2", visible=visible[:-1])


def test_got10k_speed_pools_per_frame_fps_over_sequences() -> None:
    gt, pred, visible = _absent_example()
    cover = np.where(visible, 8, 0)
    a = evaluate(gt, pred, "got10k-val", cover=cover, image_size=(640, 480),
                 times=np.full(100, 0.01))
    b = evaluate(gt, pred, "got10k-val", cover=cover, image_size=(640, 480),
                 times=np.concatenate([np.full(50, 0.02), [0.0, np.nan], np.full(48, 0.02)]))
    assert a.speed_fps == pytest.approx(100.0) and b.speed_fps == pytest.approx(50.0)
    # mean of per-frame FPS over all usable frames: (100*100 + 98*50) / 198
    assert aggregate([a, b], "got10k-val").speed_fps == pytest.approx(14900 / 198)
