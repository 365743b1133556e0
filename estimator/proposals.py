"""Proposed payment rules as labelled what-ifs (fee_schedules/proposals/): never the price of a date,
only a scenario a manager asks for, named and sourced.

A proposal can set the conversion factors (by track) and a same-day rule: when a modifier-25 E/M is
billed with a procedure of a listed global period, every PFS service of the claim but the highest-paid
is paid at a percentage. The engine applies both to the lines that carry the proposal's name.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from functools import cache

import yaml

from .errors import InputError
from .store import SHIPPED


@dataclass(frozen=True)
class Proposal:
    name: str
    title: str
    conversion_factor: dict[str, str]  # track -> CF text
    em_25_global_days: tuple[str, ...]
    em_25_share: Fraction  # what the services but the highest-paid are paid
    em_25_reason: str
    reference: tuple[str, ...]


@cache
def proposals() -> dict[str, Proposal]:
    out = {}
    for path in sorted((SHIPPED / "proposals").glob("*.yaml")):
        data = yaml.safe_load(path.read_text())
        rule = data.get("em_25_same_day") or {}
        out[data["name"]] = Proposal(
            data["name"],
            data["title"],
            dict(data.get("conversion_factor") or {}),
            tuple(rule.get("global_days", ())),
            Fraction(rule.get("percent_paid", "100")) / 100,
            " ".join(str(rule.get("reason", "")).split()),
            tuple(r["title"] for r in data["reference"]),
        )
    return out


def proposal(name: str) -> Proposal:
    if name not in proposals():
        raise InputError(f"{name[:40]!r} is not a proposal ({', '.join(proposals())})", field="proposal")
    return proposals()[name]
