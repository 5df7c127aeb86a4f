"""Faster runtimes of the same tracker, each checked against the official run / eager."""

from __future__ import annotations

import pytest
import torch

from mfv2_helpers import load_golden_model, read_sequence
from test_mfv2_tracker import golden_tracker, replay

from mfv2bench.trackers.mixformerv2.model import build_model
from mfv2bench.trackers.mixformerv2.runtimes import make_engine


@pytest.fixture(scope="module")
def frames():
    return read_sequence()


@pytest.mark.onnx
@pytest.mark.parametrize("cached", [True, False], ids=["cached", "full"])
def test_onnxruntime_matches_official_run(cached, frames):
    tracker, run = golden_tracker("small", runtime="onnxruntime", cached=cached)
    replay(tracker, run, frames)


@pytest.mark.onnx
def test_onnxruntime_base_cached(frames):
    tracker, run = golden_tracker("base", runtime="onnxruntime")
    replay(tracker, run, frames)


def _golden_engine_outputs(runtime: str) -> tuple[torch.Tensor, float, dict]:
    data = load_golden_model("small")
    model = build_model(data["config"])
    model.load_state_dict(data["state_dict"])
    x = data["inputs"]
    with torch.inference_mode():
        engine = make_engine(model, runtime, cached=True)
        engine.set_templates(x["template"][:1], x["online_template"][:1])
        box, logit = engine.step(x["search"][:1])
    return box, logit, data["outputs"]


@pytest.mark.slow
@pytest.mark.compile
def test_compiled_step_matches_eager():
    box, logit, ref = _golden_engine_outputs("compile")
    torch.testing.assert_close(box, ref["pred_boxes"][0], atol=2e-6, rtol=0)
    assert logit == pytest.approx(ref["pred_scores"][0].item(), abs=1e-5)


@pytest.mark.slow
@pytest.mark.compile
@pytest.mark.parametrize("style", ["base", "small"])
def test_compiled_tracker_matches_official_run(style, frames):
    tracker, run = golden_tracker(style, runtime="compile")
    replay(tracker, run, frames)


@pytest.mark.onnx
def test_int8_onnxruntime_is_opt_in_and_close():
    """Reduced precision: only with runtime onnxruntime; the step stays near the fp32 output."""
    from mfv2bench.errors import ConfigError
    from mfv2bench.trackers.mixformerv2.runtimes import OnnxEngine
    from mfv2bench.trackers.mixformerv2.config import TrackerParams

    with pytest.raises(ConfigError, match="int8"):
        TrackerParams.from_dict({"quantize": "int8"})  # eager runtime
    with pytest.raises(ConfigError, match="int8"):
        TrackerParams.from_dict({"quantize": "int4", "runtime": "onnxruntime"})
    data = load_golden_model("small")
    model = build_model(data["config"])
    model.load_state_dict(data["state_dict"])
    x = data["inputs"]
    engine = OnnxEngine(model, quantize="int8", threads=1)
    engine.set_templates(x["template"][:1], x["online_template"][:1])
    box, logit = engine.step(x["search"][:1])
    assert (box - data["outputs"]["pred_boxes"][0]).abs().max().item() < 0.05
    assert abs(logit - data["outputs"]["pred_scores"][0].item()) < 0.5
