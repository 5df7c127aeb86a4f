"""Tracker kinds: one object per ``kind = "..."`` of a spec, answering everything generic code
needs about trackers of that kind, so that no code outside ``trackers/`` branches on the name.

    from mfv2bench.trackers.kinds import kind_of
    kind = kind_of(spec)
    kind.build(spec, device="cpu")         # the Tracker
    kind.weights(spec, sha256=False)       # WeightsInfo (path, sha256, present, random, seed)
    kind.effective_config(spec)            # every value that affects outputs (spec.hash hashes it)
    kind.capabilities(spec)                # Capabilities (devices, batch, precisions, runtimes, ...)
    kind.explainer(spec, device, cached)   # where capabilities(spec).explain: per-frame attention

A kind lives in its own module (``opencv.py``, ``python_kind.py``, ``mixformerv2/kind.py``) as a
module attribute ``KIND``; ``KINDS`` maps names to them and ``kind_of`` imports one on first use,
so that OpenCV-only runs never import torch (a kind imports torch only inside ``build``).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable

from ..errors import ConfigError

if TYPE_CHECKING:  # pragma: no cover - types only
    from .base import Tracker
    from .specs import ResolvedSpec

# name -> "module:attribute" of the kind object (imported lazily)
KINDS: dict[str, str] = {
    "mixformerv2": "mfv2bench.trackers.mixformerv2.kind:KIND",
    "opencv": "mfv2bench.trackers.opencv:KIND",
    "python": "mfv2bench.trackers.python_kind:KIND",
}

# top-level keys every spec may hold (``extends`` and ``dataset`` are consumed when resolving)
TOP_LEVEL_KEYS = ("kind", "description", "extends", "dataset", "model", "params")
# [model] keys every kind accepts: load-time consent, never part of the configuration
GENERIC_MODEL_KEYS = ("trust_checkpoint",)


@dataclass(frozen=True)
class WeightsInfo:
    """The weights a spec runs with: a file (``path``, its ``sha256`` when asked for and
    present), seeded random weights (latency only), or none at all (``path`` None, not random:
    e.g. OpenCV trackers, which need nothing, so ``present`` is True)."""

    path: Path | None = None
    sha256: str | None = None
    present: bool = True
    random: bool = False
    seed: int | None = None

    def to_manifest(self) -> dict[str, Any] | None:
        """The ``checkpoint`` section of a run manifest (keys unchanged since format 1)."""
        if self.random:
            return {"random_weights": True, "seed": self.seed}
        if self.path is None:
            return None
        return {"path": str(self.path), "sha256": self.sha256}

    @property
    def label(self) -> str:
        """How ``trackers show/check`` name them."""
        if self.random:
            return "random (latency only)"
        return str(self.path) if self.path is not None else "none needed"


@dataclass(frozen=True)
class Capabilities:
    """What a tracker of a spec can do: the devices it runs on, whether its network can be timed
    at batch > 1 and in which precisions, the runtimes it offers, whether it has a network (model
    latency) and a template cache that can be switched off (``cached``)."""

    devices: tuple[str, ...] = ("cpu",)
    batch: bool = False
    precisions: tuple[str, ...] = ("fp32",)
    runtimes: tuple[str, ...] = ()
    has_network: bool = False
    cached: bool = False
    explain: bool = False  # ``kind.explainer(spec)`` shows what the network attends to
    # runtimes computing the spec's function in full precision (outputs equal to float
    # rounding), applicable to this spec: the candidates of ``speed --runtime auto``
    exact_runtimes: tuple[str, ...] = ()


class TrackerKind:
    """Base of the kinds; the defaults describe a tracker without weights or network that runs
    on the CPU (subclasses override what differs)."""

    name: str = ""
    runtimes: tuple[str, ...] = ()
    model_keys: tuple[str, ...] | None = ()  # None: any key
    params_keys: tuple[str, ...] | None = ()

    # --- checking and describing a spec ------------------------------------------------------
    def validate(self, spec: "ResolvedSpec") -> None:
        """Raise a ConfigError naming the spec file and key for anything this kind does not know."""
        check_keys(spec, spec.body, TOP_LEVEL_KEYS, "the top level")
        for table, allowed in (("model", self.model_keys), ("params", self.params_keys)):
            value = spec.body.get(table, {})
            if not isinstance(value, dict):
                raise ConfigError(f"{source_of(spec)}: [{table}] must be a table")
            if allowed is not None:
                check_keys(spec, value, tuple(allowed) + (GENERIC_MODEL_KEYS if table == "model" else ()),
                           f"[{table}]")

    def effective_config(self, spec: "ResolvedSpec") -> dict[str, Any]:
        """Every value that decides the tracker's outputs, code defaults included."""
        raise NotImplementedError

    def capabilities(self, spec: "ResolvedSpec") -> Capabilities:
        return Capabilities(runtimes=self.runtimes)

    # --- building and weights ----------------------------------------------------------------
    def build(self, spec: "ResolvedSpec", device: str = "cpu") -> "Tracker":
        raise NotImplementedError

    def weights(self, spec: "ResolvedSpec", sha256: bool = False) -> WeightsInfo:
        return WeightsInfo()

    def missing_weights(self, spec: "ResolvedSpec") -> str | None:
        """Why the weights this spec needs are not usable here; None when they are (or none are
        needed). Checked before long runs, without building anything."""
        return None

    def random_weights_spec(self, spec: "ResolvedSpec") -> "ResolvedSpec":
        """The latency-only twin: the same tracker with seeded random weights (the spec itself
        for kinds without weights). Its results are flagged and never scored as accuracy."""
        return spec

    def run_settings(self, spec: "ResolvedSpec", runtime: str | None = None,
                     threads: int | None = None, cached: bool | None = None) -> "ResolvedSpec":
        """The spec with run-time settings applied where this kind has them (runtime, runtime
        threads, template cache on/off); kinds without them return the spec unchanged."""
        return spec

    def explainer(self, spec: "ResolvedSpec", device: str = "cpu", cached: bool = True) -> Any:
        """An object whose ``explain(read_frame, init_box, frame, previous_box=None)`` returns
        an explanation of one frame (see ``trackers/mixformerv2/explain.Explanation`` for the
        fields ``app.explain`` renders); only where ``capabilities(spec).explain``."""
        raise ConfigError(f"tracker kind {self.name!r} has no attention to explain "
                          f"(spec {source_of(spec)})")

    def runtime_of(self, spec: "ResolvedSpec") -> str | None:
        """The runtime the tracker runs its network in (None: no network)."""
        return None

    def precision_of(self, spec: "ResolvedSpec", requested: str = "fp32") -> str:
        """The arithmetic the tracker really runs in when ``requested`` is asked for: a
        reduced-precision runtime or quantisation in the spec wins, so it is never labelled fp32."""
        return requested

    def __repr__(self) -> str:
        return f"<tracker kind {self.name!r}>"


def source_of(spec: "ResolvedSpec") -> str:
    """The spec file (or the spec name when it came from data), for error messages."""
    return str(spec.path) if spec.path is not None else spec.name


def check_keys(spec: "ResolvedSpec", table: dict[str, Any], allowed: Iterable[str], where: str) -> None:
    """ConfigError naming the spec file and the first unknown key of ``table``."""
    allowed = tuple(allowed)
    for key in table:
        if key not in allowed:
            raise ConfigError(f"{source_of(spec)}: unknown key {key!r} in {where} of kind "
                              f"{spec.kind!r} (known: {', '.join(allowed)})")


_LOADED: dict[str, TrackerKind] = {}


def get_kind(name: str) -> TrackerKind:
    """The kind object registered as ``name`` (imported on first use)."""
    if name not in _LOADED:
        try:
            target = KINDS[name]
        except KeyError:
            raise ConfigError(f"unknown tracker kind {name!r}; known: {sorted(KINDS)}") from None
        module, attr = target.split(":")
        _LOADED[name] = getattr(importlib.import_module(module), attr)
    return _LOADED[name]


def kind_of(spec: "ResolvedSpec") -> TrackerKind:
    """The kind object of a resolved spec."""
    return get_kind(spec.kind)


def all_runtimes() -> tuple[str, ...]:
    """Every runtime some kind offers (choices of ``speed --runtime``), in registry order."""
    out: list[str] = []
    for name in KINDS:
        out += [r for r in get_kind(name).runtimes if r not in out]
    return tuple(out)
