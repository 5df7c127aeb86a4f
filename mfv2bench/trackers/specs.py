"""Tracker specs: TOML files in the workspace's ``trackers/`` folder, one tracker or ablation each.

A spec names a ``kind`` (a tracker kind object, see ``kinds.py``) and its parameters.
``extends = "other"`` inherits another spec (tables merged deeply, child wins).
``[dataset.<name>]`` tables override parameters for one data set (e.g. MixFormerV2-S's search
factor on TrackingNet). A resolved spec is checked by its kind (unknown keys are errors); its
hash is the hash of the kind's effective configuration (every value that affects outputs, code
defaults included, never names or load-time consent) and travels with every result.

Consent to load pickled checkpoints is never taken from a spec: ``trust_checkpoint = true`` in a
spec file (or a table registered with ``add``) is IGNORED with a warning and shown by
``trackers show``; only the caller's ``overrides`` (the CLI's ``--trust-checkpoint``) grant it.
Every value is type-checked at resolve, ``[dataset.<name>]`` overrides included (all of them,
not only the one asked for), so a bad spec fails naming its file and key before any run.

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
import logging
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

logger = logging.getLogger(__name__)

_NOT_HASHED = ("name", "description", "extends", "dataset", "path")
# keys a [dataset.<name>] table may override
DATASET_OVERRIDE_KEYS = ("model", "params")
TRUST_KEY = "trust_checkpoint"
_WARNED_TRUST: set[str] = set()


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
    # the spec file (or an inherited one) sets trust_checkpoint = true: ignored, shown
    file_asks_trust: bool = False

    @property
    def trusts_checkpoint(self) -> bool:
        """Whether pickled checkpoints may load: only the caller's override (the command
        line's --trust-checkpoint) grants it, never the spec file."""
        model = self.body.get("model")
        return isinstance(model, dict) and model.get(TRUST_KEY) is True

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
        # specs whose file cannot be read: listed (with the error), refused when resolved, so
        # that one broken file never makes the others unusable
        self._broken: dict[str, str] = {}
        if self.folder.is_dir():
            for path in sorted(self.folder.glob("*.toml")):
                try:
                    with open(path, "rb") as f:
                        self._raw[path.stem] = (path, tomllib.load(f))
                except tomllib.TOMLDecodeError as exc:
                    self._raw[path.stem] = (path, {})
                    self._broken[path.stem] = f"{path}: not valid TOML: {exc}"
                except (OSError, UnicodeDecodeError) as exc:
                    self._raw[path.stem] = (path, {})
                    self._broken[path.stem] = f"{path}: cannot read the spec file: {exc}"

    def names(self) -> list[str]:
        return sorted(self._raw)

    def raw(self, name: str) -> tuple[Path, dict[str, Any]]:
        """(file, table as read) of one spec, before inheritance; KeyError if unknown."""
        return self._raw[name]

    def add(self, name: str, body: dict[str, Any]) -> None:
        """Register a spec from data (tests, notebooks)."""
        self._raw[name] = (self.folder / f"{name}.toml", body)
        self._broken.pop(name, None)

    def _chain(self, name: str, seen: tuple[str, ...] = ()) -> dict[str, Any]:
        if name not in self._raw:
            known = ", ".join(self.names()) or "none"
            where = f" (extended by {self._raw[seen[-1]][0]})" if seen else ""
            raise ConfigError(f"unknown tracker '{name}'{where} (specs in {self.folder}: {known})")
        if name in seen:
            raise ConfigError(f"tracker spec inheritance loop: {' -> '.join(seen + (name,))}")
        if name in self._broken:
            raise ConfigError(self._broken[name])
        path, body = self._raw[name]
        _check_shape(path, body)
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
        path = self._raw[name][0]
        per_dataset = body.pop("dataset", {}) or {}
        kind = body.get("kind")
        if not isinstance(kind, str) or kind not in KINDS:
            raise ConfigError(f"{path}: kind = {kind!r} is not one of {sorted(KINDS)}")
        self._validated(name, path, body, dataset=None, where="")
        # every [dataset.<name>] override must make a valid spec, asked for or not
        for key, table in per_dataset.items():
            self._validated(name, path, deep_merge(body, table), dataset=None,
                            where=f" with its [dataset.{key}] overrides")
        if dataset is not None:
            family = dataset_family(dataset)
            for key in (family, dataset):
                if key in per_dataset:
                    body = deep_merge(body, per_dataset[key])
        asks_trust = _strip_trust(path, body)
        if asks_trust and str(path) not in _WARNED_TRUST:
            _WARNED_TRUST.add(str(path))
            logger.warning("%s: trust_checkpoint = true in a spec file is ignored: loading a "
                           "pickled checkpoint needs --trust-checkpoint on the command line", path)
        if overrides:
            body = deep_merge(body, overrides)
        spec = self._validated(name, path, body, dataset=dataset, where="")
        spec.overrides = overrides or {}
        spec.file_asks_trust = asks_trust
        return spec

    def _validated(self, name: str, path: Path, body: dict[str, Any], dataset: str | None,
                   where: str) -> ResolvedSpec:
        """A ResolvedSpec of ``body``, checked by its kind (``where`` says which overrides
        were merged, for the error)."""
        description = body.get("description", "")
        if not isinstance(description, str):
            raise ConfigError(f"{path}: description must be a string, got {description!r}")
        spec = ResolvedSpec(name=name, kind=body["kind"], description=description, body=body,
                            path=path, dataset=dataset, workspace_root=self.workspace_root)
        try:
            kind_of(spec).validate(spec)
        except ConfigError as exc:
            if not where:
                raise
            raise ConfigError(f"{exc}{where}") from None
        return spec


def _check_shape(path: Path, body: dict[str, Any]) -> None:
    """The spec-level types that must hold before merging: ``extends`` a spec name,
    ``[dataset.<name>]`` tables holding only ``[model]``/``[params]`` tables."""
    parent = body.get("extends")
    if parent is not None and (not isinstance(parent, str) or not parent.strip()):
        raise ConfigError(f"{path}: extends must be the name of one spec (a string, e.g. "
                          f"extends = \"mfv2-s\"), got {parent!r}")
    per_dataset = body.get("dataset")
    if per_dataset is None:
        return
    if not isinstance(per_dataset, dict):
        raise ConfigError(f"{path}: [dataset] must be a table of [dataset.<name>] tables, "
                          f"got {per_dataset!r}")
    for key, table in per_dataset.items():
        if not isinstance(table, dict):
            raise ConfigError(f"{path}: [dataset.{key}] must be a table (e.g. "
                              f"[dataset.{key}.params]), got {table!r}")
        for sub, value in table.items():
            if sub not in DATASET_OVERRIDE_KEYS:
                raise ConfigError(f"{path}: unknown key {sub!r} in [dataset.{key}] (known: "
                                  f"{', '.join(DATASET_OVERRIDE_KEYS)})")
            if not isinstance(value, dict):
                raise ConfigError(f"{path}: [dataset.{key}.{sub}] must be a table, got {value!r}")


def _strip_trust(path: Path, body: dict[str, Any]) -> bool:
    """Remove ``trust_checkpoint`` from a spec body read from a file; True when it asked for
    trust (a non-bool value is refused by the kind's checks, so it is checked here too)."""
    model = body.get("model")
    if not isinstance(model, dict) or TRUST_KEY not in model:
        return False
    value = model.pop(TRUST_KEY)
    if not isinstance(value, bool):
        raise ConfigError(f"{path}: [model] {TRUST_KEY} must be true or false, got {value!r} (and it is "
                          "ignored in spec files: use --trust-checkpoint)")
    return value


def dataset_family(dataset: str) -> str:
    """'synthetic-lasot' -> 'lasot', 'got10k-test' -> 'got10k', 'lasot_ext' -> 'lasot_ext': the
    key of a spec's ``[dataset.<family>]`` overrides (the data-set description owns it)."""
    return describe(dataset).family


def build_tracker(spec: ResolvedSpec, device: str = "cpu") -> Tracker:
    """Build the tracker a resolved spec describes (fails fast on a missing checkpoint)."""
    return kind_of(spec).build(spec, device=device)
