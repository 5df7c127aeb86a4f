"""Protocol fields are typed (Literal) and checked when a protocol is built: a typo names the field
and what it accepts, instead of silently taking an else-branch in the engine. The hashes printed
beside every number stay what they were."""

from __future__ import annotations

import dataclasses
from typing import Literal, get_args, get_origin, get_type_hints

import pytest

from mfv2bench.errors import ConfigError
from mfv2bench.metrics.protocols import PROTOCOLS, MetricProtocol, get_protocol

# Pinned: a change here means every stored table's protocol label changes. Issue 13 gave the
# protocols a short-result rule (pred_shorter, hashed only where it is not the old 'reject'):
# the 8 whose toolkits pad, fail or cut short results changed hash, the 7 that refuse did not.
HASHES = {
    "mixformerv2": "0c5ae39b",
    "mixformerv2-lasotext": "03dd3b3b",  # was c8e0ab0a: pred_shorter (issue 13)
    "mixformerv2-nolabels": "4f79ab17",  # was 111649d7: pred_shorter (issue 13)
    "pytracking": "1d469ec9",
    "pytracking-lasotext": "b80d9308",  # was 37ff0675: pred_shorter (issue 13)
    "pytracking-nolabels": "abc99a63",  # was 6e2cc7bf: pred_shorter (issue 13)
    "mixformerv2-uav": "52c58802",  # was 2226ff57: pred_shorter (issue 13)
    "pytracking-uav": "97d5f7d1",  # was 6c231c7b: pred_shorter (issue 13)
    "lasot-toolkit": "fe190785",
    "pysot": "2eb131f5",
    "pysot-otb": "c6c9323c",
    "otb": "815771df",
    "got10k-lasot": "eb481aec",  # was b1fa6c07: pred_shorter (issue 13)
    "got10k-val": "c9ef005a",
    "trackingnet": "8d373d6b",  # was ad543191: pred_shorter (issue 13)
}

LITERAL_FIELDS = {name: get_args(tp) for name, tp in get_type_hints(MetricProtocol).items()
                  if get_origin(tp) is Literal}


def test_protocol_hashes_unchanged():
    assert {name: p.hash for name, p in PROTOCOLS.items()} == HASHES


def test_every_string_convention_is_a_literal():
    expected = {"overlap_op", "center_op", "norm_op", "iou", "norm_center", "round_boxes",
                "first_frame", "absent", "nan_gt", "gt_valid_success", "gt_valid_center",
                "gt_valid_norm", "invalid_gt_center", "invalid_gt_norm", "pred_nan",
                "pred_zero_size", "pred_negative_size", "pred_longer", "pred_shorter", "curve_dtype",
                "aggregate", "runs"}
    assert set(LITERAL_FIELDS) == expected
    for p in PROTOCOLS.values():  # the shipped protocols use only accepted values
        for name, accepted in LITERAL_FIELDS.items():
            assert getattr(p, name) in accepted


@pytest.mark.parametrize("field", sorted(LITERAL_FIELDS))
def test_bad_value_names_field_and_accepted_values(field):
    base = get_protocol("mixformerv2")
    with pytest.raises(ConfigError) as exc:
        dataclasses.replace(base, **{field: "typo"})
    message = str(exc.value)
    assert "'mixformerv2'" in message and f"{field} = 'typo'" in message
    for value in LITERAL_FIELDS[field]:
        assert repr(value) in message


@pytest.mark.parametrize("changes, words", [
    ({"success_score": "median"}, "success_score = 'median' is not one of"),
    ({"success_score": ""}, "success_score = ''"),
    ({"precision_score": "at:21.5"}, "not on the center_thresholds grid"),
    ({"precision_score": "at:x"}, "'x' is not a number"),
    ({"norm_precision_score": "at:0.2", "norm_thresholds": None}, "norm_thresholds is None"),
    ({"overlap_thresholds": (0.5, 0.2)}, "overlap_thresholds must be strictly increasing"),
    ({"overlap_thresholds": ()}, "overlap_thresholds = () must be a non-empty tuple"),
    ({"overlap_thresholds": None}, "overlap_thresholds is required"),
    ({"min_frames": 0}, "min_frames = 0 must be an integer >= 1"),
    ({"clip_to_image": "yes"}, "clip_to_image = 'yes' must be True or False"),
    ({"reject_messages": {"pred_nans": "x"}}, "reject_messages names unknown fields"),
])
def test_other_checks(changes, words):
    with pytest.raises(ConfigError, match="metric protocol 'mixformerv2'") as exc:
        dataclasses.replace(get_protocol("mixformerv2"), **changes)
    assert words in str(exc.value)


def test_all_problems_reported_at_once_and_good_variants_pass():
    with pytest.raises(ConfigError) as exc:
        dataclasses.replace(get_protocol("otb"), iou="giou", aggregate="median")
    assert "iou = 'giou'" in str(exc.value) and "aggregate = 'median'" in str(exc.value)
    ok = dataclasses.replace(get_protocol("otb"), precision_score="mean", success_score="at:0.5")
    assert ok.hash != get_protocol("otb").hash
