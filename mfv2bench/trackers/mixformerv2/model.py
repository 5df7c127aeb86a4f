"""MixFormerV2 (NeurIPS 2023) in one file: ViT backbone with asymmetric mixed attention (P-MAM),
distribution-based box head and MLP score head, under the official state_dict key names.

Why our own: the official code recomputes the template side every frame and its cached path
raises; here the template-side keys/values are computed once per template change
(``set_templates``) and each frame runs only the search and prediction tokens
(``forward_search``), which is the same function (template queries never see the search).

Variants are data (``config.VARIANTS``), not subclasses; ``build_model`` also accepts the ``config``
dicts of the golden parity files, so any width / depth / MLP ratio can be built.

Token order: template (Nt), online template (Nt), search (Ns), 4 prediction tokens (l, r, t, b).
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from .config import ATTENTION_MODES, HEAD_KINDS, VARIANTS, MixFormerV2Config


def normalize_config(config: dict[str, Any]) -> dict[str, Any]:
    """Defaults filled and derived sizes added, checked (``config.MixFormerV2Config``); accepts
    our variant dicts and the golden ``config`` dicts."""
    return MixFormerV2Config.from_dict(config).to_dict()


def sincos_pos_embed(dim: int, grid: int) -> torch.Tensor:
    """MAE-style 2-D sin-cos table (1, grid*grid, dim), float32; used only for random weights."""
    quarter = dim // 4
    omega = 1.0 / (10000 ** (torch.arange(quarter, dtype=torch.float32) / quarter))
    ys, xs = torch.meshgrid(torch.arange(grid, dtype=torch.float32),
                            torch.arange(grid, dtype=torch.float32), indexing="ij")
    x = xs.reshape(-1, 1) * omega
    y = ys.reshape(-1, 1) * omega
    return torch.cat([x.sin(), x.cos(), y.sin(), y.cos()], dim=1).unsqueeze(0)


def attend(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, scale: float, mode: str) -> torch.Tensor:
    """softmax(q k^T * scale) v over (B, heads, N, head_dim); 'sdpa' uses the fused kernel."""
    if mode == "sdpa":
        return F.scaled_dot_product_attention(q, k, v, scale=scale)
    attn = torch.matmul(q, k.transpose(-2, -1)) * scale
    return torch.matmul(attn.softmax(dim=-1), v)


# ------------------------------------------------------------------------------------------------
# Backbone


class PatchEmbed(nn.Module):
    """16x16 stride-16 convolution, flattened row-major into tokens (no norm)."""

    def __init__(self, dim: int, patch: int):
        super().__init__()
        self.proj = nn.Conv2d(3, dim, kernel_size=patch, stride=patch)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return self.proj(image).flatten(2).transpose(1, 2)


class Attention(nn.Module):
    """Multi-head attention whose qkv/proj carry the official key names; P-MAM lives in Block."""

    def __init__(self, dim: int, heads: int, qkv_bias: bool):
        super().__init__()
        self.num_heads = heads
        self.head_dim = dim // heads
        self.scale = self.head_dim ** -0.5
        self.qkv = nn.Linear(dim, dim * 3, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim)

    def split_qkv(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(B, N, C) -> q, k, v each (B, heads, N, head_dim); qkv outputs are [q | k | v]."""
        b, n, _ = x.shape
        qkv = self.qkv(x).reshape(b, n, 3, self.num_heads, self.head_dim).permute(2, 0, 3, 1, 4)
        return qkv[0], qkv[1], qkv[2]

    def split_kv(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Keys and values only (the last block's search tokens need no queries)."""
        b, n, c = x.shape
        w, bias = self.qkv.weight[c:], (self.qkv.bias[c:] if self.qkv.bias is not None else None)
        kv = F.linear(x, w, bias).reshape(b, n, 2, self.num_heads, self.head_dim).permute(2, 0, 3, 1, 4)
        return kv[0], kv[1]

    def split_q(self, x: torch.Tensor) -> torch.Tensor:
        """Queries only, for a handful of tokens."""
        b, n, c = x.shape
        bias = self.qkv.bias[:c] if self.qkv.bias is not None else None
        q = F.linear(x, self.qkv.weight[:c], bias).reshape(b, n, self.num_heads, self.head_dim)
        return q.transpose(1, 2)

    def merge(self, out: torch.Tensor) -> torch.Tensor:
        b, _, n, _ = out.shape
        return self.proj(out.transpose(1, 2).reshape(b, n, -1))


class Mlp(nn.Module):
    def __init__(self, dim: int, hidden: int):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(F.gelu(self.fc1(x)))


class Block(nn.Module):
    """Pre-norm ViT block with asymmetric mixed attention.

    Template-side queries (the first ``n_t`` tokens) attend only to template-side keys; search and
    prediction-token queries attend to every token. No masks: two attention calls.
    """

    def __init__(self, cfg: dict[str, Any]):
        super().__init__()
        dim, eps = cfg["embed_dim"], cfg["backbone_layernorm_eps"]
        self.norm1 = nn.LayerNorm(dim, eps=eps)
        self.attn = Attention(dim, cfg["num_heads"], cfg["qkv_bias"])
        self.norm2 = nn.LayerNorm(dim, eps=eps)
        self.mlp = Mlp(dim, cfg["mlp_hidden_dim"])
        self.attention_mode = cfg["attention"]
        # Training hook (progressive depth pruning): both residual branches are multiplied by
        # this factor when set; None (always, outside training) leaves the computation untouched.
        self.residual_scale: float | None = None

    def _finish(self, x: torch.Tensor, attn_out: torch.Tensor) -> torch.Tensor:
        g = self.residual_scale
        if g is None:
            x = x + self.attn.merge(attn_out)
            return x + self.mlp(self.norm2(x))
        x = x + g * self.attn.merge(attn_out)
        return x + g * self.mlp(self.norm2(x))

    def forward(self, x: torch.Tensor, n_t: int) -> torch.Tensor:
        """Full joint pass over all tokens (the official computation)."""
        q, k, v = self.attn.split_qkv(self.norm1(x))
        s, mode = self.attn.scale, self.attention_mode
        out_t = attend(q[:, :, :n_t], k[:, :, :n_t], v[:, :, :n_t], s, mode)
        out_s = attend(q[:, :, n_t:], k, v, s, mode)
        return self._finish(x, torch.cat([out_t, out_s], dim=2))

    def forward_template(self, xt: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Template-side tokens only; returns their output and this block's keys/values for them."""
        q, k, v = self.attn.split_qkv(self.norm1(xt))
        return self._finish(xt, attend(q, k, v, self.attn.scale, self.attention_mode)), k, v

    def forward_search(self, xs: torch.Tensor, kt: torch.Tensor, vt: torch.Tensor,
                       n_queries: int | None = None, prefilled: bool = False) -> torch.Tensor:
        """Search + prediction tokens against cached template keys/values.

        ``n_queries``: compute outputs only for the last ``n_queries`` tokens (the prediction
        tokens in the last block, where the search tokens' outputs are never read).
        ``prefilled``: ``kt``/``vt`` are full-length buffers (B, heads, 2Nt + Ns + 4, hd) whose
        first 2Nt rows hold the template keys/values; this frame's are written in place after
        them (no concatenation, no allocation per frame).
        """
        h = self.norm1(xs)
        if n_queries is None:
            q, k, v = self.attn.split_qkv(h)
        else:
            k, v = self.attn.split_kv(h)
            xs = xs[:, -n_queries:]
            q = self.attn.split_q(h[:, -n_queries:])
        if prefilled:
            n_t = kt.shape[2] - k.shape[2]
            kt[:, :, n_t:].copy_(k)
            vt[:, :, n_t:].copy_(v)
            k, v = kt, vt
        else:
            k = torch.cat([kt, k], dim=2)
            v = torch.cat([vt, v], dim=2)
        return self._finish(xs, attend(q, k, v, self.attn.scale, self.attention_mode))


class Backbone(nn.Module):
    """Patch embedding, positional embeddings, prediction tokens and the P-MAM blocks."""

    def __init__(self, cfg: dict[str, Any]):
        super().__init__()
        dim = cfg["embed_dim"]
        self.num_template_tokens = cfg["num_template_tokens"]
        self.patch_embed = PatchEmbed(dim, cfg["patch_size"])
        self.pos_embed_s = nn.Parameter(torch.zeros(1, cfg["num_search_tokens"], dim), requires_grad=False)
        self.pos_embed_t = nn.Parameter(torch.zeros(1, cfg["num_template_tokens"], dim), requires_grad=False)
        self.reg_tokens = nn.Parameter(torch.zeros(1, 4, dim))
        self.pos_embed_reg = nn.Parameter(torch.zeros(1, 4, dim))
        self.blocks = nn.ModuleList([Block(cfg) for _ in range(cfg["depth"])])

    def embed_templates(self, template: torch.Tensor, online_template: torch.Tensor) -> torch.Tensor:
        t = self.patch_embed(template) + self.pos_embed_t
        ot = self.patch_embed(online_template) + self.pos_embed_t
        return torch.cat([t, ot], dim=1)

    def embed_search(self, search: torch.Tensor) -> torch.Tensor:
        s = self.patch_embed(search) + self.pos_embed_s
        reg = (self.reg_tokens + self.pos_embed_reg).expand(s.shape[0], -1, -1)
        return torch.cat([s, reg], dim=1)

    def forward(self, template: torch.Tensor, online_template: torch.Tensor, search: torch.Tensor,
                return_blocks: bool = False) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """Full joint pass; returns the final token sequence and (optionally) each block's output."""
        x = torch.cat([self.embed_templates(template, online_template), self.embed_search(search)], dim=1)
        n_t = 2 * self.num_template_tokens
        outs: list[torch.Tensor] = []
        for blk in self.blocks:
            x = blk(x, n_t)
            if return_blocks:
                outs.append(x)
        return x, outs

    def encode_templates(self, template: torch.Tensor, online_template: torch.Tensor
                         ) -> tuple[torch.Tensor, torch.Tensor, list[torch.Tensor]]:
        """Template side through all blocks: stacked keys and values (depth, B, heads, 2Nt, hd)."""
        xt = self.embed_templates(template, online_template)
        ks, vs, outs = [], [], []
        for blk in self.blocks:
            xt, k, v = blk.forward_template(xt)
            ks.append(k)
            vs.append(v)
            outs.append(xt)
        return torch.stack(ks), torch.stack(vs), outs

    def forward_search(self, search: torch.Tensor, kt: torch.Tensor, vt: torch.Tensor,
                       full_last_block: bool = False, prefilled: bool = False
                       ) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """Search + prediction tokens against cached template keys/values.

        Unless ``full_last_block``, the last block computes only the 4 prediction tokens (the box
        and score heads read nothing else); returns the final tokens and each block's output.
        ``prefilled``: ``kt``/``vt`` come from ``kv_buffers`` (see ``Block.forward_search``).
        """
        if prefilled and kt.is_inference() and not torch.is_inference_mode_enabled():
            # buffers made under inference_mode cannot be written outside it: concatenate instead
            n_t = kt.shape[3] - (self.pos_embed_s.shape[1] + 4)
            kt, vt, prefilled = kt[:, :, :, :n_t], vt[:, :, :, :n_t], False
        xs = self.embed_search(search)
        outs = []
        last = len(self.blocks) - 1
        for i, blk in enumerate(self.blocks):
            n_q = 4 if (i == last and not full_last_block) else None
            xs = blk.forward_search(xs, kt[i], vt[i], n_q, prefilled=prefilled)
            outs.append(xs)
        return xs, outs

    def kv_buffers(self, kt: torch.Tensor, vt: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Full-length key/value buffers (depth, B, heads, 2Nt + Ns + 4, hd), template part filled."""
        n_s = self.pos_embed_s.shape[1] + 4
        shape = list(kt.shape)
        shape[3] += n_s
        kbuf, vbuf = kt.new_empty(shape), vt.new_empty(shape)
        kbuf[:, :, :, :kt.shape[3]] = kt
        vbuf[:, :, :, :vt.shape[3]] = vt
        return kbuf, vbuf


# ------------------------------------------------------------------------------------------------
# Heads


class DistributionBoxHead(nn.Module):
    """Shared MLP on each prediction token -> 96-bin distribution per edge; box = expectation."""

    def __init__(self, cfg: dict[str, Any]):
        super().__init__()
        dim, nb, eps = cfg["embed_dim"], cfg["num_bins"], cfg["head_layernorm_eps"]
        self.layers = nn.ModuleList([
            nn.Sequential(nn.Linear(dim, dim), nn.LayerNorm(dim, eps=eps), nn.ReLU()),
            nn.Sequential(nn.Linear(dim, nb), nn.LayerNorm(nb, eps=eps)),
        ])
        self.search_size = float(cfg["search_size"])
        stride = cfg["search_size"] / nb  # Python float, as the official head
        # bin i sits at i * stride (not the bin centre); not part of the state_dict
        self.register_buffer("bins", torch.arange(nb, dtype=torch.float32) * stride, persistent=False)
        self.norm_factor = nb * stride

    def forward(self, reg_tokens: torch.Tensor, softmax: bool = True) -> dict[str, torch.Tensor]:
        """reg_tokens (B, 4, C) in order (l, r, t, b) -> pred_boxes (B, 1, 4) cxcywh normalised."""
        logits = self.layers[1](self.layers[0](reg_tokens))  # (B, 4, nb)
        prob = logits.softmax(dim=-1)
        edges = (prob * self.bins).sum(dim=-1) / self.norm_factor  # (B, 4) l, r, t, b
        l, r, t, b = edges.unbind(dim=-1)
        boxes = torch.stack([(l + r) / 2, (t + b) / 2, r - l, b - t], dim=-1).unsqueeze(1)
        shown = prob if softmax else logits
        out = {"pred_boxes": boxes}
        for i, side in enumerate("lrtb"):
            out[f"prob_{side}"] = shown[:, i]
            out[f"logits_{side}"] = logits[:, i]
        return out


class ScoreHead(nn.Module):
    """Shared Linear-ReLU-Linear on each prediction token, mean over the 4 -> raw logit (B,)."""

    def __init__(self, cfg: dict[str, Any]):
        super().__init__()
        dim = cfg["embed_dim"]
        self.layers = nn.ModuleList([nn.Sequential(nn.Linear(dim, dim), nn.ReLU()), nn.Linear(dim, 1)])

    def forward(self, reg_tokens: torch.Tensor) -> torch.Tensor:
        return self.layers[1](self.layers[0](reg_tokens)).mean(dim=(1, 2))


def _conv_bn_relu(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1), nn.BatchNorm2d(cout), nn.ReLU())


class CornerBoxHead(nn.Module):
    """MixViT-style dense corner head (latency ablation, Table 1 of the paper): two conv towers
    over the search feature map give top-left / bottom-right heat maps; corners = soft-argmax.
    Needs the search tokens of the last block (so the cached path runs that block fully)."""

    def __init__(self, cfg: dict[str, Any]):
        super().__init__()
        dim = cfg["embed_dim"]
        self.feat = cfg["search_feat_size"]
        self.num_search_tokens = cfg["num_search_tokens"]
        chans = [dim, dim // 2, dim // 4, dim // 8, dim // 16]

        def tower() -> nn.Sequential:
            layers = [_conv_bn_relu(a, b) for a, b in zip(chans[:-1], chans[1:])]
            return nn.Sequential(*layers, nn.Conv2d(chans[-1], 1, 1))

        self.tower_tl, self.tower_br = tower(), tower()
        coords = (torch.arange(self.feat, dtype=torch.float32) + 0.5) / self.feat
        ys, xs = torch.meshgrid(coords, coords, indexing="ij")
        self.register_buffer("coord_x", xs.reshape(-1), persistent=False)
        self.register_buffer("coord_y", ys.reshape(-1), persistent=False)

    def _soft_argmax(self, heat: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        p = heat.flatten(1).softmax(dim=-1)
        return (p * self.coord_x).sum(-1), (p * self.coord_y).sum(-1)

    def maps(self, search_tokens: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Top-left and bottom-right corner logits (B, feat*feat), row-major (training reads
        their 1-D marginals for dense-to-sparse distillation)."""
        b, n, c = search_tokens.shape
        fmap = search_tokens.transpose(1, 2).reshape(b, c, self.feat, self.feat)
        return self.tower_tl(fmap).flatten(1), self.tower_br(fmap).flatten(1)

    def forward(self, search_tokens: torch.Tensor, softmax: bool = True) -> dict[str, torch.Tensor]:
        tl, br = self.maps(search_tokens)
        x1, y1 = self._soft_argmax(tl)
        x2, y2 = self._soft_argmax(br)
        box = torch.stack([(x1 + x2) / 2, (y1 + y2) / 2, x2 - x1, y2 - y1], dim=-1).unsqueeze(1)
        return {"pred_boxes": box}


class CornerScoreHead(nn.Module):
    """MixViT-style score prediction module (latency ablation): a learned score token reads, by
    two cross-attention layers, the search features pooled inside the predicted box (4x4
    bilinear samples, standing in for the PrRoI pooling custom op) and then the template
    features; a 3-layer MLP gives the logit."""

    def __init__(self, cfg: dict[str, Any], pool_size: int = 4):
        super().__init__()
        dim = cfg["embed_dim"]
        self.num_heads = cfg["num_heads"]
        self.feat = cfg["search_feat_size"]
        self.pool_size = pool_size
        self.scale = dim ** -0.5
        self.score_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.norm1 = nn.LayerNorm(dim)
        self.proj_q = nn.ModuleList(nn.Linear(dim, dim) for _ in range(2))
        self.proj_k = nn.ModuleList(nn.Linear(dim, dim) for _ in range(2))
        self.proj_v = nn.ModuleList(nn.Linear(dim, dim) for _ in range(2))
        self.proj = nn.ModuleList(nn.Linear(dim, dim) for _ in range(2))
        self.norm2 = nn.ModuleList(nn.LayerNorm(dim) for _ in range(2))
        self.mlp = nn.Sequential(nn.Linear(dim, dim), nn.ReLU(), nn.Linear(dim, dim), nn.ReLU(),
                                 nn.Linear(dim, 1))

    def _pool_box(self, search_tokens: torch.Tensor, box_cxcywh: torch.Tensor) -> torch.Tensor:
        """(B, Ns, C) features, (B, 4) normalised box -> (B, pool*pool, C) bilinear samples."""
        b, _, c = search_tokens.shape
        fmap = search_tokens.transpose(1, 2).reshape(b, c, self.feat, self.feat)
        cx, cy, w, h = box_cxcywh.unbind(-1)
        steps = (torch.arange(self.pool_size, dtype=fmap.dtype, device=fmap.device) + 0.5) / self.pool_size
        xs = (cx - w / 2)[:, None] + w[:, None] * steps  # (B, P) in [0, 1]
        ys = (cy - h / 2)[:, None] + h[:, None] * steps
        grid = torch.stack([xs[:, None, :].expand(-1, self.pool_size, -1),
                            ys[:, :, None].expand(-1, -1, self.pool_size)], dim=-1) * 2 - 1
        pooled = F.grid_sample(fmap, grid, mode="bilinear", align_corners=False)
        return pooled.flatten(2).transpose(1, 2)

    def forward(self, search_tokens: torch.Tensor, template_tokens: torch.Tensor,
                box_cxcywh: torch.Tensor) -> torch.Tensor:
        b = search_tokens.shape[0]
        x = self.norm1(self.score_token.expand(b, -1, -1))
        memories = [self._pool_box(search_tokens, box_cxcywh), template_tokens]
        for i, mem in enumerate(memories):
            q = self.proj_q[i](x).reshape(b, 1, self.num_heads, -1).transpose(1, 2)
            k = self.proj_k[i](mem).reshape(b, mem.shape[1], self.num_heads, -1).transpose(1, 2)
            v = self.proj_v[i](mem).reshape(b, mem.shape[1], self.num_heads, -1).transpose(1, 2)
            out = attend(q, k, v, self.scale, "eager").transpose(1, 2).reshape(b, 1, -1)
            x = self.norm2[i](self.proj[i](out))
        return self.mlp(x).reshape(b)


# ------------------------------------------------------------------------------------------------
# Model


class MixFormerV2(nn.Module):
    """The online MixFormerV2 network with a template-side cache.

    ``forward`` is the official joint computation; ``set_templates`` + ``forward_search`` give the
    same outputs while computing the templates once per template change.
    """

    def __init__(self, config: dict[str, Any]):
        super().__init__()
        self.config = normalize_config(config)
        self.backbone = Backbone(self.config)
        self.head_kind = self.config["head"]
        if self.head_kind == "distribution":
            self.box_head: nn.Module = DistributionBoxHead(self.config)
            self.score_head: nn.Module = ScoreHead(self.config)
        else:
            self.box_head = CornerBoxHead(self.config)
            self.score_head = CornerScoreHead(self.config)
        self._cache: tuple | None = None  # (kt, vt, template block outputs, k buffer, v buffer)

    # -- options ---------------------------------------------------------------------------------
    @property
    def attention(self) -> str:
        return self.config["attention"]

    def set_attention(self, mode: str) -> None:
        """Switch every block between 'eager' (explicit softmax) and 'sdpa' (fused kernel)."""
        if mode not in ATTENTION_MODES:
            raise ValueError(f"attention must be one of {ATTENTION_MODES}, got {mode!r}")
        self.config["attention"] = mode
        for blk in self.backbone.blocks:
            blk.attention_mode = mode

    # -- heads -----------------------------------------------------------------------------------
    def _heads(self, tokens: torch.Tensor, softmax: bool, run_score_head: bool,
               template_tokens: torch.Tensor | None = None) -> dict[str, Any]:
        """Box and score heads on the final tokens (the corner variant also needs the first
        template's final tokens, ``template_tokens``)."""
        reg = tokens[:, -4:]
        if self.head_kind == "distribution":
            out = self.box_head(reg, softmax=softmax)
            if run_score_head:
                out["pred_scores"] = self.score_head(reg)
        else:
            search = tokens[:, -4 - self.config["num_search_tokens"]:-4]
            out = self.box_head(search)
            if run_score_head:
                if template_tokens is None:
                    template_tokens = tokens[:, :self.config["num_template_tokens"]]
                out["pred_scores"] = self.score_head(search, template_tokens, out["pred_boxes"][:, 0])
        out["reg_tokens"] = reg
        return out

    # -- full path -------------------------------------------------------------------------------
    def forward(self, template: torch.Tensor, online_template: torch.Tensor, search: torch.Tensor,
                softmax: bool = True, run_score_head: bool = True,
                return_blocks: bool = True) -> dict[str, Any]:
        """Official joint forward: templates, search and prediction tokens every call."""
        tokens, blocks = self.backbone(template, online_template, search, return_blocks=return_blocks)
        out = self._heads(tokens, softmax, run_score_head)
        if return_blocks:
            out["block_outputs"] = blocks
        return out

    # -- cached path -----------------------------------------------------------------------------
    def set_templates(self, template: torch.Tensor, online_template: torch.Tensor) -> None:
        """Encode both templates once and cache each block's template-side keys and values."""
        kt, vt, outs = self.backbone.encode_templates(template, online_template)
        kbuf, vbuf = self.backbone.kv_buffers(kt, vt)
        self._cache = (kt, vt, outs, kbuf, vbuf)

    @property
    def template_cache(self) -> tuple[torch.Tensor, torch.Tensor]:
        if self._cache is None:
            raise RuntimeError("call set_templates(template, online_template) before forward_search")
        return self._cache[0], self._cache[1]

    def forward_search(self, search: torch.Tensor, softmax: bool = True, run_score_head: bool = True,
                       return_blocks: bool = False) -> dict[str, Any]:
        """Same outputs as ``forward`` with the cached templates; per call only the search and
        prediction tokens are computed (and in the last block only the prediction tokens, unless
        block outputs or the corner head need the search tokens)."""
        self.template_cache  # raises if set_templates was not called
        kbuf, vbuf = self._cache[3], self._cache[4]
        if kbuf.shape[1] != search.shape[0]:
            raise ValueError(f"search batch {search.shape[0]} != template batch {kbuf.shape[1]}")
        full_last = return_blocks or self.head_kind == "corner"
        xs, blocks = self.backbone.forward_search(search, kbuf, vbuf, full_last_block=full_last,
                                                  prefilled=True)
        out = self._heads(xs, softmax, run_score_head, template_tokens=self.template_tokens())
        if return_blocks:
            t_blocks = self._cache[2]
            out["block_outputs"] = [torch.cat([t, s], dim=1) for t, s in zip(t_blocks, blocks)]
        return out

    def template_tokens(self) -> torch.Tensor:
        """The first template's tokens after the last block (read by the corner score module)."""
        if self._cache is None:
            raise RuntimeError("call set_templates(template, online_template) first")
        return self._cache[2][-1][:, :self.config["num_template_tokens"]]

    def clear_templates(self) -> None:
        self._cache = None


def build_model(config: dict[str, Any] | str) -> MixFormerV2:
    """Build from a variant name ('base', 'small'), a variant-style dict or a golden ``config``."""
    if isinstance(config, str):
        if config not in VARIANTS:
            raise ValueError(f"unknown variant {config!r}; known: {sorted(VARIANTS)}")
        config = VARIANTS[config]
    return MixFormerV2(config).eval()


def init_random_weights(model: MixFormerV2, seed: int = 0) -> MixFormerV2:
    """Seeded random weights for latency runs only (never for accuracy): truncated-normal
    linear / conv weights, unit norms, sin-cos positional embeddings as the official init."""
    gen = torch.Generator().manual_seed(seed)
    cfg = model.config

    def normal_(t: torch.Tensor) -> None:
        t.copy_((torch.randn(t.shape, generator=gen) * 0.02).clamp_(-0.04, 0.04))

    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, (nn.LayerNorm, nn.BatchNorm2d)):
                module.weight.fill_(1.0)
                module.bias.zero_()
            elif isinstance(module, (nn.Linear, nn.Conv2d)):
                normal_(module.weight)
                if module.bias is not None:
                    module.bias.zero_()
        bb = model.backbone
        bb.pos_embed_t.copy_(sincos_pos_embed(cfg["embed_dim"], cfg["template_feat_size"]))
        bb.pos_embed_s.copy_(sincos_pos_embed(cfg["embed_dim"], cfg["search_feat_size"]))
        normal_(bb.reg_tokens)
        normal_(bb.pos_embed_reg)
        if isinstance(model.score_head, CornerScoreHead):
            normal_(model.score_head.score_token)
    return model


def flops_per_frame(config: dict[str, Any], cached: bool) -> float:
    """Multiply-add FLOPs (2 per MAC) of one forward of the backbone + heads, batch 1.

    Used by the benchmark to report GFLOP/s; counts matmuls/convs, ignores elementwise work.
    """
    cfg = normalize_config(config)
    c, h, L = cfg["embed_dim"], cfg["mlp_hidden_dim"], cfg["depth"]
    nt2, ns = 2 * cfg["num_template_tokens"], cfg["num_search_tokens"] + 4
    patch_mac = 3 * cfg["patch_size"] ** 2 * c
    per_tok = 3 * c * c + c * c + 2 * c * h  # qkv, proj, fc1, fc2 per token

    def attn_mac(nq: int, nk: int) -> int:
        return 2 * nq * nk * c

    heads = 4 * (c * c + c * cfg["num_bins"]) + 4 * (c * c + c)
    if not cached:
        mac = patch_mac * (nt2 + ns - 4) + L * ((nt2 + ns) * per_tok + attn_mac(nt2, nt2)
                                                + attn_mac(ns, nt2 + ns))
    else:
        per_block = ns * per_tok + attn_mac(ns, nt2 + ns)
        last = ns * 2 * c * c + 4 * (c * c + c * c + 2 * c * h) + attn_mac(4, nt2 + ns)
        mac = patch_mac * (ns - 4) + (L - 1) * per_block + last
    return 2.0 * (mac + heads)


def matmul_shapes(config: dict[str, Any], cached: bool) -> list[tuple[str, int, int, int, int, int]]:
    """The matrix products of one forward at batch 1, as (name, batch, m, k, n, count): ``count``
    products of ``batch`` (m x k) @ (k x n) matrices (attention: batch = heads). Their FLOPs add
    up to ``flops_per_frame``; benchmarks/bench_matmul_fraction.py times each shape alone to get
    the step's time at the machine's matmul rate. The patch embedding is its unfolded product."""
    cfg = normalize_config(config)
    c, h, L, heads = cfg["embed_dim"], cfg["mlp_hidden_dim"], cfg["depth"], cfg["num_heads"]
    hd, nb = c // heads, cfg["num_bins"]
    nt2, ns = 2 * cfg["num_template_tokens"], cfg["num_search_tokens"] + 4
    nk, patch = nt2 + ns, 3 * cfg["patch_size"] ** 2
    heads_mm = [("box head fc1", 1, 4, c, c, 1), ("box head fc2", 1, 4, c, nb, 1),
                ("score head fc1", 1, 4, c, c, 1), ("score head fc2", 1, 4, c, 1, 1)]
    if not cached:
        n = nk
        return [("patch embed", 1, n - 4, patch, c, 1), ("qkv", 1, n, c, 3 * c, L),
                ("attn q.k template", heads, nt2, hd, nt2, L),
                ("attn p.v template", heads, nt2, nt2, hd, L),
                ("attn q.k search", heads, ns, hd, nk, L), ("attn p.v search", heads, ns, nk, hd, L),
                ("proj", 1, n, c, c, L), ("fc1", 1, n, c, h, L), ("fc2", 1, n, h, c, L), *heads_mm]
    return [("patch embed", 1, ns - 4, patch, c, 1), ("qkv", 1, ns, c, 3 * c, L - 1),
            ("attn q.k", heads, ns, hd, nk, L - 1), ("attn p.v", heads, ns, nk, hd, L - 1),
            ("proj", 1, ns, c, c, L - 1), ("fc1", 1, ns, c, h, L - 1), ("fc2", 1, ns, h, c, L - 1),
            ("last kv", 1, ns, c, 2 * c, 1), ("last q", 1, 4, c, c, 1),
            ("last attn q.k", heads, 4, hd, nk, 1), ("last attn p.v", heads, 4, nk, hd, 1),
            ("last proj", 1, 4, c, c, 1), ("last fc1", 1, 4, c, h, 1), ("last fc2", 1, 4, h, c, 1),
            *heads_mm]
