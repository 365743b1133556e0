"""Payer policy for trigger point injections, as data (fee_schedules/policies/): frequency limits,
covered-diagnosis lists with their sources, and the checks a session is put through against them.

A frequency limit is either at most N sessions in any D-day window (this session included) or at least
D days since the previous session; presets name the common ones, and a contract may spell out its own.
A covered-diagnosis list is a shipped list (a Medicare contractor's billing article, or the labelled
example) or a payer's own codes; an entry covers a diagnosis equal to it or beginning with it (ICD-10-CM
codes nest: M60.8 covers M60.811). The estimator flags; it does not decide coverage.
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

POLICIES = SHIPPED / "policies"
ICD10 = re.compile(r"[A-TV-Z][0-9][0-9A-Z](?:\.[0-9A-Z]{1,4})?")
MAX_LIMITS = 5
MAX_CODES = 2_000


@dataclass(frozen=True)
class Limit:
    """At most ``at_most`` sessions in any ``days`` days; or, with ``at_most`` None, at least ``days``
    days between sessions."""

    days: int
    at_most: int | None = None

    def to_dict(self) -> dict[str, int]:
        return {"at_most": self.at_most, "days": self.days} if self.at_most else {"days_between": self.days}

    def describe(self) -> str:
        return f"at most {self.at_most} in {self.days} days" if self.at_most else f"at least {self.days} days apart"


@cache
def _load(name: str) -> Any:
    return yaml.safe_load((POLICIES / f"{name}.yaml").read_text())


def presets() -> dict[str, dict]:
    """The named frequency limits (frequency_presets.yaml)."""
    return _load("frequency_presets")["presets"]


def medicare_default(name: str) -> str:
    """The frequency preset or diagnosis list traditional Medicare is checked against by default."""
    return _load("medicare_default")[name]


@cache
def diagnosis_lists() -> dict[str, dict]:
    """The shipped covered-diagnosis lists by name, each with its source."""
    lists = {}
    for path in sorted((POLICIES / "covered_diagnoses").glob("*.yaml")):
        data = yaml.safe_load(path.read_text())
        lists[data["name"]] = data
    return lists


def limits(value: Any, field: str = "frequency") -> tuple[Limit, ...]:
    """Frequency limits from a preset name or a list of {at_most, days} / {days_between} mappings."""
    if value is None or value == []:
        return ()
    if isinstance(value, str):
        if value not in presets():
            raise InputError(f"{value[:40]!r} is not a frequency preset ({', '.join(presets())})", field=field)
        value = presets()[value]["limits"]
    if not isinstance(value, (list, tuple)) or len(value) > MAX_LIMITS:
        raise InputError(f"write up to {MAX_LIMITS} limits, e.g. [{{at_most: 3, days: 365}}]", field=field)
    out = []
    for item in value:
        if isinstance(item, Limit):
            out.append(item)
            continue
        if not isinstance(item, dict) or set(item) not in ({"at_most", "days"}, {"days_between"}):
            raise InputError("each limit is {at_most: N, days: D} or {days_between: D}", field=field)
        for key, number in item.items():
            if not isinstance(number, int) or isinstance(number, bool) or not 1 <= number <= 3660:
                raise InputError(f"{key} {str(number)[:20]!r} is not a whole number from 1 to 3660", field=field)
        out.append(Limit(int(item.get("days") or item["days_between"]), item.get("at_most")))
    return tuple(out)


def covered_list(value: Any, field: str = "covered_diagnoses") -> str | tuple[str, ...] | None:
    """A shipped list's name, or the payer's own ICD-10-CM codes (each checked), or None."""
    if value is None or value == "" or value == []:
        return None
    if isinstance(value, str):
        if value not in diagnosis_lists():
            raise InputError(f"{value[:40]!r} is not a diagnosis list ({', '.join(diagnosis_lists())})", field=field)
        return value
    if not isinstance(value, (list, tuple)) or len(value) > MAX_CODES:
        raise InputError(f"a list name, or a list of at most {MAX_CODES:,} ICD-10-CM codes", field=field)
    codes = tuple(str(code).strip().upper() for code in value)
    bad = next((c for c in codes if not ICD10.fullmatch(c)), None)
    if bad is not None:
        raise InputError(f"{bad[:20]!r} is not an ICD-10-CM code (e.g. M79.18)", field=field)
    return codes


def frequency_warnings(rules: tuple[Limit, ...], day: dt.date, prior_sessions: tuple[dt.date, ...]) -> list[str]:
    """What the frequency limits say of a session on ``day`` given the prior session dates."""
    earlier = sorted(d for d in prior_sessions if d < day)
    warnings = []
    if day in prior_sessions:
        warnings.append(f"A trigger point session is already recorded on {day}: a second TPI code the same day is denied.")
    for rule in rules:
        if rule.at_most is None and earlier and (day - earlier[-1]).days < rule.days:
            warnings.append(
                f"Only {(day - earlier[-1]).days} days since the session of {earlier[-1]}; "
                f"this payer requires at least {rule.days} days between sessions."
            )
        if rule.at_most is not None:
            within = [d for d in earlier if (day - d).days < rule.days]
            if len(within) + 1 > rule.at_most:
                warnings.append(
                    f"This would be session {len(within) + 1} within {rule.days} days (limit {rule.at_most}): likely denied."
                )
    return warnings


def yearly_limit(rules: tuple[Limit, ...]) -> Fraction | None:
    """Most sessions the limits pay in a year (None: no limit)."""
    if not rules:
        return None
    return min(Fraction(365, r.days) if r.at_most is None else Fraction(r.at_most * 365, r.days) for r in rules)


def diagnosis_warnings(covered: str | tuple[str, ...] | None, diagnoses: tuple[str, ...]) -> list[str]:
    """Invalid codes, and diagnoses off the covered list (no list: only the invalid codes)."""
    warnings = []
    invalid = _load("invalid_diagnoses")["codes"]
    for code in diagnoses:
        if not ICD10.fullmatch(code):
            raise InputError(f"{code[:20]!r} is not an ICD-10-CM code (e.g. M79.18)", field="diagnoses")
        if code in invalid:
            warnings.append(invalid[code])
    if covered is None:
        return warnings
    if isinstance(covered, str):
        listed = diagnosis_lists()[covered]
        entries, source = tuple(listed["codes"]), listed["title"]
    else:
        entries, source = covered, "the payer's own list"
    if not diagnoses:
        warnings.append("No diagnosis given: the claim needs a diagnosis on the payer's covered list.")
    elif not any(code.startswith(entries) for code in diagnoses):
        warnings.append(f"None of {', '.join(diagnoses)} is on the covered list ({source}).")
    return warnings
