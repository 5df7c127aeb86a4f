"""Bad workspace configuration is one clear ConfigError naming the file, never a traceback."""

from __future__ import annotations

import os

import pytest
from click.testing import CliRunner

from mfv2bench.cli import main
from mfv2bench.errors import ConfigError
from mfv2bench.workspace import load_workspace


def _ws(tmp_path, text: str):
    (tmp_path / "mfv2bench.toml").write_text(text)
    return tmp_path


@pytest.mark.parametrize("text, words", [
    ('paths = "oops"\n', "'paths' must be a table"),
    ('datasets = 3\n', "'datasets' must be a table"),
    ('[paths]\nresults = 5\n', "[paths].results must be a folder path string"),
    ('[paths]\nreports = ""\n', "[paths].reports must be a folder path string"),
    ('[datasets]\nlasot = 1\n', "[datasets].lasot must be a path string"),
])
def test_bad_config_values_are_one_error_naming_the_file(tmp_path, text, words):
    root = _ws(tmp_path, text)
    with pytest.raises(ConfigError) as exc:
        load_workspace(root)
    assert words in str(exc.value)
    assert "mfv2bench.toml" in str(exc.value)


def test_results_env_pointing_at_a_file_is_refused(tmp_path, monkeypatch):
    root = _ws(tmp_path, "")
    f = tmp_path / "afile"
    f.write_text("x")
    monkeypatch.setenv("MFV2BENCH_RESULTS", str(f))
    with pytest.raises(ConfigError, match="MFV2BENCH_RESULTS.*is a file"):
        load_workspace(root)


def test_results_path_in_config_pointing_at_a_file_is_refused(tmp_path):
    (tmp_path / "res").write_text("x")
    root = _ws(tmp_path, '[paths]\nresults = "res"\n')
    with pytest.raises(ConfigError, match=r"\[paths\].results names .* a file"):
        load_workspace(root)


def test_symlink_loop_data_root_does_not_break_loading(tmp_path):
    root = _ws(tmp_path, "")
    (tmp_path / "datasets").mkdir()
    loop = tmp_path / "datasets" / "lasot"
    os.symlink(loop, loop)  # a link to itself
    ws = load_workspace(root)
    assert ws.data_root("lasot").name == "lasot"


def test_cli_bad_config_is_exit_2_one_line(tmp_path):
    root = _ws(tmp_path, 'paths = "oops"\n')
    res = CliRunner().invoke(main, ["--workspace", str(root), "trackers", "list"])
    assert res.exit_code == 2, res.output
    assert "Traceback" not in res.output
    assert "'paths' must be a table" in res.output


def test_every_synthetic_layout_defaults_under_datasets_synthetic(tmp_path):
    ws = load_workspace(_ws(tmp_path, ""))
    for fmt in ("lasot", "otb100", "uav123", "nfs", "tnl2k", "custom"):
        assert ws.data_root(f"synthetic-{fmt}") == (tmp_path / "datasets" / "synthetic" / fmt).resolve()
    assert ws.data_root("uav123") == (tmp_path / "datasets" / "uav123").resolve()
