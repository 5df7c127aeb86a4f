"""``mfv2bench tune TRACKER --param P --values a,b,c --dataset D``: choose a test-time parameter
(e.g. the search factor) on a tuning split, never on the split results are reported on.

Each value becomes a variant of the spec (``<tracker>.tune-<param>-<value>``: the spec with that
one value set after every other override), evaluated on the split through the runner (stored in
the results folder like any run, so a rerun resumes) and scored with the data set's protocol
(95 % per-sequence bootstrap CIs; paired tests of the best value against every other). The
split must not be one the data set's results are reported on (its test split, or GOT-10k's val):
for synthetic LaSOT trees use the ``val`` split (``mfv2bench datasets synth --format lasot
--splits val``), whose sequences come from a generator stream neither the test split nor the
training recipes draw from. The chosen value is written into a NEW spec file only when asked
(``write_spec``); existing specs are never modified.

    from mfv2bench import app
    from mfv2bench.app.tune import tune
    r = tune("mfv2-micro-direct", "search_factor", [4.0, 5.0, 5.5], "synthetic-lasot-val",
             app.workspace(), root="datasets/synthetic/lasot-val")
    print(r.best.value, r.text())
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable

from ..datasets.description import describe
from ..datasets.registry import load_split, parse_dataset_arg
from ..errors import ConfigError, Mfv2benchError
from ..metrics.analysis import METRIC_LABELS, Analysis, analyze_store
from ..runner.evaluate import run_eval
from ..trackers.specs import ResolvedSpec, SpecRegistry, deep_merge
from ..workspace import Workspace
from .ablation_table import oriented

logger = logging.getLogger(__name__)

SECTIONS = ("params", "model")
_SPEC_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")

Value = bool | int | float | str


def parse_values(text: str) -> list[Value]:
    """``"4.0,4.5,5"`` -> [4.0, 4.5, 5]: integers, numbers, true/false, else strings; blanks
    dropped; empty lists and repeated values refused."""
    items = [t.strip() for t in str(text).split(",") if t.strip()]
    if not items:
        raise ConfigError(f"--values {text!r} names no value")
    out: list[Value] = []
    for item in items:
        low = item.lower()
        if low in ("true", "false"):
            value: Value = low == "true"
        else:
            try:
                value = int(item)
            except ValueError:
                try:
                    value = float(item)
                except ValueError:
                    value = item
        if any(value == o and isinstance(value, bool) == isinstance(o, bool) for o in out):
            raise ConfigError(f"--values lists {item!r} twice")
        out.append(value)
    return out


def split_param(param: str) -> tuple[str, str]:
    """``search_factor`` -> ("params", "search_factor"); ``model.x`` -> ("model", "x")."""
    section, dot, key = param.strip().rpartition(".")
    section = section if dot else "params"
    if section not in SECTIONS or not key:
        raise ConfigError(f"--param {param!r}: a key of [params] (e.g. search_factor) or "
                          "model.<key>")
    return section, key


def _value_text(value: Value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def variant_name(tracker: str, key: str, value: Value) -> str:
    """The results name of one tuned value, e.g. ``mfv2-micro-direct.tune-search_factor-5.5``."""
    text = re.sub(r"[^A-Za-z0-9._-]", "_", _value_text(value))
    return f"{tracker}.tune-{key}-{text}"


class TuneRegistry(SpecRegistry):
    """The workspace's specs plus the tuned variants of one spec (which have no file): a
    variant resolves as its base with the tuned value applied LAST (after the base's
    ``[dataset.<family>]`` overrides, which would otherwise win)."""

    def __init__(self, folder: Path, workspace_root: Path) -> None:
        super().__init__(folder, workspace_root)
        self.variants: dict[str, tuple[str, dict[str, Any], str]] = {}

    def add_variant(self, name: str, base: str, override: dict[str, Any], note: str) -> None:
        self.variants[name] = (base, override, note)

    def resolve(self, name: str, dataset: str | None = None,
                overrides: dict[str, Any] | None = None) -> ResolvedSpec:
        if name not in self.variants:
            return super().resolve(name, dataset=dataset, overrides=overrides)
        base, override, note = self.variants[name]
        spec = super().resolve(base, dataset=dataset,
                               overrides=deep_merge(override, overrides or {}))
        return replace(spec, name=name, path=None,
                       description=f"{spec.description} [{note}]".strip())


@dataclass
class TunedValue:
    """One value's score on the tuning split (fractions; ``vs_best`` a paired test)."""

    value: Value
    name: str
    score: float
    ci: tuple[float, float]
    sequences: int
    vs_best: dict[str, float] | None = None  # diff, ci_low, ci_high, p (this - best)


@dataclass
class TuneResult:
    tracker: str
    param: str
    metric: str
    split_key: str
    protocol: str
    current: Value | None  # the spec's own value (effective configuration)
    values: list[TunedValue]
    best: TunedValue
    written: Path | None = None
    eval: dict[str, dict[str, Any]] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"tracker": self.tracker, "param": self.param, "metric": self.metric,
                "split": self.split_key, "protocol": self.protocol, "current": self.current,
                "best": self.best.value, "written": str(self.written) if self.written else None,
                "values": [{"value": v.value, "name": v.name, "score": v.score,
                            "ci": list(v.ci), "sequences": v.sequences, "vs_best": v.vs_best}
                           for v in self.values], "eval": self.eval}

    def text(self) -> str:
        """A terminal table: value, score with CI, difference to the best (paired), p."""
        label = METRIC_LABELS.get(self.metric, self.metric)
        lines = [f"{self.tracker}: {self.param} on {self.split_key} (tuning split), protocol "
                 f"{self.protocol}; {label} in percent, 95% CI; paired test against the best",
                 f"{'value':>10}  {label + ' [95% CI]':>22}  {'vs best [95% CI]':>24}  "
                 f"{'p':>7}  seqs"]
        for v in self.values:
            mark = " *" if v is self.best else ("  (current)" if v.value == self.current
                                                else "")
            if v.vs_best is None:
                vs, p = "(best)", "-"
            else:
                vs = (f"{100 * v.vs_best['diff']:+.2f} [{100 * v.vs_best['ci_low']:+.2f}, "
                      f"{100 * v.vs_best['ci_high']:+.2f}]")
                p = f"{v.vs_best['p']:.3g}"
            score = f"{100 * v.score:.1f} [{100 * v.ci[0]:.1f}, {100 * v.ci[1]:.1f}]"
            lines.append(f"{_value_text(v.value):>10}  {score:>22}  {vs:>24}  {p:>7}  "
                         f"{v.sequences}{mark}")
        lines.append(f"best: {self.param} = {_value_text(self.best.value)} ({label} "
                     f"{100 * self.best.score:.1f})"
                     + ("" if self.current is None else
                        f"; the spec's current value is {_value_text(self.current)}"))
        here = next((v for v in self.values if v.value == self.current), None)
        if here is not None and here is not self.best and here.vs_best is not None:
            significant = here.vs_best["p"] < 0.05
            lines.append(f"the best is {'' if significant else 'NOT '}significantly better than "
                         f"the current value on this split (paired p = "
                         f"{here.vs_best['p']:.3g}, {self.best.sequences} sequences)")
        if self.written:
            lines.append(f"wrote {self.written}")
        return "\n".join(lines)


def check_tuning_split(dataset: str, split: str | None) -> tuple[str, str]:
    """(data set, split) if the split may be tuned on; a split results are reported on (its
    ``eval_splits``: LaSOT test, GOT-10k val/test, ...) is refused."""
    name, in_name = parse_dataset_arg(dataset)
    info = describe(name)
    if split is not None and in_name is not None and split.lower() != in_name:
        raise ConfigError(f"split given twice and different: {dataset!r} and {split!r}")
    chosen = info.check_split((split or in_name or info.default_split).lower())
    if chosen in info.eval_splits:
        hint = ("use synthetic-lasot-val (write it with `mfv2bench datasets synth --format lasot "
                "--splits val --out DIR`, then pass --root DIR)" if info.synthetic else
                "tune on a training split's held-out sequences (--sequences) or another data set")
        raise ConfigError(f"{name}-{chosen} is a split results are reported on: a value chosen "
                          f"on it would be tuned on the test data; {hint}")
    return name, chosen


def choose_best(scores: list[tuple[Value, float]]) -> int:
    """Index of the highest score (the first of equal ones: values are tried in the order
    given); NaN never wins."""
    best = None
    for i, (_, s) in enumerate(scores):
        if s == s and (best is None or s > scores[best][1]):
            best = i
    if best is None:
        raise Mfv2benchError("no value got a score")
    return best


def tune(tracker: str, param: str, values: list[Value], dataset: str, workspace: Workspace, *,
         split: str | None = None, root: str | Path | None = None,
         results_dir: str | Path | None = None, sequences: list[str] | None = None,
         workers: int = 1, metric: str = "auc", write_spec: str | None = None,
         force: bool = False, progress: bool = False,
         log: Callable[[str], None] = lambda _msg: None) -> TuneResult:
    """Evaluate ``tracker`` with each of ``values`` for ``param`` on a tuning split, score them
    and pick the best; with ``write_spec``, write ``trackers/<write_spec>.toml`` (a NEW file:
    an existing one is refused) extending ``tracker`` with the chosen value. ``force``: discard
    the variants' stored results and run them again (results of another spec or checkpoint are
    otherwise refused by the runner)."""
    if not values:
        raise ConfigError("no values to try")
    if workers < 1:
        raise ConfigError("workers must be at least 1")
    section, key = split_param(param)
    name, chosen = check_tuning_split(dataset, split)
    target = _spec_target(workspace, write_spec) if write_spec is not None else None
    registry = TuneRegistry(workspace.trackers_dir, workspace.root)
    base = registry.resolve(tracker, dataset=name)  # unknown tracker: one clear error
    current = base.effective_config.get(section, {}).get(key)
    names = []
    for value in values:
        vname = variant_name(tracker, key, value)
        registry.add_variant(vname, tracker, {section: {key: value}},
                             f"tuning: {section}.{key} = {_value_text(value)}")
        registry.resolve(vname, dataset=name)  # the kind checks key and value before any run
        names.append(vname)
    res_dir = Path(results_dir) if results_dir is not None else workspace.results_dir
    runs: dict[str, dict[str, Any]] = {}
    for value, vname in zip(values, names):
        log(f"{section}.{key} = {_value_text(value)}: run {vname} on {name}-{chosen} ...")
        run = run_eval(vname, name, split=chosen, workspace=workspace, jobs=workers, root=root,
                       results_dir=res_dir, sequences=sequences, progress=progress,
                       registry=registry, force=force)
        summary = run.summary()
        runs[vname] = {"ran": summary["ran"], "already_complete": summary["skipped"],
                       "failed": list(summary["failed"])}
        if not run.ok or len(run.finished_sequences) < len(run.split.sequences):
            raise Mfv2benchError(f"{vname}: {len(summary['failed'])} sequence(s) failed or the "
                                 "run is incomplete; the finished sequences are kept: run the "
                                 "same command again to resume")
    data = load_split(name, split=chosen, root=root, sequences=sequences, workspace=workspace)
    analysis = analyze_store(data, names, res_dir, workers=min(workers, 2))
    result = _result(tracker, f"{section}.{key}" if section != "params" else key, metric,
                     analysis, values, names, current)
    result.eval = runs
    if target is not None:
        result.written = _write_spec(target, tracker, section, key, result, workspace)
    return result


def _result(tracker: str, param: str, metric: str, analysis: Analysis, values: list[Value],
            names: list[str], current: Value | None) -> TuneResult:
    if metric not in analysis.metrics:
        raise ConfigError(f"metric {metric!r} is not one of {', '.join(analysis.metrics)} "
                          f"under protocol {analysis.protocol}")
    tuned = [TunedValue(value=v, name=n, score=float(analysis.score(n, metric)),
                        ci=tuple(analysis.ci[n][metric]), sequences=len(analysis.sequences[n]))
             for v, n in zip(values, names)]
    best = tuned[choose_best([(t.value, t.score) for t in tuned])]
    for t in analysis.pairwise:
        if t.metric != metric or best.name not in (t.a, t.b):
            continue
        other = t.b if t.a == best.name else t.a
        o = oriented(t, other, best.name)  # this value minus the best
        entry = next(x for x in tuned if x.name == other)
        entry.vs_best = {"diff": o.diff, "ci_low": o.ci_low, "ci_high": o.ci_high,
                         "p": o.p_value}
    return TuneResult(tracker=tracker, param=param, metric=metric,
                      split_key=f"{analysis.dataset}-{analysis.split}", protocol=analysis.label,
                      current=current, values=tuned, best=best)


def _spec_target(workspace: Workspace, name: str) -> Path:
    if not _SPEC_NAME.fullmatch(name):
        raise ConfigError(f"--write-spec {name!r}: a spec name is letters, digits, . _ - "
                          "(the file becomes trackers/<name>.toml)")
    path = workspace.trackers_dir / f"{name}.toml"
    if path.exists():
        raise ConfigError(f"{path} exists: tune never modifies an existing spec; choose a new "
                          "name for --write-spec")
    return path


def _toml_value(value: Value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def _write_spec(path: Path, tracker: str, section: str, key: str, result: TuneResult,
                workspace: Workspace) -> Path:
    """A new spec extending ``tracker`` with the chosen value, with how it was chosen."""
    label = METRIC_LABELS.get(result.metric, result.metric)
    scores = ", ".join(f"{_value_text(v.value)}: {100 * v.score:.1f}" for v in result.values)
    best = _value_text(result.best.value)
    text = (f"# Written by `mfv2bench tune`: {section}.{key} chosen on the tuning split "
            f"{result.split_key}\n# ({result.best.sequences} sequences, protocol "
            f"{result.protocol}), never on a test split. {label} per value: {scores}.\n"
            f'extends = "{tracker}"\n'
            f'description = "{tracker} with {key} = {best}, tuned on {result.split_key}"\n\n'
            f"[{section}]\n{key} = {_toml_value(result.best.value)}\n")
    try:
        with open(path, "x", encoding="utf-8") as f:  # never replaces a file
            f.write(text)
    except FileExistsError:
        raise ConfigError(f"{path} exists: tune never modifies an existing spec") from None
    except OSError as exc:
        raise Mfv2benchError(f"cannot write {path}: {exc.strerror or exc}") from None
    try:
        SpecRegistry(workspace.trackers_dir, workspace.root).resolve(path.stem)
    except Mfv2benchError:
        path.unlink(missing_ok=True)
        raise
    logger.info("wrote %s (%s = %s)", path, key, best)
    return path
