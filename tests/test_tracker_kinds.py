"""Tracker kinds: the interface per kind, per-kind spec validation, and the spec hash as the hash
of the effective configuration (code defaults included)."""

from __future__ import annotations

import dataclasses
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from mfv2bench.errors import ConfigError
from mfv2bench.hashing import stable_hash
from mfv2bench.trackers.kinds import (KINDS, Capabilities, TrackerKind, WeightsInfo, all_runtimes,
                                      get_kind, kind_of)
from mfv2bench.trackers.mixformerv2 import config as mfv2_config
from mfv2bench.trackers.specs import SpecRegistry

REPO_TRACKERS = Path(__file__).resolve().parents[1] / "trackers"


@pytest.fixture
def registry(workspace):
    for spec in REPO_TRACKERS.glob("*.toml"):
        shutil.copy(spec, workspace / "trackers")
    return SpecRegistry(workspace / "trackers", workspace)


def _write(registry: SpecRegistry, name: str, text: str) -> None:
    (registry.folder / f"{name}.toml").write_text(text)
    SpecRegistry.__init__(registry, registry.folder, registry.workspace_root)


def test_every_registered_kind_answers_the_interface(registry):
    _write(registry, "mine", 'kind = "python"\n[model]\nfactory = "runner_helpers:build"\n'
                             '[params]\ndelay = 0.0\n')
    specs = {"mixformerv2": registry.resolve("mfv2-s"), "opencv": registry.resolve("csrt"),
             "python": registry.resolve("mine")}
    assert set(specs) == set(KINDS)
    for name, spec in specs.items():
        kind = kind_of(spec)
        assert isinstance(kind, TrackerKind) and kind.name == name and kind is get_kind(name)
        eff = kind.effective_config(spec)
        assert eff["kind"] == name and spec.hash == stable_hash(eff)
        assert isinstance(kind.capabilities(spec), Capabilities)
        assert isinstance(kind.weights(spec), WeightsInfo)
    assert set(mfv2_config.RUNTIMES) <= set(all_runtimes())


def test_weights_info_and_manifest_section(registry, workspace):
    mfv2 = registry.resolve("mfv2-s")
    kind = kind_of(mfv2)
    info = kind.weights(mfv2, sha256=True)
    assert info.path == workspace / "checkpoints" / "mixformerv2_small.pth.tar"
    assert not info.present and not info.random and info.sha256 is None
    assert info.to_manifest() == {"path": str(info.path), "sha256": None}
    assert "checkpoint not found" in kind.missing_weights(mfv2)
    info.path.write_bytes(b"not really weights")
    present = kind.weights(mfv2, sha256=True)
    assert present.present and len(present.sha256) == 64 and kind.missing_weights(mfv2) is None
    assert kind.weights(mfv2).sha256 is None  # hashing the file only when asked

    twin = kind.random_weights_spec(mfv2)
    assert kind.weights(twin).to_manifest() == {"random_weights": True, "seed": 0}
    assert twin.hash != mfv2.hash and kind.missing_weights(twin) is None
    assert kind.weights(registry.resolve("mfv2-s-random")).random

    csrt = registry.resolve("csrt")
    assert kind_of(csrt).weights(csrt).to_manifest() is None
    assert kind_of(csrt).missing_weights(csrt) is None
    assert kind_of(csrt).random_weights_spec(csrt) is csrt


def test_capabilities_and_run_settings(registry):
    mfv2, csrt = registry.resolve("mfv2-s"), registry.resolve("csrt")
    caps = kind_of(mfv2).capabilities(mfv2)
    assert caps.has_network and caps.batch and caps.cached and "cuda" in caps.devices
    assert set(caps.runtimes) == set(mfv2_config.RUNTIMES)
    cv_caps = kind_of(csrt).capabilities(csrt)
    assert not cv_caps.has_network and cv_caps.devices == ("cpu",) and not cv_caps.runtimes

    k = kind_of(mfv2)
    full = k.run_settings(mfv2, runtime="sdpa", threads=2, cached=False)
    assert full.params["runtime"] == "sdpa" and full.params["cached"] is False
    assert k.runtime_of(full) == "sdpa" and k.runtime_of(mfv2) == "eager"
    assert kind_of(csrt).run_settings(csrt, runtime="sdpa") is csrt
    assert kind_of(csrt).runtime_of(csrt) is None


def test_precision_label_never_calls_reduced_precision_fp32(registry):
    k = get_kind("mixformerv2")
    spec = registry.resolve("mfv2-s")
    assert k.precision_of(spec, "fp32") == "fp32"
    assert k.precision_of(k.run_settings(spec, runtime="bf16"), "fp32") == "bf16"
    assert k.precision_of(registry.resolve("mfv2-s-bf16"), "fp32") == "bf16"
    assert k.precision_of(k.run_settings(spec, runtime="compile-bf16"), "fp32") == "bf16"
    assert k.precision_of(registry.resolve("mfv2-s-int8"), "fp32") == "int8"
    csrt = registry.resolve("csrt")
    assert kind_of(csrt).precision_of(csrt, "fp32") == "fp32"


@pytest.mark.parametrize("text,match", [
    ('extends = "mfv2-s"\n[params]\nsearch_factr = 4.0\n', "unknown key 'search_factr' in \\[params\\]"),
    ('extends = "mfv2-s"\n[model]\nvarient = "small"\n', "unknown key 'varient' in \\[model\\]"),
    ('extends = "mfv2-s"\ntypo = 1\n', "unknown key 'typo' in the top level"),
    ('extends = "mfv2-s"\n[model]\ndepth = 9\n', "depth must be in 1..4"),
    ('extends = "mfv2-s"\n[params]\nattention = "flash"\n', "attention must be one of"),
    ('kind = "opencv"\n[params]\nalgorithm = "csrt"\npad = 1\n', "unknown key 'pad'"),
    ('kind = "opencv"\n[params]\nalgorithm = "csrt"\npadding = "wide"\n', "padding must be float"),
    ('kind = "opencv"\n[params]\nalgorithm = "kcf"\npadding = 2.0\n', "unknown key 'padding'"),
    ('kind = "opencv"\n[params]\nalgorithm = "nope"\n', "unknown OpenCV algorithm"),
    ('kind = "opencv"\n[model]\ncheckpoint = "x"\n[params]\nalgorithm = "csrt"\n', "unknown key 'checkpoint'"),
    ('kind = "python"\n[model]\nfactory = "no_colon"\n', "factory must be 'module:callable'"),
])
def test_unknown_or_bad_keys_fail_at_resolve_naming_file_and_key(registry, text, match):
    _write(registry, "bad", text)
    with pytest.raises(ConfigError, match=match) as exc:
        registry.resolve("bad")
    assert "bad.toml" in str(exc.value)


def test_dataset_overrides_are_validated_too(registry):
    # every [dataset.*] override is checked at resolve, whichever data set is asked for (issue
    # 11: a bad override fails before any run, naming the file, the key and the override)
    _write(registry, "bad", 'extends = "mfv2-s"\n[dataset.trackingnet.params]\nsearch_factr = 4\n')
    for dataset in ("lasot", "trackingnet", None):
        with pytest.raises(ConfigError, match=r"search_factr.*\[dataset.trackingnet\]"):
            registry.resolve("bad", dataset=dataset)


def test_opencv_params_reach_the_tracker(registry):
    _write(registry, "wide", 'kind = "opencv"\n[params]\nalgorithm = "csrt"\npadding = 2\n')
    spec = registry.resolve("wide")
    assert spec.effective_config["params"]["padding"] == 2.0
    tracker = kind_of(spec).build(spec)
    assert tracker.options == {"padding": 2.0}


def test_same_effective_values_declared_differently_hash_equal(registry):
    base = registry.resolve("mfv2-s")
    _write(registry, "explicit", 'extends = "mfv2-s"\n[model]\nkeep_layers = [0, 1, 2, 3]\n'
                                 '[params]\nsearch_size = 224\ntemplate_size = 112\n'
                                 'normalize_mean = [0.485, 0.456, 0.406]\nthreads = 0\n')
    explicit = registry.resolve("explicit")
    assert explicit.hash != base.hash  # threads = 0 differs from None
    _write(registry, "explicit", 'extends = "mfv2-s"\n[model]\nkeep_layers = [0, 1, 2, 3]\n'
                                 'trust_checkpoint = true\n'
                                 '[params]\nsearch_size = 224\ntemplate_size = 112\n'
                                 'normalize_mean = [0.485, 0.456, 0.406]\nsearch_factor = 4.4\n')
    assert registry.resolve("explicit").hash == base.hash
    _write(registry, "depth", 'extends = "mfv2-s"\n[model]\ndepth = 4\n')
    assert registry.resolve("depth").hash == base.hash
    # names, descriptions and load-time consent stay out of the hash
    _write(registry, "renamed", 'extends = "mfv2-s"\ndescription = "another name"\n')
    assert registry.resolve("renamed").hash == base.hash
    # the opencv default written out hashes like the default left implicit
    default = kind_of(registry.resolve("csrt")).effective_config(registry.resolve("csrt"))
    padding = default["params"]["padding"]
    _write(registry, "csrt2", f'kind = "opencv"\n[params]\nalgorithm = "CSRT"\npadding = {padding}\n')
    assert registry.resolve("csrt2").hash == registry.resolve("csrt").hash


def test_changed_code_defaults_change_the_hash(registry, monkeypatch):
    small, base = registry.resolve("mfv2-s").hash, registry.resolve("mfv2-b").hash
    csrt = registry.resolve("csrt").hash
    monkeypatch.setitem(mfv2_config.VARIANTS["small"], "num_bins", 48)
    assert registry.resolve("mfv2-s").hash != small
    assert registry.resolve("mfv2-b").hash == base
    monkeypatch.undo()
    assert registry.resolve("mfv2-s").hash == small

    record = dataclasses.replace(mfv2_config.WEIGHTS["small"], mean=(0.5, 0.5, 0.5))
    monkeypatch.setitem(mfv2_config.WEIGHTS, "small", record)
    assert registry.resolve("mfv2-s").hash != small
    monkeypatch.undo()

    # a TrackerParams default (the dataclass default seen by its constructor) that a spec
    # leaves implicit
    _write(registry, "bare", 'kind = "mixformerv2"\n[model]\nvariant = "small"\n'
                             'random_weights = true\n')
    bare = registry.resolve("bare").hash
    defaults = list(mfv2_config.TrackerParams.__init__.__defaults__)
    names = [f.name for f in dataclasses.fields(mfv2_config.TrackerParams)]
    defaults[names.index("clip_margin")] = 5
    monkeypatch.setattr(mfv2_config.TrackerParams.__init__, "__defaults__", tuple(defaults))
    assert mfv2_config.TrackerParams().clip_margin == 5
    assert registry.resolve("bare").hash != bare
    assert registry.resolve("mfv2-s").hash == small  # declares clip_margin = 10 (in _mfv2)
    assert registry.resolve("csrt").hash == csrt


def test_typed_model_config_is_checked_at_construction():
    cfg = mfv2_config.MixFormerV2Config.from_dict({"variant": "small"})
    assert cfg.mlp_hidden_dim == 768 and cfg.head_dim == 64
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.depth = 2  # type: ignore[misc]
    with pytest.raises(ConfigError, match="multiple of patch_size"):
        mfv2_config.MixFormerV2Config.from_dict({"variant": "small", "search_size": 230})
    with pytest.raises(ConfigError, match="lacks"):
        mfv2_config.MixFormerV2Config.from_dict({"embed_dim": 64})
    with pytest.raises(ConfigError, match="sha256"):
        mfv2_config.VariantWeights("x", "x.pth", "abc", (0, 0, 0), (1, 1, 1), 112, 224)
    for name, record in mfv2_config.WEIGHTS.items():
        assert (record.template_size, record.search_size) == (
            mfv2_config.VARIANTS[name]["template_size"], mfv2_config.VARIANTS[name]["search_size"])


def test_specs_resolve_and_hash_without_torch(registry):
    code = ("import sys\nfrom mfv2bench.trackers.specs import SpecRegistry\n"
            f"r = SpecRegistry({str(registry.folder)!r}, {str(registry.workspace_root)!r})\n"
            "[r.resolve(n).hash for n in r.names()]\n"
            "from mfv2bench.trackers.kinds import all_runtimes; all_runtimes()\n"
            "assert 'torch' not in sys.modules, 'torch imported'\n")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
