"""Plain-text rendering of an ``Analysis`` for the terminal (the report renders HTML/PDF)."""

from __future__ import annotations

import math

from mfv2bench.metrics.analysis import METRIC_LABELS, Analysis


def _pct(v: float | None, digits: int = 1) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    return f"{100.0 * v:.{digits}f}"


def _grid(header: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(str(r[i])) for r in [header] + rows) for i in range(len(header))]
    fmt = lambda r: "  ".join(str(c).ljust(w) if i == 0 else str(c).rjust(w)  # noqa: E731
                              for i, (c, w) in enumerate(zip(r, widths)))
    return [fmt(header), "  ".join("-" * w for w in widths)] + [fmt(r) for r in rows]


def analysis_text(a: Analysis, attributes: bool = False) -> str:
    """Scores with 95 % CIs, the protocol name and hash beside them, pairwise tests, flags."""
    lines = [f"{a.dataset}-{a.split}  protocol {a.label}"
             + ("  PARTIAL split: " + f"{len(a.missing)} sequences missing" if a.partial else "")]
    repeated = any(a.runs_of(t) > 1 for t in a.trackers)
    header = ["tracker", "seqs"] + (["runs"] if repeated else [])
    for m in a.metrics:  # the run-to-run spread next to the bootstrap CI over sequences
        header += [f"{METRIC_LABELS[m]} [95% CI]"] + ([f"{METRIC_LABELS[m]} run SD"]
                                                     if repeated else [])
    fps = {t: a.overall[t].speed_fps for t in a.trackers}
    show_fps = any(v is not None and v > 0 for v in fps.values())
    if show_fps:
        header.append("FPS")
    rows = []
    for t in a.trackers:
        mark = "" if a.comparable(t) else f" [{a.coverage_of(t).upper()}]"
        row = [t + mark, str(len(a.sequences[t]))] + ([str(a.runs_of(t))] if repeated else [])
        for m in a.metrics:
            lo, hi = a.ci[t][m]
            row.append(f"{_pct(a.score(t, m))} [{_pct(lo)}, {_pct(hi)}]")
            if repeated:
                row.append(_pct(a.run_spread(t, m), 2))
        if show_fps:
            row.append(f"{fps[t]:.1f}" if fps[t] is not None and fps[t] > 0 else "-")
        rows.append(row)
    lines += _grid(header, rows)
    if a.pairwise:
        lines += ["", "paired tests (A - B; sign-flip permutation p, paired bootstrap 95% CI):"]
        rows = [[f"{t.a} - {t.b}", METRIC_LABELS[t.metric], f"{100 * t.diff:+.2f}",
                 f"[{100 * t.ci_low:+.2f}, {100 * t.ci_high:+.2f}]", f"{t.p_value:.3g}",
                 str(t.n_sequences)] for t in a.pairwise]
        lines += _grid(["pair", "metric", "diff", "95% CI", "p", "seqs"], rows)
    if attributes and len(a.attributes):
        lines += ["", f"attributes ({METRIC_LABELS[a.metrics[0]]}):"]
        table = a.attributes.pivot(index="attribute", columns="tracker", values=a.metrics[0])
        counts = a.attributes.groupby("attribute")["n_sequences"].max()
        rows = [[attr, str(int(counts[attr]))] + [_pct(table.loc[attr, t]) for t in a.trackers]
                for attr in dict.fromkeys(a.attributes["attribute"])]
        lines += _grid(["attribute", "seqs"] + a.trackers, rows)
    for t in a.trackers:
        rep = a.degenerate.get(t)
        if rep is not None and rep.any:
            for flag, names in rep.summary().items():
                few = ", ".join(names[:5]) + (" ..." if len(names) > 5 else "")
                lines.append(f"warning: {t}: {flag.replace('_', ' ')} in {len(names)} "
                             f"sequence(s): {few}")
    for t in a.trackers:
        if not a.comparable(t):
            why = "; ".join(a.coverage_reasons.get(t, [])) or "not the full official split"
            lines.append(f"note: {t}: {a.coverage_of(t).upper()} ({why}): not comparable with "
                         "full-split or published results")
    if repeated:
        how = ("every frame of every run pooled (as the GOT-10k toolkit does)"
               if a.runs_rule == "pool-frames" else "per-sequence curves averaged over runs "
               "(as pytracking's merge_results=True does)")
        lines.append(f"note: runs averaged: {how}; run SD: standard deviation of the per-run "
                     "scores (ddof=1); the CI resamples sequences of the averaged scores")
    for t, rej in a.rejected.items():
        lines.append(f"note: {t}: {len(rej)} sequence(s) refused by {a.protocol}: "
                     + ", ".join(sorted(rej)[:5]))
    lines += length_note_lines(a)
    return "\n".join(lines)


def length_note_lines(a: Analysis, limit: int = 10) -> list[str]:
    """One line per sequence whose result was shorter or longer than it, saying what the
    protocol's rule did (the first ``limit`` per tracker; the JSON lists all)."""
    out = []
    for t, per_seq in a.length_notes.items():
        names = sorted(per_seq)
        for seq in names[:limit]:
            out.append(f"note: {t}: {seq}: " + "; ".join(per_seq[seq]))
        if len(names) > limit:
            out.append(f"note: {t}: {len(names) - limit} more sequence(s) with a result shorter "
                       "or longer than the sequence (--json lists them)")
    return out
