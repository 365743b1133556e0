"""Payer contracts and how each one prices the lines of a claim.

A contract reproduces a payer's own arithmetic on top of the Medicare claim of the same
service: "N% of Medicare" pinned to a fee-schedule year (fixed) or the year of service
(rolling) and to a locality; a fixed fee per code; a % of billed charges; an optional
lesser-of-billed-charge clause; carve-outs for drugs (ASP + x%, % of ASP, a price per
unit, not covered), imaging guidance and E/M-25; frequency rules; prior authorization;
and the patient's copay, deductible and coinsurance. Each line is rounded to the cent once.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass, field, fields, replace
from decimal import Decimal
from fractions import Fraction
from typing import Callable

import numpy as np
import pandas as pd
import yaml

from .errors import InputError
from .money import cents_to_decimal, round_half_up_to_cents, scale_by
from .parameters import rate
from .session import EM_CODES, GUIDANCE, Claim, ClaimLine, Session, apply_patient_share, estimate, frequency_warnings, _decimal
from .store import FeeSchedules

KINDS = ("medicare", "medicare_advantage", "commercial", "medicaid", "self_pay")
METHODS = ("medicare", "percent_of_medicare", "fee_schedule", "percent_of_charges")
DRUG_METHODS = ("same_as_procedures", "asp_plus", "percent_of_asp", "per_unit", "not_covered")
CODE_KEY = re.compile(r"[0-9A-Z]{5}(?:-[0-9A-Z]{2})?")
ASP_MARKUP = Fraction(106, 100)  # the ASP file's payment limit is 106% of ASP (SSA 1847A(b))


def _money_map(values, name: str, places: int = 6) -> dict[str, Decimal]:
    if not isinstance(values, dict):
        raise InputError(f"{name} must map codes to amounts", field=name)
    result = {}
    for code, amount in values.items():
        key = str(code).strip().upper()
        if not CODE_KEY.fullmatch(key):
            raise InputError(f"{code!r} is not a HCPCS code (e.g. 20552 or 76942-26)", field=name)
        result[key] = _non_negative(amount, f"{name} {key}", places)
    return result


def _non_negative(value, name: str, places: int = 6) -> Decimal:
    """A non-negative amount or percentage with at most ``places`` decimals."""
    number = _decimal(value, name)
    if number < 0:
        raise InputError(f"{value} is negative", field=name)
    if -number.as_tuple().exponent > places:
        raise InputError(f"{value} has more than {places} decimals", field=name)
    return number


@dataclass(frozen=True)
class Contract:
    """How one payer pays: base method, carve-outs, policies and the patient's cost sharing."""

    payer: str
    kind: str = "commercial"
    method: str = "percent_of_medicare"
    percent: Decimal = Decimal(100)
    medicare_year: int | None = None  # fixed: "125% of 2025 Medicare"; None: the year of service
    locality: str | None = None  # pinned carrier-locality; None: where the service is done
    fees: dict[str, Decimal] = field(default_factory=dict)  # fee per unit by code or code-modifier
    overrides: dict[str, Decimal] = field(default_factory=dict)  # per-code fixed amounts over the method
    lesser_of_billed: bool = False
    drug_method: str = "same_as_procedures"
    drug_percent: Decimal = Decimal(0)
    drug_per_unit: dict[str, Decimal] = field(default_factory=dict)
    guidance_covered: bool = True
    em_25_paid: bool = True
    frequency_rule: str | None = None
    prior_authorization: bool = False
    copay: Decimal = Decimal(0)
    coinsurance_percent: Decimal = Decimal(0)
    deductible: Decimal = Decimal(0)  # deductible the patient still owes, used in estimates
    sequestration: bool = False
    example: bool = False
    notes: str = ""

    @classmethod
    def from_dict(cls, data: dict) -> Contract:
        """Validate a contract from YAML/JSON data; every bad field is an InputError naming it."""
        if not isinstance(data, dict):
            raise InputError("a contract must be a mapping of fields", field="contract")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise InputError(f"unknown field(s): {', '.join(unknown)}", field=unknown[0])
        values = dict(data)
        payer = str(values.get("payer") or "").strip()
        if not payer or len(payer) > 100:
            raise InputError("a payer needs a name of 1 to 100 characters", field="payer")
        values["payer"] = payer
        for name, allowed in (("kind", KINDS), ("method", METHODS), ("drug_method", DRUG_METHODS)):
            if name in values and values[name] not in allowed:
                raise InputError(f"{values[name]!r} is not one of {', '.join(allowed)}", field=name)
        for name, places in (("percent", 4), ("drug_percent", 4), ("copay", 2), ("coinsurance_percent", 3), ("deductible", 2)):
            if name in values:
                values[name] = _non_negative(values[name], name, places)
        if values.get("coinsurance_percent", 0) > 100:
            raise InputError("coinsurance above 100%", field="coinsurance_percent")
        for name in ("fees", "overrides", "drug_per_unit"):
            if name in values:
                values[name] = _money_map(values[name] or {}, name)
        year = values.get("medicare_year")
        if year is not None and (not isinstance(year, int) or isinstance(year, bool) or not 2000 <= year <= 2100):
            raise InputError(f"{year!r} is not a year", field="medicare_year")
        for name in ("lesser_of_billed", "guidance_covered", "em_25_paid", "prior_authorization", "sequestration", "example"):
            if name in values and not isinstance(values[name], bool):
                raise InputError(f"{values[name]!r} is not true or false", field=name)
        contract = cls(**values)
        if contract.method == "fee_schedule" and not contract.fees:
            raise InputError("a fee-schedule contract needs fees", field="fees")
        return contract

    def to_dict(self) -> dict:
        """Plain data for YAML/JSON: amounts as decimal text, nothing lost."""
        out = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, Decimal):
                value = str(value)
            elif isinstance(value, dict):
                value = {k: str(v) for k, v in value.items()}
            out[f.name] = value
        return out


@dataclass(frozen=True)
class Practice:
    """The practice: where it works, its Medicare participation and CF track, its charge master."""

    name: str
    zip_code: str | None = None
    locality: str | None = None
    participating: bool = True
    cf_track: str = "standard"
    charges: dict[str, Decimal] = field(default_factory=dict)
    example: bool = False

    @classmethod
    def from_dict(cls, data: dict) -> Practice:
        values = dict(data)
        unknown = sorted(set(values) - {f.name for f in fields(cls)})
        if unknown:
            raise InputError(f"unknown field(s): {', '.join(unknown)}", field=unknown[0])
        if not str(values.get("name") or "").strip():
            raise InputError("the practice needs a name", field="name")
        values["charges"] = _money_map(values.get("charges") or {}, "charges", places=2)
        for name in ("participating",):
            if name in values and not isinstance(values[name], bool):
                raise InputError(f"{values[name]!r} is not true or false", field=name)
        return cls(**values)

    def to_dict(self) -> dict:
        return {f.name: ({k: str(v) for k, v in getattr(self, f.name).items()} if f.name == "charges" else getattr(self, f.name))
                for f in fields(self)}  # fmt: skip

    def charge(self, line: ClaimLine) -> Decimal | None:
        """Billed charge of a line from the charge master (code-modifier first, then code), x units."""
        for key in dict.fromkeys((line_key(line.code, line.modifiers), line.code)):
            if key in self.charges:
                return self.charges[key] * line.units
        return None


def load_contracts(text: str, source: str) -> list[Contract]:
    """Contracts from YAML or JSON text (a list, or a mapping with a 'contracts' list)."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        raise InputError(f"not valid YAML/JSON ({getattr(error, 'problem', error)})", file=source,
                         row=mark.line + 1 if mark else None) from None  # fmt: skip
    if isinstance(data, dict) and "contracts" in data:
        data = data["contracts"]
    if isinstance(data, dict):
        data = [data]
    if not isinstance(data, list):
        raise InputError("expected a list of contracts", file=source)
    contracts = []
    for number, item in enumerate(data, 1):
        try:
            contracts.append(Contract.from_dict(item))
        except InputError as error:
            raise InputError(f"contract {number}: {error.message}", file=source, field=error.field) from None
    names = [c.payer for c in contracts]
    if len(set(names)) != len(names):
        raise InputError(f"payer {next(n for n in names if names.count(n) > 1)!r} appears twice", file=source, field="payer")
    return contracts


def dump_contracts(contracts: list[Contract], as_json: bool = False) -> str:
    data = {"contracts": [c.to_dict() for c in contracts]}
    return json.dumps(data, indent=2) if as_json else yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


# -- pricing --------------------------------------------------------------------------------


def line_category(line: ClaimLine) -> str:
    if line.biller in ("not billed", "facility"):
        return line.biller
    if line.code in GUIDANCE.values():
        return "guidance"
    if line.code in EM_CODES:
        return "em"
    if line.source.startswith("ASP"):
        return "drug"
    return "procedure"


def _in_year(day: dt.date, year: int) -> dt.date:
    return dt.date(year, day.month, min(day.day, 28))


ClaimBuilder = Callable[[dt.date, str | None, bool], Claim]


def session_builder(schedules: FeeSchedules, session: Session) -> ClaimBuilder:
    """Medicare claims of one session for a date, an optional pinned locality and participation."""

    def build(day: dt.date, locality: str | None, participating: bool = True) -> Claim:
        moved = replace(session, date_of_service=day, participating=participating,
                        **({"locality": locality, "zip_code": None} if locality else {}),
                        **({} if day == session.date_of_service else {"deductible_remaining": None}),
                        **({"cf_track": "standard"} if day.year != session.date_of_service.year else {}))  # fmt: skip
        return estimate(schedules, moved, compare_sites=False)

    return build


def payer_claim(build: ClaimBuilder, contract: Contract, practice: Practice, day: dt.date,
                medicare: Claim | None = None) -> Claim:  # fmt: skip
    """The claim as this payer pays it, with the reason for every line that differs from Medicare.

    ``medicare`` is the par Medicare claim of the same service and date when already built.
    """
    medicare = medicare or build(day, None, True)
    if contract.method == "medicare":
        claim = medicare if practice.participating else build(day, None, False)
        claim = replace(claim, lines=[replace(l) for l in claim.lines], warnings=list(claim.warnings))
        _policy_warnings(claim, contract)
        return claim
    pinned_day = _in_year(day, contract.medicare_year) if contract.medicare_year else day
    base = build(pinned_day, contract.locality, True) if (pinned_day, contract.locality) != (day, None) else medicare
    label = f"Medicare {pinned_day.year if contract.medicare_year else 'of the year of service'}" + (
        f" ({contract.locality})" if contract.locality else "")
    by_key = dict(zip(_occurrences(base.lines), base.lines))
    bases = [by_key.get(key) for key in _occurrences(medicare.lines)]
    missing = [l.code for l, b in zip(medicare.lines, bases) if b is None and l.allowed > 0]
    cents, reasons = contract_allowed(_line_table(medicare.lines, bases, practice), contract, label=label)
    zero = Decimal("0.00")
    lines = [replace(line, allowed=cents_to_decimal(c), reason=reason or line.reason, copay=zero,
                     deductible=zero, coinsurance=zero, payer_payment=zero, sequestration=zero, limiting_charge=None)
             for line, c, reason in zip(medicare.lines, cents, reasons)]  # fmt: skip
    coinsurance = contract.coinsurance_percent / 100
    apply_patient_share(lines, deductible=contract.deductible, copay=contract.copay,
                        coinsurance=Fraction(coinsurance),
                        sequestration=rate("sequestration_rate", day) if contract.sequestration else Fraction(0))  # fmt: skip
    claim = replace(medicare, lines=lines, warnings=[w for w in medicare.warnings if not _is_frequency_warning(w)])
    claim.warnings += [f"{label} has no amount for {code}: {contract.payer}'s percentage applies to 0." for code in missing]
    _policy_warnings(claim, contract)
    return claim


FEE_SCALE = 10**6  # fees and prices are read to at most 6 decimals


def _times(values: np.ndarray, denominator: int, factor: Fraction) -> np.ndarray:
    """Exact ``values / denominator`` dollars times ``factor`` -> cents, rounded half up once."""
    return round_half_up_to_cents(*scale_by(values.astype(np.int64), denominator, factor))


def _lookup(keys: pd.Series, codes: pd.Series, table: dict[str, Decimal]) -> tuple[np.ndarray, np.ndarray]:
    """Per-unit amounts (in 10**-6 dollars) found by code-modifier first, then code; and where found."""
    scaled = {k: int(Fraction(v) * FEE_SCALE) for k, v in table.items()}
    found = keys.map(scaled).fillna(codes.map(scaled))
    return found.fillna(0).to_numpy(np.int64), found.notna().to_numpy()


def contract_allowed(lines: pd.DataFrame, contract: Contract, *, label: str = "Medicare",
                     with_reasons: bool = True) -> tuple[np.ndarray, list[str] | None]:  # fmt: skip
    """What a contract allows for each line, in cents, vectorised over a table of lines.

    ``lines`` has: code, key (code-modifier for -26/-TC, else the code), units, category
    (procedure, guidance, em, drug, not billed), base_cents (the Medicare amount the
    contract's percentage applies to), unit_price_milli (drugs: the ASP payment limit per
    unit in 1/1000 dollars), billed_cents (<NA> without a charge). Rules in order: the base
    method; drug carve-outs; per-code overrides; lines not billed; guidance / E/M-25 not
    covered; the lesser of the billed charge.
    """
    n = len(lines)
    units = lines["units"].to_numpy(np.int64)
    category = lines["category"].to_numpy()
    billed = lines["billed_cents"].astype("Int64")
    has_bill, bill = billed.notna().to_numpy(), billed.fillna(0).to_numpy(np.int64)
    pct = Fraction(contract.percent) / 100
    rule = np.full(n, contract.method, dtype=object)
    if contract.method == "percent_of_medicare":
        amount = _times(lines["base_cents"].to_numpy(np.int64), 100, pct)
    elif contract.method == "fee_schedule":
        fee, found = _lookup(lines["key"], lines["code"], contract.fees)
        amount = np.where(found, _times(fee * units, FEE_SCALE, Fraction(1)), 0)
        rule = np.where(found, rule, "fee_missing")
    else:  # percent_of_charges
        amount = np.where(has_bill, _times(bill, 100, pct), 0)
        rule = np.where(has_bill, rule, "charge_missing")
    drug = (category == "drug") & (contract.drug_method != "same_as_procedures")
    if drug.any():
        drug_rule = np.full(n, contract.drug_method, dtype=object)
        if contract.drug_method == "not_covered":
            drug_amount = np.zeros(n, np.int64)
        elif contract.drug_method == "per_unit":
            price, found = _lookup(lines["code"], lines["code"], contract.drug_per_unit)
            drug_amount = np.where(found, _times(price * units, FEE_SCALE, Fraction(1)), 0)
            drug_rule = np.where(found, drug_rule, "drug_price_missing")
        else:
            share = Fraction(contract.drug_percent) / 100 + (1 if contract.drug_method == "asp_plus" else 0)
            asp_milli = lines["unit_price_milli"].fillna(0).to_numpy(np.int64) * units
            drug_amount = _times(asp_milli, 1000, share / ASP_MARKUP)
        amount = np.where(drug, drug_amount, amount)
        rule = np.where(drug, drug_rule, rule)
    override, overridden = _lookup(lines["key"], lines["code"], contract.overrides)
    amount = np.where(overridden, _times(override * units, FEE_SCALE, Fraction(1)), amount)
    rule = np.where(overridden, "override", rule)
    zero = np.isin(category, ["not billed", "facility"]) | ((category == "guidance") & (not contract.guidance_covered)) | (
        (category == "em") & (not contract.em_25_paid))
    rule = np.where(zero, np.where(category == "not billed", "not_billed", "excluded_" + category.astype(str)), rule)
    amount = np.where(zero, 0, amount)
    lesser = contract.lesser_of_billed & has_bill & (bill < amount)
    amount = np.where(lesser, bill, amount)
    if not with_reasons:
        return amount, None
    return amount, [_reason(r, row, contract, label, l) for r, row, l in zip(rule, lines.itertuples(index=False), lesser)]


def _reason(rule: str, line, contract: Contract, label: str, lesser: bool) -> str:
    """The plain-language reason for a line priced by ``rule`` (see contract_allowed)."""
    def money(cents) -> str:
        return f"{Decimal(int(cents)) / 100:.2f}"

    text = {
        "percent_of_medicare": lambda: f"{contract.percent}% of {label}: {money(line.base_cents)} x {contract.percent}%.",
        "fee_schedule": lambda: f"Fee schedule: {contract.fees.get(line.key, contract.fees.get(line.code))} x {line.units}.",
        "fee_missing": lambda: f"{line.code} is not in {contract.payer}'s fee schedule.",
        "percent_of_charges": lambda: f"{contract.percent}% of the billed charge {money(line.billed_cents)}.",
        "charge_missing": lambda: f"No charge for {line.code} in the charge master.",
        "not_covered": lambda: f"Drugs not covered by {contract.payer}.",
        "per_unit": lambda: f"Contract drug price {contract.drug_per_unit.get(line.code)} x {line.units}.",
        "drug_price_missing": lambda: f"No drug price for {line.code} in {contract.payer}'s contract.",
        "asp_plus": lambda: f"ASP + {contract.drug_percent}% (ASP = payment limit / 1.06).",
        "percent_of_asp": lambda: f"{contract.drug_percent}% of ASP (ASP = payment limit / 1.06).",
        "override": lambda: f"Contract override for {line.key if line.key in contract.overrides else line.code}.",
        "not_billed": lambda: "",
        "excluded_guidance": lambda: f"Guidance not covered for trigger point injections by {contract.payer}.",
        "excluded_em": lambda: f"E/M with modifier 25 bundled by {contract.payer}.",
        "excluded_facility": lambda: "Billed by the hospital or ASC under its own contract, not by the practice.",
    }[rule]()
    return text + (f" Lesser of billed charge {money(line.billed_cents)}." if lesser else "")


def _occurrences(lines: list[ClaimLine]) -> list[tuple]:
    """(code, modifiers, biller, n-th time seen): pairs the lines of two claims of one session."""
    seen: dict[tuple, int] = {}
    keys = []
    for line in lines:
        key = (line.code, line.modifiers, line.biller)
        seen[key] = seen.get(key, 0) + 1
        keys.append(key + (seen[key],))
    return keys


def line_key(code: str, modifiers) -> str:
    """How contracts name a line: the code, with -26 or -TC when the line carries it."""
    return code + next((f"-{m}" for m in modifiers if m in ("26", "TC")), "")


def _line_table(lines: list[ClaimLine], bases: list[ClaimLine | None], practice: Practice) -> pd.DataFrame:
    """Claim lines as the table contract_allowed reads."""
    def cents(value):
        return None if value is None else int(value * 100)

    return pd.DataFrame({
        "code": [l.code for l in lines],
        "key": [line_key(l.code, l.modifiers) for l in lines],
        "units": [l.units for l in lines],
        "category": [line_category(l) for l in lines],
        "base_cents": [0 if b is None else cents(b.allowed) for b in bases],
        "unit_price_milli": pd.array([None if l.unit_price is None else int(l.unit_price * 1000) for l in lines], dtype="Int64"),
        "billed_cents": pd.array([cents(practice.charge(l)) for l in lines], dtype="Int64"),
    })  # fmt: skip


def _policy_warnings(claim: Claim, contract: Contract) -> None:
    """The payer's own frequency rule (replacing Medicare's), prior authorization, guidance coverage."""
    session = claim.session
    if contract.frequency_rule:
        claim.warnings[:] = [w for w in claim.warnings if not _is_frequency_warning(w)]
        claim.warnings += frequency_warnings(replace(session, frequency_rule=contract.frequency_rule))
    if contract.prior_authorization:
        claim.warnings.append(f"{contract.payer} requires prior authorization for trigger point injections.")
    if not contract.guidance_covered and session.guidance != "none":
        claim.warnings.append(f"{contract.payer} does not cover imaging guidance for trigger point injections.")


def _is_frequency_warning(text: str) -> bool:
    return text.startswith(("This would be session", "Only ", "A trigger point session is already"))


# -- comparison -----------------------------------------------------------------------------


def codes_builder(schedules: FeeSchedules, codes: list[str], template: Session) -> ClaimBuilder:
    """Medicare claims of a plain list of PFS codes (e.g. 20552, 76942-26), one unit each."""
    from .session import PLACES_OF_SERVICE, pfs_lines
    from .pfs import resolve_locality

    items = []
    for text in codes:
        code, _, modifier = text.strip().upper().partition("-")
        items.append((code, modifier if modifier in ("26", "TC") else "", (modifier,) if modifier else (), "Listed code."))

    def build(day: dt.date, locality: str | None, participating: bool = True) -> Claim:
        session = replace(template, date_of_service=day, participating=participating,
                          **({"locality": locality, "zip_code": None} if locality else {}))  # fmt: skip
        if session.place_of_service not in PLACES_OF_SERVICE:
            raise InputError(f"place of service {session.place_of_service!r}: use 11, 19, 22 or 24", field="place_of_service")
        setting = PLACES_OF_SERVICE[session.place_of_service][1]
        where = resolve_locality(schedules, day, zip_code=session.zip_code, locality=session.locality)
        lines, basis = pfs_lines(schedules, session, setting, items, where)
        apply_patient_share(lines, deductible=Decimal(0), sequestration=rate("sequestration_rate", day))
        return Claim(session, setting, "national" if where == ("", "") else "-".join(where), lines, notes=basis.notes())

    return build


def compare(items: list[tuple[ClaimBuilder, int]], contracts: list[Contract], practice: Practice,
            day: dt.date) -> tuple[pd.DataFrame, pd.DataFrame]:  # fmt: skip
    """Each payer's allowed, patient share, expected payment, % of Medicare, rank and gap to the best.

    ``items`` is one claim builder (a session or a code list) or a mix of them with counts.
    Returns (totals by payer, lines by payer). % of Medicare is against the traditional
    Medicare par allowed amount of the same services and dates.
    """
    if not contracts:
        raise InputError("no payers to compare: add contracts first", field="payers")
    medicare_claims = [(build, count, build(day, None, True)) for build, count in items]
    medicare_allowed = sum((m.total("allowed") * count for _, count, m in medicare_claims), Decimal(0))
    totals, lines = [], []
    for contract in contracts:
        sums = dict.fromkeys(("allowed", "patient_share", "payer_payment", "sequestration", "expected_to_provider"), Decimal(0))
        warnings, differences = [], []
        for number, (build, count, medicare) in enumerate(medicare_claims, 1):
            claim = payer_claim(build, contract, practice, day, medicare)
            for name in sums:
                sums[name] += claim.total(name) * count
            frame = claim.to_frame()
            frame.insert(0, "payer", contract.payer)
            frame.insert(1, "item", number)
            frame.insert(2, "count", count)
            lines.append(frame)
            warnings += [w for w in claim.warnings if w not in warnings]
            differences += [f"{l.code}: {l.reason}" for l, m in zip(claim.lines, medicare.lines)
                            if l.allowed != m.allowed and f"{l.code}: {l.reason}" not in differences]  # fmt: skip
        totals.append({
            "payer": contract.payer, "kind": contract.kind, "allowed": sums["allowed"],
            "patient_share": sums["patient_share"], "payer_payment": sums["payer_payment"] - sums["sequestration"],
            "expected": sums["expected_to_provider"],
            "percent_of_medicare": (sums["allowed"] / medicare_allowed * 100).quantize(Decimal("0.1")) if medicare_allowed else None,
            "warnings": " ".join(warnings), "reasons": " ".join(differences),
        })  # fmt: skip
    table = pd.DataFrame(totals)
    best = table["expected"].max()
    table["rank"] = table["expected"].rank(ascending=False, method="min").astype(int)
    table["difference_to_best"] = [e - best for e in table["expected"]]
    return table.sort_values("rank", kind="stable").reset_index(drop=True), pd.concat(lines, ignore_index=True)
