"""Tracker specs: TOML files in the workspace's ``trackers/`` folder, one tracker or ablation each.

A spec names a ``kind`` (a tracker kind object, see ``kinds.py``) and its parameters.
``extends = "other"`` inherits another spec (tables merged deeply, child wins).
``[dataset.<name>]`` tables override parameters for one data set (e.g. MixFormerV2-S's search
factor on TrackingNet). A resolved spec is checked by its kind (unknown keys are errors); its
hash is the hash of the kind's effective configuration (every value that affects outputs, code
defaults included, never names or load-time consent) and travels with every result.

Example (``trackers/mfv2-s.toml``)::

    kind = "mixformerv2"
    description = "MixFormerV2-Small, official checkpoint"
    [model]
    variant = "small"
    checkpoint = "checkpoints/mixformerv2_small.pth.tar"
    [params]
    search_factor = 4.4
    [dataset.trackingnet.params]
    search_factor = 4.55
"""

from __future__ import annotations

import copy
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

from ..datasets.description import describe
from ..errors import ConfigError
from ..hashing import stable_hash
from .base import Tracker
from .kinds import KINDS, kind_of

_NOT_HASHED = ("name", "description", "extends", "dataset", "path")


@dataclass
class ResolvedSpec:
    """A spec with inheritance applied and, optionally, one data set's overrides merged in."""

    name: str
    kind: str
    description: str
    body: dict[str, Any]
    path: Path | None = None
    dataset: str | None = None
    workspace_root: Path | None = None
    overrides: dict[str, Any] = field(default_factory=dict)

    @property
    def model(self) -> dict[str, Any]:
        return self.body.get("model", {})

    @property
    def params(self) -> dict[str, Any]:
        return self.body.get("params", {})

    @property
    def declared(self) -> dict[str, Any]:
        """The body as declared (after inheritance and overrides) less names, notes and
        load-time consent; what decides outputs is ``effective_config``."""
        out = {k: v for k, v in self.body.items() if k not in _NOT_HASHED}
        if isinstance(out.get("model"), dict) and "trust_checkpoint" in out["model"]:
            out["model"] = {k: v for k, v in out["model"].items() if k != "trust_checkpoint"}
        return out

    @property
    def effective_config(self) -> dict[str, Any]:
        """Every value that decides the tracker's outputs, code defaults included (its kind's)."""
        return kind_of(self).effective_config(self)

    @property
    def hash(self) -> str:
        """Hash of the effective configuration: a changed code default changes it too."""
        return stable_hash(self.effective_config)

    def with_overrides(self, overrides: dict[str, Any]) -> "ResolvedSpec":
        """This spec with ``overrides`` merged in (tables deeply), checked again by its kind."""
        spec = replace(self, body=deep_merge(self.body, overrides),
                       overrides=deep_merge(self.overrides, overrides))
        kind_of(spec).validate(spec)
        return spec

    def resolve_path(self, value: str | Path) -> Path:
        """A path from the spec: absolute, or relative to the workspace root."""
        p = Path(value).expanduser()
        if p.is_absolute() or self.workspace_root is None:
            return p
        return (self.workspace_root / p).resolve()

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "description": self.description,
            "dataset": self.dataset,
            "hash": self.hash,
            "spec": self.declared,
            "config": self.effective_config,
            "file": str(self.path) if self.path else None,
        }


def deep_merge(base: dict[str, Any], child: dict[str, Any]) -> dict[str, Any]:
    """Merge ``child`` into a copy of ``base``; nested tables merge, other values replace."""
    out = copy.deepcopy(base)
    for key, value in child.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


class SpecRegistry:
    """Specs found in one folder, by file stem."""

    def __init__(self, folder: str | Path, workspace_root: str | Path | None = None):
        self.folder = Path(folder)
        self.workspace_root = Path(workspace_root) if workspace_root else self.folder.parent
        self._raw: dict[str, tuple[Path, dict[str, Any]]] = {}
        if self.folder.is_dir():
            for path in sorted(self.folder.glob("*.toml")):
                try:
                    with open(path, "rb") as f:
                        self._raw[path.stem] = (path, tomllib.load(f))
                except tomllib.TOMLDecodeError as exc:
                    raise ConfigError(f"{path}: not valid TOML: {exc}") from None

    def names(self) -> list[str]:
        return sorted(self._raw)

    def add(self, name: str, body: dict[str, Any]) -> None:
        """Register a spec from data (tests, notebooks)."""
        self._raw[name] = (self.folder / f"{name}.toml", body)

    def _chain(self, name: str, seen: tuple[str, ...] = ()) -> dict[str, Any]:
        if name not in self._raw:
            known = ", ".join(self.names()) or "none"
            raise ConfigError(f"unknown tracker '{name}' (specs in {self.folder}: {known})")
        if name in seen:
            raise ConfigError(f"tracker spec inheritance loop: {' -> '.join(seen + (name,))}")
        path, body = self._raw[name]
        parent = body.get("extends")
        if parent:
            merged = deep_merge(self._chain(parent, seen + (name,)), body)
        else:
            merged = copy.deepcopy(body)
        merged.pop("extends", None)
        return merged

    def resolve(self, name: str, dataset: str | None = None,
                overrides: dict[str, Any] | None = None) -> ResolvedSpec:
        """Resolve ``name`` (inheritance, then ``[dataset.<family>]`` overrides, then ``overrides``)."""
        body = self._chain(name)
        per_dataset = body.pop("dataset", {}) or {}
        if dataset is not None:
            family = dataset_family(dataset)
            for key in (family, dataset):
                if key in per_dataset:
                    body = deep_merge(body, per_dataset[key])
        if overrides:
            body = deep_merge(body, overrides)
        kind = body.get("kind")
        if kind not in KINDS:
            raise ConfigError(
                f"{self._raw[name][0]}: kind = {kind!r} is not one of {sorted(KINDS)}"
            )
        spec = ResolvedSpec(
            name=name,
            kind=kind,
            description=body.get("description", ""),
            body=body,
            path=self._raw[name][0],
            dataset=dataset,
            workspace_root=self.workspace_root,
            overrides=overrides or {},
        )
        kind_of(spec).validate(spec)
        return spec


def dataset_family(dataset: str) -> str:
    """'synthetic-lasot' -> 'lasot', 'got10k-test' -> 'got10k', 'lasot_ext' -> 'lasot_ext': the
    key of a spec's ``[dataset.<family>]`` overrides (the data-set description owns it)."""
    return describe(dataset).family


def build_tracker(spec: ResolvedSpec, device: str = "cpu") -> Tracker:
    """Build the tracker a resolved spec describes (fails fast on a missing checkpoint)."""
    return kind_of(spec).build(spec, device=device)
