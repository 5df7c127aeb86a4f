"""The workspace: where data roots, tracker specs, checkpoints, results and reports live.

Resolution order for every setting: command-line flag > environment variable > ``mfv2bench.toml``
at the workspace root > built-in default. The workspace root is ``$MFV2BENCH_WORKSPACE``, else the
nearest folder upwards from the current directory holding ``mfv2bench.toml``, else the current
directory.
"""

from __future__ import annotations

import logging
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

from .errors import ConfigError

logger = logging.getLogger(__name__)

CONFIG_NAME = "mfv2bench.toml"
# the [paths] keys: the workspace's places
PLACES = ("trackers", "results", "reports", "checkpoints")
ENV_WORKSPACE = "MFV2BENCH_WORKSPACE"
# MFV2BENCH_DATA_LASOT=/data/LaSOT overrides [datasets].lasot, and so on for every data set name.
ENV_DATA_PREFIX = "MFV2BENCH_DATA_"

# Default data roots, relative to the workspace. The synthetic default is written under
# datasets/synthetic/<format>; real data sets are placed or linked at datasets/<name>.
DEFAULT_DATA_ROOTS: dict[str, str] = {
    "lasot": "datasets/lasot",
    "lasot_ext": "datasets/lasot_ext",
    "got10k": "datasets/got10k",
    "trackingnet": "datasets/trackingnet",
    "synthetic-lasot": "datasets/synthetic/lasot",
    "synthetic-got10k": "datasets/synthetic/got10k",
    "synthetic-trackingnet": "datasets/synthetic/trackingnet",
}


def find_workspace_root(start: Path | None = None) -> Path:
    """The workspace folder (see module docstring)."""
    env = os.environ.get(ENV_WORKSPACE)
    if env:
        return Path(env).expanduser().resolve()
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / CONFIG_NAME).is_file():
            return folder
    return here


@dataclass
class Workspace:
    """Places of one workspace, as absolute paths."""

    root: Path
    data_roots: dict[str, Path] = field(default_factory=dict)
    trackers_dir: Path = Path()
    results_dir: Path = Path()
    reports_dir: Path = Path()
    checkpoints_dir: Path = Path()
    config: dict[str, Any] = field(default_factory=dict)

    def data_root(self, dataset: str) -> Path:
        """Root folder of ``dataset`` (a registry name such as ``lasot`` or ``synthetic-lasot``)."""
        env = os.environ.get(ENV_DATA_PREFIX + dataset.upper().replace("-", "_"))
        if env:
            return _resolve(Path(env).expanduser())
        if dataset in self.data_roots:
            return self.data_roots[dataset]
        if dataset.startswith("synthetic-"):  # every synthetic layout under datasets/synthetic/
            return _resolve(self.root / "datasets" / "synthetic" / dataset.removeprefix("synthetic-"))
        return _resolve(self.root / "datasets" / dataset)


def _resolve(p: Path) -> Path:
    """``p.resolve()``, or the absolute path when resolving fails (a symlink loop): the loader
    that opens the folder then reports the loop in one line, naming it."""
    try:
        return p.resolve()
    except (RuntimeError, OSError):
        return Path(os.path.abspath(p))


def _read_config(path: Path) -> dict[str, Any]:
    try:
        with open(path, "rb") as f:
            return tomllib.load(f)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None


def load_workspace(root: str | Path | None = None) -> Workspace:
    """Read the workspace config; relative paths in it are relative to the workspace root."""
    ws_root = Path(root).expanduser().resolve() if root else find_workspace_root()
    cfg_path = ws_root / CONFIG_NAME
    cfg = _read_config(cfg_path) if cfg_path.is_file() else {}

    paths = cfg.get("paths", {})
    if not isinstance(paths, dict):
        raise ConfigError(f"{cfg_path}: 'paths' must be a table ([paths] with trackers, results, "
                          f"reports, checkpoints = \"folder\"), not {type(paths).__name__}")
    unknown = sorted(set(paths) - set(PLACES))
    if unknown:  # a typo (reslts = ...) would silently write elsewhere
        raise ConfigError(f"{cfg_path}: unknown key(s) {', '.join(unknown)} in [paths] (known: "
                          f"{', '.join(PLACES)})")
    extra = sorted(set(cfg) - {"paths", "datasets"})
    if extra:
        logger.warning("%s: section(s) %s are not used by mfv2bench (known: [paths], "
                       "[datasets])", cfg_path, ", ".join(extra))
    datasets = cfg.get("datasets") or {}
    if not isinstance(datasets, dict):
        raise ConfigError(f"{cfg_path}: 'datasets' must be a table ([datasets] with "
                          f"<data set> = \"folder\"), not {type(datasets).__name__}")

    def place(key: str, default: str) -> Path:
        env_name = f"MFV2BENCH_{key.upper()}"
        env = os.environ.get(env_name)
        value = env or paths.get(key, default)
        if not isinstance(value, str) or not value.strip():
            raise ConfigError(f"{cfg_path}: [paths].{key} must be a folder path string")
        p = Path(value).expanduser()
        p = _resolve(p if p.is_absolute() else ws_root / p)
        if p.exists() and not p.is_dir():
            where = f"environment variable {env_name}" if env else f"{cfg_path}: [paths].{key}"
            raise ConfigError(f"{where} names {p}, which is a file, not a folder")
        return p

    roots = {name: _resolve(ws_root / rel) for name, rel in DEFAULT_DATA_ROOTS.items()}
    for name, value in datasets.items():
        if not isinstance(value, str):
            raise ConfigError(f"{cfg_path}: [datasets].{name} must be a path string")
        p = Path(value).expanduser()
        roots[name] = _resolve(p if p.is_absolute() else ws_root / p)
    return Workspace(
        root=ws_root,
        data_roots=roots,
        trackers_dir=place("trackers", "trackers"),
        results_dir=place("results", "results"),
        reports_dir=place("reports", "reports"),
        checkpoints_dir=place("checkpoints", "checkpoints"),
        config=cfg,
    )
