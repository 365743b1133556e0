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

import pandas as pd
import yaml

from .contracts import Contract, Practice, payer_claim, session_builder
from .errors import InputError
from .money import round_cents
from .parameters import in_force_key, parameter
from .session import Session, _decimal, _yaml
from .store import FeeSchedules

OUTPUT_COLUMNS = ["scenario", "month", "payer", "sessions", "billed_charges", "allowed", "patient_responsibility",
                  "payer_payment", "denied", "at_risk_frequency", "at_risk_coverage", "expected_collections"]  # fmt: skip


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
    known = {"name", "start", "months", "templates", "payer_mix", "growth_percent_per_month", "seasonality",
             "sessions_per_patient_per_year", "denial_rate_percent", "scenarios", "location", "contracts", "conversion_factor"}  # fmt: skip
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
    templates = []
    for item in data["templates"] or []:
        item = _mapping(item, "templates")
        volume = _decimal(item.get("sessions_per_month"), "sessions_per_month")
        if volume < 0:
            raise InputError(f"{volume} sessions per month is negative", field="sessions_per_month")
        if "session" not in item:
            raise InputError("a template needs a session (e.g. {muscle_count: 2})", field="templates")
        Session.from_dict({"date_of_service": start.isoformat()} | _mapping(item["session"], "session"))
        templates.append(Template(str(item.get("name") or f"template {len(templates) + 1}"), volume, item["session"]))
    if not templates:
        raise InputError("at least one session template is needed", field="templates")
    base = Scenario(
        name=str(data.get("name") or "current"), start=start.replace(day=1), months=months, templates=tuple(templates),
        payer_mix=_mix(data["payer_mix"]), location=_mapping(data.get("location", {}), "location"),
        growth_percent_per_month=_decimal(data.get("growth_percent_per_month", 0), "growth_percent_per_month"),
        seasonality=_seasonality(data.get("seasonality")),
        sessions_per_patient_per_year=_positive(data.get("sessions_per_patient_per_year", 3), "sessions_per_patient_per_year"),
        denial_rate_percent=_percentages(data.get("denial_rate_percent", {}), "denial_rate_percent"),
        contracts=_changes(data.get("contracts", {})), conversion_factor=_cf(data.get("conversion_factor")),
    )  # fmt: skip
    variants = [base]
    for item in data.get("scenarios") or []:
        item = _mapping(item, "scenarios")
        changes = {"name": str(item.get("name") or f"scenario {len(variants) + 1}")}
        if "payer_mix" in item:
            changes["payer_mix"] = _mix(item["payer_mix"])
        if "contracts" in item:
            changes["contracts"] = base.contracts | _changes(item["contracts"])
        if "conversion_factor" in item:
            changes["conversion_factor"] = _cf(item["conversion_factor"])
        if "growth_percent_per_month" in item:
            changes["growth_percent_per_month"] = _decimal(item["growth_percent_per_month"], "growth_percent_per_month")
        variants.append(replace(base, **changes))
    return variants


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
        number = _decimal(share, f"{name} {payer}")
        if not 0 <= number <= 100:
            raise InputError(f"{payer}: {number}% is not between 0 and 100", field=name)
        result[str(payer)] = number
    return result


def _positive(value, name) -> Decimal:
    number = _decimal(value, name)
    if number <= 0:
        raise InputError(f"{number} must be more than 0", field=name)
    return number


def _seasonality(value) -> tuple[Decimal, ...]:
    if value is None:
        return (Decimal(1),) * 12
    if not isinstance(value, list) or len(value) != 12:
        raise InputError("seasonality needs 12 monthly multipliers (January first)", field="seasonality")
    factors = tuple(_decimal(v, "seasonality") for v in value)
    if any(f < 0 for f in factors):
        raise InputError("a seasonality multiplier is negative", field="seasonality")
    return factors


def _cf(value) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    number = _decimal(text, "conversion_factor")
    if number <= 0 or -number.as_tuple().exponent > 4:
        raise InputError(f"{text}: a conversion factor is positive with at most 4 decimals", field="conversion_factor")
    return text


def yearly_limit(rule_name: str | None) -> Fraction | None:
    """Most sessions a frequency rule pays in a year (None: no limit)."""
    if not rule_name:
        return None
    rules = _yaml("tpi_policies.yaml")["frequency_rules"][rule_name]["rules"]
    limits = [Fraction(365, r["days"]) if r["kind"] == "min_days_between" else Fraction(r["sessions"] * 365, r["days"])
              for r in rules]  # fmt: skip
    return min(limits)


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


def _scenario_rows(schedules, scenario: Scenario, contracts: dict[str, Contract], practice: Practice) -> list[dict]:
    location = scenario.location or {k: v for k, v in (("zip_code", practice.zip_code), ("locality", practice.locality)) if v}
    per_patient = Fraction(scenario.sessions_per_patient_per_year)
    growth = 1 + Fraction(scenario.growth_percent_per_month) / 100
    priced: dict[tuple, tuple] = {}
    medicare: dict[tuple, tuple] = {}  # Medicare claims shared by every payer of a template and quarter
    rows = []
    for index in range(scenario.months):
        year, month = divmod(scenario.start.month - 1 + index, 12)
        month_day = dt.date(scenario.start.year + year, month + 1, 15)
        day = scenario.prices_held_at or month_day
        first = first_of_year_share(month_day.month, per_patient)
        volume_factor = growth**index * Fraction(scenario.seasonality[month_day.month - 1])
        for payer, contract in contracts.items():
            totals = dict.fromkeys(OUTPUT_COLUMNS[3:], Fraction(0))
            for template in scenario.templates:
                key = (template.name, payer) + in_force_key(schedules, day)
                if key not in priced:
                    priced[key] = _price_session(schedules, template, contract, practice, location, day, scenario,
                                                 medicare)  # fmt: skip
                full, none = priced[key]
                sessions = Fraction(template.sessions_per_month) * volume_factor * Fraction(scenario.payer_mix[payer]) / 100
                limit = yearly_limit(contract.frequency_rule or ("three_per_12_months" if contract.kind == "medicare" else None))
                paid = min(Fraction(1), limit / per_patient) if limit else Fraction(1)
                denial = Fraction(scenario.denial_rate_percent.get(payer, 0)) / 100
                collected = paid * (1 - denial)
                totals["sessions"] += sessions
                totals["billed_charges"] += sessions * full["billed"]
                totals["allowed"] += sessions * full["allowed"]
                totals["at_risk_frequency"] += sessions * full["allowed"] * (1 - paid)
                totals["denied"] += sessions * full["allowed"] * paid * denial
                totals["at_risk_coverage"] += sessions * full["not_covered"]
                for name in ("patient_responsibility", "payer_payment"):
                    totals[name] += sessions * collected * (first * full[name] + (1 - first) * none[name])
            totals["expected_collections"] = totals["patient_responsibility"] + totals["payer_payment"]
            row = {"scenario": scenario.name, "month": f"{month_day:%Y-%m}", "payer": payer,
                   "sessions": Decimal(round(totals.pop("sessions") * 10)) / 10}  # fmt: skip
            row |= {name: round_cents(value) for name, value in totals.items()}
            rows.append(row)
    return rows


def _price_session(schedules, template: Template, contract: Contract, practice: Practice, location: dict, day: dt.date,
                   scenario: Scenario, medicare_claims: dict) -> tuple[dict, dict]:  # fmt: skip
    """One session of a template under a contract: with the deductible due, and without."""
    results = []
    medicare_deductible = round_cents(parameter("part_b/deductible", day).value)
    for due in (True, False):
        key = (template.name, due) + in_force_key(schedules, day)
        if key not in medicare_claims:
            data = {"date_of_service": day.isoformat(), "participating": practice.participating,
                    "cf_track": scenario.conversion_factor or practice.cf_track} | location | template.session  # fmt: skip
            data["deductible_remaining"] = str(medicare_deductible if due else 0)
            build = session_builder(schedules, Session.from_dict(data))
            medicare_claims[key] = (build, build(day, None, True))
        build, medicare = medicare_claims[key]
        priced_contract = contract if due else replace(contract, deductible=Decimal(0))
        claim = payer_claim(build, priced_contract, practice, day, medicare)
        billed = sum((practice.charge(line) or 0 for line in claim.lines if line.biller == "physician"), Decimal(0))
        not_covered = sum((m.allowed for l, m in zip(claim.lines, medicare.lines)
                           if l.allowed == 0 and m.allowed > 0 and m.biller == "physician"), Decimal(0))  # fmt: skip
        results.append({"billed": Fraction(billed), "allowed": Fraction(claim.total("allowed")),
                        "patient_responsibility": Fraction(claim.total("patient_share")),
                        "payer_payment": Fraction(claim.total("payer_payment") - claim.total("sequestration")),
                        "not_covered": Fraction(not_covered)})  # fmt: skip
    return results[0], results[1]


def load_scenario_file(path) -> list[Scenario]:
    try:
        data = yaml.safe_load(open(path, encoding="utf-8").read())
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        raise InputError(f"not valid YAML ({getattr(error, 'problem', error)})", file=path,
                         row=mark.line + 1 if mark else None) from None  # fmt: skip
    return parse_scenarios(data, str(path))


def summary(table: pd.DataFrame) -> pd.DataFrame:
    """Totals per scenario and payer, then per scenario."""
    money = OUTPUT_COLUMNS[4:]
    by_payer = table.groupby(["scenario", "payer"], sort=False)[["sessions"] + money].sum().reset_index()
    by_scenario = table.groupby("scenario", sort=False)[["sessions"] + money].sum().reset_index().assign(payer="ALL")
    return pd.concat([by_payer, by_scenario], ignore_index=True)
