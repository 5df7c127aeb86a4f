"""An ablation table's definition (TOML) and the verdict rule of its claims.

The definition lists the rows (a tracker spec each, a label, what it ablates), the reference
row every other row is paired against, and the claims: two specs compared on one metric with
an expected direction. Example (``recipes/micro-ablations-table.toml``)::

    name = "micro-ablations"
    title = "Model reduction at micro scale"
    dataset = "synthetic-lasot"          # default; the command's --dataset wins
    reference = "mfv2-micro-noupdate"    # the row every other row is paired against
    alpha = 0.05                         # significance level of the paired tests
    metric = "auc"                       # the claims' metric (auc, precision, norm_precision)

    [[row]]
    spec = "mfv2-micro-noupdate"
    label = "full student"
    ablates = "reference"

    [[claim]]
    name = "dense-to-sparse distillation helps"
    paper = "distilled token head > token head trained on GT only"
    a = "mfv2-micro-noupdate"            # the side the paper says is better / keeps accuracy
    b = "mfv2-micro-direct"
    direction = "better"                 # or "keeps" (with margin, in metric points)

Verdicts (``judge``), from the paired test of ``a - b`` on the same sequences (sign-flip
permutation p-value, paired bootstrap CI; ``metrics.stats``):

- ``better``: reproduced when the difference is positive and p < alpha; not reproduced when
  the difference is zero or negative (``a`` is not better here); inconclusive when positive but
  not significant.
- ``keeps`` (non-inferiority): reproduced when the whole CI of the difference lies above
  ``-margin``; not reproduced when the difference itself is below ``-margin``; inconclusive
  otherwise (the point estimate is within the margin but the CI reaches beyond it).
"""

from __future__ import annotations

import math
import re
import sys
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

from ..errors import ConfigError
from ..metrics.stats import PairedTest

DIRECTIONS = ("better", "keeps")
CLAIM_METRICS = ("auc", "precision", "norm_precision")
REPRODUCED = "reproduced at micro scale"
NOT_REPRODUCED = "not reproduced"
INCONCLUSIVE = "inconclusive"
NOT_EVALUATED = "not evaluated"
DEFAULT_MARGIN = 1.0  # metric points (percent) for "keeps"
_LABELS = {"auc": "AUC", "precision": "P", "norm_precision": "NP"}
DEFAULT_NOTE = "trained by mfv2bench on synthetic data; not comparable to published numbers"

_TOP_KEYS = {"name", "title", "description", "note", "dataset", "reference", "alpha", "metric",
             "row", "claim"}
_ROW_KEYS = {"spec", "label", "ablates"}
_CLAIM_KEYS = {"name", "paper", "a", "b", "direction", "margin", "metric"}


@dataclass(frozen=True)
class Row:
    spec: str
    label: str
    ablates: str


@dataclass(frozen=True)
class Claim:
    name: str
    a: str
    b: str
    direction: str
    metric: str
    margin: float = DEFAULT_MARGIN  # points; used by "keeps"
    paper: str = ""

    def statement(self) -> str:
        """The claim as tested, in words."""
        if self.direction == "better":
            return f"{self.a} > {self.b} ({self.metric}, paired test)"
        return (f"{self.a} keeps {self.b}'s {self.metric} (within {self.margin:g} points, "
                "non-inferiority by the CI)")


@dataclass(frozen=True)
class TableDefinition:
    """A validated ablation table definition."""

    path: Path
    name: str
    title: str
    description: str
    note: str
    dataset: str | None
    reference: str
    alpha: float
    metric: str
    rows: tuple[Row, ...]
    claims: tuple[Claim, ...]

    @property
    def specs(self) -> list[str]:
        return [r.spec for r in self.rows]

    def row(self, spec: str) -> Row:
        return next(r for r in self.rows if r.spec == spec)

    def without(self, specs: set[str]) -> "TableDefinition":
        """This table less the rows of ``specs`` and the claims that name one of them."""
        return replace(self, rows=tuple(r for r in self.rows if r.spec not in specs),
                       claims=tuple(c for c in self.claims
                                    if c.a not in specs and c.b not in specs))


def _headers(text: str, table: str) -> list[int]:
    """Line numbers (1-based) of each ``[[table]]`` header, in order."""
    pattern = re.compile(r"^\s*\[\[\s*" + re.escape(table) + r"\s*\]\]")
    return [i + 1 for i, line in enumerate(text.splitlines()) if pattern.match(line)]


def _line_of(text: str, key: str, start: int = 1) -> int | None:
    """First line at or after ``start`` that sets ``key`` (a top-level key when start is 1)."""
    pattern = re.compile(r"^\s*" + re.escape(key) + r"\s*=")
    for i, line in enumerate(text.splitlines()[start - 1:], start=start):
        if pattern.match(line):
            return i
    return None


class _Where:
    """Builds 'file:line: ...' messages for the definition being read."""

    def __init__(self, path: Path, text: str) -> None:
        self.path, self.text = path, text
        self.rows, self.claims = _headers(text, "row"), _headers(text, "claim")

    def error(self, message: str, line: int | None = None) -> ConfigError:
        where = f"{self.path}:{line}" if line else str(self.path)
        return ConfigError(f"{where}: {message}")

    def item(self, kind: str, index: int, key: str | None = None) -> int | None:
        headers = self.rows if kind == "row" else self.claims
        start = headers[index] if index < len(headers) else None
        if start is None:
            return None
        if key is None:
            return start
        end = min([h for h in self.rows + self.claims if h > start], default=10**9)
        line = _line_of(self.text, key, start)
        return line if line is not None and line < end else start


def _text(value: Any, what: str, where: _Where, line: int | None, required: bool = True) -> str:
    if not required and (value is None or value == ""):
        return ""
    if not isinstance(value, str) or not value.strip():
        raise where.error(f"{what} must be a non-empty string, got {value!r}", line)
    return value.strip()


def load_table(path: str | Path, known_specs: list[str] | set[str],
               allow_unknown: bool = False) -> TableDefinition:
    """Read and check a table definition: every key known, every row's spec among
    ``known_specs`` (unless ``allow_unknown``: rows not trained yet are then left out by the
    caller), every claim naming two rows, a known direction and metric. Errors name the file
    and line."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{p}: cannot read the ablation table definition: "
                          f"{exc.strerror or exc}") from None
    try:
        body = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{p}: not valid TOML: {exc}") from None
    where = _Where(p, text)
    unknown = sorted(set(body) - _TOP_KEYS)
    if unknown:
        raise where.error(f"unknown key(s) {', '.join(unknown)} (known: "
                          f"{', '.join(sorted(_TOP_KEYS))})", _line_of(text, unknown[0]))
    name = _text(body.get("name", p.stem), "name", where, _line_of(text, "name"))
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", name):
        raise where.error(f"name {name!r} must be usable as a folder name (letters, digits, "
                          ". _ -)", _line_of(text, "name"))
    metric = body.get("metric", "auc")
    if metric not in CLAIM_METRICS:
        raise where.error(f"metric {metric!r} is not one of {', '.join(CLAIM_METRICS)}",
                          _line_of(text, "metric"))
    alpha = body.get("alpha", 0.05)
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not 0 < alpha < 1:
        raise where.error(f"alpha must be a number in (0, 1), got {alpha!r}",
                          _line_of(text, "alpha"))
    dataset = body.get("dataset")
    if dataset is not None:
        dataset = _text(dataset, "dataset", where, _line_of(text, "dataset"))
    known = set(known_specs)
    raw_rows = body.get("row", [])
    if not isinstance(raw_rows, list) or not raw_rows:
        raise where.error("a table needs [[row]] entries (spec, label, ablates)")
    rows: list[Row] = []
    for i, r in enumerate(raw_rows):
        if not isinstance(r, dict):
            raise where.error(f"[[row]] #{i + 1} must be a table", where.item("row", i))
        bad = sorted(set(r) - _ROW_KEYS)
        if bad:
            raise where.error(f"[[row]] #{i + 1}: unknown key(s) {', '.join(bad)} (known: "
                              f"{', '.join(sorted(_ROW_KEYS))})", where.item("row", i, bad[0]))
        spec = _text(r.get("spec"), f"[[row]] #{i + 1} spec", where, where.item("row", i, "spec"))
        if spec not in known and not allow_unknown:
            raise where.error(f"[[row]] #{i + 1}: unknown tracker spec {spec!r} (no "
                              f"trackers/{spec}.toml)", where.item("row", i, "spec"))
        if spec in [x.spec for x in rows]:
            raise where.error(f"[[row]] #{i + 1}: spec {spec!r} is listed twice",
                              where.item("row", i, "spec"))
        rows.append(Row(spec=spec,
                        label=_text(r.get("label", spec), f"[[row]] #{i + 1} label", where,
                                    where.item("row", i, "label")),
                        ablates=_text(r.get("ablates", ""), f"[[row]] #{i + 1} ablates", where,
                                      where.item("row", i, "ablates"), required=False)))
    specs = [r.spec for r in rows]
    reference = body.get("reference", specs[0])
    if reference not in specs:
        raise where.error(f"reference {reference!r} is not the spec of a [[row]] (rows: "
                          f"{', '.join(specs)})", _line_of(text, "reference"))
    raw_claims = body.get("claim", [])
    if not isinstance(raw_claims, list):
        raise where.error("claim must be [[claim]] tables")
    claims: list[Claim] = []
    for i, c in enumerate(raw_claims):
        if not isinstance(c, dict):
            raise where.error(f"[[claim]] #{i + 1} must be a table", where.item("claim", i))
        bad = sorted(set(c) - _CLAIM_KEYS)
        if bad:
            raise where.error(f"[[claim]] #{i + 1}: unknown key(s) {', '.join(bad)} (known: "
                              f"{', '.join(sorted(_CLAIM_KEYS))})",
                              where.item("claim", i, bad[0]))
        cname = _text(c.get("name"), f"[[claim]] #{i + 1} name", where,
                      where.item("claim", i, "name"))
        label = f"[[claim]] #{i + 1} ({cname!r})"
        sides = []
        for side in ("a", "b"):
            value = _text(c.get(side), f"{label} {side}", where, where.item("claim", i, side))
            if value not in specs:
                raise where.error(f"{label}: {side} = {value!r} is not the spec of a [[row]] "
                                  f"(rows: {', '.join(specs)})", where.item("claim", i, side))
            sides.append(value)
        if sides[0] == sides[1]:
            raise where.error(f"{label}: a and b are the same spec", where.item("claim", i, "b"))
        direction = c.get("direction")
        if direction not in DIRECTIONS:
            raise where.error(f"{label}: direction {direction!r} is not one of "
                              f"{', '.join(DIRECTIONS)}", where.item("claim", i, "direction"))
        cmetric = c.get("metric", metric)
        if cmetric not in CLAIM_METRICS:
            raise where.error(f"{label}: metric {cmetric!r} is not one of "
                              f"{', '.join(CLAIM_METRICS)}", where.item("claim", i, "metric"))
        margin = c.get("margin", DEFAULT_MARGIN)
        if isinstance(margin, bool) or not isinstance(margin, (int, float)) or margin < 0 \
                or not math.isfinite(margin):
            raise where.error(f"{label}: margin must be a number of metric points >= 0, got "
                              f"{margin!r}", where.item("claim", i, "margin"))
        if "margin" in c and direction != "keeps":
            raise where.error(f"{label}: margin is for direction = \"keeps\"",
                              where.item("claim", i, "margin"))
        claims.append(Claim(name=cname, a=sides[0], b=sides[1], direction=direction,
                            metric=cmetric, margin=float(margin),
                            paper=_text(c.get("paper"), f"{label} paper", where,
                                        where.item("claim", i, "paper"), required=False)))
    return TableDefinition(
        path=p, name=name,
        title=_text(body.get("title", name), "title", where, _line_of(text, "title")),
        description=_text(body.get("description"), "description", where,
                          _line_of(text, "description"), required=False),
        note=_text(body.get("note", DEFAULT_NOTE), "note", where, _line_of(text, "note")),
        dataset=dataset, reference=reference, alpha=float(alpha), metric=metric,
        rows=tuple(rows), claims=tuple(claims))


@dataclass
class Verdict:
    """One claim judged on a paired test of ``a - b`` (scores as fractions, margin in points)."""

    claim: str
    a: str
    b: str
    direction: str
    metric: str
    verdict: str
    why: str
    diff: float
    ci_low: float
    ci_high: float
    p_value: float
    n_sequences: int
    score_a: float
    score_b: float
    alpha: float
    margin: float | None = None
    paper: str = ""
    statement: str = ""
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _pts(v: float) -> str:
    return f"{100.0 * v:+.2f}"


def judge(claim: Claim, test: PairedTest, alpha: float) -> Verdict:
    """The verdict of ``claim`` from ``test`` (a paired test of claim.a - claim.b on one metric,
    scores as fractions). The rule is in the module docstring; ``why`` states the numbers."""
    if test.a != claim.a or test.b != claim.b:
        raise ValueError(f"paired test {test.a} - {test.b} does not match claim "
                         f"{claim.a} - {claim.b}")
    d, lo, hi, p = test.diff, test.ci_low, test.ci_high, test.p_value
    n = test.n_sequences
    label = _LABELS.get(claim.metric, claim.metric)
    numbers = (f"{label} {claim.a} - {claim.b} = {_pts(d)} points (95% CI [{_pts(lo)}, "
               f"{_pts(hi)}]), p = {p:.3g} ({'<' if p < alpha else '>='} alpha {alpha:g}), "
               f"{n} sequences")
    floor = 2.0 / 2 ** n if n else 1.0  # the smallest two-sided sign-flip p with n sequences
    if claim.direction == "better" and floor >= alpha:
        numbers += f"; with {n} sequences no p below {floor:.3g} is possible"
    margin = None
    if any(math.isnan(x) for x in (d, lo, hi, p)):
        verdict, why = INCONCLUSIVE, f"no usable paired test ({numbers})"
    elif claim.direction == "better":
        if d > 0 and p < alpha:
            verdict, why = REPRODUCED, f"{claim.a} is significantly better: {numbers}"
        elif d <= 0:
            verdict = NOT_REPRODUCED
            why = (f"{claim.a} is not better than {claim.b}"
                   + (" (it is significantly worse)" if p < alpha else "") + f": {numbers}")
        else:
            verdict, why = INCONCLUSIVE, f"{claim.a} is ahead, not significantly: {numbers}"
    else:
        margin = claim.margin
        m = margin / 100.0
        if lo > -m:
            verdict, why = REPRODUCED, (f"non-inferior within {margin:g} points (the CI's low "
                                        f"end {_pts(lo)} > -{margin:g}): {numbers}")
        elif d < -m:
            verdict, why = NOT_REPRODUCED, (f"{claim.a} is lower than {claim.b} by more than "
                                            f"{margin:g} points: {numbers}")
        else:
            verdict, why = INCONCLUSIVE, (f"within {margin:g} points, but the CI reaches "
                                          f"{_pts(lo)}: {numbers}")
    return Verdict(claim=claim.name, a=claim.a, b=claim.b, direction=claim.direction,
                   metric=claim.metric, verdict=verdict, why=why, diff=d, ci_low=lo, ci_high=hi,
                   p_value=p, n_sequences=test.n_sequences, score_a=test.score_a,
                   score_b=test.score_b, alpha=alpha, margin=margin, paper=claim.paper,
                   statement=claim.statement())


def not_evaluated(claim: Claim, alpha: float, why: str) -> Verdict:
    """The entry of a claim one of whose rows is not available (not trained or exported yet)."""
    nan = float("nan")
    return Verdict(claim=claim.name, a=claim.a, b=claim.b, direction=claim.direction,
                   metric=claim.metric, verdict=NOT_EVALUATED, why=why, diff=nan, ci_low=nan,
                   ci_high=nan, p_value=nan, n_sequences=0, score_a=nan, score_b=nan,
                   alpha=alpha, margin=claim.margin if claim.direction == "keeps" else None,
                   paper=claim.paper, statement=claim.statement())


def oriented(test: PairedTest, a: str, b: str) -> PairedTest:
    """``test`` as ``a - b`` (a test of ``b - a`` is flipped: difference and CI negated)."""
    if (test.a, test.b) == (a, b):
        return test
    if (test.a, test.b) != (b, a):
        raise ValueError(f"paired test {test.a} - {test.b} is not about {a} and {b}")
    return PairedTest(a=a, b=b, metric=test.metric, n_sequences=test.n_sequences,
                      score_a=test.score_b, score_b=test.score_a, diff=-test.diff,
                      ci_low=-test.ci_high, ci_high=-test.ci_low, p_value=test.p_value,
                      method=test.method)
