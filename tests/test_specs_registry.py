"""The spec registry: inheritance, per-data-set overrides, hashing."""

from __future__ import annotations

import pytest

from mfv2bench.errors import ConfigError
from mfv2bench.trackers.specs import SpecRegistry, dataset_family


def _registry(tmp_path):
    (tmp_path / "trackers").mkdir()
    (tmp_path / "trackers" / "base.toml").write_text(
        'kind = "opencv"\ndescription = "base"\n[params]\nalgorithm = "csrt"\npadding = 1.0\n'
        '[dataset.trackingnet.params]\npadding = 3.0\n')
    (tmp_path / "trackers" / "child.toml").write_text(
        'extends = "base"\ndescription = "child"\n[params]\npadding = 2.5\n')
    (tmp_path / "trackers" / "loop.toml").write_text('extends = "loop"\nkind = "opencv"\n')
    return SpecRegistry(tmp_path / "trackers", tmp_path)


def test_inheritance_merges_tables_and_child_wins(tmp_path):
    spec = _registry(tmp_path).resolve("child")
    assert spec.params == {"algorithm": "csrt", "padding": 2.5}
    assert spec.kind == "opencv" and spec.description == "child"


def test_dataset_overrides_apply_by_family(tmp_path):
    reg = _registry(tmp_path)
    assert dataset_family("synthetic-trackingnet") == "trackingnet"
    assert reg.resolve("base", dataset="trackingnet").params["padding"] == 3
    assert reg.resolve("base", dataset="synthetic-trackingnet-test").params["padding"] == 3
    assert reg.resolve("base", dataset="lasot").params["padding"] == 1


def test_hash_follows_parameters_not_names_or_trust(tmp_path):
    reg = _registry(tmp_path)
    base, child = reg.resolve("base"), reg.resolve("child")
    assert base.hash != child.hash
    assert reg.resolve("child", overrides={"params": {"padding": 1}}).hash == base.hash
    trusted = reg.resolve("base", overrides={"model": {"trust_checkpoint": True}})
    assert trusted.model["trust_checkpoint"] is True
    assert trusted.hash == reg.resolve("base", overrides={"model": {}}).hash


def test_unknown_name_and_loops_are_clear_errors(tmp_path):
    reg = _registry(tmp_path)
    with pytest.raises(ConfigError, match="unknown tracker 'nope'"):
        reg.resolve("nope")
    with pytest.raises(ConfigError, match="inheritance loop"):
        reg.resolve("loop")
