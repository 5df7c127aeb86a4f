"""Speed results on disk, beside the raw results:
``results/<tracker>/speed/<device>-<threads>t-b<batch>-<precision>.json`` (``cuda:0`` is written
``cuda0``; on a GPU the threads part is the CPU threads of the host process). One file holds every
measure of one ``mfv2bench speed`` run at that setting, with its manifest; a new run replaces it.
The paths and the atomic write are the results layer's (``mfv2bench.results``)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..devices import is_cuda
from ..errors import InputError
from ..results.atomic import atomic_write
from ..results.layout import SPEED_DIR, speed_file_name, speed_folder

SCHEMA = 1

# How results are labelled; only "isolated" results are ever shown as a tracker's speed.
ISOLATED = "isolated"
CONTENDED = "contended"


@dataclass
class SpeedResult:
    """Everything one ``speed`` run measured for one tracker at one setting."""

    tracker: str
    device: str
    threads: int | None
    batch: int
    precision: str
    weights: str
    runtime: str | None = None
    spec: dict[str, Any] = field(default_factory=dict)
    model_latency: dict[str, Any] | None = None
    tracking: dict[str, Any] | None = None
    breakdown: list[dict[str, Any]] | None = None
    thread_scaling: list[dict[str, Any]] | None = None
    batch_scaling: list[dict[str, Any]] | None = None
    manifest: dict[str, Any] = field(default_factory=dict)
    conditions: str = ISOLATED
    notes: list[str] = field(default_factory=list)
    schema: int = SCHEMA

    @property
    def contended(self) -> bool:
        return self.conditions == CONTENDED

    @property
    def tracking_fps(self) -> float | None:
        return None if not self.tracking else self.tracking.get("fps")

    @property
    def model_fps(self) -> float | None:
        return None if not self.model_latency else self.model_latency.get("fps")

    @property
    def is_gpu(self) -> bool:
        return is_cuda(self.device)

    def hardware(self) -> str:
        """One-line hardware label: GPU name on CUDA, CPU model and threads on the CPU."""
        gpu = self.manifest.get("gpu") or {}
        if self.is_gpu and gpu.get("name"):
            return f"{gpu['name']} ({self.precision})"
        cpu = (self.manifest.get("cpu") or {}).get("model", "unknown CPU")
        return f"{cpu}, {self.threads} thread(s) ({self.precision})"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "SpeedResult":
        known = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in data.items() if k in known})


def speed_result_path(results_dir: str | Path, result: SpeedResult) -> Path:
    """Where ``result`` is (or would be) saved."""
    return speed_folder(results_dir, result.tracker) / speed_file_name(
        result.device, result.threads, result.batch, result.precision)


def save_speed_result(result: SpeedResult, results_dir: str | Path) -> Path:
    """Write ``result`` atomically (temp file + rename) and return its path."""
    path = speed_result_path(results_dir, result)
    path.parent.mkdir(parents=True, exist_ok=True)
    return atomic_write(path, json.dumps(result.to_dict(), indent=1, default=_json_default) + "\n")


def _json_default(obj: Any) -> Any:
    if hasattr(obj, "item"):
        return obj.item()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def read_speed_result(path: str | Path) -> SpeedResult:
    """One speed JSON; a broken file is an ``InputError`` naming it (and the line, if known)."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise InputError(f"not valid JSON: {exc.msg}", path=path, line=exc.lineno) from None
    if not isinstance(data, dict) or "tracker" not in data or "device" not in data:
        raise InputError("not a speed result (needs 'tracker' and 'device')", path=path)
    try:
        return SpeedResult.from_dict(data)
    except TypeError as exc:
        raise InputError(f"speed result is missing fields: {exc}", path=path) from None


def load_speed_results(results_dir: str | Path, tracker: str | None = None,
                       include_contended: bool = False) -> list[SpeedResult]:
    """Speed results of ``tracker`` (or of every tracker), sorted by tracker then file name.

    Contended results are left out unless ``include_contended`` is set.
    """
    root = Path(results_dir)
    if tracker is not None:
        folders = [speed_folder(root, tracker)]
    else:
        folders = sorted(p for p in root.glob(f"*/{SPEED_DIR}") if p.is_dir())
    out: list[SpeedResult] = []
    for folder in folders:
        for path in sorted(folder.glob("*.json")):
            result = read_speed_result(path)
            if result.contended and not include_contended:
                continue
            out.append(result)
    return out
