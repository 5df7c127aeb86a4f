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
import traceback
from typing import TYPE_CHECKING, Any

from ..errors import ConfigError
from .kinds import TrackerKind

if TYPE_CHECKING:  # pragma: no cover - types only
    from .specs import ResolvedSpec


class UserCodeError(ConfigError):
    """The user's own code (a ``python``-kind factory or its module) raised: reported as their
    error, one line naming their callable, the exception and where it was raised, not as a
    traceback through mfv2bench."""


def _where(exc: BaseException) -> str:
    """``file:line`` of the innermost frame of ``exc`` outside mfv2bench and importlib (the user's
    code), or of a SyntaxError's own location."""
    if isinstance(exc, SyntaxError) and exc.filename:
        return f"{exc.filename}:{exc.lineno}"
    frames = traceback.extract_tb(exc.__traceback__)
    for frame in reversed(frames):
        name = frame.filename.replace("\\", "/")
        if "/mfv2bench/" not in name and "importlib" not in name and not name.startswith("<frozen"):
            return f"{frame.filename}:{frame.lineno}"
    return ""


def _user_error(source: Any, what: str, exc: BaseException) -> UserCodeError:
    message = " ".join(str(exc).split()) or "(no message)"
    where = _where(exc)
    return UserCodeError(f"{source}: {what} raised {type(exc).__name__}: {message}"
                         + (f" (at {where})" if where else ""))


def build_from_spec(spec: "ResolvedSpec", device: str = "cpu") -> Any:
    """Import ``[model] factory`` ("module:attr") and call it with the spec's ``[params]``.
    Whatever the user's module or factory raises becomes a ``UserCodeError`` (one line)."""
    target = spec.model.get("factory")
    source = spec.path or spec.name
    if not isinstance(target, str) or ":" not in target:
        raise ConfigError(f"{source}: [model] factory must be 'module:callable', got {target!r}")
    module_name, attr = target.split(":", 1)
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and module_name.startswith(exc.name):  # the module itself is not found
            raise ConfigError(f"{source}: cannot import {module_name!r} for [model] factory "
                              f"{target!r}: {exc} (is it on PYTHONPATH?)") from None
        raise _user_error(source, f"importing {module_name!r} ([model] factory)", exc) from None
    except Exception as exc:  # noqa: BLE001 - the user's module may raise anything
        raise _user_error(source, f"importing {module_name!r} ([model] factory)", exc) from None
    factory = getattr(module, attr, None)
    if factory is None or not callable(factory):
        raise ConfigError(f"{source}: {module_name!r} has no callable {attr!r}")
    try:
        tracker = factory(name=spec.name, device=device, **dict(spec.params))
    except Exception as exc:  # noqa: BLE001 - the user's factory may raise anything
        raise _user_error(source, f"your tracker factory {target}", exc) from None
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
