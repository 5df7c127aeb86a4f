"""The shipped MixFormerV2 specs resolve to the official settings; ``mfv2bench trackers``."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from mfv2bench.cli import main
from mfv2bench.trackers.mixformerv2.tracker import build_from_spec
from mfv2bench.trackers.specs import SpecRegistry

REPO_TRACKERS = Path(__file__).resolve().parents[1] / "trackers"


@pytest.fixture
def registry(workspace):
    for spec in REPO_TRACKERS.glob("*.toml"):
        shutil.copy(spec, workspace / "trackers")
    return SpecRegistry(workspace / "trackers", workspace)


@pytest.mark.parametrize("name,dataset,factor,interval", [
    ("mfv2-b", "lasot", 5.0, 200), ("mfv2-b", "trackingnet", 5.0, 25), ("mfv2-b", "got10k-test", 5.0, 10),
    ("mfv2-s", "lasot", 4.4, 200), ("mfv2-s", "trackingnet", 4.55, 25), ("mfv2-s", "got10k-val", 4.55, 15),
    ("mfv2-s", "synthetic-lasot", 4.4, 200), ("mfv2-s", "otb", 4.4, 200),
    ("mfv2-s-noupdate", "got10k-test", 4.55, 0), ("mfv2-s-sf50", "trackingnet", 5.0, 25),
    ("mfv2-b-ui50", "trackingnet", 5.0, 50),
])
def test_official_settings_per_dataset(registry, name, dataset, factor, interval):
    spec = registry.resolve(name, dataset=dataset)
    assert spec.params["search_factor"] == factor
    assert spec.params["update_interval"] == interval
    assert spec.params["online_size"] == 1 and spec.params["score_threshold"] == 0.5


def test_every_shipped_spec_is_valid(registry):
    from mfv2bench.trackers.catalog import describe_spec

    names = [n for n in registry.names() if n.startswith(("mfv2", "_mfv2"))]
    assert {"mfv2-b", "mfv2-s", "mfv2-b-depth4", "mfv2-b-mlp768", "mfv2-s-corner"} <= set(names)
    for name in names:
        for dataset in (None, "lasot", "trackingnet", "got10k-test"):
            info = describe_spec(registry, name, dataset)
            assert info["effective_params"]["search_size"] in (128, 224, 288)  # micro: 128


def test_random_weight_spec_builds_and_tracks(registry):
    tracker = build_from_spec(registry.resolve("mfv2-s-random", dataset="lasot"))
    image = np.random.default_rng(0).integers(0, 255, (120, 160, 3), dtype=np.uint8)
    tracker.initialize(image, [60.0, 40.0, 30.0, 20.0])
    out = tracker.track(image)
    assert out.box.shape == (4,) and 0.0 <= out.score <= 1.0


def test_corner_head_spec_builds(registry):
    tracker = build_from_spec(registry.resolve("mfv2-s-corner"))
    assert tracker.model.head_kind == "corner"
    image = np.random.default_rng(1).integers(0, 255, (120, 160, 3), dtype=np.uint8)
    tracker.initialize(image, [60.0, 40.0, 30.0, 20.0])
    out = tracker.track(image)
    assert np.isfinite(out.box).all() and 0.0 <= out.score <= 1.0


def test_trackers_list_and_show_cli(registry, workspace):
    (workspace / "trackers" / "csrt.toml").write_text(
        'kind = "opencv"\ndescription = "OpenCV CSRT"\n[params]\nalgorithm = "csrt"\n')
    runner = CliRunner()
    res = runner.invoke(main, ["trackers", "list"])
    assert res.exit_code == 0, res.output
    assert "mfv2-s-noupdate" in res.output and "csrt" in res.output
    assert not any(line.startswith("_mfv2") for line in res.output.splitlines())
    res = runner.invoke(main, ["trackers", "list", "--all", "--json"])
    rows = {r["name"]: r for r in json.loads(res.output)}
    assert rows["_mfv2"]["base_spec"] and rows["mfv2-s"]["extends"] == "_mfv2"

    res = runner.invoke(main, ["trackers", "show", "mfv2-s", "--dataset", "trackingnet", "--json"])
    assert res.exit_code == 0, res.output
    info = json.loads(res.output)
    assert info["effective_params"]["search_factor"] == 4.55
    assert info["effective_params"]["update_interval"] == 25
    assert info["checkpoint_present"] is False
    assert info["hash"] == registry.resolve("mfv2-s", dataset="trackingnet").hash
    res = runner.invoke(main, ["trackers", "show", "mfv2-s"])
    assert "search_factor = 4.4" in res.output and "[MISSING]" in res.output
    res = runner.invoke(main, ["trackers", "show", "csrt", "--json"])
    assert json.loads(res.output)["spec"]["params"]["algorithm"] == "csrt"
    res = runner.invoke(main, ["trackers", "show", "nope"])
    assert res.exit_code == 2 and "unknown tracker 'nope'" in res.output


class TrainingSettings:  # a pickled custom object, as in official training checkpoints
    pass


def test_trackers_check_cli(registry, workspace):
    import torch

    from mfv2bench.trackers.mixformerv2.model import build_model

    runner = CliRunner()
    res = runner.invoke(main, ["trackers", "check", "mfv2-s"])
    assert res.exit_code == 2 and "checkpoint not found" in res.output
    assert "github.com/MCG-NJU/MixFormerV2" in res.output
    res = runner.invoke(main, ["trackers", "check", "mfv2-s-random", "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["state_dict_keys"] == 66

    model = build_model("small")
    torch.save({"net": model.state_dict(), "settings": TrainingSettings()},
               workspace / "checkpoints" / "mixformerv2_small.pth.tar")
    res = runner.invoke(main, ["trackers", "check", "mfv2-s"])
    assert res.exit_code == 2 and "--trust-checkpoint" in res.output
    res = runner.invoke(main, ["trackers", "check", "mfv2-s", "--trust-checkpoint", "--json"])
    assert res.exit_code == 0, res.output
    info = json.loads(res.output)
    assert info["parameters"] == 16228897 and info["state_dict_keys"] == 66
    assert len(info["checkpoint_sha256"]) == 64
