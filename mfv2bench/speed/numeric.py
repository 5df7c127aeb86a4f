"""NumPy's floating-point warnings (overflow, invalid value, divide by zero) raised while speed
or demo runs go through a diverging tracker's boxes: logged once each through ``logging`` (seen
with ``-v``), never spilled on stderr as raw ``file:line: RuntimeWarning`` text."""

from __future__ import annotations

import logging
import warnings
from contextlib import contextmanager
from typing import Iterator


_NUMERIC = ("overflow", "invalid value", "divide by zero", "underflow")


@contextmanager
def numeric_warnings_logged(logger: logging.Logger, what: str) -> Iterator[None]:
    """Within the block, NumPy RuntimeWarnings are collected and logged once per message and
    place (INFO) after it; other warnings pass through unchanged."""
    records: list[warnings.WarningMessage] = []
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", RuntimeWarning)
            try:
                yield
            finally:
                records = list(caught)
    finally:  # outside the recording context: re-emitted warnings reach the real hook
        _report(records, logger, what)


def _report(records: list[warnings.WarningMessage], logger: logging.Logger, what: str) -> None:
    seen: set[tuple[str, str, int]] = set()
    for w in records:
        text = str(w.message)
        if issubclass(w.category, RuntimeWarning) and any(k in text for k in _NUMERIC):
            key = (text, w.filename, w.lineno)
            if key not in seen:
                seen.add(key)
                logger.info("%s: numeric warning (%s at %s:%d): non-finite or huge values",
                            what, text, w.filename, w.lineno)
            continue
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)

__all__ = ["numeric_warnings_logged"]
