"""Messy published releases (issue 13): odd file names, results for sequences the data root
lacks, corner-format rows, short files, zips; the import says which side lacks what."""

from __future__ import annotations

import json
import shutil
import zipfile

import numpy as np
import pytest
from click.testing import CliRunner

from mfv2bench.cli import main
from mfv2bench.datasets.registry import load_split
from mfv2bench.errors import ConfigError, InputError, MissingDataError
from mfv2bench.results.importer import (SplitSequences, box_format_check, import_results,
                                        match_names, name_key)
from mfv2bench.workspace import load_workspace
from runner_helpers import make_synthetic


def _shape(ws, dataset="synthetic-lasot") -> SplitSequences:
    data = load_split(dataset, workspace=ws, allow_partial=True)
    return SplitSequences(data.dataset, data.split, data.key,
                          {s.name: s.n_frames for s in data.sequences}, data.expected,
                          tuple(data.missing), gt={s.name: s.gt for s in data.sequences})


def _gt_rows(seq) -> np.ndarray:
    return np.asarray(seq.gt, dtype=np.float64)


def _write(path, rows, fmt="%.2f"):
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savetxt(path, rows, delimiter=",", fmt=fmt)


@pytest.fixture
def lasot(workspace):
    make_synthetic(workspace, "lasot", n_sequences=4, n_frames=6)
    return workspace, load_split("synthetic-lasot", workspace=load_workspace(workspace))


def test_name_key_and_matching():
    assert name_key("Jogging_1") == name_key("jogging-1") == name_key("jogging 1") \
        == name_key("JOGGING1")
    m = match_names(["jogging_1", "basketball", "Extra", "Skating2"],
                    ["Jogging_1", "Basketball", "Skating2"])
    assert m.found == {"Jogging_1": "jogging_1", "Basketball": "basketball",
                       "Skating2": "Skating2"}
    assert m.renamed == {"jogging_1": "Jogging_1", "basketball": "Basketball"}
    assert m.outside == ["Extra"]
    with pytest.raises(InputError, match="'jogging_1' and 'Jogging-1'"):
        match_names(["jogging_1", "Jogging-1"], ["Jogging_1"])


def test_data_root_lacking_sequences_is_blamed_not_the_results(lasot, tmp_path):
    workspace, split = lasot
    src = tmp_path / "release"
    for s in split.sequences:
        _write(src / f"{s.name}.txt", _gt_rows(s))
    root = workspace / "datasets" / "synthetic" / "lasot"
    gone = [s.name for s in split.sequences[:2]]
    for name in gone:
        shutil.rmtree(root / name.split("-")[0] / name)
    res = CliRunner().invoke(main, ["results", "import", str(src), "--as", "t", "-d",
                                    "synthetic-lasot"])
    assert res.exit_code != 0
    assert "2 sequence(s) with a result in" in res.output and "data root lacks them" in res.output
    assert "have no result" not in res.output and gone[0] in res.output
    ok = CliRunner().invoke(main, ["results", "import", str(src), "--as", "t", "-d",
                                   "synthetic-lasot", "--allow-partial", "--json"])
    assert ok.exit_code == 0, ok.output
    out = json.loads(ok.output)
    assert out["sequences"] == 2 and sorted(out["not_on_disk"]) == sorted(gone)


def test_results_missing_named_with_near_matches(lasot, tmp_path):
    workspace, split = lasot
    src = tmp_path / "release"
    first, *rest = split.sequences
    for s in rest:
        _write(src / f"{s.name}.txt", _gt_rows(s))
    typo = first.name[:-2] + "x" + first.name[-2:]       # e.g. hand-x-1: no rule matches it
    _write(src / f"{typo}.txt", _gt_rows(first))
    with pytest.raises(MissingDataError) as err:
        import_results(src, "t", _shape(load_workspace(workspace)), workspace / "results")
    msg = str(err.value)
    assert f"1 of the 4 synthetic-lasot-test sequences under the data root have no result" in msg
    assert f"near matches: {first.name} ~ {typo}" in msg


def test_odd_names_in_a_zip_renamed_outside_listed(lasot, tmp_path):
    workspace, split = lasot
    archive = tmp_path / "release.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for i, s in enumerate(split.sequences):
            odd = [s.name.upper(), s.name.replace("-", "_"), s.name.replace("-", " "),
                   s.name.replace("-", "")][i]
            zf.writestr(f"Tracker/lasot/{odd}.txt",
                        "".join(",".join(f"{v:.2f}" for v in r) + "\n" for r in _gt_rows(s)))
        zf.writestr("Tracker/lasot/not-in-split-7.txt", "1,2,3,4\n")
    res = CliRunner().invoke(main, ["results", "import", str(archive), "--as", "odd", "-d",
                                    "synthetic-lasot"])
    assert res.exit_code == 0, res.output
    for s in split.sequences[:3]:
        assert f"-> {s.name}" in res.output
    assert "1 result file(s) match no sequence" in res.output and "not-in-split-7" in res.output
    folder = workspace / "results" / "odd" / "synthetic-lasot-test"
    assert sorted(p.stem for p in folder.glob("*.txt")) == sorted(s.name for s in split.sequences)
    m = json.loads((folder / "run.json").read_text())
    assert m["complete"] and m["import"]["outside_split"] == ["not-in-split-7"]
    assert len(m["import"]["renamed"]) == 4


def test_ambiguous_files_refused_naming_both(lasot, tmp_path):
    workspace, split = lasot
    src = tmp_path / "release"
    s = split.sequences[0]
    for seq in split.sequences:
        _write(src / f"{seq.name}.txt", _gt_rows(seq))
    _write(src / f"{s.name.upper()}.txt", _gt_rows(s))
    with pytest.raises(InputError, match=rf"{s.name}.* and .*{s.name.upper()}|"
                                         rf"{s.name.upper()}.* and .*{s.name}"):
        import_results(src, "t", _shape(load_workspace(workspace)), workspace / "results")


def _corners(rows: np.ndarray) -> np.ndarray:
    out = rows.copy()
    out[:, 2] = rows[:, 0] + rows[:, 2]
    out[:, 3] = rows[:, 1] + rows[:, 3]
    return out


def test_box_format_check_verdicts():
    gt = np.array([[10, 10, 20, 30], [12, 11, 20, 30], [14, 12, 21, 29]], float)
    assert box_format_check(gt, gt)["verdict"] == "xywh"
    c = box_format_check(_corners(gt), gt)
    assert c["verdict"] == "xyxy" and c["first_iou_xyxy"] == pytest.approx(1.0)
    assert c["first_iou_xywh"] < 0.9 and c["corner_rows"] == 1.0
    assert box_format_check(gt + 500, gt)["verdict"] == "unclear"


def test_corner_format_warned_then_converted(lasot, tmp_path):
    workspace, split = lasot
    src = tmp_path / "release"
    for s in split.sequences:
        _write(src / f"{s.name}.txt", _corners(_gt_rows(s)))
    ws = load_workspace(workspace)
    res = import_results(src, "xy", _shape(ws), ws.results_dir)
    assert res.warnings and "read as xyxy rather than xywh" in res.warnings[0]
    assert "--box-format xyxy" in res.warnings[0]
    cli = CliRunner().invoke(main, ["results", "import", str(src), "--as", "xy2", "-d",
                                    "synthetic-lasot", "--box-format", "xyxy"])
    assert cli.exit_code == 0, cli.output and "WARNING" not in cli.output
    assert "WARNING" not in cli.output
    folder = workspace / "results" / "xy2" / "synthetic-lasot-test"
    for s in split.sequences:
        stored = np.loadtxt(folder / f"{s.name}.txt", delimiter=",")
        assert np.allclose(stored, _gt_rows(s), atol=0.02)
    m = json.loads((folder / "run.json").read_text())
    assert m["source_box_format"] == "xyxy" and not m["import"]["warnings"]
    with pytest.raises(ConfigError):
        import_results(src, "z", _shape(ws), ws.results_dir, box_format="cxcywh")


def test_short_results_are_a_per_sequence_outcome(lasot, tmp_path):
    workspace, split = lasot
    src = tmp_path / "release"
    for s in split.sequences:
        _write(src / f"{s.name}.txt", _gt_rows(s))
    short = split.sequences[1:3]
    for s in short:
        _write(src / f"{s.name}.txt", _gt_rows(s)[:-1])
    refused = CliRunner().invoke(main, ["results", "import", str(src), "--as", "cut", "-d",
                                        "synthetic-lasot"])
    assert refused.exit_code != 0 and "2 result(s) shorter than their sequence" in refused.output
    assert all(s.name in refused.output for s in short)
    res = CliRunner().invoke(main, ["results", "import", str(src), "--as", "cut", "-d",
                                    "synthetic-lasot", "--allow-partial"])
    assert res.exit_code == 0, res.output
    assert "2 result(s) shorter than the sequence, stored as released (never padded" in res.output
    assert "each protocol's rule decides at scoring" in res.output and "PARTIAL" not in res.output
    folder = workspace / "results" / "cut" / "synthetic-lasot-test"
    assert sorted(p.stem for p in folder.glob("*.txt")) == sorted(s.name for s in split.sequences)
    for s in short:  # stored as released: one row short, never padded
        assert len(np.loadtxt(folder / f"{s.name}.txt", delimiter=",")) == s.n_frames - 1
    m = json.loads((folder / "run.json").read_text())
    assert not m["partial"] and set(m["import"]["short"]) == {s.name for s in short}
    n = split.sequences[1].n_frames
    assert m["import"]["short"][short[0].name] == {"rows": n - 1, "frames": n,
                                                   "stored": "unpadded"}


# --- reproduction delta for any tracker (leaderboard) ----------------------------------------

from mfv2bench.commands.leaderboard import parse_published_as  # noqa: E402
from mfv2bench.leaderboard.board import LocalEntry, build_leaderboard  # noqa: E402
from mfv2bench.leaderboard.published import load_published  # noqa: E402


def _paper(published, tracker, variant, dataset="LaSOT", metric="AUC") -> float:
    row = published[(published.tracker == tracker) & (published.variant == variant)
                    & (published.dataset == dataset) & (published.metric == metric)]
    return float(row["value"].iloc[0])


def test_delta_for_any_tracker_by_name_and_mapping():
    published = load_published()
    local = [LocalEntry("transt", 60.0), LocalEntry("ostrack_384", 70.0),
             LocalEntry("MixFormerV2-B", 70.0), LocalEntry("mine", 50.0),
             LocalEntry("ostrack", 69.0), LocalEntry("csrt", 30.0)]
    board = build_leaderboard(published, "lasot", "auc", local)
    ours = board.rows[board.rows["ours"]].set_index("tracker")
    assert ours.loc["transt", "paper_value"] == _paper(published, "TransT", "TransT")
    assert ours.loc["ostrack_384", "paper_value"] == _paper(published, "OSTrack", "OSTrack-384")
    assert ours.loc["MixFormerV2-B", "delta"] == pytest.approx(70.0 - 70.6)
    assert np.isnan(ours.loc["mine", "delta"]) and np.isnan(ours.loc["csrt", "delta"])
    assert np.isnan(ours.loc["ostrack", "delta"])  # two OSTrack variants: ambiguous, said so
    assert any("ostrack: no reproduction delta" in n and "--published-as" in n
               for n in board.notes)
    assert any("transt: reproduction delta against published TransT" in n for n in board.notes)
    mapped = build_leaderboard(published, "lasot", "auc", local, published_as=parse_published_as(
        ["mine=OSTrack:OSTrack-256,ostrack=OSTrack-384", "csrt=NoSuchTracker"]))
    ours = mapped.rows[mapped.rows["ours"]].set_index("tracker")
    assert ours.loc["mine", "delta"] == pytest.approx(50.0 - _paper(published, "OSTrack",
                                                                      "OSTrack-256"))
    assert ours.loc["ostrack", "paper_value"] == _paper(published, "OSTrack", "OSTrack-384")
    assert np.isnan(ours.loc["csrt", "delta"])
    assert any("--published-as NoSuchTracker matches no published row" in n for n in mapped.notes)
    for bad in (["x"], ["=TransT"], ["a=b,a=c"]):
        with pytest.raises(ConfigError, match="--published-as"):
            parse_published_as(bad)


def test_leaderboard_cli_published_as(workspace, tmp_path):
    from report_samples import official_lasot_tree, write_store_results
    root = official_lasot_tree(tmp_path)
    split = load_split("lasot", root=root, allow_partial=True)
    write_store_results(workspace / "results", "my-transt", split, noise=1.0)
    runner = CliRunner()
    plain = runner.invoke(main, ["leaderboard", "--dataset", "lasot", "--root", str(root)])
    assert plain.exit_code == 0, plain.output
    mapped = runner.invoke(main, ["leaderboard", "--dataset", "lasot", "--root", str(root),
                                  "--published-as", "my-transt=TransT"])
    assert mapped.exit_code == 0, mapped.output
    paper = _paper(load_published(), "TransT", "TransT")
    assert f"vs {paper:.1f}" in mapped.output and "matched by --published-as TransT" in mapped.output
    bad = runner.invoke(main, ["leaderboard", "--dataset", "lasot", "--root", str(root),
                               "--published-as", "oops"])
    assert bad.exit_code != 0 and "LOCAL=PUBLISHED" in bad.output


def test_results_only_for_sequences_the_data_root_lacks(lasot, tmp_path):
    workspace, split = lasot
    src = tmp_path / "release"
    for s in split.sequences[:2]:
        _write(src / f"{s.name}.txt", _gt_rows(s))
    full = _shape(load_workspace(workspace))
    shape = SplitSequences(full.dataset, full.split, full.key,
                           {s: n for s, n in full.lengths.items()
                            if s not in {x.name for x in split.sequences[:2]}},
                           full.expected, tuple(s.name for s in split.sequences[:2]))
    with pytest.raises(MissingDataError) as err:
        import_results(src, "t", shape, workspace / "results")
    msg = str(err.value)
    assert "2 sequence(s) with a result in" in msg and "data root lacks them" in msg
    assert "2 of the 2 synthetic-lasot-test sequences under the data root have no result" in msg


def test_published_as_for_a_tracker_not_on_the_board_is_noted():
    board = build_leaderboard(load_published(), "lasot", "auc", [LocalEntry("a", 50.0)],
                              published_as={"b": "TransT"})
    assert any("--published-as names no local row on this board: b" in n for n in board.notes)
