"""Named metric protocols: every convention a toolkit uses, declared as data and hashed.

The same raw results give different numbers in different toolkits because of small conventions
(``>`` vs ``>=``, mean vs trapezoid areas, absent-frame handling, ...). A ``MetricProtocol`` names
each of these choices explicitly, so a table can say exactly which convention produced it (name +
short hash of the declared data). The engine in ``mfv2bench.metrics.engine`` interprets it.

The conventions below were read from the toolkits' source and checked against the numbers those
toolkits produced on the golden edge-case suite (``tests/data/metrics``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields, replace
from functools import cached_property, lru_cache
from typing import Any, Literal, get_args, get_origin, get_type_hints

import numpy as np

from mfv2bench.datasets.description import UNDESCRIBED_PROTOCOL, describe
from mfv2bench.errors import ConfigError
from mfv2bench.hashing import stable_hash


def _ulp_up(values: list[float], indices: tuple[int, ...]) -> tuple[float, ...]:
    """Raise the listed entries by one ulp (how some toolkits' range functions round)."""
    out = list(values)
    for i in indices:
        out[i] = float(np.nextafter(out[i], np.inf))
    return tuple(out)


# Threshold grids, exactly as the toolkits build them (the last bits matter at ties).
_TWENTIETHS_NUMPY_ARANGE = tuple(float(v) for v in np.arange(0, 1.05, 0.05))  # pysot
# torch.arange(0, 1.05, 0.05, float64): numpy's arange plus one ulp at 0.65 and 0.75
OVERLAP_TORCH_ARANGE = _ulp_up(list(_TWENTIETHS_NUMPY_ARANGE), (13, 15))
OVERLAP_LINSPACE_21 = tuple(float(v) for v in np.linspace(0, 1, 21))  # got10k, TrackingNet
# Octave's 0:0.05:1 (the official LaSOT toolkit as run): i/20, one ulp high at .6 .7 .85 .95
OVERLAP_OCTAVE_COLON = _ulp_up([i / 20 for i in range(21)], (12, 14, 17, 19))
OVERLAP_LINSPACE_101 = tuple(float(v) for v in np.linspace(0, 1, 101))  # GOT-10k curve
PIXELS_0_50 = tuple(float(v) for v in range(51))
NORM_HUNDREDTHS = tuple(i / 100 for i in range(51))  # arange(0,51)/100 and (0:50)/100
NORM_LINSPACE_51 = tuple(float(v) for v in np.linspace(0, 0.5, 51))  # got10k HEAD
PIXELS_LINSPACE_21 = tuple(float(v) for v in np.linspace(0, 50, 21))  # TrackingNet
NORM_LINSPACE_21 = tuple(float(v) for v in np.linspace(0, 0.5, 21))  # TrackingNet


# Accepted values of each string field: the branches the engine (engine.py, scores.py) implements.
# A value outside them is refused when the protocol is built, not silently sent to an else-branch.
CompareOp = Literal[">", ">=", "<="]
IouRule = Literal["inclusive", "got10k", "pysot", "trackingnet"]
NormCenterRule = Literal["divide-first", "divide-first-eps", "subtract-first-max1", "trackingnet"]
RoundBoxes = Literal["none", "half-even"]
FirstFrame = Literal["gt", "keep", "drop"]
AbsentRule = Literal["ignore", "fail", "fail-except-norm", "drop-cover0"]
NanGtRule = Literal["reject", "drop", "invalid", "propagate"]
GtValidRule = Literal["wh>0", "all>0", "center>0", "norm-center>0", "none"]
InvalidGtRule = Literal["fail", "success"]
PredRepair = Literal["reject", "carry", "as-is"]
PredZeroSize = Literal["carry", "as-is"]  # the engine has no zero-size rejection
PredLonger = Literal["truncate", "reject"]
PredShorter = Literal["reject", "pad-zeros", "fail", "truncate-gt"]
CurveDtype = Literal["float32", "float64"]
Aggregate = Literal["mean", "mean-drop-all-zero", "frame-weighted"]
RunsRule = Literal["mean-curves", "pool-frames"]
# Score rules: "mean", "trapz", "at:<threshold on the curve's grid>", or "" (not defined).
_SCORE_WORDS = ("mean", "trapz")
_SCORE_FIELDS = {"success_score": "overlap_thresholds", "precision_score": "center_thresholds",
                 "norm_precision_score": "norm_thresholds"}


@dataclass(frozen=True)
class MetricProtocol:
    """Every convention of one toolkit's metric code, as plain data.

    Field values (typed as ``Literal``s above; ``__post_init__`` refuses anything else, so a typo
    fails when the protocol is built, not silently in the engine):

    - ``overlap_op`` / ``center_op`` / ``norm_op``: ``">"``, ``">="`` or ``"<="``.
    - ``iou``: ``"inclusive"`` (pytracking/MATLAB ``x+w-1`` corners, continuous area),
      ``"got10k"`` (``inter/(union+eps)`` clipped to [0,1]), ``"pysot"`` (no eps, min/max to
      [0,1]), ``"trackingnet"`` (rounded boxes, ``round(x2-x1+1)`` sides, NaN-skipping max/min).
    - ``norm_center``: ``"divide-first"`` (pc/w - gc/w), ``"divide-first-eps"`` (pysot, w+1e-16),
      ``"subtract-first-max1"`` ((pc-gc)/max(1,w), got10k), ``"trackingnet"``
      (sqrt(dx/w*dx/w + dy/h*dy/h)).
    - ``round_boxes``: ``"none"`` or ``"half-even"`` (np.round on both boxes first).
    - ``first_frame``: ``"gt"`` (prediction replaced by GT), ``"keep"``, ``"drop"``.
    - ``absent``: how frames with ``visible == False`` count: ``"ignore"`` (labels unused),
      ``"fail"`` (failure in all three metrics, kept in the denominator), ``"fail-except-norm"``
      (pytracking's non-'lasot' quirk: normalized-precision success), ``"drop-cover0"``
      (GOT-10k: frames with cover == 0 leave numerator and denominator).
    - ``nan_gt``: ``"reject"`` (toolkit raises), ``"drop"`` (frame leaves the denominator),
      ``"invalid"`` (treated by the validity rules: NaN > 0 is false), ``"propagate"`` (NaN
      errors: failures, and NaN average overlap).
    - ``gt_valid_*``: which GT rows count as valid for success / precision / normalized
      precision: ``"wh>0"``, ``"all>0"``, ``"center>0"`` (GT centre coordinates > 0),
      ``"norm-center>0"`` (normalized GT centre > 0), ``"none"``.
    - ``invalid_gt_center`` / ``invalid_gt_norm``: ``"fail"`` or ``"success"`` (error set to -1).
      Invalid GT is always a success-curve failure (IoU -1).
    - ``pred_nan``, ``pred_negative_size``: ``"reject"``, ``"carry"`` (replaced by the previous,
      already repaired row from frame 2 on, unless that GT row has a NaN) or ``"as-is"``;
      ``pred_zero_size``: ``"carry"`` or ``"as-is"``.
    - ``pred_longer``: a result with more rows than the sequence has frames: ``"truncate"``
      (extra rows ignored) or ``"reject"``.
    - ``pred_shorter``: a result with fewer rows (common in published releases):
      ``"reject"`` (the toolkit stops), ``"pad-zeros"`` (pytracking outside LaSOT mode: zero
      boxes appended after its zero-size repair, then scored as boxes), ``"fail"`` (TrackingNet
      devkit: the missing frames fail every metric and stay in the denominator) or
      ``"truncate-gt"`` (got10k HEAD: the ground truth is cut to the result; only the frames
      present are scored). See ``SHORT_RULES`` and each protocol's ``source``.
    - ``min_frames``: shortest sequence the toolkit can evaluate (1-line files crash some).
    - ``clip_to_image``: clip both boxes to the image (GOT-10k ``rect_iou(bound=...)``).
    - ``curve_dtype``: ``"float32"`` or ``"float64"`` per-sequence curves.
    - ``aggregate``: ``"mean"`` (unweighted over sequences), ``"mean-drop-all-zero"`` (LaSOT
      MATLAB: per tracker and metric, all-zero sequences dropped), ``"frame-weighted"`` (GOT-10k:
      all frames of all sequences and runs pooled).
    - ``runs``: how repeated runs of one sequence combine: ``"mean-curves"`` (each sequence's
      curves averaged over its runs, then aggregated: pytracking ``merge_multiple_runs`` in
      analysis/plot_results.py, ``ave_success_rate_plot_overlap[:, match, :].mean(1)``, used
      with ``merge_results=True`` as MixFormerV2/OSTrack do; AUC = mean of that curve, so equal
      to the mean of per-run AUCs) or ``"pool-frames"`` (got10k ExperimentGOT10k.report: the
      IoUs of every run and sequence concatenated, ``np.concatenate(seq_ious)``, then AO/SR
      over all of them). Toolkits that read one result per sequence (pysot, the LaSOT MATLAB
      toolkit, got10k OTB/LaSOT, TrackingNet) keep ``"mean-curves"``: with several runs their
      numbers are what averaging the runs' per-sequence curves gives.
    - ``success_score``: ``"mean"`` of the curve or ``"trapz"`` (np.trapz over [0,1]).
    - ``precision_score`` / ``norm_precision_score``: ``"at:<threshold>"``, ``"mean"``,
      ``"trapz"`` (area on x = linspace(0,1,n)), or ``""`` when not defined.
    - ``defines_ao``: per-sequence average overlap (pytracking: over valid frames; GOT-10k: AO).
    - ``defines_sr``: GOT-10k SR0.5 / SR0.75 (IoU > 0.5 / 0.75 over kept frames).
    """

    name: str
    description: str
    source: str
    overlap_thresholds: tuple[float, ...]
    overlap_op: CompareOp = ">"
    center_thresholds: tuple[float, ...] | None = PIXELS_0_50
    center_op: CompareOp = "<="
    norm_thresholds: tuple[float, ...] | None = NORM_HUNDREDTHS
    norm_op: CompareOp = "<="
    iou: IouRule = "inclusive"
    norm_center: NormCenterRule = "divide-first"
    round_boxes: RoundBoxes = "none"
    first_frame: FirstFrame = "gt"
    absent: AbsentRule = "fail"
    nan_gt: NanGtRule = "reject"
    gt_valid_success: GtValidRule = "wh>0"
    gt_valid_center: GtValidRule = "wh>0"
    gt_valid_norm: GtValidRule = "wh>0"
    invalid_gt_center: InvalidGtRule = "fail"
    invalid_gt_norm: InvalidGtRule = "success"
    pred_nan: PredRepair = "reject"
    pred_zero_size: PredZeroSize = "carry"
    pred_negative_size: PredRepair = "reject"
    pred_longer: PredLonger = "truncate"
    pred_shorter: PredShorter = "reject"
    min_frames: int = 1
    clip_to_image: bool = False
    curve_dtype: CurveDtype = "float64"
    aggregate: Aggregate = "mean"
    runs: RunsRule = "mean-curves"
    success_score: str = "mean"
    precision_score: str = "at:20"
    norm_precision_score: str = "at:0.2"
    defines_ao: bool = False
    defines_sr: bool = False
    reject_messages: dict[str, str] = field(default_factory=dict, compare=False, hash=False)

    def __post_init__(self) -> None:
        """Refuse a value the engine does not implement, naming the field and what it accepts."""
        problems = _problems(self)
        if problems:
            raise ConfigError(f"metric protocol {self.name!r}: " + "; ".join(problems))

    def declared(self) -> dict[str, Any]:
        """The data that defines the protocol (everything but prose), for hashing.

        A field added after hashes were printed in tables is left out while it holds the value
        that was the only behaviour before it existed (``_UNHASHED_DEFAULTS``): a protocol whose
        behaviour did not change keeps its hash, one whose behaviour changed gets a new one."""
        data = asdict(self)
        for key in ("description", "source", "reject_messages"):
            data.pop(key)
        for key, old in _UNHASHED_DEFAULTS.items():
            if data[key] == old:
                data.pop(key)
        for key, value in list(data.items()):
            if isinstance(value, tuple):
                data[key] = [repr(float(v)) for v in value]
        return data

    @cached_property
    def hash(self) -> str:
        """Short stable hash of the declared conventions (printed beside every number)."""
        return stable_hash(self.declared(), length=8)

    @property
    def label(self) -> str:
        return f"{self.name} [{self.hash}]"

    def to_dict(self) -> dict[str, Any]:
        data = self.declared()
        data.update(name=self.name, description=self.description, source=self.source,
                    hash=self.hash)
        return data

    @property
    def has_center(self) -> bool:
        return self.center_thresholds is not None

    @property
    def has_norm(self) -> bool:
        return self.norm_thresholds is not None


# fields added after protocol hashes were published, with the one behaviour every protocol had
# before (a short result was always refused)
_UNHASHED_DEFAULTS: dict[str, Any] = {"pred_shorter": "reject"}

# What each short-result rule does, in words (analysis notes and refusals quote it).
SHORT_RULES: dict[str, str] = {
    "reject": "refused",
    "pad-zeros": "the missing frames scored as zero boxes (0,0,0,0)",
    "fail": "the missing frames scored as failures (no overlap, infinite centre error)",
    "truncate-gt": "only the frames present scored (the ground truth cut to the result)",
}


@lru_cache(maxsize=1)
def _field_types() -> dict[str, Any]:
    return get_type_hints(MetricProtocol)


def _literal_values(tp: Any) -> tuple[Any, ...] | None:
    return get_args(tp) if get_origin(tp) is Literal else None


def _check_grid(name: str, value: Any, optional: bool) -> str | None:
    if value is None:
        return None if optional else f"{name} is required (a tuple of thresholds)"
    if not isinstance(value, tuple) or not value or not all(
            isinstance(v, (int, float)) and not isinstance(v, bool) for v in value):
        return f"{name} = {value!r} must be a non-empty tuple of numbers"
    if any(b <= a for a, b in zip(value, value[1:])):
        return f"{name} must be strictly increasing"
    return None


def _check_score(name: str, rule: Any, grid: tuple[float, ...] | None) -> str | None:
    accepted = "'mean', 'trapz', 'at:<threshold on the grid>'" + ("" if name == "success_score"
                                                                  else " or ''")
    if not isinstance(rule, str):
        return f"{name} = {rule!r} is not one of {accepted}"
    if rule == "":
        return None if name != "success_score" else f"{name} = '' is not one of {accepted}"
    if grid is None:
        return f"{name} = {rule!r} but {_SCORE_FIELDS[name]} is None (use '')"
    if rule in _SCORE_WORDS:
        return None
    if rule.startswith("at:"):
        try:
            t = float(rule[3:])
        except ValueError:
            return f"{name} = {rule!r}: {rule[3:]!r} is not a number"
        if min(abs(g - t) for g in grid) > 1e-9:
            return f"{name} = {rule!r}: {t} is not on the {_SCORE_FIELDS[name]} grid"
        return None
    return f"{name} = {rule!r} is not one of {accepted}"


def _problems(p: MetricProtocol) -> list[str]:
    """Every field whose value the engine would not understand (empty: the protocol is sound)."""
    out: list[str] = []
    types = _field_types()
    for f in fields(p):
        value = getattr(p, f.name)
        accepted = _literal_values(types[f.name])
        if accepted is not None and value not in accepted:
            out.append(f"{f.name} = {value!r} is not one of "
                       f"{', '.join(repr(a) for a in accepted)}")
        elif types[f.name] is bool and not isinstance(value, bool):
            out.append(f"{f.name} = {value!r} must be True or False")
    for name, optional in (("overlap_thresholds", False), ("center_thresholds", True),
                           ("norm_thresholds", True)):
        problem = _check_grid(name, getattr(p, name), optional)
        if problem:
            out.append(problem)
    for name, grid_name in _SCORE_FIELDS.items():
        grid = getattr(p, grid_name)
        if _check_grid(grid_name, grid, True) is not None:
            continue  # the grid itself is reported above
        problem = _check_score(name, getattr(p, name), grid)
        if problem:
            out.append(problem)
    if not isinstance(p.min_frames, int) or isinstance(p.min_frames, bool) or p.min_frames < 1:
        out.append(f"min_frames = {p.min_frames!r} must be an integer >= 1")
    stray = sorted(set(p.reject_messages) - {f.name for f in fields(p)})
    if stray:
        out.append(f"reject_messages names unknown fields {stray}")
    return out


_PYTRACKING_SRC = "visionml/pytracking@7eb9e74 pytracking/analysis/{extract_results,plot_results}.py"
_MFV2_SRC = ("MCG-NJU/MixFormerV2@10414383 lib/test/analysis (byte-identical to "
             "botaoye/OSTrack@33b5e12), merge_results=True")

# Result length (pytracking@7eb9e74 pytracking/analysis/extract_results.py calc_seq_err_robust,
# lines 54-72; MixFormerV2@1041438 lib/test/analysis/extract_results.py lines 53-71, the same
# code): zero-size rows are carried over first (l. 54-57), then a longer result is cut to the GT
# (l. 61-63, 67-69); a shorter one raises 'Mis-match in tracker prediction and GT lengths' when
# dataset == 'lasot' (l. 64-65) and is padded with zero rows otherwise (l. 70-72), AFTER the
# carry-over, so the padding is scored as (0,0,0,0) boxes (frame 1 still replaced by GT, l. 74).
_PYTRACKING_REJECTS = {
    "pred_nan": "NaN in the prediction (the toolkit raises 'Error: Invalid results')",
    "pred_negative_size": "negative width or height in the prediction (the toolkit raises "
                          "'Error: Invalid results')",
    "nan_gt": "NaN in the ground truth (the toolkit raises 'Warning: NaNs in annotation')",
    "min_frames": "a 1-frame sequence (the toolkit crashes on 1-line files)",
    "pred_shorter": "a result shorter than the sequence (in LaSOT mode the toolkit raises "
                    "'Mis-match in tracker prediction and GT lengths')",
}

_MIXFORMERV2 = MetricProtocol(
    name="mixformerv2",
    description=("MixFormerV2/OSTrack analysis code, LaSOT mode: the numbers MixFormerV2 reports. "
                 "Visibility from full_occlusion/out_of_view; GT valid when w,h > 0; frame 1 = GT; "
                 "zero-size predictions carried over; invisible frames fail all metrics; "
                 "visible-but-invalid GT is a normalized-precision success; 21-point '>' success "
                 "curve, AUC = its mean; P@20px, NP@0.20 ('<='); float32 curves, unweighted mean."),
    source=_MFV2_SRC,
    overlap_thresholds=OVERLAP_TORCH_ARANGE,
    min_frames=2,
    curve_dtype="float32",
    defines_ao=True,
    reject_messages=_PYTRACKING_REJECTS,
)

PROTOCOLS: dict[str, MetricProtocol] = {}


def _register(p: MetricProtocol) -> MetricProtocol:
    PROTOCOLS[p.name] = p
    return p


_register(_MIXFORMERV2)
_register(replace(
    _MIXFORMERV2,
    name="mixformerv2-lasotext",
    description=("MixFormerV2/OSTrack code on LaSOT_ext as its loader names it "
                 "('lasot_extension_subset'): as mixformerv2, except that invisible frames count as "
                 "normalized-precision successes (inflates NP; reproduces published LaSOT_ext NP)."),
    source=_MFV2_SRC + ", dataset='lasot_extension_subset'",
    absent="fail-except-norm",
    pred_shorter="pad-zeros",
))
_register(replace(
    _MIXFORMERV2,
    name="mixformerv2-nolabels",
    description=("MixFormerV2/OSTrack code on a data set without visibility labels (GOT-10k, "
                 "TrackingNet, OTB, NFS): only the w,h > 0 GT rule decides; invalid GT is a "
                 "normalized-precision success; a short result is padded with zero boxes."),
    source=_MFV2_SRC + ", dataset other than 'lasot'",
    absent="ignore",
    pred_shorter="pad-zeros",
))
_PYTRACKING = _register(replace(
    _MIXFORMERV2,
    name="pytracking",
    description=("pytracking HEAD analysis, LaSOT mode: as mixformerv2 but GT valid only when all "
                 "four values are > 0 (differs on GT touching x=0 or y=0)."),
    source=_PYTRACKING_SRC,
    gt_valid_success="all>0",
    gt_valid_center="all>0",
    gt_valid_norm="all>0",
))
_register(replace(
    _PYTRACKING,
    name="pytracking-lasotext",
    description="pytracking HEAD on LaSOT_ext ('lasot_extension_subset'): invisible frames are "
                "normalized-precision successes.",
    source=_PYTRACKING_SRC + ", dataset='lasot_extension_subset'",
    absent="fail-except-norm",
    pred_shorter="pad-zeros",
))
_register(replace(
    _PYTRACKING,
    name="pytracking-nolabels",
    description="pytracking HEAD on a data set without visibility labels: all-four-> 0 GT rule; "
                "invalid GT is a normalized-precision success.",
    source=_PYTRACKING_SRC + ", dataset other than 'lasot'/'uav'",
    absent="ignore",
    pred_shorter="pad-zeros",
))
# UAV123 (pytracking's dataset 'uav' branch of calc_seq_err_robust): NaN GT rows (absent target)
# are accepted and, like every invalid GT row, fail the success curve but count as precision and
# normalized-precision successes; the denominator stays the full length.
_register(replace(
    _MIXFORMERV2,
    name="mixformerv2-uav",
    description=("MixFormerV2/OSTrack code on UAV123 (dataset 'uav'): no visibility labels; NaN GT "
                 "rows accepted; GT rows that are NaN or have w or h <= 0 fail the success curve "
                 "but are precision and normalized-precision successes (error -1)."),
    source=_MFV2_SRC + ", dataset='uav'",
    absent="ignore",
    nan_gt="invalid",
    invalid_gt_center="success",
    pred_shorter="pad-zeros",
))
_register(replace(
    _PYTRACKING,
    name="pytracking-uav",
    description="pytracking HEAD on UAV123 (dataset 'uav'): as mixformerv2-uav with the "
                "all-four-> 0 GT rule.",
    source=_PYTRACKING_SRC + ", dataset='uav'",
    absent="ignore",
    nan_gt="invalid",
    invalid_gt_center="success",
    pred_shorter="pad-zeros",
))
_register(MetricProtocol(
    name="lasot-toolkit",
    description=("Official LaSOT MATLAB toolkit (eval_tracker.m, as run in Octave 7.3): invalid "
                 "predictions (NaN, w<=0, h<=0) carried from the previous frame; frame 1 = GT; "
                 "absent frames removed but the denominator stays the full length; GT rows with a "
                 "value <= 0 or NaN fail success but are precision successes; overall drops a "
                 "tracker's all-zero sequences."),
    source="HengLan/LaSOT_Evaluation_Toolkit@95bf38a utils/{eval_tracker,calc_seq_err_robust,"
           "calc_rect_int,plot_draw_save}.m",
    overlap_thresholds=OVERLAP_OCTAVE_COLON,
    nan_gt="invalid",
    gt_valid_success="all>0",
    gt_valid_center="all>0",
    gt_valid_norm="all>0",
    invalid_gt_center="success",
    invalid_gt_norm="success",
    pred_nan="carry",
    pred_zero_size="carry",
    pred_negative_size="carry",
    aggregate="mean-drop-all-zero",
    # utils/calc_seq_err_robust.m l. 8-10: results(1:size(rect_anno,1),:) cuts a longer result
    # and fails on a shorter one (index out of bound)
    reject_messages={"pred_shorter": "a result shorter than the sequence (the toolkit's "
                                     "results(1:size(rect_anno,1),:) fails: index out of bound)"},
))
_PYSOT_SRC = "StrangerZhang/pysot-toolkit@8b5ced3 pysot/evaluation/ope_benchmark.py, pysot/utils/statistics.py"
# pysot/evaluation/ope_benchmark.py l. 47-50 index the result with a mask of the GT's length
# (tracker_traj[video.absent == 1]), pysot/utils/statistics.py l. 107-108 likewise
# (result_bb[mask]): any length mismatch raises; pysot/datasets/lasot.py l. 47-48 cuts only
# monkey-17.
_PYSOT_REJECTS = {"pred_longer": "a result longer than the sequence (the toolkit raises "
                                 "IndexError/ValueError; only LaSOT monkey-17 is truncated)",
                  "pred_shorter": "a result shorter than the sequence (the toolkit raises "
                                  "IndexError: it indexes the result with a GT-length mask)"}
_PYSOT = _register(MetricProtocol(
    name="pysot",
    description=("pysot-toolkit OPEBenchmark, LaSOT path: frame 1 NOT replaced by GT; absent "
                 "frames removed but the denominator stays the full length; success needs all "
                 "four GT values > 0; precision needs GT centre > 0 (else a success); no repair "
                 "of predictions; AUC = mean of all curves."),
    source=_PYSOT_SRC,
    overlap_thresholds=_TWENTIETHS_NUMPY_ARANGE,
    iou="pysot",
    norm_center="divide-first-eps",
    first_frame="keep",
    nan_gt="invalid",
    gt_valid_success="all>0",
    gt_valid_center="center>0",
    gt_valid_norm="norm-center>0",
    invalid_gt_center="success",
    invalid_gt_norm="success",
    pred_nan="as-is",
    pred_zero_size="as-is",
    pred_negative_size="as-is",
    pred_longer="reject",
    reject_messages=_PYSOT_REJECTS,
))
_register(replace(
    _PYSOT,
    name="pysot-otb",
    description="pysot-toolkit OPEBenchmark, OTB/UAV/NFS path: as pysot without absent labels.",
    absent="ignore",
))
# got10k==0.1.3 experiments/otb.py l. 89 (assert len(boxes) == len(anno)) and got10k.py l. 143
# (assert b.shape == anno.shape): any length mismatch stops the toolkit.
_GOT10K_REJECTS = {
    "min_frames": "a 1-frame sequence (the toolkit crashes on 1-line files)",
    "pred_longer": "a result longer than the sequence (the toolkit asserts equal lengths)",
    "pred_shorter": "a result shorter than the sequence (the toolkit asserts equal lengths)",
}
_OTB = _register(MetricProtocol(
    name="otb",
    description=("got10k ExperimentOTB (PyPI 0.1.3): every frame counts, frame 1 = GT, no absent "
                 "or validity handling; got10k rect_iou/center_error; AUC = mean of the 21-point "
                 "'>' curve, P@20px."),
    source="got-10k/toolkit got10k==0.1.3 got10k/experiments/otb.py, got10k/utils/metrics.py",
    overlap_thresholds=OVERLAP_LINSPACE_21,
    norm_thresholds=None,
    iou="got10k",
    absent="ignore",
    nan_gt="propagate",
    gt_valid_success="none",
    gt_valid_center="none",
    gt_valid_norm="none",
    pred_nan="as-is",
    pred_zero_size="as-is",
    pred_negative_size="as-is",
    pred_longer="reject",
    min_frames=2,
    norm_precision_score="",
    reject_messages=_GOT10K_REJECTS,
))
_register(replace(
    _OTB,
    name="got10k-lasot",
    description=("got10k HEAD ExperimentLaSOT: absent labels unused, only NaN-GT frames dropped; "
                 "frame 1 = GT; normalized error (pc-gc)/max(1,w); normalized-precision score = "
                 "mean of the 51-point curve over 0..0.5 (an area, not NP@0.2); a short result is "
                 "scored on the frames it has."),
    source="got-10k/toolkit@956e728 got10k/experiments/lasot.py, got10k/utils/metrics.py",
    norm_thresholds=NORM_LINSPACE_51,
    norm_center="subtract-first-max1",
    nan_gt="drop",
    # got10k@956e728 experiments/lasot.py l. 68-75: frame 1 = GT, then both the result and the
    # GT cut to the shorter of the two (a warning is printed); the denominator is that length
    pred_longer="truncate",
    pred_shorter="truncate-gt",
    norm_precision_score="mean",
    reject_messages={"min_frames": _GOT10K_REJECTS["min_frames"]},
))
_register(replace(
    _OTB,
    name="got10k-val",
    description=("got10k ExperimentGOT10k(subset='val'): frame 1 and cover==0 frames dropped, both "
                 "boxes clipped to the image, IoUs of all runs and sequences pooled: AO = mean IoU, "
                 "SR0.5 / SR0.75 = mean(IoU > t), 101-point success curve; speed = mean of 1/t "
                 "over positive per-frame times (a missing time file counts as no times, where "
                 "the toolkit would reuse the previous sequence's)."),
    source="got-10k/toolkit got10k==0.1.3 got10k/experiments/got10k.py, got10k/utils/metrics.py",
    overlap_thresholds=OVERLAP_LINSPACE_101,
    center_thresholds=None,
    first_frame="drop",
    absent="drop-cover0",
    clip_to_image=True,
    aggregate="frame-weighted",
    runs="pool-frames",
    precision_score="",
    defines_ao=True,
    defines_sr=True,
))
_register(MetricProtocol(
    name="trackingnet",
    description=("TrackingNet server (TrackingNet-devkit metrics.py): boxes rounded half-to-even, "
                 "frame 1 = GT, +1-pixel integer IoU, '>=' success, 21-point grids (2.5 px, 0.025); "
                 "all three scores are np.trapz areas on x = linspace(0,1,21); a short file's missing frames "
                 "are failures, extra rows are ignored."),
    source="SilvioGiancola/TrackingNet-devkit@79783f2 metrics.py evaluate()",
    overlap_thresholds=OVERLAP_LINSPACE_21,
    overlap_op=">=",
    center_thresholds=PIXELS_LINSPACE_21,
    norm_thresholds=NORM_LINSPACE_21,
    iou="trackingnet",
    norm_center="trackingnet",
    round_boxes="half-even",
    absent="ignore",
    nan_gt="propagate",
    gt_valid_success="none",
    gt_valid_center="none",
    gt_valid_norm="none",
    pred_nan="as-is",
    pred_zero_size="as-is",
    pred_negative_size="as-is",
    success_score="trapz",
    precision_score="trapz",
    norm_precision_score="trapz",
    # metrics.py l. 38-61: the submission's columns are assigned into the GT's DataFrame, so
    # pandas aligns them on the GT's index: extra rows are dropped, missing rows are NaN; l. 71-74
    # then set frame 1 to the GT; a NaN row gives NaN IoU/distances (l. 114-126), which fail
    # every '>=' / '<=' test in l. 131-133 while the denominator stays len(GT). The server scores
    # a short file this way.
    pred_longer="truncate",
    pred_shorter="fail",
))

# Aliases so that data-set names and toolkit names both work.
ALIASES: dict[str, str] = {
    "lasot-matlab": "lasot-toolkit",
    "ostrack": "mixformerv2",
    "got10k": "got10k-val",
    "lasotext": "mixformerv2-lasotext",
    "lasot_ext": "mixformerv2-lasotext",
}


def check_protocol_name(name: str | None, option: str = "--protocol") -> str | None:
    """``name`` when it names a protocol (or an alias), None for None (the data set's default);
    an empty or unknown name is a ConfigError listing the known ones (never the default)."""
    if name is None:
        return None
    known = ", ".join(sorted(PROTOCOLS))
    if not str(name).strip():
        raise ConfigError(f"{option} is empty; choose one of: {known} (or leave it out for the "
                          "data set's default)")
    get_protocol(str(name))
    return str(name)


def get_protocol(name: str | MetricProtocol) -> MetricProtocol:
    """Look a protocol up by name (or pass one through); unknown names are a ConfigError."""
    if isinstance(name, MetricProtocol):
        return name
    key = ALIASES.get(name, name)
    try:
        return PROTOCOLS[key]
    except KeyError:
        known = ", ".join(sorted(PROTOCOLS))
        raise ConfigError(f"unknown metric protocol {name!r}; known: {known}") from None


def default_protocol(dataset_name: str) -> str:
    """The protocol whose numbers a data set's papers report (its description says which).

    LaSOT: ``mixformerv2`` (the paper's own analysis code). LaSOT_ext: ``mixformerv2`` too: we
    deliberately do NOT reproduce the OSTrack/pytracking NP quirk on LaSOT_ext (invisible frames
    as NP successes); ``mixformerv2-lasotext`` reproduces it when comparing with published
    LaSOT_ext NP. GOT-10k: ``got10k-val``; TrackingNet: ``trackingnet``; OTB-100, NfS and TNL2K:
    ``mixformerv2-nolabels``; UAV123: ``mixformerv2-uav`` (see datasets/description.py).
    A name no description knows gets ``mixformerv2-nolabels`` (no visibility labels assumed).
    """
    try:
        return describe(dataset_name).default_protocol
    except ConfigError:
        return UNDESCRIBED_PROTOCOL
