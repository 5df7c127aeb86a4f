"""Loading official MixFormerV2 checkpoints (``mixformerv2_{base,small}.pth.tar``) safely.

A checkpoint is untrusted input: it is read with ``torch.load(weights_only=True)``. Official
training checkpoints may hold pickled custom objects beside ``net``; such a file is refused
with an explanation and loads only with an explicit ``trust=True`` (CLI ``--trust-checkpoint``).
Key sets are checked strictly, with one error listing every missing, unexpected or
wrong-shaped key.
"""

from __future__ import annotations

import pickle
import re
from pathlib import Path
from typing import Any, Iterable

import torch
from torch import nn

from ...errors import InputError, MissingDataError
from .config import OFFICIAL_WEIGHTS_URL

_BLOCK_KEY = re.compile(r"^backbone\.blocks\.(\d+)\.(.+)$")


def load_checkpoint(path: str | Path, trust: bool = False) -> dict[str, torch.Tensor]:
    """Read a checkpoint file and return its state dict (the ``net`` entry when wrapped)."""
    path = Path(path)
    if not path.is_file():
        raise MissingDataError(
            f"checkpoint not found: {path} (official weights: {OFFICIAL_WEIGHTS_URL})"
        )
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        text = str(exc)
        if "global" not in text.lower():  # not a refused object: the file itself is unreadable
            raise InputError(f"not a readable torch checkpoint ({_last_line(text)})", path=path) from None
        if not trust:
            raise InputError(
                "checkpoint holds pickled objects besides tensors and was refused by the safe "
                f"loader (torch.load weights_only=True: {_refused_global(text)}). Loading it "
                "would run code from the file; only if you trust its origin, pass "
                "--trust-checkpoint (or set trust_checkpoint = true in the spec's [model]).",
                path=path,
            ) from None
        try:
            obj = torch.load(path, map_location="cpu", weights_only=False)
        except Exception as exc2:  # noqa: BLE001 - any failure here is a bad file
            raise InputError(f"not a readable torch checkpoint: {exc2}", path=path) from None
    except Exception as exc:  # noqa: BLE001 - zip/EOF errors from a corrupt file
        raise InputError(f"not a readable torch checkpoint ({_last_line(str(exc))})", path=path) from None
    return extract_state_dict(obj, path)


def _last_line(text: str) -> str:
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    return lines[-1][:200] if lines else "unknown error"


def _refused_global(text: str) -> str:
    """The 'X was not an allowed global' sentence of torch's refusal, else its first line."""
    for line in text.splitlines():
        if "global" in line.lower():
            return line.strip()[:200]
    return text.splitlines()[0][:200]


def extract_state_dict(obj: Any, path: str | Path | None = None) -> dict[str, torch.Tensor]:
    """Unwrap ``{'net': sd}`` (official) or ``{'state_dict': sd}``; strip a ``module.`` prefix."""
    sd = obj
    if isinstance(obj, dict):
        for key in ("net", "state_dict", "model"):
            if key in obj and isinstance(obj[key], dict):
                sd = obj[key]
                break
    if not isinstance(sd, dict) or not sd or not all(isinstance(v, torch.Tensor) for v in sd.values()):
        raise InputError("no state dict (name -> tensor) found under 'net' in the checkpoint", path=path)
    if all(k.startswith("module.") for k in sd):
        sd = {k[len("module."):]: v for k, v in sd.items()}
    return dict(sd)


def check_keys(model: nn.Module, sd: dict[str, torch.Tensor]) -> list[str]:
    """Problems (missing / unexpected / wrong shape) of ``sd`` against ``model``; empty if none."""
    own = model.state_dict()
    problems = []
    missing = [k for k in own if k not in sd]
    unexpected = [k for k in sd if k not in own]
    shapes = [f"{k}: checkpoint {tuple(sd[k].shape)} vs model {tuple(own[k].shape)}"
              for k in own if k in sd and tuple(sd[k].shape) != tuple(own[k].shape)]
    if missing:
        problems.append(f"missing keys ({len(missing)}): {', '.join(missing)}")
    if unexpected:
        problems.append(f"unexpected keys ({len(unexpected)}): {', '.join(unexpected)}")
    if shapes:
        problems.append(f"wrong shapes ({len(shapes)}): {'; '.join(shapes)}")
    return problems


def load_into(model: nn.Module, sd: dict[str, torch.Tensor], path: str | Path | None = None) -> nn.Module:
    """Strictly load ``sd`` into ``model``; one InputError lists every key problem."""
    problems = check_keys(model, sd)
    if problems:
        raise InputError(
            "checkpoint does not match the model (wrong variant or not a MixFormerV2 online "
            "checkpoint?): " + " | ".join(problems), path=path,
        )
    model.load_state_dict({k: v.float() for k, v in sd.items()}, strict=True)
    return model


def keep_blocks(sd: dict[str, torch.Tensor], keep: Iterable[int]) -> dict[str, torch.Tensor]:
    """Depth reduction by dropping layers: keep the listed blocks, renumbered 0..len-1 in order
    (the starting point of the paper's deep-to-shallow pruning)."""
    keep = list(keep)
    remap = {old: new for new, old in enumerate(keep)}
    present = {int(m.group(1)) for k in sd if (m := _BLOCK_KEY.match(k))}
    absent = [i for i in keep if i not in present]
    if absent:
        raise InputError(f"cannot keep blocks {absent}: checkpoint has blocks {sorted(present)}")
    out = {}
    for k, v in sd.items():
        m = _BLOCK_KEY.match(k)
        if m is None:
            out[k] = v
        elif int(m.group(1)) in remap:
            out[f"backbone.blocks.{remap[int(m.group(1))]}.{m.group(2)}"] = v
    return out


def slice_mlp(sd: dict[str, torch.Tensor], hidden: int) -> dict[str, torch.Tensor]:
    """MLP reduction by slicing: the first ``hidden`` units of every block's fc1 (rows) and fc2
    (columns), the paper's initialisation for MLP-ratio reduction."""
    out = dict(sd)
    for k, v in sd.items():
        if k.endswith("mlp.fc1.weight") or k.endswith("mlp.fc1.bias"):
            if v.shape[0] < hidden:
                raise InputError(f"cannot slice {k} of {v.shape[0]} units to {hidden}")
            out[k] = v[:hidden].clone()
        elif k.endswith("mlp.fc2.weight"):
            out[k] = v[:, :hidden].clone()
    return out
