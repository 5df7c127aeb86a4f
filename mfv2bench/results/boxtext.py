"""Box text: the one strict parser and the one formatter of ``x,y,w,h`` lines.

Every reader of box files (raw results, ground truth, submission zips) ends up here when its
fast path (``fastparse``) declines the input, so what a box line is, and the file:line errors
for one that is not, are defined once. The readers differ only in policy (``BoxSyntax``):

- which separators are accepted: ``any`` (runs of comma, tab, space or semicolon: raw results
  of any toolkit), ``comma-or-blank`` (commas, or on a line without commas tabs/spaces: ground
  truth; an empty field is an error), ``comma`` (commas only: what the servers accept);
- blank lines: ``skip`` (anywhere) or ``trailing`` (ignored at the end, an error elsewhere);
- which values are refused: ``none``, ``nan`` (a protocol that cannot score NaN boxes) or
  ``nonfinite`` (NaN and infinities: the servers).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Iterable, Literal

import numpy as np

from ..errors import InputError

Separators = Literal["any", "comma-or-blank", "comma"]
BlankLines = Literal["skip", "trailing"]
Refused = Literal["none", "nan", "nonfinite"]

_ANY = re.compile(r"[,\t ;]+")
_BLANK = re.compile(r"\s*[,\t ]\s*")


@dataclass(frozen=True)
class BoxSyntax:
    """How strictly one kind of box file is read (see the module docstring)."""

    separators: Separators = "any"
    blank_lines: BlankLines = "skip"
    refuse: Refused = "nan"
    why: str = "this protocol's toolkit cannot score NaN boxes"  # said when a value is refused

    def __post_init__(self) -> None:
        for name, allowed in (("separators", ("any", "comma-or-blank", "comma")),
                              ("blank_lines", ("skip", "trailing")),
                              ("refuse", ("none", "nan", "nonfinite"))):
            if getattr(self, name) not in allowed:
                raise ValueError(f"BoxSyntax.{name} must be one of {allowed}, "
                                 f"not {getattr(self, name)!r}")


#: raw results (ours and others'): lenient separators, NaN refused (the default protocols)
RESULTS = BoxSyntax()
#: raw results for a protocol that scores NaN boxes (they are kept)
RESULTS_KEEP_NAN = BoxSyntax(refuse="none")
#: ground-truth files: comma (or tab/space) separated, NaN rows kept (absent targets)
GROUND_TRUTH = BoxSyntax(separators="comma-or-blank", blank_lines="trailing", refuse="none")
#: the text the evaluation servers accept: commas, finite numbers
SUBMISSION = BoxSyntax(separators="comma", blank_lines="trailing", refuse="nonfinite",
                       why="NaN or infinite values are not accepted by the server")


def _fields(line: str, separators: Separators) -> list[str] | str:
    """The line's fields, or a message saying why its separators are wrong."""
    if separators == "any":
        return [p for p in _ANY.split(line) if p != ""]
    if separators == "comma-or-blank":
        if "," in line:
            return [f.strip() for f in line.split(",")]
        return _BLANK.split(line)
    if "\t" in line or ";" in line or (" " in line and "," not in line):
        return f"fields must be separated by commas: {line[:60]!r}"
    return line.split(",")


def parse_boxes(text: str, source: str | object, syntax: BoxSyntax = RESULTS) -> np.ndarray:
    """Parse ``x,y,w,h`` lines into an (N, 4) float64 array; any bad line is an ``InputError``
    naming ``source`` (a path, or ``archive!member``) and the 1-based line."""
    lines = text.splitlines()
    if syntax.blank_lines == "trailing":
        while lines and not lines[-1].strip():
            lines.pop()
    comma = "comma-separated " if syntax.separators == "comma" else ""
    rows: list[list[float]] = []
    for lineno, line in enumerate(lines, start=1):
        s = line.strip()
        if not s:
            if syntax.blank_lines == "skip":
                continue
            raise InputError("empty line (blank lines are only allowed at the end)", source, lineno)
        fields = _fields(s, syntax.separators)
        if isinstance(fields, str):
            raise InputError(fields, source, lineno)
        if len(fields) != 4:
            raise InputError(f"expected 4 {comma}values x,y,w,h, found {len(fields)}: {s[:60]!r}",
                             source, lineno)
        vals = []
        for j, field in enumerate(fields):
            try:
                v = float(field)
            except ValueError:
                raise InputError(f"unparsable line {s[:60]!r}: {field.strip()[:30]!r} is not a "
                                 "number", source, lineno) from None
            if (syntax.refuse == "nan" and v != v) or \
                    (syntax.refuse == "nonfinite" and not math.isfinite(v)):
                raise InputError(f"{'xywh'[j]} is {field.strip()} ({syntax.why})", source, lineno)
            vals.append(v)
        rows.append(vals)
    return np.asarray(rows, dtype=np.float64).reshape(-1, 4)


def format_boxes(boxes: np.ndarray, decimals: int | None = None) -> str:
    """One ``x,y,w,h`` line per row, comma separated.

    ``decimals=None``: each value the shortest text that reads back exactly (the store).
    ``decimals=n``: fixed ``n`` decimals (submissions: 4, sub-pixel kept, servers round anyway;
    0 writes integer-valued boxes as plain integers)."""
    arr = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    if decimals is None:
        return "".join(",".join(map(repr, row)) + "\n" for row in arr.tolist())
    f = f"{{:.{int(decimals)}f}}"
    return "".join(",".join(f.format(v) for v in row) + "\n" for row in arr.tolist())


def format_column(values: Iterable[float]) -> str:
    """One value per line, full precision (per-frame times and scores)."""
    return "".join(repr(float(v)) + "\n" for v in values)
