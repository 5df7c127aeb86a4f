"""Tracker specs, checkpoints and user code under hostile input (issue 11): every bad value is a
ConfigError naming the spec file and key (never a TypeError/ValueError traceback); a bad spec does
not break the others; a spec file cannot consent to unpickling; a user's factory error is theirs;
a damaged checkpoint says what is wrong with it; NaN weights are warned; the demo's exit status
says when a tracker failed; ONNX Runtime is quieted without touching the root logger."""

from __future__ import annotations

import io
import json
import logging
import pickle
import shutil
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from mfv2bench.cli import main
from mfv2bench.errors import ConfigError, InputError
from mfv2bench.trackers.python_kind import UserCodeError
from mfv2bench.trackers.specs import SpecRegistry, build_tracker

REPO_TRACKERS = Path(__file__).resolve().parents[1] / "trackers"


@pytest.fixture
def registry(workspace):
    for spec in REPO_TRACKERS.glob("*.toml"):
        shutil.copy(spec, workspace / "trackers")
    return SpecRegistry(workspace / "trackers", workspace)


def _write(registry: SpecRegistry, name: str, text: str) -> SpecRegistry:
    (registry.folder / f"{name}.toml").write_text(text)
    return SpecRegistry(registry.folder, registry.workspace_root)


# ------------------------------------------------------------------------------------------------
# spec type errors: one ConfigError naming the file and the key

S, R, C = 'extends = "mfv2-s"\n', 'extends = "mfv2-s-random"\n', 'extends = "csrt"\n'
BAD_SPECS = [
    ('extends = ["kcf"]\n', "extends must be the name of one spec"),
    ('extends = 3\n', "extends must be"),
    ('extends = ""\n', "extends must be"),
    (S + '[params]\nsearch_factor = "big"\n', "search_factor must be a finite number"),
    (S + '[params]\nsearch_factor = nan\n', "search_factor must be a finite number"),
    (S + '[params]\ntemplate_factor = inf\n', "template_factor must be a finite number"),
    (R + '[model]\nseed = "abc"\n', "seed must be an integer"),
    (R + '[model]\nseed = 1.5\n', "seed must be an integer"),
    (S + 'model = "oops"\n', r"\[model\] must be a table"),
    ('extends = "kcf"\nparams = 3\n', r"\[params\] must be a table"),
    (S + '[dataset]\nlasot = 3\n', r"\[dataset.lasot\] must be a table"),
    (S + 'dataset = "x"\n', r"\[dataset\] must be a table"),
    (S + '[dataset.lasot]\nkind = "opencv"\n', "unknown key 'kind' in \\[dataset.lasot\\]"),
    (S + '[dataset.lasot]\nparams = 3\n', r"\[dataset.lasot.params\] must be a table"),
    (S + '[dataset.got10k.params]\nsearch_factor = "big"\n', r"search_factor.*\[dataset.got10k\]"),
    (S + '[dataset.trackingnet.model]\ndepth = "x"\n', r"depth must be an integer.*trackingnet"),
    ('kind = 3\n', "kind = 3 is not one of"),
    ('kind = ["x"]\n', "is not one of"),
    ('extends = "kcf"\ndescription = 3\n', "description must be a string"),
    (S + '[model]\ndepth = "x"\n', "depth must be an integer"),
    (S + '[model]\nkeep_layers = 3\n', "keep_layers must be a list of integers"),
    (S + '[model]\nkeep_layers = ["a"]\n', "keep_layers must be a list of integers"),
    (S + '[model]\nmlp_hidden = "x"\n', "mlp_hidden must be an integer"),
    (S + '[model]\nvariant = ["a"]\n', "variant must be a string"),
    (S + '[model]\nrandom_weights = "yes"\n', "random_weights must be true or false"),
    (S + '[model]\ncheckpoint = 3\n', "checkpoint must be a string"),
    (S + '[model]\ntrust_checkpoint = "yes"\n', "trust_checkpoint must be true or false"),
    (S + '[params]\nupdate_interval = "x"\n', "update_interval must be an integer"),
    (S + '[params]\nupdate_interval = 2.5\n', "update_interval must be an integer"),
    (S + '[params]\nscore_threshold = "x"\n', "score_threshold must be a finite number"),
    (S + '[params]\ncached = "yes"\n', "cached must be true or false"),
    (S + '[params]\nnormalize_mean = 3\n', "normalize_mean must be a list of 3 finite numbers"),
    (S + '[params]\nnormalize_std = ["a", "b", "c"]\n', "normalize_std must be a list of 3"),
    (S + '[params]\ntemplate_size = "x"\n', "template_size must be an integer"),
    (S + '[params]\nsearch_size = 100\n', "search_size = 100 does not match the model's 224"),
    (S + '[params]\nthreads = "x"\n', "threads must be an integer"),
    (S + '[params]\nthreads = -1\n', "threads must be >= 0"),
    (S + '[params]\nmax_score_decay = "x"\n', "max_score_decay must be a finite number"),
    (S + '[params]\nclip_margin = -3\n', "clip_margin must be >= 0"),
    (S + '[params]\nruntime = 3\n', "runtime must be a string"),
    (C + '[params]\npadding = "wide"\n', "padding must be float"),
    (C + '[params]\npadding = nan\n', "padding must be float \\(finite\\)"),
    (C + '[params]\nalgorithm = ["x"]\n', "unknown OpenCV algorithm"),
    ('kind = "python"\nparams = [1]\n[model]\nfactory = "a:b"\n', r"\[params\] must be a table"),
    ('kind = "python"\n[model]\nfactory = ["x"]\n', "factory must be 'module:callable'"),
    ('extends = "nosuch"\n', "unknown tracker 'nosuch' \\(extended by .*bad.toml\\)"),
    ('kind = \n', "not valid TOML"),
]


@pytest.mark.parametrize("text,match", BAD_SPECS, ids=[f"spec{i}" for i in range(len(BAD_SPECS))])
def test_bad_spec_values_are_config_errors_naming_file_and_key(registry, text, match):
    reg = _write(registry, "bad", text)
    with pytest.raises(ConfigError, match=match) as exc:
        reg.resolve("bad")
    assert "bad.toml" in str(exc.value)


def test_a_bad_spec_does_not_make_the_list_unusable(registry, workspace):
    _write(registry, "bad", 'extends = ["kcf"]\n')
    _write(registry, "broken", 'kind = \n')
    runner = CliRunner()
    res = runner.invoke(main, ["trackers", "list"])
    assert res.exit_code == 0, res.output
    assert "csrt" in res.output and "mfv2-s" in res.output
    bad = [ln for ln in res.output.splitlines() if ln.startswith(("bad ", "broken "))]
    assert len(bad) == 2 and all("INVALID" in ln and "error:" in ln for ln in bad)
    rows = {r["name"]: r for r in json.loads(runner.invoke(main, ["trackers", "list", "--json"]).stdout)}
    assert rows["csrt"]["error"] is None and "extends must be" in rows["bad"]["error"]
    for name in ("bad", "broken"):
        res = runner.invoke(main, ["trackers", "show", name])
        assert res.exit_code == 2 and res.output.startswith("error: ") and "Traceback" not in res.output
    assert runner.invoke(main, ["trackers", "show", "csrt"]).exit_code == 0


# ------------------------------------------------------------------------------------------------
# consent to unpickle: only the command line


class Settings:  # a pickled custom object, as in official training checkpoints
    pass


def test_spec_file_cannot_grant_trust_and_show_says_so(registry, workspace, caplog):
    import torch

    from mfv2bench.trackers.mixformerv2.model import build_model

    reg = _write(registry, "trusty", S + '[model]\ntrust_checkpoint = true\n')
    with caplog.at_level(logging.WARNING):
        spec = reg.resolve("trusty")
    assert spec.file_asks_trust and not spec.trusts_checkpoint
    assert "ignored" in caplog.text and "--trust-checkpoint" in caplog.text
    assert spec.hash == reg.resolve("mfv2-s").hash
    assert reg.resolve("trusty", overrides={"model": {"trust_checkpoint": True}}).trusts_checkpoint

    torch.save({"net": build_model("small").state_dict(), "settings": Settings()},
               workspace / "checkpoints" / "mixformerv2_small.pth.tar")
    runner = CliRunner()
    res = runner.invoke(main, ["trackers", "show", "trusty"])
    assert "trust_checkpoint: asked for by the spec file, IGNORED" in res.output
    assert "trust_checkpoint: no" in runner.invoke(main, ["trackers", "show", "mfv2-s"]).output
    res = runner.invoke(main, ["trackers", "check", "trusty"])  # the file alone: refused
    assert res.exit_code == 2 and "--trust-checkpoint on the command line" in res.output
    res = runner.invoke(main, ["trackers", "check", "trusty", "--trust-checkpoint", "--json"])
    assert res.exit_code == 0, res.output
    info = json.loads(res.stdout)
    assert info["trust_checkpoint"] is True and "IGNORED" in info["trust_checkpoint_in_spec"]


# ------------------------------------------------------------------------------------------------
# the user's factory errors are theirs

USER_MODULE = '''
import numpy as np

def explodes(name, device="cpu", **params):
    raise RuntimeError("my factory exploded")

def needs_gpu(name, device="cpu", **params):
    return None
'''


@pytest.mark.parametrize("module,source,match", [
    ("w3_user_a", USER_MODULE, "your tracker factory w3_user_a:explodes raised RuntimeError: my "
                               "factory exploded \\(at .*w3_user_a.py:5\\)"),
    ("w3_user_b", "raise ValueError('config file missing')\n",
     "importing 'w3_user_b'.*raised ValueError: config file missing \\(at .*w3_user_b.py:1\\)"),
    ("w3_user_c", "def explodes(:\n", "raised SyntaxError.*w3_user_c.py:1"),
    ("w3_user_d", "import w3_no_such_dependency\n", "raised ModuleNotFoundError.*w3_no_such_dependency"),
])
def test_python_factory_errors_are_the_users_one_line(registry, tmp_path, monkeypatch, module,
                                                      source, match):
    folder = tmp_path / "usercode"
    folder.mkdir()
    (folder / f"{module}.py").write_text(source)
    monkeypatch.syspath_prepend(str(folder))
    reg = _write(registry, "mine", f'kind = "python"\n[model]\nfactory = "{module}:explodes"\n')
    with pytest.raises(UserCodeError, match=match) as exc:
        build_tracker(reg.resolve("mine"))
    assert "\n" not in str(exc.value) and "mine.toml" in str(exc.value)


def test_python_factory_module_not_found_and_bad_object(registry, tmp_path, monkeypatch):
    reg = _write(registry, "mine", 'kind = "python"\n[model]\nfactory = "w3_nowhere:build"\n')
    with pytest.raises(ConfigError, match="cannot import 'w3_nowhere'.*PYTHONPATH"):
        build_tracker(reg.resolve("mine"))
    (tmp_path / "w3_user_e.py").write_text(USER_MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    reg = _write(registry, "mine", 'kind = "python"\n[model]\nfactory = "w3_user_e:needs_gpu"\n')
    with pytest.raises(ConfigError, match="without initialize"):
        build_tracker(reg.resolve("mine"))


def test_eval_shows_a_raising_factory_in_one_line(registry, tmp_path, monkeypatch):
    (tmp_path / "w3_user_f.py").write_text(USER_MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    _write(registry, "mine", 'kind = "python"\n[model]\nfactory = "w3_user_f:explodes"\n')
    res = CliRunner().invoke(main, ["trackers", "check", "mine"])
    assert res.exit_code == 2 and "Traceback" not in res.output
    assert res.output.startswith("error: ") and "my factory exploded" in res.output


# ------------------------------------------------------------------------------------------------
# damaged checkpoints say what is wrong; NaN weights are warned


def _checkpoint_bytes() -> tuple[bytes, bytes]:
    import torch

    sd = {"a": torch.ones(64), "b": torch.zeros(8)}
    buf = io.BytesIO()
    torch.save({"net": sd}, buf)
    legacy = io.BytesIO()
    torch.save({"net": sd}, legacy, _use_new_zipfile_serialization=False)
    return buf.getvalue(), legacy.getvalue()


def _zip_without_pickle() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("notes.txt", "hello")
    return buf.getvalue()


@pytest.mark.parametrize("case,match", [
    ("empty", "the file is empty \\(0 bytes\\)"),
    ("half", "truncated or corrupt .* zip directory is missing"),
    ("head", "truncated or corrupt"),
    ("text", "a text file, not a checkpoint \\(it starts with 'hello"),
    ("html", "HTML/XML page"),
    ("lfs", "Git LFS pointer"),
    ("random", "neither the zip format of torch.save nor its legacy format"),
    ("zip", "a zip archive but not a torch checkpoint \\(no data.pkl"),
    ("pickle", "a Python pickle but not a torch checkpoint"),
    ("legacy_cut", "looks like one but is truncated or damaged inside \\(torch: EOFError"),
])
def test_damaged_checkpoint_files_say_what_is_wrong(tmp_path, case, match):
    from mfv2bench.trackers.mixformerv2.checkpoint import load_checkpoint

    good, legacy = _checkpoint_bytes()
    data = {
        "empty": b"", "half": good[: len(good) // 2], "head": good[:10],
        "text": b"hello world, not weights\n", "lfs": b"version https://git-lfs.github.com/spec/v1\n"
        b"oid sha256:0\nsize 1\n", "html": b"<!DOCTYPE html><html><body>404</body></html>",
        "random": bytes(range(200, 256)) * 20, "zip": _zip_without_pickle(),
        "pickle": pickle.dumps([1, 2, 3]), "legacy_cut": legacy[: len(legacy) // 2],
    }[case]
    path = tmp_path / "weights.pth.tar"
    path.write_bytes(data)
    with pytest.raises(InputError, match=match) as exc:
        load_checkpoint(path)
    text = str(exc.value)
    assert "weights.pth.tar" in text and "unknown error" not in text and "pop from" not in text
    assert "\n" not in text


def test_good_checkpoints_still_load(tmp_path):
    from mfv2bench.trackers.mixformerv2.checkpoint import load_checkpoint

    good, legacy = _checkpoint_bytes()
    for name, data in (("zip.pth", good), ("legacy.pth", legacy)):
        (tmp_path / name).write_bytes(data)
        assert set(load_checkpoint(tmp_path / name)) == {"a", "b"}


def test_trackers_check_warns_on_non_finite_weights(registry, workspace):
    import torch

    from mfv2bench.trackers.mixformerv2.checkpoint import non_finite_tensors
    from mfv2bench.trackers.mixformerv2.model import build_model

    sd = build_model("small").state_dict()
    key = next(k for k, v in sd.items() if v.is_floating_point() and v.numel() > 1)
    sd[key] = sd[key].clone()
    sd[key].view(-1)[0] = float("nan")
    other = next(k for k, v in sd.items() if k != key and v.is_floating_point())
    sd[other] = sd[other].clone()
    sd[other].view(-1)[-1] = float("inf")
    assert set(non_finite_tensors(sd)) >= {key, other}
    torch.save({"net": sd}, workspace / "checkpoints" / "mixformerv2_small.pth.tar")
    res = CliRunner().invoke(main, ["trackers", "check", "mfv2-s"])
    assert res.exit_code == 0, res.output
    assert "WARNINGS" in res.output and "hold NaN or Inf" in res.output
    assert key in res.output and other in res.output


# ------------------------------------------------------------------------------------------------
# demo exit status; ONNX Runtime logging scoped


@pytest.mark.slow  # end-to-end with worker processes (> 1 s)
def test_demo_exits_non_zero_when_a_tracker_failed_and_still_reports(registry, workspace,
                                                                     tmp_path, monkeypatch):
    pytest.importorskip("cv2")
    (tmp_path / "w3_user_g.py").write_text(USER_MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    _write(registry, "mine", 'kind = "python"\n[model]\nfactory = "w3_user_g:explodes"\n')
    res = CliRunner().invoke(main, ["demo", "--sequences", "1", "--frames", "8", "--no-speed",
                                    "--no-pdf", "--trackers", "mine,kcf"])
    assert res.exit_code == 1, res.output
    assert "failed mine:" in res.output and "my factory exploded" in res.output
    assert "ran: kcf" in res.output and "error: 1 tracker(s) failed: mine" in res.output
    assert "Traceback" not in res.output
    assert (workspace / "reports" / "demo" / "index.html").is_file()
    # a tracker the user names that has no spec is a failure too, not a silent skip
    res = CliRunner().invoke(main, ["demo", "--no-speed", "--no-pdf", "--trackers", "kcf,nosuch"])
    assert res.exit_code == 1 and "failed nosuch" in res.output


def test_onnxruntime_quieting_leaves_the_root_logger_alone(tmp_path, monkeypatch, caplog):
    from mfv2bench.trackers.mixformerv2.runtimes import quiet_onnxruntime_logging

    pkg = tmp_path / "fake_ort"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "quant.py").write_text("import logging\n"
                                  "def run():\n"
                                  "    logging.warning('please pre-process first')\n"
                                  "    logging.getLogger('onnxruntime.x').warning('named advice')\n"
                                  "    logging.error('a real failure')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    from fake_ort import quant

    root = logging.getLogger()
    with caplog.at_level(logging.INFO):
        level, handlers, filters = root.level, list(root.handlers), list(root.filters)
        with quiet_onnxruntime_logging(str(pkg / "__init__.py")):
            quant.run()
            logging.getLogger("mfv2bench.elsewhere").warning("ours still shown")
            root.warning("other root records still shown")
        assert root.filters == filters and root.handlers == handlers and root.level == level
    messages = [r.getMessage() for r in caplog.records]
    assert "please pre-process first" not in messages and "named advice" not in messages
    assert "a real failure" in messages and "ours still shown" in messages
    assert "other root records still shown" in messages


def test_a_tracker_raising_while_timed_is_one_line():
    from types import SimpleNamespace

    import numpy as np

    from mfv2bench.speed.tracking import TrackerRaisedError, measure_tracking_speed

    class Raises:
        name = "mine"

        def initialize(self, image, box):
            pass

        def track(self, image):
            raise ZeroDivisionError("division by zero\nin my code")

    seq = SimpleNamespace(name="s", n_frames=4, frames=["a", "b", "c", "d"],
                          init_box=np.array([1.0, 1.0, 4.0, 4.0]))
    with pytest.raises(TrackerRaisedError, match="tracker 'mine' raised ZeroDivisionError while "
                                                 "timed end to end: division by zero in my code"):
        measure_tracking_speed(Raises(), [seq], warmup_frames=0,
                               reader=lambda _p: np.zeros((8, 8, 3), np.uint8))
