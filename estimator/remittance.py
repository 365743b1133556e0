"""Remittances (X12 835) reconciled line by line against what the engine expects, and the 837P
claims they answer.

Each service line of an 835 is priced by the engine as any claim line (the claim's lines together,
so claim edits and multiple-procedure rules apply; the payer's contract; Medicare's lesser of the
charge and the fee schedule amount), then judged:

- the payer: a payer ID of the 835 (REF*2U, N1*PR N104, TRN03) mapped by the user to a saved payer;
  when none is mapped, the claim filing indicator (CLP06) decides the kind: MB traditional Medicare,
  MC the saved Medicaid payer, 16 the saved Medicare Advantage plan (when exactly one is saved);
- the place of service from CLP08, else the matching 837P line; the locality from the 837P's service
  facility or billing provider ZIP, else the payee's ZIP on the 835, else the practice's;
- the code billed (SVC06 when the payer changed it), its modifiers, and the units the payer adjudicated;
- the 835's allowed (AMT*B6, else what was paid plus the patient's cost sharing and sequestration)
  against the expected allowed, and the payer's payment against what it should have paid given what
  the 835 says the patient owes (see :func:`_expected_payment`): a deductible is never an underpayment.

Statuses: as_expected (within the tolerance), underpaid, overpaid, denied (nothing paid and no cost
sharing, or CLP02 4: with the CARC), secondary (CLP02 2 or 3: judged against what the primary left,
when the primary's line is among the files), reversed (CLP02 22, and the one payment it negates: what
is left, the correction, is judged), not_priced (with the reason), and
awaiting_remittance (an 837P line no 835 answers yet, with what it should pay).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from . import engine
from .contracts import TRADITIONAL_MEDICARE, Contract
from .domain import Kind
from .money import dollars, ratio_to_cents, units_text
from .rules.cost_sharing import sequestered, withheld_rates
from .x12 import Read

CODES = Path(__file__).resolve().parent.parent / "fee_schedules" / "x12" / "adjustment_codes.yaml"
STATUSES = ("as_expected", "underpaid", "overpaid", "denied", "secondary", "reversed", "not_priced", "awaiting_remittance")
FILING_KINDS = {"MB": Kind.MEDICARE, "MC": Kind.MEDICAID, "16": Kind.MEDICARE_ADVANTAGE}
WORKLIST = [
    "claim_id", "line", "code", "billed_code", "modifiers", "date", "payer", "era_payer", "payer_rule", "status", "expected_allowed", "era_allowed", "era_paid",
    "era_patient_responsibility", "expected_payment", "variance", "allowed_variance", "reason", "carc", "carc_text",
    "remarks", "warnings", "deductible", "coinsurance", "copay", "contractual", "sequestration", "other_adjustments", "billed",
    "units", "place_of_service", "contract_term", "payer_claim_number", "check_number", "payment_date",
    "days_to_payment", "claim_status", "file", "segment",
]  # fmt: skip
MONEY = [
    "expected_allowed", "era_allowed", "era_paid", "era_patient_responsibility", "expected_payment", "variance",
    "allowed_variance", "deductible", "coinsurance", "copay", "contractual", "sequestration", "other_adjustments", "billed",
]  # fmt: skip


@cache
def code_lists() -> dict:
    """Adjustment groups, CARCs, RARCs, claim statuses and filing indicators with plain meanings."""
    return yaml.safe_load(CODES.read_text())


def carc_text(codes: pd.Series) -> pd.Series:
    """'CO-97' -> its plain meaning (a code not shipped says so)."""
    lists = code_lists()
    known = {
        f"{g}-{c}": f"{lists['groups'][g].split(' (')[0]}: {text}" for g in lists["groups"] for c, text in lists["carc"].items()
    }
    unique = pd.unique(codes)
    meaning = {c: known.get(c, f"CARC {c.partition('-')[2]}: not in the shipped list") if c else "" for c in unique}
    return codes.map(meaning)


@dataclass
class Reconciled:
    """The worklist (one row per 835 service line and per unanswered 837P line), the payer
    scorecard, the appeal packets (file name: text) and notes."""

    worklist: pd.DataFrame
    scorecard: pd.DataFrame
    appeals: dict[str, str]
    notes: list[str] = field(default_factory=list)


def _adjustments(tokens: pd.Series) -> pd.DataFrame:
    """Line adjustments ("PR-1=945 CO-45=10275") summed by kind, in cents: the patient's cost sharing
    (PR-1 deductible, PR-2 coinsurance, PR-3 copay), everything billed to the patient (every PR), the
    contractual write-down (CO-45), sequestration (253) and the rest; and the first CARC of the rest
    (a denial's reason, even one billed to the patient such as PR-96)."""
    found = tokens.str.extractall(r"(?P<group>[A-Z]{2})-(?P<reason>[A-Z0-9]+)=(?P<cents>-?\d+)")
    out = pd.DataFrame(0, index=tokens.index, columns=["deductible", "coinsurance", "copay", "cost_sharing", "patient",
                                                       "contractual", "sequestration", "other_adjustments"])  # fmt: skip
    out["carc"] = ""
    if found.empty:
        return out
    found["cents"] = found["cents"].astype("int64")
    row = found.index.get_level_values(0)
    group, reason, amount = found["group"], found["reason"], found["cents"]
    patient = group.eq("PR")
    kinds = {
        "deductible": patient & reason.eq("1"),
        "coinsurance": patient & reason.eq("2"),
        "copay": patient & reason.eq("3"),
        "patient": patient,
        "contractual": group.eq("CO") & reason.eq("45"),
        "sequestration": reason.eq("253"),
    }
    kinds["cost_sharing"] = kinds["deductible"] | kinds["coinsurance"] | kinds["copay"]
    kinds["other_adjustments"] = ~kinds["cost_sharing"] & ~kinds["contractual"] & ~kinds["sequestration"]
    for name, mask in kinds.items():
        out[name] = amount.where(mask.to_numpy(), 0).groupby(row).sum().reindex(tokens.index, fill_value=0).astype("int64")
    other = found[kinds["other_adjustments"].to_numpy()]
    first = (other["group"] + "-" + other["reason"]).groupby(other.index.get_level_values(0)).first()
    out["carc"] = first.reindex(tokens.index, fill_value="")
    return out


def _payers(lines: pd.DataFrame, contracts: dict[str, Contract], payer_ids: dict[str, str]) -> tuple[pd.Series, pd.Series]:
    """The saved payer of each line and how it was chosen (or why none could be), resolved once per
    distinct (payer, IDs, filing indicator)."""
    keys = ["payer", "payer_ref", "payer_id", "trn_payer_id", "filing_indicator"]
    distinct = lines[keys].drop_duplicates()
    folded = {k.strip().upper(): v for k, v in payer_ids.items()}
    by_kind: dict[Kind, list[str]] = {}
    for contract in contracts.values():
        by_kind.setdefault(contract.kind, []).append(contract.payer)
    filing = code_lists()["filing_indicator"]
    chosen, why = [], []
    for payer, *ids, indicator in distinct.itertuples(index=False):
        mapped = next(((i, folded[i]) for i in ids if i and i in folded and folded[i] in contracts), None)
        named = f"{payer or 'the payer'}" + (f" (ID {next(i for i in ids if i)})" if any(ids) else "")
        meaning = filing.get(indicator, "not given" if not indicator else "not a known code")
        if mapped:
            chosen.append(mapped[1])
            why.append(f"payer ID {mapped[0]} is mapped to {mapped[1]}")
            continue
        kind = FILING_KINDS.get(indicator)
        saved = by_kind.get(kind, []) if kind else []
        if kind == Kind.MEDICARE and not saved:
            saved = [TRADITIONAL_MEDICARE.payer]
        if len(saved) == 1:
            chosen.append(saved[0])
            why.append(f"priced as {saved[0]}: claim filing indicator {indicator} ({meaning}); {named} is not mapped")
        else:
            chosen.append("")
            more = f"; {len(saved)} saved payers are of that kind" if len(saved) > 1 else ""
            why.append(
                f"{named} is not mapped to a saved payer and claim filing indicator {indicator or '(none)'} ({meaning}) "
                f"does not decide one{more}: map its ID to a payer (payers map ID NAME, or the Remittances page)"
            )
    distinct = distinct.assign(_payer=chosen, _why=why)
    joined = lines[keys].merge(distinct, on=keys, how="left")
    return joined["_payer"], joined["_why"]


def _match_claims(lines: pd.DataFrame, claims: pd.DataFrame) -> pd.DataFrame:
    """The 837P line each 835 line answers (same claim number, code and date, in order): its place of
    service, ZIP and diagnoses. Unmatched: blanks."""
    wanted = ["place_of_service", "zip_code", "diagnoses"]
    if claims.empty:
        return pd.DataFrame("", index=lines.index, columns=[*wanted, "_matched"]).assign(_matched=False)
    key = ["claim_id", "code", "date"]
    left = lines[key].assign(_code=lines["billed_code"].where(lines["billed_code"] != "", lines["code"]))
    left = left.drop(columns="code").rename(columns={"_code": "code"})
    left["_n"] = left.groupby(key).cumcount()
    right = claims[[*key, *wanted]].assign(_n=claims.groupby(key).cumcount(), _matched=True)
    merged = left.merge(right, on=[*key, "_n"], how="left")
    merged["_matched"] = merged["_matched"].eq(True)
    return merged[[*wanted, "_matched"]].fillna("").set_axis(lines.index)


def _reversed(lines: pd.DataFrame, payer: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Reversal lines (CLP02 22) and the payment each takes back: a line of the same payer, claim, code
    and date whose payment it negates, of the same payer's claim number (CLP07) first, then the
    earliest. Whatever is not taken back (the correction, in whatever order the files come) is judged.
    Also says, for each line, whether a line of the same payer, claim, code and date is left to judge."""
    reversal = lines["claim_status"].eq("22").to_numpy()
    who = payer + "|" + lines["payer"] + "|" + lines["payer_id"] + "|" + lines["trn_payer_id"]
    group = pd.factorize(who + "|" + lines["claim_id"] + "|" + lines["code"] + "|" + lines["date"])[0]
    gone = reversal.copy()
    if reversal.any():
        paid = lines["paid"].to_numpy(dtype="int64", na_value=0)
        number = lines["payer_claim_number"].to_numpy(dtype=object)
        when = lines["payment_date"].to_numpy(dtype=object)
        members = pd.Series(np.arange(len(lines))).groupby(group).apply(list)
        for r in np.flatnonzero(reversal):  # one step per reversal, over the lines of its own service
            candidates = [i for i in members[group[r]] if not gone[i] and paid[i] == -paid[r]]
            if candidates:
                candidates.sort(key=lambda i: (number[i] != number[r], when[i], i))
                gone[candidates[0]] = True
    left = pd.Series(~gone).groupby(group).transform("any").to_numpy()
    return gone, left


def reconcile(read: Read, book, payer_ids: dict[str, str], tolerance: int = 1) -> Reconciled:
    """Reconcile the 835 lines of ``read`` (and price its unanswered 837P lines); ``book`` has
    schedules, contracts (by name) and practice; ``tolerance`` is in cents."""
    contracts = dict(book.contracts)
    contracts.setdefault(TRADITIONAL_MEDICARE.payer, TRADITIONAL_MEDICARE)
    era = read.remittance.assign(source="835")
    matched = _match_claims(era, read.claims)
    answered = set(zip(era["claim_id"], era["code"], strict=True)) | set(zip(era["claim_id"], era["billed_code"], strict=True))
    waiting = read.claims.loc[[k not in answered for k in zip(read.claims["claim_id"], read.claims["code"], strict=True)]]
    waiting = waiting.assign(
        source="837", claim_status="", line=waiting.groupby("claim_id").cumcount() + 1, billed_code="", billed_modifiers="",
        billed_units="", payer_ref="", trn_payer_id="", payee_zip="", check_number="", payment_date="", payer_claim_number="",
        transaction="", adjustments="", remarks="", claim_adjustments="", claim_remarks="", paid=pd.NA, allowed=pd.NA,
        claim_paid=pd.NA, claim_segment=waiting["segment"],
    )  # fmt: skip
    era = era.assign(zip_code="", diagnoses="")
    era["place_of_service"] = era["place_of_service"].where(era["place_of_service"] != "", matched["place_of_service"])
    era["zip_code"], era["diagnoses"] = matched["zip_code"], matched["diagnoses"]
    lines = pd.concat([era, waiting[era.columns]], ignore_index=True)
    n = len(lines)
    payer, payer_why = _payers(lines, contracts, payer_ids)
    adjust = _adjustments(lines["adjustments"])
    charge = lines["charge"].to_numpy(dtype="int64", na_value=0)
    paid = lines["paid"].to_numpy(dtype="int64", na_value=0)
    deductible, coinsurance, copay = (adjust[k].to_numpy() for k in ("deductible", "coinsurance", "copay"))
    sharing = adjust["cost_sharing"].to_numpy()
    # the 835's allowed: AMT*B6, else what was paid plus the patient's cost sharing and sequestration
    era_allowed = np.where(
        lines["allowed"].notna().to_numpy(),
        lines["allowed"].to_numpy(dtype="int64", na_value=0),
        paid + sharing + adjust["sequestration"].to_numpy(),
    )
    status_code = lines["claim_status"]
    secondary = status_code.isin(["2", "3", "20", "21"]).to_numpy()
    is_837 = (lines["source"] == "837").to_numpy()
    gone, left = _reversed(lines, payer)
    reversed_ = gone & ~is_837
    whole_claim_denial = lines["code"].eq("").to_numpy() & (status_code == "4").to_numpy() & ~is_837
    code = lines["billed_code"].where(lines["billed_code"] != "", lines["code"])
    modifiers = lines["billed_modifiers"].where(lines["billed_code"] != "", lines["modifiers"])
    units = lines["units"].where(lines["units"] != "", lines["billed_units"]).replace("", "1")  # the units adjudicated
    zip_code = lines["zip_code"].where(lines["zip_code"] != "", lines["payee_zip"])
    practice = book.practice
    use_practice = zip_code.eq("")
    zip_code = zip_code.where(~use_practice, practice.zip_code or "")
    locality = pd.Series(np.where(use_practice, practice.locality or "", ""), index=lines.index)
    problem = lines["problem"].copy()
    problem = problem.where(problem != "", np.where(payer.eq("") & ~secondary, payer_why, ""))
    no_place = lines["place_of_service"].eq("") & problem.eq("")
    problem = problem.mask(no_place, "no place of service: the 835 has no CLP08 and no 837P line matches the claim")
    no_date = lines["date"].eq("") & problem.eq("")
    problem = problem.mask(no_date, "no date of service: no DTM*472 on the line and no DTM*232 on the claim")
    priceable = problem.eq("").to_numpy() & ~reversed_ & ~secondary & ~whole_claim_denial
    claim = lines["file_index"].astype(str) + "|" + lines["claim_segment"].astype(str)
    owed = pd.Series(np.where(is_837, 0, deductible)).groupby(claim.to_numpy()).transform("sum").to_numpy()
    table = pd.DataFrame(
        {
            "claim": claim,
            "date_of_service": lines["date"],
            "code": code,
            "modifiers": modifiers,
            "units": units,
            "place_of_service": lines["place_of_service"],
            "zip_code": zip_code,
            "locality": locality,
            "payer": payer,
            "billed": pd.arrays.IntegerArray(np.abs(charge), lines["charge"].isna().to_numpy()),
            "deductible": owed,  # the deductible the 835 says this claim met
            "participating": practice.participating,
            "cf_track": practice.cf_track,
        }
    )[priceable]
    if len(table):
        priced = engine.price(table, engine.Book(book.schedules, contracts))
    else:  # nothing to price: the engine is not asked
        priced = engine.Priced(
            pd.DataFrame({c: pd.Series(dtype="int64") for c in ("allowed", "payer_payment", "sequestration")}).assign(
                error="", reason=""
            )
        )
    rows = np.flatnonzero(priceable)
    engine_error = np.full(n, "", dtype=object)
    engine_error[rows] = priced.lines["error"].astype(object).to_numpy()
    expected_allowed = np.zeros(n, np.int64)
    expected_allowed[rows] = priced.lines["allowed"].to_numpy(np.int64)
    term = np.full(n, "", dtype=object)
    term[rows] = priced.lines["reason"].astype(object).to_numpy()
    ok = priceable & (engine_error == "")
    by_contract = np.zeros(n, np.int64)  # the payer's payment by the contract's own cost sharing
    by_contract[rows] = (priced.lines["payer_payment"] - priced.lines["sequestration"]).to_numpy(np.int64)
    expected_payment = _expected_payment(lines, payer, contracts, ok, expected_allowed, era_allowed, adjust, by_contract)
    variance = paid - expected_payment
    allowed_variance = era_allowed - expected_allowed
    denied = ~is_837 & ~secondary & ~reversed_ & ((status_code == "4").to_numpy() | ((paid == 0) & (sharing == 0) & (charge > 0)))
    primary_balance = _primary_balance(lines, payer, sharing, secondary)
    has_primary = secondary & ~np.isnan(primary_balance)
    secondary_expected = np.where(has_primary, np.nan_to_num(primary_balance).astype(np.int64) - sharing, 0)
    tol = int(tolerance)
    under = np.where(secondary, has_primary & (paid - secondary_expected < -tol), (variance < -tol) | (allowed_variance < -tol))
    over = np.where(secondary, has_primary & (paid - secondary_expected > tol), (variance > tol) | (allowed_variance > tol))
    status = np.select(
        [reversed_, whole_claim_denial, ~ok & ~secondary, is_837, under, over, secondary, denied],
        ["reversed", "denied", "not_priced", "awaiting_remittance", "underpaid", "overpaid", "secondary", "denied"],
        "as_expected",
    )
    status = np.where(denied & ~reversed_ & ok & ~whole_claim_denial, "denied", status)
    why_not = np.where(engine_error != "", engine_error, problem.to_numpy(dtype=object))
    carc = adjust["carc"]
    worklist = pd.DataFrame(
        {
            "claim_id": lines["claim_id"],
            "line": lines["line"],
            "code": lines["code"],
            "modifiers": lines["modifiers"],
            "date": lines["date"],
            "payer": np.where(payer.ne(""), payer, lines["payer"]),
            "era_payer": lines["payer"],
            "status": status,
        }
    )
    judged = (ok | has_primary) & ~reversed_
    expected_shown = np.select([secondary, is_837], [secondary_expected, by_contract], expected_payment)
    answered_line = ~is_837 & judged
    worklist["expected_allowed"] = dollars(pd.arrays.IntegerArray(expected_allowed, ~ok))
    worklist["era_allowed"] = dollars(pd.arrays.IntegerArray(era_allowed, is_837))
    worklist["era_paid"] = dollars(pd.arrays.IntegerArray(paid, is_837 | lines["paid"].isna().to_numpy()))
    worklist["era_patient_responsibility"] = dollars(pd.arrays.IntegerArray(adjust["patient"].to_numpy(), is_837))
    worklist["expected_payment"] = dollars(pd.arrays.IntegerArray(expected_shown, ~judged))
    worklist["variance"] = dollars(
        pd.arrays.IntegerArray(np.where(secondary, paid - secondary_expected, variance), ~answered_line)
    )
    worklist["allowed_variance"] = dollars(pd.arrays.IntegerArray(allowed_variance, ~(answered_line & ~secondary)))
    worklist["reason"] = _reasons(
        lines, status, why_not, secondary, has_primary, np.where(secondary, paid - secondary_expected, variance),
        allowed_variance, left,
    )  # fmt: skip
    worklist["billed_code"] = lines["billed_code"]
    worklist["payer_rule"] = np.where(payer.ne(""), payer_why, "")
    worklist["carc"] = carc
    worklist["carc_text"] = carc_text(carc)
    worklist["remarks"] = (lines["remarks"] + " " + lines["claim_remarks"]).str.strip()
    worklist["warnings"] = _diagnosis_warnings(code, lines["diagnoses"], payer, contracts)
    for name in ("deductible", "coinsurance", "copay", "contractual", "sequestration", "other_adjustments"):
        worklist[name] = dollars(pd.arrays.IntegerArray(adjust[name].to_numpy(), is_837))
    worklist["billed"] = dollars(pd.arrays.IntegerArray(charge, lines["charge"].isna().to_numpy()))
    worklist["units"] = lines["units"]
    worklist["place_of_service"] = lines["place_of_service"]
    worklist["contract_term"] = term
    for name in ("payer_claim_number", "check_number", "payment_date", "claim_status", "file"):
        worklist[name] = lines[name]
    service = pd.to_datetime(lines["date"], errors="coerce")
    payment = pd.to_datetime(lines["payment_date"], errors="coerce")
    worklist["days_to_payment"] = (payment - service).dt.days.astype("Int64")
    worklist["segment"] = lines["segment"]
    worklist = worklist[WORKLIST]
    notes = list(read.notes) + priced.notes
    return Reconciled(worklist, scorecard(worklist), appeal_packets(worklist, practice.name), notes)


def _dotted(code: str) -> str:
    """An ICD-10-CM code as an 837P writes it (M7918) in its usual form (M79.18)."""
    return code if len(code) <= 3 or "." in code else f"{code[:3]}.{code[3:]}"


def _diagnosis_warnings(code: pd.Series, diagnoses: pd.Series, payer: pd.Series, contracts: dict[str, Contract]) -> np.ndarray:
    """For a trigger point line billed on an 837P: its diagnoses against the payer's covered list
    (estimator.policies), once per distinct payer and diagnoses."""
    from .errors import InputError
    from .policies import diagnosis_warnings

    out = np.full(len(code), "", dtype=object)
    checked = (code.isin(["20552", "20553"]) & diagnoses.ne("") & payer.ne("")).to_numpy()
    said: dict[tuple[str, str], str] = {}
    for at in np.flatnonzero(checked):
        key = (payer.iat[at], diagnoses.iat[at])
        if key not in said:
            try:
                found = diagnosis_warnings(contracts[key[0]].diagnosis_list(), tuple(_dotted(d) for d in key[1].split()))
            except InputError as error:
                found = [str(error)]
            said[key] = " ".join(found)
        out[at] = said[key]
    return out


def _expected_payment(lines, payer, contracts, ok, expected_allowed, era_allowed, adjust, by_contract) -> np.ndarray:
    """What the payer should have paid on each line, given what the 835 says the patient owes.

    Traditional Medicare: the engine's own Part B cost sharing with the deductible the 835 says the
    claim met (PR-1), so a coinsurance above 20% shows as an underpayment. Every other payer: the
    patient's deductible and copay as the 835 gives them, and its coinsurance at the rate the 835
    applied, taken on the expected allowed; the payer pays the rest, less sequestration where the
    contract withholds it. A line the 835 allowed nothing on (a denial) takes the contract's own cost
    sharing."""
    n = len(lines)
    deductible, coinsurance, copay = (adjust[k].to_numpy() for k in ("deductible", "coinsurance", "copay"))
    medicare = np.array([bool(p) and contracts[p].is_traditional_medicare for p in payer], bool)
    base_835 = era_allowed - deductible - copay
    proportional = ok & ~medicare & (base_835 > 0)
    out = by_contract.copy()
    if proportional.any():
        at = np.flatnonzero(proportional)
        own_deductible = np.minimum(deductible[at], expected_allowed[at])
        own_copay = np.minimum(copay[at], expected_allowed[at] - own_deductible)
        base = expected_allowed[at] - own_deductible - own_copay
        own_coinsurance = ratio_to_cents(coinsurance[at], base, base_835[at])
        share = base - own_coinsurance
        days = pd.to_datetime(lines["date"].to_numpy()[at]).date
        unique = sorted(set(days))
        rates = withheld_rates(unique)[np.searchsorted(np.array(unique, dtype=object), np.array(days, dtype=object))]
        withholds = np.array([contracts[p].sequestration for p in payer.to_numpy()[at]], bool)
        out[at] = share - sequestered(share, np.where(withholds, rates, 0))
    return np.where(ok, out, 0) if n else out


def _primary_balance(lines: pd.DataFrame, payer: pd.Series, sharing: np.ndarray, secondary: np.ndarray) -> np.ndarray:
    """For a secondary line: what another payer, as primary, left to the patient on the same claim,
    code and date, when its line is among the files (NaN otherwise)."""
    key = lines["claim_id"] + "|" + lines["code"] + "|" + lines["date"]
    primary = lines["claim_status"].isin(["1", "19"]).to_numpy()
    who = (payer + "|" + lines["payer"]).to_numpy()
    balance = pd.DataFrame({"key": key[primary], "who": who[primary], "left": sharing[primary]}).groupby("key").last()
    found = key.map(balance["left"]).to_numpy(dtype=float, na_value=np.nan)
    other = key.map(balance["who"]).to_numpy(dtype=object) != who
    return np.where(secondary & other, found, np.nan)


def _reasons(lines, status, why_not, secondary, has_primary, variance, allowed_variance, left) -> np.ndarray:
    """A plain sentence per line saying why it has its status."""
    money = pd.Series(units_text(np.abs(variance)), index=lines.index)
    allowed = pd.Series(units_text(np.abs(allowed_variance)), index=lines.index)
    billed_code = lines["billed_code"]
    downcode = billed_code.ne("") & billed_code.ne(lines["code"])
    recoded = np.where(downcode, "paid as " + lines["code"] + ", billed as " + billed_code + "; ", "")
    off = np.where(
        secondary,
        " than the primary left to the patient",
        " than expected, allowed " + allowed + " off the contract",
    )
    reversal = lines["claim_status"].eq("22")
    texts = {
        "not_priced": why_not,
        "reversed": np.select(
            [reversal & left, reversal],
            [
                "reversal (CLP02 22): takes back an earlier payment; the correction is judged",
                "reversal (CLP02 22): takes back an earlier payment; no correction in these files, so the service is unpaid",
            ],
            np.where(
                left,
                "taken back by a reversal of the same payer's claim; the correction is judged",
                "taken back by a reversal of the same payer's claim; no correction in these files",
            ),
        ),
        "awaiting_remittance": np.full(len(lines), "billed on an 837P; no 835 answers it yet"),
        "secondary": np.where(
            has_primary,
            "processed as secondary: paid what the primary left to the patient",
            "processed as secondary: the primary's remittance is not among these files, so it is not judged as a primary payment",
        ),
        "denied": np.where(
            lines["code"].eq(""), "the whole claim is denied (CLP02 4)", "nothing paid and no deductible, coinsurance or copay"
        ),
        "underpaid": recoded + "paid " + money + " less" + off,
        "overpaid": recoded + "paid " + money + " more" + off,
        "as_expected": np.full(len(lines), "paid as the contract says, given the patient's share on the 835"),
    }
    out = np.full(len(lines), "", dtype=object)
    for name, text in texts.items():
        at = status == name
        out[at] = np.asarray(text, dtype=object)[at]
    fewer = (lines["billed_units"].ne("") & lines["units"].ne("") & lines["billed_units"].ne(lines["units"])).to_numpy()
    fewer = fewer & ~np.isin(status, ["not_priced", "reversed"])
    out[fewer] = (
        out[fewer] + ("; paid " + lines["units"] + " of " + lines["billed_units"] + " units billed").to_numpy(dtype=object)[fewer]
    )
    return out


def _judged_cents(dollars_: pd.Series, judged: np.ndarray) -> list[int]:
    """Exact dollar amounts as cents on the judged lines, 0 elsewhere (and where none is given)."""
    values = dollars_.to_numpy(dtype=object, na_value=None)
    return [int(v * 100) if v is not None and j else 0 for v, j in zip(values, judged, strict=True)]


def scorecard(worklist: pd.DataFrame) -> pd.DataFrame:
    """By payer: lines, expected against paid, the variance, underpaid and denied lines, the denial
    rate, the top denial reasons and the median days from service to payment."""
    judged = (
        worklist["status"].isin(["as_expected", "underpaid", "overpaid", "denied", "secondary"]).to_numpy()
        & worklist["expected_payment"].notna().to_numpy()
    )
    frame = pd.DataFrame(
        {
            "payer": worklist["payer"],
            "judged": judged,
            "expected": _judged_cents(worklist["expected_payment"], judged),
            "paid": _judged_cents(worklist["era_paid"], judged),
            "variance": _judged_cents(worklist["variance"], judged),
            "underpaid": worklist["status"].eq("underpaid"),
            "denied": worklist["status"].eq("denied"),
            "not_priced": worklist["status"].eq("not_priced"),
            "days": worklist["days_to_payment"],
            "carc": worklist["carc"].where(worklist["status"].eq("denied"), ""),
        }
    )
    if frame.empty:
        return pd.DataFrame(columns=["payer", "lines", "lines_judged", "expected_payment", "paid", "variance", "underpaid_lines",
                                     "denied_lines", "denial_rate_percent", "not_priced_lines", "top_denial_reasons",
                                     "median_days_to_payment"])  # fmt: skip
    grouped = frame.groupby("payer", sort=True)
    out = grouped.agg(
        lines=("payer", "size"),
        lines_judged=("judged", "sum"),
        expected=("expected", "sum"),
        paid=("paid", "sum"),
        variance=("variance", "sum"),
        underpaid_lines=("underpaid", "sum"),
        denied_lines=("denied", "sum"),
        not_priced_lines=("not_priced", "sum"),
        median_days_to_payment=("days", "median"),
    ).reset_index()
    rate = np.where(out["lines_judged"] > 0, (out["denied_lines"] * 1000 // out["lines_judged"].clip(lower=1) + 5) // 10, 0)
    top = (
        frame[frame["carc"] != ""]
        .groupby("payer")["carc"]
        .agg(lambda codes: ", ".join(f"{c} ×{k}" for c, k in codes.value_counts().head(3).items()))
    )
    return pd.DataFrame(
        {
            "payer": out["payer"],
            "lines": out["lines"],
            "lines_judged": out["lines_judged"],
            "expected_payment": dollars(out["expected"].to_numpy(np.int64)),
            "paid": dollars(out["paid"].to_numpy(np.int64)),
            "variance": dollars(out["variance"].to_numpy(np.int64)),
            "underpaid_lines": out["underpaid_lines"],
            "denied_lines": out["denied_lines"],
            "denial_rate_percent": rate,
            "not_priced_lines": out["not_priced_lines"],
            "top_denial_reasons": out["payer"].map(lambda payer: top.get(payer, "")),
            "median_days_to_payment": out["median_days_to_payment"],
        }
    )


def _name(claim_id: str, used: set[str]) -> str:
    base = re.sub(r"[^A-Za-z0-9_.-]+", "_", claim_id).strip("._")[:60] or "claim"
    name, k = f"appeal_{base}.txt", 2
    while name in used:
        name, k = f"appeal_{base}_{k}.txt", k + 1
    used.add(name)
    return name


def appeal_packets(worklist: pd.DataFrame, practice: str) -> dict[str, str]:
    """One text packet per claim with an underpaid or denied line: the claim, its lines, the contract
    term that sets each expected amount, expected against paid, the 835's claim number, the check or
    EFT number and its date."""
    flagged = worklist["status"].isin(["underpaid", "denied"])
    packets: dict[str, str] = {}
    used: set[str] = set()
    for (claim_id, file, check), lines in worklist[flagged].groupby(["claim_id", "file", "check_number"], sort=False):
        first = lines.iloc[0]
        whole = worklist[(worklist["claim_id"] == claim_id) & (worklist["file"] == file) & (worklist["check_number"] == check)]
        short = sum((v for v in lines["variance"] if v is not None and not pd.isna(v) and v < 0), start=0)
        text = [
            f"Request for payment review: claim {claim_id}",
            "",
            f"Practice: {practice}",
            f"Payer: {first['payer']}",
            f"Payer's claim number (835 CLP07): {first['payer_claim_number'] or 'not given'}",
            f"Check / EFT number (835 TRN02): {first['check_number'] or 'not given'}, dated {first['payment_date'] or 'not given'}",
            f"Remittance file: {file}",
            "",
            "Lines of the claim:",
        ]
        for line in whole.itertuples(index=False):
            text += [
                f"- line {line.line}: {line.billed_code or line.code}{' ' + line.modifiers if line.modifiers else ''}"
                f"{f' (paid as {line.code})' if line.billed_code and line.billed_code != line.code else ''}, {line.date}, "
                f"units {line.units or 1}: {line.status}",
                f"  billed {_money(line.billed)}; expected allowed {_money(line.expected_allowed)}, allowed on the 835 "
                f"{_money(line.era_allowed)}; expected payment {_money(line.expected_payment)}, paid {_money(line.era_paid)}"
                f" (patient responsibility {_money(line.era_patient_responsibility)}); variance {_money(line.variance)}",
            ]
            if line.contract_term:
                text.append(f"  contract term: {line.contract_term}")
            if line.carc:
                text.append(f"  adjustment {line.carc}: {line.carc_text}")
            if line.remarks:
                text.append(f"  remark codes: {line.remarks}")
            if line.status in ("underpaid", "denied"):
                text.append(f"  {line.reason}")
        text += ["", f"Amount in question: {_money(-short) if short else 'the denied lines'}", ""]
        packets[_name(str(claim_id), used)] = "\n".join(text)
    return packets


def _money(value) -> str:
    if value is None or pd.isna(value):
        return "n/a"
    return f"-${-value:,.2f}" if value < 0 else f"${value:,.2f}"


def to_work(worklist: pd.DataFrame) -> pd.DataFrame:
    """The lines someone has to look at: every status but as_expected and reversed."""
    return worklist[~worklist["status"].isin(["as_expected", "reversed"])]


def payment_keys(read: Read) -> pd.Series:
    """A payment's identity, for each 835 line: the payer's ID, the check or EFT number, its date
    (and the transaction when no number is given). The same payment in another file, or the same
    file again, has the same key."""
    r = read.remittance
    payer = r["payer_ref"].where(r["payer_ref"] != "", r["payer_id"])
    payer = payer.where(payer != "", r["trn_payer_id"]).where(lambda p: p != "", r["payer"])
    number = r["check_number"].where(r["check_number"] != "", r["file"] + "#" + r["transaction"])
    return payer + "|" + number + "|" + r["payment_date"]


def payments_to_keep(read: Read, worklist: pd.DataFrame) -> list[dict]:
    """The payments of the 835 lines, each with its worklist rows as text, for the database."""
    keys = payment_keys(read)
    era = worklist.iloc[: len(keys)].astype(object).where(lambda w: w.notna(), None)
    era = era.map(lambda v: v if v is None or isinstance(v, (int, str)) else str(v))
    out = []
    for key, rows in era.groupby(keys.to_numpy(), sort=False):
        first = rows.iloc[0]
        out.append({"key": key, "file": first["file"], "payer": first["era_payer"], "check_number": first["check_number"],
                    "payment_date": first["payment_date"], "lines": rows.to_dict("records")})  # fmt: skip
    return out


def write_outputs(result: Reconciled, folder: Path, validation: pd.DataFrame | None = None) -> list[Path]:
    """worklist.csv (every line), worklist.xlsx (the lines to work: all but as_expected and reversed,
    and the scorecard), scorecard.csv, appeals/*.txt and, when given, validation.csv in ``folder``;
    each file whole or absent."""
    from .export import write, write_whole
    from .xlsx import tables_workbook

    folder.mkdir(parents=True, exist_ok=True)
    written = [folder / "worklist.csv", folder / "worklist.xlsx", folder / "scorecard.csv"]
    write(result.worklist, written[0], "Worklist")
    content = tables_workbook({"To work": to_work(result.worklist), "Scorecard": result.scorecard})
    write_whole(written[1], lambda path: path.write_bytes(content))
    write(result.scorecard, written[2], "Scorecard")
    if result.appeals:
        (folder / "appeals").mkdir(exist_ok=True)
    for name, text in result.appeals.items():
        target = folder / "appeals" / name
        write_whole(target, lambda path, text=text: path.write_text(text))
        written.append(target)
    if validation is not None:
        written.append(folder / "validation.csv")
        write(validation, written[-1], "Validation")
    return written
