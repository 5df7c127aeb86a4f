"""``mfv2bench leaderboard``: published and local results ranked together."""

from __future__ import annotations

from pathlib import Path

import click

from ..app.leaderboard import FORMATS, leaderboard, render_board
from ..errors import ConfigError
from ..leaderboard.published import check_metric, load_published
from ..metrics.protocols import check_protocol_name
from .analyze import not_empty
from .options import NAME, NAME_LIST, results_option, root_option


@click.command("leaderboard")
@click.option("--dataset", type=NAME, required=True, help="lasot, lasot_ext, got10k, trackingnet (or any published set, e.g. uav123).")
@click.option("--metric", type=NAME, default="auc", show_default=True, help="auc, p, p_norm, ao, sr50, sr75, eao.")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True)
@click.option("--trackers", type=NAME_LIST, default=None, help="Local trackers to include (default: all with results).")
@click.option("--speed", type=click.Choice(["gpu", "cpu"]), default="gpu", show_default=True,
              help="FPS column of the speed-accuracy Pareto front.")
@click.option("--protocol", default=None, callback=lambda c, p, v: check_protocol_name(v),
              help="Metric protocol for local results (default: the data set's).")
@root_option
@results_option
@click.option("--published", "published_path", type=click.Path(dir_okay=False, exists=True), default=None,
              help="Another published-results CSV (same columns as the shipped one).")
@click.option("--published-as", "published_as", multiple=True, metavar="LOCAL=PUBLISHED[,..]",
              help="Which published row a local tracker reproduces (PUBLISHED: Tracker, Variant or "
                   "Tracker:Variant), for the reproduction delta; by default names are matched "
                   "ignoring case and punctuation.")
@click.option("--out", type=click.Path(dir_okay=False), default=None, help="Write to this file instead of stdout.")
@click.pass_obj
def command(workspace, dataset, metric, fmt, trackers, speed, protocol, root, results_dir, published_path,
            published_as, out):
    """Rank published results (with sources) and ours; mark ours, show the reproduction delta
    (e.g. our mfv2-b vs the paper's 70.6 AUC on LaSOT) and the speed-accuracy Pareto front."""
    not_empty(results=results_dir, root=root, out=out, published=published_path)
    check_metric(metric, load_published(published_path))
    names = trackers  # a list (NAME_LIST) or None
    board = leaderboard(workspace, dataset, metric, trackers=names, speed=speed, protocol=protocol,
                        root=root, results_dir=results_dir, published_path=published_path,
                        published_as=parse_published_as(published_as))
    text = render_board(board, fmt)
    if out:
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        Path(out).write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8")
        click.echo(f"wrote {out}")
    else:
        click.echo(text.rstrip("\n"))


def parse_published_as(values: tuple[str, ...] | list[str]) -> dict[str, str]:
    """``LOCAL=PUBLISHED[,LOCAL=PUBLISHED..]`` (option repeatable) -> {local: published}; a pair
    without ``=``, an empty side or a local name given twice is one error line."""
    out: dict[str, str] = {}
    for value in values or ():
        for pair in str(value).split(","):
            if not pair.strip():
                continue
            local, sep, pub = pair.partition("=")
            local, pub = local.strip(), pub.strip()
            if not sep or not local or not pub:
                raise ConfigError(f"--published-as {pair!r}: expected LOCAL=PUBLISHED (e.g. "
                                  "transt-mine=TransT or ostrack=OSTrack:OSTrack-384)")
            if local in out and out[local] != pub:
                raise ConfigError(f"--published-as: {local} given twice ({out[local]}, {pub})")
            out[local] = pub
    return out
