"""Published results (shipped as package data) and the names that tie them to our data sets.

``published.csv`` columns: tracker, variant, dataset, metric, value, unit, fps_gpu, fps_cpu,
hardware, source, year. One row is one number from a paper or a README, with its source.
"""

from __future__ import annotations

import csv
import math
from importlib import resources
from pathlib import Path

import pandas as pd

from ..datasets.description import DATASETS, REFERENCE, parse_name
from ..errors import ConfigError, InputError

COLUMNS = ("tracker", "variant", "dataset", "metric", "value", "unit", "fps_gpu", "fps_cpu",
           "hardware", "source", "year")

# Command-line metric -> published metric name, per published data set (default entry: "*").
# GOT-10k reports AO (mean overlap), the counterpart of AUC there.
METRIC_ALIASES: dict[str, dict[str, str]] = {
    "auc": {"*": "AUC", "GOT-10k": "AO"},
    "ao": {"*": "AO"},
    "p": {"*": "P"},
    "precision": {"*": "P"},
    "p_norm": {"*": "P_norm"},
    "np": {"*": "P_norm"},
    "norm_precision": {"*": "P_norm"},
    "sr50": {"*": "SR0.5"},
    "sr0.5": {"*": "SR0.5"},
    "sr75": {"*": "SR0.75"},
    "sr0.75": {"*": "SR0.75"},
    "eao": {"*": "EAO"},
}

# Local tracker spec names that reproduce a published (tracker, variant): the official specs
# and their runtime variants, which compute the same outputs (parity-tested), not the ablations.
_RUNTIME_SUFFIXES = ("", "-full", "-sdpa", "-compile", "-onnx")
PAPER_COUNTERPARTS: dict[str, tuple[str, str]] = {
    f"{base}{suffix}": paper
    for base, paper in (("mfv2-b", ("MixFormerV2", "B")), ("mfv2-s", ("MixFormerV2", "S")))
    for suffix in _RUNTIME_SUFFIXES
}


def published_csv_path() -> Path:
    """Where the shipped table lives (inside the installed package)."""
    return Path(str(resources.files("mfv2bench.leaderboard") / "published.csv"))


def _number(text: str, path: Path, line: int, column: str) -> float:
    if text.strip() == "":
        return math.nan
    try:
        return float(text)
    except ValueError:
        raise InputError(f"column {column!r}: {text!r} is not a number", path, line) from None


def load_published(path: str | Path | None = None) -> pd.DataFrame:
    """Read the published-results table, checking every row (file:line on a bad one)."""
    path = Path(path) if path is not None else published_csv_path()
    if not path.is_file():
        raise InputError("published-results table not found", path)
    rows = []
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        header = next(reader, None)
        if header is None or tuple(h.strip() for h in header) != COLUMNS:
            raise InputError(f"header must be {','.join(COLUMNS)}", path, 1)
        for record in reader:
            line = reader.line_num
            if not record or all(not cell.strip() for cell in record):
                continue
            if len(record) != len(COLUMNS):
                raise InputError(f"expected {len(COLUMNS)} columns, found {len(record)}", path, line)
            row = dict(zip(COLUMNS, record))
            for column in ("tracker", "dataset", "metric"):
                if not row[column].strip():
                    raise InputError(f"column {column!r} is empty", path, line)
            value = _number(row["value"], path, line, "value")
            if math.isnan(value):
                raise InputError("column 'value' is empty", path, line)
            rows.append({
                "tracker": row["tracker"].strip(),
                "variant": row["variant"].strip(),
                "dataset": row["dataset"].strip(),
                "metric": row["metric"].strip(),
                "value": value,
                "unit": row["unit"].strip(),
                "fps_gpu": _number(row["fps_gpu"], path, line, "fps_gpu"),
                "fps_cpu": _number(row["fps_cpu"], path, line, "fps_cpu"),
                "hardware": row["hardware"].strip(),
                "source": row["source"].strip(),
                "year": int(_number(row["year"], path, line, "year")) if row["year"].strip() else None,
                "line": line,
            })
    return pd.DataFrame(rows, columns=[*COLUMNS, "line"])


def published_dataset_name(dataset: str, table: pd.DataFrame | None = None) -> str:
    """Map ``lasot`` / ``lasot-test`` / ``LaSOT`` / ``uav123`` to the table's data-set name.

    A described data set answers with its published name (its description owns it); other names
    are looked up in ``table`` (case-insensitive). Without a table, an unknown name is returned
    unchanged; with one, it is a ``ConfigError`` listing the known names.
    """
    text = dataset.strip()
    try:
        entry, split = parse_name(text)
    except ConfigError:
        entry, split = None, None
    if entry is not None:
        name = entry.published_for(split)
        if name is not None:
            return name
    if table is not None:
        for name in table["dataset"].unique():
            if name.lower() == text.lower():
                return name
        described = {d.name for d in (*DATASETS.values(), *REFERENCE.values()) if d.published_name}
        tabled = {n.lower() for n in table["dataset"].unique() if not n.startswith("(")}
        known = ", ".join(sorted(described | tabled))
        raise ConfigError(f"no published results for data set {dataset!r}; known: {known}")
    return text


def check_metric(metric: str, table: pd.DataFrame | None = None) -> str:
    """``metric`` when it is one the board knows (an alias above, or a metric of ``table``); an
    empty or unknown name is a ConfigError listing them."""
    key = str(metric).strip().lower()
    tabled = {str(m).lower() for m in table["metric"].unique()} if table is not None else set()
    if key and (key in METRIC_ALIASES or key in tabled):
        return metric
    known = sorted(set(METRIC_ALIASES) | tabled)
    raise ConfigError(f"unknown metric {metric!r}; choose from {', '.join(known)}")


def published_metric_name(metric: str, published_dataset: str) -> str:
    """Map a command-line metric (``auc``, ``p``, ``p_norm``...) to the table's metric name."""
    key = metric.strip().lower()
    if key in METRIC_ALIASES:
        aliases = METRIC_ALIASES[key]
        return aliases.get(published_dataset, aliases["*"])
    return metric.strip()
