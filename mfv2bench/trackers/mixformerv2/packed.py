"""The cached per-frame step of MixFormerV2 on oneDNN with pre-packed weights (runtime ``onednn``):
exact float32, the same function as ``MixFormerV2.forward_search`` (outputs equal to the full
path to float rounding, tested to 1e-6).

Why: PyTorch's float32 ``nn.Linear`` goes to MKL, which on AMD CPUs runs its AVX2 code (about
half the AVX-512 rate of the core, measured by ``benchmarks/bench_matmul_fraction.py``), and the
eager step spends time between matmuls (head split copies, score scaling, concatenation). Here:

- every linear layer is one oneDNN call on a weight packed once (``_reorder_linear_weight``),
  with GELU fused into fc1 and the residual add fused into proj and fc2;
- the patch embedding is a linear layer on the unfolded 16x16 patches;
- attention runs per head as two oneDNN matmuls against per-head key and value buffers
  (template part written once, this frame's part written in place; values are read through a
  transposed view, which oneDNN takes without a copy);
- the 1/sqrt(head_dim) score scale is folded into the query weights when it is a power of two
  (head_dim 64: exact, the products only change exponent), else applied to the scores;
- the last block computes keys/values for all tokens and queries, proj and MLP only for the 4
  prediction tokens (the heads read nothing else), as the eager cached path; the box and score
  heads' first layers (same input) are one packed call.

Batch 1, CPU, the distribution head (the tracker's case); anything else is refused with a
ConfigError so callers fall back to another runtime.
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F

from ...errors import ConfigError
from .model import MixFormerV2


# queries below this count attend in one batched ATen product instead of per-head oneDNN calls
SMALL_QUERY_ROWS = 16


def onednn_available() -> bool:
    """Whether this PyTorch build has the oneDNN linear ops this runtime needs."""
    try:
        return bool(torch.backends.mkldnn.is_available()
                    and hasattr(torch.ops.mkldnn, "_linear_pointwise")
                    and hasattr(torch.ops.mkldnn, "_reorder_linear_weight"))
    except (AttributeError, RuntimeError):
        return False


def _pack(weight: torch.Tensor, rows: int) -> torch.Tensor:
    """A (out, in) float32 weight in oneDNN's blocked layout for ``rows`` input rows."""
    return torch.ops.mkldnn._reorder_linear_weight(weight.detach().float().contiguous(), rows)


def _linear(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None,
            act: str = "none") -> torch.Tensor:
    return torch.ops.mkldnn._linear_pointwise(x, weight, bias, act, [],
                                              "none" if act == "gelu" else "")


def _linear_add(x: torch.Tensor, residual: torch.Tensor, weight: torch.Tensor,
                bias: torch.Tensor | None) -> torch.Tensor:
    """``residual + x W^T + b`` in one call."""
    return torch.ops.mkldnn._linear_pointwise.binary(x, residual, weight, bias, "add")


def _power_of_two(value: float) -> bool:
    mantissa, _ = math.frexp(value)
    return mantissa == 0.5


class _PackedBlock:
    """One block's packed weights; ``last``: queries, proj and MLP packed for 4 rows."""

    def __init__(self, blk: Any, n_search: int, last: bool, fold_scale: bool):
        if blk.residual_scale is not None:
            raise ConfigError("the onednn runtime runs trained models only (residual_scale set)")
        attn, dim = blk.attn, blk.attn.qkv.in_features
        self.heads, self.head_dim, self.scale = attn.num_heads, attn.head_dim, attn.scale
        self.fold_scale = fold_scale
        self.norm1 = (blk.norm1.weight.detach(), blk.norm1.bias.detach(), blk.norm1.eps)
        self.norm2 = (blk.norm2.weight.detach(), blk.norm2.bias.detach(), blk.norm2.eps)
        w = attn.qkv.weight.detach().float().clone()
        b = (attn.qkv.bias.detach().float().clone() if attn.qkv.bias is not None
             else torch.zeros(3 * dim))
        if fold_scale:
            w[:dim] *= self.scale
            b[:dim] *= self.scale
        rows = 4 if last else n_search
        if last:
            self.w_kv, self.b_kv = _pack(w[dim:], n_search), b[dim:].contiguous()
            self.w_q, self.b_q = _pack(w[:dim], 4), b[:dim].contiguous()
        else:
            self.w_qkv, self.b_qkv = _pack(w, n_search), b
        self.w_proj, self.b_proj = _pack(attn.proj.weight, rows), attn.proj.bias.detach()
        mlp = blk.mlp
        self.w_fc1, self.b_fc1 = _pack(mlp.fc1.weight, rows), mlp.fc1.bias.detach()
        self.w_fc2, self.b_fc2 = _pack(mlp.fc2.weight, rows), mlp.fc2.bias.detach()
        self.dim = dim

    def attend(self, q: torch.Tensor, kbuf: torch.Tensor, vbuf: torch.Tensor) -> torch.Tensor:
        """q (n, C) against per-head keys and values (heads, nk, hd) -> (n, C).
        A few queries (the last block's 4 prediction tokens) go through one batched product:
        per-head oneDNN calls cost more than they compute there."""
        hd, outs = self.head_dim, []
        if q.shape[0] <= SMALL_QUERY_ROWS:
            qh = q.view(q.shape[0], self.heads, hd).transpose(0, 1)
            scores = torch.matmul(qh, kbuf.transpose(1, 2))
            if not self.fold_scale:
                scores.mul_(self.scale)
            out = torch.matmul(torch.softmax(scores, dim=-1), vbuf)
            return out.transpose(0, 1).reshape(q.shape[0], -1)
        for h in range(self.heads):
            scores = _linear(q[:, h * hd:(h + 1) * hd], kbuf[h], None)  # strided view: no copy
            if not self.fold_scale:
                scores.mul_(self.scale)
            outs.append(_linear(torch.softmax(scores, dim=-1), vbuf[h].t(), None))
        return torch.cat(outs, dim=1)

    def write_kv(self, k: torch.Tensor, v: torch.Tensor, kbuf: torch.Tensor,
                 vbuf: torch.Tensor, start: int) -> None:
        """This frame's keys/values (n, C) into the per-head buffers after the template part."""
        n = k.shape[0]
        kbuf[:, start:].copy_(k.view(n, self.heads, self.head_dim).transpose(0, 1))
        vbuf[:, start:].copy_(v.view(n, self.heads, self.head_dim).transpose(0, 1))

    def mlp_residual(self, x: torch.Tensor, attn_out: torch.Tensor) -> torch.Tensor:
        x = _linear_add(attn_out, x, self.w_proj, self.b_proj)
        h = F.layer_norm(x, (self.dim,), *self.norm2)
        return _linear_add(_linear(h, self.w_fc1, self.b_fc1, "gelu"), x, self.w_fc2, self.b_fc2)


class _PackedHeads:
    """Box and score heads on the 4 prediction tokens: both first layers in one packed call
    (they read the same tokens), then the box head's LayerNorms, edge distributions and
    expectation as ``DistributionBoxHead``, the score head's mean logit as ``ScoreHead``."""

    def __init__(self, model: MixFormerV2):
        box, score = model.box_head, model.score_head
        fc_box, norm_box = box.layers[0][0], box.layers[0][1]
        fc_bins, norm_bins = box.layers[1][0], box.layers[1][1]
        fc_score, self.fc_score_out = score.layers[0][0], score.layers[1]
        self.dim = fc_box.in_features
        self.w_first = _pack(torch.cat([fc_box.weight, fc_score.weight]), 4)
        self.b_first = torch.cat([fc_box.bias, fc_score.bias]).detach()
        self.norm_box = (norm_box.normalized_shape, norm_box.weight.detach(),
                         norm_box.bias.detach(), norm_box.eps)
        self.w_bins, self.b_bins = _pack(fc_bins.weight, 4), fc_bins.bias.detach()
        self.norm_bins = (norm_bins.normalized_shape, norm_bins.weight.detach(),
                          norm_bins.bias.detach(), norm_bins.eps)
        self.bins, self.norm_factor = box.bins, box.norm_factor

    def __call__(self, reg: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """reg (4, C) in order l, r, t, b -> (pred_boxes (1, 1, 4) cxcywh, pred_scores (1,))."""
        first = _linear(reg, self.w_first, self.b_first)
        hb = torch.relu(F.layer_norm(first[:, :self.dim], *self.norm_box))
        logits = F.layer_norm(_linear(hb, self.w_bins, self.b_bins), *self.norm_bins)
        edges = (logits.softmax(dim=-1) * self.bins).sum(dim=-1) / self.norm_factor
        l, r, t, b = edges.unbind(dim=-1)
        boxes = torch.stack([(l + r) / 2, (t + b) / 2, r - l, b - t]).reshape(1, 1, 4)
        scores = self.fc_score_out(torch.relu(first[:, self.dim:])).mean().reshape(1)
        return boxes, scores


class PackedSearchStep:
    """oneDNN cached step for one model (weights packed at construction: build it again if the
    weights change). ``set_templates`` fills the key/value buffers; ``__call__(search)`` gives
    (pred_boxes (1, 1, 4), pred_scores (1,)) as ``MixFormerV2.forward_search``."""

    def __init__(self, model: MixFormerV2):
        if not onednn_available():
            raise ConfigError("runtime 'onednn' needs a PyTorch build with oneDNN (mkldnn)")
        if model.head_kind != "distribution":
            raise ConfigError("runtime 'onednn' runs the distribution-head model only")
        if next(model.parameters()).device.type != "cpu":
            raise ConfigError("runtime 'onednn' runs on the CPU only")
        cfg, bb = model.config, model.backbone
        self.model = model
        self.patch = cfg["patch_size"]
        self.grid = cfg["search_size"] // self.patch
        self.n_t = 2 * cfg["num_template_tokens"]
        self.n_s = cfg["num_search_tokens"] + 4
        self.n_k = self.n_t + self.n_s
        with torch.no_grad():
            conv = bb.patch_embed.proj
            self.w_patch = _pack(conv.weight.reshape(conv.out_channels, -1), self.n_s - 4)
            self.b_patch = conv.bias.detach().float()
            self.pos_s = bb.pos_embed_s.detach()[0].float().contiguous()
            self.reg = (bb.reg_tokens + bb.pos_embed_reg).detach()[0].float().contiguous()
            depth = len(bb.blocks)
            fold = _power_of_two(bb.blocks[0].attn.scale)
            self.blocks = [_PackedBlock(blk, self.n_s, i == depth - 1, fold)
                           for i, blk in enumerate(bb.blocks)]
            self.heads = _PackedHeads(model)
        heads, hd = self.blocks[0].heads, self.blocks[0].head_dim
        self.kbuf = torch.zeros(depth, heads, self.n_k, hd)
        self.vbuf = torch.zeros(depth, heads, self.n_k, hd)
        self.ready = False

    def set_templates(self, template: torch.Tensor, online_template: torch.Tensor) -> None:
        """Encode the templates with the model (the same code as the eager cached path) and copy
        each block's template keys / values into the per-head buffers."""
        if template.shape[0] != 1 or online_template.shape[0] != 1:
            raise ConfigError("runtime 'onednn' runs batch 1 only")
        with torch.no_grad():
            kt, vt, _ = self.model.backbone.encode_templates(template.float(), online_template.float())
            self.kbuf[:, :, :self.n_t] = kt[:, 0]
            self.vbuf[:, :, :self.n_t] = vt[:, 0]
        self.ready = True

    def embed(self, search: torch.Tensor) -> torch.Tensor:
        """(1, 3, S, S) -> search tokens + prediction tokens (Ns + 4, C)."""
        p, g = self.patch, self.grid
        patches = search[0].reshape(3, g, p, g, p).permute(1, 3, 0, 2, 4).reshape(g * g, 3 * p * p)
        tokens = _linear_add(patches, self.pos_s, self.w_patch, self.b_patch)
        return torch.cat([tokens, self.reg], dim=0)

    def __call__(self, search: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if not self.ready:
            raise RuntimeError("call set_templates(template, online_template) first")
        if search.shape[0] != 1:
            raise ConfigError("runtime 'onednn' runs batch 1 only")
        with torch.no_grad():
            x = self.embed(search.float())
            last = len(self.blocks) - 1
            for i, blk in enumerate(self.blocks):
                kbuf, vbuf = self.kbuf[i], self.vbuf[i]
                h = F.layer_norm(x, (blk.dim,), *blk.norm1)
                if i < last:
                    qkv = _linear(h, blk.w_qkv, blk.b_qkv)
                    c = blk.dim
                    q, k, v = qkv[:, :c], qkv[:, c:2 * c], qkv[:, 2 * c:]
                else:
                    kv = _linear(h, blk.w_kv, blk.b_kv)
                    k, v = kv[:, :blk.dim], kv[:, blk.dim:]
                    q = _linear(h[-4:].contiguous(), blk.w_q, blk.b_q)
                    x = x[-4:].contiguous()
                blk.write_kv(k, v, kbuf, vbuf, self.n_t)
                x = blk.mlp_residual(x, blk.attend(q, kbuf, vbuf))
            return self.heads(x)


class OneDnnEngine:
    """The engine of runtime ``onednn`` (see ``runtimes.make_engine``): ``set_templates`` once
    per template change, ``step(search) -> (pred_box (1, 4), score logit)`` per frame."""

    def __init__(self, model: MixFormerV2):
        # normal (not inference-mode) buffers: written in place inside or outside inference mode
        with torch.inference_mode(False):
            self.search_step = PackedSearchStep(model)

    def set_templates(self, template: torch.Tensor, online_template: torch.Tensor) -> None:
        self.search_step.set_templates(template, online_template)

    def step(self, search: torch.Tensor) -> tuple[torch.Tensor, float]:
        boxes, scores = self.search_step(search)
        return boxes.reshape(-1, 4).float().cpu(), float(scores.reshape(-1)[0])
