"""Device strings and CUDA checks, in one place for every layer (runner, speed, trackers).

A device is ``cpu``, ``cuda`` or ``cuda:N``. torch is imported only when a CUDA device is named
(it is heavy, and the CPU-only paths such as the OpenCV baselines never need it).
"""

from __future__ import annotations

from .errors import ConfigError


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


__all__ = ["DeviceUnavailableError", "check_device", "is_cuda", "parse_devices",
           "synchronize", "use_device"]
