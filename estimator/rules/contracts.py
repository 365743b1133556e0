"""What each payer's contract allows for each line, in cents, vectorised over a table of lines.

Rules in order (estimator/contracts.py describes the terms):

1. The base method: Medicare's own amount (traditional Medicare and plans paying "Medicare"), N% of
   the Medicare par amount (of the year and locality the contract is pinned to), a fixed fee per
   unit, N% of the billed charge, or the payer's dollars per RVU (total RVUs of the setting).
2. Drug carve-outs on drug lines: ASP + x% or x% of ASP (ASP = payment limit / 1.06, parameter
   asp/payment_limit_markup), a price per unit, or not covered.
3. Per-code overrides (a fixed amount per unit).
4. Lines the practice does not bill (the facility's, anesthetic and saline), guidance and E/M-25 a
   contract does not cover: 0.
5. The multiple-procedure share and claim edits (estimator.rules.edits, multiple_procedures) apply to
   every method of a contract that follows them (claim_edits, the default).
6. The lesser of the billed charge and the amount: always for Medicare's own amount (RVU25D.pdf,
   "base the payment on the lower of (a) the actual charge, or (b) the fee schedule amount"), and for
   any contract with a lesser-of-billed clause.

Each line is rounded half up to the cent once.
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import numpy as np
import pandas as pd

from ..contracts import Contract
from ..domain import Category, DrugMethod, Method
from ..money import ratio_to_cents, units_text
from ..parameters import rate
from .columns import has_modifier, value_codes

MICRO = 10**6  # contract amounts per unit are read to 6 decimals


def _lookup(values: pd.Series, table: dict) -> np.ndarray:
    """``table[value]`` for each line (NaN where absent), worked out once per distinct value."""
    codes, uniques = value_codes(values)
    found = np.array([table.get(str(u), np.nan) for u in uniques] + [np.nan], dtype=float)
    return found[codes]


def _per_unit(table: dict[str, Decimal], keys: pd.Series, codes: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Per-unit amounts in 10**-6 dollars found by code-modifier first, then code; and where found."""
    if not table:
        return np.zeros(len(keys), np.int64), np.zeros(len(keys), bool)
    scaled = {k: int(v * MICRO) for k, v in table.items()}
    by_key = _lookup(keys, scaled)
    found = np.where(np.isnan(by_key), _lookup(codes, scaled), by_key)
    return np.nan_to_num(found).astype(np.int64), ~np.isnan(found)


RULES = (
    "medicare",
    "percent_of_medicare",
    "fee_schedule",
    "dollars_per_rvu",
    "percent_of_charges",
    "fee_missing",
    "charge_missing",
    "not_covered",
    "per_unit",
    "drug_price_missing",
    "asp_plus",
    "percent_of_asp",
    "override",
    "not_billed",
    "excluded_facility",
    "excluded_guidance",
    "excluded_em",
)
RULE = {name: number for number, name in enumerate(RULES)}


def contract_allowed(t: pd.DataFrame, contract: Contract) -> pd.DataFrame:
    """allowed (cents), rule and lesser (bool) for the lines ``t`` of one payer.

    ``t`` has code, key (code or code-modifier for -26/-TC), modifiers, units, category, share_num,
    share_den (the claim edits' and multiple-procedure share), medicare (Medicare's own amount in
    cents after that share, par or non-par), base_unit (Medicare par per unit in 1/1000 dollar, of the
    pinned year and locality when the contract is pinned), unit_fee (a drug's payment limit per unit,
    1/1000 dollar), total_rvu (1/100 RVU), billed (cents), billed_known and day.
    """
    n = len(t)
    units = t["units"].to_numpy(np.int64)
    is_category = {c: (t["category"] == c).to_numpy() for c in Category}
    if contract.claim_edits or contract.method == Method.MEDICARE:
        num, den = t["share_num"].to_numpy(np.int64), t["share_den"].to_numpy(np.int64)
    else:
        num, den = np.ones(n, np.int64), np.ones(n, np.int64)
    billed, has_bill = t["billed"].to_numpy(np.int64), t["billed_known"].to_numpy(bool)
    pct = Fraction(contract.percent) / 100
    rule = np.full(n, RULE[contract.method.value], np.int8)
    if contract.method == Method.MEDICARE:
        amount = t["medicare"].to_numpy(np.int64)
    elif contract.method == Method.PERCENT_OF_MEDICARE:
        base = ratio_to_cents(units * t["base_unit"].to_numpy(np.int64), num, den * 10)
        amount = ratio_to_cents(base, np.full(n, pct.numerator), np.full(n, pct.denominator))
    elif contract.method == Method.FEE_SCHEDULE:
        fee, found = _per_unit(contract.fees, t["key"], t["code"])
        amount = np.where(found, ratio_to_cents(fee * units, num, den * 10**4), 0)
        rule[~found] = RULE["fee_missing"]
    elif contract.method == Method.DOLLARS_PER_RVU:
        per_rvu = int(contract.dollars_per_rvu * 10**4)
        amount = ratio_to_cents(t["total_rvu"].to_numpy(np.int64) * units * per_rvu, num, den * 10**4)
    else:  # percent of charges
        amount = np.where(has_bill, ratio_to_cents(billed, pct.numerator * num, pct.denominator * den), 0)
        rule[~has_bill] = RULE["charge_missing"]
    drug = is_category[Category.DRUG] & (contract.drug_method != DrugMethod.SAME_AS_PROCEDURES)
    if drug.any():
        drug_rule = np.full(n, RULE[contract.drug_method.value], np.int8)
        if contract.drug_method == DrugMethod.NOT_COVERED:
            drug_amount = np.zeros(n, np.int64)
        elif contract.drug_method == DrugMethod.PER_UNIT:
            price, found = _per_unit(contract.drug_per_unit, t["code"], t["code"])
            drug_amount = np.where(found, ratio_to_cents(price * units, num, den * 10**4), 0)
            drug_rule[~found] = RULE["drug_price_missing"]
        else:
            markup = rate("asp/payment_limit_markup", t["day"].iloc[0]) if n else Fraction(1)
            share = (Fraction(contract.drug_percent) / 100 + (1 if contract.drug_method == DrugMethod.ASP_PLUS else 0)) / markup
            drug_amount = ratio_to_cents(
                t["unit_fee"].to_numpy(np.int64) * units, share.numerator * num, share.denominator * den * 10
            )
        amount = np.where(drug, drug_amount, amount)
        rule = np.where(drug, drug_rule, rule)
    if contract.overrides:
        override, overridden = _per_unit(contract.overrides, t["key"], t["code"])
        amount = np.where(overridden, ratio_to_cents(override * units, num, den * 10**4), amount)
        rule[overridden] = RULE["override"]
    for excluded, name in (
        (is_category[Category.NOT_BILLED], "not_billed"),
        (is_category[Category.FACILITY] & (contract.method != Method.MEDICARE), "excluded_facility"),
        (is_category[Category.GUIDANCE] & (not contract.guidance_covered), "excluded_guidance"),
        (is_category[Category.EM] & (not contract.em_25_paid) & has_modifier(t["modifiers"], ["25"]), "excluded_em"),
    ):
        amount = np.where(excluded, 0, amount)
        rule[excluded] = RULE[name]
    charge_limit = (contract.method == Method.MEDICARE or contract.lesser_of_billed) & ~is_category[Category.FACILITY]
    lesser = charge_limit & has_bill & (billed < amount)
    amount = np.where(lesser, billed, amount)
    return pd.DataFrame(
        {"allowed": amount.astype(np.int64), "rule": pd.Categorical.from_codes(rule, categories=RULES), "lesser": lesser},
        index=t.index,
    )


def contract_reasons(t: pd.DataFrame, contract: Contract, label: str) -> pd.Series:
    """Plain-language reason for each line priced by contract_allowed (t has its rule and lesser)."""
    reason = pd.Series("", index=t.index, dtype=object)
    money = pd.Series(units_text(t["billed"].to_numpy()), index=t.index)
    base = pd.Series(
        units_text(
            ratio_to_cents(
                t["units"].to_numpy(np.int64) * t["base_unit"].to_numpy(np.int64),
                t["share_num"].to_numpy(np.int64),
                t["share_den"].to_numpy(np.int64) * 10,
            )
        ),
        index=t.index,
    )
    fees = {k: str(v) for k, v in contract.fees.items()}
    texts = {
        "medicare": lambda r: pd.Series("", index=r),
        "percent_of_medicare": lambda r: f"{contract.percent}% of {label}: " + base[r] + f" x {contract.percent}%.",
        "fee_schedule": lambda r: (
            "Fee schedule: "
            + t.loc[r, "key"].map(fees).fillna(t.loc[r, "code"].map(fees)).astype(str)
            + " x "
            + t.loc[r, "units"].astype(str)
            + "."
        ),
        "dollars_per_rvu": lambda r: (
            f"${contract.dollars_per_rvu} per RVU x "
            + pd.Series(units_text(t.loc[r, "total_rvu"].to_numpy()), index=r)
            + " RVUs x "
            + t.loc[r, "units"].astype(str)
            + "."
        ),
        "fee_missing": lambda r: t.loc[r, "code"] + f" is not in {contract.payer}'s fee schedule.",
        "percent_of_charges": lambda r: f"{contract.percent}% of the billed charge " + money[r] + ".",
        "charge_missing": lambda r: "No charge for " + t.loc[r, "code"] + " in the charge master.",
        "not_covered": lambda r: pd.Series(f"Drugs not covered by {contract.payer}.", index=r),
        "per_unit": lambda r: (
            "Contract drug price "
            + t.loc[r, "code"].map({k: str(v) for k, v in contract.drug_per_unit.items()})
            + " x "
            + t.loc[r, "units"].astype(str)
            + "."
        ),
        "drug_price_missing": lambda r: "No drug price for " + t.loc[r, "code"] + f" in {contract.payer}'s contract.",
        "asp_plus": lambda r: pd.Series(f"ASP + {contract.drug_percent}% (ASP = payment limit / 1.06).", index=r),
        "percent_of_asp": lambda r: pd.Series(f"{contract.drug_percent}% of ASP (ASP = payment limit / 1.06).", index=r),
        "override": lambda r: (
            "Contract override for " + t.loc[r, "key"].where(t.loc[r, "key"].isin(contract.overrides), t.loc[r, "code"]) + "."
        ),
        "not_billed": lambda r: pd.Series("", index=r),
        "excluded_guidance": lambda r: pd.Series(
            f"Guidance not covered for trigger point injections by {contract.payer}.", index=r
        ),
        "excluded_em": lambda r: pd.Series(f"E/M with modifier 25 bundled by {contract.payer}.", index=r),
        "excluded_facility": lambda r: pd.Series(
            "Billed by the hospital or ASC under its own contract, not by the practice.", index=r
        ),
    }
    for rule, rows in t.groupby("rule", sort=False, observed=True).groups.items():
        reason[rows] = texts[str(rule)](rows)
    lesser = t["lesser"].to_numpy(bool)
    reason[lesser] = reason[lesser] + " Lesser of the billed charge " + money[lesser] + "."
    return reason.str.strip()
