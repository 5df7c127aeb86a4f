"""The opt-in bfloat16 runtime: builds, stays near fp32, and never counts as a reproduction."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from mfv2_helpers import load_golden_model, read_sequence
from test_mfv2_tracker import golden_tracker

from mfv2bench.devices import ALLOW_EMULATED_BF16_ENV
from mfv2bench.leaderboard.published import PAPER_COUNTERPARTS
from mfv2bench.trackers.mixformerv2.model import build_model
from mfv2bench.trackers.mixformerv2.runtimes import (REDUCED_PRECISION_RUNTIMES, RUNTIMES,
                                                     TorchEngine, make_engine)
from mfv2bench.trackers.specs import SpecRegistry

TRACKERS = Path(__file__).resolve().parent.parent / "trackers"


@pytest.fixture(autouse=True)
def _emulated_bf16_allowed(monkeypatch):
    """These tests check bf16 numerics, not speed: bf16 runs (forced, warned) on a CPU
    without native bf16, where it is refused by default (devices.require_native_bf16)."""
    monkeypatch.setenv(ALLOW_EMULATED_BF16_ENV, "1")


def test_bf16_step_close_to_fp32_on_tiny_model():
    """One cached step of the reduced-width golden model: boxes (normalised to the search crop)
    within 1e-2, score logit within 5e-2 of the fp32 outputs; the box stays float32."""
    assert set(REDUCED_PRECISION_RUNTIMES) <= set(RUNTIMES)
    data = load_golden_model("small")
    model = build_model(data["config"])
    model.load_state_dict(data["state_dict"])
    x = data["inputs"]
    with torch.inference_mode():
        engine = make_engine(model, "bf16", cached=True)
        assert isinstance(engine, TorchEngine) and engine.autocast_dtype == torch.bfloat16
        engine.set_templates(x["template"][:1], x["online_template"][:1])
        box, logit = engine.step(x["search"][:1])
    assert box.dtype == torch.float32
    ref_box, ref_logit = data["outputs"]["pred_boxes"][0].reshape(-1, 4), data["outputs"]["pred_scores"][0]
    assert (box - ref_box).abs().max().item() < 1e-2
    assert abs(logit - ref_logit.item()) < 5e-2
    # not silently exact: bf16 really ran (fp32 eager matches to 2e-6)
    assert (box - ref_box).abs().max().item() > 1e-6 or abs(logit - ref_logit.item()) > 1e-6


def test_bf16_tracker_boxes_near_fp32():
    """Open loop over the golden sequence (the bf16 tracker starts each frame from the fp32
    tracker's box, so both see the same crop): per-frame network box within 1e-2 of the crop
    size, score within 2e-2, same template-update decisions."""
    frames = read_sequence()
    ref, run = golden_tracker("small")
    low, _ = golden_tracker("small", runtime="bf16")
    init = run["init_frame"]["init_bbox_xywh"]
    ref.initialize(frames[0], init)
    low.initialize(frames[0], init)
    for k in range(1, len(frames)):
        low.state = list(ref.state)
        a, b = ref.track(frames[k]), low.track(frames[k])
        assert np.abs(np.subtract(a.extra["pred_box_norm"], b.extra["pred_box_norm"])).max() < 1e-2
        assert np.all(np.isfinite(b.box)) and b.box[2] > 0 and b.box[3] > 0
        assert abs(a.score - b.score) < 2e-2
        assert a.extra["template_updated"] == b.extra["template_updated"]


@pytest.mark.parametrize("name", ["mfv2-s-bf16", "mfv2-b-bf16"])
def test_bf16_specs_are_opt_in_and_not_reproductions(name):
    spec = SpecRegistry(TRACKERS, TRACKERS.parent).resolve(name)
    assert spec.params["runtime"] in REDUCED_PRECISION_RUNTIMES
    assert "reduced precision" in spec.description and "not exact" in spec.description
    # the leaderboard pairs only exact runtimes with the paper's rows
    assert name not in PAPER_COUNTERPARTS
    assert name.replace("-bf16", "-int8") not in PAPER_COUNTERPARTS
    assert name.replace("-bf16", "-sdpa") in PAPER_COUNTERPARTS


@pytest.mark.slow
@pytest.mark.compile
def test_compiled_bf16_step_close_to_fp32():
    """``compile-bf16`` (torch.compile, frozen weights, bf16 autocast) builds and stays near fp32."""
    data = load_golden_model("small")
    model = build_model(data["config"])
    model.load_state_dict(data["state_dict"])
    x = data["inputs"]
    with torch.inference_mode():
        engine = make_engine(model, "compile-bf16", cached=True)
        engine.set_templates(x["template"][:1], x["online_template"][:1])
        box, logit = engine.step(x["search"][:1])
    assert (box - data["outputs"]["pred_boxes"][0].reshape(-1, 4)).abs().max().item() < 1e-2
    assert abs(logit - data["outputs"]["pred_scores"][0].item()) < 5e-2
