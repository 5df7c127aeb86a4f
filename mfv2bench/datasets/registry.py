"""Data sets by name: which layout, which splits, where the root is, and loading a split.

A name on the command line (``lasot``, ``got10k-test``, ``trackingnet-train_3``,
``synthetic-lasot``) meets a loadable entry of ``description.DATASETS`` (which owns what a name
means); ``load_split`` returns a ``DatasetSplit`` without reading any image.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import ConfigError, MissingDataError
from ..workspace import Workspace, load_workspace
from . import custom, got10k, lasot, nfs, otb, tnl2k, trackingnet, uav
from .base import DatasetSplit, Sequence
from .description import DATASETS, DatasetDescription, known_names, parse_name
from .listing import SplitListing, check_root
from .common import package_table
from .splits import official_list

_LAYOUTS = {
    "lasot": (lasot.split_listing, lasot.LasotLoader),
    "got10k": (got10k.split_listing, got10k.Got10kLoader),
    "trackingnet": (trackingnet.split_listing, trackingnet.TrackingNetLoader),
    "otb100": (otb.split_listing, otb.OtbLoader),
    "uav123": (uav.split_listing, uav.UavLoader),
    "nfs": (nfs.split_listing, nfs.NfsLoader),
    "tnl2k": (tnl2k.split_listing, tnl2k.Tnl2kLoader),
    "custom": (custom.split_listing, custom.CustomLoader),
}
# What each layout's root must hold (``datasets list`` checks it without indexing a split).
_EXPECTED = {
    "lasot": ("<class>/<class>-<k>/img/%08d.jpg + groundtruth.txt",
              lambda r: any(r.glob("*/*-*/groundtruth.txt")) or (r / "testing_set.txt").is_file()),
    "got10k": ("{train,val,test}/list.txt + GOT-10k_*_NNNNNN/",
               lambda r: any((r / s / "list.txt").is_file() for s in ("val", "test", "train"))),
    "trackingnet": ("TEST/anno + TEST/frames (and TRAIN_<k>/)",
                    lambda r: any(r.glob("T*/anno"))),
    "otb100": (otb.EXPECTED, otb.probe),
    "uav123": (uav.EXPECTED, uav.probe),
    "nfs": (nfs.EXPECTED, nfs.probe),
    "tnl2k": (tnl2k.EXPECTED, tnl2k.probe),
    "custom": ("<seq>/groundtruth.txt + frames (optional list.txt)", custom.probe),
}


def get_info(name: str) -> DatasetDescription:
    """Description of a loadable data set ``name`` (aliases accepted, no split suffix); anything
    else is a ``ConfigError``."""
    entry, split = parse_name(name, loadable_only=True)
    if split is not None:
        raise ConfigError(f"unknown data set {name!r} (known: {', '.join(known_names(True))})")
    return entry


def parse_dataset_arg(text: str) -> tuple[str, str | None]:
    """``lasot`` -> ("lasot", None); ``got10k-test`` -> ("got10k", "test");
    ``synthetic-lasot-train`` -> ("synthetic-lasot", "train"); ``trackingnet-train_3`` ->
    ("trackingnet", "train_3"). Only data sets with a loader are accepted."""
    entry, split = parse_name(text, loadable_only=True)
    return entry.name, split


def default_split(name: str) -> str:
    """The split evaluated when none is given (lasot: test, got10k: val, trackingnet: test)."""
    return get_info(name).default_split


def _resolve(dataset: str, split: str | None) -> tuple[DatasetDescription, str]:
    info, split_in_name = parse_name(dataset, loadable_only=True)
    if split is not None and split_in_name is not None and split.lower() != split_in_name:
        raise ConfigError(f"split given twice and different: {dataset!r} and {split!r}")
    chosen = (split or split_in_name or info.default_split).lower()
    return info, info.check_split(chosen)


def resolve_root(name: str, root: str | Path | None, workspace: Workspace | None) -> Path:
    """The root folder: an explicit one, else the workspace's configured data root."""
    if root is not None:
        return check_root(root)  # a symlink loop is a one-line InputError, not a traceback
    ws = workspace if workspace is not None else load_workspace()
    return check_root(ws.data_root(name))


def _missing_root_error(info: DatasetDescription, root: Path) -> MissingDataError:
    hint = (
        f"write it with `mfv2bench datasets synth --format {info.layout} --out {root}`"
        if info.synthetic
        else f"place or link the data set there, set [datasets].{info.name} in mfv2bench.toml, "
        f"or pass --root"
    )
    return MissingDataError(f"{info.name} root not found: {root} ({hint})")


def load_split(
    dataset: str,
    split: str | None = None,
    root: str | Path | None = None,
    sequences: list[str] | None = None,
    allow_partial: bool = False,
    workspace: Workspace | None = None,
) -> DatasetSplit:
    """Index one split: sequence names, frame paths, GT, visibility, attributes (no image read).

    Sequences of the split missing on disk are a ``MissingDataError`` (how many, a few names),
    unless ``allow_partial``, in which case they are listed in ``DatasetSplit.missing``.
    ``sequences`` restricts the split to those names (each must belong to the split).
    """
    info, split_name = _resolve(dataset, split)
    root_path = resolve_root(info.name, root, workspace)
    if not root_path.is_dir():
        raise _missing_root_error(info, root_path)
    list_fn, loader_cls = _LAYOUTS[info.layout]
    listing: SplitListing = list_fn(root_path, split_name, info.official)
    names = listing.names
    missing_parts = list(listing.missing_parts)
    if sequences is not None:
        wanted = [s.strip() for s in sequences if s.strip()]
        known = set(names)
        unknown = [s for s in wanted if s not in known]
        if unknown:
            raise MissingDataError(
                f"{len(unknown)} requested sequence(s) not in {info.name}-{split_name} "
                f"({listing.source}): {_few(unknown)}"
            )
        names = list(dict.fromkeys(wanted))
        missing_parts = []
    loader = loader_cls(root_path, info.name, split_name, info.official)
    present: list[str] = []
    missing: list[str] = []
    for name in names:
        (present if loader.exists(name, listing) else missing).append(name)
    missing_all = missing + missing_parts
    if missing_all and not allow_partial:
        total = len(names) + len(missing_parts)
        raise MissingDataError(
            f"{len(missing_all)} of {total} sequences of {info.name}-{split_name} are missing "
            f"under {root_path}: {_few(missing_all)} (pass --allow-partial to evaluate the rest; "
            "results are then marked partial)"
        )
    loaded: list[Sequence] = [loader.load(name, listing) for name in present]
    return DatasetSplit(
        dataset=info.name,
        split=split_name,
        root=root_path,
        sequences=loaded,
        expected=len(names) + len(missing_parts),
        missing=missing_all,
        source=listing.source,
        layout=listing.layout,
    )


def _official_files(info: DatasetDescription, split: str) -> list[str] | None:
    """The package split-list files that define ``split`` of ``info`` (None: none shipped)."""
    if info.official is None:
        return None
    if info.layout == "lasot":
        lists = lasot.OFFICIAL_LISTS.get(info.official, {})
        parts = ("test", "train") if split == "all" else (split,)
        files = [lists.get(p) for p in parts]
        return None if None in files else files  # type: ignore[return-value]
    if info.layout == "got10k" and info.official == "got10k" and split in got10k.OFFICIAL_LISTS:
        return [got10k.OFFICIAL_LISTS[split]]
    if info.layout == "trackingnet" and info.official == "trackingnet" and split == "test":
        return [trackingnet.OFFICIAL_TEST_LIST]
    if info.layout == "tnl2k":
        return [tnl2k.OFFICIAL_LIST]
    return None


# Layouts whose official split is a shipped table (one row per sequence, a ``name`` column).
_OFFICIAL_TABLES = {"otb100": otb.OFFICIAL_TABLE, "uav123": uav.OFFICIAL_TABLE,
                    "nfs": nfs.OFFICIAL_TABLE}


def official_names(dataset: str, split: str | None = None) -> list[str] | None:
    """The sequences of the OFFICIAL split, from the lists shipped in the package: what a run
    must cover to be complete, whatever list the data root carries. None where no list is
    shipped (synthetic trees, GOT-10k train, TrackingNet train chunks): the root's own list is
    then the only authority."""
    info, split_name = _resolve(dataset, split)
    if info.official is not None and info.layout in _OFFICIAL_TABLES:
        return [row["name"] for row in package_table(_OFFICIAL_TABLES[info.layout])]
    files = _official_files(info, split_name)
    if files is None:
        return None
    return [name for f in files for name in official_list(f)]


def _few(names: list[str], k: int = 5) -> str:
    shown = ", ".join(names[:k])
    return shown + (f", ... ({len(names) - k} more)" if len(names) > k else "")


def list_datasets(workspace: Workspace | None = None) -> list[dict[str, Any]]:
    """Every registry entry with its root, whether that root is on disk and, when it is, whether
    it holds the expected layout (``status``: found, missing, or "wrong layout")."""
    ws = workspace if workspace is not None else load_workspace()
    out: list[dict[str, Any]] = []
    for info in DATASETS.values():
        root = ws.data_root(info.name)
        expected, probe = _EXPECTED[info.layout or ""]
        found = root.is_dir()
        try:
            holds = found and bool(probe(root))
        except OSError:
            holds = False
        out.append(
            {
                "name": info.name,
                "layout": info.layout,
                "splits": list(info.splits),
                "default_split": info.default_split,
                "root": str(root),
                "found": found,
                "status": ("missing" if not found else "found" if holds
                           else "wrong layout"),
                "expected": expected,
                "synthetic": info.synthetic,
                "default_protocol": info.default_protocol,
                "published_name": info.published_name,
                "description": info.description,
            }
        )
    return out


__all__ = [
    "default_split",
    "get_info",
    "list_datasets",
    "load_split",
    "official_names",
    "parse_dataset_arg",
    "resolve_root",
]
