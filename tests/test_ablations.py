"""The ablation table (issue 16 item 5): its definition is validated with errors naming the file
and line, claims are judged by a stated rule on paired tests of hand-made per-sequence scores,
and ``mfv2bench ablations`` runs end to end on two tiny synthetic sequences with the shipped
micro specs."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from mfv2bench import app
from mfv2bench.app import ablation as ablation_mod
from mfv2bench.app.ablation import LatencyOptions, run_ablations
from mfv2bench.app.ablation_table import (INCONCLUSIVE, NOT_REPRODUCED, REPRODUCED, Claim,
                                          judge, load_table, oriented)
from mfv2bench.cli import main
from mfv2bench.datasets.registry import load_split
from mfv2bench.errors import ConfigError
from mfv2bench.metrics.stats import paired_test
from mfv2bench.results.store import ResultsStore
from mfv2bench.workspace import load_workspace

REPO = Path(__file__).resolve().parents[1]
SPECS = ["mfv2-micro", "mfv2-micro-direct"]

GOOD = """
name = "t"
reference = "mfv2-micro"
[[row]]
spec = "mfv2-micro"
label = "full"
ablates = "reference"
[[row]]
spec = "mfv2-micro-direct"
label = "direct"
ablates = "no distillation"
[[claim]]
name = "distillation helps"
a = "mfv2-micro"
b = "mfv2-micro-direct"
direction = "better"
[[claim]]
name = "direct keeps"
a = "mfv2-micro-direct"
b = "mfv2-micro"
direction = "keeps"
margin = 2.0
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "table.toml"
    path.write_text(text)
    return path


# --- the definition ----------------------------------------------------------------------------

def test_a_good_definition_loads(tmp_path):
    t = load_table(_write(tmp_path, GOOD), SPECS)
    assert t.name == "t" and t.reference == "mfv2-micro" and t.specs == SPECS
    assert [c.direction for c in t.claims] == ["better", "keeps"]
    assert t.claims[1].margin == 2.0 and t.claims[0].metric == "auc"
    assert "not comparable to published numbers" in t.note


def test_the_shipped_table_is_consistent():
    """recipes/micro-ablations-table.toml: every claim names two of its rows; the reference is
    a row (the specs themselves are the lead's exports, so they are taken as known here)."""
    path = REPO / "recipes" / "micro-ablations-table.toml"
    specs = [line.split('"')[1] for line in path.read_text().splitlines()
             if line.startswith("spec = ")]
    t = load_table(path, specs)
    assert t.reference == "mfv2-micro-noupdate" and len(t.claims) == 7
    assert all((REPO / "trackers" / f"{s}.toml").is_file() for s in specs)
    assert {c.direction for c in t.claims} == {"better", "keeps"}


@pytest.mark.parametrize("edit, words", [
    (('spec = "mfv2-micro-direct"', 'spec = "mfv2-micro-nope"'),
     ["unknown tracker spec 'mfv2-micro-nope'", ":9:"]),
    (('direction = "better"', 'direction = "worse"'),
     ["direction 'worse' is not one of better, keeps", ":16:"]),
    (('b = "mfv2-micro-direct"', 'b = "mfv2-micro-x"'),
     ["b = 'mfv2-micro-x' is not the spec of a [[row]]", ":15:"]),
    (('reference = "mfv2-micro"', 'reference = "csrt"'), ["reference 'csrt'", ":3:"]),
    (('ablates = "reference"', 'ablates = "reference"\ncolour = "red"'),
     ["unknown key(s) colour", ":8:"]),
    (('direction = "better"', 'direction = "better"\nmargin = 1.0'),
     ["margin is for direction = \"keeps\""]),
    (('margin = 2.0', 'margin = -1.0'), ["margin must be a number"]),
])
def test_bad_definitions_name_the_file_and_line(tmp_path, edit, words):
    old, new = edit
    assert old in GOOD
    path = _write(tmp_path, GOOD.replace(old, new, 1))
    with pytest.raises(ConfigError) as err:
        load_table(path, SPECS + ["csrt"])
    message = str(err.value)
    assert message.startswith(str(path))
    for w in words:
        assert w in message, message


def test_unreadable_and_empty_definitions(tmp_path):
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_table(_write(tmp_path, "name = \n"), SPECS)
    with pytest.raises(ConfigError, match=r"needs \[\[row\]\]"):
        load_table(_write(tmp_path, 'name = "x"\n'), SPECS)
    with pytest.raises(ConfigError, match="cannot read"):
        load_table(tmp_path / "absent.toml", SPECS)


# --- the verdict rule on hand-made per-sequence scores --------------------------------------------

def _claim(direction: str, margin: float = 1.0) -> Claim:
    return Claim(name="c", a="A", b="B", direction=direction, metric="auc", margin=margin)


B = np.array([0.50, 0.62, 0.41, 0.70, 0.55, 0.48, 0.66, 0.59, 0.52, 0.61])


def _judge(direction: str, a: np.ndarray, b: np.ndarray = B, margin: float = 1.0):
    return judge(_claim(direction, margin), paired_test("A", "B", "auc", a, b), alpha=0.05)


def test_better_reproduced_when_significantly_higher():
    v = _judge("better", B + 0.04)  # every one of 10 sequences higher: exact p = 2/1024
    assert v.verdict == REPRODUCED
    assert v.p_value == pytest.approx(2 / 1024) and v.diff == pytest.approx(0.04)
    assert "+4.00 points" in v.why and "< alpha 0.05" in v.why


def test_better_not_reproduced_when_not_higher():
    v = _judge("better", B - 0.03)
    assert v.verdict == NOT_REPRODUCED and "significantly worse" in v.why
    v = _judge("better", B.copy())  # a tie is not "better" either
    assert v.verdict == NOT_REPRODUCED and v.p_value == 1.0


def test_better_inconclusive_when_ahead_but_not_significant():
    d = np.array([0.05, -0.04, 0.03, -0.02, 0.04, -0.03, 0.02, -0.01, 0.01, -0.02])
    v = _judge("better", B + d)  # mean +0.3 points, signs mixed
    assert v.diff == pytest.approx(0.003) and v.p_value > 0.05
    assert v.verdict == INCONCLUSIVE


def test_better_with_too_few_sequences_says_why():
    v = judge(_claim("better"), paired_test("A", "B", "auc", B[:3] + 0.2, B[:3]), alpha=0.05)
    assert v.verdict == INCONCLUSIVE and v.p_value == pytest.approx(0.25)
    assert "no p below 0.25 is possible" in v.why


def test_keeps_by_non_inferiority():
    small = np.array([0.001, -0.002, 0.0, 0.002, -0.001, 0.001, -0.001, 0.0, 0.002, -0.002])
    v = _judge("keeps", B + small, margin=1.0)
    assert v.verdict == REPRODUCED and v.ci_low > -0.01 and v.margin == 1.0
    v = _judge("keeps", B - 0.03, margin=1.0)  # 3 points lower
    assert v.verdict == NOT_REPRODUCED and "more than 1 points" in v.why
    wide = np.array([0.04, -0.05, 0.03, -0.04, 0.02, -0.03, 0.01, -0.02, 0.03, -0.04])
    v = _judge("keeps", B + wide, margin=1.0)  # mean -0.5 points, CI below -1
    assert v.diff > -0.01 and v.ci_low < -0.01
    assert v.verdict == INCONCLUSIVE
    v = _judge("keeps", B - 0.03, margin=5.0)  # a wider stated margin
    assert v.verdict == REPRODUCED


def test_oriented_flips_a_test_and_judge_checks_sides():
    t = paired_test("B", "A", "auc", B, B + 0.04)
    o = oriented(t, "A", "B")
    assert o.diff == pytest.approx(0.04) and o.ci_low == pytest.approx(-t.ci_high)
    assert o.p_value == t.p_value and (o.score_a, o.score_b) == (t.score_b, t.score_a)
    assert judge(_claim("better"), o, 0.05).verdict == REPRODUCED
    with pytest.raises(ValueError):
        judge(_claim("better"), t, 0.05)
    with pytest.raises(ValueError):
        oriented(t, "A", "C")


# --- the flow ------------------------------------------------------------------------------------

@pytest.fixture
def micro_ws(workspace):
    """A workspace with the two shipped micro specs, their checkpoints (linked) and two tiny
    synthetic LaSOT test sequences."""
    for name in ("_mfv2", "mfv2-micro-noupdate", *SPECS):  # -direct extends -noupdate
        shutil.copy(REPO / "trackers" / f"{name}.toml", workspace / "trackers" / f"{name}.toml")
    (workspace / "checkpoints").rmdir()
    os.symlink(REPO / "checkpoints", workspace / "checkpoints")
    app.synthesize("lasot", sequences=2, frames=8, workspace=workspace)
    _write(workspace, GOOD)
    return workspace


class _FakeRun:
    def __init__(self, split):
        self.split = split
        self.ok = True
        self.finished_sequences = [s.name for s in split.sequences]
        self.split_key = split.key
        self.errors_log = None

    def summary(self):
        return {"ran": len(self.split.sequences), "skipped": 0, "failed": []}


def _fake_eval(offsets: dict[str, float]):
    """A stand-in for the runner: writes each tracker's boxes as the GT moved right by
    ``offsets[tracker]`` widths (frame 1 exact)."""
    def run_eval(tracker, dataset, split=None, workspace=None, results_dir=None, root=None,
                 **_kw):
        data = load_split(dataset, split=split, root=root, workspace=workspace)
        store = ResultsStore(results_dir)
        for s in data.sequences:
            boxes = np.asarray(s.gt, dtype=float).copy()
            boxes[1:, 0] += offsets[tracker] * boxes[1:, 2]
            store.write_sequence(tracker, data.key, s.name, boxes, [0.01] * len(boxes))
        return _FakeRun(data)
    return run_eval


def test_flow_scores_judges_and_writes(micro_ws, monkeypatch):
    """Runner stubbed (exact boxes for the reference, half a width off for the other), no
    latency: scores, paired tests, verdicts, sidecars and the three files."""
    monkeypatch.setattr(ablation_mod, "run_eval",
                        _fake_eval({"mfv2-micro": 0.0, "mfv2-micro-direct": 0.5}))
    ws = load_workspace(micro_ws)
    result = run_ablations(micro_ws / "table.toml", ws, latency=LatencyOptions(enabled=False))
    body = result.to_json()
    rows = {r["spec"]: r for r in body["rows"]}
    assert rows["mfv2-micro"]["reference"] and not rows["mfv2-micro-direct"]["reference"]
    assert rows["mfv2-micro"]["scores"]["auc"] > rows["mfv2-micro-direct"]["scores"]["auc"]
    d = rows["mfv2-micro-direct"]["vs_reference"]["auc"]
    assert d["diff"] == pytest.approx(rows["mfv2-micro-direct"]["scores"]["auc"]
                                      - rows["mfv2-micro"]["scores"]["auc"])
    assert d["p"] == pytest.approx(0.5)  # 2 sequences: the smallest two-sided p
    assert rows["mfv2-micro"]["training"]["stage"] == "score"
    assert rows["mfv2-micro"]["training"]["val_iou"] > 0
    assert rows["mfv2-micro"]["latency_ms"] is None and not body["latency"]["measured"]
    claims = {c["claim"]: c for c in body["claims"]}
    assert claims["distillation helps"]["verdict"] == INCONCLUSIVE  # ahead, 2 sequences
    assert claims["direct keeps"]["verdict"] == NOT_REPRODUCED
    folder = micro_ws / "reports" / "ablations" / "t"
    assert set(result.files.values()) == {folder / "ablations.md", folder / "index.html",
                                          folder / "ablations.json"}
    md = (folder / "ablations.md").read_text()
    assert "not comparable to published numbers" in md.lower()
    assert "| full (`mfv2-micro`) | reference |" in md and "NOT reproduced" in md
    assert "<table>" in (folder / "index.html").read_text()
    assert json.loads((folder / "ablations.json").read_text())["claims"][1]["verdict"] \
        == NOT_REPRODUCED


def test_missing_checkpoint_is_refused_before_any_run(micro_ws, monkeypatch):
    (micro_ws / "checkpoints").unlink()
    (micro_ws / "checkpoints").mkdir()
    monkeypatch.setattr(ablation_mod, "run_eval", lambda *a, **k: pytest.fail("ran"))
    with pytest.raises(ConfigError, match="checkpoint not found"):
        run_ablations(micro_ws / "table.toml", load_workspace(micro_ws))


@pytest.mark.slow
def test_command_end_to_end_with_the_micro_specs(micro_ws):
    """The real runner, scoring and latency on 2 tiny sequences; a rerun resumes."""
    runner = CliRunner()
    res = runner.invoke(main, ["ablations", str(micro_ws / "table.toml"), "--latency-iters", "3"])
    assert res.exit_code == 0, res.output
    assert "not comparable to published numbers" in res.output.lower()
    assert "## Claims" in res.output
    body = json.loads((micro_ws / "reports" / "ablations" / "t" / "ablations.json").read_text())
    for row in body["rows"]:
        assert row["params"] > 0 and row["flops"] > 0 and row["latency_ms"] > 0
        assert row["sequences"] == 2
    assert body["latency"]["threads"] == 1
    assert {c["verdict"] for c in body["claims"]} <= {REPRODUCED, NOT_REPRODUCED, INCONCLUSIVE}
    again = runner.invoke(main, ["ablations", str(micro_ws / "table.toml"), "--no-latency",
                                 "--json"])
    assert again.exit_code == 0, again.output
    assert json.loads(again.output[again.output.index("{"):])["eval"]["mfv2-micro"] == \
        {"ran": 0, "already_complete": 2, "failed": []}


def test_rerun_names_rows_only(micro_ws, monkeypatch):
    monkeypatch.setattr(ablation_mod, "run_eval", lambda *a, **k: pytest.fail("ran"))
    with pytest.raises(ConfigError, match="rerun: csrt not a row"):
        run_ablations(micro_ws / "table.toml", load_workspace(micro_ws), rerun=["csrt"])


def test_skip_missing_leaves_out_rows_not_exported_yet(micro_ws, monkeypatch):
    """A row whose spec does not exist yet (and its claim) is listed, not fatal, when asked."""
    table = micro_ws / "table.toml"
    table.write_text(GOOD + '[[row]]\nspec = "mfv2-micro-later"\nlabel = "later"\n'
                            '[[claim]]\nname = "later helps"\na = "mfv2-micro-later"\n'
                            'b = "mfv2-micro"\ndirection = "better"\n')
    ws = load_workspace(micro_ws)
    with pytest.raises(ConfigError, match="unknown tracker spec 'mfv2-micro-later'"):
        run_ablations(table, ws, latency=LatencyOptions(enabled=False))
    monkeypatch.setattr(ablation_mod, "run_eval",
                        _fake_eval({"mfv2-micro": 0.0, "mfv2-micro-direct": 0.5}))
    result = run_ablations(table, ws, latency=LatencyOptions(enabled=False), skip_missing=True)
    body = result.to_json()
    assert [r["spec"] for r in body["rows"]] == SPECS
    assert body["unavailable"][0]["spec"] == "mfv2-micro-later"
    assert [c["claim"] for c in body["claims"]] == ["distillation helps", "direct keeps",
                                                   "later helps"]
    assert body["claims"][2]["verdict"] == "not evaluated"
    assert "no tracker spec trackers/mfv2-micro-later.toml" in body["claims"][2]["why"]
    assert "Not in this table yet: later (`mfv2-micro-later`" in result.markdown
