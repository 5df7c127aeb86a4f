"""The notebook API (``from mfv2bench import app``): a spec and a Python tracker object run through
the same runner and store, then analyze and report; the object's identity guards its results."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from mfv2bench import app
from mfv2bench.errors import ConfigError
from mfv2bench.trackers.base import TrackOutput
from runner_helpers import make_synthetic

REPO_TRACKERS = Path(__file__).resolve().parents[1] / "trackers"


class StayPut:
    """Answers the first box on every frame, as a plain array."""

    def initialize(self, image, box):
        assert image.ndim == 3 and image.dtype == np.uint8
        self.box = np.asarray(box, dtype=float)

    def track(self, image):
        return self.box


class Drifting(StayPut):
    """Returns a TrackOutput with a score, moving one pixel a frame."""

    def track(self, image):
        self.box = self.box + [1.0, 0.0, 0.0, 0.0]
        return TrackOutput(self.box.copy(), score=0.5)


@pytest.fixture
def ws(workspace):
    shutil.copy(REPO_TRACKERS / "kcf.toml", workspace / "trackers" / "kcf.toml")
    make_synthetic(workspace, "lasot", n_sequences=2, n_frames=6)
    return workspace


def test_spec_and_object_through_the_same_store(ws):
    kcf = app.evaluate("kcf", "synthetic-lasot", jobs=1)
    mine = app.evaluate(StayPut(), "synthetic-lasot", name="stay-put")
    drift = app.evaluate(Drifting(), "synthetic-lasot")  # stored under its class name
    for ev in (kcf, mine, drift):
        assert ev.ok and ev.run.complete and ev.analysis is not None
    assert drift.run.tracker == "Drifting"
    split = app.load_split("synthetic-lasot")
    folder = ws / "results" / "stay-put" / split.key
    manifest = json.loads((folder / "run.json").read_text())
    assert manifest["spec"]["kind"] == "python" and manifest["spec"]["file"] is None
    assert manifest["spec"]["spec"]["model"]["factory"].endswith(":StayPut")
    first = split.sequences[0]
    boxes = np.loadtxt(folder / f"{first.name}.txt", delimiter=",")
    assert np.allclose(boxes, first.gt[0])  # every row is the first GT box
    assert (ws / "results" / "Drifting" / split.key / f"{first.name}_scores.txt").is_file()
    assert not (folder / f"{first.name}_scores.txt").exists()  # plain boxes carry no score

    analysis = app.analyze("synthetic-lasot", ["kcf", "stay-put", "Drifting"], resamples=200)
    table = analysis.table()
    assert list(table.index) == ["kcf", "stay-put", "Drifting"]
    assert table.loc["kcf", "AUC"] > table.loc["Drifting", "AUC"]
    files = app.report("synthetic-lasot", ["kcf", "stay-put"], out=ws / "reports" / "api")
    assert files.html.is_file() and files.pdf is None
    assert "stay-put" in files.html.read_text()


def test_rerun_resumes_and_another_object_is_refused(ws):
    app.evaluate(StayPut(), "synthetic-lasot", name="mine", metrics=False)
    again = app.evaluate(StayPut(), "synthetic-lasot", name="mine", metrics=False)
    assert again.run.done == [] and len(again.run.skipped) == 2 and again.analysis is None
    with pytest.raises(ConfigError, match="results never mix"):
        app.evaluate(Drifting(), "synthetic-lasot", name="mine")
    with pytest.raises(ConfigError, match="results never mix"):
        app.evaluate(StayPut(), "synthetic-lasot", name="mine", config={"margin": 2})
    replaced = app.evaluate(Drifting(), "synthetic-lasot", name="mine", force=True)
    assert len(replaced.run.done) == 2


def test_bad_calls_are_config_errors(ws):
    with pytest.raises(ConfigError, match="track"):
        app.evaluate(object(), "synthetic-lasot", name="nothing")
    with pytest.raises(ConfigError, match="runner options"):
        app.evaluate(StayPut(), "synthetic-lasot", jobs=2)
    with pytest.raises(ConfigError, match="tracker objects"):
        app.evaluate("kcf", "synthetic-lasot", name="other")
    with pytest.raises(ConfigError):
        app.analyze("synthetic-lasot", [])
    with pytest.raises(ConfigError):
        app.synthesize("vot")


def test_synthesize_writes_once_into_the_workspace(workspace):
    name = app.synthesize("got10k", sequences=1, frames=5)
    assert name == "synthetic-got10k"
    split = app.load_split(name, workspace=workspace)
    assert len(split.sequences) == 1 and split.sequences[0].n_frames == 5
    app.synthesize("got10k", sequences=2, frames=5)  # already there: kept
    assert len(app.load_split(name).sequences) == 1
    app.synthesize("got10k", sequences=2, frames=5, overwrite=True)
    assert len(app.load_split(name).sequences) == 2


def test_workspace_argument_forms(ws):
    by_path = app.workspace(ws)
    assert app.workspace(by_path) is by_path and by_path.results_dir == ws / "results"
    assert app.load_split("synthetic-lasot", workspace=str(ws)).key == \
        app.load_split("synthetic-lasot", workspace=by_path).key
