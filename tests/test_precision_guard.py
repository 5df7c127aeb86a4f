"""The precision guard: bf16 is refused on a CPU without native bf16 (emulated: slower than fp32
and still not exact), allowed where the CPU has it, and only warned about when the user forces
it. The probe reads instruction-set flags; nothing assumes AMX."""

from __future__ import annotations

import logging

import pytest
import torch

from mfv2bench import devices
from mfv2bench.devices import (ALLOW_EMULATED_BF16_ENV, CpuFeatures, ReducedPrecisionError,
                               cpu_features, parse_cpuinfo, require_native_bf16)
from mfv2bench.errors import ConfigError
from mfv2bench.speed.model_latency import check_precision
from mfv2bench.trackers.mixformerv2.model import build_model
from mfv2bench.trackers.mixformerv2.runtimes import make_engine

TINY = {"embed_dim": 32, "num_heads": 2, "depth": 1, "mlp_ratio": 2.0, "patch_size": 16,
        "template_size": 32, "search_size": 64, "num_bins": 8}
X86 = """processor\t: 0
vendor_id\t: GenuineIntel
model\t\t: 143
model name\t: Intel(R) Xeon(R) Platinum 8480+
flags\t\t: fpu sse2 avx2 fma avx512f avx512bw avx512_vnni {extra}
processor\t: 1
flags\t\t: something else
"""


def features(*flags: str, source: str | None = "/proc/cpuinfo") -> CpuFeatures:
    return CpuFeatures(model="Test CPU", flags=frozenset(flags), source=source)


@pytest.fixture
def no_bf16(monkeypatch):
    """A CPU with AVX-512 but without any bf16 instruction (e.g. Skylake-SP, Zen 3)."""
    monkeypatch.delenv(ALLOW_EMULATED_BF16_ENV, raising=False)
    monkeypatch.setattr(devices, "cpu_features", lambda: features("avx2", "avx512f", "avx512bw"))


def test_cpuinfo_parsing_x86_and_arm():
    model, flags = parse_cpuinfo(X86.format(extra="avx512_bf16 amx_tile amx_bf16 amx_int8"))
    assert model == "Intel(R) Xeon(R) Platinum 8480+"  # not the numeric 'model' line
    assert {"avx512_bf16", "amx_bf16"} <= flags and "something" not in flags
    cpu = CpuFeatures(model=model, flags=flags, source="x")
    assert cpu.native_bf16 and cpu.bf16_via == "amx_bf16" and cpu.amx
    assert cpu.int8_via == "amx_int8" and "native bf16 via amx_bf16" in cpu.describe()
    arm = "processor\t: 0\nFeatures\t: fp asimd asimddp bf16 i8mm sve\nCPU part\t: 0xd40\n"
    _, arm_flags = parse_cpuinfo(arm)
    assert CpuFeatures(model="arm", flags=arm_flags, source="x").bf16_via == "bf16"


def test_avx512_bf16_without_amx_is_native():
    """Zen 4 / Cooper Lake: AVX512-BF16 and no AMX tile unit: native, AMX not assumed."""
    cpu = CpuFeatures(model="m", flags=parse_cpuinfo(X86.format(extra="avx512_bf16"))[1],
                      source="x")
    assert cpu.native_bf16 and cpu.bf16_via == "avx512_bf16" and not cpu.amx


def test_probe_of_a_file(tmp_path):
    info = tmp_path / "cpuinfo"
    info.write_text(X86.format(extra=""))
    cpu = cpu_features(str(info))
    assert cpu.model.startswith("Intel") and not cpu.native_bf16 and cpu.source == str(info)
    assert cpu_features(str(tmp_path / "absent")).source in (None, "sysctl")


def test_unreadable_flags_count_as_not_native():
    cpu = features(source=None)
    assert not cpu.native_bf16 and "flags unknown" in cpu.describe()


def test_refused_without_native_bf16(no_bf16):
    with pytest.raises(ReducedPrecisionError) as err:
        require_native_bf16("cpu", what="runtime 'bf16'")
    msg = str(err.value)
    assert "runtime 'bf16'" in msg and "Test CPU" in msg and "emulated" in msg
    assert ALLOW_EMULATED_BF16_ENV in msg and isinstance(err.value, ConfigError)


def test_allowed_with_native_bf16(monkeypatch):
    monkeypatch.delenv(ALLOW_EMULATED_BF16_ENV, raising=False)
    monkeypatch.setattr(devices, "cpu_features", lambda: features("avx512f", "avx512_bf16"))
    assert require_native_bf16("cpu").bf16_via == "avx512_bf16"


def test_forced_is_warned_not_refused(no_bf16, monkeypatch, caplog):
    with caplog.at_level(logging.WARNING, logger="mfv2bench.devices"):
        assert require_native_bf16("cpu", allow_emulated=True) is not None
    assert "no native bf16" in caplog.text and "forced" in caplog.text
    monkeypatch.setenv(ALLOW_EMULATED_BF16_ENV, "1")
    assert require_native_bf16("cpu") is not None
    with pytest.raises(ReducedPrecisionError):  # an explicit False wins over the variable
        require_native_bf16("cpu", allow_emulated=False)


def test_cuda_devices_are_not_judged_by_cpu_flags(no_bf16):
    assert require_native_bf16("cuda:0") is None


def test_tracker_runtimes_refuse_bf16_but_not_exact_or_int8(no_bf16):
    model = build_model(dict(TINY)).eval()
    for runtime in ("bf16", "compile-bf16"):
        with pytest.raises(ReducedPrecisionError, match=f"runtime '{runtime}'"):
            make_engine(model, runtime)
    with torch.inference_mode():
        for runtime in ("eager", "sdpa"):  # exact runtimes never look at the flags
            make_engine(model, runtime)


def test_tracker_bf16_builds_with_native_bf16(monkeypatch):
    monkeypatch.delenv(ALLOW_EMULATED_BF16_ENV, raising=False)
    monkeypatch.setattr(devices, "cpu_features", lambda: features("amx_bf16", "amx_tile"))
    engine = make_engine(build_model(dict(TINY)).eval(), "bf16")
    assert engine.autocast_dtype == torch.bfloat16


def test_speed_precision_bf16_refused_without_native(no_bf16):
    with pytest.raises(ReducedPrecisionError, match="--precision bf16"):
        check_precision("bf16", "cpu")
    check_precision("fp32", "cpu")
