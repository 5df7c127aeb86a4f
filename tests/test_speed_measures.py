"""Model latency, breakdown (params, FLOPs, replayed calls) and scaling on a small stand-in network
with the MixFormerV2 calling convention; end-to-end speed of a counting tracker on real files."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch
from torch import nn

from mfv2bench.datasets.base import Sequence
from mfv2bench.datasets.images import read_rgb
from mfv2bench.errors import ConfigError
from mfv2bench.speed.breakdown import component_breakdown, count_flops, count_params
from mfv2bench.speed.model_latency import measure_model_latency
from mfv2bench.speed.scaling import batch_scaling, thread_counts, thread_scaling
from mfv2bench.speed.tracking import measure_tracking_speed
from mfv2bench.trackers.base import TrackOutput

DIM = 8
PATCH = 8


class StandIn(nn.Module):
    """Patchify -> linear 'backbone' -> 4 tokens -> box / score heads; cached template path."""

    def __init__(self, backbone_by_method: bool = False):
        super().__init__()
        self.backbone = nn.Linear(3 * PATCH * PATCH, DIM)
        self.box_head = nn.Linear(DIM, 4)
        self.score_head = nn.Linear(DIM, 1)
        self.by_method = backbone_by_method
        self.templates = None

    def _tokens(self, x):
        b = x.shape[0]
        p = x.unfold(2, PATCH, PATCH).unfold(3, PATCH, PATCH)
        return p.permute(0, 2, 3, 1, 4, 5).reshape(b, -1, 3 * PATCH * PATCH)

    def _embed(self, tokens):
        if self.by_method:  # reached without a module call: breakdown must derive it
            return nn.functional.linear(tokens, self.backbone.weight, self.backbone.bias)
        return self.backbone(tokens)

    def set_templates(self, template, online):
        self.templates = self._embed(torch.cat([self._tokens(template), self._tokens(online)], 1))

    def forward_search(self, search):
        s = self._embed(self._tokens(search))
        pooled = (s.mean(1, keepdim=True) + self.templates.mean(1, keepdim=True)).expand(-1, 4, -1)
        return self.box_head(pooled), self.score_head(pooled).mean(1)

    def forward(self, template, online, search):
        self.set_templates(template, online)
        return self.forward_search(search)


T_SIZE, S_SIZE = 16, 32


def test_model_latency_labels_and_stats():
    res = measure_model_latency(StandIn(), T_SIZE, S_SIZE, batch=2, threads=1, warmup=1, iters=5)
    d = res.to_dict()
    assert d["measure"].startswith("model latency")
    assert d["n"] == 5 and d["batch"] == 2 and d["threads"] == 1 and d["mode"] == "cached"
    assert d["fps"] == pytest.approx(1000.0 / d["median_ms"])
    assert d["p99_ms"] >= d["median_ms"] >= d["min_ms"]
    full = measure_model_latency(StandIn(), T_SIZE, S_SIZE, mode="full", warmup=0, iters=2)
    assert full.mode == "full"


def test_model_latency_rejects_bad_settings():
    with pytest.raises(ConfigError):
        measure_model_latency(StandIn(), T_SIZE, S_SIZE, precision="fp16")  # CPU
    with pytest.raises(ConfigError):
        measure_model_latency(StandIn(), T_SIZE, S_SIZE, batch=0)
    with pytest.raises(ConfigError):
        measure_model_latency(nn.Linear(2, 2), T_SIZE, S_SIZE, mode="cached")


def test_flop_counter_matches_linear_layer_formula():
    layer = nn.Linear(16, 32)
    x = torch.randn(3, 10, 16)
    assert count_flops(lambda: layer(x)) == 2 * 3 * 10 * 16 * 32
    assert count_params(layer) == 16 * 32 + 32


def test_breakdown_replays_each_component():
    model = StandIn()
    rows = component_breakdown(model, T_SIZE, S_SIZE, batch=1, threads=1, warmup=0, iters=3)
    by = {r["component"]: r for r in rows}
    assert list(by) == ["backbone", "box_head", "score_head", "total"]
    assert by["total"]["params"] == count_params(model)
    assert sum(by[c]["params"] for c in ("backbone", "box_head", "score_head")) == count_params(model)
    n_search = (S_SIZE // PATCH) ** 2
    assert by["backbone"]["flops"] == 2 * n_search * 3 * PATCH * PATCH * DIM  # search only
    assert by["box_head"]["flops"] == 2 * 4 * DIM * 4
    assert by["score_head"]["flops"] == 2 * 4 * DIM * 1
    assert all(r["how"] == "measured" for r in rows)
    assert by["total"]["flops"] >= sum(by[c]["flops"] for c in ("backbone", "box_head", "score_head"))
    assert by["total"]["share"] == pytest.approx(1.0)


def test_breakdown_derives_component_reached_without_module_call():
    rows = component_breakdown(StandIn(backbone_by_method=True), T_SIZE, S_SIZE, threads=1,
                               warmup=0, iters=2)
    by = {r["component"]: r for r in rows}
    assert by["backbone"]["how"].startswith("derived")
    assert by["backbone"]["calls"] == 0
    assert by["backbone"]["flops"] == by["total"]["flops"] - by["box_head"]["flops"] - \
        by["score_head"]["flops"]


def test_thread_and_batch_scaling_tables():
    assert thread_counts(1) == [1]
    assert thread_counts(6) == [1, 2, 4, 6]
    before = torch.get_num_threads()
    rows = thread_scaling(StandIn(), T_SIZE, S_SIZE, threads=[1, 2], warmup=0, iters=2)
    assert [r["threads"] for r in rows] == [1, 2]
    assert rows[0]["speedup"] == pytest.approx(1.0)
    assert torch.get_num_threads() == before
    rows = batch_scaling(StandIn(), T_SIZE, S_SIZE, batches=[1, 3], threads=1, warmup=0, iters=2)
    assert [r["batch"] for r in rows] == [1, 3]
    assert rows[1]["per_sample_ms"] == pytest.approx(rows[1]["median_ms"] / 3)
    assert rows[1]["throughput_fps"] == pytest.approx(3000.0 / rows[1]["median_ms"])
    with pytest.raises(ConfigError):
        batch_scaling(StandIn(), T_SIZE, S_SIZE, batches=[0])


class CountingTracker:
    name = "counting"

    def __init__(self):
        self.inits = 0
        self.tracks = 0

    def initialize(self, image, box):
        assert image.dtype == np.uint8 and image.shape[2] == 3
        self.inits += 1

    def track(self, image):
        self.tracks += 1
        return TrackOutput(box=np.array([1.0, 1.0, 5.0, 5.0]), score=None)


def _sequence(tmp_path, name, n):
    folder = tmp_path / name
    folder.mkdir()
    frames = []
    for i in range(n):
        p = folder / f"{i + 1:08d}.jpg"
        cv2.imwrite(str(p), np.full((24, 32, 3), 10 * i, np.uint8))
        frames.append(p)
    gt = np.tile([2.0, 3.0, 8.0, 6.0], (n, 1))
    return Sequence(name=name, dataset="test", split="test", frames=frames, gt=gt)


def test_tracking_speed_excludes_frame_zero_and_times_decode_separately(tmp_path):
    seqs = [_sequence(tmp_path, "a", 6), _sequence(tmp_path, "b", 4)]
    tracker = CountingTracker()
    res = measure_tracking_speed(tracker, seqs, warmup_frames=2, reader=read_rgb)
    assert res.frames == 5 + 3
    assert res.warmup_frames == 2
    assert tracker.tracks == 2 + 8 and tracker.inits == 1 + 2
    assert res.fps == pytest.approx(res.frames / res.track_s)
    assert res.decode_s > 0 and res.fps_with_decode < res.fps
    assert [s.frames for s in res.per_sequence] == [5, 3]
    assert res.per_frame.n == 8
    d = res.to_dict()
    assert "frame 0 excluded" in d["measure"]

    capped = measure_tracking_speed(CountingTracker(), seqs, max_frames=3, warmup_frames=0,
                                    reader=read_rgb)
    assert capped.frames == 2 + 2 and capped.warmup_frames == 0


def test_tracking_speed_needs_frames(tmp_path):
    with pytest.raises(ConfigError):
        measure_tracking_speed(CountingTracker(), [], reader=read_rgb)
    with pytest.raises(ConfigError):
        measure_tracking_speed(CountingTracker(), [_sequence(tmp_path, "one", 1)],
                               reader=read_rgb)


TINY = {"embed_dim": 32, "num_heads": 2, "depth": 2, "mlp_ratio": 2.0, "template_size": 32,
        "search_size": 64}


@pytest.mark.parametrize("attention", ["eager", "sdpa"])
def test_breakdown_of_mixformerv2_counts_every_matmul(attention):
    from mfv2bench.trackers.mixformerv2.model import (build_model, flops_per_frame,
                                                      init_random_weights)

    model = init_random_weights(build_model({**TINY, "attention": attention}))
    rows = component_breakdown(model, 32, 64, threads=1, warmup=0, iters=2)
    by = {r["component"]: r for r in rows}
    assert list(by) == ["backbone", "box_head", "score_head", "total"]
    assert all(r["how"] == "measured" for r in rows)  # backbone.forward_search replayed
    # FLOPs: the same (explicit-attention) count whatever kernel runs; matches the closed form
    assert by["total"]["flops"] == flops_per_frame(TINY, cached=True)
    assert by["backbone"]["flops"] + by["box_head"]["flops"] + by["score_head"]["flops"] == \
        by["total"]["flops"]
    c, nb = TINY["embed_dim"], 96
    assert by["box_head"]["flops"] == 2 * 4 * (c * c + c * nb)
    assert by["total"]["params"] == sum(p.numel() for p in model.parameters())
    assert model.attention == attention  # the caller's model is untouched


def test_corner_head_variant_breaks_down_into_its_own_parts():
    from mfv2bench.trackers.mixformerv2.model import build_model, init_random_weights

    model = init_random_weights(build_model({**TINY, "head": "corner"}))
    by = {r["component"]: r for r in component_breakdown(model, 32, 64, threads=1, warmup=0,
                                                          iters=2)}
    dense = init_random_weights(build_model(TINY))
    by_d = {r["component"]: r for r in component_breakdown(dense, 32, 64, threads=1, warmup=0,
                                                            iters=2)}
    assert by["box_head"]["flops"] > by_d["box_head"]["flops"]  # dense conv towers
    assert by["backbone"]["flops"] > by_d["backbone"]["flops"]  # full last block


def test_model_latency_of_mixformerv2_cached_and_full():
    from mfv2bench.trackers.mixformerv2.model import build_model, init_random_weights

    model = init_random_weights(build_model(TINY))
    cached = measure_model_latency(model, 32, 64, threads=1, warmup=1, iters=3)
    full = measure_model_latency(model, 32, 64, threads=1, warmup=1, iters=3, mode="full")
    assert cached.stats.n == 3 and full.stats.n == 3
    assert model._cache is None  # measured on a copy


@pytest.mark.slow
@pytest.mark.compile
def test_compiled_model_latency_step_runs():
    res = measure_model_latency(StandIn(), T_SIZE, S_SIZE, threads=1, warmup=0, iters=2,
                                compile=True, runtime="compile")
    assert res.stats.n == 2 and res.warmup == 1 and res.runtime == "compile"
