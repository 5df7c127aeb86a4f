"""Reference MixFormerV2 tracker: model (official key names, template-side cache), checkpoint
loading, the test-time tracker and its runtimes (eager, sdpa, torch.compile, ONNX Runtime)."""

from .model import VARIANTS, MixFormerV2, build_model

__all__ = ["VARIANTS", "MixFormerV2", "build_model"]
