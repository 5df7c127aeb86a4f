"""Shared test set-up: one thread everywhere (2-core machines, many small ops), a temp workspace."""

from __future__ import annotations

import logging
import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import pytest

from mfv2bench.threads import set_threads

set_threads(1)

TESTS_DIR = os.path.dirname(os.path.abspath(__file__))
DATA_DIR = os.path.join(TESTS_DIR, "data")


@pytest.fixture(autouse=True)
def _package_logging():
    """The CLI configures the ``mfv2bench`` logger; restore it so one test's set-up (level,
    handler) never changes what the next one sees."""
    logger = logging.getLogger("mfv2bench")
    level, handlers = logger.level, list(logger.handlers)
    yield
    logger.setLevel(level)
    logger.handlers[:] = handlers


@pytest.fixture
def workspace(tmp_path, monkeypatch):
    """An empty workspace folder with its own mfv2bench.toml; MFV2BENCH_WORKSPACE points at it."""
    (tmp_path / "mfv2bench.toml").write_text("[paths]\n")
    for folder in ("trackers", "results", "reports", "datasets", "checkpoints"):
        (tmp_path / folder).mkdir()
    monkeypatch.setenv("MFV2BENCH_WORKSPACE", str(tmp_path))
    return tmp_path
