"""One pricing engine: a table of claim lines in, every line priced out.

Every page and command prices through :func:`price`: the session estimate (the claim of one session,
and the same session at the three sites of service), the payer comparison (the same lines under
every payer), price-claims and the Dask path (a file of claims), remittances, the forecast, and the
Excel model (whose formulas mirror these rules and are tested equal to them).

A line's pricing context (its date of service, which decides the CMS files and dated rules in force;
its place of service; its locality; its payer's contract; the CF track, work GPCI floor and
participation) is resolved once per distinct value, never per line. Then, over the whole table:

1. Medicare's amount per unit (estimator.rules.medicare),
2. claim edits per claim and date (estimator.rules.edits),
3. multiple-procedure ranking (estimator.rules.multiple_procedures),
4. each payer's contract (estimator.rules.contracts), with the lesser of the billed charge,
5. copay, deductible, coinsurance, payer payment and sequestration (estimator.rules.cost_sharing).

Amounts are integer cents; each is rounded half up once, where the rule says.

The input table (column: meaning, default):

    claim             the claim a line belongs to ("": the line is a claim of its own, with no copay)
    date_of_service   a date, or text such as 2026-03-02 (required)
    code              HCPCS code (required); modifiers: space-separated ("25", "26 JZ"), default ""
    units             whole number from 1 to 9999 (text such as "1.00" accepted), default 1
    place_of_service  11, 19, 21, 22 or 24, default 11
    zip_code, locality  where the service is done (locality "10112-00" wins); both blank: national
    payer             name of a contract in the book (required)
    biller            physician (default), facility (the hospital's or ASC's own line), not billed
    billed            billed charge of the line in cents (<NA>: not known)
    deductible        cents of the payer's deductible the patient still owes on this claim, default 0
    participating, cf_track, work_gpci_floor   the practice's Medicare participation (True), CF track
                      (standard), floor choice ("" for the dated rule, "on", "off")
    label, reason     shown with the line (the session's coding reason)
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .contracts import Contract
from .domain import PLACES_OF_SERVICE, Biller, Category, Edit, Method
from .errors import InputError
from .money import ratio_to_cents
from .parameters import in_force_key
from .rules.contracts import contract_allowed, contract_reasons
from .rules.cost_sharing import cost_sharing
from .rules.edits import claim_edits
from .rules.medicare import medicare_fees
from .rules.multiple_procedures import multiple_procedures
from .store import FeeSchedules

DEFAULTS = {"claim": "", "modifiers": "", "units": 1, "place_of_service": "11", "zip_code": "", "locality": "",
            "biller": Biller.PHYSICIAN.value, "deductible": 0, "participating": True, "cf_track": "standard",
            "work_gpci_floor": "", "label": "", "reason": ""}  # fmt: skip
REQUIRED = ("date_of_service", "code", "payer")
INPUTS = set(DEFAULTS) | set(REQUIRED) | {"billed", "deductible"}
MONEY = ["medicare", "allowed", "copay", "deductible_applied", "coinsurance", "patient_share", "payer_payment",
         "sequestration", "expected", "limiting_charge"]  # fmt: skip


@dataclass(frozen=True)
class Book:
    """What pricing needs besides the lines: the CMS files and the contracts by payer name."""

    schedules: FeeSchedules
    contracts: Mapping[str, Contract]


@dataclass
class Priced:
    """The priced lines (input columns, then the engine's) and notes that hold for whole dates."""

    lines: pd.DataFrame
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> pd.Series:
        return self.lines["error"].eq("")


def in_year(day: dt.date, year: int) -> dt.date:
    """The same day in another year (a fixed-year contract prices "125% of 2025 Medicare")."""
    return dt.date(year, day.month, min(day.day, 28))


# -- the input table --------------------------------------------------------------------------------


def _text(frame: pd.DataFrame, name: str) -> pd.Series:
    values = frame[name] if name in frame else pd.Series(DEFAULTS.get(name, ""), index=frame.index)
    return values.astype(object).where(values.notna(), "").astype(str).str.strip()


def _fail(t: pd.DataFrame, mask, message, field: str) -> None:
    """Mark lines that cannot be priced (the first error of a line wins), naming the input field."""
    mask = np.asarray(mask, dtype=bool) & t["error"].eq("").to_numpy()
    if mask.any():
        t.loc[mask, "error"] = message if isinstance(message, str) else np.asarray(message, dtype=object)[mask]
        t.loc[mask, "error_field"] = field


def _days(values: pd.Series) -> np.ndarray:
    """Dates (or ISO text, or US month/day/year) -> datetime.date objects, None where not a date."""
    codes, uniques = pd.factorize(values.astype(object).where(values.notna(), ""), use_na_sentinel=False)
    parsed = []
    for value in uniques:
        if isinstance(value, dt.datetime):
            parsed.append(value.date())
        elif isinstance(value, dt.date):
            parsed.append(value)
        else:
            text = str(value).strip()[:40]
            found = None
            for pattern in ("%Y-%m-%d", "%m/%d/%Y", "%Y%m%d", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S"):
                try:
                    found = dt.datetime.strptime(text, pattern).date()
                    break
                except ValueError:
                    continue
            parsed.append(found)
    return np.array(parsed, dtype=object)[codes]


def _units(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Whole units 1-9999 from numbers or text ("1", "1.00"); returns (units, bad)."""
    if values.dtype.kind in "iu":
        units = values.to_numpy(np.int64)
        return units, (units < 1) | (units > 9999)
    codes, uniques = pd.factorize(values.astype(object).where(values.notna(), "").astype(str).str.strip(), use_na_sentinel=False)
    parsed = np.zeros(len(uniques), np.int64)
    for i, text in enumerate(uniques):
        match = re.fullmatch(r"(\d{1,4})(?:\.0*)?", text or "1")
        parsed[i] = int(match.group(1)) if match else -1
    units = parsed[codes]
    return units, (units < 1) | (units > 9999)


def normalise(lines: pd.DataFrame, contracts: Mapping[str, Contract]) -> pd.DataFrame:
    """The input table with every column present and checked; bad lines get an ``error``, never raise."""
    missing = [c for c in REQUIRED if c not in lines]
    if missing:
        raise InputError(f"the lines have no {', '.join(missing)}", field=missing[0])
    t = pd.DataFrame(index=pd.RangeIndex(len(lines)))
    t["error"], t["error_field"] = "", ""
    t["order"] = np.arange(len(lines))
    for name in ("claim", "label", "reason", "zip_code", "locality", "cf_track", "biller"):
        t[name] = _text(lines, name).to_numpy()
    t["floor"] = _text(lines, "work_gpci_floor").str.lower().to_numpy()
    t["day"] = _days(lines["date_of_service"].reset_index(drop=True))
    _fail(t, pd.isna(t["day"]).to_numpy(), "date of service is not a date (write it as 2026-03-02)", "date_of_service")
    t["code"] = _text(lines, "code").str.upper().to_numpy()
    _fail(t, ~t["code"].str.fullmatch(r"[0-9A-Z]{5}") & (t["biller"] != Biller.NOT_BILLED), "HCPCS code is not 5 letters or digits", "code")
    modifiers = _text(lines, "modifiers").str.upper().str.findall(r"[0-9A-Z]+")
    t["modifiers"] = modifiers.str.join(" ").to_numpy()
    _fail(t, modifiers.map(lambda ms: any(len(m) != 2 for m in ms) or len(ms) > 4).to_numpy(),
          "modifiers are up to four codes of 2 letters or digits", "modifiers")  # fmt: skip
    t["pfs_modifier"] = modifiers.map(lambda ms: next((m for m in ms if m in ("26", "TC")), "")).to_numpy()
    units, bad = _units(lines["units"].reset_index(drop=True) if "units" in lines else pd.Series(1, index=t.index))
    t["units"] = np.where(bad, 1, units)
    _fail(t, bad, "units must be a whole number from 1 to 9999", "units")
    t["place_of_service"] = _text(lines, "place_of_service").str.zfill(2).to_numpy()
    known = t["place_of_service"].isin(list(PLACES_OF_SERVICE))
    _fail(t, ~known, "place of service is not " + ", ".join(PLACES_OF_SERVICE), "place_of_service")
    t["setting"] = t["place_of_service"].map({c: p.setting.value for c, p in PLACES_OF_SERVICE.items()}).fillna("")
    t["facility"] = t["place_of_service"].map({c: p.facility.value for c, p in PLACES_OF_SERVICE.items()}).fillna("")
    names = {name.lower(): name for name in contracts}
    payer = _text(lines, "payer")
    t["payer"] = payer.str.lower().map(names).fillna("").to_numpy()
    _fail(t, t["payer"].eq(""), "payer is not a saved payer: " + payer, "payer")
    _fail(t, ~t["biller"].isin([b.value for b in Biller]), "biller is not physician, facility or not billed", "biller")
    billed = pd.array(lines["billed"], dtype="Int64") if "billed" in lines else pd.array([None] * len(t), dtype="Int64")
    t["billed_known"] = ~pd.isna(billed)
    t["billed"] = np.asarray(billed.fillna(0), dtype=np.int64)
    t["deductible_owed"] = pd.array(lines["deductible"], dtype="Int64").fillna(0).to_numpy(np.int64) if "deductible" in lines else 0
    t["participating"] = lines["participating"].to_numpy(bool) if "participating" in lines else True
    _fail(t, ~t["floor"].isin(["", "on", "off"]), "work GPCI floor is on, off or blank", "work_gpci_floor")
    return t


# -- the pricing context ----------------------------------------------------------------------------


def date_groups(schedules: FeeSchedules, days: np.ndarray) -> tuple[np.ndarray, list[dt.date]]:
    """Dates priced alike share a group: the same CMS files in force (or used as the latest held) and
    the same start of every dated rule. Returns the group of each date and each group's first date."""
    codes, uniques = pd.factorize(pd.Series(days, dtype=object), use_na_sentinel=True)
    keys, representative, group_of = {}, [], np.zeros(len(uniques), np.int64)
    for i, day in enumerate(uniques):
        key = in_force_key(schedules, day)
        if key not in keys:
            keys[key] = len(representative)
            representative.append(day)
        group_of[i] = keys[key]
    return np.where(codes >= 0, group_of[np.maximum(codes, 0)], -1), representative


def resolve_localities(t: pd.DataFrame, schedules: FeeSchedules, days: list[dt.date]) -> None:
    """Carrier and locality of each line: its carrier-locality, else its ZIP through the ZIP5 file in
    force (a ZIP split between localities needs the ZIP+4: said, never guessed), else national."""
    t["carrier"], t["locality_number"] = "", ""
    given = t["locality"].ne("")
    parts = t.loc[given, "locality"].str.extract(r"^(\d{1,5})-(\d{1,2})$")
    _fail(t, given & parts[0].reindex(t.index).isna(), "locality is not CARRIER-LOCALITY (e.g. 10112-00)", "locality")
    t.loc[given, "carrier"] = parts[0].fillna("").str.zfill(5)
    t.loc[given, "locality_number"] = parts[1].fillna("").str.zfill(2)
    by_zip = ~given & t["zip_code"].ne("")
    zips = t["zip_code"].str.extract(r"^(\d{5})(?:-?\d{4})?$")[0]
    _fail(t, by_zip & zips.isna(), "ZIP code is not 5 digits (or ZIP+4)", "zip_code")
    by_zip &= zips.notna() & t["error"].eq("")
    for group, rows in t[by_zip].groupby("day_group", sort=False).groups.items():
        try:
            table = schedules.table(schedules.in_force("zip5", days[group])).set_index("zip")
        except InputError as error:
            _fail(t, t.index.isin(rows), error.message, "date_of_service")
            continue
        found = table.reindex(zips[rows].to_numpy())
        absent = found["carrier"].isna().to_numpy()
        split = found["plus4_flag"].eq("1").to_numpy()
        mask = t.index.isin(rows)
        _fail(t, mask & np.isin(t.index, rows[absent]), "ZIP code is not in the CMS ZIP5 file", "zip_code")
        _fail(t, mask & np.isin(t.index, rows[split]), "ZIP code is split between Medicare localities (give the carrier-locality)", "zip_code")
        t.loc[rows, "carrier"] = found["carrier"].fillna("").to_numpy()
        t.loc[rows, "locality_number"] = found["locality"].fillna("").to_numpy()
    ok_locality = given & t["error"].eq("")
    for group, rows in t[ok_locality].groupby("day_group", sort=False).groups.items():
        try:
            gpci = schedules.table(schedules.in_force("gpci", days[group]))
        except InputError:
            continue  # the fee rule reports the missing GPCI file
        held = pd.MultiIndex.from_frame(gpci[["carrier", "locality"]])
        asked = pd.MultiIndex.from_arrays([t.loc[rows, "carrier"], t.loc[rows, "locality_number"]])
        _fail(t, t.index.isin(rows[~asked.isin(held)]), "unknown Medicare locality (write it as CARRIER-LOCALITY, e.g. 10112-00)", "locality")


def _context(t: pd.DataFrame, schedules: FeeSchedules) -> list[dt.date]:
    """Date groups, localities and claim keys of the lines (once per distinct value)."""
    groups, days = date_groups(schedules, t["day"].to_numpy())
    t["day_group"] = groups
    t.loc[groups < 0, "day_group"] = 0
    resolve_localities(t, schedules, days)
    claim = np.where(t["claim"].ne(""), "c" + t["claim"], "line " + t["order"].astype(str))
    t["claim_known"] = t["claim"].ne("").to_numpy()
    t["payer_claim"] = pd.factorize(pd.Series(claim) + "\x1f" + t["payer"])[0]
    t["claim_group"] = pd.factorize(pd.Series(claim) + "\x1f" + t["payer"] + "\x1f" + t["day"].astype(str))[0]
    return days


# -- the engine -------------------------------------------------------------------------------------


def price(lines: pd.DataFrame, book: Book, *, reasons: bool = True, edits: bool = True) -> Priced:
    """Price a table of claim lines (see the module docstring). Lines that cannot be priced keep their
    ``error``; every other line gets Medicare's amount, the edit applied and why, the payer's allowed
    amount, the patient's share and the payer's payment, in cents, and its release and reason.

    ``edits=False`` prices each line as a list price: no claim edits and no multiple-procedure rules
    (a fee schedule of codes, each on its own)."""
    t = normalise(lines, book.contracts)
    days = _context(t, book.schedules)
    t = t.rename(columns={"locality": "locality_given"}).rename(columns={"locality_number": "locality"})
    notes: list[str] = []
    fees, fee_notes = medicare_fees(t, book.schedules, days)
    notes += fee_notes
    t["error"], t["pfs_modifier"] = fees.pop("error"), fees.pop("pfs_modifier")
    t["error_field"] = np.where(t["error_field"].eq("") & t["error"].ne(""), fees.pop("error_field"), t["error_field"])
    t = t.join(fees)
    professional = (t["edit"] == Edit.PROFESSIONAL).to_numpy()  # billed as -26: the line says so
    t.loc[professional, "modifiers"] = ("26 " + t.loc[professional, "modifiers"]).str.strip()
    pfs_line = t["category"].isin([Category.PROCEDURE, Category.GUIDANCE, Category.EM]).to_numpy()
    t["unit_nonpar"] = np.where(pfs_line, t["unit_nonpar"], t["unit_fee"])
    ok = t["error"].eq("").to_numpy()
    t["eligible"] = ok & (t["biller"] == Biller.PHYSICIAN).to_numpy() & (t["edit"] != Edit.NOT_PAID).to_numpy()
    if not edits:
        t["eligible"] = False
    found, edit_notes = claim_edits(t, book.schedules, days)
    notes += edit_notes
    denied = found["denied"].to_numpy()
    t["edit"] = np.where(denied, found["edit"], t["edit"])
    t["edit_reason"] = (t["edit_reason"] + " " + found["edit_reason"]).str.strip()
    t["eligible"] = t["eligible"].to_numpy() & ~denied & (t["category"] != Category.DRUG).to_numpy() & (t["unit_fee"] > 0).to_numpy()
    shares = multiple_procedures(t, days)
    t["share_num"] = np.where(denied, 0, shares["share_num"])
    t["share_den"] = np.where(denied, 1, shares["share_den"])
    reduced = shares["reduced"].to_numpy() & ~denied
    t.loc[reduced, "edit"] = Edit.MULTIPLE_PROCEDURE.value
    t["edit_reason"] = (t["edit_reason"] + " " + shares["reason"]).str.strip()
    units, num, den = t["units"].to_numpy(np.int64), t["share_num"].to_numpy(np.int64), t["share_den"].to_numpy(np.int64)
    par = ratio_to_cents(units * t["unit_fee"].to_numpy(np.int64), num, den * 10)
    nonpar = ratio_to_cents(units * t["unit_nonpar"].to_numpy(np.int64), num, den * 10)
    t["medicare"] = np.where(t["participating"].to_numpy(bool), par, nonpar)
    limiting = ratio_to_cents(units * t["unit_limiting"].to_numpy(np.int64), num, den * 10)
    shown = ~t["participating"].to_numpy(bool) & t["limiting_known"].to_numpy(bool)
    t["limiting_charge"] = pd.arrays.IntegerArray(limiting, ~shown)
    t["key"] = t["code"] + np.where(t["pfs_modifier"] != "", "-" + t["pfs_modifier"], "")
    _payers(t, book, days, notes)
    failed = ~t["error"].eq("").to_numpy()
    t.loc[failed, ["medicare", "allowed"]] = 0
    t = t.sort_values(["payer_claim", "order"], kind="stable")
    t = t.join(cost_sharing(t, dict(book.contracts), days).rename(columns={"deductible": "deductible_applied"}))
    t = t.sort_values("order", kind="stable")
    t["patient_share"] = t["copay"] + t["deductible_applied"] + t["coinsurance"]
    t["expected"] = t["patient_share"] + t["payer_payment"] - t["sequestration"]
    if reasons:  # a contract's own reason replaces the coder's, which the Medicare claim shows
        medicare_method = t["payer"].map({name: c.method == Method.MEDICARE for name, c in book.contracts.items()}).fillna(True)
        coding = t["reason"].where(medicare_method.astype(bool) | t["pricing_reason"].eq(""), "")
        t["reason"] = (coding + " " + t["edit_reason"] + " " + t["pricing_reason"]).str.replace(r"\s+", " ", regex=True).str.strip()
    t = t.rename(columns={"day": "date_of_service"}).reset_index(drop=True)
    extra = [c for c in lines.columns if c not in t.columns and c not in INPUTS]
    if extra:  # the caller's own columns ride along
        t = pd.concat([t, lines[extra].reset_index(drop=True)], axis=1)
    return Priced(t, list(dict.fromkeys(notes)))


def _payers(t: pd.DataFrame, book: Book, days: list[dt.date], notes: list[str]) -> None:
    """Each payer's contract over its lines: allowed, rule, and the pricing reason."""
    t["allowed"], t["pricing_reason"], t["base_unit"] = 0, "", t["unit_fee"]
    for payer, rows in t.groupby("payer", sort=False).groups.items():
        if not payer:
            continue
        contract = book.contracts[payer]
        lines = t.loc[rows]
        label = "Medicare"
        if contract.method == Method.PERCENT_OF_MEDICARE and (contract.medicare_year or contract.locality):
            lines = lines.assign(base_unit=_pinned_base(lines, contract, book.schedules, notes))
            label = f"Medicare {contract.medicare_year}" if contract.medicare_year else "Medicare of the year of service"
            label += f" ({contract.locality})" if contract.locality else ""
        elif contract.method == Method.PERCENT_OF_MEDICARE:
            label = "Medicare of the year of service"
        priced = contract_allowed(lines, contract)
        t.loc[rows, "allowed"] = priced["allowed"].to_numpy()
        t.loc[rows, "base_unit"] = lines["base_unit"].to_numpy()
        reasons = contract_reasons(lines.join(priced[["rule", "lesser"]]), contract, label)
        if contract.method == Method.MEDICARE:
            setting = np.where(lines["setting"] == "facility", "facility", "non-facility")
            rates = np.where(lines["participating"], "par ", "non-par (95%) ")
            pfs = lines["category"].isin([Category.PROCEDURE, Category.GUIDANCE, Category.EM]).to_numpy() & (lines["share_num"] > 0).to_numpy()
            reasons = pd.Series(np.where(pfs, "Priced at the " + rates + setting + " PFS amount.", ""), index=rows) + " " + reasons
        t.loc[rows, "pricing_reason"] = reasons.to_numpy()


def _pinned_base(lines: pd.DataFrame, contract: Contract, schedules: FeeSchedules, notes: list[str]) -> np.ndarray:
    """Medicare par per unit of the same line in the contract's pinned year and locality (0 where that
    year or locality has no amount for it, with a note). Another year is priced at its standard CF."""
    base = np.zeros(len(lines), np.int64)
    live = (lines["error"].eq("") & lines["biller"].eq(Biller.PHYSICIAN)).to_numpy()
    if not live.any():
        return base
    shifted = lines.loc[live, ["day", "code", "pfs_modifier", "setting", "facility", "biller", "cf_track", "floor",
                               "carrier", "locality"]].copy()  # fmt: skip
    if contract.medicare_year:
        moved = [in_year(day, contract.medicare_year) for day in shifted["day"]]
        shifted["cf_track"] = np.where([m.year != d.year for m, d in zip(moved, shifted["day"])], "standard", shifted["cf_track"])
        shifted["day"] = moved
    if contract.locality:
        shifted["carrier"], shifted["locality"] = contract.locality.split("-")
    shifted["error"] = ""
    shifted["day_group"], days = date_groups(schedules, shifted["day"].to_numpy())
    fees, _ = medicare_fees(shifted, schedules, days)
    missing = fees["error"].ne("").to_numpy()
    if missing.any():
        where = f"{contract.medicare_year or 'the year of service'}" + (f" in {contract.locality}" if contract.locality else "")
        notes.append(f"Medicare {where} has no amount for {', '.join(sorted(set(shifted.loc[missing, 'code'])))}: "
                     f"{contract.payer}'s percentage applies to 0.")  # fmt: skip
    base[live] = np.where(missing, 0, fees["unit_fee"].to_numpy(np.int64))
    return base
