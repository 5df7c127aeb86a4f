"""``mfv2bench datasets list|inspect|synth`` as a user runs them."""

from __future__ import annotations

import json

from click.testing import CliRunner

from mfv2bench.cli import main


def _run(*args: str):
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result


def test_synth_then_inspect_json_schema(workspace):
    out = workspace / "syn"
    r = _run("datasets", "synth", "--format", "lasot", "--out", str(out), "--sequences", "2",
             "--frames", "5", "--seed", "4", "--size", "64x48")
    assert r.exit_code == 0, r.output
    r = _run("datasets", "inspect", "synthetic-lasot", "--root", str(out), "--json")
    assert r.exit_code == 0, r.output
    records = json.loads(r.output)
    assert len(records) == 2
    for rec in records:
        assert set(rec) == {"name", "n_frames", "frames", "gt", "visible"}
        assert rec["n_frames"] == 5 and len(rec["frames"]) == 5 and len(rec["gt"]) == 5
        assert rec["frames"][0].endswith(f"{rec['name']}/img/00000001.jpg")
        assert all(len(row) == 4 for row in rec["gt"])
        assert rec["visible"] == [True] * 5
    one = records[1]["name"]
    r = _run("datasets", "inspect", "lasot", "--root", str(out), "--sequences", one, "--json")
    assert [x["name"] for x in json.loads(r.output)] == [one]


def test_inspect_first_frame_only_and_null_visible(workspace):
    out = workspace / "tn"
    assert _run("datasets", "synth", "--format", "trackingnet", "--out", str(out),
                "--sequences", "1", "--frames", "4", "--size", "48x48").exit_code == 0
    r = _run("datasets", "inspect", "synthetic-trackingnet", "--root", str(out), "--json")
    (rec,) = json.loads(r.output)
    assert rec["n_frames"] == 4 and len(rec["gt"]) == 1 and rec["visible"] is None
    assert [f.rsplit("/", 1)[1] for f in rec["frames"]] == ["0.jpg", "1.jpg", "2.jpg", "3.jpg"]
    r = _run("datasets", "inspect", "synthetic-trackingnet", "--root", str(out),
             "--split", "train_0")
    assert r.exit_code == 0 and "synthetic-trackingnet-train_0: 1 of 1" in r.output


def test_errors_are_one_line_with_exit_2(workspace):
    r = CliRunner().invoke(main, ["datasets", "inspect", "lasot"])
    assert r.exit_code == 2
    assert r.output.startswith("error: lasot root not found") and "Traceback" not in r.output
    out = workspace / "g"
    _run("datasets", "synth", "--format", "got10k", "--out", str(out), "--sequences", "1",
         "--frames", "3", "--size", "48x48")
    r = CliRunner().invoke(main, ["datasets", "inspect", "synthetic-got10k", "--root", str(out),
                                  "--sequences", "GOT-10k_Val_000001,GOT-10k_Val_000009"])
    assert r.exit_code == 2 and "GOT-10k_Val_000009" in r.output


def test_list_and_default_synth_root(workspace):
    r = _run("datasets", "synth", "--format", "got10k", "--sequences", "1", "--frames", "3",
             "--size", "48x48")
    assert r.exit_code == 0
    r = _run("datasets", "list", "--json")
    rows = {x["name"]: x for x in json.loads(r.output)}
    assert rows["synthetic-got10k"]["found"] is True
    assert rows["synthetic-got10k"]["root"] == str(workspace / "datasets" / "synthetic" / "got10k")
    assert rows["got10k"]["found"] is False
    r = _run("datasets", "list")
    assert "synthetic-got10k" in r.output and "missing" in r.output
