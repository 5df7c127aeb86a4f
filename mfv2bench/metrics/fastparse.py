"""Vectorized parser for the common case of result/GT files: integer values, one box per line.

Most raw results (pytracking, OSTrack, MixFormerV2 save ``int`` boxes) and LaSOT's GT are lines
like ``123,45,67,89``. ``np.loadtxt`` parses these at ~100 MB/s; here the bytes of many files are
validated with a few vectorized passes (allowed characters, exactly one separator between
values, the same number of values on every line) and converted by numpy's C integer reader.

The fast path only accepts input whose meaning is unambiguous: every line ``-?digits`` values
separated by single commas or tabs, ``\\n`` or ``\\r\\n`` line ends, integers below 2**53 (so the
float64 value equals ``float(token)`` exactly). Anything else (decimals, ``nan``, exponents,
spaces, blank lines, doubled separators, ``-0``, huge numbers, wrong value counts) returns
``None`` and the caller uses the exact per-line parser, which also reports file:line errors.
"""

from __future__ import annotations

import warnings

import numpy as np

_NL_TO_COMMA = bytes.maketrans(b"\n", b",")
_INT_CHARS = b"0123456789,\n-"
_EXACT_LIMIT = 2 ** 53  # integers below this are exact in float64


def _normalize(chunk: bytes) -> bytes | None:
    """CRLF -> LF, tab -> comma, trailing line end added; None for a lone CR."""
    if b"\r" in chunk:
        if chunk.count(b"\r") != chunk.count(b"\r\n"):
            return None
        chunk = chunk.replace(b"\r\n", b"\n")
    if b"\t" in chunk:
        chunk = chunk.replace(b"\t", b",")
    if chunk and not chunk.endswith(b"\n"):
        chunk += b"\n"
    return chunk


def parse_int_rows(chunks: list[bytes], ncols: int = 4) -> list[np.ndarray] | None:
    """Parse many files' bytes holding ``ncols`` integers per line into float64 (n, ncols)
    arrays (one per chunk, views of one buffer); None when any chunk is not plainly in that
    form (the caller then parses exactly)."""
    norm = []
    for c in chunks:
        n = _normalize(c)
        if n is None:
            return None
        norm.append(n)
    buf = b"".join(norm)
    if not buf:
        return [np.zeros((0, ncols)) for _ in chunks]
    if buf.translate(None, _INT_CHARS) or b"-0" in buf:
        return None  # other characters, or -0 / zero-padded negatives (exact parser decides)
    b = np.frombuffer(buf, dtype=np.uint8)
    nl = np.flatnonzero(b == 10)
    n_rows = len(nl)
    sep = np.flatnonzero(b == 44)
    if len(sep) != (ncols - 1) * n_rows:
        return None
    # every line holds exactly ncols-1 commas (empty values are refused by the reader below)
    if ncols > 1:
        sep = sep.reshape(n_rows, ncols - 1)
        if not ((sep[:, -1] < nl).all() and (sep[1:, 0] > nl[:-1]).all()):
            return None
    elif b"\n\n" in buf or buf.startswith(b"\n"):
        return None
    if b"-" in buf:  # a minus only at the start of a value and followed by a digit
        mi = np.flatnonzero(b == 45)
        after = b[mi + 1]
        before = b[np.maximum(mi - 1, 0)]
        if not (((after >= 48) & (after <= 57)).all()
                and ((mi == 0) | (before == 44) | (before == 10)).all()):
            return None
    with warnings.catch_warnings():  # numpy warns (or raises) on an empty or malformed value
        warnings.simplefilter("error")
        try:
            vals = np.fromstring(buf.translate(_NL_TO_COMMA), dtype=np.int64, sep=",")
        except (ValueError, DeprecationWarning):
            return None
    if len(vals) != ncols * n_rows:
        return None
    if len(vals) and (vals.max() >= _EXACT_LIMIT or vals.min() <= -_EXACT_LIMIT):
        return None
    arr = vals.astype(np.float64).reshape(n_rows, ncols)
    ends = np.cumsum([len(c) for c in norm])
    rows_before = np.searchsorted(nl, ends, side="left")
    out, start = [], 0
    for stop in rows_before.tolist():
        out.append(arr[start:stop])
        start = stop
    return out
