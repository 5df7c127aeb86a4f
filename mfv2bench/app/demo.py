"""``mfv2bench demo``: the whole pipeline on the embedded default, in a few minutes on a laptop.

Writes the synthetic LaSOT-format data set into the workspace's ``datasets/synthetic/lasot``,
runs the OpenCV baselines and the MixFormerV2 trackers whose checkpoints are present (the others
are skipped, with the reason), measures their speed, and writes the report
(``reports/demo/index.html`` and ``report.pdf``) and the metrics table the report opens with.
Progress goes through ``log`` (the CLI passes ``click.echo``); nothing here prints.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from ..datasets.registry import load_split
from ..datasets.synthetic import ensure_synthetic
from ..errors import Mfv2benchError
from ..metrics.analysis import analyze_store
from ..metrics.text import analysis_text
from ..report.build import build_report
from ..runner.evaluate import run_eval
from ..speed.numeric import numeric_warnings_logged
from ..speed.run import SpeedOptions, run_speed
from ..trackers.kinds import kind_of
from ..trackers.specs import SpecRegistry
from ..workspace import Workspace
from .explain import explain

logger = logging.getLogger(__name__)

DEMO_DATASET = "synthetic-lasot"
BASELINES = ("csrt", "kcf", "mil")
# mfv2-micro: trained by mfv2bench on synthetic data (shipped in checkpoints/micro/), so a fresh
# machine sees MixFormerV2 track; mfv2-b/-s run when the official checkpoints are present
MIXFORMERS = ("mfv2-micro", "mfv2-b", "mfv2-s")


@dataclass
class DemoOptions:
    """Sizes of the demo; defaults finish in a few minutes on a 2-core laptop."""

    sequences: int = 6
    frames: tuple[int, int] | int = (60, 100)
    seed: int = 0
    trackers: list[str] | None = None  # default: BASELINES + MIXFORMERS
    jobs: int = 1
    speed: bool = True
    speed_frames: int = 40
    pdf: bool = True
    out: Path | None = None
    explain: bool = True  # one attention figure per trained network tracker in the report


@dataclass
class DemoResult:
    dataset_root: Path
    wrote_dataset: bool
    ran: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)  # a run that raised or lost sequences
    speed: dict[str, float | None] = field(default_factory=dict)
    speed_failed: dict[str, str] = field(default_factory=dict)
    report_html: Path | None = None
    report_pdf: Path | None = None
    metrics_text: str | None = None  # the table the report opens with
    attention: dict[str, Path] = field(default_factory=dict)  # tracker -> explain folder

    @property
    def ok(self) -> bool:
        """False when a tracker failed (its run or its speed measure): the CLI then exits 1,
        after the report of what finished was written. Skipped trackers (no checkpoint here)
        are not failures."""
        return not self.failed and not self.speed_failed


def _availability(workspace: Workspace, name: str, named: bool) -> tuple[str, str] | None:
    """None when ``name`` can run here; otherwise ("skipped" | "failed", why). A missing
    checkpoint, or a default tracker without a spec, is skipped; a spec the user named that does
    not exist, or any spec that does not validate, is a failure."""
    registry = SpecRegistry(workspace.trackers_dir, workspace.root)
    if not named and name not in registry.names():
        return "skipped", f"no tracker spec {name!r} in {registry.folder}"
    try:
        spec = registry.resolve(name, dataset=DEMO_DATASET)
    except Mfv2benchError as exc:
        return "failed", f"no usable tracker spec: {exc}"
    missing = kind_of(spec).missing_weights(spec)
    return None if missing is None else ("skipped", missing)


def run_demo(workspace: Workspace, options: DemoOptions | None = None,
             log: Callable[[str], None] = lambda _msg: None) -> DemoResult:
    """Data set -> runs -> speed -> report. Tracker failures are reported (``DemoResult.failed``,
    ``ok`` False), the rest goes on; NumPy overflow warnings are logged, not spilled on stderr."""
    with numeric_warnings_logged(logger, "demo"):
        return _run_demo(workspace, options or DemoOptions(), log)


def _run_demo(workspace: Workspace, opts: DemoOptions, log: Callable[[str], None]) -> DemoResult:
    root = workspace.data_root(DEMO_DATASET)
    wrote = ensure_synthetic("lasot", root, n_sequences=opts.sequences, n_frames=opts.frames, seed=opts.seed)
    log(("wrote" if wrote else "using existing") + f" synthetic LaSOT-format data set at {root}")
    result = DemoResult(dataset_root=root, wrote_dataset=wrote)

    for name in opts.trackers or [*BASELINES, *MIXFORMERS]:
        state = _availability(workspace, name, named=opts.trackers is not None)
        if state is not None:
            what, reason = state
            if what == "skipped":
                result.skipped[name] = reason
                log(f"skip {name}: {reason}")
            else:
                result.failed[name] = reason
                log(f"  {name} failed: {reason}")
            continue
        log(f"run {name} on {DEMO_DATASET} ...")
        try:
            run = run_eval(name, DEMO_DATASET, workspace=workspace, jobs=opts.jobs, progress=False)
        except Mfv2benchError as exc:
            result.failed[name] = str(exc)
            log(f"  {name} failed: {exc}")
            continue
        failed = getattr(run, "failed", None)
        if failed:
            result.failed[name] = f"{len(failed)} sequence(s) failed (see the errors log of the run)"
            log(f"  {name}: {result.failed[name]}")
            continue
        result.ran.append(name)

    if opts.speed:
        for name in result.ran:
            log(f"measure speed of {name} (CPU, 1 thread) ...")
            try:
                sp = run_speed(name, workspace, device="cpu", threads=1, options=SpeedOptions(
                    warmup=2, iters=5, max_sequences=2, max_frames=opts.speed_frames, warmup_frames=3))
            except Exception as exc:  # noqa: BLE001 - a user's tracker may raise anything
                if not isinstance(exc, Mfv2benchError):
                    exc = Mfv2benchError(f"{type(exc).__name__}: {exc}")
                log(f"  speed of {name} not measured: {exc}")
                result.speed[name] = None
                result.speed_failed[name] = str(exc)
                continue
            result.speed[name] = sp.tracking_fps or sp.model_fps
            log(f"  {name}: {result.speed[name]:.1f} FPS" if result.speed[name] else f"  {name}: no FPS")

    if not result.ran:
        raise Mfv2benchError("no tracker ran, so there is no report; "
                             + "; ".join(f"{k}: {v}" for k, v in {**result.skipped, **result.failed}.items()))
    out = opts.out or workspace.reports_dir / "demo"
    if opts.explain:
        _explain_networks(workspace, result, out, log)
    notes = [f"skipped {k}: {v}" for k, v in result.skipped.items()]
    notes += [f"failed {k}: {v}" for k, v in result.failed.items()]
    notes += [f"speed of {k} not measured: {v}" for k, v in result.speed_failed.items()]
    files = build_report(workspace, DEMO_DATASET, result.ran, out=out, pdf=opts.pdf,
                         title="mfv2bench demo: synthetic LaSOT-format data", notes=notes,
                         attention=list(result.attention.values()))
    result.report_html, result.report_pdf = files.html, files.pdf
    log(f"report: {files.html}" + (f" and {files.pdf}" if files.pdf else ""))
    result.metrics_text = metrics_text(workspace, result.ran)
    return result


def _explain_networks(workspace: Workspace, result: DemoResult, out: Path,
                      log: Callable[[str], None]) -> None:
    """The prediction tokens' attention on one frame of the first sequence, for each tracker that
    ran with trained weights and whose kind can explain itself (the figure the report shows);
    an explanation that fails is logged, never a demo failure."""
    registry = SpecRegistry(workspace.trackers_dir, workspace.root)
    split = load_split(DEMO_DATASET, workspace=workspace)
    seq = split.sequences[0]
    frame = max(2, seq.n_frames // 2)
    for name in result.ran:
        spec = registry.resolve(name, dataset=DEMO_DATASET)
        kind = kind_of(spec)
        if not kind.capabilities(spec).explain or kind.weights(spec).random:
            continue
        log(f"explain {name}: attention on frame {frame} of {seq.name} ...")
        try:
            files = explain(workspace, name, DEMO_DATASET, seq.name, frame,
                            out=out / "explain" / name, state="result", layers=False)
        except Exception as exc:  # noqa: BLE001 - a figure is not worth failing the demo
            logger.warning("attention of %s not drawn: %s", name, exc)
            continue
        result.attention[name] = files.folder


def metrics_text(workspace: Workspace, trackers: list[str]) -> str:
    """The table the report opens with (scores are cached beside the results: no recompute)."""
    split = load_split(DEMO_DATASET, workspace=workspace)
    return analysis_text(analyze_store(split, trackers, workspace.results_dir, pairwise=False))
