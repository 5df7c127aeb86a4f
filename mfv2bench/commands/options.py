"""Options several verbs share, declared once so their names and help read the same everywhere."""

from __future__ import annotations

import click

root_option = click.option(
    "--root", type=click.Path(file_okay=False), default=None,
    help="Data set root (default: from mfv2bench.toml).")

results_option = click.option(
    "--results", "results_dir", type=click.Path(file_okay=False), default=None,
    help="Results folder (default: the workspace's results/).")

trust_checkpoint_option = click.option(
    "--trust-checkpoint", is_flag=True,
    help="Allow a checkpoint holding pickled objects besides tensors to load (runs code from "
         "the file: only for files from a trusted source).")
