"""``mfv2bench eval``: run a tracker over a split (parallel, resumable), then print its metrics."""

from __future__ import annotations

import json
import sys

import click

from ..errors import ConfigError
from ..runner.evaluate import BACKENDS, eval_analysis, run_eval
from ..workspace import Workspace
from .options import results_option, root_option, trust_checkpoint_option


def _summary_lines(run) -> list[str]:
    s = run.summary()
    lines = [f"{s['tracker']} on {s['dataset']}: ran {s['ran']}, already complete {s['skipped']}, "
             f"failed {len(s['failed'])}" + (", interrupted" if s["interrupted"] else "")
             + f" ({s['backend']}, {s['workers']} worker(s), timing: {s['timing']})",
             f"results: {s['results']}"]
    if s["failed"]:
        few = ", ".join(s["failed"][:5]) + (" ..." if len(s["failed"]) > 5 else "")
        lines.append(f"failed sequences: {few}; tracebacks in {s['errors_log']}")
    if s["missing_on_disk"]:
        lines.append(f"{len(s['missing_on_disk'])} sequence(s) of the split were not on disk")
    lines.append("run is COMPLETE" if s["complete"] else
                 "run is PARTIAL (metrics below cover the finished sequences only; rerun to resume)")
    return lines


@click.command("eval")
@click.option("--tracker", "-t", required=True, help="Tracker spec name (trackers/<name>.toml).")
@click.option("--dataset", "-d", required=True,
              help="Data set, optionally with split: lasot, got10k-val, synthetic-lasot, ...")
@click.option("--split", default=None, help="Split (default: the data set's).")
@click.option("--jobs", "-j", type=int, default=None,
              help="Parallel workers (default: all cores; one per GPU with several --device).")
@click.option("--device", default="cpu", show_default=True,
              help="cpu, cuda:0, or cuda:0,cuda:1 (one worker per GPU).")
@click.option("--threads", type=int, default=None,
              help="torch/OpenCV threads per worker (default: cores / workers).")
@click.option("--backend", type=click.Choice(BACKENDS), default="joblib", show_default=True,
              help="joblib: processes on this machine; dask: a Dask cluster.")
@click.option("--scheduler", default=None,
              help="Dask scheduler address (tcp://host:8786); default: a local cluster.")
@click.option("--force", is_flag=True, help="Discard this tracker's results on the split and redo all.")
@click.option("--allow-partial", is_flag=True,
              help="Run the sequences present on disk when some are missing (marked partial).")
@click.option("--sequences", default=None, help="Comma-separated subset of sequences.")
@root_option
@results_option
@click.option("--no-metrics", is_flag=True, help="Do not print the metrics table at the end.")
@trust_checkpoint_option
@click.option("--json", "as_json", is_flag=True, help="Print the summary (and metrics) as JSON; no progress bar.")
@click.pass_obj
def command(ws: Workspace, tracker, dataset, split, jobs, device, threads, backend, scheduler, force,
            allow_partial, sequences, root, results_dir, no_metrics, trust_checkpoint,
            as_json) -> None:
    """Run TRACKER on every sequence of a split and store raw results.

    Sequences already complete (same spec hash) are skipped; a sequence whose tracker raises is
    logged to errors.log and the run ends with exit status 1. Ctrl-C stops cleanly: rerun to
    resume.
    """
    subset = [s.strip() for s in sequences.split(",") if s.strip()] if sequences else None
    if sequences is not None and not subset:
        raise ConfigError("--sequences is empty")
    try:
        run = run_eval(tracker, dataset, split=split, workspace=ws, jobs=jobs, device=device,
                       backend=backend, scheduler=scheduler, force=force,
                       allow_partial=allow_partial, trust_checkpoint=trust_checkpoint,
                       sequences=subset, progress=not as_json,
                       results_dir=results_dir, root=root, threads=threads)
    except KeyboardInterrupt:
        click.echo("interrupted: finished sequences are saved; run the same command to resume",
                   err=True)
        sys.exit(130)
    analysis = None if no_metrics else eval_analysis(run)
    if as_json:
        out = run.summary()
        out["metrics"] = analysis.to_json() if analysis is not None else None
        click.echo(json.dumps(out, indent=1, default=str))
    else:
        for line in _summary_lines(run):
            click.echo(line)
        if analysis is not None:
            from ..metrics.text import analysis_text

            click.echo("")
            click.echo(analysis_text(analysis))
            if (run.manifest.get("checkpoint") or {}).get("random_weights"):
                click.echo(f"warning: {tracker} ran with RANDOM WEIGHTS (a latency-only spec): "
                           "these accuracy numbers are meaningless", err=True)
        elif not no_metrics:
            click.echo("no metrics: this split has first-frame ground truth only (server-scored); "
                       "see `mfv2bench submit`" if run.finished_sequences else
                       "no metrics: no sequence finished")
    if not run.ok:
        sys.exit(1)
