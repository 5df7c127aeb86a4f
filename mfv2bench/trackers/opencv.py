"""OpenCV baselines (CSRT, KCF, MIL, and the legacy MOSSE, MedianFlow, TLD, Boosting) behind the
tracker contract, so eval, demo and reports work with no checkpoint at all.

OpenCV trackers take BGR images and integer boxes (the modern API) or float boxes (``legacy``).
When a tracker reports a lost target it returns nothing; like the pytracking and pysot wrappers
we then repeat the last box, so the result file has one row per frame.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Callable

import cv2
import numpy as np

from ..errors import ConfigError
from .base import TrackOutput
from .kinds import TrackerKind, check_keys, source_of

if TYPE_CHECKING:  # pragma: no cover - types only
    from .specs import ResolvedSpec

# algorithm -> (factory attribute path, integer boxes?)
_ALGORITHMS: dict[str, tuple[str, bool]] = {
    "csrt": ("TrackerCSRT_create", True),
    "kcf": ("TrackerKCF_create", True),
    "mil": ("TrackerMIL_create", True),
    "mosse": ("legacy.TrackerMOSSE_create", False),
    "medianflow": ("legacy.TrackerMedianFlow_create", False),
    "tld": ("legacy.TrackerTLD_create", False),
    "boosting": ("legacy.TrackerBoosting_create", False),
}


# algorithm -> its OpenCV parameter struct (the modern trackers); [params] may set its fields
_PARAMS: dict[str, str] = {"csrt": "TrackerCSRT_Params", "kcf": "TrackerKCF_Params",
                           "mil": "TrackerMIL_Params"}


def _factory(path: str) -> Callable[[], Any] | None:
    obj: Any = cv2
    for part in path.split("."):
        obj = getattr(obj, part, None)
        if obj is None:
            return None
    return obj


def available_algorithms() -> list[str]:
    """Algorithms the installed OpenCV build provides (contrib builds have all of them)."""
    return [name for name, (path, _) in _ALGORITHMS.items() if _factory(path) is not None]


def _clip_init_box(box: np.ndarray, width: int, height: int) -> tuple[float, float, float, float]:
    """The first-frame box clipped to the image, at least 1x1 (OpenCV refuses empty ROIs)."""
    x, y, w, h = (float(v) for v in box)
    x0, y0 = min(max(x, 0.0), width - 1.0), min(max(y, 0.0), height - 1.0)
    x1, y1 = min(max(x + w, x0 + 1.0), float(width)), min(max(y + h, y0 + 1.0), float(height))
    return x0, y0, max(x1 - x0, 1.0), max(y1 - y0, 1.0)


def default_options(algorithm: str) -> dict[str, Any] | None:
    """The fields of ``algorithm``'s OpenCV parameter struct with this build's defaults (None
    where the algorithm has none, or this build lacks it)."""
    cls = getattr(cv2, _PARAMS.get(algorithm, ""), None)
    if cls is None:
        return None
    struct = cls()
    out: dict[str, Any] = {}
    for field in sorted(dir(struct)):
        if field.startswith("_"):
            continue
        value = getattr(struct, field)
        if isinstance(value, (bool, int, float, str)):
            out[field] = value
    return out


def _params_struct(algorithm: str, options: dict[str, Any]) -> Any:
    struct = getattr(cv2, _PARAMS[algorithm])()
    for key, value in options.items():
        setattr(struct, key, value)
    return struct


class OpenCVTracker:
    """One OpenCV tracker instance; ``initialize`` rebuilds it, so one object serves many sequences."""

    def __init__(self, algorithm: str, name: str | None = None,
                 options: dict[str, Any] | None = None):
        key = algorithm.lower()
        if key not in _ALGORITHMS:
            raise ConfigError(f"unknown OpenCV algorithm {algorithm!r} (known: {', '.join(_ALGORITHMS)})")
        path, integer = _ALGORITHMS[key]
        factory = _factory(path)
        if factory is None:
            raise ConfigError(f"this OpenCV build ({cv2.__version__}) has no {path}; available: "
                              f"{', '.join(available_algorithms()) or 'none'}")
        self.algorithm = key
        self.name = name or key
        self.options = dict(options or {})
        self._factory = factory
        self._integer = integer
        self._impl: Any = None
        self._last = np.zeros(4)

    def initialize(self, image: np.ndarray, box: np.ndarray) -> None:
        h, w = image.shape[:2]
        roi = _clip_init_box(np.asarray(box, dtype=np.float64), w, h)
        if self._integer:
            roi = tuple(int(round(v)) for v in roi)
            roi = (roi[0], roi[1], max(roi[2], 1), max(roi[3], 1))
        self._impl = self._factory(_params_struct(self.algorithm, self.options)) if self.options \
            else self._factory()
        self._impl.init(cv2.cvtColor(image, cv2.COLOR_RGB2BGR), roi)
        self._last = np.asarray(box, dtype=np.float64).copy()

    def track(self, image: np.ndarray) -> TrackOutput:
        if self._impl is None:
            raise RuntimeError("track() called before initialize()")
        ok, found = self._impl.update(cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
        if ok:
            self._last = np.asarray(found, dtype=np.float64).reshape(4)
        return TrackOutput(box=self._last.copy(), score=None, extra={"found": bool(ok)})


class OpenCVKind(TrackerKind):
    """``kind = "opencv"``, ``[params] algorithm = "csrt"`` plus, for CSRT/KCF/MIL, any field of
    the algorithm's OpenCV parameter struct (``padding = 2.5``); CPU only, no weights."""

    name = "opencv"
    model_keys = ()
    params_keys = None  # checked against the algorithm's parameter struct below

    def _options(self, spec: "ResolvedSpec") -> tuple[str, dict[str, Any], dict[str, Any] | None]:
        params = dict(spec.params)
        algorithm = params.pop("algorithm", None)
        if not algorithm:
            raise ConfigError(f"{source_of(spec)}: [params] algorithm is not set "
                              f"(one of {', '.join(_ALGORITHMS)})")
        key = str(algorithm).lower()
        if key not in _ALGORITHMS:
            raise ConfigError(f"{source_of(spec)}: unknown OpenCV algorithm {algorithm!r} "
                              f"(known: {', '.join(_ALGORITHMS)})")
        defaults = default_options(key)
        check_keys(spec, params, ["algorithm", *(defaults or {})], f"[params] (algorithm {key})")
        for name, value in params.items():
            want = type(defaults[name])  # type: ignore[index]
            ok = isinstance(value, want) or (want is float and isinstance(value, int))
            if not ok or (want is not bool and isinstance(value, bool)) or \
                    (want is float and not math.isfinite(value)):
                raise ConfigError(f"{source_of(spec)}: [params] {name} must be {want.__name__}"
                                  f"{' (finite)' if want is float else ''}, got {value!r}")
            params[name] = want(value)
        return key, params, defaults

    def validate(self, spec: "ResolvedSpec") -> None:
        super().validate(spec)
        self._options(spec)

    def effective_config(self, spec: "ResolvedSpec") -> dict[str, Any]:
        key, options, defaults = self._options(spec)
        values = {**(defaults or {}), **options}
        return {"kind": self.name, "params": {"algorithm": key, **values}}

    def build(self, spec: "ResolvedSpec", device: str = "cpu") -> OpenCVTracker:
        return build_from_spec(spec, device=device)


def build_from_spec(spec: "ResolvedSpec", device: str = "cpu") -> OpenCVTracker:
    """``kind = "opencv"``, ``[params] algorithm = "csrt"``; OpenCV trackers run on the CPU only."""
    if device != "cpu":
        raise ConfigError(f"tracker '{spec.name}' (OpenCV) runs on the CPU only, not {device!r}")
    algorithm, options, _ = KIND._options(spec)
    return OpenCVTracker(algorithm, name=spec.name, options=options)


KIND = OpenCVKind()
