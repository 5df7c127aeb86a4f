"""MixFormerV2 configuration as typed data, without torch: the variants (architecture values, as
in timm's model configs), the per-variant weights records, the model config and the test-time
parameters, each checked when it is built so that a bad value fails with a clear ConfigError
before any network exists.

The tracker kind (``kind.py``) reads these to validate specs and to state the effective
configuration that the spec hash covers; ``model.py`` builds the network from a
``MixFormerV2Config``; ``tracker.py`` runs it with ``TrackerParams``.
"""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass, fields
from typing import Any

from ...errors import ConfigError

OFFICIAL_WEIGHTS_URL = "https://github.com/MCG-NJU/MixFormerV2#model-zoo"

# ImageNet statistics, the normalisation the official weights were trained with.
MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)

RUNTIMES = ("eager", "sdpa", "compile", "onnxruntime", "onednn", "bf16", "compile-bf16")
# Runtimes that change the computed function (lower precision): opt-in latency variants, never
# a reproduction of the official outputs. Their deviation from fp32 is measured by
# benchmarks/bench_mfv2_cache.py --bf16.
REDUCED_PRECISION_RUNTIMES = ("bf16", "compile-bf16")
# float32 runtimes computing the official function (outputs equal to float rounding): the only
# candidates of ``--runtime auto`` (speed/auto_runtime.py). 'onednn' is the cached step only.
EXACT_RUNTIMES = tuple(r for r in RUNTIMES if r not in REDUCED_PRECISION_RUNTIMES)
ATTENTION_MODES = ("eager", "sdpa")
HEAD_KINDS = ("distribution", "corner")

# Full-size released configurations (768 wide, 12 heads in both; see ARCHITECTURE.md (b)).
VARIANTS: dict[str, dict[str, Any]] = {
    "base": {
        "embed_dim": 768, "num_heads": 12, "depth": 8, "mlp_ratio": 4.0,
        "patch_size": 16, "template_size": 128, "search_size": 288, "num_bins": 96,
    },
    "small": {
        "embed_dim": 768, "num_heads": 12, "depth": 4, "mlp_ratio": 1.0,
        "patch_size": 16, "template_size": 112, "search_size": 224, "num_bins": 96,
    },
    # Trained here (``mfv2bench train recipes/micro.toml``, synthetic data): no official weights.
    "micro": {
        "embed_dim": 128, "num_heads": 4, "depth": 4, "mlp_ratio": 4.0,
        "patch_size": 16, "template_size": 64, "search_size": 128, "num_bins": 32,
    },
}


class ModelConfigError(ConfigError, ValueError):
    """A model configuration value out of range (a ValueError too, for ``build_model`` callers)."""


_SHA256 = re.compile(r"^[0-9a-f]{64}$")


# ----------------------------------------------------------------------------------------------
# Value types of the spec tables: a wrong type is a ConfigError naming the key (never a
# TypeError/ValueError deep in a comparison or int() call, never silently truthy).

_TYPE_NAMES = {
    "int": "an integer", "int?": "an integer", "number": "a finite number", "bool": "true or false",
    "str": "a string", "str?": "a string", "3 numbers": "a list of 3 finite numbers",
    "ints": "a list of integers",
}


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return (isinstance(value, (int, float)) and not isinstance(value, bool)
            and math.isfinite(value))


def value_has_type(value: Any, want: str) -> bool:
    """Whether ``value`` is of the spec type ``want`` (see ``_TYPE_NAMES``)."""
    if want.endswith("?") and value is None:
        return True
    base = want.rstrip("?")
    if base == "int":
        return _is_int(value)
    if base == "number":
        return _is_number(value)
    if base == "bool":
        return isinstance(value, bool)
    if base == "str":
        return isinstance(value, str)
    if base == "3 numbers":
        return isinstance(value, (list, tuple)) and len(value) == 3 and all(map(_is_number, value))
    if base == "ints":
        return isinstance(value, (list, tuple)) and all(map(_is_int, value))
    raise AssertionError(want)


def check_types(values: dict[str, Any], types: dict[str, str], where: str) -> None:
    """ConfigError ``<where> <key> must be <type>, got <value>`` for the first wrong-typed key."""
    for key, value in values.items():
        want = types.get(key)
        if want is not None and not value_has_type(value, want):
            raise ConfigError(f"{where} {key} must be {_TYPE_NAMES[want]}, got {value!r}")


@dataclass(frozen=True)
class VariantWeights:
    """What the released weights of one variant expect (timm's pretrained config): the file
    name, its sha256 when known (checked on load), the input normalisation and crop sizes."""

    variant: str
    file_name: str
    sha256: str | None
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    template_size: int
    search_size: int
    url: str = OFFICIAL_WEIGHTS_URL

    def __post_init__(self) -> None:
        where = f"weights record of {self.variant!r}"
        if self.sha256 is not None and not _SHA256.match(self.sha256):
            raise ConfigError(f"{where}: sha256 must be 64 lower-case hex digits, got {self.sha256!r}")
        if len(self.mean) != 3 or len(self.std) != 3 or min(self.std) <= 0:
            raise ConfigError(f"{where}: mean/std need 3 values, std > 0")
        if self.template_size <= 0 or self.search_size <= 0:
            raise ConfigError(f"{where}: crop sizes must be positive")


WEIGHTS: dict[str, VariantWeights] = {
    "base": VariantWeights("base", "mixformerv2_base.pth.tar", None, MEAN, STD, 128, 288),
    "small": VariantWeights("small", "mixformerv2_small.pth.tar", None, MEAN, STD, 112, 224),
    "micro": VariantWeights("micro", "checkpoints/micro/mfv2-micro.pth", None, MEAN, STD, 64, 128,
                            url="mfv2bench train recipes/micro.toml (shipped in checkpoints/micro/)"),
}

for _name, _record in WEIGHTS.items():  # a record must describe the variant it is filed under
    if _record.variant != _name or (_record.template_size, _record.search_size) != (
            VARIANTS[_name]["template_size"], VARIANTS[_name]["search_size"]):
        raise ConfigError(f"weights record {_name!r} does not match VARIANTS[{_name!r}]")


@dataclass(frozen=True)
class MixFormerV2Config:
    """Every architecture value of one network; ``to_dict`` adds the derived sizes (the dict
    the model modules read)."""

    embed_dim: int
    num_heads: int
    depth: int
    template_size: int
    search_size: int
    mlp_ratio: float = 4.0
    mlp_hidden_dim: int = 0  # 0: embed_dim * mlp_ratio
    patch_size: int = 16
    num_bins: int = 96
    qkv_bias: bool = True
    backbone_layernorm_eps: float = 1e-6
    head_layernorm_eps: float = 1e-5
    attention: str = "eager"
    head: str = "distribution"
    activation: str = "gelu_erf"

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        for name in ("embed_dim", "num_heads", "depth", "patch_size", "num_bins",
                     "template_size", "search_size", "mlp_hidden_dim"):
            set_(self, name, int(getattr(self, name)))
        set_(self, "mlp_ratio", float(self.mlp_ratio))
        dim, heads = self.embed_dim, self.num_heads
        if heads < 1 or dim % heads:
            raise ModelConfigError(f"embed_dim {dim} is not divisible by num_heads {heads}")
        if self.depth < 1:
            raise ModelConfigError(f"depth must be >= 1, got {self.depth}")
        if not self.mlp_hidden_dim:
            set_(self, "mlp_hidden_dim", int(dim * self.mlp_ratio))
        if self.mlp_hidden_dim < 1:
            raise ModelConfigError(f"mlp_hidden_dim must be >= 1, got {self.mlp_hidden_dim}")
        for side in ("template_size", "search_size"):
            if getattr(self, side) <= 0 or getattr(self, side) % self.patch_size:
                raise ModelConfigError(f"{side} {getattr(self, side)} is not a positive multiple "
                                       f"of patch_size {self.patch_size}")
        if self.attention not in ATTENTION_MODES:
            raise ModelConfigError(f"attention must be one of {ATTENTION_MODES}, got {self.attention!r}")
        if self.head not in HEAD_KINDS:
            raise ModelConfigError(f"head must be one of {HEAD_KINDS}, got {self.head!r}")
        if self.activation != "gelu_erf":
            raise ModelConfigError("only the exact erf GELU of the official model is supported")

    @classmethod
    def from_dict(cls, config: dict[str, Any]) -> "MixFormerV2Config":
        """From a variant dict, a ``model.config`` dict or a golden record's ``config`` (its
        descriptive keys are ignored; ``variant`` names defaults that the other keys override)."""
        values: dict[str, Any] = {}
        if config.get("variant") in VARIANTS:
            values.update(VARIANTS[config["variant"]])
        known = {f.name for f in fields(cls)}
        values.update({k: v for k, v in config.items() if k in known and v is not None})
        missing = [k for k in ("embed_dim", "num_heads", "depth", "template_size", "search_size")
                   if k not in values]
        if missing:
            raise ModelConfigError(f"model config lacks {missing}")
        return cls(**values)

    @property
    def head_dim(self) -> int:
        return self.embed_dim // self.num_heads

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        p = self.patch_size
        out.update(head_dim=self.head_dim, template_feat_size=self.template_size // p,
                   search_feat_size=self.search_size // p)
        out.update(num_template_tokens=out["template_feat_size"] ** 2,
                   num_search_tokens=out["search_feat_size"] ** 2)
        return out


@dataclass
class TrackerParams:
    """Test-time parameters (defaults: the official ones for MixFormerV2-B on LaSOT).

    update_interval 0 disables the online-template update. Sizes and normalisation left None
    come from the model / the variant's weights record when the tracker is built.
    """

    template_factor: float = 2.0
    template_size: int | None = None  # None: the model's template size
    search_factor: float = 5.0
    search_size: int | None = None  # None: the model's search size
    update_interval: int = 200
    score_threshold: float = 0.5
    max_score_decay: float = 1.0
    online_size: int = 1
    clip_margin: int = 10
    runtime: str = "eager"
    cached: bool = True
    attention: str = "eager"
    threads: int | None = None  # ONNX Runtime intra-op threads (torch threads are the caller's)
    quantize: str | None = None  # "int8": ONNX Runtime dynamic int8 (reduced precision, opt-in)
    normalize_mean: tuple[float, float, float] = MEAN
    normalize_std: tuple[float, float, float] = STD

    # keys of the golden / official parameter records that describe, not configure
    _INFORMATIONAL = ("official_tracker", "official_yaml", "dataset_name", "image_reading")

    @classmethod
    def from_dict(cls, values: dict[str, Any], strict: bool = True, source: str = "params") -> "TrackerParams":
        """Build from a spec's ``[params]`` (strict: unknown names are an error) or a golden record."""
        known = {f.name for f in fields(cls)}
        unknown = [k for k in values if k not in known and k not in cls._INFORMATIONAL]
        if unknown and strict:
            raise ConfigError(f"{source}: unknown MixFormerV2 parameter(s) {unknown}; known: {sorted(known)}")
        p = cls(**{k: v for k, v in values.items() if k in known})
        p.validate(source)
        return p

    def validate(self, source: str = "params") -> None:
        check_types(asdict(self), PARAM_TYPES, f"{source}:")
        if self.runtime not in RUNTIMES:
            raise ConfigError(f"{source}: runtime must be one of {RUNTIMES}, got {self.runtime!r}")
        if self.attention not in ATTENTION_MODES:
            raise ConfigError(f"{source}: attention must be one of {ATTENTION_MODES}, "
                              f"got {self.attention!r}")
        if self.runtime == "onednn" and not self.cached:
            raise ConfigError(f"{source}: runtime \"onednn\" is the cached step: it needs "
                              "cached = true (the full recompute runs in the other runtimes)")
        if self.quantize is not None and (self.quantize != "int8" or self.runtime != "onnxruntime"):
            raise ConfigError(f"{source}: quantize = {self.quantize!r}: only \"int8\" with "
                              "runtime = \"onnxruntime\" is supported")
        if self.online_size != 1:
            raise ConfigError(
                f"{source}: online_size {self.online_size} is not supported: the official tracker "
                "crashes with online size > 1 at its first update; all published settings use 1")
        if self.update_interval < 0:
            raise ConfigError(f"{source}: update_interval must be >= 0 (0 = no online update)")
        if self.search_factor <= 0 or self.template_factor <= 0:
            raise ConfigError(f"{source}: crop factors must be positive")
        if len(self.normalize_mean) != 3 or len(self.normalize_std) != 3 or min(self.normalize_std) <= 0:
            raise ConfigError(f"{source}: normalize_mean/std need 3 values each, std > 0")
        if self.max_score_decay < 0:
            raise ConfigError(f"{source}: max_score_decay must be >= 0, got {self.max_score_decay}")
        if self.clip_margin < 0:
            raise ConfigError(f"{source}: clip_margin must be >= 0, got {self.clip_margin}")
        if self.threads is not None and self.threads < 0:
            raise ConfigError(f"{source}: threads must be >= 0 (0: the runtime's default), "
                              f"got {self.threads}")
        for side in ("template_size", "search_size"):
            if getattr(self, side) is not None and getattr(self, side) <= 0:
                raise ConfigError(f"{source}: {side} must be positive, got {getattr(self, side)}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# spec type of every TrackerParams field (checked before any range check)
PARAM_TYPES: dict[str, str] = {
    "template_factor": "number", "template_size": "int?", "search_factor": "number",
    "search_size": "int?", "update_interval": "int", "score_threshold": "number",
    "max_score_decay": "number", "online_size": "int", "clip_margin": "int", "runtime": "str",
    "cached": "bool", "attention": "str", "threads": "int?", "quantize": "str?",
    "normalize_mean": "3 numbers", "normalize_std": "3 numbers",
}
assert set(PARAM_TYPES) == {f.name for f in fields(TrackerParams)}, "PARAM_TYPES out of date"


# ----------------------------------------------------------------------------------------------
# A spec's [model] table

MODEL_KEYS = ("variant", "depth", "keep_layers", "mlp_hidden", "head", "checkpoint",
              "random_weights", "seed", "trust_checkpoint")
MODEL_TYPES: dict[str, str] = {
    "variant": "str", "depth": "int", "keep_layers": "ints", "mlp_hidden": "int", "head": "str",
    "checkpoint": "str", "random_weights": "bool", "seed": "int", "trust_checkpoint": "bool",
}


def model_config_from_spec(model_spec: dict[str, Any], attention: str = "eager") -> dict[str, Any]:
    """Model config (see ``VARIANTS``) for a spec's ``[model]`` table, checked."""
    unknown = [k for k in model_spec if k not in MODEL_KEYS]
    if unknown:
        raise ConfigError(f"[model]: unknown key(s) {unknown}; known: {list(MODEL_KEYS)}")
    check_types(model_spec, MODEL_TYPES, "[model]")
    variant = model_spec.get("variant", "base")
    if variant not in VARIANTS:
        raise ConfigError(f"[model] variant must be one of {sorted(VARIANTS)}, got {variant!r}")
    cfg = dict(VARIANTS[variant])
    full_depth = cfg["depth"]
    keep = model_spec.get("keep_layers")
    if keep is not None:
        if len(set(keep)) != len(keep) or not all(0 <= int(i) < full_depth for i in keep):
            raise ConfigError(f"[model] keep_layers must list distinct blocks of 0..{full_depth - 1}, "
                              f"got {keep}")
        cfg["depth"] = len(keep)
    elif "depth" in model_spec:
        cfg["depth"] = int(model_spec["depth"])
    if not 1 <= cfg["depth"] <= full_depth:
        raise ConfigError(f"[model] depth must be in 1..{full_depth} for {variant}, got {cfg['depth']}")
    full_hidden = int(cfg["embed_dim"] * cfg["mlp_ratio"])
    if "mlp_hidden" in model_spec:
        hidden = int(model_spec["mlp_hidden"])
        if not 1 <= hidden <= full_hidden:
            raise ConfigError(f"[model] mlp_hidden must be in 1..{full_hidden}, got {hidden}")
        cfg["mlp_hidden_dim"] = hidden
    cfg["head"] = model_spec.get("head", "distribution")
    cfg["attention"] = attention
    return MixFormerV2Config.from_dict(cfg).to_dict()


def kept_layers(model_spec: dict[str, Any], full_depth: int) -> list[int]:
    """Blocks kept when the depth is reduced: ``keep_layers`` or the first ``depth`` blocks."""
    if model_spec.get("keep_layers") is not None:
        return [int(i) for i in model_spec["keep_layers"]]
    return list(range(int(model_spec.get("depth", full_depth))))


def params_from_spec(params_table: dict[str, Any], model_cfg: dict[str, Any], variant: str,
                     source: str = "params") -> TrackerParams:
    """A spec's ``[params]`` (strict) with every default resolved: crop sizes from the model,
    normalisation from the variant's weights record unless the table sets them."""
    p = TrackerParams.from_dict(dict(params_table), strict=True, source=source)
    weights = WEIGHTS[variant]
    for side in ("template_size", "search_size"):
        given = getattr(p, side)
        if given is None:
            setattr(p, side, int(model_cfg[side]))
        elif given != int(model_cfg[side]):
            raise ConfigError(f"{source}: {side} = {given} does not match the model's "
                              f"{int(model_cfg[side])} (leave it out: it comes from the model)")
    if "normalize_mean" not in params_table:
        p.normalize_mean = tuple(weights.mean)
    if "normalize_std" not in params_table:
        p.normalize_std = tuple(weights.std)
    p.normalize_mean = tuple(float(v) for v in p.normalize_mean)
    p.normalize_std = tuple(float(v) for v in p.normalize_std)
    return p
