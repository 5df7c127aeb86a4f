"""Library modules log; the CLI sends warnings to stderr (``warning: ...``), more with -v, none
with -q; configuring twice never duplicates lines."""

from __future__ import annotations

import logging

from click.testing import CliRunner

from mfv2bench.cli import main
from mfv2bench.logs import configure, level_for

log = logging.getLogger("mfv2bench.tests_probe")


def test_levels():
    assert level_for(-1) == logging.ERROR and level_for(0) == logging.WARNING
    assert level_for(1) == logging.INFO and level_for(2) == level_for(5) == logging.DEBUG


def test_configure_writes_warnings_once_to_current_stderr(capsys):
    configure()
    configure()  # replaces, never adds a second handler
    log.warning("random weights: %s", "mfv2-s")
    log.info("not shown at the default verbosity")
    err = capsys.readouterr().err
    assert err == "warning: random weights: mfv2-s\n"
    configure(1)
    log.info("now shown")
    assert capsys.readouterr().err == "now shown\n"
    configure(-1)
    log.warning("hidden")
    log.error("kept")
    assert capsys.readouterr().err == "error: kept\n"


def test_cli_verbosity_flags(workspace):
    args = ["datasets", "synth", "--format", "lasot", "--sequences", "1", "--frames", "3",
            "--size", "32x32"]
    res = CliRunner().invoke(main, ["-v", *args])
    assert res.exit_code == 0, res.output
    assert "wrote 1 synthetic lasot sequences" in res.stderr  # a library info line
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 0, res.output
    assert "synthetic lasot sequences" not in res.stderr
    assert "wrote 1 lasot-layout sequences" in res.stdout
    res = CliRunner().invoke(main, ["-q", *args])
    assert res.exit_code == 0 and res.stderr == ""
