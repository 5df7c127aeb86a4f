"""Data-set loaders (LaSOT, LaSOT extension, GOT-10k, TrackingNet) and the synthetic generator."""

from .base import DatasetSplit, Sequence
from .frames import FrameList
from .images import read_rgb
from .registry import DATASETS, default_split, list_datasets, load_split, parse_dataset_arg

__all__ = [
    "DATASETS",
    "DatasetSplit",
    "FrameList",
    "Sequence",
    "default_split",
    "list_datasets",
    "load_split",
    "parse_dataset_arg",
    "read_rgb",
]
