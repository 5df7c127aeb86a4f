"""``mfv2bench speed``: model latency and end-to-end tracking speed, measured properly."""

from __future__ import annotations

import json

import click

from ..errors import ConfigError
from ..speed.auto_runtime import AUTO
from ..speed.eval_timings import eval_timings_of
from ..speed.render import breakdown_text, eval_timings_text, scaling_text, summary_text
from ..speed.run import SpeedOptions, run_speed
from ..trackers.kinds import all_runtimes
from ..speed.store import load_speed_results
from ..app.speed_accuracy import speed_accuracy_from_store
from ..speed.table import speed_accuracy_text
from ..workspace import Workspace
from .options import (BATCH, ITERS, NAME, NAME_LIST, WARMUP, count, device_option,
                      threads_option)


def _names(tracker: str | None, trackers: list[str] | None) -> list[str]:
    names = [tracker] if tracker else []
    names += list(trackers or [])
    return list(dict.fromkeys(names))


@click.command("speed")
@click.option("--tracker", "tracker", type=NAME, default=None, help="Tracker spec name (e.g. mfv2-s).")
@click.option("--trackers", "trackers", type=NAME_LIST, default=None, help="Comma-separated spec names.")
@device_option()
@threads_option()
@click.option("--batch", type=BATCH, default=1, show_default=True)
@click.option("--precision", type=click.Choice(["fp32", "fp16", "bf16"]), default="fp32",
              show_default=True)
@click.option("--runtime", type=click.Choice([*all_runtimes(), AUTO]),
              default=None, help="Override the spec's runtime (network trackers); auto: the "
                                 "fastest exact (float32) runtime on this machine, measured once "
                                 "and cached per CPU, versions, model and threads.")
@click.option("--breakdown", is_flag=True, help="Component breakdown with params and FLOPs.")
@click.option("--scaling", is_flag=True, help="Thread (CPU) and batch scaling tables.")
@click.option("--iters", type=ITERS, default=20, show_default=True, help="Timed calls.")
@click.option("--warmup", type=WARMUP, default=3, show_default=True, help="Untimed calls first.")
@click.option("--mode", type=click.Choice(["cached", "full"]), default="cached",
              show_default=True, help="cached: templates set once; full: whole forward.")
@click.option("--dataset", type=NAME, default="synthetic-lasot", show_default=True,
              help="Frames for end-to-end speed.")
@click.option("--sequences", "max_sequences", type=count(1), default=3, show_default=True,
              help="Sequences timed end to end.")
@click.option("--frames", "max_frames", type=count(2), default=60, show_default=True,
              help="Frames read per sequence (frame 0 included, not timed).")
@click.option("--no-tracking", is_flag=True, help="Model latency only.")
@click.option("--saved", is_flag=True, help="Show saved results instead of measuring.")
@click.option("--accuracy-table", "accuracy_on", type=NAME, default=None, metavar="DATASET",
              help="Show the speed-accuracy table (AUC from eval results on DATASET, saved "
                   "isolated speeds, published points) instead of measuring.")
@click.option("--eval-timings", is_flag=True,
              help="Show the per-frame timings recorded by eval runs, labelled (contended when "
                   "the run had parallel workers); never used as the tracker's speed.")
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON.")
@click.pass_obj
def command(ws: Workspace, tracker, trackers, device, threads, batch, precision, runtime,
            breakdown, scaling, iters, warmup, mode, dataset, max_sequences, max_frames,
            no_tracking, saved, accuracy_on, eval_timings, as_json) -> None:
    """Time trackers: model latency (synthetic inputs) and end-to-end speed (real frames).

    Results are saved to results/<tracker>/speed/<device>-<threads>t-b<batch>-<precision>.json
    with the hardware/software manifest. Without a checkpoint, networks run with random
    weights (latency does not depend on weight values); the results say so.
    """
    names = _names(tracker, trackers)
    if eval_timings:
        rows = [row for n in (names or [None]) for row in eval_timings_of(ws.results_dir, n)]
        if as_json:
            click.echo(json.dumps(rows, indent=1))
        else:
            click.echo(eval_timings_text(rows))
        return
    if accuracy_on:
        table = speed_accuracy_from_store(ws, accuracy_on, names or None)
        if as_json:
            click.echo(table.to_json(orient="records", indent=1))
        else:
            click.echo(speed_accuracy_text(table))
        return
    if saved:
        results = [r for n in (names or [None]) for r in load_speed_results(ws.results_dir, n)]
    else:
        if not names:
            raise ConfigError("give --tracker NAME or --trackers A,B,...")
        opts = SpeedOptions(warmup=warmup, iters=iters, mode=mode, breakdown=breakdown,
                            scaling=scaling, tracking=not no_tracking, dataset=dataset,
                            max_sequences=max_sequences, max_frames=max_frames)
        results = [run_speed(n, ws, device=device, threads=threads, batch=batch,
                             precision=precision, runtime=runtime, options=opts)
                   for n in names]
    if as_json:
        click.echo(json.dumps([r.to_dict() for r in results], indent=1, default=str))
        return
    click.echo(summary_text(results))
    for r in results:
        for text in (breakdown_text(r), scaling_text(r)):
            if text:
                click.echo("\n" + text)
