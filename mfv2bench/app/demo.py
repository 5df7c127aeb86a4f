"""``mfv2bench demo``: the whole pipeline on the embedded default, in a few minutes on a laptop.

Writes the synthetic LaSOT-format data set into the workspace's ``datasets/synthetic/lasot``,
runs the OpenCV baselines and the MixFormerV2 trackers whose checkpoints are present (the others
are skipped, with the reason), measures their speed, and writes the report
(``reports/demo/index.html`` and ``report.pdf``) and the metrics table the report opens with.
Progress goes through ``log`` (the CLI passes ``click.echo``); nothing here prints.
"""

from __future__ import annotations

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
from ..speed.run import SpeedOptions, run_speed
from ..trackers.kinds import kind_of
from ..trackers.specs import SpecRegistry
from ..workspace import Workspace

DEMO_DATASET = "synthetic-lasot"
BASELINES = ("csrt", "kcf", "mil")
MIXFORMERS = ("mfv2-b", "mfv2-s")


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


@dataclass
class DemoResult:
    dataset_root: Path
    wrote_dataset: bool
    ran: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)
    speed: dict[str, float | None] = field(default_factory=dict)
    report_html: Path | None = None
    report_pdf: Path | None = None
    metrics_text: str | None = None  # the table the report opens with


def _availability(workspace: Workspace, name: str) -> str | None:
    """None when ``name`` can run here; otherwise why not (missing spec, checkpoint, ...)."""
    registry = SpecRegistry(workspace.trackers_dir, workspace.root)
    try:
        spec = registry.resolve(name, dataset=DEMO_DATASET)
    except Mfv2benchError as exc:
        return f"no usable tracker spec: {exc}"
    return kind_of(spec).missing_weights(spec)


def run_demo(workspace: Workspace, options: DemoOptions | None = None,
             log: Callable[[str], None] = lambda _msg: None) -> DemoResult:
    """Data set -> runs -> speed -> report. Tracker failures are reported, the rest goes on."""
    opts = options or DemoOptions()
    root = workspace.data_root(DEMO_DATASET)
    wrote = ensure_synthetic("lasot", root, n_sequences=opts.sequences, n_frames=opts.frames, seed=opts.seed)
    log(("wrote" if wrote else "using existing") + f" synthetic LaSOT-format data set at {root}")
    result = DemoResult(dataset_root=root, wrote_dataset=wrote)

    for name in opts.trackers or [*BASELINES, *MIXFORMERS]:
        reason = _availability(workspace, name)
        if reason is not None:
            result.skipped[name] = reason
            log(f"skip {name}: {reason}")
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
            except Mfv2benchError as exc:
                log(f"  speed of {name} not measured: {exc}")
                result.speed[name] = None
                continue
            result.speed[name] = sp.tracking_fps or sp.model_fps
            log(f"  {name}: {result.speed[name]:.1f} FPS" if result.speed[name] else f"  {name}: no FPS")

    if not result.ran:
        raise Mfv2benchError("no tracker ran, so there is no report; "
                             + "; ".join(f"{k}: {v}" for k, v in {**result.skipped, **result.failed}.items()))
    out = opts.out or workspace.reports_dir / "demo"
    notes = [f"skipped {k}: {v}" for k, v in result.skipped.items()]
    notes += [f"failed {k}: {v}" for k, v in result.failed.items()]
    files = build_report(workspace, DEMO_DATASET, result.ran, out=out, pdf=opts.pdf,
                         title="mfv2bench demo: synthetic LaSOT-format data", notes=notes)
    result.report_html, result.report_pdf = files.html, files.pdf
    log(f"report: {files.html}" + (f" and {files.pdf}" if files.pdf else ""))
    result.metrics_text = metrics_text(workspace, result.ran)
    return result


def metrics_text(workspace: Workspace, trackers: list[str]) -> str:
    """The table the report opens with (scores are cached beside the results: no recompute)."""
    split = load_split(DEMO_DATASET, workspace=workspace)
    return analysis_text(analyze_store(split, trackers, workspace.results_dir, pairwise=False))
