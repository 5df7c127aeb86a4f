"""Repeated runs (issue 13): ``eval --runs N`` stores seeded runs in run folders, a run is
reproduced by its seed, analysis averages runs as each protocol's toolkit does and reports the
run-to-run spread, imports keep the run ids of pytracking and GOT-10k releases, and GOT-10k
submissions carry 3 runs."""

from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from mfv2bench.cli import main
from mfv2bench.datasets.base import DatasetSplit, Sequence
from mfv2bench.datasets.registry import load_split
from mfv2bench.errors import ConfigError, InputError, MissingDataError
from mfv2bench.metrics.analysis import analyze, analyze_store
from mfv2bench.metrics.protocols import get_protocol
from mfv2bench.metrics.text import analysis_text
from mfv2bench.report.build import overall_from_analysis
from mfv2bench.report.model import ReportModel
from mfv2bench.report.views import overall_view
from mfv2bench.results.importer import SplitSequences, import_results
from mfv2bench.results.layout import (parse_repeat_name, repeat_folder, repeat_ids, repeat_key,
                                      repeat_name)
from mfv2bench.results.readers import find_run_folders, locate_results, read_results
from mfv2bench.runner.evaluate import run_eval
from mfv2bench.runner.seeding import run_seed, seed_everything, sequence_seed
from mfv2bench.runner.sequence import run_sequence
from mfv2bench.submit import pack_submission
from mfv2bench.trackers.opencv import OpenCVTracker
from mfv2bench.workspace import load_workspace
from runner_helpers import make_synthetic

REPO_TRACKERS = Path(__file__).resolve().parents[1] / "trackers"


@pytest.fixture
def ws(workspace):
    for name in ("kcf.toml", "mil.toml"):
        shutil.copy(REPO_TRACKERS / name, workspace / "trackers" / name)
    make_synthetic(workspace, "lasot", n_sequences=2, n_frames=5)
    return workspace


def _eval(ws_root: Path, tracker: str = "mil", **kw):
    """An in-process eval (the spec's tracker object built here: no worker processes)."""
    algorithm = "mil" if tracker == "mil" else "kcf"
    return run_eval(tracker, "synthetic-lasot", workspace=load_workspace(ws_root), jobs=1,
                    progress=False, tracker_object=OpenCVTracker(algorithm), **kw)


def _boxes(folder: Path, names) -> dict[str, bytes]:
    return {n: (folder / f"{n}.txt").read_bytes() for n in names}


# -- layout and seeds ------------------------------------------------------------------------------

def test_layout_run_folders_and_keys(tmp_path):
    assert repeat_key("lasot-test", 0) == "lasot-test"
    assert repeat_key("lasot-test", 2) == "lasot-test/run_002"
    assert repeat_name(1) == "run_001" and parse_repeat_name("run_001") == 1
    assert parse_repeat_name("run_000") is None and parse_repeat_name("dimp_001") is None
    with pytest.raises(ValueError):
        repeat_name(0)
    folder = repeat_folder(tmp_path, "t", "x-test", 0)
    assert repeat_ids(folder) == []
    (folder / "run_002").mkdir(parents=True)
    (folder / "run_001").mkdir()
    (folder / "notes").mkdir()
    assert repeat_ids(folder) == [0, 1, 2]


def test_sequence_seeds_are_stable_and_distinct():
    assert run_seed(0, 2) == 2 and run_seed(10, 0) == 10
    a = sequence_seed(0, "airplane-1")
    assert a == sequence_seed(0, "airplane-1") and 0 <= a < 2 ** 31
    assert len({sequence_seed(r, n) for r in range(3) for n in ("a", "b", "c")}) == 9


def test_seeding_makes_opencv_mil_reproducible(ws):
    """MIL draws from C rand() and cv::theRNG: unseeded runs may differ, seeded ones never."""
    seq = load_split("synthetic-lasot", workspace=load_workspace(ws)).sequences[0]
    tracker = OpenCVTracker("mil")
    outs = {}
    for seed in (3, 3, 4):
        seeded = seed_everything(seed)
        outs.setdefault(seed, []).append(run_sequence(tracker, seq).boxes)
    assert {"random", "numpy", "cv2.setRNGSeed", "libc srand"} <= set(seeded)
    np.testing.assert_array_equal(outs[3][0], outs[3][1])


# -- eval --runs ---------------------------------------------------------------------------------

@pytest.mark.slow  # four MIL evals (about 1 s quiet, over 2 s on a loaded machine)
def test_eval_two_runs_seeded_and_run_zero_reproduced(ws, tmp_path):
    run = _eval(ws, runs=2)
    names = run.finished_sequences
    assert len(names) == 2 and run.complete and run.ok
    folder = run.folder
    assert repeat_ids(folder) == [0, 1]
    second = folder / "run_001"
    for n in names:  # the same files in each run folder
        assert (second / f"{n}.txt").is_file() and (second / f"{n}_time.txt").is_file()
    m0 = json.loads((folder / "run.json").read_text())
    m1 = json.loads((second / "run.json").read_text())
    assert (m0["run_id"], m0["seed"]["run"], m0["seed"]["base"]) == (0, 0, 0)
    assert (m1["run_id"], m1["seed"]["run"]) == (1, 1)
    assert "libc srand" in m1["seed"]["generators"] and m1["split_key"] == m0["split_key"]
    assert [r["seed"] for r in run.summary()["runs"]] == [0, 1]
    runs = [_boxes(folder, names), _boxes(second, names)]
    assert runs[0] != runs[1]  # MIL is stochastic: the two seeds give other boxes
    # rerunning run 0 (a fresh store) reproduces its boxes byte for byte ...
    again = _eval(ws, runs=1, results_dir=tmp_path / "again")
    assert _boxes(again.folder, names) == runs[0]
    # ... and run 0 of --seed 1 is run 1 of --seed 0 (run seed = seed + run id)
    shifted = _eval(ws, runs=1, seed=1, results_dir=tmp_path / "shifted")
    assert _boxes(shifted.folder, names) == runs[1]


def test_single_run_is_stored_exactly_as_before(ws):
    run = _eval(ws)
    names = run.finished_sequences
    assert sorted(p.name for p in run.folder.iterdir() if p.name != ".lock") == sorted(
        [f"{n}.txt" for n in names] + [f"{n}_time.txt" for n in names] + ["run.json"])
    assert run.repeats == [] and repeat_ids(run.folder) == [0]
    m = json.loads((run.folder / "run.json").read_text())
    assert m["run_id"] == 0 and m["seed"]["run"] == 0 and m["format"] == 1


def test_deterministic_tracker_runs_are_equal(ws):
    run = _eval(ws, tracker="kcf", runs=2)
    names = run.finished_sequences
    assert _boxes(run.folder, names) == _boxes(run.folder / "run_001", names)
    a = analyze_store(run.split, ["kcf"], run.results_dir, n_resamples=50)
    assert a.runs_of("kcf") == 2 and a.run_spread("kcf", "auc") == 0.0


def test_runs_resume_refuse_other_seeds_and_force_clears(ws):
    first = _eval(ws, "kcf", runs=2)
    again = _eval(ws, "kcf", runs=2)  # everything complete: nothing runs again
    assert not again.done and all(not r.done for r in again.repeats)
    assert sorted(again.repeats[0].skipped) == sorted(first.finished_sequences)
    with pytest.raises(ConfigError, match="seed"):
        _eval(ws, "kcf", runs=2, seed=7)
    forced = _eval(ws, "kcf", runs=1, seed=7, force=True)
    assert repeat_ids(forced.folder) == [0]  # run_001 of the old seeds removed
    with pytest.raises(ConfigError, match="--runs"):
        _eval(ws, "kcf", runs=0)


@pytest.mark.slow  # end-to-end through the CLI and a worker process (> 1 s)
def test_cli_eval_runs_in_worker_processes(ws):
    res = CliRunner().invoke(main, ["eval", "-t", "mil", "-d", "synthetic-lasot", "-j", "1",
                                    "--runs", "2", "--seed", "5"])
    assert res.exit_code == 0, res.output
    assert "2 runs (seeds 5, 6)" in res.output and "AUC run SD" in res.output
    folder = ws / "results" / "mil" / "synthetic-lasot-test"
    names = [p.name[:-4] for p in folder.glob("*.txt") if not p.name.endswith("_time.txt")]
    # the in-process eval with the same seeds gives the worker's boxes
    local = _eval(ws, runs=2, seed=5, results_dir=ws / "local")
    assert _boxes(local.folder, names) == _boxes(folder, names)
    assert _boxes(local.folder / "run_001", names) == _boxes(folder / "run_001", names)


# -- analysis: averaging as the toolkits do, checked by hand -------------------------------------

GT = np.array([[10.0, 10.0, 20.0, 20.0]] * 5)
FAR = np.array([[10.0, 10.0, 20.0, 20.0]] + [[60.0, 60.0, 20.0, 20.0]] * 4)  # IoU 0 after frame 1
HALF = np.array([[10.0, 10.0, 20.0, 20.0]] + [[10.0, 10.0, 20.0, 10.0]] * 4)  # IoU 0.5 after frame 1


def _handmade() -> DatasetSplit:
    seqs = [Sequence(name=n, dataset="handmade", split="test",
                     frames=[Path(f"/nowhere/{n}/{i}.jpg") for i in range(5)], gt=GT.copy(),
                     cover=np.full(5, 8), image_size=(100, 100))
            for n in ("a", "b")]
    return DatasetSplit("handmade", "test", Path("/nowhere"), seqs, expected=2)


def test_mean_curves_average_matches_hand_computation():
    """pytracking merge_results=True (and the mixformerv2 protocol): each sequence's success
    curve is the mean of its runs' curves; AUC is the mean over sequences of the curve's mean."""
    split = _handmade()
    results = {"t": {"a": [GT.copy(), FAR], "b": [GT.copy(), GT.copy()]}}
    a = analyze(split, results, protocol="mixformerv2-nolabels", n_resamples=50, pairwise=False)
    exact = 20 / 21  # IoU 1 passes every threshold but 1.0 ('>')
    far = (1 / 5) * 20 / 21  # only frame 1 (= GT) passes
    per_run = [exact, (far + exact) / 2]  # run 0 then run 1, averaged over the two sequences
    assert a.score("t", "auc") == pytest.approx(((exact + far) / 2 + exact) / 2, abs=1e-6)
    assert a.runs_of("t") == 2
    assert a.run_scores["t"]["auc"] == pytest.approx(per_run, abs=1e-6)
    assert a.run_spread("t", "auc") == pytest.approx(abs(per_run[0] - per_run[1]) / np.sqrt(2),
                                                     abs=1e-6)
    table = a.table()
    assert table.loc["t", "runs"] == 2 and table.loc["t", "AUC run SD"] == pytest.approx(
        100 * a.run_spread("t", "auc"), abs=1e-4)
    text = analysis_text(a)
    assert "AUC run SD" in text and "merge_results=True" in text
    overall, labels = overall_from_analysis(a)  # the report's table: spread beside the CI
    model = ReportModel("r", "handmade", "handmade-test", ["t"], a.protocol, a.protocol_hash, "now",
                        overall=overall, overall_metrics=labels)
    cell = overall_view(model).rows[0].cells[1].text
    assert cell.endswith(f"±{100 * a.run_spread('t', 'auc'):.2f} SD over 2 runs"), cell


def test_pool_frames_average_matches_hand_computation():
    """GOT-10k: the IoUs of every frame (first dropped) of every run and sequence are pooled."""
    split = _handmade()
    results = {"t": {"a": [GT.copy(), HALF, FAR], "b": [HALF, HALF, HALF]}}
    a = analyze(split, results, protocol="got10k-val", n_resamples=50, pairwise=False)
    # 4 counted frames per run: a -> 1,0.5,0 ; b -> 0.5,0.5,0.5 (IoU of HALF = 200/400)
    pooled = (4 * 1.0 + 4 * 0.5 + 4 * 0.0 + 12 * 0.5) / 24
    assert a.score("t", "ao") == pytest.approx(pooled, abs=1e-9)
    assert a.score("t", "sr50") == pytest.approx(4 / 24, abs=1e-9)  # only IoU 1 is > 0.5
    per_run_ao = [(1.0 + 0.5) / 2, (0.5 + 0.5) / 2, (0.0 + 0.5) / 2]
    assert a.run_scores["t"]["ao"] == pytest.approx(per_run_ao, abs=1e-9)
    assert a.run_spread("t", "ao") == pytest.approx(float(np.std(per_run_ao, ddof=1)), abs=1e-9)
    assert get_protocol("got10k-val").runs == "pool-frames"
    assert "pooled (as the GOT-10k toolkit does)" in analysis_text(a)


def test_single_runs_show_no_spread():
    a = analyze(_handmade(), {"t": {"a": GT.copy(), "b": FAR}}, protocol="mixformerv2-nolabels",
                n_resamples=20, pairwise=False)
    assert a.runs_of("t") == 1 and a.run_spread("t", "auc") is None
    assert "run SD" not in analysis_text(a) and "run SD" not in " ".join(a.table().columns)


# -- readers: run folders ------------------------------------------------------------------------

def _write(path: Path, rows: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savetxt(path, rows, delimiter=",", fmt="%.3f")


def test_readers_find_store_and_pytracking_run_folders(tmp_path):
    store = tmp_path / "store"
    _write(store / "a.txt", GT)
    _write(store / "run_001" / "a.txt", FAR)
    (store / "run_001" / "a_time.txt").write_text("0.1\n" * 5)
    (store / "a_time.txt").write_text("0.2\n" * 5)
    assert find_run_folders(store, ["a"]) == ["", "run_001/"]
    raw = read_results(store, {"a": 5}, cache=False)["a"]
    assert len(raw.runs) == 2 and np.allclose(raw.runs[1], FAR)
    assert raw.times.shape == (5, 2) and np.allclose(raw.times[:, 1], 0.1)
    py = tmp_path / "dimp"
    for r in range(3):
        _write(py / f"dimp50_{r:03d}" / "a.txt", GT + r)
    files = locate_results(py, ["a"])
    assert files.runs["a"] == [f"dimp50_{r:03d}/a.txt" for r in range(3)]
    assert [float(b[1, 0]) for b in read_results(py, ["a"], cache=False)["a"].runs] == [10, 11, 12]
    _write(py / "dimp18_000" / "a.txt", GT)
    with pytest.raises(InputError, match="parameter sets"):
        locate_results(py, ["a"])
    _write(store / "b.txt", GT)  # run_001 lacks b: an unfinished repeated run
    with pytest.raises(MissingDataError, match="run_001"):
        locate_results(store, ["a", "b"])


# -- import keeps run ids ----------------------------------------------------------------------

def _shape(ws_root: Path) -> SplitSequences:
    data = load_split("synthetic-lasot", workspace=load_workspace(ws_root))
    return SplitSequences(data.dataset, data.split, data.key,
                          {s.name: s.n_frames for s in data.sequences}, data.expected,
                          gt={s.name: s.gt for s in data.sequences})


def test_import_pytracking_run_folders_keeps_run_ids(ws, tmp_path):
    split = load_split("synthetic-lasot", workspace=load_workspace(ws))
    rel = tmp_path / "release" / "DiMP" / "lasot"  # wrapped, odd spellings, 5 runs
    for r in range(5):
        for s in split.sequences:
            shifted = np.asarray(s.gt, dtype=float) + [r, 0, 0, 0]
            _write(rel / f"dimp50_{r:03d}" / f"{s.name.upper().replace('-', '_')}.txt", shifted)
    res = import_results(tmp_path / "release", "dimp", _shape(ws), ws / "results")
    assert set(res.renamed.values()) == {s.name for s in split.sequences}
    assert not res.outside
    folder = ws / "results" / "dimp" / split.key
    assert repeat_ids(folder) == [0, 1, 2, 3, 4]
    m = json.loads((folder / "run.json").read_text())
    assert m["runs_imported"] == 5 and m["source_run_ids"][:2] == ["dimp50_000", "dimp50_001"]
    m3 = json.loads((folder / "run_003" / "run.json").read_text())
    assert m3["run_id"] == 3 and m3["source_run_id"] == "dimp50_003" and m3["imported"]
    s0 = split.sequences[0]
    got = np.loadtxt(folder / "run_003" / f"{s0.name}.txt", delimiter=",")
    np.testing.assert_allclose(got[:, 0], np.asarray(s0.gt)[:, 0] + 3)
    a = analyze_store(split, ["dimp"], ws / "results", n_resamples=50)
    assert a.runs_of("dimp") == 5 and len(a.run_scores["dimp"]["auc"]) == 5


def test_import_got10k_run_files_keeps_three_runs(workspace, tmp_path):
    make_synthetic(workspace, "got10k", n_sequences=2, n_frames=6)
    wsp = load_workspace(workspace)
    split = load_split("synthetic-got10k-val", workspace=wsp)
    src = tmp_path / "got" / "SiamFC"
    for s in split.sequences:
        gt = np.asarray(s.gt, dtype=float)
        for r in range(3):
            _write(src / s.name / f"{s.name}_{r + 1:03d}.txt", gt + [0, r, 0, 0])
        times = np.column_stack([np.full(s.n_frames, 0.01 * (r + 1)) for r in range(3)])
        np.savetxt(src / s.name / f"{s.name}_time.txt", times, delimiter=",", fmt="%.8f")
    shape = SplitSequences(split.dataset, split.split, split.key,
                           {s.name: s.n_frames for s in split.sequences}, split.expected)
    res = import_results(src, "siamfc", shape, workspace / "results")
    folder = workspace / "results" / "siamfc" / split.key
    assert repeat_ids(folder) == [0, 1, 2] and res.with_times == 2
    assert res.manifest["source_format"] == "got10k"
    assert res.manifest["source_run_ids"] == ["_001", "_002", "_003"]
    s0 = split.sequences[0].name
    np.testing.assert_allclose(np.loadtxt(folder / "run_002" / f"{s0}_time.txt"), 0.03)
    a = analyze_store(split, ["siamfc"], workspace / "results", n_resamples=50)
    assert a.runs_of("siamfc") == 3 and a.protocol == "got10k-val"


# -- GOT-10k submissions carry the runs ------------------------------------------------------------

def test_got10k_submission_packs_three_runs(tmp_path):
    lengths = {"GOT-10k_Test_000001": 5, "GOT-10k_Test_000002": 4}
    seqs = [Sequence(name=n, dataset="got10k", split="test",
                     frames=[Path(f"/nowhere/{n}/{i}.jpg") for i in range(k)],
                     gt=np.array([[1.0, 2.0, 3.0, 4.0]])) for n, k in lengths.items()]
    split = DatasetSplit("got10k", "test", Path("/nowhere"), seqs, expected=2)
    seq_dir = tmp_path / "results" / "t" / "got10k-test"
    for r in range(4):  # a fourth run is stored but the server takes three
        folder = seq_dir if r == 0 else seq_dir / repeat_name(r)
        for n, k in lengths.items():
            _write(folder / f"{n}.txt", np.full((k, 4), 10.0 + r))
            (folder / f"{n}_time.txt").write_text("0.01\n" * k)
    report = pack_submission(split, seq_dir, tmp_path / "t.zip", tracker="t")
    with zipfile.ZipFile(report.zip_path) as z:
        names = set(z.namelist())
        for n in lengths:
            assert {f"{n}/{n}_001.txt", f"{n}/{n}_002.txt", f"{n}/{n}_003.txt",
                    f"{n}/{n}_time.txt"} <= names and f"{n}/{n}_004.txt" not in names
        row = z.read("GOT-10k_Test_000002/GOT-10k_Test_000002_003.txt").decode().splitlines()[0]
    assert [float(v) for v in row.split(",")] == [12.0] * 4
    assert report.members == 8 and any("4 runs stored" in n for n in report.notes)


def test_cli_import_says_which_runs_it_kept(ws, tmp_path):
    split = load_split("synthetic-lasot", workspace=load_workspace(ws))
    for r in range(2):
        for s in split.sequences:
            _write(tmp_path / "rel" / f"mil_{r:03d}" / f"{s.name}.txt", np.asarray(s.gt) + r)
    res = CliRunner().invoke(main, ["results", "import", str(tmp_path / "rel"), "--as", "rel",
                                    "-d", "synthetic-lasot"])
    assert res.exit_code == 0, res.output
    assert "2 runs kept (mil_000, mil_001)" in res.output
    listed = CliRunner().invoke(main, ["results", "list"])
    assert "2 runs" in listed.output
