"""Compare payers for the same services: one session, a list of codes, or a mix of them with counts.

The same claim lines are priced under every payer's contract, and under traditional Medicare par as
the reference for "% of Medicare", in one engine call. Totals are the practice's own claim (the
facility's lines are left out); each payer's reasons name every line that differs from Medicare.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal

import numpy as np
import pandas as pd

from .contracts import TRADITIONAL_MEDICARE, Contract, Practice
from .domain import Biller, Kind
from .engine import Book, Priced, price
from .errors import InputError
from .money import round_cents
from .session import Claim, Coded, Session, code_session, labels, line_table, part_b_deductible_owed, priced_claim
from .session import policy_warnings as session_policy_warnings
from .store import FeeSchedules

REFERENCE = "\x00Medicare par"  # a payer name no user can type (control characters are refused)


@dataclass(frozen=True)
class Item:
    """Services compared: the coded lines of a session (or of a code list), counted ``count`` times."""

    session: Session
    coded: Coded
    count: int = 1


def session_item(schedules: FeeSchedules, session: Session, count: int = 1) -> Item:
    return Item(session, code_session(schedules, session), count)


def codes_item(codes: list[str], session: Session, count: int = 1) -> Item:
    """A plain list of codes (e.g. 20552, 76942-26), one unit each, at the session's place and date."""
    names = labels()
    lines = []
    for text in codes:
        code, _, modifier = text.strip().upper().partition("-")
        if not code:
            continue
        lines.append({"code": code, "modifiers": modifier, "label": names.get(code, code), "reason": "Listed code."})
    if not lines:
        raise InputError("give at least one code", field="codes")
    return Item(session, Coded(session.place_of_service, lines), count)


def _deductible(contract: Contract, session: Session) -> Decimal:
    """The deductible still owed on the claim: the session's Part B figure for traditional Medicare, the
    contract's own for every other payer."""
    if contract.kind == Kind.MEDICARE:
        return part_b_deductible_owed(session)
    return contract.deductible


def price_items(
    schedules: FeeSchedules, items: list[Item], contracts: list[Contract], practice: Practice, proposal: str = ""
) -> Priced:
    """Every item under every contract and under the Medicare par reference, in one engine call
    (under a proposed rule when ``proposal`` names one: estimator.proposals)."""
    reference = replace(TRADITIONAL_MEDICARE, payer=REFERENCE)
    tables = []
    for number, item in enumerate(items, 1):
        session = replace(item.session, participating=practice.participating)
        for contract in contracts + [reference]:
            table = line_table(
                session,
                item.coded,
                f"item {number}",
                contract.payer,
                deductible=_deductible(contract, session),
                practice=practice,
            )
            if contract is reference:
                table["participating"] = True
            tables.append(table.assign(item=number, count=item.count, proposal=proposal))
    book = Book(schedules, {c.payer: c for c in contracts + [reference]})
    return price(pd.concat(tables, ignore_index=True), book)


def payer_claims(schedules: FeeSchedules, session: Session, contracts: list[Contract], practice: Practice) -> dict[str, Claim]:
    """The session's claim as each payer pays it, with each payer's own warnings."""
    item = session_item(schedules, session)
    priced = price_items(schedules, [item], contracts, practice)
    _raise_first_error(priced)
    claims = {}
    for contract in contracts:
        rows = priced.lines["payer"] == contract.payer
        claim = priced_claim(
            item.session,
            item.coded,
            Priced(priced.lines[rows], priced.notes),
            "item 1",
            _deductible(contract, session),
        )
        claim.warnings = policy_warnings(item, contract)
        claims[contract.payer] = claim
    return claims


def _raise_first_error(priced: Priced) -> None:
    failed = priced.lines[~priced.ok]
    if not failed.empty:
        first = failed.iloc[0]
        field = str(first["error_field"]) or "code"
        raise InputError(f"{first['code']}: {first['error']}" if field == "code" else str(first["error"]), field=field)


def policy_warnings(item: Item, contract: Contract) -> list[str]:
    """The coder's warnings, then this payer's: its frequency limits and covered diagnoses
    (estimator.session.policy_warnings), prior authorization, guidance not covered."""
    session = item.session
    warnings = list(item.coded.warnings) + session_policy_warnings(session, contract)
    if contract.prior_authorization:
        warnings.append(f"{contract.payer} requires prior authorization for trigger point injections.")
    if not contract.guidance_covered and session.guidance != "none":
        warnings.append(f"{contract.payer} does not cover imaging guidance for trigger point injections.")
    return warnings


MONEY = ["allowed", "patient_share", "payer_payment", "sequestration", "expected"]


def compare(
    schedules: FeeSchedules, items: list[Item], contracts: list[Contract], practice: Practice, proposal: str = ""
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Each payer's allowed, patient share, payment (before sequestration), sequestration, expected to the
    practice (patient share + payment - sequestration), collected (expected x the payer's collection
    rate), cost and margin (the practice's settings), % of Medicare par,
    rank and gap to the best; and every payer's priced lines. Amounts are Decimal dollars. Under a
    proposal (estimator.proposals) every figure is the proposal's what-if, Medicare par included."""
    if not contracts:
        raise InputError("no payers to compare: add contracts first", field="payers")
    days = {item.session.date_of_service for item in items}
    if len(days) > 1:
        raise InputError("every session of a mix must have the same date of service", field="mix")
    priced = price_items(schedules, items, contracts, practice, proposal)
    _raise_first_error(priced)
    lines = priced.lines.assign(count=priced.lines["count"].astype(int))
    practice_lines = lines[lines["biller"] != Biller.FACILITY]
    weighted = practice_lines[MONEY].mul(practice_lines["count"], axis=0).groupby(practice_lines["payer"]).sum()
    reference = lines[lines["payer"] == REFERENCE].set_index(["item", "line"])
    medicare_allowed = int(weighted.loc[REFERENCE, "allowed"])
    totals = []
    for contract in contracts:
        own = lines[lines["payer"] == contract.payer]
        base = reference.reindex(pd.MultiIndex.from_frame(own[["item", "line"]]))["allowed"].to_numpy()
        differs = own[(own["allowed"].to_numpy() != base) & (own["biller"] != Biller.NOT_BILLED).to_numpy()]
        reasons = list(dict.fromkeys(f"{r.code}: {r.reason}" for r in differs.itertuples()))
        warnings = list(dict.fromkeys(w for item in items for w in policy_warnings(item, contract)))
        sums = weighted.loc[contract.payer]
        totals.append(
            {
                "payer": contract.payer,
                "kind": contract.kind.value,
                "allowed": _dollars(sums["allowed"]),
                "patient_share": _dollars(sums["patient_share"]),
                "payer_payment": _dollars(sums["payer_payment"]),  # before sequestration, as on every claim line
                "sequestration": _dollars(sums["sequestration"]),
                "expected": _dollars(sums["expected"]),
                "percent_of_medicare": (Decimal(int(sums["allowed"])) / medicare_allowed * 100).quantize(Decimal("0.1"))
                if medicare_allowed
                else None,
                "warnings": " ".join(warnings),
                "reasons": " ".join(reasons),
            }
        )
    table = pd.DataFrame(totals)
    cost = _cost(reference.reset_index(), practice)
    table["collected"] = [round_cents(e * c.collection_percent / 100) for e, c in zip(table["expected"], contracts, strict=True)]
    table["cost"] = cost
    table["margin"] = [c - cost for c in table["collected"]]
    best = table["collected"].max()
    table["rank"] = table["collected"].rank(ascending=False, method="min").astype(int)
    table["difference_to_best"] = [e - best for e in table["collected"]]
    shown = lines[lines["payer"] != REFERENCE]
    return table.sort_values("rank", kind="stable").reset_index(drop=True), line_frame(shown)


def _dollars(cents) -> Decimal:
    return (Decimal(int(cents)) / 100).quantize(Decimal("0.01"))


def _cost(lines: pd.DataFrame, practice: Practice) -> Decimal:
    """What the sessions cost the practice: its cost per session, and each drug it bills at its
    acquisition cost per unit (the practice's settings; 0 where none is given)."""
    own = lines[(lines["biller"] == Biller.PHYSICIAN) & (lines["category"] == "drug")]
    sessions = lines.groupby("item")["count"].first().sum() if len(lines) else 0
    drugs = sum(
        (
            practice.drug_costs.get(code, Decimal(0)) * int(units) * int(count)
            for code, units, count in own[["code", "units", "count"]].itertuples(index=False)
        ),
        Decimal(0),
    )
    return round_cents(practice.session_cost * int(sessions) + drugs)


def line_frame(priced: pd.DataFrame) -> pd.DataFrame:
    """Priced lines as a table a person reads: amounts in exact dollars, the edit and reason of each."""
    from .money import dollars

    out = pd.DataFrame(
        {
            "payer": priced["payer"].to_numpy(),
            "item": priced["item"].to_numpy(),
            "count": priced["count"].to_numpy(),
            "code": priced["code"].to_numpy(),
            "modifiers": priced["modifiers"].to_numpy(),
            "units": priced["units"].to_numpy(),
            "biller": priced["biller"].to_numpy(),
        }
    )
    for column, source in (
        ("medicare", "medicare"),
        ("allowed", "allowed"),
        ("patient_share", "patient_share"),
        ("payer_payment", "payer_payment"),
        ("sequestration", "sequestration"),
        ("expected", "expected"),
    ):
        out[column] = dollars(priced[source].to_numpy(np.int64))
    out["edit"], out["reason"], out["release"] = (
        priced["edit"].to_numpy(),
        priced["reason"].to_numpy(),
        priced["release"].to_numpy(),
    )
    return out
