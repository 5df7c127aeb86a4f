"""Training recipes: TOML declared once, checked into typed dataclasses, hashed like tracker
specs (the hash covers the effective configuration, code defaults included, so two recipes
that train the same thing have the same hash and a changed default changes it). Hash-compatible
extension: a field added later whose default reproduces the old behaviour (``precision``) is
hashed only when set, so existing recipes keep their stage hashes and finished stages.

A recipe names the data (``[data]``), the stages in order (``[[stage]]``) with their sizes and
budgets, and the seed and threads. Stages refer to earlier stages by name (``init``,
``teacher``); their outputs are checkpoints in the official layout.
"""

from __future__ import annotations

import sys
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ..hashing import file_sha256, stable_hash
from ..trackers.mixformerv2.config import VARIANTS, MixFormerV2Config

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

RECIPE_VERSION = 1
SOURCES = ("synthetic", "dataset")
# teacher: dense corner head on GT; direct: token (distribution) head on GT; sparse:
# dense-to-sparse (token head, KL to the teacher's corner marginals + GT); prune: deep-to-
# shallow (progressive depth pruning, feature + logit distillation); mlp: MLP reduction
# (sliced init + distillation); score: score head on the frozen tracker.
STAGE_METHODS = ("teacher", "direct", "sparse", "prune", "mlp", "score")
# fp32: float32 forward and weights; bf16: the forward under torch.autocast(bfloat16), float32
# master weights, optimiser and losses.
PRECISIONS = ("fp32", "bf16")
FILE_PREFIX = "file:"
CHECKPOINT_SUFFIXES = (".pth", ".pt", ".tar")
# Hash-compatible extension: a field whose default reproduces the old behaviour is hashed only
# when set (metadata HASHED_WHEN_SET), so the stage hashes of existing recipes, and with them
# their finished stages, stay valid when such a field is added.
HASHED_WHEN_SET = "hashed_when_set"


def is_file_ref(ref: str) -> bool:
    """Whether an ``init`` / ``teacher`` value names a checkpoint file (``file:PATH``, or a
    path ending in .pth / .pt / .tar) rather than an earlier stage."""
    return ref.startswith(FILE_PREFIX) or ref.endswith(CHECKPOINT_SUFFIXES)


def file_ref_path(ref: str) -> Path:
    """The path of a checkpoint-file reference (``file:`` prefix removed, ``~`` expanded)."""
    return Path(ref[len(FILE_PREFIX):] if ref.startswith(FILE_PREFIX) else ref).expanduser()


def hashed_fields(obj: Any) -> dict[str, Any]:
    """``asdict(obj)`` less the hash-compatible fields left at their defaults."""
    out = asdict(obj)
    for f in fields(obj):
        if f.metadata.get(HASHED_WHEN_SET) and out[f.name] == f.default:
            del out[f.name]
    return out


@dataclass(frozen=True)
class DataConfig:
    """Where training pairs come from and how they are cut.

    ``source = "synthetic"``: sequences of our generator's LaSOT-layout TRAIN split (never its
    test split), made in memory. ``source = "dataset"``: any registered data set's split
    (``dataset``, ``split``, optional ``root``), e.g. LaSOT / GOT-10k / TrackingNet train.
    Validation pairs come from sequences disjoint from the training ones (same split).
    """

    source: str = "synthetic"
    dataset: str = "lasot"
    split: str = "train"
    root: str = ""
    seed: int = 0
    sequences: int = 200
    val_sequences: int = 20
    frames: tuple[int, int] = (60, 100)
    image_size: tuple[int, int] = (320, 240)
    pairs: int = 8000
    val_pairs: int = 512
    max_gap: int = 60
    template_factor: float = 2.0
    search_factor: float = 5.0
    center_jitter: float = 3.0
    scale_jitter: float = 0.25
    min_visible: float = 0.3
    negative_fraction: float = 0.25  # score stage only: search crops without the target
    flip: bool = True

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "frames", tuple(int(v) for v in self.frames))
        set_(self, "image_size", tuple(int(v) for v in self.image_size))
        if self.source not in SOURCES:
            raise ConfigError(f"[data] source must be one of {SOURCES}, got {self.source!r}")
        if self.source == "dataset" and "test" in self.split.lower():
            raise ConfigError(f"[data] split {self.split!r}: test splits are never trained on")
        for name in ("sequences", "val_sequences", "pairs", "val_pairs", "max_gap"):
            if int(getattr(self, name)) < 1:
                raise ConfigError(f"[data] {name} must be >= 1, got {getattr(self, name)}")
        if len(self.frames) != 2 or not 2 <= self.frames[0] <= self.frames[1]:
            raise ConfigError(f"[data] frames must be [lo, hi] with 2 <= lo <= hi, got {self.frames}")
        if self.template_factor <= 0 or self.search_factor <= 0:
            raise ConfigError("[data] crop factors must be positive")
        if self.center_jitter < 0 or self.scale_jitter < 0:
            raise ConfigError("[data] jitters must be >= 0")
        if not 0.0 <= self.negative_fraction < 1.0 or not 0.0 <= self.min_visible <= 1.0:
            raise ConfigError("[data] negative_fraction in [0, 1), min_visible in [0, 1]")


@dataclass(frozen=True)
class StageConfig:
    """One training stage. Budget: ``steps`` and/or ``minutes`` (whichever ends first; one is
    required). Model shape: ``variant`` values overridden by ``depth`` / ``mlp_hidden`` /
    ``head``. ``init``: an earlier stage whose weights start this one; ``teacher``: the stage
    distilled from."""

    name: str
    method: str
    steps: int = 0
    minutes: float = 0.0
    batch: int = 32
    lr: float = 4e-4
    weight_decay: float = 1e-4
    warmup_steps: int = 50
    variant: str = "micro"
    depth: int = 0            # 0: the variant's
    mlp_hidden: int = 0       # 0: the variant's
    init: str = ""
    teacher: str = ""
    keep_layers: tuple[int, ...] = ()  # prune: blocks of the init model kept (default: spread)
    progressive: bool = True  # prune: fade removed layers out (False: drop them at once)
    decay_fraction: float = 0.5  # prune: share of the budget over which gamma goes 1 -> 0
    w_l1: float = 5.0
    w_giou: float = 2.0
    w_dist: float = 1.0       # token head: cross-entropy of each edge to its GT position
    w_kl: float = 1.0         # logit distillation (sparse / prune / mlp)
    w_feat: float = 1.0       # feature mimicking (prune / mlp)
    iou_threshold: float = 0.5  # score stage: label 1 where the predicted box's IoU exceeds it
    val_every: int = 200
    checkpoint_seconds: float = 60.0
    # forward precision (bf16: autocast, fp32 master weights); hashed only when not fp32
    precision: str = field(default="fp32", metadata={HASHED_WHEN_SET: True})
    # share of training pairs whose search frame shows the target partly or fully hidden
    # (occluded, out of view), so the tracker learns to hold the box through occlusions; the
    # box target of a fully hidden frame is its annotation, else the last annotated box
    hidden_fraction: float = field(default=0.0, metadata={HASHED_WHEN_SET: True})

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "keep_layers", tuple(int(v) for v in self.keep_layers))
        where = f"[[stage]] {self.name!r}"
        if not self.name or not self.name.replace("-", "_").isidentifier():
            raise ConfigError(f"[[stage]] name must be a plain identifier, got {self.name!r}")
        if self.method not in STAGE_METHODS:
            raise ConfigError(f"{where}: method must be one of {STAGE_METHODS}, got {self.method!r}")
        if self.steps < 0 or self.minutes < 0 or (self.steps == 0 and self.minutes == 0):
            raise ConfigError(f"{where}: set a budget: steps > 0 and/or minutes > 0")
        if self.batch < 1 or self.lr <= 0 or self.val_every < 1:
            raise ConfigError(f"{where}: batch >= 1, lr > 0, val_every >= 1")
        if self.variant not in VARIANTS:
            raise ConfigError(f"{where}: variant must be one of {sorted(VARIANTS)}")
        if self.precision not in PRECISIONS:
            raise ConfigError(f"{where}: precision must be one of {PRECISIONS}, got {self.precision!r}")
        if self.method in ("sparse", "prune", "mlp") and not self.teacher:
            raise ConfigError(f"{where}: method {self.method!r} needs a teacher stage")
        if self.method in ("prune", "mlp", "score") and not self.init:
            raise ConfigError(f"{where}: method {self.method!r} starts from a trained model: set init")
        if not 0.0 <= self.hidden_fraction < 1.0:
            raise ConfigError(f"{where}: hidden_fraction must be in [0, 1)")
        if self.hidden_fraction and self.method == "score":
            raise ConfigError(f"{where}: the score stage labels hidden targets as absent; "
                              "hidden_fraction is for box-training stages")
        if not 0.0 < self.decay_fraction <= 1.0:
            raise ConfigError(f"{where}: decay_fraction must be in (0, 1]")
        self.model_config()  # shape errors now, not after an hour of training

    @property
    def head(self) -> str:
        return "corner" if self.method == "teacher" else "distribution"

    def model_config(self, base: dict[str, Any] | None = None) -> dict[str, Any]:
        """The network this stage trains (``base``: the init model's config, else the variant)."""
        cfg = dict(base) if base else dict(VARIANTS[self.variant])
        if self.depth:
            cfg["depth"] = self.depth
        elif self.method == "prune" and self.keep_layers:
            cfg["depth"] = len(self.keep_layers)
        if self.mlp_hidden:
            cfg["mlp_hidden_dim"] = self.mlp_hidden
        elif base is None:
            cfg.pop("mlp_hidden_dim", None)
        cfg["head"] = self.head
        cfg["attention"] = "eager"
        try:
            return MixFormerV2Config.from_dict(cfg).to_dict()
        except ConfigError as exc:
            raise ConfigError(f"[[stage]] {self.name!r}: {exc}") from None


@dataclass(frozen=True)
class Recipe:
    """A whole training run: data, stages (in order), seed, threads per process."""

    name: str
    data: DataConfig
    stages: tuple[StageConfig, ...]
    seed: int = 0
    threads: int = 1
    description: str = ""
    path: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        if not self.stages:
            raise ConfigError(f"recipe {self.name!r}: no [[stage]]")
        if self.threads < 1:
            raise ConfigError(f"recipe {self.name!r}: threads must be >= 1")
        seen: list[str] = []
        for st in self.stages:
            if st.name in seen:
                raise ConfigError(f"recipe {self.name!r}: stage name {st.name!r} repeated")
            for ref in (st.init, st.teacher):
                if ref and ref not in seen and not is_file_ref(ref):
                    raise ConfigError(f"recipe {self.name!r}: stage {st.name!r} refers to "
                                      f"{ref!r}, which is no earlier stage (nor a checkpoint path)")
            seen.append(st.name)

    def stage(self, name: str) -> StageConfig:
        for st in self.stages:
            if st.name == name:
                return st
        raise ConfigError(f"recipe {self.name!r} has no stage {name!r}; stages: "
                          f"{[s.name for s in self.stages]}")

    def effective(self) -> dict[str, Any]:
        """Every value that affects the trained weights, defaults included (what the hash
        covers; hash-compatible fields only when set), with the sha256 of checkpoint files
        used as init / teacher."""
        return self._hashed(self.stages)

    def _hashed(self, stages: tuple[StageConfig, ...]) -> dict[str, Any]:
        out = {"recipe_version": RECIPE_VERSION, "seed": self.seed, "data": hashed_fields(self.data),
               "stages": [hashed_fields(s) for s in stages]}
        files = {ref: _file_digest(file_ref_path(ref)) for s in stages
                 for ref in (s.init, s.teacher) if ref and is_file_ref(ref)}
        if files:  # the weights depend on the file's content, not on its name
            out["files"] = files
        return out

    @property
    def hash(self) -> str:
        return stable_hash(self.effective())

    def stage_hash(self, name: str) -> str:
        """Hash of what one stage's weights depend on: data, seed and the stages up to it."""
        names = [s.name for s in self.stages]
        return stable_hash(self._hashed(self.stages[: names.index(name) + 1]))


_DIGESTS: dict[tuple[str, int, int], str] = {}


def _file_digest(path: Path) -> str:
    """sha256 of a checkpoint file (cached by path, size and mtime; "missing" if absent: the
    stage then fails with the loader's error when it starts)."""
    try:
        st = path.stat()
    except OSError:
        return "missing"
    key = (str(path.resolve()), st.st_size, st.st_mtime_ns)
    if key not in _DIGESTS:
        _DIGESTS[key] = file_sha256(str(path))
    return _DIGESTS[key]


def _typed(cls, table: dict[str, Any], where: str):
    known = {f.name: f for f in fields(cls)}
    unknown = sorted(k for k in table if k not in known)
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {unknown}; known: {sorted(known)}")
    try:
        return cls(**table)
    except TypeError as exc:
        raise ConfigError(f"{where}: {exc}") from None


def recipe_from_dict(body: dict[str, Any], name: str = "recipe", path: str = "") -> Recipe:
    """Check a parsed recipe (TOML tables) into a ``Recipe``; every error names the key."""
    body = dict(body)
    top = {"name", "description", "seed", "threads", "data", "stage"}
    unknown = sorted(k for k in body if k not in top)
    if unknown:
        raise ConfigError(f"{path or name}: unknown top-level key(s) {unknown}; known: {sorted(top)}")
    data = _typed(DataConfig, dict(body.get("data", {})), f"{path or name} [data]")
    raw_stages = body.get("stage", [])
    if not isinstance(raw_stages, list):
        raise ConfigError(f"{path or name}: stages are [[stage]] tables")
    stages = tuple(_typed(StageConfig, dict(t), f"{path or name} [[stage]] {i + 1}")
                   for i, t in enumerate(raw_stages))
    return Recipe(name=str(body.get("name", name)), data=data, stages=stages,
                  seed=int(body.get("seed", 0)), threads=int(body.get("threads", 1)),
                  description=str(body.get("description", "")), path=path)


def load_recipe(path: str | Path) -> Recipe:
    """Read and check a recipe TOML file."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"recipe not found: {path}")
    try:
        with open(path, "rb") as f:
            body = tomllib.load(f)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    return recipe_from_dict(body, name=path.stem, path=str(path))
