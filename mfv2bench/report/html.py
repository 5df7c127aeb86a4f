"""Jinja2 rendering of the HTML pages: one environment, autoescape on, templates as package data."""

from __future__ import annotations

import math
from functools import lru_cache

import jinja2


def _num(value, digits: int = 1) -> str:
    """A number for a table cell; blank for None/NaN."""
    if value is None:
        return ""
    try:
        x = float(value)
    except (TypeError, ValueError):
        return str(value)
    if math.isnan(x):
        return ""
    return f"{x:.{digits}f}"


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    """Autoescaping everywhere (names from files must not inject markup); strict undefined."""
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("mfv2bench.report", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["num"] = _num
    return env


def render_template(name: str, **context) -> str:
    """Render one template of ``mfv2bench/report/templates``."""
    return environment().get_template(name).render(**context)
