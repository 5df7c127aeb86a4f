"""What a data-set name means, in one place: its family, splits, default protocol, submission
format and the name the published-results table uses.

Before this module the family of a name was parsed five times (registry, tracker specs, metric
protocols, submission packer, published-name map), each with its own rules. Every one of them now
asks ``describe``. This module is data only: protocols and formats are named by string (the
datasets layer sits below metrics, submit and leaderboard and must not import them).

Two kinds of entries:

- ``DATASETS``: data sets with a loader (real ones, the generic ``custom`` layout for your own
  sequences, and their synthetic imitations).
- ``REFERENCE``: benchmarks we know only by their published numbers and metric conventions
  (TC128, AVisT): they have a default protocol and a published name, but no loader.

Default protocols of the OPE benchmarks (OTB-100, NfS, TNL2K, UAV123): the numbers the papers
publish come from pytracking's analysis (``pytracking/analysis/extract_results.py``) as the
trackers' own repositories carry it (MixFormerV2, OSTrack, STARK; pytracking itself before Aug
2022): GT valid when w, h > 0, frame 1 = GT, zero-size predictions carried over, 21-point '>'
success curve averaged, P@20 px, NP@0.20, float32 curves, no visibility labels. That is
``mixformerv2-nolabels`` (the same code LaSOT's default ``mixformerv2`` runs, without labels).
UAV123 has its own branch in that code (dataset ``uav``): NaN GT rows are accepted and invalid
GT is a precision success too: ``mixformerv2-uav``. Not ``otb`` (the got10k toolkit's
ExperimentOTB: no validity rule, got10k IoU) nor ``pysot-otb`` (frame 1 not replaced by GT).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ..errors import ConfigError

GroundTruth = Literal["full", "first-frame"]

_TRACKINGNET_SPLITS = ("test", "train") + tuple(f"train_{k}" for k in range(12))
SYNTHETIC_PREFIX = "synthetic-"


@dataclass(frozen=True)
class DatasetDescription:
    """One data set as the rest of the package needs to know it.

    ``family`` is the real data set a name belongs to (``synthetic-lasot`` -> ``lasot``): tracker
    specs' ``[dataset.<family>]`` overrides, protocols and formats follow it. ``layout`` names the
    loader (None: no loader, a reference-only benchmark). ``official`` names the shipped split
    lists (None: the root's own lists, as for synthetic trees). ``imitates`` is the real data set
    a synthetic one copies the layout of. ``default_protocol`` is a metric-protocol NAME.
    ``submission_format`` names the evaluation-server format (None: no server). ``published_name``
    is the data-set column of ``published.csv`` (None: no published rows to compare with);
    ``eval_splits`` are the splits those published numbers are compared with (not training
    splits). ``first_frame_only`` lists the splits whose GT is the first frame's box only.
    """

    name: str
    family: str
    description: str
    splits: tuple[str, ...]
    default_split: str
    default_protocol: str
    layout: str | None = None
    official: str | None = None
    imitates: str | None = None
    submission_format: str | None = None
    published_name: str | None = None
    eval_splits: tuple[str, ...] = ("test",)
    first_frame_only: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.default_split not in self.splits:
            raise ConfigError(f"data set {self.name}: default split {self.default_split!r} "
                              f"not among its splits {self.splits}")
        for group in (self.eval_splits, self.first_frame_only):
            stray = [s for s in group if s not in self.splits]
            if stray:
                raise ConfigError(f"data set {self.name}: unknown split(s) {stray}")

    @property
    def synthetic(self) -> bool:
        """Generated data (no published numbers, no server): a tree the user wrote with ``synth``."""
        return self.imitates is not None

    @property
    def loadable(self) -> bool:
        """Whether a loader exists (``load_split`` accepts the name)."""
        return self.layout is not None

    def ground_truth(self, split: str) -> GroundTruth:
        """``"first-frame"`` where only frame 1's box is public (server-scored splits)."""
        self.check_split(split)
        return "first-frame" if split in self.first_frame_only else "full"

    def published_for(self, split: str | None) -> str | None:
        """The published data-set name the numbers of ``split`` compare with (None: no such)."""
        if split is not None and split not in self.eval_splits:
            return None
        return self.published_name

    def check_split(self, split: str) -> str:
        """``split`` if this data set has it, else a ``ConfigError`` listing the splits."""
        if split not in self.splits:
            raise ConfigError(
                f"unknown split {split!r} of {self.name} (splits: {', '.join(self.splits)})"
            )
        return split


def _real(name: str, description: str, splits: tuple[str, ...], default_split: str,
          protocol: str, published: str | None, eval_splits: tuple[str, ...], *,
          layout: str | None = None, submission: str | None = None,
          first_frame_only: tuple[str, ...] = (), family: str | None = None,
          official: bool = True) -> DatasetDescription:
    return DatasetDescription(
        name=name, family=family or name, description=description, splits=splits,
        default_split=default_split, default_protocol=protocol, layout=layout or name,
        official=name if official else None, submission_format=submission,
        published_name=published, eval_splits=eval_splits, first_frame_only=first_frame_only)


def _synthetic(real: DatasetDescription, extra_splits: tuple[str, ...] = ()) -> DatasetDescription:
    """The synthetic imitation of ``real``: same layout, splits, protocol and format; its own
    split lists; no published numbers. ``extra_splits``: splits only the generator has (LaSOT's
    ``val``: a tuning split, disjoint from test and train by construction, see synthetic.py)."""
    return DatasetDescription(
        name=SYNTHETIC_PREFIX + real.name, family=real.family,
        description=f"synthetic sequences in the {_LAYOUT_TITLES[real.layout or '']} layout",
        splits=real.splits + extra_splits, default_split=real.default_split,
        default_protocol=real.default_protocol, layout=real.layout, official=None,
        imitates=real.name, submission_format=real.submission_format, published_name=None,
        eval_splits=real.eval_splits, first_frame_only=real.first_frame_only)


_LAYOUT_TITLES = {"lasot": "LaSOT", "got10k": "GOT-10k", "trackingnet": "TrackingNet",
                  "otb100": "OTB-100", "uav123": "UAV123", "nfs": "NfS (30 fps)",
                  "tnl2k": "TNL2K", "custom": "generic (your own data)"}

_LASOT = _real("lasot", "LaSOT (test = protocol II, 280 videos; train 1120; all 1400)",
               ("test", "train", "all"), "test", "mixformerv2", "LaSOT", ("test", "all"))
# LaSOT_ext keeps ``mixformerv2``: the OSTrack/pytracking NP quirk on LaSOT_ext is available as
# ``mixformerv2-lasotext`` for comparisons with published LaSOT_ext NP, but not the default.
_LASOT_EXT = _real("lasot_ext", "LaSOT extension (150 videos, 15 classes)", ("test",), "test",
                   "mixformerv2", "LaSOT_ext", ("test",), layout="lasot")
_GOT10K = _real("got10k", "GOT-10k (val 180 with GT; test 180, first-frame GT, server-scored)",
                ("val", "test", "train"), "val", "got10k-val", "GOT-10k", ("val", "test"),
                submission="got10k", first_frame_only=("test",))
_TRACKINGNET = _real("trackingnet",
                     "TrackingNet (TEST 511, first-frame GT, server-scored; TRAIN_0..11)",
                     _TRACKINGNET_SPLITS, "test", "trackingnet", "TrackingNet", ("test",),
                     submission="trackingnet", first_frame_only=("test",))

_OTB100 = _real("otb100", "OTB-100 / OTB-2015 (100 sequences, pytracking's table)", ("test",),
                "test", "mixformerv2-nolabels", "OTB100", ("test",), family="otb")
_UAV123 = _real("uav123", "UAV123 (123 aerial sequences, NaN rows where the target is absent)",
                ("test",), "test", "mixformerv2-uav", "UAV123", ("test",))
_NFS = _real("nfs", "Need for Speed, 30 fps (100 sequences; release or pytracking layout)",
             ("test",), "test", "mixformerv2-nolabels", "NFS", ("test",))
_TNL2K = _real("tnl2k", "TNL2K test (700 sequences with a sentence each)", ("test",), "test",
               "mixformerv2-nolabels", "TNL2K", ("test",))
# Your own sequences: no official list, no published numbers; visibility used when given.
_CUSTOM = _real("custom", "your own sequences (generic layout, see datasets/README.md)",
                ("test",), "test", "mixformerv2", None, ("test",), official=False)

_OPE = (_OTB100, _UAV123, _NFS, _TNL2K)

# Data sets with a loader, in the order ``datasets list`` shows them.
DATASETS: dict[str, DatasetDescription] = {
    d.name: d
    for d in (_LASOT, _LASOT_EXT, _GOT10K, _TRACKINGNET, *_OPE, _CUSTOM,
              _synthetic(_LASOT, extra_splits=("val",)), _synthetic(_GOT10K), _synthetic(_TRACKINGNET),
              *(_synthetic(d) for d in _OPE), _synthetic(_CUSTOM))
}


def _reference(name: str, description: str, protocol: str, published: str | None,
               family: str | None = None) -> DatasetDescription:
    return DatasetDescription(name=name, family=family or name, description=description,
                              splits=("test",), default_split="test", default_protocol=protocol,
                              published_name=published)


# Benchmarks known by their published numbers and metric conventions only (no loader).
REFERENCE: dict[str, DatasetDescription] = {
    d.name: d
    for d in (
        _reference("tc128", "Temple Color 128", "otb", None),
        _reference("avist", "AVisT (120 videos, adverse visibility)", "mixformerv2-nolabels",
                   "AVisT"),
    )
}

ALIASES: dict[str, str] = {
    "lasot_extension": "lasot_ext",
    "lasotext": "lasot_ext",
    "lasot-ext": "lasot_ext",
    "got-10k": "got10k",
    "otb": "otb100",
    "otb-100": "otb100",
    "otb2015": "otb100",
    # (OTB-50 / OTB-2013 are other subsets: not aliases of the 100-sequence loader)
    "uav": "uav123",
    "nfs30": "nfs",
    "need_for_speed": "nfs",
    "tnl2k_test": "tnl2k",
    "own": "custom",
}

# The fallback protocol of a name nobody described: a data set without visibility labels.
UNDESCRIBED_PROTOCOL = "mixformerv2-nolabels"


def _entry(key: str, loadable_only: bool) -> DatasetDescription | None:
    key = ALIASES.get(key, key)
    if key in DATASETS:
        return DATASETS[key]
    if not loadable_only and key in REFERENCE:
        return REFERENCE[key]
    return None


def known_names(loadable_only: bool = False) -> list[str]:
    """Canonical names ``describe`` accepts (loaders only: what ``load_split`` accepts)."""
    return list(DATASETS) + ([] if loadable_only else list(REFERENCE))


def parse_name(text: str, loadable_only: bool = False) -> tuple[DatasetDescription, str | None]:
    """``got10k-test`` -> (got10k's description, "test"); ``lasot`` -> (lasot's, None).

    Names are case-insensitive and accept aliases (``lasot_extension``, ``got-10k``). A known
    data set with an unknown split suffix and an unknown name are each a ``ConfigError`` that
    lists what is known.
    """
    raw = text.strip()
    key = raw.lower()
    whole = _entry(key, loadable_only)
    if whole is not None:
        return whole, None
    head, sep, tail = key.rpartition("-")
    entry = _entry(head, loadable_only) if sep else None
    if entry is not None:
        return entry, entry.check_split(tail)
    raise ConfigError(f"unknown data set {raw!r} (known: {', '.join(known_names(loadable_only))})")


def describe(name: str) -> DatasetDescription:
    """The description of a data-set name (a split suffix such as ``-test`` is accepted)."""
    return parse_name(name)[0]


__all__ = [
    "ALIASES",
    "DATASETS",
    "DatasetDescription",
    "GroundTruth",
    "REFERENCE",
    "SYNTHETIC_PREFIX",
    "UNDESCRIBED_PROTOCOL",
    "describe",
    "known_names",
    "parse_name",
]
