"""Split lists: the official ones shipped in the package and the ones a data root carries.

Every name read from a list file is checked so that it cannot point outside the data root.
"""

from __future__ import annotations

import csv
from functools import lru_cache
from importlib import resources
from pathlib import Path

from ..errors import InputError, MissingDataError
from .listing import plain_component

# LaSOT toolkit attribute order (header of lasot_test_attributes.csv).
LASOT_ATTRIBUTES: tuple[str, ...] = (
    "IV", "POC", "DEF", "MB", "CM", "ROT", "BC", "VC", "SV", "FOC", "FM", "OV", "LR", "ARC",
)
LASOT_ATTRIBUTE_NAMES: dict[str, str] = {
    "IV": "Illumination Variation",
    "POC": "Partial Occlusion",
    "DEF": "Deformation",
    "MB": "Motion Blur",
    "CM": "Camera Motion",
    "ROT": "Rotation",
    "BC": "Background Clutter",
    "VC": "Viewpoint Change",
    "SV": "Scale Variation",
    "FOC": "Full Occlusion",
    "FM": "Fast Motion",
    "OV": "Out-of-View",
    "LR": "Low Resolution",
    "ARC": "Aspect Ratio Change",
}


def check_name(name: str, source: str | Path | None = None, line: int | None = None) -> str:
    """Refuse sequence names that would escape the data root (``..``, absolute, separators)."""
    return plain_component(name, "sequence name", source, line)


def read_list_entries(path: str | Path) -> list[tuple[str, int]]:
    """(name, 1-based line) per non-blank line, each name checked with ``check_name``; a name
    listed twice is an ``InputError`` at its second line."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise MissingDataError(f"split list not found: {path}") from None
    except UnicodeDecodeError:
        raise InputError("split list is not UTF-8 text", path) from None
    except OSError as exc:
        raise InputError(f"cannot read split list: {exc.strerror or exc}", path) from None
    entries: list[tuple[str, int]] = []
    seen: set[str] = set()
    for i, line in enumerate(text.splitlines()):
        name = line.strip()
        if not name:
            continue
        check_name(name, path, i + 1)
        if name in seen:
            raise InputError(f"sequence {name!r} listed twice", path, i + 1)
        seen.add(name)
        entries.append((name, i + 1))
    return entries


def read_list_file(path: str | Path) -> list[str]:
    """One sequence name per line (blank lines skipped), each checked with ``check_name``."""
    return [name for name, _ in read_list_entries(path)]


def _package_file(filename: str):
    return resources.files("mfv2bench.datasets").joinpath("splits", filename)


@lru_cache(maxsize=None)
def _official_cached(filename: str) -> tuple[str, ...]:
    ref = _package_file(filename)
    with resources.as_file(ref) as p:
        return tuple(read_list_file(p))


def official_list(filename: str) -> list[str]:
    """A split list shipped with the package (e.g. ``lasot_test.txt``)."""
    return list(_official_cached(filename))


def read_attributes_csv(path: str | Path) -> dict[str, dict[str, int]]:
    """``sequence,IV,POC,...`` CSV -> {sequence: {attribute: 0/1}}, checked line by line."""
    path = Path(path)
    out: dict[str, dict[str, int]] = {}
    try:
        with open(path, newline="", encoding="utf-8") as f:
            reader = csv.reader(f)
            rows = []
            try:
                for row in reader:
                    rows.append(row)
            except csv.Error as exc:
                raise InputError(f"attribute table is not valid CSV: {exc}", path,
                                 reader.line_num or None) from None
    except UnicodeDecodeError:
        raise InputError("attribute table is not UTF-8 text", path) from None
    except OSError as exc:
        raise InputError(f"cannot read attribute table: {exc.strerror or exc}", path) from None
    if not rows or not rows[0] or rows[0][0].strip() != "sequence":
        raise InputError("attribute table must start with a 'sequence,...' header", path, 1)
    header = [h.strip() for h in rows[0]]
    doubled = sorted({h for h in header if header.count(h) > 1})
    if doubled:
        raise InputError(f"column(s) {', '.join(doubled)} appear twice in the header", path, 1)
    for i, row in enumerate(rows[1:], start=2):
        if not row or not "".join(row).strip():
            continue
        if len(row) != len(header):
            raise InputError(f"{len(row)} fields, header has {len(header)}", path, i)
        name = check_name(row[0].strip(), path, i)
        if name in out:
            raise InputError(f"sequence {name!r} has a second row", path, i)
        flags: dict[str, int] = {}
        for key, value in zip(header[1:], row[1:]):
            v = value.strip()
            if v not in ("0", "1"):
                raise InputError(f"attribute {key} is {v!r}, expected 0 or 1", path, i)
            flags[key] = int(v)
        out[name] = flags
    return out


@lru_cache(maxsize=1)
def _lasot_test_attributes_cached() -> dict[str, dict[str, int]]:
    with resources.as_file(_package_file("lasot_test_attributes.csv")) as p:
        return read_attributes_csv(p)


def lasot_test_attributes() -> dict[str, dict[str, int]]:
    """The 14 LaSOT attributes of the 280 test sequences (LaSOT toolkit ``annos/att``)."""
    return {k: dict(v) for k, v in _lasot_test_attributes_cached().items()}


@lru_cache(maxsize=None)
def _package_attributes_cached(filename: str) -> dict[str, dict[str, int]]:
    with resources.as_file(_package_file(filename)) as p:
        return read_attributes_csv(p)


def package_attributes(filename: str) -> dict[str, dict[str, int]]:
    """A per-sequence attribute table shipped with the package (``otb100_attributes.csv``:
    pytracking's ``dataset_attribute_specs``), as {sequence: {attribute: 0/1}}."""
    return {k: dict(v) for k, v in _package_attributes_cached(filename).items()}
