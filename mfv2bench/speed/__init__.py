"""Latency measured properly: model latency (synthetic inputs, network only) and end-to-end
tracking speed (real frames), component breakdown, thread/batch scaling, the hardware manifest,
and the speed-accuracy table. Heavy modules (torch) are imported on first use."""

from __future__ import annotations

from importlib import import_module
from typing import Any

_EXPORTS = {
    "LatencyStats": "timing", "summarize_ms": "timing", "time_callable": "timing",
    "measure_model_latency": "model_latency", "ModelLatency": "model_latency",
    "measure_tracking_speed": "tracking", "TrackingSpeed": "tracking",
    "component_breakdown": "breakdown", "count_flops": "breakdown", "count_params": "breakdown",
    "thread_scaling": "scaling", "batch_scaling": "scaling",
    "hardware_manifest": "manifest",
    "SpeedResult": "store", "load_speed_results": "store", "save_speed_result": "store",
    "run_speed": "run", "SpeedOptions": "run",
    "speed_accuracy_table": "table",
    "eval_timing_summary": "eval_timings",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(import_module(f"{__name__}.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
