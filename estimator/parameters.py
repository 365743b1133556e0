"""Dated, sourced scalar parameters (fee_schedules/parameters/**.yaml).

Each file holds ``values`` keyed by the date a value takes effect; a value holds until the
next date. ``value: null`` closes a period with no known value. Decimal values are quoted
strings and are read as exact fractions, never floats. A value may carry
``confirmed: false`` and a ``note``: the estimate then says so.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from fractions import Fraction
from functools import cache
from typing import Any

import yaml

from .errors import InputError
from .store import SHIPPED

PARAMETERS = SHIPPED / "parameters"


@dataclass(frozen=True)
class Parameter:
    name: str
    value: Any  # Fraction for numbers, text, bool, a list or a mapping, as the file gives it
    since: dt.date
    confirmed: bool
    note: str
    reference: tuple[dict, ...]


@cache
def _load(name: str) -> dict:
    path = PARAMETERS / f"{name}.yaml"
    if not path.is_file():
        raise KeyError(f"no parameter file {path}")
    return yaml.safe_load(path.read_text())


def parameter(name: str, day: dt.date) -> Parameter:
    """The value of parameter ``name`` (path under parameters/, without .yaml) in force on ``day``."""
    spec = _load(name)
    starts = sorted(d for d in spec["values"] if d <= day)
    entry = spec["values"][starts[-1]] if starts else None
    if entry is None or entry["value"] is None:
        raise InputError(f"no value of '{name}' is known for {day} ({spec['description']})", field="date of service")
    value = entry["value"]
    if isinstance(value, str) and re.fullmatch(r"-?\d+(?:\.\d+)?", value):
        value = Fraction(value)
    reference = tuple(entry.get("reference") or spec.get("reference") or ())
    return Parameter(name, value, starts[-1], entry.get("confirmed", True), entry.get("note", ""), reference)


def rate(name: str, day: dt.date) -> Fraction:
    """A numeric parameter as an exact fraction."""
    value = parameter(name, day).value
    assert isinstance(value, Fraction), f"{name} is not a number"
    return value


@cache
def parameter_names() -> list[str]:
    return sorted(str(p.relative_to(PARAMETERS).with_suffix("")) for p in PARAMETERS.rglob("*.yaml"))


@cache
def required_parameter_names() -> list[str]:
    """The parameters every priced date needs (an ``optional`` one is read only by some choices, such
    as the qualifying-APM conversion factor)."""
    return [name for name in parameter_names() if not _load(name).get("optional")]


def in_force_key(schedules: Any, day: dt.date) -> tuple:
    """Everything a price depends on through its date: the CMS file of each kind in force (or the
    latest held, for the kinds used that way) and the start of every dated rule. Dates with equal keys
    are priced alike. Worked out once per date for a set of fee schedules."""
    if day in schedules.in_force_keys:
        return schedules.in_force_keys[day]
    key: list[object] = []
    for kind in ("pfs_rvu", "gpci", "zip5", "opps_cap", "opps_b", "asc_aa", "asc_bb", "asp", "mue"):
        vintage, note = schedules.in_force_or_latest(kind, day)
        key.append((vintage.name if vintage else "", bool(note)))
    for name in parameter_names():
        try:
            key.append(parameter(name, day).since)
        except InputError:
            key.append(None)
    schedules.in_force_keys[day] = tuple(key)
    return schedules.in_force_keys[day]
