"""Checkpoint loading: safe by default, strict keys with one clear error, layer drop / MLP slice."""

from __future__ import annotations

import json

import pytest
import torch

from mfv2_helpers import MFV2_DATA, load_golden_model
from mfv2bench.errors import ConfigError, InputError, MissingDataError
from mfv2bench.trackers.mixformerv2.checkpoint import (OFFICIAL_WEIGHTS_URL, keep_blocks,
                                                       load_checkpoint, load_into, slice_mlp)
from mfv2bench.trackers.mixformerv2.model import build_model, init_random_weights
from mfv2bench.trackers.mixformerv2.tracker import build_from_spec
from mfv2bench.trackers.specs import SpecRegistry


@pytest.fixture(scope="module")
def golden_small():
    return load_golden_model("small")


def test_official_wrapper_round_trip(tmp_path, golden_small):
    path = tmp_path / "mixformerv2_small.pth.tar"
    torch.save({"net": golden_small["state_dict"], "epoch": 500}, path)
    sd = load_checkpoint(path)
    model = load_into(build_model(golden_small["config"]), sd)
    for key, value in golden_small["state_dict"].items():
        assert torch.equal(model.state_dict()[key], value)


def test_module_prefix_and_plain_state_dict(tmp_path, golden_small):
    path = tmp_path / "plain.pth"
    torch.save({f"module.{k}": v for k, v in golden_small["state_dict"].items()}, path)
    assert set(load_checkpoint(path)) == set(golden_small["state_dict"])


def test_key_problems_listed_in_one_error(golden_small):
    sd = dict(golden_small["state_dict"])
    sd.pop("backbone.reg_tokens")
    sd["backbone.extra"] = torch.zeros(1)
    sd["box_head.layers.1.0.weight"] = torch.zeros(72, 64)
    with pytest.raises(InputError) as err:
        load_into(build_model(golden_small["config"]), sd, path="ck.pth")
    msg = str(err.value)
    assert msg.startswith("ck.pth: ")
    assert "missing keys (1): backbone.reg_tokens" in msg
    assert "unexpected keys (1): backbone.extra" in msg
    assert "box_head.layers.1.0.weight: checkpoint (72, 64) vs model (96, 64)" in msg


def test_full_size_keys_from_json_load_strictly():
    """A state dict built from the official key list (zeros) loads into our Small model."""
    ref = json.loads((MFV2_DATA / "state_dict_keys_small.json").read_text())
    sd = {e["key"]: torch.zeros(e["shape"]) for e in ref["state_dict"]}
    load_into(build_model("small"), sd)


class Opaque:  # stands for the pickled custom objects of a training checkpoint
    pass


def test_pickled_objects_refused_unless_trusted(tmp_path, golden_small):
    path = tmp_path / "train.pth.tar"
    torch.save({"net": golden_small["state_dict"], "settings": Opaque()}, path)
    with pytest.raises(InputError, match="--trust-checkpoint") as err:
        load_checkpoint(path)
    assert "Opaque" in str(err.value)
    assert set(load_checkpoint(path, trust=True)) == set(golden_small["state_dict"])


def test_missing_corrupt_and_empty_files(tmp_path):
    with pytest.raises(MissingDataError, match="MixFormerV2"):
        load_checkpoint(tmp_path / "nope.pth.tar")
    bad = tmp_path / "bad.pth.tar"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(InputError, match="bad.pth.tar: not a readable torch checkpoint"):
        load_checkpoint(bad)
    truncated = tmp_path / "cut.pth.tar"
    torch.save({"net": {"w": torch.zeros(100)}}, truncated)
    truncated.write_bytes(truncated.read_bytes()[:200])
    with pytest.raises(InputError, match="not a readable torch checkpoint"):
        load_checkpoint(truncated)
    empty = tmp_path / "empty.pth"
    torch.save({"net": {}}, empty)
    with pytest.raises(InputError, match="no state dict"):
        load_checkpoint(empty)


def test_keep_blocks_and_slice_mlp(golden_small):
    sd = golden_small["state_dict"]
    kept = keep_blocks(sd, [1])
    assert torch.equal(kept["backbone.blocks.0.attn.qkv.weight"], sd["backbone.blocks.1.attn.qkv.weight"])
    assert not any(k.startswith("backbone.blocks.1.") for k in kept)
    with pytest.raises(InputError, match="cannot keep"):
        keep_blocks(sd, [5])
    sliced = slice_mlp(sd, 16)
    assert sliced["backbone.blocks.0.mlp.fc1.weight"].shape == (16, 64)
    assert sliced["backbone.blocks.0.mlp.fc2.weight"].shape == (64, 16)
    assert torch.equal(sliced["backbone.blocks.0.mlp.fc2.weight"], sd["backbone.blocks.0.mlp.fc2.weight"][:, :16])
    assert torch.equal(sliced["backbone.blocks.0.mlp.fc2.bias"], sd["backbone.blocks.0.mlp.fc2.bias"])


def _registry(workspace, body: dict) -> SpecRegistry:
    reg = SpecRegistry(workspace / "trackers", workspace)
    reg.add("t", body)
    return reg


def test_missing_checkpoint_fails_fast_naming_path_and_source(workspace):
    reg = _registry(workspace, {"kind": "mixformerv2", "model": {
        "variant": "small", "checkpoint": "checkpoints/mixformerv2_small.pth.tar"}})
    with pytest.raises(MissingDataError) as err:
        build_from_spec(reg.resolve("t"))
    msg = str(err.value)
    assert str(workspace / "checkpoints" / "mixformerv2_small.pth.tar") in msg
    assert OFFICIAL_WEIGHTS_URL in msg


def test_spec_layer_drop_and_mlp_slice_load_from_full_checkpoint(workspace):
    full = init_random_weights(build_model("small"), seed=5)
    torch.save({"net": full.state_dict()}, workspace / "checkpoints" / "s.pth.tar")
    reg = _registry(workspace, {"kind": "mixformerv2", "model": {
        "variant": "small", "checkpoint": "checkpoints/s.pth.tar", "keep_layers": [0, 3],
        "mlp_hidden": 256}, "params": {"search_factor": 4.4}})
    tracker = build_from_spec(reg.resolve("t"))
    got = tracker.model.state_dict()
    ref = full.state_dict()
    assert len(tracker.model.backbone.blocks) == 2
    assert torch.equal(got["backbone.blocks.1.attn.proj.weight"], ref["backbone.blocks.3.attn.proj.weight"])
    assert torch.equal(got["backbone.blocks.1.mlp.fc1.weight"], ref["backbone.blocks.3.mlp.fc1.weight"][:256])
    assert tracker.params.search_factor == 4.4


def test_spec_errors(workspace):
    reg = _registry(workspace, {"kind": "mixformerv2", "model": {"variant": "tiny"}})
    with pytest.raises(ConfigError, match="variant"):
        build_from_spec(reg.resolve("t"))
    reg.add("u", {"kind": "mixformerv2", "model": {"variant": "small", "head": "corner",
                                                   "checkpoint": "x.pth"}})
    with pytest.raises(ConfigError, match="random_weights"):
        build_from_spec(reg.resolve("u"))
    reg.add("v", {"kind": "mixformerv2", "model": {"variant": "small", "depth": 9,
                                                   "random_weights": True}})
    with pytest.raises(ConfigError, match="depth"):
        build_from_spec(reg.resolve("v"))
