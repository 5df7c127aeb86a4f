"""Options several verbs share, declared once so that their names, help and VALIDATION read the
same everywhere: the same option is checked identically in every verb, and a bad value is one
line on stderr with exit status 2 (``cli.Mfv2benchGroup`` turns click's usage errors into that).

Value types (use as ``type=`` of a ``click.option``)::

    THREADS        1..usable cores of this machine (threads.available_cores)
    JOBS           1..256 parallel workers
    BATCH          1..1024
    ITERS          1..1_000_000 timed calls / resamples (>= 1)
    WARMUP         0..1_000_000 untimed calls (>= 0)
    count(lo, hi)  any other integer range (click.IntRange with a clamp-free, named message)
    DEVICE         one device: cpu | cuda | cuda:N (syntax; availability is checked where used)
    DEVICES        cpu | cuda | cuda:N | cuda:0,cuda:1 (no duplicates, no cpu+cuda mix)
    NAME           a non-empty, stripped string (--protocol, --dataset, --tracker, ...)
    NAME_LIST      comma-separated names -> list[str] (blanks dropped; empty or duplicate refused)

Declared options (decorators)::

    root_option, results_option, trust_checkpoint_option
    threads_option(help=...), device_option(help=..., multi=False), jobs_option(...)
"""

from __future__ import annotations

import re
from typing import Any

import click

from ..threads import available_cores

# --- value types ---------------------------------------------------------------------------------


class _Count(click.IntRange):
    """An integer in [lo, hi] whose error says the range in words (and, for threads, why)."""

    def __init__(self, lo: int, hi: int | None = None, why: str = "") -> None:
        super().__init__(min=lo, max=hi)
        self.why = why

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        number = click.INT.convert(value, param, ctx) if not isinstance(value, int) else value
        lo, hi = self.min, self._max()
        if number < lo or (hi is not None and number > hi):
            span = f"in {lo}..{hi}" if hi is not None else f">= {lo}"
            self.fail(f"{number} is not {span}{self.why}", param, ctx)
        return int(number)

    def _max(self) -> int | None:
        return self.max

    def _describe_range(self) -> str:  # shown in --help as [1..N]
        hi = self._max()
        return f"{self.min}..{hi}" if hi is not None else f">= {self.min}"


class _Threads(_Count):
    """1..the cores this process may use: more threads than cores only oversubscribes (timings
    inflate), and huge counts crash the BLAS/OpenMP runtimes (``--threads 100000`` segfaulted)."""

    def __init__(self) -> None:
        super().__init__(1, None)

    def _max(self) -> int:
        return available_cores()

    def convert(self, value, param, ctx):
        self.why = f" (this machine has {available_cores()} usable cores)"
        return super().convert(value, param, ctx)


def count(lo: int, hi: int | None = None) -> click.IntRange:
    """An integer option type in ``lo..hi`` with the shared one-line error."""
    return _Count(lo, hi)


THREADS = _Threads()
JOBS = _Count(1, 256)
BATCH = _Count(1, 1024)
ITERS = _Count(1, 1_000_000)
WARMUP = _Count(0, 1_000_000)

_DEVICE = re.compile(r"^(cpu|cuda|cuda:\d+)$")


class _Device(click.ParamType):
    """Device syntax (``cpu``, ``cuda``, ``cuda:N``; lists with ``multi``), lower-cased. Whether
    this machine has the device is checked where it is used (that needs torch)."""

    name = "device"

    def __init__(self, multi: bool = False) -> None:
        self.multi = multi

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        text = str(value).strip().lower()
        parts = [p.strip() for p in text.split(",")] if self.multi else [text]
        usage = "cpu, cuda, cuda:N" + (" or cuda:0,cuda:1" if self.multi else "")
        if not text or any(not _DEVICE.match(p) for p in parts):
            self.fail(f"{value!r} is not a device (use {usage})", param, ctx)
        if len(set(parts)) != len(parts):
            self.fail(f"{value!r} lists a device twice", param, ctx)
        if "cpu" in parts and len(parts) > 1:
            self.fail(f"{value!r} mixes cpu and cuda devices", param, ctx)
        return ",".join(parts)


DEVICE = _Device(multi=False)
DEVICES = _Device(multi=True)


class _Name(click.ParamType):
    """A non-empty string, stripped (``--protocol ""`` is refused, not read as 'default')."""

    name = "text"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        text = str(value).strip()
        if not text:
            self.fail("must not be empty", param, ctx)
        return text


class _NameList(click.ParamType):
    """Comma-separated names -> list of names (blank items dropped); empty lists and duplicates
    are refused."""

    name = "a,b,..."

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> list[str]:
        if isinstance(value, list):
            return value
        names = [n.strip() for n in str(value).split(",") if n.strip()]
        if not names:
            self.fail(f"{value!r} names nothing", param, ctx)
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            self.fail(f"names {', '.join(twice)} twice", param, ctx)
        return names


NAME = _Name()
NAME_LIST = _NameList()

# --- declared options ----------------------------------------------------------------------------

root_option = click.option(
    "--root", type=click.Path(file_okay=False), default=None,
    help="Data set root (default: from mfv2bench.toml).")

results_option = click.option(
    "--results", "results_dir", type=click.Path(file_okay=False), default=None,
    help="Results folder (default: the workspace's results/).")

trust_checkpoint_option = click.option(
    "--trust-checkpoint", is_flag=True,
    help="Allow a checkpoint holding pickled objects besides tensors to load (runs code from "
         "the file: only for files from a trusted source). Only this flag grants it: "
         "trust_checkpoint in a spec file is ignored.")


def threads_option(help: str = "CPU threads (default: all usable cores).", **kw: Any):
    """``--threads N``: 1..usable cores."""
    return click.option("--threads", type=THREADS, default=None, help=help, **kw)


def device_option(help: str = "cpu or cuda[:N].", multi: bool = False, default: str = "cpu",
                  **kw: Any):
    """``--device``: one device (``multi``: a comma list of CUDA devices)."""
    return click.option("--device", type=DEVICES if multi else DEVICE, default=default,
                        show_default=True, help=help, **kw)


def jobs_option(*names: str, help: str = "Parallel workers.", default: int | None = None, **kw: Any):
    """``--jobs``-like worker counts: 1..256."""
    return click.option(*(names or ("--jobs",)), type=JOBS, default=default, help=help, **kw)


__all__ = ["BATCH", "DEVICE", "DEVICES", "ITERS", "JOBS", "NAME", "NAME_LIST", "THREADS", "WARMUP",
           "count", "device_option", "jobs_option", "results_option", "root_option",
           "threads_option", "trust_checkpoint_option"]
