"""The markers are registered, and their skip rules skip (never error) where an optional extra or
chromium is missing."""

from __future__ import annotations

import sys
import types
from pathlib import Path

import pytest
from conftest import missing_requirement

try:
    import tomllib
except ModuleNotFoundError:  # pragma: no cover
    import tomli as tomllib


class _Item:
    """The part of a pytest item the skip rule reads."""

    def __init__(self, *markers: str) -> None:
        self.markers = set(markers)

    def get_closest_marker(self, name: str):
        return pytest.mark.__getattr__(name).mark if name in self.markers else None


def test_markers_registered():
    pyproject = Path(__file__).resolve().parents[1] / "pyproject.toml"
    with open(pyproject, "rb") as f:
        markers = tomllib.load(f)["tool"]["pytest"]["ini_options"]["markers"]
    assert {m.split(":")[0] for m in markers} >= {"slow", "compile", "onnx", "browser"}


@pytest.mark.parametrize("module", ["onnx", "onnxruntime"])
def test_onnx_tests_skip_when_the_extra_is_absent(monkeypatch, module):
    for name in ("onnx", "onnxruntime"):  # only ``module`` missing, whatever is installed
        monkeypatch.setitem(sys.modules, name, None if name == module else types.ModuleType(name))
    reason = missing_requirement(_Item("onnx"))
    assert reason == f"{module} not installed (pip install 'mfv2bench[onnx]')"
    assert missing_requirement(_Item("slow")) is None  # unmarked tests are untouched


def test_browser_tests_skip_without_chromium(monkeypatch):
    monkeypatch.setattr("shutil.which", lambda name: None)
    assert "chromium not installed" in missing_requirement(_Item("browser"))
    monkeypatch.setattr("shutil.which", lambda name: "/usr/bin/" + name)
    assert missing_requirement(_Item("browser")) is None
