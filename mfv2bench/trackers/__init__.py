"""Tracker contract, specs registry and tracker implementations."""

from .base import Tracker, TrackOutput

__all__ = ["Tracker", "TrackOutput"]
