"""Pack raw results into the zip an evaluation server expects, then re-read and validate it.

GOT-10k (test server): one folder per sequence at the zip root holding ``<seq>_001.txt`` (x,y,w,h
per frame, comma) and ``<seq>_time.txt`` (seconds per frame, run 0's), plus ``<seq>_002.txt`` and
``<seq>_003.txt`` from runs 1 and 2 where the results hold repeated runs (``eval --runs 3``:
the server asks for 3 runs of a stochastic tracker). TrackingNet (EvalAI): one
``<seq>.txt`` per sequence at the zip root, comma-separated, one line per frame incl. frame 0.

The raw results are only read: nothing in the results store is written, moved or deleted. The zip
is written beside its final name and renamed there only after validation succeeds.
"""

from __future__ import annotations

import hashlib
import os
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..datasets.base import DatasetSplit
from ..datasets.description import describe
from ..errors import ConfigError, InputError, MissingDataError
from ..results.layout import repeat_ids, repeat_path
from .lines import format_boxes, format_times, parse_box_lines, parse_time_lines


@dataclass(frozen=True)
class SubmissionFormat:
    """Which files one sequence contributes to the zip (``kind`` is "boxes" or "times")."""

    name: str
    server: str
    needs_times: bool
    times_rule: str = ""  # what the server does with per-frame times, quoted to the user

    def members(self, seq: str) -> dict[str, str]:
        if self.name == "got10k":
            return {f"{seq}/{seq}_001.txt": "boxes", f"{seq}/{seq}_time.txt": "times"}
        return {f"{seq}.txt": "boxes"}

    def without_times(self) -> "SubmissionFormat":
        """The layout for results without per-frame times (``--no-times``): this format where
        its server never reads times; a ``ConfigError`` stating the rule where it needs them
        (no time is ever made up)."""
        if self.needs_times:
            raise ConfigError(f"--no-times: a {self.name} submission cannot leave out the "
                              f"per-frame times, and none are made up. Rule: {self.times_rule}. "
                              "Re-run `mfv2bench eval` on the sequences lacking them (it records "
                              "each frame's time)")
        return self

    @property
    def max_runs(self) -> int:
        """Runs the server takes per sequence (GOT-10k: 3 repetitions of a stochastic tracker)."""
        return 3 if self.name == "got10k" else 1

    def run_member(self, seq: str, run: int) -> str:
        """The boxes member of run ``run`` (0-based) of a sequence: ``<seq>/<seq>_002.txt``."""
        return f"{seq}/{seq}_{run + 1:03d}.txt"

    def optional_members(self, seq: str) -> set[str]:
        """Accepted but not required (GOT-10k repetitions 2 and 3)."""
        if self.name == "got10k":
            return {f"{seq}/{seq}_002.txt", f"{seq}/{seq}_003.txt"}
        return set()


TIME_SUFFIX = "_time.txt"

# The servers' rules on per-frame times, as far as public sources show them.
# got10k==0.1.3 experiments/got10k.py: run() records <seq>_time.txt beside every run (_record,
# l. 229-245) and report() zips those folders for the server (l. 93-98); its scorer of the same
# layout (subset 'val', l. 153-166; HEAD 956e728 l. 185-198) assigns seq_times only when the time
# file exists but uses it for every sequence: no time file at the first sequence is an
# UnboundLocalError, and later ones silently take the previous sequence's times.
GOT10K_TIMES_RULE = (
    "GOT-10k: every sequence folder holds <seq>_time.txt (seconds per frame, one line per frame), "
    "the source of the speed (FPS) column; the got10k toolkit, which makes the zip the server "
    "takes, always writes it, and its scorer of that layout fails without it "
    "(got10k==0.1.3 experiments/got10k.py l. 153-166: the time array is used before it is "
    "assigned when a sequence has no time file)")
TRACKINGNET_TIMES_RULE = ("TrackingNet: the server (TrackingNet-devkit metrics.py) reads "
                          "<seq>.txt boxes only; per-frame times are never submitted")

FORMATS = {
    "got10k": SubmissionFormat("got10k", "GOT-10k test server (http://got-10k.aitestunion.com/)", True,
                               GOT10K_TIMES_RULE),
    "trackingnet": SubmissionFormat(
        "trackingnet", "TrackingNet on EvalAI (https://eval.ai/web/challenges/challenge-page/1805)", False,
        TRACKINGNET_TIMES_RULE),
}


def check_times(split: DatasetSplit, seq_dir: Path, fmt: SubmissionFormat) -> None:
    """Refuse, before anything is written, results lacking the per-frame times the format needs,
    naming the files and saying how to make them (or how to submit without them)."""
    if not fmt.needs_times:
        return
    lacking = [f"{s.name}{TIME_SUFFIX}" for s in split.sequences
               if not (seq_dir / f"{s.name}{TIME_SUFFIX}").is_file()]
    if lacking:
        few = ", ".join(lacking[:3]) + (" ..." if len(lacking) > 3 else "")
        raise MissingDataError(
            f"{seq_dir}: {len(lacking)} of {len(split.sequences)} sequences have no per-frame "
            f"times ({few}). Make them by re-running `mfv2bench eval` on these sequences (it "
            "records each frame's time); --no-times cannot help here, since no time is made "
            f"up. Server rule: {fmt.times_rule}")


def format_for_dataset(dataset: str) -> SubmissionFormat:
    """The server format the data set's description names (``got10k``, ``synthetic-got10k``,
    ``trackingnet-test``...); a data set without one is a ``ConfigError``."""
    try:
        name = describe(dataset).submission_format
    except ConfigError:
        name = None
    if name is None:
        raise ConfigError(f"no submission format for data set {dataset!r}: the servers take "
                          "got10k-test and trackingnet-test")
    return FORMATS[name]


@dataclass
class SubmissionReport:
    """What was packed (or checked): enough for the user to trust the zip before uploading it."""

    zip_path: Path
    format: str
    server: str
    dataset: str
    tracker: str | None
    sequences: int
    frames: int
    members: int
    sha256: str
    results_dir: Path | None = None
    notes: list[str] = field(default_factory=list)
    times: str = "included"  # "included", or "not submitted" (a server that never reads them)

    def to_dict(self) -> dict:
        return {
            "zip": str(self.zip_path), "format": self.format, "server": self.server,
            "dataset": self.dataset, "tracker": self.tracker, "sequences": self.sequences,
            "frames": self.frames, "members": self.members, "sha256": self.sha256,
            "results_dir": str(self.results_dir) if self.results_dir else None, "notes": self.notes,
            "times": self.times,
        }


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise InputError("not a text file", path) from None


def read_raw_sequence(seq_dir: Path, seq: str, n_frames: int, need_times: bool
                      ) -> tuple[np.ndarray, np.ndarray | None]:
    """One sequence's boxes (and times) from the results store, checked against its frame count."""
    box_path = seq_dir / f"{seq}.txt"
    if not box_path.is_file():
        raise MissingDataError(f"{box_path}: missing (no result for sequence {seq!r})")
    boxes = parse_box_lines(_read_text(box_path), str(box_path))
    if len(boxes) != n_frames:
        raise InputError(f"{len(boxes)} lines, but sequence {seq!r} has {n_frames} frames",
                         box_path, min(len(boxes), n_frames) + 1)
    times = None
    time_path = seq_dir / f"{seq}_time.txt"
    if time_path.is_file():
        times = parse_time_lines(_read_text(time_path), str(time_path))
        if len(times) != n_frames:
            raise InputError(f"{len(times)} lines, but sequence {seq!r} has {n_frames} frames",
                             time_path, min(len(times), n_frames) + 1)
    elif need_times:
        raise MissingDataError(f"{time_path}: missing (the server format needs per-frame times; "
                               "re-run `mfv2bench eval`, which records them)")
    return boxes, times


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


_MAX_BYTES_PER_LINE = 256  # a box line of 4 numbers is ~40 bytes; 256 leaves room for any spelling


def validate_submission(zip_path: str | Path, expected: dict[str, int], fmt: SubmissionFormat,
                        dataset: str = "", tracker: str | None = None) -> SubmissionReport:
    """Re-read a zip: every expected sequence present with its files, no stray entries, one line
    per frame, comma separators, finite numbers. Raises InputError naming the member and line."""
    zip_path = Path(zip_path)
    try:
        archive = zipfile.ZipFile(zip_path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise InputError(f"not a readable zip: {exc}", zip_path) from None
    with archive:
        # macOS archivers add __MACOSX/ and .DS_Store entries; the servers ignore them, so do we
        names = [n for n in archive.namelist() if not n.endswith("/") and not n.startswith("__MACOSX/")
                 and not n.endswith(".DS_Store")]
        present = set(names)
        if len(present) != len(names):
            seen: set[str] = set()
            twice = next(n for n in names if n in seen or seen.add(n))
            raise InputError(f"member {twice!r} appears more than once (the server would read one "
                             "copy, which is undefined); rebuild the zip", zip_path)
        required: dict[str, tuple[str, str]] = {}
        allowed: set[str] = set()
        for seq in expected:
            for member, kind in fmt.members(seq).items():
                required[member] = (seq, kind)
            allowed |= fmt.optional_members(seq)
        missing = [m for m in required if m not in present]
        if missing:
            seqs = sorted({required[m][0] for m in missing})
            rule = (f"; rule: {fmt.times_rule}" if all(required[m][1] == "times" for m in missing)
                    else "")
            raise InputError(f"{len(seqs)} of {len(expected)} sequences incomplete in the zip "
                             f"(e.g. missing {', '.join(missing[:3])}){rule}", zip_path)
        stray = [n for n in names if n not in required and n not in allowed]
        if stray:
            raise InputError(f"{len(stray)} unexpected entries (the server format has none), e.g. "
                             f"{', '.join(stray[:3])}", zip_path)
        frames = 0
        for member in names:
            seq, kind = required.get(member, (None, "boxes"))
            if seq is None:  # optional repetition file
                seq = member.split("/", 1)[0]
            source = f"{zip_path}!{member}"
            size = archive.getinfo(member).file_size
            if size > _MAX_BYTES_PER_LINE * expected[seq] + 4096:  # read nothing that big
                raise InputError(f"{size:,} bytes for {expected[seq]} frames (a zip bomb or not a "
                                 "result file); refusing it", source)
            text = archive.read(member).decode("utf-8", errors="replace")
            values = parse_box_lines(text, source) if kind == "boxes" else parse_time_lines(text, source)
            if len(values) != expected[seq]:
                raise InputError(f"{len(values)} lines, but sequence {seq!r} has {expected[seq]} frames",
                                 source)
            if member in required and kind == "boxes":
                frames += len(values)
    times = "included" if fmt.needs_times else "not submitted"
    return SubmissionReport(zip_path=zip_path, format=fmt.name, server=fmt.server, dataset=dataset,
                            tracker=tracker, sequences=len(expected), frames=frames,
                            members=len(names), sha256=_sha256(zip_path), times=times)


def pack_submission(split: DatasetSplit, seq_dir: str | Path, out: str | Path,
                    tracker: str | None = None, no_times: bool = False) -> SubmissionReport:
    """Pack the raw results in ``seq_dir`` (``results/<tracker>/<dataset>-<split>``) for the
    server of ``split``'s family, validate the zip, and only then move it to ``out``. Results
    without the per-frame times the server needs are refused, naming them (``no_times`` asks
    to pack without times: accepted only where the server never reads them)."""
    fmt = format_for_dataset(split.dataset)
    if no_times:
        fmt = fmt.without_times()
    seq_dir = Path(seq_dir).resolve()
    out = Path(out).resolve()
    if split.partial:
        raise MissingDataError(f"{split.key}: {len(split.missing)} of {split.expected} sequences are "
                               "not on disk; a server submission needs the whole split")
    if not seq_dir.is_dir():
        raise MissingDataError(f"{seq_dir}: no results folder (run `mfv2bench eval` first)")
    if out == seq_dir or seq_dir in out.parents:
        raise ConfigError(f"{out}: write the zip outside the raw results folder {seq_dir}")
    if out.suffix != ".zip":
        raise ConfigError(f"{out}: the submission file name must end in .zip")
    missing = [s.name for s in split.sequences if not (seq_dir / f"{s.name}.txt").is_file()]
    if missing:
        raise MissingDataError(f"{seq_dir}: {len(missing)} of {len(split.sequences)} sequences have no "
                               f"result (e.g. {', '.join(missing[:3])}); finish the run first")
    check_times(split, seq_dir, fmt)
    expected = {s.name: s.n_frames for s in split.sequences}
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    notes: list[str] = []
    runs = repeat_ids(seq_dir)[:fmt.max_runs]  # repeated runs (eval --runs, imports): _002, _003
    if len(repeat_ids(seq_dir)) > fmt.max_runs:
        notes.append(f"{len(repeat_ids(seq_dir))} runs stored; the server takes "
                     f"{fmt.max_runs}: runs 0..{fmt.max_runs - 1} packed")
    try:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for seq in split.sequences:
                boxes, times = read_raw_sequence(seq_dir, seq.name, seq.n_frames, fmt.needs_times)
                for member, kind in fmt.members(seq.name).items():
                    archive.writestr(member, format_boxes(boxes) if kind == "boxes" else format_times(times))
                for r in runs[1:]:
                    more, _ = read_raw_sequence(repeat_path(seq_dir, r), seq.name, seq.n_frames,
                                                False)
                    archive.writestr(fmt.run_member(seq.name, r), format_boxes(more))
        report = validate_submission(tmp, expected, fmt, dataset=split.key, tracker=tracker)
        os.replace(tmp, out)
    finally:
        if tmp.exists():
            tmp.unlink()
    if not split.split.startswith("test"):
        notes.append(f"split {split.split!r} is not the server's test split; the zip is for checking only")
    report.zip_path = out
    report.results_dir = seq_dir
    report.notes = notes
    return report
