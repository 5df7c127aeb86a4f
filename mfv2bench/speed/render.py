"""Speed results as small text tables (the CLI echoes them; the report may reuse the frames).
Every table says which measure it shows: model latency and end-to-end speed are never mixed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from .store import SpeedResult


def _r(x: Any, digits: int = 2) -> Any:
    return round(float(x), digits) if isinstance(x, (int, float)) and x is not None else x


def summary_frame(results: list[SpeedResult]) -> pd.DataFrame:
    """One row per result: model latency (median/p90/p99/mean ms, FPS) and end-to-end FPS."""
    rows = []
    for r in results:
        lat = r.model_latency or {}
        trk = r.tracking or {}
        rows.append({
            "tracker": r.tracker,
            "device": r.device,
            "threads": r.threads,
            "batch": r.batch,
            "precision": r.precision,
            "runtime": r.runtime,
            "weights": r.weights,
            "model_median_ms": _r(lat.get("median_ms")),
            "model_p90_ms": _r(lat.get("p90_ms")),
            "model_p99_ms": _r(lat.get("p99_ms")),
            "model_mean_ms": _r(lat.get("mean_ms")),
            "model_fps": _r(lat.get("fps"), 1),
            "e2e_fps": _r(trk.get("fps"), 1),
            "e2e_frames": trk.get("frames"),
            "decode_ms": _r(1000.0 * trk["decode_s"] / trk["frames"]) if trk.get("frames") else None,
            "conditions": r.conditions + (", busy" if r.manifest.get("busy") else ""),
        })
    return pd.DataFrame(rows)


def summary_text(results: list[SpeedResult]) -> str:
    """Summary table with a legend naming the two measures."""
    if not results:
        return "no speed results"
    table = summary_frame(results).astype(object).where(lambda f: f.notna(), "-").to_string(index=False)
    legend = ("model_*: model latency, synthetic inputs, network only, median/p90/p99/mean ms, "
              "fps = 1000/median.\n"
              "e2e_fps: end-to-end tracking speed over real frames (crop + forward + "
              "post-processing), frame 0 excluded, frames / total time; decode_ms: image "
              "decoding per frame, not included.\n"
              "busy: the load average exceeded the cores during the run (timings inflated).")
    return f"{table}\n{legend}"


def breakdown_text(result: SpeedResult) -> str:
    """Component breakdown: params (M), GFLOPs, GMACs, median ms and share of the step."""
    if not result.breakdown:
        return ""
    frame = pd.DataFrame([{
        "component": row["component"],
        "params_M": _r(row["mparams"], 3),
        "GFLOPs": _r(row["gflops"], 3),
        "GMACs": _r(row["gmacs"], 3),
        "median_ms": _r(row["median_ms"], 3),
        "share": f"{100 * row['share']:.1f}%" if row.get("share") is not None else "-",
        "how": row["how"],
    } for row in result.breakdown])
    head = (f"{result.tracker}: component breakdown ({result.device}, {result.threads} "
            f"thread(s), batch {result.batch}, {result.precision}, {result.weights})")
    return head + "\n" + frame.to_string(index=False)


def scaling_text(result: SpeedResult) -> str:
    """Thread- and batch-scaling tables of model latency."""
    parts = []
    if result.thread_scaling:
        frame = pd.DataFrame(result.thread_scaling).round(2)
        parts.append(f"{result.tracker}: thread scaling (CPU, model latency)\n"
                     + frame.to_string(index=False))
    if result.batch_scaling:
        frame = pd.DataFrame(result.batch_scaling).round(2)
        parts.append(f"{result.tracker}: batch scaling ({result.device}, model latency)\n"
                     + frame.to_string(index=False))
    return "\n\n".join(parts)


def eval_timings_text(rows: list[dict[str, Any]]) -> str:
    """Timings recorded by eval runs, each with its conditions (never shown as speed)."""
    if not rows:
        return "no eval runs with timing files"
    frame = pd.DataFrame([{
        "tracker": r["tracker"], "run": Path(r["run"]).name, "conditions": r["conditions"],
        "sequences": r["sequences"], "frames": r["frames"],
        "fps_in_run": _r(r["fps"], 1), "median_ms": _r(r["per_frame_ms"]["median_ms"]),
    } for r in rows])
    return (frame.to_string(index=False) + "\nTimings recorded inside eval runs: contended when "
            "workers ran in parallel; not the tracker's speed (measure it with `mfv2bench speed`).")
