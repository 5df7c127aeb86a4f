"""Shared test set-up: one thread everywhere (2-core machines, many small ops), a temp workspace,
and the markers' skip rules (pyproject.toml registers them):

- ``onnx``: skipped, not errored, when the ``onnx`` extra (onnx, onnxruntime) is not installed;
- ``browser``: skipped when no chromium is on PATH;
- ``compile`` and ``slow``: run by default; ``pytest -m "not slow"`` leaves them out.
"""

from __future__ import annotations

import importlib
import logging
import os
import shutil

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import pytest

from mfv2bench.threads import set_threads

set_threads(1)

TESTS_DIR = os.path.dirname(os.path.abspath(__file__))
DATA_DIR = os.path.join(TESTS_DIR, "data")

# marker -> modules its tests import (pip extra named in the skip reason)
EXTRA_MODULES = {"onnx": ("onnx", "onnxruntime")}
BROWSERS = ("chromium", "chromium-browser")


def missing_requirement(item: pytest.Item) -> str | None:
    """Why a marked test cannot run here (None: it can)."""
    for marker, modules in EXTRA_MODULES.items():
        if item.get_closest_marker(marker) is None:
            continue
        for module in modules:
            try:
                importlib.import_module(module)
            except ImportError:
                return f"{module} not installed (pip install 'mfv2bench[{marker}]')"
    if item.get_closest_marker("browser") is not None and not any(map(shutil.which, BROWSERS)):
        return "chromium not installed (Debian package 'chromium')"
    return None


def pytest_runtest_setup(item: pytest.Item) -> None:
    reason = missing_requirement(item)
    if reason is not None:
        pytest.skip(reason)


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
