"""Ways to run the MixFormerV2 network inside the tracker: eager / fused-attention PyTorch,
``torch.compile`` and ONNX Runtime, each with or without the template-side cache; and, opt-in
and NOT exact, bfloat16 autocast (``bf16``, ``compile-bf16``: reduced precision).

An engine answers two calls: ``set_templates(template, online_template)`` once per template
change and ``step(search) -> (pred_box (1, 4) cxcywh normalised, score logit)`` per frame.
The tensors passed between calls are plain tensors (the cache is the stacked keys/values),
so the same step graphs can be compiled or exported to ONNX.
"""

from __future__ import annotations

import logging
import tempfile
import warnings
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import torch
from torch import nn

from ...devices import require_native_bf16
from ...errors import ConfigError
from .config import REDUCED_PRECISION_RUNTIMES, RUNTIMES
from .model import MixFormerV2
from .packed import OneDnnEngine


class TemplateStep(nn.Module):
    """(template, online_template) -> stacked template-side keys, values (L, B, heads, 2Nt, hd)."""

    def __init__(self, model: MixFormerV2):
        super().__init__()
        self.model = model

    def forward(self, template: torch.Tensor, online_template: torch.Tensor):
        kt, vt, _ = self.model.backbone.encode_templates(template, online_template)
        return kt, vt


class SearchStep(nn.Module):
    """(search, keys, values) -> (pred_boxes (B, 1, 4), pred_scores (B,)) on the cached path."""

    def __init__(self, model: MixFormerV2):
        super().__init__()
        self.model = model

    def forward(self, search: torch.Tensor, kt: torch.Tensor, vt: torch.Tensor):
        m = self.model
        full_last = m.head_kind == "corner"
        xs, _ = m.backbone.forward_search(search, kt, vt, full_last_block=full_last)
        out = m._heads(xs, softmax=True, run_score_head=True)
        return out["pred_boxes"], out["pred_scores"]


class FullStep(nn.Module):
    """(template, online_template, search) -> (pred_boxes, pred_scores): the official forward."""

    def __init__(self, model: MixFormerV2):
        super().__init__()
        self.model = model

    def forward(self, template: torch.Tensor, online_template: torch.Tensor, search: torch.Tensor):
        out = self.model(template, online_template, search, return_blocks=False)
        return out["pred_boxes"], out["pred_scores"]


class TorchEngine:
    """PyTorch engine; ``compile=True`` wraps the per-frame step in ``torch.compile``.

    The eager cached step writes each frame's search keys/values into preallocated full-length
    buffers (no per-frame concatenation); the compiled step uses the functional form.
    ``autocast=torch.bfloat16`` runs template encoding and steps under autocast (matmuls and
    attention in bf16, fp32 accumulation; reduced precision); ``freeze=True`` compiles with
    Inductor weight freezing (constants folded, weights pre-packed once; the weights must not
    change afterwards).
    """

    def __init__(self, model: MixFormerV2, cached: bool = True, compile: bool = False,
                 autocast: torch.dtype | None = None, freeze: bool = False):
        self.cached = cached
        self.compiled = compile
        self.model = model
        self.autocast_dtype = autocast
        self.device_type = next(model.parameters()).device.type
        step: Any = SearchStep(model) if cached else FullStep(model)
        options = {"freezing": True} if freeze else None
        self.step_module = torch.compile(step, dynamic=False, options=options) if compile else step
        self._templates: tuple[torch.Tensor, ...] = ()

    def _autocast(self):
        return torch.autocast(self.device_type, dtype=self.autocast_dtype or torch.bfloat16,
                              enabled=self.autocast_dtype is not None)

    def set_templates(self, template: torch.Tensor, online_template: torch.Tensor) -> None:
        with self._autocast():
            self._set_templates(template, online_template)

    def step(self, search: torch.Tensor) -> tuple[torch.Tensor, float]:
        with self._autocast():
            return self._step(search)

    def _set_templates(self, template: torch.Tensor, online_template: torch.Tensor) -> None:
        if self.cached:
            kt, vt, outs = self.model.backbone.encode_templates(template, online_template)
            self._template_tokens = outs[-1][:, :self.model.config["num_template_tokens"]]
            self._templates = (kt, vt) if self.compiled else self.model.backbone.kv_buffers(kt, vt)
        else:
            self._templates = (template, online_template)

    def _step(self, search: torch.Tensor) -> tuple[torch.Tensor, float]:
        if not self.cached:
            boxes, scores = self.step_module(*self._templates, search)
        elif self.compiled:
            boxes, scores = self.step_module(search, *self._templates)
        else:
            m = self.model
            xs, _ = m.backbone.forward_search(search, *self._templates,
                                              full_last_block=m.head_kind == "corner", prefilled=True)
            out = m._heads(xs, softmax=True, run_score_head=True,
                           template_tokens=self._template_tokens)
            boxes, scores = out["pred_boxes"], out["pred_scores"]
        return boxes.reshape(-1, 4).float().cpu(), float(scores.reshape(-1)[0])


class OnnxEngine:
    """Exports the template and search steps to ONNX and runs them with ONNX Runtime (CPU).

    ``quantize="int8"`` applies ONNX Runtime dynamic int8 quantisation to the search step
    (reduced precision: an opt-in latency variant, not an exact runtime).
    """

    def __init__(self, model: MixFormerV2, cached: bool = True, threads: int | None = None,
                 quantize: str | None = None, workdir: str | Path | None = None):
        try:
            import onnxruntime as ort
        except ImportError:  # pragma: no cover - optional extra
            raise ConfigError("runtime 'onnxruntime' needs the onnx extra: pip install 'mfv2bench[onnx]'") from None
        self.cached = cached
        self._tmp = None
        if workdir is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="mfv2-onnx-")
            workdir = self._tmp.name
        workdir = Path(workdir)
        cfg = model.config
        t = torch.zeros(1, 3, cfg["template_size"], cfg["template_size"])
        s = torch.zeros(1, 3, cfg["search_size"], cfg["search_size"])
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = int(threads or torch.get_num_threads())
        opts.inter_op_num_threads = 1
        # no busy-waiting of idle pool threads between runs: on a small machine it steals the
        # cores from the rest of the tracking loop (crops, other processes)
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        providers = ["CPUExecutionProvider"]
        model = model.float().cpu().eval()
        with torch.no_grad():
            if cached:
                kt, vt = TemplateStep(model)(t, t)
                tpath = export_onnx(TemplateStep(model), (t, t), workdir / "template.onnx",
                                    ["template", "online_template"], ["kt", "vt"])
                spath = export_onnx(SearchStep(model), (s, kt, vt), workdir / "search.onnx",
                                    ["search", "kt", "vt"], ["pred_boxes", "pred_scores"])
                self.template_session = ort.InferenceSession(str(tpath), opts, providers=providers)
            else:
                spath = export_onnx(FullStep(model), (t, t, s), workdir / "full.onnx",
                                    ["template", "online_template", "search"],
                                    ["pred_boxes", "pred_scores"])
        if quantize == "int8":
            from onnxruntime.quantization import QuantType, quantize_dynamic

            qpath = spath.with_name(spath.stem + ".int8.onnx")
            with quiet_onnxruntime_logging(ort.__file__):  # its pre-processing advice
                quantize_dynamic(str(spath), str(qpath), weight_type=QuantType.QInt8)
            spath = qpath
        elif quantize is not None:
            raise ConfigError(f"quantize must be 'int8' or absent, got {quantize!r}")
        self.session = ort.InferenceSession(str(spath), opts, providers=providers)
        self._templates: dict[str, np.ndarray] = {}

    def set_templates(self, template: torch.Tensor, online_template: torch.Tensor) -> None:
        feeds = {"template": template.cpu().numpy(), "online_template": online_template.cpu().numpy()}
        if self.cached:
            kt, vt = self.template_session.run(None, feeds)
            self._templates = {"kt": kt, "vt": vt}
        else:
            self._templates = feeds

    def step(self, search: torch.Tensor) -> tuple[torch.Tensor, float]:
        boxes, scores = self.session.run(None, {"search": search.cpu().numpy(), **self._templates})
        return torch.from_numpy(boxes).reshape(-1, 4), float(scores.reshape(-1)[0])


class _FromPackage(logging.Filter):
    """Drops records below ERROR created by code under one package folder."""

    def __init__(self, folder: str) -> None:
        super().__init__()
        self.folder = folder

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.ERROR or not record.pathname.startswith(self.folder)


@contextmanager
def quiet_onnxruntime_logging(package_file: str) -> Iterator[None]:
    """Silence ONNX Runtime's warnings (and only its) for the block. Its quantisation tools log
    through the ROOT logger's module functions (``logging.warning``), so the root LEVEL is left
    alone: a filter on the root logger drops only records created by files of the onnxruntime
    package, a NullHandler keeps ``logging.warning`` from installing a default stderr handler
    (``basicConfig``) behind everyone's back, and the ``onnxruntime`` named loggers are raised to
    ERROR. Everything is restored on exit."""
    folder = str(Path(package_file).resolve().parent)
    root, named = logging.getLogger(), logging.getLogger("onnxruntime")
    keep_filter, null, level = _FromPackage(folder), logging.NullHandler(), named.level
    root.addFilter(keep_filter)
    root.addHandler(null)
    named.setLevel(logging.ERROR)
    try:
        yield
    finally:
        named.setLevel(level)
        root.removeHandler(null)
        root.removeFilter(keep_filter)


def export_onnx(module: nn.Module, args: tuple, path: Path, input_names: list[str],
                output_names: list[str]) -> Path:
    """TorchScript-based ONNX export (opset 17), fixed batch 1, weights inside the file."""
    with warnings.catch_warnings():  # the TorchScript exporter warns about its own deprecation
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(module, args, str(path), input_names=input_names,
                          output_names=output_names, opset_version=17, dynamo=False,
                          do_constant_folding=True)
    return path


def make_engine(model: MixFormerV2, runtime: str, cached: bool = True, **options: Any):
    """Engine for ``runtime`` in RUNTIMES. 'sdpa' and the bf16 runtimes switch the model to the
    fused attention kernel; the others keep the model's ``attention`` setting. 'bf16' is eager
    under bfloat16 autocast, 'compile-bf16' the same compiled with frozen weights (both reduced
    precision, opt-in; refused on a CPU without native bf16 unless forced, see
    ``devices.require_native_bf16``)."""
    if runtime not in RUNTIMES:
        raise ConfigError(f"runtime must be one of {RUNTIMES}, got {runtime!r}")
    if cached and model.head_kind == "corner" and runtime in ("compile", "compile-bf16", "onnxruntime"):
        raise ConfigError("the corner-head latency variant runs with runtime 'eager' or 'sdpa' "
                          "(cached), or any runtime with cached = false")
    if runtime in REDUCED_PRECISION_RUNTIMES:  # never on a CPU that would emulate bf16
        require_native_bf16(next(model.parameters()).device.type, what=f"runtime {runtime!r}")
    if runtime in ("sdpa", *REDUCED_PRECISION_RUNTIMES):
        model.set_attention("sdpa")
    if runtime == "onednn":  # exact float32 cached step on oneDNN, packed weights (packed.py)
        if not cached:
            raise ConfigError("runtime 'onednn' is the cached step; cached = false runs 'eager'")
        return OneDnnEngine(model)
    if runtime in ("eager", "sdpa"):
        return TorchEngine(model, cached=cached)
    if runtime == "compile":
        return TorchEngine(model, cached=cached, compile=True)
    if runtime == "bf16":
        return TorchEngine(model, cached=cached, autocast=torch.bfloat16)
    if runtime == "compile-bf16":
        return TorchEngine(model, cached=cached, compile=True, autocast=torch.bfloat16, freeze=True)
    return OnnxEngine(model, cached=cached, **options)
