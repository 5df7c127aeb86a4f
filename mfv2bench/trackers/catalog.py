"""What the tracker specs of a workspace hold: one row per spec, or one spec fully resolved.

Returns plain data for ``mfv2bench trackers list|show`` (and notebooks); prints nothing.
Specs whose name starts with ``_`` are base specs, only meant to be extended.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from .kinds import kind_of
from .specs import SpecRegistry


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
    """A spec resolved for ``dataset`` (inheritance and per-data-set overrides applied), with its
    effective configuration (every value the tracker will use, defaults filled in: what the hash
    covers) and its weights status."""
    spec = registry.resolve(name, dataset=dataset)
    kind = kind_of(spec)
    out = spec.to_dict()
    out["base_spec"] = name.startswith("_")
    config = out["config"]
    if "model" in config:
        out["model_config"] = config["model"]
    out["effective_params"] = config.get("params", {})
    out["capabilities"] = asdict(kind.capabilities(spec))
    weights = kind.weights(spec)
    if weights.random or weights.path is not None:
        out["weights"] = weights.label
    if weights.path is not None:
        out["checkpoint_present"] = weights.present
    elif not weights.present:
        out["weights"] = "not set"
        out["checkpoint_present"] = False
    return out


def check_spec(registry: SpecRegistry, name: str, dataset: str | None = None,
               trust_checkpoint: bool = False) -> dict[str, Any]:
    """Build the tracker a spec describes (loading and key-checking its checkpoint), so that a
    bad or missing weights file shows up before a long evaluation; returns what was loaded."""
    overrides = {"model": {"trust_checkpoint": True}} if trust_checkpoint else None
    spec = registry.resolve(name, dataset=dataset, overrides=overrides)
    kind = kind_of(spec)
    tracker = kind.build(spec)
    out: dict[str, Any] = {"name": name, "kind": spec.kind, "dataset": dataset, "hash": spec.hash,
                           "ok": True}
    model = getattr(tracker, "model", None)
    if model is not None and hasattr(model, "parameters"):
        out["parameters"] = int(sum(p.numel() for p in model.parameters()))
        out["state_dict_keys"] = len(model.state_dict())
    weights = kind.weights(spec, sha256=True)
    if weights.random or weights.path is not None:
        out["weights"] = weights.label
    if weights.path is not None:
        out["checkpoint_sha256"] = weights.sha256
    return out
