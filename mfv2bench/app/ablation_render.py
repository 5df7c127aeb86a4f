"""Markdown and HTML of an ablation table (the JSON-ready body ``ablation.assemble`` builds), in
the style of the paper's ablation tables: one row per trained variant with its accuracy, the
difference to the reference row, and its cost; then each claim with its verdict and numbers."""

from __future__ import annotations

import html
import math
from typing import Any

VERDICT_MARKS = {"reproduced at micro scale": "reproduced", "not reproduced": "NOT reproduced",
                 "inconclusive": "inconclusive", "not evaluated": "not evaluated"}


def _num(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _pct(v: Any, digits: int = 1) -> str:
    return f"{100.0 * v:.{digits}f}" if _num(v) else "-"


def _signed(v: Any, digits: int = 2) -> str:
    return f"{100.0 * v:+.{digits}f}" if _num(v) else "-"


def _p(v: Any) -> str:
    if not _num(v):
        return "-"
    return f"{v:.3f}" if v >= 0.001 else f"{v:.1e}"


def _score(row: dict[str, Any], m: str) -> str:
    lo, hi = row["ci"].get(m, [None, None])
    return f"{_pct(row['scores'].get(m))} [{_pct(lo)}, {_pct(hi)}]"


def _delta(row: dict[str, Any], m: str, with_ci: bool = True) -> str:
    if row["reference"]:
        return "(reference)"
    t = row["vs_reference"].get(m)
    if not t:
        return "-"
    ci = f" [{_signed(t['ci'][0])}, {_signed(t['ci'][1])}]" if with_ci else ""
    return f"{_signed(t['diff'])}{ci}, p={_p(t['p'])}"


def _latency(row: dict[str, Any]) -> str:
    ms = row.get("latency_ms")
    if not _num(ms):
        return "-"
    ratio = row.get("latency_ratio")
    return f"{ms:.2f}" + (f" (x{ratio:.2f})" if _num(ratio) and not row["reference"] else "")


def _training(row: dict[str, Any]) -> tuple[str, str, str]:
    """(training minutes, validation IoU, stage) from the sidecar."""
    t = row.get("training") or {}
    secs = t.get("training_seconds")
    return (f"{secs / 60:.1f}" if _num(secs) else "-",
            f"{t['val_iou']:.3f}" if _num(t.get("val_iou")) else "-",
            str(t.get("stage") or "-"))


def _columns(body: dict[str, Any]) -> list[str]:
    labels = body["metric_labels"]
    head = ["Model", "Ablates"]
    for m in body["metrics"]:
        head.append(f"{labels[m]} [95% CI]")
        if m == body["metrics"][0]:
            head.append(f"Δ{labels[m]} vs ref [95% CI], p")
    return head + ["Latency ms (x ref)", "Params (M)", "GFLOPs", "Training (min)", "Val IoU"]


def _cells(body: dict[str, Any], row: dict[str, Any]) -> list[str]:
    first = body["metrics"][0]
    cells = [f"{row['label']} (`{row['spec']}`)", row["ablates"] or "-"]
    for m in body["metrics"]:
        cells.append(_score(row, m))
        if m == first:
            cells.append(_delta(row, m))
    train_min, val_iou, _ = _training(row)
    cells += [_latency(row),
              f"{row['params'] / 1e6:.3f}" if _num(row.get("params")) else "-",
              f"{row['flops'] / 1e9:.3f}" if _num(row.get("flops")) else "-",
              train_min, val_iou]
    return cells


def _md_table(head: list[str], rows: list[list[str]]) -> list[str]:
    esc = [[c.replace("|", "\\|") for c in r] for r in [head] + rows]
    return (["| " + " | ".join(esc[0]) + " |", "|" + "|".join("---" for _ in head) + "|"]
            + ["| " + " | ".join(r) + " |" for r in esc[1:]])


def _claim_cells(c: dict[str, Any]) -> list[str]:
    expected = ("better" if c["direction"] == "better"
                else f"keeps (within {c['margin']:g} pts)")
    return [c["claim"], f"`{c['a']}` vs `{c['b']}`", expected,
            f"{_signed(c['diff'])} [{_signed(c['ci_low'])}, {_signed(c['ci_high'])}]",
            _p(c["p_value"]), VERDICT_MARKS.get(c["verdict"], c["verdict"])]


def _how(body: dict[str, Any]) -> list[str]:
    d, lat = body["data"], body["latency"]
    boot = d.get("bootstrap") or {}
    lines = [f"Data: `{d['key']}` ({d['sequences']} sequences), protocol `{d['protocol']}` "
             f"[{d['protocol_hash']}]. Scores in percent with 95% per-sequence bootstrap CIs "
             f"({boot.get('resamples', '?')} resamples); Δ = row - reference "
             f"(`{body['reference']}`) on the same sequences: paired bootstrap 95% CI and "
             f"sign-flip permutation p (alpha {body['alpha']:g})."]
    if lat.get("measured"):
        load = lat.get("load_average")
        lines.append(f"Latency: {lat['what']}; CPU {lat['cpu']}, {lat['threads']} thread(s), "
                     f"median of {lat['iters']} calls in {lat['rounds']} rounds; load average "
                     f"{load} at the end" + ("; THE MACHINE WAS BUSY: absolute times are "
                                             "inflated, compare the ratios" if lat.get("busy")
                                             else "") + f". FLOPs: {lat['flops']}.")
    else:
        lines.append("Latency, parameters and FLOPs: not measured in this run.")
    lines.append("Training: from each checkpoint's JSON sidecar (whole pipeline time where the "
                 "sidecar has it; validation IoU of the exported stage).")
    return lines


def render_markdown(body: dict[str, Any]) -> str:
    """The table, the claims with verdicts, and how it was measured, as markdown."""
    out = [f"# {body['title']}", "", f"**{body['note'].capitalize()}.**", ""]
    if body.get("description"):
        out += [body["description"], ""]
    out += _md_table(_columns(body), [_cells(body, r) for r in body["rows"]])
    for r in body.get("unavailable") or []:
        out.append(f"\nNot in this table yet: {r['label']} (`{r['spec']}`, {r['ablates'] or '-'})"
                   f": {r['why']}.")
    others = [r for r in body["rows"] if not r["reference"]]
    if others and len(body["metrics"]) > 1:
        labels = body["metric_labels"]
        out += ["", f"Paired tests against the reference (`{body['reference']}`):", ""]
        head = ["Model"] + [f"Δ{labels[m]} [95% CI], p" for m in body["metrics"]]
        out += _md_table(head, [[f"`{r['spec']}`"] + [_delta(r, m) for m in body["metrics"]]
                                for r in others])
    if body["claims"]:
        out += ["", "## Claims", ""]
        out += _md_table(["Claim (paper)", "Compared", "Expected", "Δ [95% CI]", "p",
                          "Verdict"], [_claim_cells(c) for c in body["claims"]])
        out.append("")
        for c in body["claims"]:
            out.append(f"- **{c['claim']}**: {c['verdict']}. {c['why']}."
                       + (f" Paper: {c['paper']}." if c.get("paper") else ""))
            for note in c.get("notes") or []:
                out.append(f"  - note: {note}")
    out += ["", *_how(body), ""]
    return "\n".join(out)


_CSS = """body{font-family:system-ui,sans-serif;margin:2em;color:#222}
table{border-collapse:collapse;margin:1em 0;font-size:0.9em}
th,td{border-top:1px solid #999;border-bottom:1px solid #999;padding:4px 8px;text-align:right;
white-space:nowrap}
th:first-child,td:first-child,th:nth-child(2),td:nth-child(2){text-align:left;white-space:normal}
tr.ref{background:#f3f3f3} .note{font-weight:bold;color:#8a2b00}
.reproduced{color:#176d22;font-weight:bold} .not{color:#a01010;font-weight:bold}
.inconclusive{color:#7a6a00;font-weight:bold} p.how{font-size:0.85em;color:#444}"""


def _h(text: Any) -> str:
    return html.escape(str(text))


def _html_table(head: list[str], rows: list[list[str]], classes: list[str] | None = None) -> str:
    th = "".join(f"<th>{_h(c)}</th>" for c in head)
    body = []
    for i, r in enumerate(rows):
        cls = f' class="{classes[i]}"' if classes and classes[i] else ""
        body.append(f"<tr{cls}>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>")
    return f"<table><thead><tr>{th}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _verdict_class(verdict: str) -> str:
    return {"reproduced at micro scale": "reproduced", "not reproduced": "not"}.get(
        verdict, "inconclusive")


def render_html(body: dict[str, Any]) -> str:
    """A self-contained HTML page of the same content as the markdown."""
    rows = [[_h(c).replace("`", "") for c in _cells(body, r)] for r in body["rows"]]
    parts = [f"<h1>{_h(body['title'])}</h1>",
             f"<p class=\"note\">{_h(body['note'].capitalize())}.</p>"]
    if body.get("description"):
        parts.append(f"<p>{_h(body['description'])}</p>")
    parts.append(_html_table(_columns(body), rows,
                             ["ref" if r["reference"] else "" for r in body["rows"]]))
    for r in body.get("unavailable") or []:
        parts.append(f"<p>Not in this table yet: {_h(r['label'])} ({_h(r['spec'])}): "
                     f"{_h(r['why'])}.</p>")
    others = [r for r in body["rows"] if not r["reference"]]
    if others and len(body["metrics"]) > 1:
        labels = body["metric_labels"]
        parts.append(f"<h3>Paired tests against the reference ({_h(body['reference'])})</h3>")
        parts.append(_html_table(["Model"] + [f"Δ{labels[m]} [95% CI], p"
                                              for m in body["metrics"]],
                                 [[_h(r["spec"])] + [_h(_delta(r, m)) for m in body["metrics"]]
                                  for r in others]))
    if body["claims"]:
        parts.append("<h2>Claims</h2>")
        crow = []
        for c in body["claims"]:
            cells = [_h(x).replace("`", "") for x in _claim_cells(c)]
            cells[-1] = f'<span class="{_verdict_class(c["verdict"])}">{cells[-1]}</span>'
            crow.append(cells)
        parts.append(_html_table(["Claim (paper)", "Compared", "Expected", "Δ [95% CI]", "p",
                                  "Verdict"], crow))
        items = []
        for c in body["claims"]:
            notes = "".join(f"<li>note: {_h(n)}</li>" for n in c.get("notes") or [])
            items.append(f"<li><b>{_h(c['claim'])}</b>: <span class=\""
                         f"{_verdict_class(c['verdict'])}\">{_h(c['verdict'])}</span>. "
                         f"{_h(c['why'])}." + (f" Paper: {_h(c['paper'])}." if c.get("paper")
                                               else "")
                         + (f"<ul>{notes}</ul>" if notes else "") + "</li>")
        parts.append(f"<ul>{''.join(items)}</ul>")
    parts += [f"<p class=\"how\">{_h(line).replace('`', '')}</p>" for line in _how(body)]
    return ("<!DOCTYPE html><html><head><meta charset=\"utf-8\">"
            f"<title>{_h(body['title'])}</title><style>{_CSS}</style></head><body>"
            + "\n".join(parts) + "</body></html>\n")
