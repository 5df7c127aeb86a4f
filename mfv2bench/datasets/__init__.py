"""Data-set loaders (LaSOT, LaSOT extension, GOT-10k, TrackingNet) and the synthetic generator."""

from .base import DatasetSplit, Sequence

__all__ = ["DatasetSplit", "Sequence"]
