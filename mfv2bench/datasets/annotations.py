"""Readers for the per-sequence annotation files of LaSOT, GOT-10k and TrackingNet.

Each reader takes the fast path (NumPy's C parser) and, when that fails, re-reads the file line by
line only to name the first bad line in an ``InputError`` (file:line). Box text is the results
layer's (``mfv2bench.results.boxtext``, ground-truth syntax: NaN rows kept).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..results.boxtext import GROUND_TRUTH, parse_boxes
from ..results.fastparse import parse_float_boxes

_SPLIT = re.compile(r"\s*[,\t ]\s*")


def _read_text(path: Path, what: str) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="strict")
    except FileNotFoundError:
        raise InputError(f"{what} file not found", path) from None
    except UnicodeDecodeError:
        raise InputError(f"{what} file is not UTF-8 text", path) from None
    except OSError as exc:
        raise InputError(f"cannot read {what} file: {exc.strerror}", path) from None


def _split_fields(line: str) -> list[str]:
    line = line.strip()
    if "," in line:
        return [f.strip() for f in line.split(",")]
    return _SPLIT.split(line) if line else []


def read_boxes(path: str | Path) -> np.ndarray:
    """Boxes ``x,y,w,h`` one per line (comma; tab/space also accepted) as an (N, 4) float64 array.

    Blank lines at the end are ignored; a blank line in the middle, a line without exactly four
    numbers, or an empty file is an ``InputError`` naming the line.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise InputError("ground-truth file not found", path) from None
    except OSError as exc:
        raise InputError(f"cannot read ground-truth file: {exc.strerror}", path) from None
    data = data.rstrip()
    if not data:
        raise InputError("ground-truth file is empty", path)
    fast = parse_float_boxes(data + b"\n")
    if fast is not None:
        return fast
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError("ground-truth file is not UTF-8 text", path) from None
    return parse_boxes(text, path, GROUND_TRUTH)


def read_flag_row(path: str | Path, n_expected: int | None = None) -> np.ndarray:
    """LaSOT ``full_occlusion.txt`` / ``out_of_view.txt``: 0/1 flags, comma-separated on one line.

    Flags spread over several lines (one per line) are accepted too. Returns a bool array; with
    ``n_expected``, a different count is an ``InputError``.
    """
    path = Path(path)
    text = _read_text(path, "flag")
    flags = _flags_fast(text)
    if flags is not None:
        if n_expected is not None and len(flags) != n_expected:
            raise InputError(f"{len(flags)} flags but {n_expected} frames", path)
        return flags
    values: list[str] = []
    line_of: list[int] = []
    for i, line in enumerate(text.splitlines()):
        if not line.strip():
            continue
        fields = _split_fields(line)
        values.extend(fields)
        line_of.extend([i + 1] * len(fields))
    flags = np.empty(len(values), dtype=bool)
    for k, v in enumerate(values):
        if v in ("0", "1"):
            flags[k] = v == "1"
            continue
        try:
            f = float(v)
        except ValueError:
            f = -1.0
        if f not in (0.0, 1.0):
            raise InputError(f"flag #{k + 1} is {v!r}, expected 0 or 1", path, line_of[k])
        flags[k] = f == 1.0
    if n_expected is not None and len(flags) != n_expected:
        raise InputError(f"{len(flags)} flags but {n_expected} frames", path)
    return flags


def _flags_fast(text: str) -> np.ndarray | None:
    """C-speed read of the two real spellings: ``0,1,0`` (digits and commas alternating,
    whitespace around) or one digit per line. None sends the file to the checking reader."""
    raw = np.frombuffer(text.encode("ascii", errors="replace"), dtype=np.uint8)
    digit = (raw == 48) | (raw == 49)
    comma = raw == 44
    space = (raw == 10) | (raw == 13) | (raw == 32) | (raw == 9)
    if not (digit | comma | space).all() or (digit[1:] & digit[:-1]).any():
        return None
    if comma.any():
        tokens = raw[digit | comma]
        if len(tokens) % 2 == 0 or not (tokens[1::2] == 44).all() or (tokens[::2] == 44).any():
            return None
    return raw[digit] == 49


def read_label_column(path: str | Path, n_expected: int | None = None) -> np.ndarray:
    """GOT-10k ``*.label`` files: one integer per line, as an int64 array."""
    path = Path(path)
    text = _read_text(path, "label")
    lines = text.splitlines()
    while lines and not lines[-1].strip():
        lines.pop()
    out = _labels_fast(lines)
    if out is None:
        out = np.empty(len(lines), dtype=np.int64)
        for i, line in enumerate(lines):
            s = line.strip()
            try:
                f = float(s)
                ok = f.is_integer()
            except ValueError:
                ok = False
            if not ok:
                raise InputError(f"expected an integer label, got {s[:40]!r}", path, i + 1)
            out[i] = int(f)
    if n_expected is not None and len(out) != n_expected:
        raise InputError(f"{len(out)} labels but {n_expected} frames", path)
    return out


def _labels_fast(lines: list[str]) -> np.ndarray | None:
    tokens = "\n".join(lines).split()
    if len(tokens) != len(lines) or not all(t.isdigit() and t.isascii() for t in tokens):
        return None
    return np.array(tokens, dtype=np.int64) if tokens else np.zeros(0, dtype=np.int64)


def read_meta_info(path: str | Path) -> dict[str, str]:
    """GOT-10k ``meta_info.ini``: ``[METAINFO]`` then ``key: value`` lines, as a dict of strings."""
    path = Path(path)
    text = _read_text(path, "meta_info")
    meta: dict[str, str] = {}
    for i, line in enumerate(text.splitlines()):
        s = line.strip()
        if not s or s.startswith("[") or s.startswith(("#", ";")):
            continue
        key, sep, value = s.partition(":")
        if not sep:
            raise InputError(f"expected 'key: value', got {s[:60]!r}", path, i + 1)
        meta[key.strip()] = value.strip()
    return meta


def parse_resolution(value: str, path: str | Path | None = None) -> tuple[int, int]:
    """``(1920, 1080)`` -> (width, height)."""
    try:
        parsed = ast.literal_eval(value.strip())
        w, h = (int(parsed[0]), int(parsed[1]))
    except (ValueError, SyntaxError, TypeError, IndexError):
        raise InputError(f"resolution {value!r} is not '(width, height)'", path) from None
    if w <= 0 or h <= 0:
        raise InputError(f"resolution {value!r} is not positive", path)
    return w, h
