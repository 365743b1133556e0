"""Payer policy for trigger point injections, as data (fee_schedules/tpi_policies.yaml): covered
diagnoses and frequency rules, and the checks a session is put through against them. The estimator
flags; it does not decide coverage."""

from __future__ import annotations

import datetime as dt
import re
from fractions import Fraction
from functools import cache

import yaml

from .errors import InputError
from .store import SHIPPED

ICD10 = re.compile(r"[A-TV-Z][0-9][0-9A-Z](?:\.[0-9A-Z]{1,4})?")


@cache
def _policies() -> dict:
    return yaml.safe_load((SHIPPED / "tpi_policies.yaml").read_text())


def frequency_rules() -> dict:
    return _policies()["frequency_rules"]


def medicare_default(name: str) -> str:
    return _policies()["medicare_default"][name]


def frequency_warnings(rule_name: str, day: dt.date, prior_sessions: tuple[dt.date, ...]) -> list[str]:
    """The frequency rule's findings for a session on ``day`` given the prior session dates."""
    rules = frequency_rules()
    if rule_name not in rules:
        raise InputError(f"unknown frequency rule {rule_name!r} ({', '.join(rules)})", field="frequency_rule")
    earlier = sorted(d for d in prior_sessions if d < day)
    warnings = []
    if day in prior_sessions:
        warnings.append(f"A trigger point session is already recorded on {day}: a second TPI code the same day is denied.")
    for rule in rules[rule_name]["rules"]:
        if rule["kind"] == "min_days_between" and earlier and (day - earlier[-1]).days < rule["days"]:
            warnings.append(
                f"Only {(day - earlier[-1]).days} days since the session of {earlier[-1]}; "
                f"this payer requires at least {rule['days']} days between sessions."
            )
        if rule["kind"] == "max_in_window":
            within = [d for d in earlier if (day - d).days < rule["days"]]
            if len(within) + 1 > rule["sessions"]:
                warnings.append(
                    f"This would be session {len(within) + 1} within {rule['days']} days "
                    f"(limit {rule['sessions']}): likely denied."
                )
    return warnings


def yearly_limit(rule_name: str | None) -> Fraction | None:
    """Most sessions a frequency rule pays in a year (None: no limit)."""
    if not rule_name:
        return None
    rules = frequency_rules()[rule_name]["rules"]
    return min(
        Fraction(365, r["days"]) if r["kind"] == "min_days_between" else Fraction(r["sessions"] * 365, r["days"]) for r in rules
    )


def diagnosis_warnings(list_name: str, diagnoses: tuple[str, ...]) -> list[str]:
    """Invalid codes and diagnoses off the covered list in force."""
    policies = _policies()
    covered = policies["covered_diagnoses"].get(list_name)
    if covered is None:
        raise InputError(f"unknown diagnosis list {list_name!r}", field="covered_diagnoses")
    warnings = []
    for code in diagnoses:
        if not ICD10.fullmatch(code):
            raise InputError(f"{code[:20]!r} is not an ICD-10-CM code (e.g. M79.18)", field="diagnoses")
        if code in policies["invalid_diagnoses"]:
            warnings.append(policies["invalid_diagnoses"][code])
    is_covered = [c in covered["codes"] or c.startswith(tuple(covered["prefixes"])) for c in diagnoses]
    if not diagnoses:
        warnings.append("No diagnosis given: the claim needs a diagnosis on the payer's covered list.")
    elif not any(is_covered):
        warnings.append(f"None of {', '.join(diagnoses)} is on the covered list ({covered['source'].strip()})")
    return warnings
