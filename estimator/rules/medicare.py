"""Medicare's amount per unit of each claim line, before claim edits and multiple-procedure rules.

- Physician services: the PFS fee schedule amount of the code (and its -26 / -TC row) for the line's
  locality and setting, par, non-par and limiting charge, with the OPPS imaging cap where it binds
  (estimator.pfs; RVU25D.pdf). In a facility, a diagnostic test with professional and technical
  components (PC/TC indicator 1) is paid to the physician as its professional component (-26): the
  facility is paid the technical part (edits/claim_edits, professional_component_in_facility).
- Drugs (PFS status E, or codes outside the PFS): the ASP file's payment limit per billing unit of the
  quarter in force; when no file is held for the date, the latest earlier one, said in a note.
  Coinsurance is the ASP file's own co-insurance percentage.
- The facility's own line (hospital outpatient or ASC): the national unadjusted OPPS Addendum B or
  ASC Addendum AA/BB rate when the status or payment indicator is paid separately
  (facility/paid_indicators), 0 when packaged. Rates come from the latest file held on or before the
  date when none covers it, said in a note.

Amounts per unit are integers of 1/1000 dollar (PFS amounts are published in cents, ASP limits and
OPPS rates to the tenth of a cent). Coinsurance rates are integers of 1/100000 (20% = 20000).
"""

from __future__ import annotations

import datetime as dt
import functools

import numpy as np
import pandas as pd

from ..domain import Biller, Category, Edit, FacilityPayment, Setting
from ..errors import InputError
from ..parameters import parameter, rate
from ..pfs import price
from ..store import FeeSchedules, Vintage, load_table

MILLI_PER_CENT = 10
RATE_SCALE = 100_000  # coinsurance rates in 1/100000
OUTPUT = {  # column: default
    "category": Category.PROCEDURE.value,
    "pfs_modifier": "",
    "unit_fee": 0,
    "unit_nonpar": 0,
    "unit_limiting": 0,
    "limiting_known": False,
    "tc_fee": 0,
    "pc_fee": 0,
    "mult_proc": "9",
    "imaging_family": "99",
    "global_days": "XXX",
    "pctc": "9",
    "coinsurance_rate": 0,
    "coinsurance_up": False,
    "release": "",
    "note": "",
    "edit": Edit.NONE.value,
    "edit_reason": "",
    "error": "",
    "error_field": "",
    "total_rvu": 0,
}


def medicare_fees(t: pd.DataFrame, schedules: FeeSchedules, days: list[dt.date]) -> tuple[pd.DataFrame, list[str]]:
    """Per line: category, Medicare amounts per unit (par, non-par, limiting, technical and professional
    parts), the PFS indicators the later rules read, coinsurance rate, release, note, or an error; and
    the notes that hold for whole dates (an unconfirmed work GPCI floor, no OPPS cap file held).

    ``t`` has day_group (index into ``days``), code, pfs_modifier, carrier, locality, setting, facility,
    biller, cf_track, floor and error (lines with an error are left alone).
    """
    notes: list[str] = []
    out = pd.DataFrame({name: [value] * len(t) for name, value in OUTPUT.items()}, index=t.index)
    for name in ("unit_fee", "unit_nonpar", "unit_limiting", "tc_fee", "pc_fee", "coinsurance_rate", "total_rvu"):
        out[name] = out[name].astype(np.int64)
    out["pfs_modifier"] = t["pfs_modifier"]
    out["error"] = t["error"]
    biller = t["biller"]
    out.loc[biller == Biller.NOT_BILLED, "category"] = Category.NOT_BILLED.value
    out.loc[biller == Biller.FACILITY, "category"] = Category.FACILITY.value
    physician = (biller == Biller.PHYSICIAN) & out["error"].eq("")
    for (group, cf_track, floor), rows in t[physician].groupby(["day_group", "cf_track", "floor"], sort=False).groups.items():
        notes += _physician_lines(t.loc[rows], out, schedules, days[group], cf_track, floor)
    facility = (biller == Biller.FACILITY) & out["error"].eq("")
    for group, rows in t[facility].groupby("day_group", sort=False).groups.items():
        _facility_lines(t.loc[rows], out, schedules, days[group])
    return out, notes


def _fail(out: pd.DataFrame, rows, message: str, field: str) -> None:
    rows = pd.Index(rows)
    blank = rows[out.loc[rows, "error"].eq("").to_numpy()]
    out.loc[blank, "error"] = message
    out.loc[blank, "error_field"] = field


@functools.cache
def _rvu_codes(folder, checksum: str, paid_statuses: tuple[str, ...]) -> tuple[frozenset, frozenset, pd.DataFrame]:
    """Of a PFS relative value file (cached by its checksum): every code, the codes paid from RVUs, and
    the rows without a modifier by code."""
    rvu = load_table(folder, "pfs_rvu", checksum)
    global_rows = rvu[rvu["modifier"] == ""].set_index("hcpcs")
    return frozenset(rvu["hcpcs"]), frozenset(global_rows.index[global_rows["status"].isin(list(paid_statuses))]), global_rows


def _physician_lines(
    lines: pd.DataFrame, out: pd.DataFrame, schedules: FeeSchedules, day: dt.date, cf_track: str, floor: str
) -> list[str]:
    try:
        rvu_vintage = schedules.in_force("pfs_rvu", day)
    except InputError as error:
        _fail(out, lines.index, error.message, "date_of_service")
        return []
    statuses = parameter("pfs/status_codes", day).value
    paid_statuses = tuple(status for status, meaning in statuses.items() if meaning["priced"])
    rvu_codes, paid_from_rvus, global_rows = _rvu_codes(rvu_vintage.folder, rvu_vintage.source["table_sha256"], paid_statuses)
    code = lines["code"].to_numpy(dtype=object)
    asp, asp_note = schedules.in_force_or_latest("asp", day)
    asp_table = schedules.table(asp).set_index("hcpcs") if asp else None
    asp_codes = set(asp_table.index) if asp_table is not None else set()
    drug = np.array([c not in paid_from_rvus and c in asp_codes for c in code], dtype=bool)
    if asp is not None and asp_table is not None and drug.any():
        _drug_lines(lines[drug], out, asp, asp_table, asp_note)
    pfs_lines = lines[~drug]
    unknown = pd.Series([c not in rvu_codes for c in pfs_lines["code"]], index=pfs_lines.index, dtype=bool)
    _fail(out, pfs_lines.index[unknown.to_numpy()], "unknown code (neither in the PFS nor in the ASP file)", "code")
    pfs_lines = pfs_lines[~unknown]
    if pfs_lines.empty:
        return []
    rule = parameter("edits/claim_edits", day).value["professional_component_in_facility"]
    pctc = global_rows["pctc"].reindex(pfs_lines["code"].to_numpy()).fillna("").to_numpy()
    professional = ((pfs_lines["setting"] == Setting.FACILITY) & (pfs_lines["pfs_modifier"] == "")).to_numpy() & np.isin(
        pctc, rule["pctc"]
    )
    if professional.any():
        switched = pfs_lines.index[professional]
        out.loc[switched, "pfs_modifier"] = "26"
        out.loc[switched, "edit"] = Edit.PROFESSIONAL.value
        out.loc[switched, "edit_reason"] = "Imaging in a facility: " + rule["reason"] + "."
    modifier = out.loc[pfs_lines.index, "pfs_modifier"]
    places = sorted(set(zip(pfs_lines["carrier"], pfs_lines["locality"], strict=True)))
    try:
        frame, basis = price(
            schedules,
            day,
            codes=sorted(set(pfs_lines["code"])),
            localities=places,
            cf_track=cf_track,
            work_gpci_floor=None if floor == "" else floor == "on",
        )
    except InputError as error:
        _fail(out, pfs_lines.index, error.message, error.field or "date_of_service")
        return []
    keys = ["hcpcs", "modifier", "carrier", "locality"]
    index = pd.MultiIndex.from_arrays([frame[k].astype(str).to_numpy() for k in keys])
    at = index.get_indexer(pd.MultiIndex.from_arrays([pfs_lines["code"], modifier, pfs_lines["carrier"], pfs_lines["locality"]]))
    missing = at < 0
    _fail(out, pfs_lines.index[missing], "no PFS row for this code with that modifier (-26/-TC) or locality", "modifiers")
    found, at = pfs_lines.index[~missing], at[~missing]
    facility = (pfs_lines.loc[found, "setting"] == Setting.FACILITY).to_numpy()

    def column(name: str, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        both = [frame[f"{s}_{name}"].to_numpy(dtype=np.float64, na_value=np.nan)[rows] for s in ("nonfacility", "facility")]
        values = np.where(facility, both[1], both[0])
        return np.nan_to_num(values).astype(np.int64) * MILLI_PER_CENT, ~np.isnan(values)

    fee, payable = column("payment", at)
    out.loc[found, "unit_fee"] = fee
    out.loc[found, "unit_nonpar"] = column("nonpar_amount", at)[0]
    out.loc[found, "unit_limiting"], out.loc[found, "limiting_known"] = column("limiting_charge", at)
    for name in ("mult_proc", "imaging_family", "global_days", "pctc"):
        out.loc[found, name] = frame[name].astype(str).to_numpy()[at]
    pe = np.where(facility, frame["pe_rvu_facility"].to_numpy()[at], frame["pe_rvu_nonfacility"].to_numpy()[at])
    out.loc[found, "total_rvu"] = frame["work_rvu"].to_numpy()[at] + pe + frame["mp_rvu"].to_numpy()[at]  # 1/100 RVU
    for part, name in (("TC", "tc_fee"), ("26", "pc_fee")):
        own = (modifier.loc[found] == part).to_numpy()
        rows = index.get_indexer(
            pd.MultiIndex.from_arrays(
                [
                    pfs_lines.loc[found, "code"],
                    np.full(len(found), part),
                    pfs_lines.loc[found, "carrier"],
                    pfs_lines.loc[found, "locality"],
                ]
            )
        )
        whole = (modifier.loc[found] == "").to_numpy() & (rows >= 0)
        values = np.where(whole, column("payment", np.maximum(rows, 0))[0], 0)
        out.loc[found, name] = np.where(own, fee, values)
    reasons = frame["status_reason"].astype(str).to_numpy()[at]
    not_paid = ~payable
    out.loc[found[not_paid], "edit"] = Edit.NOT_PAID.value
    out.loc[found[not_paid], "edit_reason"] = "Not paid: " + pd.Series(reasons[not_paid], dtype=object)
    category = pd.Series(Category.PROCEDURE.value, index=found)
    category[pfs_lines.loc[found, "code"].isin(parameter("coding/imaging_guidance_codes", day).value["codes"]).to_numpy()] = (
        Category.GUIDANCE.value
    )
    category[pfs_lines.loc[found, "code"].isin(parameter("coding/office_visit_codes", day).value).to_numpy()] = Category.EM.value
    out.loc[found, "category"] = category
    out.loc[found, "coinsurance_rate"] = int(rate("part_b/coinsurance_rate", day) * RATE_SCALE)
    out.loc[found, "release"] = f"{basis.rvu.name}/{basis.gpci_name}"
    if basis.opps_cap is not None:
        capped = frame["nonfacility_opps_cap"].notna().to_numpy()[at] | frame["facility_opps_cap"].notna().to_numpy()[at]
        out.loc[found[capped], "release"] += f"/{basis.opps_cap.name}"
    return basis.notes()


def _drug_lines(lines: pd.DataFrame, out: pd.DataFrame, vintage: Vintage, asp: pd.DataFrame, note: str) -> None:
    """Units x the ASP payment limit (already 106% of ASP); the file's own co-insurance percentage."""
    limit = asp["payment_limit"].reindex(lines["code"].to_numpy())
    missing = limit.isna().to_numpy()
    _fail(out, lines.index[missing], f"no ASP payment limit for this code in {vintage.name} (carrier priced)", "code")
    found = lines.index[~missing]
    out.loc[found, "category"] = Category.DRUG.value
    out.loc[found, "unit_fee"] = limit.to_numpy(dtype=np.int64, na_value=0)[~missing]  # 1/1000 dollar
    out.loc[found, "unit_nonpar"] = out.loc[found, "unit_fee"]
    coinsurance = asp["coinsurance_percent"].reindex(lines["code"].to_numpy()).to_numpy(dtype=np.int64, na_value=0)
    out.loc[found, "coinsurance_rate"] = coinsurance[~missing]  # 1/1000 percent = 1/100000
    out.loc[found, "release"] = vintage.name
    out.loc[found, "note"] = note


def _facility_lines(lines: pd.DataFrame, out: pd.DataFrame, schedules: FeeSchedules, day: dt.date) -> None:
    """The hospital's (OPPS Addendum B) or the ASC's (Addenda AA, then BB) national unadjusted rate."""
    paid = parameter("facility/paid_indicators", day).value
    coinsurance = int(rate("part_b/coinsurance_rate", day) * RATE_SCALE)
    for system, kinds in (
        (FacilityPayment.OPPS, ("opps_b",)),
        (FacilityPayment.ASC, ("asc_aa", "asc_bb")),
        (FacilityPayment.NONE, ()),
    ):
        remaining = lines[lines["facility"] == system]
        for kind in kinds:
            if remaining.empty:
                break
            vintage, note = schedules.in_force_or_latest(kind, day)
            if vintage is None:
                continue
            table = schedules.table(vintage).set_index("hcpcs")
            here = remaining["code"].isin(table.index).to_numpy()
            rows, remaining = remaining[here], remaining[~here]
            row = table.reindex(rows["code"].to_numpy())
            indicator = row["status_indicator" if kind == "opps_b" else "payment_indicator"].astype(str).to_numpy()
            places = 3 if kind in ("opps_b", "asc_bb") else 2
            amount = row["payment_rate"].to_numpy(dtype=np.float64, na_value=np.nan)
            is_paid = np.isin(indicator, paid[system.value]) & ~np.isnan(amount)
            out.loc[rows.index, "unit_fee"] = np.nan_to_num(np.where(is_paid, amount, 0)).astype(np.int64) * 10 ** (3 - places)
            out.loc[rows.index, "coinsurance_rate"] = coinsurance
            out.loc[rows.index, "coinsurance_up"] = system == FacilityPayment.OPPS  # Addendum B rounds the copayment up
            out.loc[rows.index, "release"] = vintage.name
            out.loc[rows.index, "note"] = note
            apc = (
                np.where(
                    row["apc"].fillna("").astype(str).to_numpy() != "",
                    ", APC " + row["apc"].fillna("").astype(str).to_numpy(),
                    "",
                )
                if "apc" in row
                else np.full(len(rows), "")
            )
            out.loc[rows.index, "edit_reason"] = np.where(
                is_paid,
                "Paid (" + indicator + apc + "), national unadjusted rate.",
                "Packaged (" + indicator + "): no separate facility payment.",
            )
            out.loc[rows.index[~is_paid], "edit"] = Edit.NOT_PAID.value
        if not remaining.empty:
            out.loc[remaining.index, "edit"] = Edit.NOT_PAID.value
            out.loc[remaining.index, "edit_reason"] = "No facility rate is held for this code at this place of service."
