"""Every option is validated the same way in every verb (commands/options.py): a bad value is ONE
line on stderr starting with ``error:``, exit status 2, no traceback, no usage block; and the
library checks the same limits for API callers (issue 11)."""

from __future__ import annotations

import logging
import warnings

import click
import numpy as np
import pytest
from click.testing import CliRunner

from mfv2bench.cli import main
from mfv2bench.commands.options import DEVICE, DEVICES, NAME, NAME_LIST, THREADS
from mfv2bench.errors import ConfigError
from mfv2bench.speed.numeric import numeric_warnings_logged
from mfv2bench.speed.run import SpeedOptions, run_speed
from mfv2bench.threads import available_cores
from mfv2bench.workspace import load_workspace


def _one_line_error(res, *needles: str) -> None:
    assert res.exit_code == 2, res.output
    lines = [ln for ln in res.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), res.output
    assert "Traceback" not in res.output and "Usage:" not in res.output
    for needle in needles:
        assert needle in lines[0], lines[0]


BAD_SPEED = [
    (["--iters", "-3"], "--iters"),
    (["--iters", "0", "--no-tracking"], "--iters"),
    (["--iters", "x"], "--iters"),
    (["--threads", "0"], "--threads"),
    (["--threads", "100000"], "usable cores"),
    (["--warmup", "-1"], "--warmup"),
    (["--batch", "0"], "--batch"),
    (["--batch", "100000"], "--batch"),
    (["--device", "bogus"], "not a device"),
    (["--device", "cuda:0,cuda:1"], "not a device"),
    (["--device", ""], "--device"),
    (["--sequences", "0"], "--sequences"),
    (["--frames", "1"], "--frames"),
    (["--dataset", ""], "must not be empty"),
    (["--dataset", "   "], "must not be empty"),
    (["--accuracy-table", ""], "must not be empty"),
    (["--precision", "fp8"], "--precision"),
    (["--mode", "warm"], "--mode"),
    (["--runtime", "tensorrt"], "--runtime"),
    (["--bogus-flag"], "--bogus-flag"),
]


@pytest.mark.parametrize("args,needle", BAD_SPEED, ids=[" ".join(a) for a, _ in BAD_SPEED])
def test_speed_refuses_bad_values_in_one_line(workspace, args, needle):
    _one_line_error(CliRunner().invoke(main, ["speed", "--tracker", "kcf", *args]), needle)


@pytest.mark.parametrize("args,needle", [
    (["--tracker", ""], "must not be empty"),
    (["--trackers", ",,"], "names nothing"),
    (["--trackers", "kcf,kcf"], "twice"),
])
def test_speed_names_are_checked(workspace, args, needle):
    _one_line_error(CliRunner().invoke(main, ["speed", *args]), needle)


@pytest.mark.parametrize("args,needle", [
    (["demo", "--jobs", "0"], "--jobs"),
    (["demo", "--jobs", "100000"], "--jobs"),
    (["demo", "--sequences", "0"], "--sequences"),
    (["demo", "--frames", "2"], "--frames"),
    (["demo", "--trackers", " , "], "names nothing"),
    (["trackers", "show"], "Missing argument"),
    (["trackers", "show", ""], "must not be empty"),
    (["trackers", "show", "kcf", "--dataset", ""], "must not be empty"),
    (["trackers", "check", "kcf", "--dataset", " "], "must not be empty"),
    (["trackers", "show", "kcf", "--bogus"], "--bogus"),
    (["trackers", "nosuchsub"], "nosuchsub"),
    (["nosuchverb"], "nosuchverb"),
    (["--bogus"], "--bogus"),
])
def test_usage_errors_of_every_verb_are_one_line(workspace, args, needle):
    _one_line_error(CliRunner().invoke(main, args), needle)


def test_the_option_types_share_one_rule():
    cores = available_cores()
    assert THREADS.convert(str(cores), None, None) == cores
    for bad in ("0", str(cores + 1), "-1", "1.5"):
        with pytest.raises(click.BadParameter):
            THREADS.convert(bad, None, None)
    assert DEVICE.convert("CUDA:1", None, None) == "cuda:1"
    assert DEVICES.convert("cuda:0, cuda:1", None, None) == "cuda:0,cuda:1"
    for bad in ("cpu,cuda", "cuda:0,cuda:0", "gpu", "cuda:x", ""):
        with pytest.raises(click.BadParameter):
            DEVICES.convert(bad, None, None)
    assert NAME.convert("  lasot ", None, None) == "lasot"
    assert NAME_LIST.convert("a, b,,c", None, None) == ["a", "b", "c"]


@pytest.mark.parametrize("kwargs", [
    {"iters": 0}, {"iters": -3}, {"warmup": -1}, {"max_frames": 1}, {"max_sequences": 0},
    {"warmup_frames": -2}, {"mode": "warm"}, {"min_time_s": -1.0}, {"iters": "20"},
])
def test_speed_options_checked_for_api_callers(kwargs):
    with pytest.raises(ConfigError, match="speed option"):
        SpeedOptions(**kwargs)


@pytest.mark.parametrize("kwargs,match", [
    ({"threads": 0}, "threads must be in"), ({"threads": 100000}, "threads must be in"),
    ({"batch": 0}, "batch must be"), ({"device": "bogus"}, "device"),
])
def test_run_speed_refuses_bad_settings_before_anything_runs(workspace, kwargs, match):
    ws = load_workspace(str(workspace))
    with pytest.raises(ConfigError, match=match):
        run_speed("kcf", ws, **kwargs)


def test_numeric_warnings_are_logged_not_spilled(caplog, recwarn):
    logger = logging.getLogger("mfv2bench.test")
    with caplog.at_level(logging.INFO, logger="mfv2bench.test"):
        with numeric_warnings_logged(logger, "demo"):
            for _ in range(3):
                np.float64(1e308) * np.float64(10.0)  # overflow: RuntimeWarning
                np.asarray([np.inf]) - np.asarray([np.inf])  # invalid value
            warnings.warn("an unrelated warning", UserWarning)
    numeric = [r for r in caplog.records if "numeric warning" in r.getMessage()]
    assert len(numeric) == 2 and all("demo" in r.getMessage() for r in numeric)
    assert [str(w.message) for w in recwarn] == ["an unrelated warning"]


def test_workspace_config_typos_are_refused_or_warned(tmp_path, caplog):
    (tmp_path / "mfv2bench.toml").write_text('[paths]\nreslts = "elsewhere"\n')
    with pytest.raises(ConfigError, match=r"unknown key\(s\) reslts in \[paths\]"):
        load_workspace(str(tmp_path))
    (tmp_path / "mfv2bench.toml").write_text('[path]\nresults = "elsewhere"\n')
    with caplog.at_level(logging.WARNING, logger="mfv2bench"):
        ws = load_workspace(str(tmp_path))
    assert ws.results_dir == (tmp_path / "results").resolve()
    assert "section(s) path are not used" in caplog.text
