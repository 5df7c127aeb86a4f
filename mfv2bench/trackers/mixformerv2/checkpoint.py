"""Loading official MixFormerV2 checkpoints (``mixformerv2_{base,small}.pth.tar``) safely.

A checkpoint is untrusted input: it is read with ``torch.load(weights_only=True)``. Official
training checkpoints may hold pickled custom objects beside ``net``; such a file is refused
with an explanation and loads only with an explicit ``trust=True`` (CLI ``--trust-checkpoint``;
a spec file cannot grant it). A file that is not a checkpoint at all (empty, truncated, an HTML
page, a Git LFS pointer) is refused with what is wrong with it.
Key sets are checked strictly, with one error listing every missing, unexpected or
wrong-shaped key.
"""

from __future__ import annotations

import pickle
import re
import zipfile
from pathlib import Path
from typing import Any, Iterable

import torch
from torch import nn

from ...errors import InputError, MissingDataError
from .config import OFFICIAL_WEIGHTS_URL

_BLOCK_KEY = re.compile(r"^backbone\.blocks\.(\d+)\.(.+)$")


def load_checkpoint(path: str | Path, trust: bool = False) -> dict[str, torch.Tensor]:
    """Read a checkpoint file and return its state dict (the ``net`` entry when wrapped).
    A file torch cannot read is refused with what is wrong with it (empty, truncated, an HTML
    page or a Git LFS pointer instead of the weights, ...), see ``diagnose_file``."""
    path = Path(path)
    if not path.is_file():
        raise MissingDataError(
            f"checkpoint not found: {path} (official weights: {OFFICIAL_WEIGHTS_URL})"
        )
    problem = diagnose_file(path)
    if problem is not None:  # known not to be a checkpoint: say so before torch guesses
        raise InputError(f"not a readable torch checkpoint: {problem}", path=path)
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        text = str(exc)
        if "global" not in text.lower():  # not a refused object: the file itself is unreadable
            raise _unreadable(path, exc) from None
        if not trust:
            raise InputError(
                "checkpoint holds pickled objects besides tensors and was refused by the safe "
                f"loader (torch.load weights_only=True: {_refused_global(text)}). Loading it "
                "would run code from the file; only if you trust its origin, pass "
                "--trust-checkpoint on the command line (a spec file cannot grant it).",
                path=path,
            ) from None
        try:
            obj = torch.load(path, map_location="cpu", weights_only=False)
        except Exception as exc2:  # noqa: BLE001 - any failure here is a bad file
            raise _unreadable(path, exc2) from None
    except Exception as exc:  # noqa: BLE001 - zip/EOF errors from a corrupt file
        raise _unreadable(path, exc) from None
    return extract_state_dict(obj, path)


# torch.save's legacy (non-zip) format starts with the pickled magic number 0x1950a86a20f9469cfc6c
_LEGACY_MAGIC = b"\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19"
_ZIP_MAGIC = b"PK\x03\x04"


def diagnose_file(path: str | Path, deep: bool = False) -> str | None:
    """What is wrong with a file that should be a torch checkpoint, from its bytes alone (None:
    it looks like one: the zip format of ``torch.save`` with its ``data.pkl``, or the legacy
    format). Gives the reason torch's own errors ("pop from empty list", "unknown error",
    "invalid load key") do not. ``deep`` also checks every zip member's CRC (reads it all)."""
    path = Path(path)
    size = path.stat().st_size
    if size == 0:
        return "the file is empty (0 bytes): an interrupted download or copy? Fetch it again"
    with open(path, "rb") as f:
        head = f.read(512)
    if head.startswith(b"version https://git-lfs"):
        return ("it is a Git LFS pointer file, not the weights: fetch the real file "
                "(git lfs pull) or download it again")
    lowered = head.lstrip().lower()
    if lowered.startswith((b"<!doctype html", b"<html", b"<?xml", b"<head", b"<body")):
        return ("it is an HTML/XML page (a download error or login page?), not a checkpoint: "
                "download the weights file itself")
    if head.startswith(_ZIP_MAGIC):
        if not zipfile.is_zipfile(path):
            return (f"a zip-format torch checkpoint that is truncated or corrupt ({size} bytes; "
                    "its zip directory is missing): the download or copy was cut short? "
                    "Fetch it again")
        try:
            with zipfile.ZipFile(path) as z:
                names = z.namelist()
                bad = z.testzip() if deep else None
        except (zipfile.BadZipFile, OSError, EOFError, RuntimeError) as exc:
            return f"a corrupt zip archive ({exc})"
        if not any(n.endswith("data.pkl") for n in names):
            return (f"a zip archive but not a torch checkpoint (no data.pkl among its "
                    f"{len(names)} member(s))")
        if bad is not None:
            return f"a torch checkpoint with a corrupt member {bad!r} (CRC mismatch): fetch it again"
        return None
    if head.startswith(_LEGACY_MAGIC):
        return None
    if head[:1] == b"\x80":
        return ("a Python pickle but not a torch checkpoint (neither the zip format of "
                "torch.save nor its legacy format)")
    if _is_text(head):
        sample = head.decode("utf-8", "replace").strip().splitlines()[0][:40] if head.strip() else ""
        return f"a text file, not a checkpoint (it starts with {sample!r})"
    return (f"neither the zip format of torch.save nor its legacy format (it starts with "
            f"bytes {head[:8].hex(' ')})")


def _is_text(head: bytes) -> bool:
    try:
        head.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return all(c >= 32 or c in (9, 10, 13) for c in head)


def _unreadable(path: Path, exc: BaseException) -> InputError:
    """torch failed on a file that looks like a checkpoint: truncated or damaged inside."""
    problem = diagnose_file(path, deep=True)
    if problem is not None:
        return InputError(f"not a readable torch checkpoint: {problem}", path=path)
    text = str(exc)
    reason = type(exc).__name__ + (f": {_last_line(text)}" if text.strip() else "")
    size = path.stat().st_size
    return InputError(f"not a readable torch checkpoint: the file ({size} bytes) looks like one "
                      f"but is truncated or damaged inside (torch: {reason}); fetch it again",
                      path=path)


def non_finite_tensors(sd: dict[str, torch.Tensor]) -> list[str]:
    """Names of the floating-point tensors holding NaN or Inf (weights that make every output
    NaN: a diverged training run or a damaged file)."""
    return [name for name, t in sd.items()
            if isinstance(t, torch.Tensor) and t.is_floating_point() and not bool(torch.isfinite(t).all())]


def _last_line(text: str) -> str:
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    return lines[-1][:200] if lines else "no message"


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
