"""``--runtime auto``: the fastest exact runtime of a tracker on this machine, measured once and
remembered.

Which float32 runtime is fastest depends on the CPU (MKL runs AVX2 code on AMD CPUs, oneDNN and
ONNX Runtime's MLAS run AVX-512 there; on Intel they are close), on the library versions and on
the thread count, so the choice is measured: every exact runtime the tracker's kind lists for
the spec (``Capabilities.exact_runtimes``; reduced precision, bf16 or int8, is never a candidate)
is built and its per-frame network step timed in interleaved rounds, and the fastest median wins.

The choice is cached in ``<workspace>/.mfv2cache/auto-runtime.json`` (a machine-local file, not
a result), keyed by the CPU model, a hash of its instruction-set flags, the torch / onnxruntime /
mfv2bench versions, the kind, the model configuration (variant and shapes, not the weights), the
cached mode, the device and the thread count: any change of these measures again.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

from ..devices import cpu_features, is_cuda
from ..errors import ConfigError
from ..hashing import stable_hash
from ..provenance import package_versions
from ..trackers.kinds import kind_of
from ..trackers.specs import ResolvedSpec
from ..workspace import Workspace
from .model_latency import engine_step
from .timing import summarize_ms, time_callable

logger = logging.getLogger(__name__)

AUTO = "auto"
CACHE_FOLDER = ".mfv2cache"
CACHE_NAME = "auto-runtime.json"
# runtimes that run only on the CPU (their engines refuse a GPU)
CPU_ONLY_RUNTIMES = ("onnxruntime", "onednn")


@dataclass
class AutoChoice:
    """The runtime ``auto`` resolved to, with the timings it was chosen from."""

    runtime: str
    timings_ms: dict[str, float]
    key: dict[str, Any]
    key_hash: str
    measured_utc: str
    from_cache: bool = False
    failed: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def describe(self) -> str:
        times = ", ".join(f"{r} {ms:.2f} ms" for r, ms in sorted(self.timings_ms.items(),
                                                                 key=lambda kv: kv[1]))
        how = f"cached choice measured {self.measured_utc}" if self.from_cache else "measured now"
        return f"runtime auto -> {self.runtime} ({how}: {times})"


def cache_path(workspace: Workspace) -> Path:
    return workspace.root / CACHE_FOLDER / CACHE_NAME


def candidates(spec: ResolvedSpec, device: str) -> tuple[str, ...]:
    """The exact runtimes ``auto`` may pick for ``spec`` on ``device``."""
    caps = kind_of(spec).capabilities(spec)
    out = tuple(r for r in caps.exact_runtimes
                if not (is_cuda(device) and r in CPU_ONLY_RUNTIMES))
    if not out:
        raise ConfigError(f"--runtime auto: tracker kind {spec.kind!r} offers no exact runtimes "
                          "to choose from for this spec")
    return out


def machine_key(spec: ResolvedSpec, device: str, threads: int | None) -> dict[str, Any]:
    """Everything the fastest runtime depends on (see the module docstring)."""
    cpu = cpu_features()
    versions = package_versions()
    kind = kind_of(spec)
    model = kind.effective_config(spec).get("model", {})
    return {"cpu": cpu.model, "cpu_flags": stable_hash(sorted(cpu.flags), length=16),
            "torch": versions.get("torch"), "onnxruntime": versions.get("onnxruntime"),
            "mfv2bench": versions.get("mfv2bench"), "kind": kind.name,
            "model": stable_hash(model, length=16), "variant": model.get("variant"),
            "cached": bool(spec.params.get("cached", True)), "device": device,
            "threads": threads}


def measure_runtimes(spec: ResolvedSpec, runtimes: tuple[str, ...], device: str,
                     threads: int | None, rounds: int = 3, iters: int = 5, warmup: int = 2
                     ) -> tuple[dict[str, float], dict[str, str]]:
    """Median per-frame network-step milliseconds of each runtime (its tracker's own engine,
    synthetic inputs), timed in interleaved rounds; runtimes that fail to build or run are
    returned apart with their error."""
    kind = kind_of(spec)
    steps: dict[str, Callable[[], Any]] = {}
    failed: dict[str, str] = {}
    for runtime in runtimes:
        try:
            tracker = kind.build(kind.run_settings(spec, runtime=runtime, threads=threads),
                                 device=device)
            engine = getattr(tracker, "engine", None)
            if engine is None:
                raise ConfigError(f"{type(tracker).__name__} exposes no runtime engine")
            steps[runtime] = engine_step(engine, int(tracker.template_size),
                                         int(tracker.search_size), device=device)
            time_callable(steps[runtime], device=device, warmup=warmup, iters=1)
        except Exception as exc:  # noqa: BLE001 - one runtime failing must not stop the choice
            failed[runtime] = f"{type(exc).__name__}: {str(exc).splitlines()[0][:160]}"
            steps.pop(runtime, None)
            logger.info("runtime auto: %s not usable here: %s", runtime, failed[runtime])
    samples: dict[str, list[float]] = {r: [] for r in steps}
    for _ in range(rounds):
        for runtime, step in steps.items():
            samples[runtime] += time_callable(step, device=device, warmup=0, iters=iters)
    return {r: summarize_ms(s).median_ms for r, s in samples.items()}, failed


def _read_cache(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:  # a damaged cache is measured again, never fatal
        logger.warning("%s: unreadable (%s); measuring the runtimes again", path, exc)
        return {}
    return data if isinstance(data, dict) else {}


def _write_cache(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=1, sort_keys=True)
    os.replace(tmp, path)


def choose_runtime(spec: ResolvedSpec, workspace: Workspace, device: str = "cpu",
                   threads: int | None = None, remeasure: bool = False) -> AutoChoice:
    """The fastest exact runtime for ``spec`` here: from the cache when its key matches (and
    ``remeasure`` is off), else measured and stored."""
    key = machine_key(spec, device, threads)
    key_hash = stable_hash(key, length=20)
    path = cache_path(workspace)
    cache = _read_cache(path)
    entry = cache.get(key_hash)
    options = candidates(spec, device)
    if not remeasure and isinstance(entry, dict) and entry.get("runtime") in options \
            and entry.get("key") == key:
        return AutoChoice(runtime=entry["runtime"], timings_ms=dict(entry.get("timings_ms", {})),
                          key=key, key_hash=key_hash, measured_utc=entry.get("measured_utc", "?"),
                          from_cache=True, failed=dict(entry.get("failed", {})))
    timings, failed = measure_runtimes(spec, options, device, threads)
    if not timings:
        raise ConfigError("--runtime auto: no exact runtime could run here: "
                          + "; ".join(f"{r}: {e}" for r, e in failed.items()))
    best = min(timings, key=timings.get)
    choice = AutoChoice(runtime=best, timings_ms=timings, key=key, key_hash=key_hash,
                        measured_utc=datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
                        failed=failed)
    cache[key_hash] = {"runtime": best, "timings_ms": timings, "key": key,
                       "measured_utc": choice.measured_utc, "failed": failed}
    try:
        _write_cache(path, cache)
    except OSError as exc:  # the choice stands; only remembering it failed
        logger.warning("runtime auto: could not write %s: %s", path, exc)
    logger.info("%s", choice.describe())
    return choice
