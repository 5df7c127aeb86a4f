"""mfv2bench: benchmark evaluation and analysis suite for single-object trackers (MixFormerV2)."""

__version__ = "0.1.0"
