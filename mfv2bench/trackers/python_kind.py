"""``kind = "python"``: a tracker from any importable Python callable, so users can evaluate
their own tracker (and tests can run scripted ones) through the same runner and store.

    kind = "python"
    [model]
    factory = "my_package.my_tracker:build"   # called as build(name=..., device=..., **params)
    [params]
    some_option = 3
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ..errors import ConfigError
from .kinds import TrackerKind

if TYPE_CHECKING:  # pragma: no cover - types only
    from .specs import ResolvedSpec


def build_from_spec(spec: "ResolvedSpec", device: str = "cpu") -> Any:
    """Import ``[model] factory`` ("module:attr") and call it with the spec's ``[params]``."""
    target = spec.model.get("factory")
    source = spec.path or spec.name
    if not isinstance(target, str) or ":" not in target:
        raise ConfigError(f"{source}: [model] factory must be 'module:callable', got {target!r}")
    module_name, attr = target.split(":", 1)
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigError(f"{source}: cannot import {module_name!r} for [model] factory: {exc}") from None
    factory = getattr(module, attr, None)
    if factory is None or not callable(factory):
        raise ConfigError(f"{source}: {module_name!r} has no callable {attr!r}")
    tracker = factory(name=spec.name, device=device, **dict(spec.params))
    for method in ("initialize", "track"):
        if not callable(getattr(tracker, method, None)):
            raise ConfigError(f"{source}: {target} built an object without {method}()")
    return tracker


class PythonKind(TrackerKind):
    """A user's tracker: ``[model] factory`` and free-form ``[params]`` passed to it. Its code
    defaults are unknown here, so the effective configuration is the factory and the params as
    declared; it is assumed to run wherever its factory puts it."""

    name = "python"
    model_keys = ("factory",)
    params_keys = None  # the factory's keyword arguments

    def validate(self, spec: "ResolvedSpec") -> None:
        super().validate(spec)
        target = spec.model.get("factory")
        if not isinstance(target, str) or ":" not in target:
            raise ConfigError(f"{spec.path or spec.name}: [model] factory must be "
                              f"'module:callable', got {target!r}")

    def effective_config(self, spec: "ResolvedSpec") -> dict[str, Any]:
        return {"kind": self.name, "model": {"factory": spec.model.get("factory")},
                "params": dict(spec.params)}

    def build(self, spec: "ResolvedSpec", device: str = "cpu") -> Any:
        return build_from_spec(spec, device=device)


KIND = PythonKind()
