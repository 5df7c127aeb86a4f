"""``mfv2bench eval``: run a tracker over a split (parallel, resumable), then print its metrics."""

from __future__ import annotations

import json
import sys

import click

from ..app.evaluation import evaluate_spec
from ..errors import ConfigError
from ..runner.backends import SCHEDULER_TIMEOUT_S
from ..runner.evaluate import BACKENDS
from ..runner.signals import EXIT_INTERRUPTED, Terminated, terminate_as_interrupt
from ..workspace import Workspace
from .options import count, results_option, root_option, trust_checkpoint_option


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
              help="torch/OpenCV threads per worker (default: cores / workers; at most the cores).")
@click.option("--backend", type=click.Choice(BACKENDS), default="joblib", show_default=True,
              help="joblib: processes on this machine; dask: a Dask cluster.")
@click.option("--scheduler", default=None,
              help="Dask scheduler address (tcp://host:8786); default: a local cluster.")
@click.option("--scheduler-timeout", type=float, default=SCHEDULER_TIMEOUT_S, show_default=True,
              metavar="SECONDS",
              help="Seconds to connect to --scheduler and get its handshake before giving up.")
@click.option("--timeout-frame", type=float, default=None, metavar="SECONDS",
              help="Fail a sequence when one frame (decode + track) takes longer (default: off; "
                   "the first frame includes warm-up such as compilation).")
@click.option("--timeout-sequence", type=float, default=None, metavar="SECONDS",
              help="Fail a sequence that takes longer than this in all (default: off).")
@click.option("--force", is_flag=True, help="Discard this tracker's results on the split and redo all.")
@click.option("--allow-partial", is_flag=True,
              help="Run the sequences present on disk when some are missing (marked partial).")
@click.option("--sequences", default=None, help="Comma-separated subset of sequences.")
@click.option("--runs", type=count(1, 999), default=1, show_default=True,
              help="Repeated runs (stochastic trackers): run 0 in the usual folder, run r in "
                   "run_<r:03d>/ inside it; the analysis averages them as the protocol's toolkit "
                   "does and shows the run-to-run spread.")
@click.option("--seed", type=count(0), default=0, show_default=True,
              help="Run r seeds each sequence from SEED + r (Python, NumPy, torch, OpenCV, C "
                   "rand()); recorded in each run's run.json.")
@root_option
@results_option
@click.option("--no-metrics", is_flag=True, help="Do not print the metrics table at the end.")
@trust_checkpoint_option
@click.option("--json", "as_json", is_flag=True, help="Print the summary (and metrics) as JSON; no progress bar.")
@click.pass_obj
def command(ws: Workspace, tracker, dataset, split, jobs, device, threads, backend, scheduler,
            scheduler_timeout, timeout_frame, timeout_sequence, force, allow_partial, sequences,
            runs, seed, root, results_dir, no_metrics, trust_checkpoint, as_json) -> None:
    """Run TRACKER on every sequence of a split and store raw results.

    Sequences already complete (same spec hash, same ground truth) are skipped; a sequence whose
    tracker raises, crashes its worker or runs past a timeout is logged to errors.log and the
    run ends with exit status 1. Ctrl-C (exit 130), SIGTERM (143) and SIGHUP (129) stop cleanly:
    workers stopped, finished sequences kept, run.json marked interrupted; rerun to resume. Results on
    anything but the whole official split are marked subset or partial. A metrics step that
    refuses is reported after the run summary (exit 2).
    """
    subset = [s.strip() for s in sequences.split(",") if s.strip()] if sequences else None
    if sequences is not None and not subset:
        raise ConfigError("--sequences is empty")
    try:
        with terminate_as_interrupt():
            result = evaluate_spec(tracker, dataset, metrics=not no_metrics, split=split,
                                   workspace=ws, jobs=jobs, device=device, backend=backend,
                                   scheduler=scheduler, scheduler_timeout=scheduler_timeout,
                                   timeout_frame=timeout_frame, timeout_sequence=timeout_sequence,
                                   force=force, allow_partial=allow_partial,
                                   trust_checkpoint=trust_checkpoint, sequences=subset,
                                   progress=not as_json, results_dir=results_dir, root=root,
                                   threads=threads, runs=runs, seed=seed)
    except Terminated as stop:
        click.echo(f"terminated ({stop}): workers stopped, finished sequences are saved; run the "
                   "same command to resume", err=True)
        sys.exit(stop.exit_status)
    except KeyboardInterrupt:
        click.echo("interrupted: finished sequences are saved; run the same command to resume",
                   err=True)
        sys.exit(EXIT_INTERRUPTED)
    if as_json:
        click.echo(json.dumps(result.to_json(), indent=1, default=str))
    else:
        for line in result.summary_lines():
            click.echo(line)
        if result.analysis is not None:
            click.echo("")
        if result.analysis_error is not None:
            click.echo(f"error: {result.metrics_text()}", err=True)
        elif result.analysis is not None or not no_metrics:
            click.echo(result.metrics_text())
        if result.analysis is not None and result.random_weights:
            click.echo(f"warning: {tracker} ran with RANDOM WEIGHTS (a latency-only spec): "
                       "these accuracy numbers are meaningless", err=True)
    if result.analysis_error is not None:
        sys.exit(2)
    if not result.ok:
        sys.exit(1)
