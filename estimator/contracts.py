"""Payer contracts and the practice, as validated data.

A contract reproduces a payer's own arithmetic: "N% of Medicare" pinned to a fee-schedule year
(fixed) or the year of service (rolling) and to a locality; a fixed fee per code; a % of billed
charges; the payer's own dollars per RVU; carve-outs for drugs (ASP + x%, % of ASP, a price per
unit, not covered), imaging guidance and E/M-25; per-code overrides; a lesser-of-billed-charge
clause; whether the payer follows Medicare's claim edits and multiple-procedure rules; frequency
rules; prior authorization; and the patient's copay, deductible and coinsurance. How a contract
prices lines is estimator.rules.contracts; every amount here is bounded so that one contract can
never break the pricing of the others.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field, fields
from decimal import Decimal
from enum import StrEnum
from typing import Any

from .domain import DrugMethod, Kind, Method
from .errors import InputError
from .policies import Limit, covered_list, limits, medicare_default
from .textio import decimal_field, dump_yaml, load_yaml, plain_text

CODE_KEY = re.compile(r"[0-9A-Z]{5}(?:-[0-9A-Z]{2})?")
LOCALITY = re.compile(r"\d{5}-\d{2}")
MAX_PERCENT = Decimal(1000)  # 1,000% of Medicare or of charges
MAX_AMOUNT = Decimal(1_000_000)  # dollars per unit, copay, deductible
MAX_CODES = 20_000
NUMBERS = {  # field: (decimals, highest)
    "percent": (4, MAX_PERCENT),
    "drug_percent": (4, MAX_PERCENT),
    "copay": (2, Decimal(10_000)),
    "coinsurance_percent": (3, Decimal(100)),
    "deductible": (2, Decimal(100_000)),
    "dollars_per_rvu": (4, Decimal(10_000)),
    "collection_percent": (3, Decimal(100)),
}
FLAGS = (
    "lesser_of_billed",
    "guidance_covered",
    "em_25_paid",
    "prior_authorization",
    "sequestration",
    "claim_edits",
    "bypass_modifiers_accepted",
    "example",
)


def _money_map(values: Any, name: str, places: int = 6) -> dict[str, Decimal]:
    """{code or code-modifier: amount per unit}, each code well formed and each amount bounded."""
    if not isinstance(values, dict):
        raise InputError(f"{name} must map codes to amounts", field=name)
    if len(values) > MAX_CODES:
        raise InputError(f"{len(values):,} codes; at most {MAX_CODES:,}", field=name)
    result = {}
    for code, amount in values.items():
        key = str(code).strip().upper()
        if not CODE_KEY.fullmatch(key):
            raise InputError(f"{str(code)[:20]!r} is not a HCPCS code (e.g. 20552 or 76942-26)", field=name)
        result[key] = decimal_field(amount, f"{name} {key}", places=places, low=0, high=MAX_AMOUNT)
    return result


def _choice(value: Any, name: str, enum: type[StrEnum]) -> Any:
    try:
        return enum(value)
    except ValueError:
        raise InputError(f"{str(value)[:40]!r} is not one of {', '.join(m.value for m in enum)}", field=name) from None


def _flag(value: Any, name: str) -> bool:
    if not isinstance(value, bool):
        raise InputError(f"{str(value)[:40]!r} is not true or false", field=name)
    return value


@dataclass(frozen=True)
class Contract:
    """How one payer pays: base method, carve-outs, policies and the patient's cost sharing."""

    payer: str
    kind: Kind = Kind.COMMERCIAL
    method: Method = Method.PERCENT_OF_MEDICARE
    percent: Decimal = Decimal(100)
    medicare_year: int | None = None  # fixed: "125% of 2025 Medicare"; None: the year of service
    locality: str | None = None  # pinned carrier-locality; None: where the service is done
    fees: dict[str, Decimal] = field(default_factory=dict)  # fee per unit by code or code-modifier
    dollars_per_rvu: Decimal = Decimal(0)  # the payer's own conversion factor (method dollars_per_rvu)
    overrides: dict[str, Decimal] = field(default_factory=dict)  # per-code fixed amounts over the method
    lesser_of_billed: bool = False
    drug_method: DrugMethod = DrugMethod.SAME_AS_PROCEDURES
    drug_percent: Decimal = Decimal(0)
    drug_per_unit: dict[str, Decimal] = field(default_factory=dict)
    guidance_covered: bool = True
    em_25_paid: bool = True
    claim_edits: bool = True  # follows Medicare's claim edits and multiple-procedure rules
    bypass_modifiers_accepted: bool = True  # 59 / XE / XP / XS / XU let a second guidance code be paid
    frequency: tuple[Limit, ...] = ()  # the payer's frequency limits (traditional Medicare: the default preset)
    covered_diagnoses: str | tuple[str, ...] | None = None  # a shipped list's name or the payer's own codes
    prior_authorization: bool = False
    copay: Decimal = Decimal(0)
    coinsurance_percent: Decimal = Decimal(0)
    deductible: Decimal = Decimal(0)  # deductible the patient still owes, used in estimates
    sequestration: bool = False
    collection_percent: Decimal = Decimal(100)  # share of the expected amount the practice actually collects
    example: bool = False
    notes: str = ""

    @classmethod
    def from_dict(cls, data: Any) -> Contract:
        """Validate a contract from YAML/JSON data; every bad field is an InputError naming it."""
        if not isinstance(data, dict):
            raise InputError("a contract must be a mapping of fields", field="contract")
        known = {f.name for f in fields(cls)} | {"frequency_rule"}
        unknown = sorted(str(k) for k in set(data) - known)
        if unknown:
            raise InputError(f"unknown field(s): {', '.join(unknown)[:200]}", field=unknown[0][:40])
        values = dict(data)
        values["payer"] = plain_text(values.get("payer"), "payer", max_length=100)
        notes = values.get("notes")
        if isinstance(notes, (dict, list)):
            raise InputError("notes must be text", field="notes")
        values["notes"] = plain_text(re.sub(r"[\t\r\n]+", " ", str(notes or "")), "notes", max_length=2000, required=False)
        for name, enum in (("kind", Kind), ("method", Method), ("drug_method", DrugMethod)):
            if name in values:
                values[name] = _choice(values[name], name, enum)
        for name, (places, high) in NUMBERS.items():
            if name in values:
                values[name] = decimal_field(values[name], name, places=places, low=0, high=high)
        for name in ("fees", "overrides", "drug_per_unit"):
            if name in values:
                values[name] = _money_map(values[name] or {}, name)
        for name in FLAGS:
            if name in values:
                values[name] = _flag(values[name], name)
        year = values.get("medicare_year")
        if year is not None and (not isinstance(year, int) or isinstance(year, bool) or not 2000 <= year <= 2100):
            raise InputError(f"{str(year)[:20]!r} is not a year", field="medicare_year")
        if values.get("locality") is not None:
            values["locality"] = str(values["locality"]).strip() or None
            if values["locality"] and not LOCALITY.fullmatch(values["locality"]):
                raise InputError(
                    f"{values['locality'][:20]!r}: write a locality as CARRIER-LOCALITY, e.g. 10112-00", field="locality"
                )
        if "frequency_rule" in values:  # a preset's name, the shorthand for its limits
            if "frequency" in values:
                raise InputError("give frequency or frequency_rule, not both", field="frequency_rule")
            values["frequency"] = values.pop("frequency_rule")
        values["frequency"] = limits(values.get("frequency"))
        values["covered_diagnoses"] = covered_list(values.get("covered_diagnoses"))
        contract = cls(**values)
        if contract.method == Method.FEE_SCHEDULE and not contract.fees:
            raise InputError("a fee-schedule contract needs fees", field="fees")
        if contract.method == Method.DOLLARS_PER_RVU and not contract.dollars_per_rvu:
            raise InputError("a dollars-per-RVU contract needs its dollars_per_rvu", field="dollars_per_rvu")
        return contract

    def to_dict(self) -> dict:
        """Plain data for YAML/JSON: amounts as decimal text, enums as their names, nothing lost."""
        out = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, Decimal):
                value = str(value)
            elif f.name == "frequency":
                value = [limit.to_dict() for limit in value]
            elif f.name == "covered_diagnoses" and isinstance(value, tuple):
                value = list(value)
            elif isinstance(value, dict):
                value = {k: str(v) for k, v in value.items()}
            elif isinstance(value, str):
                value = str(value)  # an enum member as its plain value
            out[f.name] = value
        return out

    def frequency_limits(self) -> tuple[Limit, ...]:
        """The payer's own limits; traditional Medicare without its own: the default preset."""
        if self.frequency or self.kind != Kind.MEDICARE:
            return self.frequency
        return limits(medicare_default("frequency_rule"))

    def diagnosis_list(self) -> str | tuple[str, ...] | None:
        """The payer's own covered list; traditional Medicare without its own: the default list."""
        if self.covered_diagnoses or self.kind != Kind.MEDICARE:
            return self.covered_diagnoses
        return medicare_default("covered_diagnoses")

    @property
    def is_traditional_medicare(self) -> bool:
        """Part B cost sharing (deductible, 20% or the drug's ASP coinsurance, sequestration) applies."""
        return self.kind == Kind.MEDICARE


TRADITIONAL_MEDICARE = Contract(payer="Medicare (traditional)", kind=Kind.MEDICARE, method=Method.MEDICARE)


@dataclass(frozen=True)
class Practice:
    """The practice: where it works, its Medicare participation and CF track, its charge master."""

    name: str
    zip_code: str | None = None
    locality: str | None = None
    participating: bool = True
    cf_track: str = "standard"
    charges: dict[str, Decimal] = field(default_factory=dict)
    session_cost: Decimal = Decimal(0)  # supplies and staff time of one session, in dollars
    drug_costs: dict[str, Decimal] = field(default_factory=dict)  # acquisition cost per billing unit, by HCPCS
    example: bool = False

    @classmethod
    def from_dict(cls, data: Any) -> Practice:
        if not isinstance(data, dict):
            raise InputError("the practice must be a mapping of fields", field="practice")
        values = dict(data)
        unknown = sorted(str(k) for k in set(values) - {f.name for f in fields(cls)})
        if unknown:
            raise InputError(f"unknown field(s): {', '.join(unknown)[:200]}", field=unknown[0][:40])
        values["name"] = plain_text(values.get("name"), "name", max_length=100)
        values["charges"] = _money_map(values.get("charges") or {}, "charges", places=2)
        values["drug_costs"] = _money_map(values.get("drug_costs") or {}, "drug_costs")
        if "session_cost" in values:
            values["session_cost"] = decimal_field(values["session_cost"], "session_cost", places=2, low=0, high=MAX_AMOUNT)
        for name in ("participating", "example"):
            if name in values:
                values[name] = _flag(values[name], name)
        if values.get("zip_code") is not None:
            values["zip_code"] = str(values["zip_code"]).strip() or None
            if values["zip_code"] and not re.fullmatch(r"\d{5}(?:-?\d{4})?", values["zip_code"]):
                raise InputError(f"{values['zip_code'][:20]!r} is not a ZIP code (5 digits, or ZIP+4)", field="zip_code")
        if values.get("locality") is not None:
            values["locality"] = str(values["locality"]).strip() or None
            if values["locality"] and not LOCALITY.fullmatch(values["locality"]):
                raise InputError(
                    f"{values['locality'][:20]!r}: write a locality as CARRIER-LOCALITY, e.g. 10112-00", field="locality"
                )
        if values.get("cf_track", "standard") not in ("standard", "qualifying_apm"):
            raise InputError(f"{str(values['cf_track'])[:40]!r} is not standard or qualifying_apm", field="cf_track")
        return cls(**values)

    def to_dict(self) -> dict:
        return {
            f.name: (
                {k: str(v) for k, v in getattr(self, f.name).items()}
                if f.name in ("charges", "drug_costs")
                else str(self.session_cost)
                if f.name == "session_cost"
                else getattr(self, f.name)
            )
            for f in fields(self)
        }

    def charge_cents(self, codes: Iterable[str], keys: Iterable[str]) -> list[int | None]:
        """Billed charge per unit in cents from the charge master (code-modifier first, then code), or None."""
        table = {k: int(v * 100) for k, v in self.charges.items()}
        return [table.get(key, table.get(code)) for code, key in zip(codes, keys, strict=True)]


def load_contracts(text: str, source: str) -> list[Contract]:
    """Contracts from YAML or JSON text (a list, or a mapping with a 'contracts' list)."""
    data = load_yaml(text, source)
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
    names = [c.payer.lower() for c in contracts]
    if len(set(names)) != len(names):
        twice = next(c.payer for c in contracts if names.count(c.payer.lower()) > 1)
        raise InputError(f"payer {twice!r} appears twice", file=source, field="payer")
    return contracts


def dump_contracts(contracts: list[Contract], as_json: bool = False) -> str:
    import json

    data = {"contracts": [c.to_dict() for c in contracts]}
    return json.dumps(data, indent=2) if as_json else dump_yaml(data)
