"""Split lists: the official ones shipped in the package and the ones a data root carries.

Every name read from a list file is checked so that it cannot point outside the data root.
"""

from __future__ import annotations

import csv
from functools import lru_cache
from importlib import resources
from pathlib import Path

from ..errors import InputError, MissingDataError

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
    bad = (
        not name
        or name in (".", "..")
        or "/" in name
        or "\\" in name
        or "\x00" in name
        or name.startswith("~")
        or (len(name) > 1 and name[1] == ":")
    )
    if bad:
        raise InputError(f"sequence name {name!r} is not a plain folder name", source, line)
    return name


def read_list_file(path: str | Path) -> list[str]:
    """One sequence name per line (blank lines skipped), each checked with ``check_name``."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise MissingDataError(f"split list not found: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read split list: {exc}", path) from None
    names: list[str] = []
    seen: set[str] = set()
    for i, line in enumerate(text.splitlines()):
        name = line.strip()
        if not name:
            continue
        check_name(name, path, i + 1)
        if name in seen:
            raise InputError(f"sequence {name!r} listed twice", path, i + 1)
        seen.add(name)
        names.append(name)
    return names


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
            rows = list(csv.reader(f))
    except OSError as exc:
        raise InputError(f"cannot read attribute table: {exc.strerror}", path) from None
    if not rows or not rows[0] or rows[0][0].strip() != "sequence":
        raise InputError("attribute table must start with a 'sequence,...' header", path, 1)
    header = [h.strip() for h in rows[0]]
    for i, row in enumerate(rows[1:], start=2):
        if not row or not "".join(row).strip():
            continue
        if len(row) != len(header):
            raise InputError(f"{len(row)} fields, header has {len(header)}", path, i)
        name = check_name(row[0].strip(), path, i)
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
