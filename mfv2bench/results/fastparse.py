"""Vectorized parsers for the common cases of result/GT files (fast paths of ``boxtext``).

``parse_int_rows``: integer values, one box per line, many files at once.

Most raw results (pytracking, OSTrack, MixFormerV2 save ``int`` boxes) and LaSOT's GT are lines
like ``123,45,67,89``. ``np.loadtxt`` parses these at ~100 MB/s. Here the bytes of many files
are joined and parsed in one call: by pyarrow's CSV reader (~350 MB/s a core, multithreaded
where ``threads.set_threads`` allows more than one) when they hold only digits, ``-``, commas
and line ends; else (tabs) validated with a few vectorized passes (allowed characters, exactly
one separator between values, the same number of values on every line) and converted by
numpy's C integer reader. Either way the row count of every file is checked against its line
count, so a blank line or a short row anywhere sends the whole batch to the exact parser.

The fast path only accepts input whose meaning is unambiguous: every line ``-?digits`` values
separated by single commas or tabs, ``\\n`` or ``\\r\\n`` line ends, integers below 2**53 (so the
float64 value equals ``float(token)`` exactly). Anything else (decimals, ``nan``, exponents,
spaces, blank lines, doubled separators, ``-0``, huge numbers, wrong value counts) returns
``None`` and the caller uses the exact per-line parser, which also reports file:line errors.

``parse_float_boxes``: one ground-truth file of plain decimal numbers with three commas a line
(GOT-10k's 4-decimal GT); ``None`` likewise sends the file to the exact parser.
"""

from __future__ import annotations

import io
import re
import threading
import warnings

import numpy as np
import pandas as pd

try:  # an accepted dependency (issue 15); without it the numpy path does the same work
    import pyarrow as pa
    import pyarrow.csv as pa_csv
except ImportError:  # pragma: no cover - installed with the package
    pa = pa_csv = None

# digits and '-' kept, tab and line end become the comma separator, every other byte an 'x'
# (which numpy's reader refuses): one pass prepares the buffer and rejects the unusual
_TO_READER = bytes((c if chr(c) in "0123456789,-" else 44 if c in (9, 10) else 120)
                   for c in range(256))
_EXACT_LIMIT = 2 ** 53  # integers below this are exact in float64


def _normalize(chunk: bytes) -> bytes:
    """CRLF -> LF (a lone CR stays, and is refused later), trailing line end added."""
    if b"\r" in chunk:  # one-byte search: fast (a two-byte one scans slowly)
        chunk = chunk.replace(b"\r\n", b"\n")
    if chunk and not chunk.endswith(b"\n"):
        chunk += b"\n"
    return chunk


# bytes parsed per step: the temporaries stay in cache and are recycled by the allocator
# instead of being faulted in afresh (which costs more than parsing on some machines)
BATCH_BYTES = 1 << 19


def parse_int_rows(chunks: list[bytes], ncols: int = 4) -> list[np.ndarray] | None:
    """Parse many files' bytes holding ``ncols`` integers per line into float64 (n, ncols)
    arrays (one per chunk); None when any chunk is not plainly in that form (the caller then
    parses exactly)."""
    fast = _parse_arrow(chunks, ncols)
    if fast is not None:
        return fast
    out: list[np.ndarray] = []
    batch: list[bytes] = []
    size = 0
    for c in chunks + [None]:  # type: ignore[list-item]
        if batch and (c is None or size + len(c) > BATCH_BYTES):
            parsed = _parse_batch(batch, ncols)
            if parsed is None:
                return None
            out.extend(parsed)
            batch, size = [], 0
        if c is not None:
            batch.append(c)
            size += len(c)
    return out


def _parse_batch(chunks: list[bytes], ncols: int) -> list[np.ndarray] | None:
    norm = [_normalize(c) for c in chunks]
    buf = b"".join(norm)
    if not buf:
        return [np.zeros((0, ncols)) for _ in chunks]
    b = np.frombuffer(buf, dtype=np.uint8)
    # separators (and any other byte below '-') in order: each line must be ncols-1 of them
    # that are not line ends, then a line end
    at = np.flatnonzero(b <= 44)
    if len(at) % ncols:
        return None
    seps = b[at].reshape(-1, ncols)
    n_rows = len(seps)
    if not ((seps[:, -1] == 10).all() and (seps[:, :-1] != 10).all()):
        return None
    if b"-" in buf:
        # a minus only at the start of a value and followed by a digit other than 0 (-0 and
        # zero-padded negatives: the exact parser decides)
        mi = np.flatnonzero(b == 45)
        after = b[mi + 1]
        before = b[np.maximum(mi - 1, 0)]
        if not (((after >= 49) & (after <= 57)).all()
                and ((mi == 0) | (before == 44) | (before == 10) | (before == 9)).all()):
            return None
    if threading.current_thread() is not threading.main_thread():
        # catch_warnings changes the process-wide filters (not thread-safe before Python
        # 3.14): in a worker thread the caller's exact parsers decide instead
        return None
    with warnings.catch_warnings():  # numpy warns (or raises) on an empty or malformed value
        warnings.simplefilter("error")
        try:
            vals = np.fromstring(buf.translate(_TO_READER), dtype=np.int64, sep=",")
        except (ValueError, DeprecationWarning):
            return None
    if len(vals) != ncols * n_rows:
        return None
    if len(vals) and (vals.max() >= _EXACT_LIMIT or vals.min() <= -_EXACT_LIMIT):
        return None
    arr = vals.astype(np.float64).reshape(n_rows, ncols)
    line_ends = at[ncols - 1::ncols]
    stops = np.searchsorted(line_ends, np.cumsum([len(c) for c in norm]), side="left")
    out, start = [], 0
    for stop in stops.tolist():
        out.append(arr[start:stop])
        start = stop
    return out


# bytes that may appear in a batch for pyarrow: digits, '-', ',' and '\n' (a CR that is not part
# of a CRLF, tabs, spaces, '+', '.', letters, quotes: the numpy path or the exact parser)
_ARROW_BYTES = b"0123456789,-\n"
_ARROW_MIN_BYTES = 1 << 16  # below this, pyarrow's per-call cost is more than it saves
# the regex engine finds a two-byte literal ~4x faster than ``bytes.__contains__`` (10 ms for
# 10 MB)
_SIGNED_ZERO = re.compile(rb"-0")


def _parse_arrow(chunks: list[bytes], ncols: int) -> list[np.ndarray] | None:
    """All chunks in one pyarrow CSV read (comma-separated integers only); None when pyarrow
    is absent, the batch is small, or anything is unusual (the caller decides then)."""
    if pa_csv is None:
        return None
    norm = [_normalize(c) for c in chunks]
    buf = b"".join(norm)
    if len(buf) < _ARROW_MIN_BYTES or buf.translate(None, _ARROW_BYTES) or (
            b"-" in buf and _SIGNED_ZERO.search(buf) is not None):
        return None  # '-0' (a signed zero) and zero-padded negatives: the exact parser decides
    counts = np.fromiter((c.count(b"\n") for c in norm), dtype=np.int64, count=len(norm))
    names = [f"f{i}" for i in range(ncols)]
    try:
        table = pa_csv.read_csv(
            pa.py_buffer(buf),
            read_options=pa_csv.ReadOptions(column_names=names, use_threads=pa.cpu_count() > 1),
            parse_options=pa_csv.ParseOptions(delimiter=",", quote_char=False,
                                              double_quote=False, escape_char=False,
                                              newlines_in_values=False,
                                              ignore_empty_lines=False),
            convert_options=pa_csv.ConvertOptions(
                column_types={n: pa.int32() for n in names}, null_values=[],
                strings_can_be_null=False, quoted_strings_can_be_null=False, check_utf8=False))
    except pa.ArrowException:
        return None  # empty value, blank line, other value counts, beyond int32: not plain
    n_rows = int(counts.sum())
    if table.num_columns != ncols or table.num_rows != n_rows:
        return None
    arr = np.empty((n_rows, ncols), dtype=np.float64)
    for j, col in enumerate(table.columns):
        if col.null_count:
            return None
        arr[:, j] = col.to_numpy()  # int32: every value exact in float64
    stops = np.cumsum(counts)
    return [arr[a:b] for a, b in zip((stops - counts).tolist(), stops.tolist())]


# Below this many lines NumPy's string conversion beats pandas' per-call overhead.
_PANDAS_MIN_LINES = 600


def parse_float_boxes(data: bytes) -> np.ndarray | None:
    """C-speed parse of one file (ending with a newline) when every line holds exactly three
    commas and plain numbers; None sends the file to the exact line-by-line parser (which names
    the bad line). NaN rows also go there (their spellings are checked line by line)."""
    if b'"' in data or b"\t" in data:
        return None
    raw = np.frombuffer(data, dtype=np.uint8)
    ends = np.flatnonzero(raw == 10)  # data ends with a newline
    commas = np.cumsum(raw == 44)[ends]
    if not (np.diff(commas, prepend=0) == 3).all():
        return None
    try:
        if len(ends) < _PANDAS_MIN_LINES:
            arr = np.array(data.replace(b"\n", b",")[:-1].split(b","), dtype=np.float64)
            arr = arr.reshape(-1, 4)
        else:
            arr = pd.read_csv(io.BytesIO(data), header=None, dtype=np.float64,
                              skip_blank_lines=False).to_numpy()
    except (ValueError, pd.errors.ParserError):
        return None
    if arr.shape != (len(ends), 4) or np.isnan(arr).any():
        return None
    return np.ascontiguousarray(arr)
