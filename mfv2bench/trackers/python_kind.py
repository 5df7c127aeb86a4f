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
from typing import Any

from ..errors import ConfigError


def build_from_spec(spec, device: str = "cpu") -> Any:
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
