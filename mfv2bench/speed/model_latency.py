"""Model latency: the network alone on synthetic inputs at the tracker's template/search sizes,
after warm-up, under ``torch.inference_mode``, with fixed threads (CPU) or CUDA events (GPU).

This is *not* tracking speed (no crop, no decode, no post-processing); results carry the
``measure`` label so the two are never confused."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any, Callable

from ..devices import check_device, is_cuda, require_native_bf16
from ..errors import ConfigError
from ..threads import set_threads
from .timing import LatencyStats, summarize_ms, time_callable

MEASURE_MODEL = "model latency (synthetic inputs; network only; warm-up; inference mode)"

PRECISIONS = ("fp32", "fp16", "bf16")
MODES = ("cached", "full")


@dataclass
class ModelLatency:
    """One model-latency measurement with what was measured."""

    stats: LatencyStats
    mode: str
    batch: int
    device: str
    precision: str
    threads: int | None
    template_size: int
    search_size: int
    runtime: str
    warmup: int
    measure: str = MEASURE_MODEL

    @property
    def fps(self) -> float:
        return self.stats.fps

    def to_dict(self) -> dict[str, Any]:
        return {
            "measure": self.measure,
            "mode": self.mode,
            "runtime": self.runtime,
            "batch": self.batch,
            "device": self.device,
            "precision": self.precision,
            "threads": self.threads,
            "template_size": self.template_size,
            "search_size": self.search_size,
            "warmup": self.warmup,
            **{k: v for k, v in self.stats.to_dict().items()},
        }


def torch_dtype(precision: str):
    """torch dtype of a precision name ('fp32', 'fp16', 'bf16')."""
    import torch

    try:
        return {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}[precision]
    except KeyError:
        raise ConfigError(f"precision must be one of {PRECISIONS}, not {precision!r}") from None


def check_precision(precision: str, device: str) -> None:
    """A precision this device computes natively (bf16 on a CPU without native bf16 is refused
    unless forced: ``devices.require_native_bf16``)."""
    torch_dtype(precision)
    if precision == "fp16" and not is_cuda(device):
        raise ConfigError("fp16 timing is for CUDA only (CPU fp16 matmuls are emulated); "
                          "use fp32 or bf16 on the CPU")
    if precision == "bf16":
        require_native_bf16(device, what="--precision bf16")


def synthetic_inputs(template_size: int, search_size: int, batch: int = 1,
                     device: str = "cpu", precision: str = "fp32", seed: int = 0):
    """Normalised-looking random (template, online_template, search) tensors, NCHW."""
    import torch

    gen = torch.Generator().manual_seed(seed)
    dtype = torch_dtype(precision)

    def make(size: int):
        return torch.randn(batch, 3, size, size, generator=gen).to(device=device, dtype=dtype)

    return make(template_size), make(template_size), make(search_size)


def model_step(model: Any, template_size: int, search_size: int, *, batch: int = 1,
               mode: str = "cached", device: str = "cpu", precision: str = "fp32",
               compile: bool = False) -> Callable[[], Any]:
    """A no-argument callable running one per-frame network step of ``model``.

    ``cached``: templates are set once (``set_templates``) and each call runs
    ``forward_search`` -- the per-frame work of a tracker whose template side is cached.
    ``full``: each call runs ``forward(template, online_template, search)``.
    ``compile``: the per-call function goes through ``torch.compile`` (compiled on first call).
    """
    import torch

    if mode not in MODES:
        raise ConfigError(f"mode must be one of {MODES}, not {mode!r}")
    template, online, search = synthetic_inputs(template_size, search_size, batch, device,
                                                precision)
    if mode == "cached":
        if not (hasattr(model, "set_templates") and hasattr(model, "forward_search")):
            raise ConfigError(f"{type(model).__name__} has no cached template path "
                              "(set_templates / forward_search); use mode='full'")
        with torch.inference_mode():
            model.set_templates(template, online)

        def call(s):
            return model.forward_search(s)
        args: tuple = (search,)
    else:
        def call(t, o, s):
            return model(t, o, s)
        args = (template, online, search)
    fn = torch.compile(call, dynamic=False) if compile else call

    def step():
        with torch.inference_mode():
            return fn(*args)
    return step


def engine_step(engine: Any, template_size: int, search_size: int, *,
                device: str = "cpu") -> Callable[[], Any]:
    """A no-argument callable running one per-frame step of a tracker's runtime engine
    (``set_templates`` once, then ``step(search)``), so compiled / ONNX Runtime engines are
    timed exactly as the tracker runs them (batch 1, float32)."""
    import torch

    template, online, search = synthetic_inputs(template_size, search_size, 1, device, "fp32")
    with torch.inference_mode():
        engine.set_templates(template, online)

    def step():
        with torch.inference_mode():
            return engine.step(search)
    return step


def measure_engine_latency(engine: Any, template_size: int, search_size: int, *,
                           device: str = "cpu", threads: int | None = None, warmup: int = 5,
                           iters: int = 30, min_time_s: float = 0.0,
                           max_iters: int | None = None, runtime: str = "eager",
                           cached: bool = True) -> ModelLatency:
    """Model latency through a tracker's engine (see ``engine_step``); batch 1, fp32."""
    check_device(device)
    step = engine_step(engine, template_size, search_size, device=device)
    stats, used = measure_callable_latency(step, device=device, threads=threads, warmup=warmup,
                                           iters=iters, min_time_s=min_time_s,
                                           max_iters=max_iters)
    return ModelLatency(stats=stats, mode="cached" if cached else "full", batch=1,
                        device=device, precision="fp32",
                        threads=used if not is_cuda(device) else None,
                        template_size=template_size, search_size=search_size,
                        runtime=runtime, warmup=warmup)


def prepare_model(model: Any, device: str = "cpu", precision: str = "fp32") -> Any:
    """An eval-mode copy of ``model`` on ``device`` in ``precision`` (the caller's model is kept)."""
    dtype = torch_dtype(precision)
    return copy.deepcopy(model).to(device=device, dtype=dtype).eval()


def measure_callable_latency(step: Callable[[], Any], *, device: str = "cpu",
                             threads: int | None = None, warmup: int = 5, iters: int = 30,
                             min_time_s: float = 0.0, max_iters: int | None = None
                             ) -> tuple[LatencyStats, int | None]:
    """Latency stats of ``step`` with threads pinned on the CPU; returns (stats, threads used)."""
    check_device(device)
    used = set_threads(threads) if threads is not None else None
    if used is None and not is_cuda(device):
        import torch

        used = torch.get_num_threads()
    samples = time_callable(step, device=device, warmup=warmup, iters=iters,
                            min_time_s=min_time_s, max_iters=max_iters)
    return summarize_ms(samples), used


def measure_model_latency(model: Any, template_size: int, search_size: int, *,
                          batch: int = 1, device: str = "cpu", precision: str = "fp32",
                          threads: int | None = None, mode: str = "cached",
                          warmup: int = 5, iters: int = 30, min_time_s: float = 0.0,
                          max_iters: int | None = None, runtime: str = "eager",
                          copy_model: bool = True, compile: bool = False) -> ModelLatency:
    """Median/p90/p99/mean latency (ms) and FPS = 1000/median of one network step of ``model``.

    ``model`` needs ``forward(template, online_template, search)`` and, for ``mode='cached'``,
    ``set_templates`` + ``forward_search``. ``runtime`` is a label; ``compile`` runs the step
    through ``torch.compile`` (compilation happens in the warm-up calls, never timed).
    """
    check_device(device)
    check_precision(precision, device)
    if batch < 1:
        raise ConfigError(f"batch must be >= 1, not {batch}")
    net = prepare_model(model, device, precision) if copy_model else model
    step = model_step(net, template_size, search_size, batch=batch, mode=mode,
                      device=device, precision=precision, compile=compile)
    if compile and warmup < 1:
        warmup = 1  # the first call compiles
    stats, used = measure_callable_latency(step, device=device, threads=threads, warmup=warmup,
                                           iters=iters, min_time_s=min_time_s,
                                           max_iters=max_iters)
    return ModelLatency(stats=stats, mode=mode, batch=batch, device=device,
                        precision=precision, threads=used if not is_cuda(device) else None,
                        template_size=template_size, search_size=search_size,
                        runtime=runtime, warmup=warmup)
