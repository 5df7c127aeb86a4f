"""`mfv2bench results import` (results.importer): published raw results into the store,
normalised; zip-slip and links refused; partial imports marked."""

from __future__ import annotations

import io
import json
import tarfile
import zipfile

import numpy as np
import pytest
from click.testing import CliRunner

from mfv2bench.cli import main
from mfv2bench.datasets.registry import load_split
from mfv2bench.errors import ConfigError, InputError, MissingDataError
from mfv2bench.metrics.analysis import analyze_store
from mfv2bench.results.importer import SplitSequences, import_results
from mfv2bench.workspace import load_workspace
from runner_helpers import make_synthetic


def _split(ws, dataset="synthetic-lasot"):
    return load_split(dataset, workspace=load_workspace(ws))


def _import(ws, source, name, dataset, **kw):
    """import_results with the split resolved here (the results layer takes plain data)."""
    data = load_split(dataset, workspace=ws, allow_partial=True)
    shape = SplitSequences(data.dataset, data.split, data.key,
                           {s.name: s.n_frames for s in data.sequences}, data.expected,
                           tuple(data.missing))
    return import_results(source, name, shape, ws.results_dir, **kw)


def _int_boxes(seq) -> np.ndarray:
    return np.round(np.tile(seq.init_box, (seq.n_frames, 1)) + np.arange(seq.n_frames)[:, None])


def test_pytracking_folder_with_tabs_and_integers(workspace, tmp_path):
    make_synthetic(workspace, "lasot", n_sequences=3, n_frames=6)
    split = _split(workspace)
    src = tmp_path / "published" / "TransT" / "lasot"
    src.mkdir(parents=True)
    for s in split.sequences:
        rows = _int_boxes(s).astype(int)
        (src / f"{s.name}.txt").write_text("".join("\t".join(map(str, r)) + "\n" for r in rows))
    res = CliRunner().invoke(main, ["results", "import", str(tmp_path / "published"), "--as",
                                    "transt", "-d", "synthetic-lasot", "--format", "pytracking"])
    assert res.exit_code == 0, res.output
    folder = workspace / "results" / "transt" / "synthetic-lasot-test"
    for s in split.sequences:
        text = (folder / f"{s.name}.txt").read_text()
        assert "\t" not in text and text.splitlines()[0].count(",") == 3 and ".0" in text
        assert np.array_equal(np.loadtxt(folder / f"{s.name}.txt", delimiter=","), _int_boxes(s))
    m = json.loads((folder / "run.json").read_text())
    assert m["imported"] and m["complete"] and m["source_format"] == "pytracking"
    a = analyze_store(split, ["transt"], workspace / "results")  # metrics read the import
    assert a.table().loc["transt", "sequences"] == 3
    listing = CliRunner().invoke(main, ["results", "list"])
    assert "transt" in listing.output and "imported" in listing.output
    again = CliRunner().invoke(main, ["results", "import", str(tmp_path / "published"), "--as",
                                      "transt", "-d", "synthetic-lasot"])
    assert again.exit_code == 2 and "--force" in again.output


def test_got10k_zip_first_run_and_times(workspace, tmp_path):
    make_synthetic(workspace, "got10k", n_sequences=2, n_frames=5, splits=("val",))
    split = _split(workspace, "synthetic-got10k-val")
    archive = tmp_path / "got.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for s in split.sequences:
            b = _int_boxes(s)
            zf.writestr(f"results/{s.name}/{s.name}_001.txt",
                        "".join(",".join(f"{v:.4f}" for v in r) + "\n" for r in b))
            zf.writestr(f"results/{s.name}/{s.name}_002.txt",
                        "".join(",".join(f"{v + 1:.4f}" for v in r) + "\n" for r in b))
            zf.writestr(f"results/{s.name}/{s.name}_time.txt", "0.01\n" * s.n_frames)
    res = _import(load_workspace(workspace), archive, "siam", "synthetic-got10k-val")
    assert res.with_times == 2 and res.manifest["runs_in_source"] == 2
    assert res.manifest["source_sha256"] and res.manifest["source_format"] == "got10k"
    for s in split.sequences:
        assert np.array_equal(np.loadtxt(res.folder / f"{s.name}.txt", delimiter=","), _int_boxes(s))
        assert np.allclose(np.loadtxt(res.folder / f"{s.name}_time.txt"), 0.01)
    with pytest.raises(InputError, match="--format pytracking"):
        _import(load_workspace(workspace), archive, "siam2", "synthetic-got10k-val", fmt="pytracking")


@pytest.mark.parametrize("kind", ["zip-dotdot", "zip-absolute", "tar-dotdot", "tar-symlink"])
def test_archives_escaping_the_target_are_refused(workspace, tmp_path, kind):
    make_synthetic(workspace, "lasot", n_sequences=1, n_frames=4)
    seq = _split(workspace).sequences[0]
    good = "".join("1,2,3,4\n" for _ in range(seq.n_frames))
    if kind.startswith("zip"):
        archive = tmp_path / "evil.zip"
        with zipfile.ZipFile(archive, "w") as zf:
            zf.writestr(f"{seq.name}.txt", good)
            zf.writestr("../../outside.txt" if kind == "zip-dotdot" else "/tmp/outside.txt", good)
    else:
        archive = tmp_path / "evil.tar.gz"
        with tarfile.open(archive, "w:gz") as tf:
            data = good.encode()
            info = tarfile.TarInfo(f"{seq.name}.txt")
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
            if kind == "tar-dotdot":
                info = tarfile.TarInfo("../outside.txt")
                info.size = len(data)
                tf.addfile(info, io.BytesIO(data))
            else:
                info = tarfile.TarInfo("link.txt")
                info.type = tarfile.SYMTYPE
                info.linkname = "/etc/passwd"
                tf.addfile(info)
    with pytest.raises(InputError) as err:
        _import(load_workspace(workspace), archive, "evil", "synthetic-lasot")
    assert str(archive) in str(err.value) and "refusing the whole archive" in str(err.value)
    assert not (workspace / "results" / "evil").exists()
    assert not (tmp_path.parent / "outside.txt").exists()


def test_missing_sequences_short_results_and_partial(workspace, tmp_path):
    make_synthetic(workspace, "lasot", n_sequences=3, n_frames=5)
    split = _split(workspace)
    src = tmp_path / "res"
    src.mkdir()
    for s in split.sequences[:2]:
        np.savetxt(src / f"{s.name}.txt", _int_boxes(s), delimiter=",", fmt="%d")
    ws = load_workspace(workspace)
    with pytest.raises(MissingDataError, match="1 of the 3 .* sequences under the data root"):
        _import(ws, src, "half", "synthetic-lasot")
    res = _import(ws, src, "half", "synthetic-lasot", allow_partial=True)
    assert res.missing == [split.sequences[2].name] and res.manifest["partial"]
    short = split.sequences[0]
    np.savetxt(src / f"{short.name}.txt", _int_boxes(short)[:-1], delimiter=",", fmt="%d")
    last = split.sequences[2]
    np.savetxt(src / f"{last.name}.txt", _int_boxes(last), delimiter=",", fmt="%d")
    with pytest.raises(InputError, match=short.name):
        _import(ws, src, "short", "synthetic-lasot")
    cut = _import(ws, src, "short", "synthetic-lasot", allow_partial=True)  # stored, not padded
    assert cut.short == {short.name: (short.n_frames - 1, short.n_frames)}
    assert short.name not in cut.missing and short.name in cut.sequences
    assert len(np.loadtxt(cut.folder / f"{short.name}.txt", delimiter=",")) == short.n_frames - 1
    with pytest.raises(ConfigError):
        _import(ws, src, "x", "synthetic-lasot", fmt="nope")
