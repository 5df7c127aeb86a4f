"""``mfv2bench analyze``: scores, CIs and paired tests from raw results on disk (nothing runs)."""

from __future__ import annotations

import json

import click

from .. import app
from ..datasets.registry import official_names
from ..errors import ConfigError
from ..metrics.protocols import PROTOCOLS, check_protocol_name
from ..metrics.text import analysis_text
from ..results import manifest as mf
from ..workspace import Workspace
from .options import JOBS, NAME, NAME_LIST, count, results_option, root_option


MAX_RESAMPLES = 100_000  # bootstrap memory grows with it: 10^5 x sequences is already plenty


def not_empty(**options: str | None) -> None:
    """An option given as an empty string (``--results ""``) is an error, never its default."""
    for name, value in options.items():
        if value is not None and not str(value).strip():
            flag = "--" + name.replace("_", "-")
            raise ConfigError(f"{flag} is empty (leave it out for the default)")


@click.command("analyze")
@click.option("--dataset", type=NAME, required=True, help="Data set, optionally with split (lasot, "
              "got10k-val, synthetic-lasot).")
@click.option("--split", type=NAME, default=None, help="Split (default: the data set's).")
@click.option("--trackers", type=NAME_LIST, required=True,
              help="Comma-separated tracker names (result folders).")
@click.option("--protocol", default=None, callback=lambda c, p, v: check_protocol_name(v),
              help=f"Metric protocol (default: the data set's). One of: {', '.join(PROTOCOLS)}.")
@results_option
@root_option
@click.option("--sequences", type=NAME_LIST, default=None,
              help="Comma-separated subset of sequences.")
@click.option("--allow-partial", is_flag=True, help="Score the sequences present on disk; "
              "the output is marked partial.")
@click.option("--skip-refused", is_flag=True, help="Leave out sequences the protocol's toolkit "
              "refuses (listed in the output) instead of stopping.")
@click.option("--attributes", is_flag=True, help="Also print the per-attribute table.")
@click.option("--resamples", type=count(100, MAX_RESAMPLES), default=2000, show_default=True,
              help="Bootstrap resamples for the CIs.")
@click.option("--no-cache", is_flag=True, help="Do not read or write the parse and score "
              "caches kept beside the raw results.")
@click.option("--workers", type=JOBS, default=None,
              help="Processes reading and scoring uncached trackers (default: up to 2).")
@click.option("--json", "as_json", is_flag=True, help="Print everything (every curve) as JSON.")
@click.pass_obj
def command(ws: Workspace, dataset, split, trackers, protocol, results_dir, root, sequences,
            allow_partial, skip_refused, attributes, resamples, no_cache, workers,
            as_json) -> None:
    """Score trackers' raw results on a split, with 95% CIs and paired tests.

    The protocol's name and short hash are printed beside the numbers.
    """
    not_empty(results=results_dir, root=root, dataset=dataset)
    names, subset = trackers, sequences  # lists, checked by their option types
    analysis = app.analyze(dataset, names, protocol, split=split, workspace=ws, root=root,
                           results_dir=results_dir, sequences=subset,
                           allow_partial=allow_partial, skip_refused=skip_refused,
                           cache=not no_cache, resamples=resamples, workers=workers)
    if subset is not None and official_names(analysis.dataset, analysis.split) is None:
        # no shipped list to judge the cut against (synthetic, custom): --sequences says it
        for t in analysis.trackers:
            analysis.mark_coverage(t, mf.SUBSET, [f"--sequences: {len(subset)} sequence(s)"])
    if as_json:
        click.echo(json.dumps(analysis.to_json(), indent=1))
    else:
        click.echo(analysis_text(analysis, attributes=attributes))
