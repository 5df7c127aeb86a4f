"""``mfv2bench ablations TABLE``: the paper-style ablation table of trained specs, with a verdict
per claim (``mfv2bench/app/ablation.py``)."""

from __future__ import annotations

import json

import click

from ..app.ablation import LatencyOptions, run_ablations
from ..workspace import Workspace
from .options import ITERS, JOBS, NAME, NAME_LIST, results_option, root_option


@click.command("ablations")
@click.argument("table", type=click.Path(dir_okay=False))
@click.option("--dataset", "-d", type=NAME, default=None,
              help="Data set (default: the table's 'dataset', else synthetic-lasot).")
@click.option("--split", type=NAME, default=None, help="Split (default: the data set's).")
@root_option
@results_option
@click.option("--workers", "-j", type=JOBS, default=1, show_default=True,
              help="Worker processes for the evaluation of rows without stored results.")
@click.option("--out", type=click.Path(file_okay=False), default=None,
              help="Output folder (default: reports/ablations/<table name>/).")
@click.option("--latency/--no-latency", default=True, show_default=True,
              help="Measure model latency, parameters and FLOPs of every row.")
@click.option("--latency-iters", type=ITERS, default=60, show_default=True,
              help="Timed calls per row (1 thread, in 6 interleaved rounds).")
@click.option("--rerun", type=NAME_LIST, default=None, metavar="SPEC,..",
              help="Rows whose stored results are discarded and run again (e.g. after their "
                   "checkpoint was re-exported; stored results of another checkpoint are "
                   "otherwise refused).")
@click.option("--skip-missing", is_flag=True,
              help="Leave out rows whose spec or checkpoint does not exist yet (listed; their "
                   "claims are 'not evaluated') instead of refusing the table.")
@click.option("--json", "as_json", is_flag=True, help="Print the table's JSON instead.")
@click.pass_obj
def command(ws: Workspace, table, dataset, split, root, results_dir, workers, out, latency,
            latency_iters, rerun, skip_missing, as_json) -> None:
    """Build the ablation table defined in TABLE (TOML: rows, reference, claims).

    Rows without complete results on the split are evaluated first (resumable: rerun to
    continue); each row is scored with 95% CIs and paired against the reference row; claims get
    a verdict: reproduced at micro scale, not reproduced, or inconclusive, with the numbers.
    Writes ablations.md, index.html and ablations.json; prints the markdown.
    """
    result = run_ablations(table, ws, dataset=dataset, split=split, root=root,
                           results_dir=results_dir, workers=workers, out=out,
                           latency=LatencyOptions(enabled=latency, iters=latency_iters),
                           progress=not as_json, rerun=rerun,
                           skip_missing=skip_missing,
                           log=lambda msg: click.echo(msg, err=True))
    if as_json:
        click.echo(json.dumps(result.to_json(), indent=1, default=str))
    else:
        click.echo(result.markdown)
