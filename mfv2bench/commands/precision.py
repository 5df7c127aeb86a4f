"""``mfv2bench precision``: reduced precision judged by accuracy (``app.precision``)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from ..app.precision import AUC_DROP_LIMIT, DEFAULT_VARIANTS, precision_accuracy, table_text
from ..workspace import Workspace
from .options import ITERS, NAME, THREADS, count, root_option


@click.command("precision")
@click.option("--tracker", type=NAME, default="mfv2-micro", show_default=True,
              help="A MixFormerV2 spec with trained weights.")
@click.option("--dataset", type=NAME, default="synthetic-lasot", show_default=True,
              help="Data set (and split) evaluated (make the synthetic one with 'mfv2bench "
                   "datasets synth lasot --sequences 30').")
@click.option("--sequences", type=count(1), default=None, help="The first N sequences only.")
@click.option("--runtimes", default=",".join(DEFAULT_VARIANTS), show_default=True,
              help="Runtimes compared (fp32 is the reference, official the speed baseline).")
@click.option("--threads", type=THREADS, default=1, show_default=True, help="CPU threads.")
@click.option("--latency-iters", type=ITERS, default=60, show_default=True,
              help="Timed network steps per runtime.")
@click.option("--protocol", default=None, help="Metric protocol (default: the data set's).")
@click.option("--json", "json_out", type=click.Path(dir_okay=False), default=None,
              help="Also write everything measured to this file.")
@root_option
@click.pass_obj
def command(ws: Workspace, tracker, dataset, sequences, runtimes, threads, latency_iters,
            protocol, json_out, root) -> None:
    """Evaluate one trained tracker in the official, exact fp32 and reduced-precision (bf16,
    int8) runtimes over the same sequences: AUC/P/NP deltas against fp32 with the paired test,
    and speed-ups over the official computation measured in the same run. A runtime whose AUC
    drops by more than 0.5 points is labelled. bf16 on a CPU without native bf16 is refused
    (set MFV2BENCH_ALLOW_EMULATED_BF16=1 to force it)."""
    names = [v.strip() for v in runtimes.split(",") if v.strip()]
    report = precision_accuracy(ws, tracker, dataset, root=root, sequences=sequences,
                                variants=names, threads=threads, protocol=protocol,
                                latency_iters=latency_iters, limit=AUC_DROP_LIMIT,
                                log=lambda m: click.echo(m, err=True))
    m = report.machine
    click.echo(f"CPU: {m['cpu_line']}; torch CPU capability {m['torch_cpu_capability']}; "
               f"threads {report.threads}; load average {m['load_average']}")
    click.echo(f"{report.tracker} on {report.dataset}: {len(report.sequences)} sequences, "
               f"{report.frames} frames; protocol {report.protocol}")
    click.echo(table_text(report))
    if json_out:
        Path(json_out).write_text(json.dumps(report.to_dict(), indent=1, default=str))
        click.echo(f"wrote {json_out}")
