"""The demo's orchestration with the runner replaced by a stand-in that writes results: which
trackers run or are skipped (and why), failures reported, the report written."""

from __future__ import annotations

import types
from pathlib import Path

from click.testing import CliRunner
from report_samples import write_store_results

from mfv2bench.app import demo
from mfv2bench.cli import main
from mfv2bench.errors import InputError


def _fake_runner(monkeypatch, calls):
    def run_eval(tracker, dataset, workspace=None, jobs=None, progress=True, **kwargs):
        from mfv2bench.datasets.registry import load_split

        calls.append((tracker, dataset, jobs))
        if tracker == "broken":
            raise InputError("tracker exploded", path="x.toml", line=3)
        split = load_split(dataset, workspace=workspace)
        write_store_results(workspace.results_dir, tracker, split, noise=2.0 + 10 * len(calls),
                            manifest={"tracker": tracker, "complete": True, "workers": jobs})
        return types.SimpleNamespace(failed=[])

    monkeypatch.setattr(demo, "run_eval", run_eval)


def _specs(folder: Path):
    for name, algorithm in (("alpha", "kcf"), ("beta", "mil"), ("broken", "csrt")):
        (folder / f"{name}.toml").write_text(f'kind = "opencv"\ndescription = "test"\n[params]\nalgorithm = "{algorithm}"\n')
    (folder / "mfv2-b.toml").write_text('kind = "mixformerv2"\n[model]\nvariant = "base"\n'
                                        'checkpoint = "checkpoints/mixformerv2_base.pth.tar"\n')


def test_demo_flow(workspace, monkeypatch):
    calls = []
    _fake_runner(monkeypatch, calls)
    _specs(workspace / "trackers")
    res = CliRunner().invoke(main, ["demo", "--sequences", "2", "--frames", "12", "--no-speed",
                                    "--trackers", "alpha,mfv2-b,broken,beta,ghost", "--jobs", "2"])
    # a tracker failed (broken) and a named one has no spec (ghost): exit 1, report still written
    assert res.exit_code == 1, res.output
    assert "error: 2 tracker(s) failed: broken, ghost" in res.output
    assert [c[0] for c in calls] == ["alpha", "broken", "beta"]
    assert all(c[1] == "synthetic-lasot" and c[2] == 2 for c in calls)
    out = res.output
    assert "wrote synthetic LaSOT-format data set" in out
    assert "skip mfv2-b: checkpoint not found" in out and "checkpoints/mixformerv2_base.pth.tar" in out
    assert "failed ghost: no usable tracker spec" in out
    assert "failed broken: x.toml:3: tracker exploded" in out
    assert "ran: alpha, beta" in out
    html = (workspace / "reports" / "demo" / "index.html").read_text()
    assert "skipped mfv2-b: checkpoint not found" in html and "failed broken" in html
    assert 'id="plot-success"' in html and (workspace / "reports" / "demo" / "report.pdf").is_file()
    assert "alpha" in html and "beta" in html
