"""``mfv2bench tune TRACKER --param P --values a,b --dataset D``: pick a test-time parameter on a
tuning split (``mfv2bench/app/tune.py``); never on a test split, never editing a spec."""

from __future__ import annotations

import json

import click

from ..app.tune import parse_values, tune
from ..errors import ConfigError
from ..workspace import Workspace
from .options import JOBS, NAME, results_option, root_option


@click.command("tune")
@click.argument("tracker", type=NAME)
@click.option("--param", required=True, type=NAME,
              help="The parameter to tune: a key of the spec's [params] (e.g. search_factor), "
                   "or model.<key>.")
@click.option("--values", "values_text", required=True, type=NAME,
              help="Comma-separated values to try, e.g. 4.0,4.5,5.0,5.5,6.0.")
@click.option("--dataset", "-d", required=True, type=NAME,
              help="The tuning split, e.g. synthetic-lasot-val (a split results are reported "
                   "on, such as a test split, is refused).")
@click.option("--split", type=NAME, default=None, help="Split (if not in --dataset).")
@root_option
@results_option
@click.option("--sequences", type=NAME, default=None,
              help="Comma-separated subset of the split's sequences.")
@click.option("--workers", "-j", type=JOBS, default=1, show_default=True,
              help="Worker processes per evaluation.")
@click.option("--metric", type=click.Choice(["auc", "precision", "norm_precision", "ao"]),
              default="auc", show_default=True, help="The score to maximise.")
@click.option("--write-spec", "write_spec", type=NAME, default=None, metavar="NAME",
              help="Write the chosen value into a NEW spec trackers/NAME.toml (extends TRACKER); "
                   "an existing file is refused.")
@click.option("--force", is_flag=True,
              help="Discard the tuned variants' stored results on the split and run them again.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_obj
def command(ws: Workspace, tracker, param, values_text, dataset, split, root, results_dir,
            sequences, workers, metric, write_spec, force, as_json) -> None:
    """Evaluate TRACKER with each value of --param on a tuning split and print the scores
    (95% CIs, paired tests against the best) and the best value.

    Each value's results are stored as TRACKER.tune-PARAM-VALUE (a rerun resumes).
    """
    subset = [s.strip() for s in sequences.split(",") if s.strip()] if sequences else None
    if sequences is not None and not subset:
        raise ConfigError("--sequences is empty")
    result = tune(tracker, param, parse_values(values_text), dataset, ws, split=split, root=root,
                  results_dir=results_dir, sequences=subset, workers=workers, metric=metric,
                  write_spec=write_spec, force=force, progress=not as_json,
                  log=lambda msg: click.echo(msg, err=True))
    if as_json:
        click.echo(json.dumps(result.to_json(), indent=1, default=str))
    else:
        click.echo(result.text())
