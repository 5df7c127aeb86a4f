"""Timer, statistics, device checks and the CUDA-event path (mocked: no GPU on CI)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from mfv2bench import devices
from mfv2bench.devices import DeviceUnavailableError, check_device
from mfv2bench.errors import ConfigError
from mfv2bench.speed.timing import summarize_ms, time_callable


def test_summary_uses_median_and_tails_not_mean_of_rates():
    samples = [10.0] * 98 + [100.0, 1000.0]
    stats = summarize_ms(samples)
    assert stats.n == 100
    assert stats.median_ms == 10.0
    assert stats.fps == pytest.approx(100.0)  # 1000 / median, not mean of 1000/t
    assert stats.mean_ms == pytest.approx((980 + 1100) / 100)
    assert stats.p99_ms == pytest.approx(np.percentile(samples, 99))
    assert stats.p90_ms == 10.0
    assert stats.max_ms == 1000.0 and stats.min_ms == 10.0


def test_summary_rejects_empty_and_negative():
    with pytest.raises(ValueError):
        summarize_ms([])
    with pytest.raises(ValueError):
        summarize_ms([1.0, -2.0])


def test_warmup_calls_are_not_timed():
    calls = []
    samples = time_callable(lambda: calls.append(1), warmup=3, iters=7)
    assert len(calls) == 10
    assert len(samples) == 7
    assert all(s >= 0 for s in samples)


def test_min_time_extends_sampling_up_to_max_iters():
    samples = time_callable(lambda: sum(range(1000)), warmup=0, iters=2, min_time_s=10.0,
                            max_iters=6)
    assert len(samples) == 6


def test_bad_device_names():
    assert check_device("cpu") == "cpu"
    with pytest.raises(ConfigError):
        check_device("tpu")


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_cuda_without_gpu_is_a_clear_skip():
    with pytest.raises(DeviceUnavailableError, match="no CUDA GPU"):
        check_device("cuda")
    with pytest.raises(DeviceUnavailableError):
        time_callable(lambda: None, device="cuda:0", iters=1)


class _FakeEvent:
    """Stands in for torch.cuda.Event: elapsed time from a scripted GPU clock."""

    clock = [0.0]

    def __init__(self, enable_timing=False):
        assert enable_timing
        self.t = None
        self.synced = False

    def record(self, stream=None):
        _FakeEvent.clock[0] += 2.5
        self.t = _FakeEvent.clock[0]

    def synchronize(self):
        self.synced = True

    def elapsed_time(self, other):
        return other.t - self.t


def test_cuda_path_uses_events_and_synchronizes(monkeypatch):
    syncs = []
    made = []

    class Event(_FakeEvent):
        def __init__(self, enable_timing=False):
            super().__init__(enable_timing)
            made.append(self)

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    monkeypatch.setattr(torch.cuda, "Event", Event)
    monkeypatch.setattr(torch.cuda, "synchronize", lambda device=None: syncs.append(device))
    monkeypatch.setattr(torch.cuda, "current_stream", lambda device=None: None)

    calls = []
    samples = time_callable(lambda: calls.append(1), device="cuda", warmup=2, iters=4)
    assert len(calls) == 6
    assert samples == [2.5] * 4  # start/end event pairs, GPU clock
    assert len(made) == 8
    assert all(e.synced for e in made[1::2])  # every end event waited for
    assert len(syncs) >= 2  # before the first timed call and after the last
    assert devices.is_cuda("cuda:1") and not devices.is_cuda("cpu")


def test_interleaved_rounds_alternate_between_callables():
    from mfv2bench.speed.timing import time_interleaved

    order = []
    samples = time_interleaved({"a": lambda: order.append("a"), "b": lambda: order.append("b")},
                               warmup=1, iters=4, rounds=2)
    assert order == ["a", "b"] + ["a", "a", "b", "b"] * 2  # warm-up, then 2 rounds of 2 calls
    assert len(samples["a"]) == len(samples["b"]) == 4
    with pytest.raises(ValueError):
        time_interleaved({"a": lambda: None}, rounds=0)
