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
from .options import results_option, root_option


MAX_RESAMPLES = 100_000  # bootstrap memory grows with it: 10^5 x sequences is already plenty


def name_list(text: str, option: str) -> list[str]:
    """Comma-separated names: an empty list or a name given twice is a ConfigError."""
    names = [t.strip() for t in str(text).split(",") if t.strip()]
    if not names:
        raise ConfigError(f"{option} needs at least one name")
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise ConfigError(f"{option} names {', '.join(twice)} twice")
    return names


def not_empty(**options: str | None) -> None:
    """An option given as an empty string (``--results ""``) is an error, never its default."""
    for name, value in options.items():
        if value is not None and not str(value).strip():
            flag = "--" + name.replace("_", "-")
            raise ConfigError(f"{flag} is empty (leave it out for the default)")


@click.command("analyze")
@click.option("--dataset", required=True, help="Data set, optionally with split (lasot, "
              "got10k-val, synthetic-lasot).")
@click.option("--split", default=None, help="Split (default: the data set's).")
@click.option("--trackers", required=True, help="Comma-separated tracker names (result folders).")
@click.option("--protocol", default=None, callback=lambda c, p, v: check_protocol_name(v),
              help=f"Metric protocol (default: the data set's). One of: {', '.join(PROTOCOLS)}.")
@results_option
@root_option
@click.option("--sequences", default=None, help="Comma-separated subset of sequences.")
@click.option("--allow-partial", is_flag=True, help="Score the sequences present on disk; "
              "the output is marked partial.")
@click.option("--skip-refused", is_flag=True, help="Leave out sequences the protocol's toolkit "
              "refuses (listed in the output) instead of stopping.")
@click.option("--attributes", is_flag=True, help="Also print the per-attribute table.")
@click.option("--resamples", type=int, default=2000, show_default=True,
              help="Bootstrap resamples for the CIs.")
@click.option("--no-cache", is_flag=True, help="Do not read or write the parse and score "
              "caches kept beside the raw results.")
@click.option("--workers", type=int, default=None,
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
    names = name_list(trackers, "--trackers")
    if workers is not None and not 1 <= workers <= 256:
        raise ConfigError(f"--workers must be in 1..256, not {workers}")
    if not 100 <= resamples <= MAX_RESAMPLES:
        raise ConfigError(f"--resamples must be in 100..{MAX_RESAMPLES}, not {resamples}")
    if split is not None and not split.strip():
        raise ConfigError("--split is empty (leave it out for the data set's default split)")
    subset = name_list(sequences, "--sequences") if sequences is not None else None
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
