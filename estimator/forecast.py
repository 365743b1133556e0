"""Monthly revenue forecast from session templates, volumes, payer mix and contracts.

For each scenario, month, payer and session template:

    sessions   = sessions_per_month x (1 + growth)^(months since start) x seasonality[month] x mix[payer]
    allowed    = sessions x the payer's allowed amount for one session (priced on the 15th of the month)
    paid share = min(1, sessions the payer's frequency rule pays a year / sessions per patient a year)
    at risk (frequency) = allowed x (1 - paid share); denied = allowed x paid share x denial rate
    at risk (coverage)  = sessions x the Medicare value of lines this payer does not cover
    first-of-year share (deductible seasonality): with K sessions per patient a year, spaced
        12/K months apart, a patient's first session of the year falls in the first 12/K
        months; those sessions carry the deductible, later ones do not
    patient responsibility and payer payment are blended by that share, then scaled by the
        paid share and (1 - denial rate); expected collections are their sum.

Every figure is exact until the monthly row, which is rounded to the cent once.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .compare import REFERENCE
from .contracts import TRADITIONAL_MEDICARE, Contract, Practice
from .domain import Biller, Kind
from .engine import Book, in_year, not_covered, price
from .errors import InputError
from .money import round_cents
from .parameters import in_force_key, parameter
from .policies import yearly_limit
from .proposals import proposal
from .session import Session, code_session, line_table
from .store import FeeSchedules
from .textio import decimal_field, load_yaml, plain_text, read_text

MAX_SESSIONS = Decimal(100_000)  # per template and month
OUTPUT_COLUMNS = [
    "scenario",
    "month",
    "payer",
    "sessions",
    "billed_charges",
    "allowed",
    "patient_responsibility",
    "payer_payment",
    "denied",
    "at_risk_frequency",
    "at_risk_coverage",
    "expected_collections",
    "collected",
    "cost",
    "margin",
]


@dataclass(frozen=True)
class Template:
    name: str
    sessions_per_month: Decimal
    session: dict


@dataclass(frozen=True)
class Scenario:
    name: str
    start: dt.date
    months: int
    templates: tuple[Template, ...]
    payer_mix: dict[str, Decimal]
    growth_percent_per_month: Decimal = Decimal(0)
    seasonality: tuple[Decimal, ...] = (Decimal(1),) * 12
    sessions_per_patient_per_year: Decimal = Decimal(3)
    denial_rate_percent: dict[str, Decimal] = field(default_factory=dict)
    contracts: dict[str, dict] = field(default_factory=dict)  # changes to saved contracts
    conversion_factor: str | None = None
    proposal: str = ""  # a proposed rule priced as a what-if (estimator.proposals)
    location: dict = field(default_factory=dict)
    prices_held_at: dt.date | None = None  # price every month on this date (the Excel model holds prices)


def _mapping(value, name) -> dict:
    if not isinstance(value, dict):
        raise InputError(f"{name} must be a mapping", field=name)
    return value


def parse_scenarios(data: dict, source: str = "scenario") -> list[Scenario]:
    """The base scenario and its variants from a scenario file's data; bad input names the field."""
    try:
        return _parse(data)
    except InputError as error:
        raise InputError(error.message, file=source, field=error.field) from None


def _parse(data) -> list[Scenario]:
    data = dict(_mapping(data, "scenario"))
    known = {
        "name",
        "start",
        "months",
        "templates",
        "payer_mix",
        "growth_percent_per_month",
        "seasonality",
        "sessions_per_patient_per_year",
        "denial_rate_percent",
        "scenarios",
        "location",
        "contracts",
        "conversion_factor",
        "proposal",
    }
    unknown = sorted(set(data) - known)
    if unknown:
        raise InputError(f"unknown field(s): {', '.join(unknown)}", field=unknown[0])
    for required in ("start", "templates", "payer_mix"):
        if required not in data:
            raise InputError(f"{required} is required", field=required)
    try:
        start = dt.date.fromisoformat(f"{data['start']}-01" if len(str(data["start"])) == 7 else str(data["start"]))
    except ValueError:
        raise InputError(f"{data['start']!r} is not a month like 2026-01", field="start") from None
    months = data.get("months", 12)
    if not isinstance(months, int) or not 1 <= months <= 120:
        raise InputError(f"{months!r}: months must be a whole number from 1 to 120", field="months")
    templates: list[Template] = []
    for item in data["templates"] or []:
        item = _mapping(item, "templates")
        volume = decimal_field(item.get("sessions_per_month"), "sessions_per_month", places=4, low=0, high=MAX_SESSIONS)
        if "session" not in item:
            raise InputError("a template needs a session (e.g. {muscle_count: 2})", field="templates")
        Session.from_dict({"date_of_service": start.isoformat()} | _mapping(item["session"], "session"))
        name = plain_text(item.get("name") or f"template {len(templates) + 1}", "templates name", max_length=100)
        if name in {t.name for t in templates}:
            raise InputError(f"template {name!r} appears twice", field="templates")
        templates.append(Template(name, volume, item["session"]))
    if not templates:
        raise InputError("at least one session template is needed", field="templates")
    base = Scenario(
        name=str(data.get("name") or "current"),
        start=start.replace(day=1),
        months=months,
        templates=tuple(templates),
        payer_mix=_mix(data["payer_mix"]),
        location=_mapping(data.get("location", {}), "location"),
        growth_percent_per_month=_growth(data.get("growth_percent_per_month", 0)),
        seasonality=_seasonality(data.get("seasonality")),
        sessions_per_patient_per_year=_positive(data.get("sessions_per_patient_per_year", 3), "sessions_per_patient_per_year"),
        denial_rate_percent=_percentages(data.get("denial_rate_percent", {}), "denial_rate_percent"),
        contracts=_changes(data.get("contracts", {})),
        conversion_factor=_cf(data.get("conversion_factor")),
        proposal=_proposal(data.get("proposal")),
    )
    variants = [base]
    for item in data.get("scenarios") or []:
        item = _mapping(item, "scenarios")
        changes: dict[str, Any] = {"name": str(item.get("name") or f"scenario {len(variants) + 1}")}
        if "payer_mix" in item:
            changes["payer_mix"] = _mix(item["payer_mix"])
        if "contracts" in item:
            changes["contracts"] = base.contracts | _changes(item["contracts"])
        if "conversion_factor" in item:
            changes["conversion_factor"] = _cf(item["conversion_factor"])
        if "growth_percent_per_month" in item:
            changes["growth_percent_per_month"] = _growth(item["growth_percent_per_month"])
        if "proposal" in item:
            changes["proposal"] = _proposal(item["proposal"])
        variants.append(replace(base, **changes))
    return variants


def _proposal(value) -> str:
    if not value:
        return ""
    return proposal(str(value)).name


def _changes(value) -> dict[str, dict]:
    """Contract changes by payer name, each a mapping of contract fields."""
    changes = _mapping(value, "contracts")
    for payer, fields_ in changes.items():
        _mapping(fields_, f"contracts {payer}")
    return changes


def _mix(value) -> dict[str, Decimal]:
    mix = _percentages(value, "payer_mix")
    total = sum(mix.values(), Decimal(0))
    if total != 100:
        raise InputError(f"the payer mix adds up to {total}%, not 100%", field="payer_mix")
    return mix


def _percentages(value, name) -> dict[str, Decimal]:
    result = {}
    for payer, share in _mapping(value, name).items():
        number = decimal_field(share, f"{name} {payer}", places=4)
        if not 0 <= number <= 100:
            raise InputError(f"{payer}: {number}% is not between 0 and 100", field=name)
        result[str(payer)] = number
    return result


def _positive(value, name) -> Decimal:
    number = decimal_field(value, name, places=4, high=Decimal(52))
    if number <= 0:
        raise InputError(f"{number} must be more than 0", field=name)
    return number


def _growth(value) -> Decimal:
    """Growth per month in percent: from -100 (the practice stops) to +100 (doubling every month)."""
    return decimal_field(value, "growth_percent_per_month", places=4, low=Decimal(-100), high=Decimal(100))


def _seasonality(value) -> tuple[Decimal, ...]:
    if value is None:
        return (Decimal(1),) * 12
    if not isinstance(value, list) or len(value) != 12:
        raise InputError("seasonality needs 12 monthly multipliers (January first)", field="seasonality")
    factors = tuple(decimal_field(v, "seasonality", places=4, high=Decimal(10)) for v in value)
    if any(f < 0 for f in factors):
        raise InputError("a seasonality multiplier is negative", field="seasonality")
    return factors


def _cf(value) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    number = decimal_field(text, "conversion_factor", high=Decimal(1000))
    if number <= 0 or -int(number.as_tuple().exponent) > 4:
        raise InputError(f"{text}: a conversion factor is positive with at most 4 decimals", field="conversion_factor")
    return text


def first_of_year_share(month: int, per_patient: Fraction) -> Fraction:
    """Share of a month's sessions that are a patient's first of the calendar year (see module doc)."""
    return min(Fraction(1), max(Fraction(0), Fraction(12) / per_patient - (month - 1)))


def run(schedules: FeeSchedules, scenarios: list[Scenario], contracts: list[Contract], practice: Practice) -> pd.DataFrame:
    """Monthly rows per scenario and payer (see the module docstring for every formula)."""
    saved = {c.payer: c for c in contracts}
    rows = []
    for scenario in scenarios:
        unknown = sorted(set(scenario.payer_mix) - set(saved))
        if unknown:
            raise InputError(f"payer(s) not saved: {', '.join(unknown)}", field="payer_mix")
        chosen = {}
        for payer in scenario.payer_mix:
            changes = scenario.contracts.get(payer, {})
            chosen[payer] = Contract.from_dict(saved[payer].to_dict() | changes) if changes else saved[payer]
        rows += _scenario_rows(schedules, scenario, chosen, practice)
    return pd.DataFrame(rows, columns=OUTPUT_COLUMNS)


def _months(schedules: FeeSchedules, scenario: Scenario, contracts: dict[str, Contract]) -> tuple[list, dict]:
    """Each month (index, the 15th, the day it is priced) and its price group: months whose CMS files
    and rules are the same (in the year of service and in every pinned contract year) share one."""
    pinned = sorted({c.medicare_year for c in contracts.values() if c.medicare_year})
    months: list[tuple[int, dt.date, dt.date]] = []
    groups: dict[tuple, dt.date] = {}
    for index in range(scenario.months):
        year, month = divmod(scenario.start.month - 1 + index, 12)
        month_day = dt.date(scenario.start.year + year, month + 1, 15)
        day = scenario.prices_held_at or month_day
        key = in_force_key(schedules, day) + tuple(in_force_key(schedules, in_year(day, y)) for y in pinned)
        if key not in groups and (why := not_covered(schedules, day)):
            raise InputError(f"month {month_day:%Y-%m}: {why}", field="start")
        groups.setdefault(key, day)
        months.append((index, month_day, groups[key]))
    return months, groups


def _session_prices(schedules, scenario: Scenario, contracts: dict[str, Contract], practice: Practice, days) -> dict:
    """One session of each template under each payer on each price day, with the deductible due and
    without: {(day, template, payer, due): {billed, allowed, patient_responsibility, payer_payment,
    not_covered}} as exact fractions of dollars. One engine call for the whole scenario."""
    location = scenario.location or {k: v for k, v in (("zip_code", practice.zip_code), ("locality", practice.locality)) if v}
    reference = replace(TRADITIONAL_MEDICARE, payer=REFERENCE)
    tables = []
    for day in days:
        annual = round_cents(parameter("part_b/deductible", day).value)
        for template in scenario.templates:
            data = (
                {
                    "date_of_service": day.isoformat(),
                    "participating": practice.participating,
                    "cf_track": scenario.conversion_factor or practice.cf_track,
                }
                | location
                | template.session
            )
            session = Session.from_dict(data)
            coded = code_session(schedules, session)
            for contract in list(contracts.values()) + [reference]:
                for due in (True, False):
                    owed = (annual if contract.kind == Kind.MEDICARE else contract.deductible) if due else Decimal(0)
                    claim = f"{day}|{template.name}|{contract.payer}|{due}"
                    table = line_table(session, coded, claim, contract.payer, deductible=owed, practice=practice)
                    if contract is reference:
                        table["participating"] = True
                    tables.append(table.assign(price_day=day, template=template.name, due=due, proposal=scenario.proposal))
    book = Book(schedules, {c.payer: c for c in list(contracts.values()) + [reference]})
    priced = price(pd.concat(tables, ignore_index=True), book, reasons=False).lines
    failed = priced[priced["error"] != ""]
    if not failed.empty:
        raise InputError(f"{failed['code'].iloc[0]}: {failed['error'].iloc[0]}", field="templates")
    own = priced[priced["biller"] == Biller.PHYSICIAN]
    base = own[own["payer"] == REFERENCE].set_index(["price_day", "template", "due", "line"])["allowed"]
    medicare = base.reindex(pd.MultiIndex.from_frame(own[["price_day", "template", "due", "line"]])).to_numpy()
    drug = (own["category"] == "drug").to_numpy()
    cost = [
        Fraction(practice.drug_costs.get(code, Decimal(0))) * int(units) if is_drug else Fraction(0)
        for code, units, is_drug in zip(own["code"].astype(object), own["units"], drug, strict=True)
    ]
    own = own.assign(
        not_covered=np.where((own["allowed"].to_numpy() == 0) & (medicare > 0), medicare, 0),
        billed_cents=own["billed"].fillna(0).astype("int64"),
        paid=own["payer_payment"] - own["sequestration"],
        drug_cost=pd.Series(cost, index=own.index, dtype=object),
    )
    drug_cost = own[own["payer"] == REFERENCE].groupby(["price_day", "template", "due"])["drug_cost"].sum()
    sums = own.groupby(["price_day", "template", "payer", "due"])[
        ["billed_cents", "allowed", "patient_share", "paid", "not_covered"]
    ].sum()
    result = {}
    for key, row in sums.iterrows():
        result[key] = {
            "billed": Fraction(int(row["billed_cents"]), 100),
            "allowed": Fraction(int(row["allowed"]), 100),
            "patient_responsibility": Fraction(int(row["patient_share"]), 100),
            "payer_payment": Fraction(int(row["paid"]), 100),
            "not_covered": Fraction(int(row["not_covered"]), 100),
            "cost": Fraction(practice.session_cost) + Fraction(drug_cost.get((key[0], key[1], key[3]), Fraction(0))),
        }
    return result


def _scenario_rows(schedules, scenario: Scenario, contracts: dict[str, Contract], practice: Practice) -> list[dict]:
    months, groups = _months(schedules, scenario, contracts)
    prices = _session_prices(schedules, scenario, contracts, practice, list(dict.fromkeys(groups.values())))
    per_patient = Fraction(scenario.sessions_per_patient_per_year)
    growth = 1 + Fraction(scenario.growth_percent_per_month) / 100
    rows = []
    for index, month_day, day in months:
        first = first_of_year_share(month_day.month, per_patient)
        volume_factor = growth**index * Fraction(scenario.seasonality[month_day.month - 1])
        for payer, contract in contracts.items():
            totals = dict.fromkeys(OUTPUT_COLUMNS[3:], Fraction(0))
            limit = yearly_limit(contract.frequency_limits())
            paid = min(Fraction(1), limit / per_patient) if limit else Fraction(1)
            denial = Fraction(scenario.denial_rate_percent.get(payer, 0)) / 100
            collected = paid * (1 - denial)
            for template in scenario.templates:
                full, none = prices[(day, template.name, payer, True)], prices[(day, template.name, payer, False)]
                sessions = Fraction(template.sessions_per_month) * volume_factor * Fraction(scenario.payer_mix[payer]) / 100
                totals["sessions"] += sessions
                totals["billed_charges"] += sessions * full["billed"]
                totals["allowed"] += sessions * full["allowed"]
                totals["at_risk_frequency"] += sessions * full["allowed"] * (1 - paid)
                totals["denied"] += sessions * full["allowed"] * paid * denial
                totals["at_risk_coverage"] += sessions * full["not_covered"]
                for name in ("patient_responsibility", "payer_payment"):
                    totals[name] += sessions * collected * (first * full[name] + (1 - first) * none[name])
                totals["cost"] += sessions * full["cost"]  # every session costs, paid or not
            totals["expected_collections"] = totals["patient_responsibility"] + totals["payer_payment"]
            totals["collected"] = totals["expected_collections"] * Fraction(contract.collection_percent) / 100
            del totals["margin"]  # set from the rounded figures below (it can be negative)
            row: dict[str, object] = {
                "scenario": scenario.name,
                "month": f"{month_day:%Y-%m}",
                "payer": payer,
                "sessions": Decimal(round(totals.pop("sessions") * 10)) / 10,
            }
            money = {name: round_cents(value) for name, value in totals.items()}
            row |= money | {"margin": money["collected"] - money["cost"]}
            rows.append(row)
    return rows


def load_scenario_file(path) -> list[Scenario]:
    return parse_scenarios(load_yaml(read_text(path), Path(path).name), Path(path).name)


def summary(table: pd.DataFrame) -> pd.DataFrame:
    """Totals per scenario and payer, then per scenario."""
    money = OUTPUT_COLUMNS[4:]
    by_payer = table.groupby(["scenario", "payer"], sort=False)[["sessions"] + money].sum().reset_index()
    by_scenario = table.groupby("scenario", sort=False)[["sessions"] + money].sum().reset_index().assign(payer="ALL")
    return pd.concat([by_payer, by_scenario], ignore_index=True)
