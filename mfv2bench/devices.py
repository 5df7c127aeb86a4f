"""Device strings, CUDA checks and the CPU's precision capabilities, in one place for every
layer (runner, speed, trackers).

A device is ``cpu``, ``cuda`` or ``cuda:N``. torch is imported only when a CUDA device is named
or torch's own CPU capability is asked for (it is heavy, and the CPU-only paths such as the
OpenCV baselines never need it).

Reduced precision is never chosen for the user: ``require_native_bf16`` refuses bfloat16 on a
CPU without native bf16 instructions (AMX-BF16 or AVX512-BF16 on x86, the BF16 extension on
Arm), where it is emulated (slower than fp32, and still not exact), unless the user forces it
(``MFV2BENCH_ALLOW_EMULATED_BF16=1``), which logs a warning. Nothing assumes AMX.
"""

from __future__ import annotations

import logging
import os
import platform
import subprocess
import sys
from dataclasses import dataclass, field

from .errors import ConfigError

logger = logging.getLogger(__name__)


class DeviceUnavailableError(ConfigError):
    """A device was asked for that this machine does not have (e.g. CUDA without a GPU)."""


def is_cuda(device: str) -> bool:
    """True for ``cuda`` and ``cuda:N`` (and torch.device objects of those)."""
    return str(device).startswith("cuda")


def parse_devices(device: str) -> list[str]:
    """``cpu``, ``cuda``, ``cuda:0`` or ``cuda:0,cuda:1`` -> a checked list of devices."""
    devices = [d.strip().lower() for d in device.split(",") if d.strip()]
    if not devices:
        raise ConfigError("--device is empty")
    if len(set(devices)) != len(devices):
        raise ConfigError(f"--device lists a device twice: {device}")
    for d in devices:
        if d != "cpu" and not (d == "cuda" or (d.startswith("cuda:") and d[5:].isdigit())):
            raise ConfigError(f"unknown device {d!r} (use cpu, cuda, cuda:0 or cuda:0,cuda:1)")
    if "cpu" in devices and len(devices) > 1:
        raise ConfigError("--device mixes cpu and cuda devices")
    cuda = [d for d in devices if is_cuda(d)]
    if cuda:
        try:
            import torch  # heavy, optional for CPU-only runs
        except ImportError:
            raise ConfigError("CUDA devices need torch, which is not installed") from None
        if not torch.cuda.is_available():
            raise ConfigError(f"--device {device}: CUDA is not available on this machine "
                              "(no GPU or no CUDA build of torch); use --device cpu")
        count = torch.cuda.device_count()
        for d in cuda:
            if ":" in d and int(d[5:]) >= count:
                raise ConfigError(f"--device {d}: only {count} CUDA device(s) here")
    return devices


def check_device(device: str) -> str:
    """Return ``device`` if this machine can run on it; raise a clear error otherwise
    (``DeviceUnavailableError`` for a CUDA device without a GPU: callers skip, not fail)."""
    device = str(device)
    if device == "cpu":
        return device
    if not is_cuda(device):
        raise ConfigError(f"device must be 'cpu' or 'cuda[:N]', not {device!r}")
    import torch  # heavy, optional for CPU-only runs

    if not torch.cuda.is_available():
        built = torch.version.cuda or "no CUDA (CPU-only build)"
        raise DeviceUnavailableError(
            f"device {device!r} asked for, but no CUDA GPU is available here "
            f"(torch {torch.__version__}, built with {built}); GPU timings skipped"
        )
    index = torch.device(device).index or 0
    if index >= torch.cuda.device_count():
        raise DeviceUnavailableError(
            f"device {device!r} asked for, but only {torch.cuda.device_count()} GPU(s) exist"
        )
    return device


def synchronize(device: str) -> None:
    """Wait for queued GPU work (no-op on the CPU): a timing must include asynchronous work."""
    if is_cuda(device):
        import torch  # heavy, optional for CPU-only runs

        torch.cuda.synchronize(torch.device(device))


def use_device(device: str) -> None:
    """Make ``cuda:N`` this process's current CUDA device (no-op for ``cpu`` and bare ``cuda``),
    so that a worker's allocations land on the GPU it claimed."""
    if is_cuda(device) and ":" in str(device):
        import torch  # heavy, optional for CPU-only runs

        torch.cuda.set_device(device)


# ----------------------------------------------------------------------------------------------
# CPU precision capabilities

CPUINFO = "/proc/cpuinfo"
# flags that give native bf16 matrix arithmetic: x86 (/proc/cpuinfo 'flags'), Arm ('Features';
# macOS: sysctl hw.optional.arm.FEAT_BF16), best first
BF16_FLAGS = ("amx_bf16", "avx512_bf16", "bf16")
# int8 dot-product instructions (dynamic int8 quantisation runs without them, only slower)
INT8_FLAGS = ("amx_int8", "avx512_vnni", "avx_vnni", "i8mm", "asimddp")
# the flags printed beside a timing (what decides the speed of fp32 / bf16 / int8 matmuls)
PRECISION_FLAGS = ("avx2", "fma", "avx512f", "avx512bw", "avx512_bf16", "avx512_fp16",
                   "avx512_vnni", "avx_vnni", "amx_tile", "amx_bf16", "amx_int8", "asimd",
                   "asimddp", "bf16", "i8mm", "sve", "sve2")
ALLOW_EMULATED_BF16_ENV = "MFV2BENCH_ALLOW_EMULATED_BF16"


class ReducedPrecisionError(ConfigError):
    """A reduced precision was asked for that this machine would only emulate."""


@dataclass(frozen=True)
class CpuFeatures:
    """What the CPU offers for reduced precision, from its instruction-set flags.

    ``flags`` is empty and ``source`` None when nothing could be read (then nothing is native).
    """

    model: str
    flags: frozenset[str] = field(default_factory=frozenset)
    source: str | None = None
    machine: str = ""

    @property
    def bf16_via(self) -> str | None:
        """The flag that makes bf16 native here (None: bf16 would be emulated)."""
        return next((f for f in BF16_FLAGS if f in self.flags), None)

    @property
    def native_bf16(self) -> bool:
        return self.bf16_via is not None

    @property
    def amx(self) -> bool:
        return "amx_tile" in self.flags

    @property
    def int8_via(self) -> str | None:
        """The int8 dot-product instruction set available (None: int8 runs on plain SIMD)."""
        return next((f for f in INT8_FLAGS if f in self.flags), None)

    def precision_flags(self) -> list[str]:
        """The flags among ``PRECISION_FLAGS`` that this CPU has, in that order."""
        return [f for f in PRECISION_FLAGS if f in self.flags]

    def describe(self) -> str:
        """One line: model, the precision-relevant flags, native bf16 or not."""
        flags = " ".join(self.precision_flags()) or ("(flags unknown)" if self.source is None
                                                      else "(none of the SIMD flags listed)")
        bf16 = f"native bf16 via {self.bf16_via}" if self.native_bf16 else "no native bf16"
        return f"{self.model} | {flags} | {bf16}"

    def to_dict(self) -> dict[str, object]:
        return {"model": self.model, "machine": self.machine, "source": self.source,
                "flags": self.precision_flags(), "native_bf16": self.native_bf16,
                "bf16_via": self.bf16_via, "amx": self.amx, "int8_via": self.int8_via}


def parse_cpuinfo(text: str) -> tuple[str | None, frozenset[str]]:
    """(model name, flags) of the first processor in ``/proc/cpuinfo`` text (x86 'flags',
    Arm 'Features'; the model from 'model name', 'Model' or 'Hardware')."""
    model: str | None = None
    flags: frozenset[str] | None = None
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if not sep:
            continue
        key = key.strip().lower()
        if key in ("flags", "features") and flags is None:
            flags = frozenset(value.split())
        elif key in ("model name", "model", "hardware") and model is None and value.strip() \
                and not value.strip().isdigit():
            model = value.strip()
        if model is not None and flags is not None:
            break
    return model, flags or frozenset()


def _darwin_flags() -> frozenset[str]:
    """Apple silicon: the FEAT_BF16 / FEAT_I8MM sysctl keys, as the Arm flag names."""
    out = set()
    for key, flag in (("hw.optional.arm.FEAT_BF16", "bf16"), ("hw.optional.arm.FEAT_I8MM", "i8mm")):
        try:
            res = subprocess.run(["sysctl", "-n", key], capture_output=True, text=True, timeout=5)
        except (OSError, subprocess.SubprocessError):
            continue
        if res.returncode == 0 and res.stdout.strip() == "1":
            out.add(flag)
    return frozenset(out)


def cpu_features(cpuinfo: str = CPUINFO) -> CpuFeatures:
    """The CPU's model and instruction-set flags (``/proc/cpuinfo`` on Linux, sysctl on macOS;
    nothing elsewhere, which counts as no native reduced precision)."""
    machine = platform.machine()
    try:
        with open(cpuinfo, encoding="utf-8", errors="replace") as f:
            model, flags = parse_cpuinfo(f.read())
        return CpuFeatures(model=model or platform.processor() or machine or "unknown",
                           flags=flags, source=cpuinfo if flags else None, machine=machine)
    except OSError:
        pass
    if sys.platform == "darwin":
        return CpuFeatures(model=platform.processor() or machine or "unknown",
                           flags=_darwin_flags(), source="sysctl", machine=machine)
    return CpuFeatures(model=platform.processor() or machine or "unknown", machine=machine)


def torch_cpu_capability() -> str | None:
    """The SIMD level torch's CPU kernels were dispatched to (``AVX512``, ``AVX2``, ``DEFAULT``,
    ...); None where torch cannot say. It does not tell bf16 support (AVX512 covers CPUs
    without AVX512-BF16), so it is printed, never used to decide."""
    try:
        import torch  # heavy: only when asked

        return str(torch.backends.cpu.get_cpu_capability())
    except (ImportError, AttributeError, RuntimeError):
        return None


def emulated_bf16_allowed() -> bool:
    """Whether the user forced bf16 on a CPU without native bf16 (``MFV2BENCH_ALLOW_EMULATED_BF16``
    set to 1 / true / yes)."""
    return os.environ.get(ALLOW_EMULATED_BF16_ENV, "").strip().lower() in ("1", "true", "yes")


def require_native_bf16(device: str = "cpu", what: str = "bf16",
                        allow_emulated: bool | None = None) -> CpuFeatures | None:
    """Refuse bf16 on a CPU that would emulate it (``ReducedPrecisionError``), or warn when the
    user forces it (``allow_emulated``, default: the ``MFV2BENCH_ALLOW_EMULATED_BF16`` variable).
    CUDA devices are not judged here (None). Returns the CPU's features otherwise."""
    if is_cuda(device):
        return None
    cpu = cpu_features()
    if cpu.native_bf16:
        return cpu
    forced = emulated_bf16_allowed() if allow_emulated is None else allow_emulated
    seen = ("its flags could not be read" if cpu.source is None else
            f"none of {', '.join(BF16_FLAGS)} in {cpu.source}")
    why = (f"{what}: this CPU ({cpu.model}) has no native bf16 ({seen}; torch CPU capability "
           f"{torch_cpu_capability() or 'unknown'}), so bf16 would be emulated: slower than "
           "fp32 and still not exact")
    if forced:
        logger.warning("%s; running it anyway because it was forced (%s)", why,
                       "allow_emulated" if allow_emulated else f"{ALLOW_EMULATED_BF16_ENV}=1")
        return cpu
    raise ReducedPrecisionError(f"{why}. Use an exact fp32 runtime (eager, sdpa, compile, "
                                f"onnxruntime), or set {ALLOW_EMULATED_BF16_ENV}=1 to run it "
                                "anyway.")


__all__ = ["ALLOW_EMULATED_BF16_ENV", "BF16_FLAGS", "CpuFeatures", "DeviceUnavailableError",
           "ReducedPrecisionError", "check_device", "cpu_features", "emulated_bf16_allowed",
           "is_cuda", "parse_cpuinfo", "parse_devices", "require_native_bf16", "synchronize",
           "torch_cpu_capability", "use_device"]
