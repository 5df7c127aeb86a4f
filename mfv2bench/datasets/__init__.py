"""Data-set loaders (LaSOT, LaSOT extension, GOT-10k, TrackingNet) and the synthetic generator."""

from .base import DatasetSplit, Sequence
from .description import DATASETS, DatasetDescription, describe
from .frames import FrameList
from .images import read_rgb
from .registry import default_split, list_datasets, load_split, parse_dataset_arg

__all__ = [
    "DATASETS",
    "DatasetDescription",
    "DatasetSplit",
    "FrameList",
    "Sequence",
    "default_split",
    "describe",
    "list_datasets",
    "load_split",
    "parse_dataset_arg",
    "read_rgb",
]
