"""Runtime 'onednn' (packed oneDNN cached step): outputs equal to the official full forward to
1e-6, on random weights (micro: scale applied to the scores; Small shapes: scale folded into the
query weights) and on the golden official run; refused where it does not apply."""

from __future__ import annotations

import pytest
import torch

from mfv2_helpers import read_sequence
from test_mfv2_tracker import golden_tracker, replay

from mfv2bench.errors import ConfigError
from mfv2bench.trackers.mixformerv2.config import EXACT_RUNTIMES, VARIANTS, TrackerParams
from mfv2bench.trackers.mixformerv2.model import (build_model, flops_per_frame,
                                                 init_random_weights, matmul_shapes)
from mfv2bench.trackers.mixformerv2.packed import PackedSearchStep, _power_of_two, onednn_available
from mfv2bench.trackers.mixformerv2.runtimes import make_engine

pytestmark = pytest.mark.skipif(not onednn_available(), reason="PyTorch built without oneDNN")


def _inputs(cfg: dict, seed: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    t, s = cfg["template_size"], cfg["search_size"]
    return (torch.randn(1, 3, t, t, generator=gen), torch.randn(1, 3, t, t, generator=gen),
            torch.randn(1, 3, s, s, generator=gen))


def _check_against_full(model, seeds=(1, 2)) -> None:
    with torch.inference_mode():
        engine = make_engine(model, "onednn", cached=True)
        for seed in seeds:  # a template change between the two: buffers rewritten
            template, online, search = _inputs(model.config, seed)
            ref = model(template, online, search, return_blocks=False)
            engine.set_templates(template, online)
            for _ in range(2):  # the in-place key/value writes leave no trace between frames
                box, logit = engine.step(search)
                assert (box - ref["pred_boxes"].reshape(-1, 4)).abs().max().item() <= 1e-6
                assert abs(logit - ref["pred_scores"].item()) <= 1e-6


def test_micro_equals_full_path():
    model = init_random_weights(build_model("micro"), seed=4)
    assert not _power_of_two(model.backbone.blocks[0].attn.scale)  # head_dim 32: scale on scores
    _check_against_full(model)


def test_small_shapes_equal_full_path():
    """Small's width, heads and token counts (two blocks keep the test fast)."""
    model = init_random_weights(build_model({**_small(), "depth": 2}), seed=5)
    assert _power_of_two(model.backbone.blocks[0].attn.scale)  # head_dim 64: folded, exact
    _check_against_full(model, seeds=(3,))


def _small() -> dict:
    return dict(VARIANTS["small"])


def test_golden_official_run_replayed():
    tracker, run = golden_tracker("small", runtime="onednn")
    replay(tracker, run, read_sequence())


def test_refused_where_it_does_not_apply():
    assert "onednn" in EXACT_RUNTIMES
    with pytest.raises(ConfigError, match="cached"):
        TrackerParams.from_dict({"runtime": "onednn", "cached": False})
    model = init_random_weights(build_model("micro"))
    with pytest.raises(ConfigError, match="cached"):
        make_engine(model, "onednn", cached=False)
    corner = build_model({**model.config, "head": "corner"})
    with pytest.raises(ConfigError, match="distribution"):
        PackedSearchStep(corner)
    step = PackedSearchStep(model)
    t, o, _ = _inputs(model.config, 0)
    with pytest.raises(ConfigError, match="batch 1"):
        step.set_templates(torch.cat([t, t]), torch.cat([o, o]))
    with pytest.raises(RuntimeError, match="set_templates"):
        step(torch.zeros(1, 3, 128, 128))


@pytest.mark.parametrize("variant", ["micro", "small", "base"])
def test_matmul_shapes_add_up_to_flops(variant):
    for cached in (True, False):
        shapes = matmul_shapes(VARIANTS[variant], cached=cached)
        total = sum(2 * b * m * k * n * count for _, b, m, k, n, count in shapes)
        assert total == flops_per_frame(VARIANTS[variant], cached=cached)
