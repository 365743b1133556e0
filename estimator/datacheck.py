"""python -m estimator data check: what CMS data is held, where a year has gaps, and whether the data is
sound.

The checks: every stored table's checksum equals the one in its source record and the table reads with
the rows the record states; no two shipped vintages of a kind cover the same day (an imported release
may overlap a shipped one: the later release is used, and the list says which); every parameter has a
description, dated values and a source for each value; every policy list has a title and a source.
"""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass

import yaml

from .cms_files import LAYOUTS
from .parameters import PARAMETERS, parameter_names
from .policies import diagnosis_lists, presets
from .store import FeeSchedules, load_table, sha256


@dataclass(frozen=True)
class Finding:
    check: str
    subject: str
    problem: str


def held(schedules: FeeSchedules) -> list[dict[str, str]]:
    """Every vintage: kind, name, dates, shipped or imported, source file."""
    return [
        {
            "kind": v.kind,
            "vintage": v.name,
            "from": str(v.effective_from),
            "to": str(v.effective_to),
            "where": "shipped" if v.shipped else "imported",
            "source file": v.source["source_file"],
        }
        for v in sorted(schedules.vintages, key=lambda v: (v.kind, v.effective_from, v.name))
    ]


def gaps(schedules: FeeSchedules, year: int) -> list[dict[str, str]]:
    """For each kind, the stretches of ``year`` that no file in force covers, and what prices them
    instead (the latest older file, or nothing)."""
    days = [dt.date(year, 1, 1) + dt.timedelta(n) for n in range((dt.date(year + 1, 1, 1) - dt.date(year, 1, 1)).days)]
    out = []
    for kind in LAYOUTS:
        stand_in = []
        for day in days:
            vintage, note = schedules.pricing(kind, day)
            stand_in.append(None if vintage is not None and not note else (vintage.name if vintage else ""))
        for used, run in itertools.groupby(zip(days, stand_in, strict=True), key=lambda pair: pair[1]):
            if used is None:
                continue
            stretch = list(run)
            out.append(
                {
                    "kind": kind,
                    "from": str(stretch[0][0]),
                    "to": str(stretch[-1][0]),
                    "priced with": f"{used} (older file)" if used else "nothing held",
                }
            )
    return out


def problems(schedules: FeeSchedules) -> list[Finding]:
    """Everything wrong with the data held (empty when sound)."""
    found: list[Finding] = []
    for v in schedules.vintages:
        table = v.folder / "table.csv"
        if not table.is_file():
            found.append(Finding("table", f"{v.kind}/{v.name}", "table.csv is missing"))
            continue
        if sha256(table) != v.source["table_sha256"]:
            found.append(Finding("checksum", f"{v.kind}/{v.name}", "table.csv differs from the checksum in source.yaml"))
            continue
        try:
            rows = len(load_table(v.folder, v.kind, v.source["table_sha256"]))
        except Exception as error:  # a hand-edited table can fail in many ways; each is reported, none stops the check
            found.append(Finding("parse", f"{v.kind}/{v.name}", f"does not read ({type(error).__name__}: {str(error)[:120]})"))
            continue
        if rows != v.source["rows"]:
            found.append(Finding("rows", f"{v.kind}/{v.name}", f"{rows} rows; source.yaml says {v.source['rows']}"))
    for kind in LAYOUTS:
        shipped = [v for v in schedules.of_kind(kind) if v.shipped]
        for a, b in itertools.combinations(shipped, 2):
            if a.effective_from <= b.effective_to and b.effective_from <= a.effective_to:
                found.append(
                    Finding("overlap", kind, f"{a.name} and {b.name} both cover {max(a.effective_from, b.effective_from)}")
                )
    for name in parameter_names():
        spec = yaml.safe_load((PARAMETERS / f"{name}.yaml").read_text())
        if not spec.get("description"):
            found.append(Finding("parameter", name, "no description"))
        for start, entry in (spec.get("values") or {}).items():
            if not isinstance(start, dt.date):
                found.append(Finding("parameter", name, f"{start!r} is not a date"))
            elif entry.get("value") is None and not entry.get("note"):
                found.append(Finding("parameter", name, f"{start}: a closed period says why (note)"))
            elif entry.get("value") is not None and not (entry.get("reference") or spec.get("reference")):
                found.append(Finding("parameter", name, f"{start}: no source (reference)"))
    for name, listed in diagnosis_lists().items():
        if not listed.get("title") or not listed.get("reference"):
            found.append(Finding("policy", f"covered_diagnoses/{name}", "no title or no source"))
    for name, preset in presets().items():
        if not preset.get("description") or not preset.get("limits"):
            found.append(Finding("policy", f"frequency/{name}", "no description or no limits"))
    return found
