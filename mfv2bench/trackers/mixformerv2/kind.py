"""``kind = "mixformerv2"``: the MixFormerV2 tracker kind (see ``trackers/kinds.py``).

Spec checking and the effective configuration use only ``config`` (no torch); torch is
imported when a tracker is built.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ...errors import ConfigError
from ...hashing import file_sha256
from ..kinds import Capabilities, TrackerKind, WeightsInfo, source_of
from .config import (EXACT_RUNTIMES, MODEL_KEYS, REDUCED_PRECISION_RUNTIMES, RUNTIMES, VARIANTS,
                     WEIGHTS, TrackerParams, kept_layers, model_config_from_spec, params_from_spec)

if TYPE_CHECKING:  # pragma: no cover - types only
    from ..specs import ResolvedSpec
    from .tracker import MixFormerV2Tracker


class MixFormerV2Kind(TrackerKind):
    """MixFormerV2 from a variant, an official checkpoint (or seeded random weights) and the
    test-time parameters; runs on CPU or CUDA in several runtimes."""

    name = "mixformerv2"
    runtimes = RUNTIMES
    model_keys = MODEL_KEYS
    params_keys = tuple(f for f in TrackerParams.__dataclass_fields__)

    def _resolved(self, spec: "ResolvedSpec") -> tuple[dict[str, Any], TrackerParams]:
        source = source_of(spec)
        model = dict(spec.model)
        try:
            cfg = model_config_from_spec(model, attention=spec.params.get("attention", "eager"))
        except ConfigError as exc:
            raise ConfigError(f"{source}: {exc}") from None
        params = params_from_spec(spec.params, cfg, model.get("variant", "base"),
                                  source=f"{source} [params]")
        return cfg, params

    def validate(self, spec: "ResolvedSpec") -> None:
        super().validate(spec)
        self._resolved(spec)

    def effective_config(self, spec: "ResolvedSpec") -> dict[str, Any]:
        cfg, params = self._resolved(spec)
        model = dict(spec.model)
        variant = model.get("variant", "base")
        out_model = {**cfg, "variant": variant,
                     "keep_layers": kept_layers(model, VARIANTS[variant]["depth"])}
        if model.get("random_weights"):
            weights: dict[str, Any] = {"random": True, "seed": int(model.get("seed", 0))}
        else:
            weights = {"checkpoint": model.get("checkpoint"), "sha256": WEIGHTS[variant].sha256,
                       "mlp_sliced": "mlp_hidden" in model}
        p = params.to_dict()
        p["normalize_mean"], p["normalize_std"] = list(p["normalize_mean"]), list(p["normalize_std"])
        return {"kind": self.name, "model": out_model, "weights": weights, "params": p}

    def capabilities(self, spec: "ResolvedSpec") -> Capabilities:
        return Capabilities(devices=("cpu", "cuda"), batch=True,
                            precisions=("fp32", "fp16", "bf16"), runtimes=RUNTIMES,
                            has_network=True, cached=True, explain=True,
                            exact_runtimes=self._exact_runtimes(spec))

    @staticmethod
    def _exact_runtimes(spec: "ResolvedSpec") -> tuple[str, ...]:
        """The float32 runtimes that run this spec (never bf16 / int8): 'onednn' only on the
        cached path; the corner-head latency variant caches in eager / sdpa only. Device limits
        (ONNX Runtime and oneDNN: CPU) are the caller's (``speed.auto_runtime``)."""
        cached = bool(spec.params.get("cached", True))
        corner = spec.model.get("head", "distribution") == "corner"
        out = [r for r in EXACT_RUNTIMES if cached or r != "onednn"]
        if corner and cached:
            out = [r for r in out if r in ("eager", "sdpa")]
        return tuple(out)

    def build(self, spec: "ResolvedSpec", device: str = "cpu") -> "MixFormerV2Tracker":
        from .tracker import build_from_spec  # torch: only when a tracker is built

        return build_from_spec(spec, device=device)

    def explainer(self, spec: "ResolvedSpec", device: str = "cpu", cached: bool = True) -> Any:
        """The tracker in eager PyTorch (cache on or off) wrapped to record the prediction
        tokens' attention (``explain.py``; torch: imported only when asked, as ``build``)."""
        spec = self.run_settings(spec, runtime="eager", cached=cached)
        explain = importlib.import_module("mfv2bench.trackers.mixformerv2.explain")
        return explain.MixFormerV2Explainer(self.build(spec, device=device))

    def weights(self, spec: "ResolvedSpec", sha256: bool = False) -> WeightsInfo:
        model = spec.model
        if model.get("random_weights"):
            return WeightsInfo(random=True, seed=int(model.get("seed", 0)), present=True)
        ckpt = model.get("checkpoint")
        if not ckpt:
            return WeightsInfo(present=False)
        path = spec.resolve_path(ckpt)
        present = path.is_file()
        return WeightsInfo(path=path, present=present,
                           sha256=file_sha256(str(path)) if sha256 and present else None)

    def missing_weights(self, spec: "ResolvedSpec") -> str | None:
        info = self.weights(spec)
        if info.present:
            return None
        if info.path is None:
            return "its spec names no checkpoint"
        return f"checkpoint not found: {info.path} (see checkpoints/README.md)"

    def random_weights_spec(self, spec: "ResolvedSpec") -> "ResolvedSpec":
        return spec.with_overrides({"model": {"random_weights": True}})

    def run_settings(self, spec: "ResolvedSpec", runtime: str | None = None,
                     threads: int | None = None, cached: bool | None = None) -> "ResolvedSpec":
        params: dict[str, Any] = {}
        if runtime is not None:
            params["runtime"] = runtime
        if threads is not None:
            params["threads"] = threads
        if cached is not None:
            params["cached"] = cached
        return spec.with_overrides({"params": params}) if params else spec

    def runtime_of(self, spec: "ResolvedSpec") -> str | None:
        return str(spec.params.get("runtime", TrackerParams.runtime))

    def precision_of(self, spec: "ResolvedSpec", requested: str = "fp32") -> str:
        if spec.params.get("quantize") == "int8":
            return "int8"
        if self.runtime_of(spec) in REDUCED_PRECISION_RUNTIMES:
            return "bf16"
        return requested


KIND = MixFormerV2Kind()
