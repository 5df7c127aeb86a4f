"""``--runtime auto``: only exact runtimes are candidates, the choice is the fastest measured,
cached per machine key and measured again when the key changes (timings are monkeypatched:
nothing here depends on how fast this machine is)."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from mfv2bench.cli import main
from mfv2bench.errors import ConfigError
from mfv2bench.speed import auto_runtime
from mfv2bench.speed.store import load_speed_results
from mfv2bench.trackers.mixformerv2.config import REDUCED_PRECISION_RUNTIMES
from mfv2bench.trackers.specs import SpecRegistry
from mfv2bench.workspace import load_workspace

SPEC = """kind = "mixformerv2"
description = "micro test network"
[model]
variant = "micro"
depth = 1
random_weights = true
"""


@pytest.fixture
def ws(workspace):
    (workspace / "trackers" / "tiny.toml").write_text(SPEC)
    (workspace / "trackers" / "tiny-full.toml").write_text(
        SPEC + "[params]\ncached = false\n")
    (workspace / "trackers" / "lk.toml").write_text('kind = "opencv"\n[params]\nalgorithm = "mil"\n')
    return load_workspace(workspace)


def _spec(ws, name="tiny"):
    return SpecRegistry(ws.trackers_dir, ws.root).resolve(name)


class FakeTimer:
    """Stands in for ``measure_runtimes``: fixed timings, counts the calls and what was asked."""

    def __init__(self, timings: dict[str, float]):
        self.timings, self.calls = dict(timings), []

    def __call__(self, spec, runtimes, device, threads, **_):
        self.calls.append(tuple(runtimes))
        return {r: self.timings.get(r, 100.0) for r in runtimes}, {}


def test_only_exact_runtimes_are_candidates(ws):
    cached = auto_runtime.candidates(_spec(ws), "cpu")
    assert "onednn" in cached and "eager" in cached and "onnxruntime" in cached
    assert not set(cached) & set(REDUCED_PRECISION_RUNTIMES)
    full = auto_runtime.candidates(_spec(ws, "tiny-full"), "cpu")
    assert "onednn" not in full and "eager" in full  # onednn is the cached step only
    gpu = auto_runtime.candidates(_spec(ws), "cuda")
    assert not set(gpu) & {"onnxruntime", "onednn"}
    with pytest.raises(ConfigError, match="no exact runtimes"):
        auto_runtime.candidates(_spec(ws, "lk"), "cpu")


def test_fastest_picked_cached_and_remeasured_when_key_changes(ws, monkeypatch):
    # bf16 reported fastest: it must never be picked (it is not even asked for)
    timer = FakeTimer({"eager": 9.0, "onednn": 3.0, "onnxruntime": 4.0, "bf16": 0.5})
    monkeypatch.setattr(auto_runtime, "measure_runtimes", timer)
    spec = _spec(ws)
    first = auto_runtime.choose_runtime(spec, ws, threads=1)
    assert first.runtime == "onednn" and not first.from_cache
    assert all(not set(c) & set(REDUCED_PRECISION_RUNTIMES) for c in timer.calls)
    stored = json.loads(auto_runtime.cache_path(ws).read_text())
    assert stored[first.key_hash]["runtime"] == "onednn"
    assert stored[first.key_hash]["key"]["threads"] == 1

    again = auto_runtime.choose_runtime(spec, ws, threads=1)
    assert again.runtime == "onednn" and again.from_cache and len(timer.calls) == 1

    # another thread count, another library version: new keys, measured again
    timer.timings["onnxruntime"] = 1.0
    other = auto_runtime.choose_runtime(spec, ws, threads=2)
    assert other.runtime == "onnxruntime" and len(timer.calls) == 2
    real_versions = auto_runtime.package_versions
    monkeypatch.setattr(auto_runtime, "package_versions",
                        lambda: {**real_versions(), "torch": "99.0"})
    bumped = auto_runtime.choose_runtime(spec, ws, threads=1)
    assert not bumped.from_cache and bumped.key_hash != first.key_hash and len(timer.calls) == 3
    # both entries stay in the file
    assert {first.key_hash, other.key_hash, bumped.key_hash} <= set(
        json.loads(auto_runtime.cache_path(ws).read_text()))


def test_damaged_cache_is_measured_again(ws, monkeypatch):
    timer = FakeTimer({"eager": 1.0})
    monkeypatch.setattr(auto_runtime, "measure_runtimes", timer)
    path = auto_runtime.cache_path(ws)
    path.parent.mkdir(parents=True)
    path.write_text("{not json")
    assert auto_runtime.choose_runtime(_spec(ws), ws, threads=1).runtime == "eager"
    assert json.loads(path.read_text())  # rewritten whole


def test_measure_runtimes_times_real_engines(ws):
    """The real timer on the tiny network: every asked runtime gets a positive median."""
    timings, failed = auto_runtime.measure_runtimes(_spec(ws), ("eager", "onednn"), "cpu", 1,
                                                    rounds=1, iters=1, warmup=0)
    assert set(timings) | set(failed) == {"eager", "onednn"}
    assert "eager" in timings and all(ms > 0 for ms in timings.values())


def test_speed_runtime_auto_runs_the_choice(ws, monkeypatch):
    monkeypatch.setattr(auto_runtime, "measure_runtimes",
                        FakeTimer({"eager": 5.0, "sdpa": 2.0, "onednn": 7.0}))
    out = CliRunner().invoke(main, ["--workspace", str(ws.root), "speed", "--tracker", "tiny",
                                    "--runtime", "auto", "--threads", "1", "--iters", "1",
                                    "--warmup", "0", "--no-tracking"])
    assert out.exit_code == 0, out.output
    (res,) = load_speed_results(ws.results_dir, "tiny")
    assert res.runtime == "sdpa" and res.model_latency["runtime"] == "sdpa"
    assert res.manifest["runtime_auto"]["runtime"] == "sdpa"
    assert any(n.startswith("runtime auto -> sdpa") for n in res.notes)
