"""What the tracker specs of a workspace hold: one row per spec, or one spec fully resolved.

Returns plain data for ``mfv2bench trackers list|show`` (and notebooks); prints nothing.
Specs whose name starts with ``_`` are base specs, only meant to be extended.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .specs import ResolvedSpec, SpecRegistry


def spec_rows(registry: SpecRegistry) -> list[dict[str, Any]]:
    """One summary row per spec: name, kind, what it extends, description, hash, file."""
    rows = []
    for name in registry.names():
        spec = registry.resolve(name)
        path, raw = registry._raw[name]
        rows.append({
            "name": name,
            "kind": spec.kind,
            "extends": raw.get("extends"),
            "base_spec": name.startswith("_"),
            "description": spec.description,
            "hash": spec.hash,
            "file": str(path),
        })
    return rows


def describe_spec(registry: SpecRegistry, name: str, dataset: str | None = None) -> dict[str, Any]:
    """A spec resolved for ``dataset`` (inheritance and per-data-set overrides applied), with the
    effective parameters the tracker will use (defaults filled in) and its checkpoint status."""
    spec = registry.resolve(name, dataset=dataset)
    out = spec.to_dict()
    out["base_spec"] = name.startswith("_")
    if spec.kind == "mixformerv2":
        out.update(_mixformerv2_details(spec))
    return out


def _mixformerv2_details(spec: ResolvedSpec) -> dict[str, Any]:
    from .mixformerv2.tracker import TrackerParams, model_config_from_spec

    model_cfg = model_config_from_spec(dict(spec.model))
    params = TrackerParams.from_dict(dict(spec.params), strict=True, source=spec.name).to_dict()
    params["template_size"] = params["template_size"] or model_cfg["template_size"]
    params["search_size"] = params["search_size"] or model_cfg["search_size"]
    params["normalize_mean"] = list(params["normalize_mean"])
    params["normalize_std"] = list(params["normalize_std"])
    details: dict[str, Any] = {"model_config": model_cfg, "effective_params": params}
    if spec.model.get("random_weights"):
        details["weights"] = "random (latency only)"
    elif spec.model.get("checkpoint"):
        path = Path(spec.resolve_path(spec.model["checkpoint"]))
        details["weights"] = str(path)
        details["checkpoint_present"] = path.is_file()
    return details


def check_spec(registry: SpecRegistry, name: str, dataset: str | None = None,
               trust_checkpoint: bool = False) -> dict[str, Any]:
    """Build the tracker a spec describes (loading and key-checking its checkpoint), so that a
    bad or missing weights file shows up before a long evaluation; returns what was loaded."""
    from ..hashing import file_sha256
    from .specs import build_tracker

    overrides = {"model": {"trust_checkpoint": True}} if trust_checkpoint else None
    spec = registry.resolve(name, dataset=dataset, overrides=overrides)
    tracker = build_tracker(spec)
    out: dict[str, Any] = {"name": name, "kind": spec.kind, "dataset": dataset, "hash": spec.hash,
                           "ok": True}
    model = getattr(tracker, "model", None)
    if model is not None:
        out["parameters"] = int(sum(p.numel() for p in model.parameters()))
        out["state_dict_keys"] = len(model.state_dict())
    if spec.kind == "mixformerv2":
        if spec.model.get("random_weights"):
            out["weights"] = "random (latency only)"
        else:
            path = spec.resolve_path(spec.model["checkpoint"])
            out["weights"] = str(path)
            out["checkpoint_sha256"] = file_sha256(str(path))
    return out
