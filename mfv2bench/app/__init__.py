"""The application layer: cross-domain flows, and the notebook API.

Use from Python (a notebook, a script) as ``from mfv2bench import app``; the CLI verbs call the
same functions. Every function takes ``workspace``: a ``Workspace``, a folder, or None for the
workspace found from the current folder (as the CLI finds it).

    from mfv2bench import app
    dataset = app.synthesize("lasot", sequences=3, frames=20)
    app.evaluate("kcf", dataset)                          # a tracker spec by name
    app.evaluate(MyTracker(), dataset, name="mine")       # any initialize/track object
    print(app.analyze(dataset, ["kcf", "mine"]).table())
    app.report(dataset, ["kcf", "mine"])

The flows behind the CLI live in submodules: ``demo`` (the whole pipeline on synthetic data),
``evaluation`` (eval-then-analyze), ``speed_accuracy`` (AUC vs FPS with published points),
``leaderboard`` (published and local rows, as text or an HTML page), ``ablation``
(``run_ablations``: a table of trained students with paired tests and a verdict per claim),
``tune`` (a test-time parameter chosen on a tuning split) and ``precision``
(``precision_accuracy``: reduced-precision runtimes judged by AUC against fp32).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..datasets.base import DatasetSplit
from ..datasets.registry import load_split as _load_split
from ..datasets.synthetic import FORMATS as SYNTHETIC_FORMATS
from ..datasets.synthetic import ensure_synthetic, write_synthetic
from ..errors import ConfigError
from ..metrics.analysis import Analysis, analyze_store
from ..report.build import build_report
from ..report.render import ReportFiles
from ..threads import available_cores
from ..trackers.base import TrackOutput
from ..workspace import Workspace, load_workspace
from .evaluation import Evaluation, evaluate_object, evaluate_spec

WorkspaceLike = Workspace | str | Path | None

__all__ = ["Analysis", "DatasetSplit", "Evaluation", "ReportFiles", "TrackOutput", "Workspace",
           "analyze", "evaluate", "load_split", "report", "synthesize", "workspace"]


def workspace(where: WorkspaceLike = None) -> Workspace:
    """The workspace at ``where`` (a folder; None: found from the current folder, as the CLI
    does). A folder without ``mfv2bench.toml`` gets the default places (trackers/, results/,
    reports/, datasets/) under it."""
    if isinstance(where, Workspace):
        return where
    return load_workspace(where)


def synthesize(fmt: str = "lasot", sequences: int = 3, frames: int | tuple[int, int] = 20,
               seed: int = 0, workspace: WorkspaceLike = None, overwrite: bool = False) -> str:
    """Write a small synthetic data set in the real layout of ``fmt`` (one of
    ``SYNTHETIC_FORMATS``: lasot, got10k, trackingnet, otb100, uav123, nfs, tnl2k, custom) into
    the workspace's ``datasets/synthetic/<fmt>``, unless one is there already
    (``overwrite`` rewrites it); returns its data-set name, e.g. ``synthetic-lasot``."""
    if fmt not in SYNTHETIC_FORMATS:
        raise ConfigError(f"unknown synthetic format {fmt!r} (one of {', '.join(SYNTHETIC_FORMATS)})")
    ws = _ws(workspace)
    name = f"synthetic-{fmt}"
    root = ws.data_root(name)
    if overwrite:
        write_synthetic(fmt, root, n_sequences=sequences, n_frames=frames, seed=seed)
    else:
        ensure_synthetic(fmt, root, n_sequences=sequences, n_frames=frames, seed=seed)
    return name


def load_split(dataset: str, split: str | None = None, root: str | Path | None = None,
               workspace: WorkspaceLike = None, sequences: list[str] | None = None,
               allow_partial: bool = False) -> DatasetSplit:
    """One split of a data set (``lasot``, ``got10k-val``, ``synthetic-lasot``, ...): its
    sequences with frame paths and ground truth; no image is read."""
    return _load_split(dataset, split=split, root=root, sequences=sequences,
                       allow_partial=allow_partial, workspace=_ws(workspace))


def evaluate(tracker: str | Any, dataset: str, *, name: str | None = None,
             split: str | None = None, workspace: WorkspaceLike = None,
             protocol: str | None = None, metrics: bool = True, force: bool = False,
             sequences: list[str] | None = None, root: str | Path | None = None,
             results_dir: str | Path | None = None, allow_partial: bool = False,
             progress: bool = False, config: dict[str, Any] | None = None,
             **run_options: Any) -> Evaluation:
    """Run a tracker over a split, store its raw results, and score what finished.

    ``tracker`` is a spec name (``trackers/<name>.toml``; ``run_options`` such as ``jobs``,
    ``device``, ``backend`` go to the runner) or a Python object with ``initialize(image, box)``
    and ``track(image)`` (returning a box (x, y, w, h) or a ``TrackOutput``), run in this
    process and stored as ``name`` (default: its class name); ``config``: the object's settings
    that change its outputs (hashed with its class, like a spec). Images are RGB uint8 arrays.
    Complete sequences are skipped on a rerun; results of a changed spec (or another class under
    the same name) are refused unless ``force``."""
    ws = _ws(workspace)
    common = dict(split=split, workspace=ws, force=force, sequences=sequences, root=root,
                  results_dir=results_dir, allow_partial=allow_partial, progress=progress)
    if isinstance(tracker, str):
        if (name is not None and name != tracker) or config is not None:
            raise ConfigError("name= and config= are for tracker objects; a spec's results are "
                              "stored under its own name, its settings are in its file")
        return evaluate_spec(tracker, dataset, metrics=metrics, protocol=protocol, **common,
                             **run_options)
    if run_options:
        raise ConfigError(f"{', '.join(sorted(run_options))}: runner options for specs only (a "
                          "tracker object runs in this process, on the CPU)")
    return evaluate_object(tracker, name or type(tracker).__name__, dataset, metrics=metrics,
                           protocol=protocol, config=config, **common)


def analyze(dataset: str, trackers: list[str] | str, protocol: str | None = None, *,
            split: str | None = None, workspace: WorkspaceLike = None,
            root: str | Path | None = None, results_dir: str | Path | None = None,
            sequences: list[str] | None = None, allow_partial: bool = False,
            skip_refused: bool = False, cache: bool = True, resamples: int = 2000,
            workers: int | None = None) -> Analysis:
    """Scores with 95 % CIs and paired tests of stored results (``mfv2bench analyze``), under
    ``protocol`` (default: the data set's). ``.table()`` is one row per tracker."""
    names = [trackers] if isinstance(trackers, str) else list(trackers)
    if not names:
        raise ConfigError("analyze needs at least one tracker name")
    if workers is not None and workers < 1:
        raise ConfigError("workers must be at least 1")
    if resamples < 100:
        raise ConfigError("resamples must be at least 100")
    ws = _ws(workspace)
    data = _load_split(dataset, split=split, root=root, sequences=sequences,
                       allow_partial=allow_partial, workspace=ws)
    res_dir = Path(results_dir) if results_dir else ws.results_dir
    return analyze_store(data, names, res_dir, protocol=protocol,
                         on_reject="skip" if skip_refused else "raise", cache=cache,
                         n_resamples=resamples,
                         workers=workers if workers else min(2, available_cores()))


def report(dataset: str, trackers: list[str] | str, out: str | Path | None = None, *,
           workspace: WorkspaceLike = None, pdf: bool = False, protocol: str | None = None,
           root: str | Path | None = None, results_dir: str | Path | None = None,
           title: str | None = None, allow_partial: bool = False,
           failures: bool | None = None,
           attention: list[str | Path] | None = None) -> ReportFiles:
    """A self-contained HTML report (and, with ``pdf``, a PDF) of stored results, in ``out``
    (default: ``reports/<dataset>-<split>`` of the workspace); returns the files written.

    ``failures``: per-sequence IoU strips and failure galleries (default: on when the frames are
    on disk); ``attention``: folders written by ``explain`` whose figures the report shows."""
    names = [trackers] if isinstance(trackers, str) else list(trackers)
    if not names:
        raise ConfigError("report needs at least one tracker name")
    return build_report(_ws(workspace), dataset, names, out=Path(out) if out else None, pdf=pdf,
                        protocol=protocol, root=root, results_dir=results_dir, title=title,
                        allow_partial=allow_partial, failures=failures,
                        attention=[Path(a) for a in attention or []])


def _ws(where: WorkspaceLike) -> Workspace:
    return workspace(where)
