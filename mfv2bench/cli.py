"""The ``mfv2bench`` command: a thin click group. Each verb lives in ``mfv2bench/commands/<verb>.py``
as a click command named ``command`` and calls library functions; nothing below prints: library
modules log, and the group sends their warnings to stderr (``mfv2bench.logs``)."""

from __future__ import annotations

import importlib
import sys

import click

from . import __version__
from .errors import Mfv2benchError
from .logs import configure as configure_logging
from .workspace import load_workspace

# Verb modules, in help order. Each exposes ``command`` (a click.Command or click.Group).
COMMAND_MODULES = (
    "demo",
    "eval",
    "analyze",
    "report",
    "speed",
    "precision",
    "leaderboard",
    "submit",
    "datasets",
    "trackers",
    "results",
    "train",
    "ablations",
    "tune",
    "show",
    "explain",
)


def _usage_error(exc: click.UsageError) -> None:
    """A bad option or argument (click's usage error: out-of-range number, bad choice, missing
    value, unknown option) as ONE line on stderr, exit status 2, like every other user error."""
    where = exc.ctx.command_path if exc.ctx is not None else "mfv2bench"
    message = " ".join(exc.format_message().split())
    click.echo(f"error: {message} (see '{where} -h')", err=True)
    sys.exit(2)


class Mfv2benchGroup(click.Group):
    """Turns user-fixable errors into one line on stderr and exit status 2: ours
    (``Mfv2benchError``) and click's usage errors alike, so every option is refused the same way."""

    def make_context(self, info_name, args, parent=None, **extra):
        try:
            return super().make_context(info_name, args, parent=parent, **extra)
        except click.UsageError as exc:
            _usage_error(exc)

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except Mfv2benchError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(2)
        except click.UsageError as exc:
            _usage_error(exc)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [name for name in COMMAND_MODULES if self.get_command(ctx, name) is not None]

    def get_command(self, ctx: click.Context, name: str):
        if name not in COMMAND_MODULES:
            return None
        try:
            module = importlib.import_module(f"mfv2bench.commands.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"mfv2bench.commands.{name}":
                return None
            raise
        return module.command


@click.group(cls=Mfv2benchGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="mfv2bench")
@click.option("--workspace", "workspace", type=click.Path(file_okay=False), default=None,
              envvar="MFV2BENCH_WORKSPACE",
              help="Workspace folder (default: nearest folder upwards holding mfv2bench.toml).")
@click.option("-v", "--verbose", count=True,
              help="More messages on stderr (-v: progress notes, -vv: debug).")
@click.option("-q", "--quiet", is_flag=True, help="Only errors on stderr (no warnings).")
@click.pass_context
def main(ctx: click.Context, workspace: str | None, verbose: int, quiet: bool) -> None:
    """mfv2bench: evaluate single-object trackers (MixFormerV2 and baselines) on LaSOT,
    GOT-10k and TrackingNet with metrics that match the official toolkits."""
    configure_logging(-1 if quiet else verbose)
    ctx.obj = load_workspace(workspace)


if __name__ == "__main__":  # pragma: no cover
    main()
