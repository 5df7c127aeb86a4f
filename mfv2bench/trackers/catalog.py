"""What the tracker specs of a workspace hold: one row per spec, or one spec fully resolved.

Returns plain data for ``mfv2bench trackers list|show`` (and notebooks); prints nothing.
Specs whose name starts with ``_`` are base specs, only meant to be extended.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from ..errors import Mfv2benchError
from .kinds import kind_of
from .specs import SpecRegistry

TRUST_NOTE = ("asked for by the spec file, IGNORED: pickled checkpoints load only with "
              "--trust-checkpoint on the command line")


def spec_rows(registry: SpecRegistry) -> list[dict[str, Any]]:
    """One summary row per spec: name, kind, what it extends, description, hash, file; and
    ``error`` (None when the spec is valid): a bad spec is listed with its error instead of
    making the whole list fail."""
    rows = []
    for name in registry.names():
        path, raw = registry.raw(name)
        row: dict[str, Any] = {"name": name, "kind": raw.get("kind"), "extends": raw.get("extends"),
                               "base_spec": name.startswith("_"), "description": "",
                               "hash": None, "file": str(path), "error": None}
        try:
            spec = registry.resolve(name)
            row.update(kind=spec.kind, description=spec.description, hash=spec.hash,
                       trust_checkpoint_ignored=spec.file_asks_trust)
        except Mfv2benchError as exc:
            row["error"] = str(exc)
        if not isinstance(row["kind"], str):
            row["kind"] = None if row["kind"] is None else repr(row["kind"])
        if row["extends"] is not None and not isinstance(row["extends"], str):
            row["extends"] = repr(row["extends"])
        rows.append(row)
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
    out["trust_checkpoint"] = TRUST_NOTE if spec.file_asks_trust else "no"
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
        state = model.state_dict()
        out["state_dict_keys"] = len(state)
        # NaN/Inf weights make every output NaN: warned, named (tensor methods: no torch import)
        out["non_finite_tensors"] = [k for k, t in state.items()
                                     if t.is_floating_point() and not bool(t.isfinite().all())]
    if spec.file_asks_trust:
        out["trust_checkpoint_in_spec"] = TRUST_NOTE
    out["trust_checkpoint"] = spec.trusts_checkpoint
    weights = kind.weights(spec, sha256=True)
    if weights.random or weights.path is not None:
        out["weights"] = weights.label
    if weights.path is not None:
        out["checkpoint_sha256"] = weights.sha256
    return out
