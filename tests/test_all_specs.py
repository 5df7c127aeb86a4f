"""Every shipped tracker spec (trackers/*.toml, base specs ``_*`` excepted) builds and tracks.

Each spec is built the way a run would build it (its kind's latency-only twin with random weights
where its checkpoint is absent) and tracks 3 small synthetic frames (the first initialises), on
the template-cache path and, where the kind has one, the full-recompute path too. The boxes must
be finite (x, y, w, h). MixFormerV2-B specs (full size, ~60M parameters with random weights) are
marked slow; torch.compile and ONNX Runtime specs carry their markers and skip without the extra.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mfv2bench.devices import ALLOW_EMULATED_BF16_ENV
from mfv2bench.errors import ConfigError
from mfv2bench.trackers.kinds import kind_of
from mfv2bench.trackers.specs import ResolvedSpec, SpecRegistry

REPO = Path(__file__).resolve().parents[1]
_REGISTRY = SpecRegistry(REPO / "trackers", REPO)
SHIPPED = [n for n in _REGISTRY.names() if not n.startswith("_")]


@pytest.fixture(autouse=True)
def _emulated_bf16_allowed(monkeypatch):
    """Every spec must build and track here, not run fast: bf16 runs (forced, warned) on a CPU
    without native bf16, where it is refused by default (devices.require_native_bf16)."""
    monkeypatch.setenv(ALLOW_EMULATED_BF16_ENV, "1")


def _marks(name: str) -> list:
    """Markers from what the spec runs: compile / onnx runtimes, the full-size Base network."""
    spec = _REGISTRY.resolve(name)
    runtime = kind_of(spec).runtime_of(spec) or ""
    names = []
    if "compile" in runtime:
        names += ["compile", "slow"]
    if runtime == "onnxruntime":
        names += ["onnx", "slow"]
    if spec.model.get("variant") == "base":
        names.append("slow")
    return [getattr(pytest.mark, m) for m in dict.fromkeys(names)]


def _frames(n: int = 3) -> list[np.ndarray]:
    """A bright square moving over a textured background, 72x96 RGB."""
    rng = np.random.default_rng(0)
    base = rng.integers(0, 120, (72, 96, 3), dtype=np.uint8)
    frames = []
    for i in range(n):
        img = base.copy()
        img[20 + i:40 + i, 30 + 2 * i:54 + 2 * i] = (230, 200, 40)
        frames.append(img)
    return frames


def _track(spec: ResolvedSpec) -> None:
    try:
        tracker = kind_of(spec).build(spec, device="cpu")
    except ConfigError as exc:
        if "this OpenCV build" in str(exc):  # legacy algorithms need opencv-contrib
            pytest.skip(str(exc))
        raise
    frames = _frames()
    tracker.initialize(frames[0], np.array([30.0, 20.0, 24.0, 20.0]))
    for frame in frames[1:]:
        out = tracker.track(frame)
        box = np.asarray(out.box, dtype=np.float64)
        assert box.shape == (4,) and np.isfinite(box).all(), (spec.name, box)
        assert box[2] > 0 and box[3] > 0, (spec.name, box)


def test_every_shipped_spec_is_covered():
    assert len(SHIPPED) >= 40 and {"mfv2-s", "mfv2-b", "csrt"} <= set(SHIPPED)


@pytest.mark.parametrize("name", [pytest.param(n, marks=_marks(n)) for n in SHIPPED])
def test_shipped_spec_builds_and_tracks(name: str) -> None:
    spec = _REGISTRY.resolve(name)
    kind = kind_of(spec)
    runtime = kind.runtime_of(spec) or ""
    if runtime == "onnxruntime":
        pytest.importorskip("onnx")
        pytest.importorskip("onnxruntime")
    if kind.missing_weights(spec) is not None:
        spec = kind.random_weights_spec(spec)
    if kind.capabilities(spec).cached:
        _track(kind.run_settings(spec, cached=True))
        _track(kind.run_settings(spec, cached=False))
    else:
        _track(spec)
