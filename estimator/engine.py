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
from .parameters import in_force_key, parameter, required_parameter_names
from .proposals import proposals
from .rules.contracts import contract_allowed, contract_reasons
from .rules.cost_sharing import cost_sharing
from .rules.edits import claim_edits
from .rules.medicare import OUTPUT as FEE_COLUMNS
from .rules.medicare import medicare_fees
from .rules.multiple_procedures import multiple_procedures
from .rules.proposals import proposed_same_day
from .store import FeeSchedules

DEFAULTS = {
    "claim": "",
    "modifiers": "",
    "units": 1,
    "place_of_service": "11",
    "zip_code": "",
    "locality": "",
    "biller": Biller.PHYSICIAN.value,
    "deductible": 0,
    "participating": True,
    "cf_track": "standard",
    "work_gpci_floor": "",
    "label": "",
    "reason": "",
    "proposal": "",
}
REQUIRED = ("date_of_service", "code", "payer")
INPUTS = set(DEFAULTS) | set(REQUIRED) | {"billed", "deductible"}
MONEY = [
    "medicare",
    "allowed",
    "copay",
    "deductible_applied",
    "coinsurance",
    "patient_share",
    "payer_payment",
    "sequestration",
    "expected",
    "limiting_charge",
]


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
#
# Text columns are factorized: each distinct value is parsed and checked once, and lines carry
# pandas categoricals. The few thousand distinct pricing contexts of a file are priced once each;
# per line only integer arithmetic runs.


def _uniques(lines: pd.DataFrame, name: str) -> tuple[np.ndarray, np.ndarray]:
    """(code of each line, its distinct values as stripped text)."""
    if name not in lines:
        return np.zeros(len(lines), np.int64), np.array([str(DEFAULTS.get(name, ""))], dtype=object)
    codes, uniques = pd.factorize(lines[name].reset_index(drop=True), use_na_sentinel=False)
    text = pd.Series(uniques, dtype=object).astype("string").fillna("").str.strip().to_numpy(dtype=object)
    return codes, text


def _category(codes: np.ndarray, values) -> pd.Categorical:
    """Per-line categorical from the codes of the distinct values and those values parsed."""
    values = np.asarray(values, dtype=object)
    merged, categories = pd.factorize(values, use_na_sentinel=True)  # None (a date that is not one) has no category
    return pd.Categorical.from_codes(merged[codes] if len(merged) else codes, categories=pd.Index(categories, dtype=object))


class _Errors:
    """The first error of each line (text and the input field it is about)."""

    def __init__(self, n: int):
        self.message = np.full(n, "", dtype=object)
        self.field = np.full(n, "", dtype=object)

    def add(self, mask, message, field) -> None:
        """``message`` and ``field``: one text, or an array with a value per line."""
        mask = np.asarray(mask, dtype=bool) & (self.message == "")
        if mask.any():
            self.message[mask] = message if isinstance(message, str) else np.asarray(message, dtype=object)[mask]
            self.field[mask] = field if isinstance(field, str) else np.asarray(field, dtype=object)[mask]


def _parse_day(value) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = str(value).strip()[:40]
    for pattern in ("%Y-%m-%d", "%m/%d/%Y", "%Y%m%d", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S"):
        try:
            return dt.datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    return None


def _parse_units(text: str) -> int:
    match = re.fullmatch(r"(\d{1,4})(?:\.0*)?", text or "1")
    return int(match.group(1)) if match and 1 <= int(match.group(1)) <= 9999 else -1


def normalise(lines: pd.DataFrame, contracts: Mapping[str, Contract]) -> tuple[pd.DataFrame, _Errors]:
    """The input table with every column present and checked; bad lines get an error, never raise."""
    missing = [c for c in REQUIRED if c not in lines]
    if missing:
        raise InputError(f"the lines have no {', '.join(missing)}", field=missing[0])
    n = len(lines)
    errors = _Errors(n)
    t = pd.DataFrame({"order": np.arange(n)})
    for name in ("claim", "label", "reason", "zip_code", "locality"):
        codes, text = _uniques(lines, name)
        t[name] = _category(codes, text)
    _proposal_and_track(lines, t, errors)
    codes, text = _uniques(lines, "work_gpci_floor")
    floor = np.array([v.lower() for v in text], dtype=object)
    t["floor"] = _category(codes, floor)
    errors.add(~np.isin(floor, ["", "on", "off"])[codes], "work GPCI floor is on, off or blank", "work_gpci_floor")
    codes, text = _uniques(lines, "biller")
    biller = np.array([v or Biller.PHYSICIAN.value for v in text], dtype=object)
    t["biller"] = _category(codes, biller)
    errors.add(~np.isin(biller, [b.value for b in Biller])[codes], "biller is not physician, facility or not billed", "biller")
    codes, values = pd.factorize(lines["date_of_service"].reset_index(drop=True), use_na_sentinel=False)
    days = np.array([_parse_day(v) for v in values], dtype=object)
    t["day"] = _category(codes, days)
    errors.add(pd.isna(days)[codes], "date of service is not a date (write it as 2026-03-02)", "date_of_service")
    codes, text = _uniques(lines, "code")
    code = np.array([v.upper() for v in text], dtype=object)
    t["code"] = _category(codes, code)
    bad_code = (
        np.array([not re.fullmatch(r"[0-9A-Z]{5}", v) for v in code])[codes] & (t["biller"] != Biller.NOT_BILLED).to_numpy()
    )
    errors.add(bad_code, "HCPCS code is not 5 letters or digits", "code")
    codes, text = _uniques(lines, "modifiers")
    parts = [re.findall(r"[0-9A-Z]+", v.upper()) for v in text]
    t["modifiers"] = _category(codes, [" ".join(p) for p in parts])
    t["pfs_modifier"] = _category(codes, [next((m for m in p if m in ("26", "TC")), "") for p in parts])
    errors.add(
        np.array([any(len(m) != 2 for m in p) or len(p) > 4 for p in parts])[codes],
        "modifiers are up to four codes of 2 letters or digits",
        "modifiers",
    )
    if "units" in lines and lines["units"].dtype.kind in "iu":
        units = lines["units"].to_numpy(np.int64)
        units = np.where((units >= 1) & (units <= 9999), units, -1)
    else:
        codes, text = _uniques(lines, "units")
        units = np.array([_parse_units(v) for v in text], np.int64)[codes]
    errors.add(units < 0, "units must be a whole number from 1 to 9999", "units")
    t["units"] = np.where(units < 0, 1, units)
    codes, text = _uniques(lines, "place_of_service")
    pos = np.array([v.zfill(2) for v in text], dtype=object)
    t["place_of_service"] = _category(codes, pos)
    errors.add(
        ~np.isin(pos, list(PLACES_OF_SERVICE))[codes],
        "place of service is not " + ", ".join(PLACES_OF_SERVICE),
        "place_of_service",
    )
    t["setting"] = _category(codes, [PLACES_OF_SERVICE[p].setting.value if p in PLACES_OF_SERVICE else "" for p in pos])
    t["facility"] = _category(codes, [PLACES_OF_SERVICE[p].facility.value if p in PLACES_OF_SERVICE else "" for p in pos])
    names = {name.lower(): name for name in contracts}
    codes, text = _uniques(lines, "payer")
    payer = np.array([names.get(v.lower(), "") for v in text], dtype=object)
    t["payer"] = _category(codes, payer)
    message = np.array([f"payer is not a saved payer: {v[:60]}" + ("..." if len(v) > 60 else "") for v in text], dtype=object)
    errors.add(payer[codes] == "", message[codes], "payer")
    _proposal_followers(t, contracts)
    billed = pd.array(lines["billed"], dtype="Int64") if "billed" in lines else pd.array([None] * n, dtype="Int64")
    t["billed_known"] = ~np.asarray(pd.isna(billed))
    t["billed"] = np.asarray(billed.fillna(0), dtype=np.int64)
    t["deductible_owed"] = (
        pd.array(lines["deductible"], dtype="Int64").fillna(0).to_numpy(np.int64) if "deductible" in lines else 0
    )
    t["participating"] = lines["participating"].to_numpy(bool) if "participating" in lines else True
    return t, errors


def _proposal_and_track(lines: pd.DataFrame, t: pd.DataFrame, errors: _Errors) -> None:
    """The proposal each line is priced under (estimator.proposals; blank: none) and its CF track: a
    proposal's conversion factor for the line's track stands in for the RVU file's."""
    codes, names = _uniques(lines, "proposal")
    known = proposals()
    errors.add(
        ~np.isin(names, ["", *known])[codes], "proposal is not one of " + ", ".join(known) if known else "no proposal", "proposal"
    )
    track_codes, tracks = _uniques(lines, "cf_track")
    pair, first = np.unique(_combine(codes, track_codes), return_index=True)
    chosen = [
        known[names[codes[i]]].conversion_factor.get(tracks[track_codes[i]], tracks[track_codes[i]])
        if names[codes[i]] in known
        else tracks[track_codes[i]]
        for i in first
    ]
    at = np.searchsorted(pair, _combine(codes, track_codes))
    t["proposal"] = _category(codes, np.where(np.isin(names, list(known)), names, ""))
    t["cf_track"] = _category(at, np.array(chosen, dtype=object))


def _proposal_followers(t: pd.DataFrame, contracts: Mapping[str, Contract]) -> None:
    """A proposed Medicare rule changes what a payer pays only when the payer pays Medicare's current
    amounts: traditional Medicare and contracts at a % of rolling-year Medicare. Other lines are priced
    as they are today."""
    follows = np.array(
        [
            bool(p) and contracts[p].method in (Method.MEDICARE, Method.PERCENT_OF_MEDICARE) and not contracts[p].medicare_year
            for p in t["payer"].cat.categories
        ]
        + [False]
    )
    keep = follows[t["payer"].cat.codes.to_numpy()]
    if not keep.all() and (t["proposal"] != "").any():
        t["proposal"] = pd.Categorical(np.where(keep, t["proposal"].astype(object).to_numpy(), ""))


# -- the pricing context ----------------------------------------------------------------------------


def date_groups(schedules: FeeSchedules, days: np.ndarray) -> tuple[np.ndarray, list[dt.date], np.ndarray]:
    """Dates priced alike share a group: the same CMS files in force (or used as the latest held) and
    the same start of every dated rule. Returns the group of each date (-1: no date, or a date nothing
    can price), each group's first date, and why each date cannot be priced ("" where it can)."""
    if isinstance(days, pd.Categorical):
        codes, uniques = days.codes, days.categories
    else:
        codes, uniques = pd.factorize(pd.Series(days, dtype=object), use_na_sentinel=True)
    keys: dict[tuple, int] = {}
    representative: list[dt.date] = []
    group_of = np.zeros(len(uniques) + 1, np.int64)
    why = np.full(len(uniques) + 1, "", dtype=object)
    for i, day in enumerate(uniques):
        key = in_force_key(schedules, day)
        why[i] = not_covered(schedules, day) if key[0][0] == "" or key[0][1] or None in key else ""
        if why[i]:
            group_of[i] = -1
            continue
        if key not in keys:
            keys[key] = len(representative)
            representative.append(day)
        group_of[i] = keys[key]
    if not representative:  # no line can be priced: the rules still run, over errors only, on a day they know
        held = schedules.of_kind("pfs_rvu")
        if not held:
            raise InputError("no PFS relative value file is loaded", field="date_of_service")
        representative.append(held[-1].effective_from)
    at = np.where(codes >= 0, codes, len(uniques))
    group_of[-1] = -1
    return group_of[at], representative, why[at]


def not_covered(schedules: FeeSchedules, day: dt.date) -> str:
    """Why nothing can be priced on ``day``: no PFS relative value file in force, or a dated rule with
    no known value (every rule's values start with the first PFS file held)."""
    try:
        schedules.in_force("pfs_rvu", day)
        for name in required_parameter_names():
            parameter(name, day)
    except InputError as error:
        return error.message
    return ""


def _combine(*codes: np.ndarray) -> np.ndarray:
    """One integer key for the combination of several integer codes (each >= 0): a mixed-radix number
    while it fits in 62 bits, renumbered densely when it would not."""
    key = np.zeros(len(codes[0]), np.int64)
    size = 1
    for column in codes:
        column = np.asarray(column, np.int64)
        radix = int(column.max(initial=0)) + 1
        if size * radix >= 2**62:
            key = pd.factorize(key)[0].astype(np.int64)
            size = int(key.max(initial=0)) + 1
        key = key * radix + column
        size *= radix
    return key


def resolve_localities(places: pd.DataFrame, schedules: FeeSchedules, days: list[dt.date]) -> pd.DataFrame:
    """Carrier and locality of each (day_group, zip_code, locality) row: its carrier-locality, else its
    ZIP through the ZIP5 file in force (a ZIP split between localities needs the ZIP+4: said, never
    guessed), else national. Returns carrier, locality, error, error_field."""
    out = pd.DataFrame({"carrier": "", "locality": "", "error": "", "error_field": ""}, index=places.index)

    def fail(mask, message, field):
        mask = np.asarray(mask, bool) & out["error"].eq("").to_numpy()
        out.loc[mask, "error"], out.loc[mask, "error_field"] = message, field

    given = places["locality"].ne("").to_numpy()
    parts = places["locality"].str.extract(r"^(\d{1,5})-(\d{1,2})$")
    fail(given & parts[0].isna().to_numpy(), "locality is not CARRIER-LOCALITY (e.g. 10112-00)", "locality")
    out.loc[given, "carrier"] = parts[0].fillna("").str.zfill(5)[given]
    out.loc[given, "locality"] = parts[1].fillna("").str.zfill(2)[given]
    zips = places["zip_code"].str.extract(r"^(\d{5})(?:-?\d{4})?$")[0]
    by_zip = ~given & places["zip_code"].ne("").to_numpy()
    fail(by_zip & zips.isna().to_numpy(), "ZIP code is not 5 digits (or ZIP+4)", "zip_code")
    for group in np.unique(places["day_group"].to_numpy()):
        rows = (places["day_group"] == group).to_numpy()
        zip_rows = rows & by_zip & zips.notna().to_numpy()
        if zip_rows.any():
            try:
                table = schedules.table(schedules.in_force("zip5", days[group])).set_index("zip")
            except InputError as error:
                fail(zip_rows, error.message, "date_of_service")
                continue
            found = table.reindex(zips[zip_rows].to_numpy())
            absent, split = np.zeros(len(out), bool), np.zeros(len(out), bool)
            absent[zip_rows] = found["carrier"].isna().to_numpy()
            split[zip_rows] = found["plus4_flag"].eq("1").to_numpy()
            fail(absent, "ZIP code is not in the CMS ZIP5 file", "zip_code")
            fail(split, "ZIP code is split between Medicare localities (give the carrier-locality)", "zip_code")
            out.loc[zip_rows, "carrier"] = found["carrier"].fillna("").to_numpy()
            out.loc[zip_rows, "locality"] = found["locality"].fillna("").to_numpy()
        named = rows & given & out["error"].eq("").to_numpy()
        if named.any():
            try:
                gpci = schedules.table(schedules.in_force("gpci", days[group]))
            except InputError:
                continue  # the fee rule reports the missing GPCI file
            held = pd.MultiIndex.from_frame(gpci[["carrier", "locality"]])
            asked = pd.MultiIndex.from_arrays([out.loc[named, "carrier"], out.loc[named, "locality"]])
            unknown = np.zeros(len(out), bool)
            unknown[np.flatnonzero(named)[~asked.isin(held)]] = True
            fail(unknown, "unknown Medicare locality (write it as CARRIER-LOCALITY, e.g. 10112-00)", "locality")
    return out


def _broadcast(t: pd.DataFrame, table: pd.DataFrame, at: np.ndarray, defaults: Mapping) -> None:
    """Copy the per-context ``table`` onto the lines (``at``: each line's row of the table, -1: none);
    ``defaults`` gives each column's value for lines without a context, and by its type whether the
    column is text (a categorical on the lines) or a number."""
    for name in table.columns:
        default = defaults[name]
        if isinstance(default, str):
            t[name] = _category(np.where(at >= 0, at, len(table)), np.append(table[name].to_numpy(dtype=object), default))
        else:
            t[name] = _take(table[name].to_numpy(), at, default)


def _context(t: pd.DataFrame, errors: _Errors, schedules: FeeSchedules) -> tuple[list[dt.date], np.ndarray, pd.DataFrame]:
    """Date groups, localities and claim keys of the lines, each worked out once per distinct value;
    returns the representative day of each date group, each line's pricing context (-1: none) and
    the lines with their carrier and locality."""
    groups, days, why = date_groups(schedules, t["day"].array)
    errors.add(why != "", why, "date_of_service")
    t["day_group"] = np.maximum(groups, 0)
    place_key = _combine(t["day_group"].to_numpy(), t["zip_code"].cat.codes.to_numpy(), t["locality"].cat.codes.to_numpy())
    unique, first = np.unique(place_key, return_index=True)
    places = pd.DataFrame(
        {
            "day_group": t["day_group"].to_numpy()[first],
            "zip_code": t["zip_code"].astype(object).to_numpy()[first],
            "locality": t["locality"].astype(object).to_numpy()[first],
        }
    )
    resolved = resolve_localities(places, schedules, days)
    at = np.searchsorted(unique, place_key)
    errors.add(
        resolved["error"].to_numpy(dtype=object)[at] != "",
        resolved["error"].to_numpy(dtype=object)[at],
        resolved["error_field"].to_numpy(dtype=object)[at],
    )
    t = t.rename(columns={"locality": "locality_given"})
    t["carrier"] = _category(at, resolved["carrier"].to_numpy(dtype=object))
    t["locality"] = _category(at, resolved["locality"].to_numpy(dtype=object))
    claim_known = (t["claim"] != "").to_numpy()
    claim = np.where(claim_known, t["claim"].cat.codes.to_numpy(), len(t["claim"].cat.categories) + t["order"].to_numpy())
    payer = t["payer"].cat.codes.to_numpy()
    day = t["day"].cat.codes.to_numpy()
    t["claim_known"] = claim_known
    t["payer_claim"] = pd.factorize(_combine(claim, payer))[0]  # dense group numbers
    t["claim_group"] = pd.factorize(_combine(claim, payer, np.maximum(day, 0)))[0]
    ok = errors.message == ""
    context = _combine(t["day_group"].to_numpy(), *(t[c].cat.codes.to_numpy() for c in CONTEXT[1:]))
    return days, np.where(ok, context, -1), t


CONTEXT = ["day_group", "code", "pfs_modifier", "carrier", "locality", "setting", "facility", "biller", "cf_track", "floor"]
SHARING = ["payer", "payer_claim", "claim_known", "day_group", "allowed", "deductible_owed", "coinsurance_rate", "coinsurance_up"]
PRICING = [
    "day",
    "code",
    "key",
    "pfs_modifier",
    "modifiers",
    "units",
    "category",
    "share_num",
    "share_den",
    "medicare",
    "unit_fee",
    "total_rvu",
    "billed",
    "billed_known",
    "setting",
    "facility",
    "biller",
    "cf_track",
    "floor",
    "carrier",
    "locality",
    "participating",
]


# -- the engine -------------------------------------------------------------------------------------


def price(lines: pd.DataFrame, book: Book, *, reasons: bool = True, edits: bool = True) -> Priced:
    """Price a table of claim lines (see the module docstring). Lines that cannot be priced keep their
    ``error``; every other line gets Medicare's amount, the edit applied and why, the payer's allowed
    amount, the patient's share and the payer's payment, in cents, and its release and reason.

    ``edits=False`` prices each line as a list price: no claim edits and no multiple-procedure rules
    (a fee schedule of codes, each on its own)."""
    t, errors = normalise(lines, book.contracts)
    days, context, t = _context(t, errors, book.schedules)
    notes: list[str] = []
    ids, first = np.unique(context[context >= 0], return_index=True)
    rows = np.flatnonzero(context >= 0)[first]
    contexts = pd.DataFrame(
        {c: (t[c].to_numpy()[rows] if c == "day_group" else t[c].astype(object).to_numpy()[rows]) for c in CONTEXT}
    )
    contexts["error"] = ""
    fees, fee_notes = medicare_fees(contexts, book.schedules, days)
    notes += fee_notes
    at = np.full(len(t), -1, np.int64)
    known = context >= 0
    at[known] = np.searchsorted(ids, context[known])
    fee_errors = _take(fees.pop("error").to_numpy(dtype=object), at, "")
    fee_fields = _take(fees.pop("error_field").to_numpy(dtype=object), at, "")
    errors.add(known & (fee_errors != ""), fee_errors, "code")
    errors.field[known & (fee_errors != "") & (errors.message == fee_errors)] = fee_fields[
        known & (fee_errors != "") & (errors.message == fee_errors)
    ]
    t = t.drop(columns=["pfs_modifier"])
    _broadcast(t, fees, at, FEE_COLUMNS)
    ok = errors.message == ""
    professional = (t["edit"] == Edit.PROFESSIONAL).to_numpy()  # billed as -26: the line says so
    t["modifiers"] = _join_where(t["modifiers"].array, professional, np.full(professional.sum(), "26", dtype=object), first=True)
    pfs_line = t["category"].isin([Category.PROCEDURE, Category.GUIDANCE, Category.EM]).to_numpy()
    t["unit_nonpar"] = np.where(pfs_line, t["unit_nonpar"], t["unit_fee"])
    t["eligible"] = ok & (t["biller"] == Biller.PHYSICIAN).to_numpy() & (t["edit"] != Edit.NOT_PAID).to_numpy() & edits
    accepts = np.array([not p or book.contracts[p].bypass_modifiers_accepted for p in t["payer"].cat.categories] + [True])
    t["bypass_ok"] = accepts[t["payer"].cat.codes.to_numpy()]  # the payer honours 59 / X{EPSU}
    found, edit_notes = claim_edits(t, book.schedules, days)
    notes += edit_notes
    denied = found["denied"]
    edit = _replace_where(t["edit"].array, denied, found["edit"][denied])
    edit_reason = _join_where(t["edit_reason"].array, denied, found["edit_reason"][denied])
    t["eligible"] = (
        t["eligible"].to_numpy() & ~denied & (t["category"] != Category.DRUG).to_numpy() & (t["unit_fee"] > 0).to_numpy()
    )
    shares = multiple_procedures(t, days)
    t["share_num"] = np.where(denied, 0, shares["share_num"])
    t["share_den"] = np.where(denied, 1, shares["share_den"])
    reduced = shares["reduced"] & ~denied
    t["edit"] = _replace_where(edit, reduced, np.full(reduced.sum(), Edit.MULTIPLE_PROCEDURE.value, dtype=object))
    t["edit_reason"] = _join_where(edit_reason, reduced, shares["reason"][reduced])
    if (t["proposal"] != "").any():
        proposed = proposed_same_day(t, ~denied)
        t["share_num"], t["share_den"] = proposed["share_num"], proposed["share_den"]
        hit = proposed["reduced"]
        t["edit"] = _replace_where(t["edit"].array, hit, np.full(hit.sum(), Edit.PROPOSED.value, dtype=object))
        t["edit_reason"] = _join_where(t["edit_reason"].array, hit, proposed["reason"][hit])
        notes += [
            f"Priced under {known.title} (a proposal, not a final rule): {'; '.join(known.reference)}."
            for known in _used_proposals(t)
        ]
    units, num, den = t["units"].to_numpy(np.int64), t["share_num"].to_numpy(np.int64), t["share_den"].to_numpy(np.int64)
    par = ratio_to_cents(units * t["unit_fee"].to_numpy(np.int64), num, den * 10)
    nonpar = ratio_to_cents(units * t["unit_nonpar"].to_numpy(np.int64), num, den * 10)
    participating = t["participating"].to_numpy(bool)
    t["medicare"] = np.where(participating, par, nonpar)
    limiting = ratio_to_cents(units * t["unit_limiting"].to_numpy(np.int64), num, den * 10)
    t["limiting_charge"] = pd.arrays.IntegerArray(limiting, participating | ~t["limiting_known"].to_numpy(bool))
    t["key"] = _keys(t)
    t["error"] = pd.Categorical(errors.message)
    t["error_field"] = pd.Categorical(errors.field)
    failed = ~ok
    _payers(t, book, days, notes, failed, reasons)
    order = np.lexsort((t["order"].to_numpy(), t["payer_claim"].to_numpy()))
    sharing = cost_sharing(t[SHARING].iloc[order], dict(book.contracts), days).rename(
        columns={"deductible": "deductible_applied"}
    )
    for column in sharing.columns:
        values = np.empty(len(t), np.int64)
        values[order] = sharing[column].to_numpy()
        t[column] = values
    t["patient_share"] = t["copay"] + t["deductible_applied"] + t["coinsurance"]
    t["expected"] = t["patient_share"] + t["payer_payment"] - t["sequestration"]
    if reasons:  # a contract's own reason replaces the coder's, which the Medicare claim shows
        medicare_method = np.array([not p or book.contracts[p].method == Method.MEDICARE for p in t["payer"].cat.categories])
        own = ~medicare_method[t["payer"].cat.codes.to_numpy()] & (t["pricing_reason"] != "").to_numpy()
        coding = np.where(own, -1, t["reason"].cat.codes.to_numpy())
        t["reason"] = _reasons((coding, t["reason"].cat.categories), _parts(t["edit_reason"]), _parts(t["pricing_reason"]))
    t = t.rename(columns={"day": "date_of_service"})
    extra = [c for c in lines.columns if c not in t.columns and c not in INPUTS]
    if extra:  # the caller's own columns ride along
        t = pd.concat([t, lines[extra].reset_index(drop=True)], axis=1)
    return Priced(t, list(dict.fromkeys(notes)))


def _used_proposals(t: pd.DataFrame) -> list:
    return [proposals()[name] for name in t["proposal"].cat.categories if name]


def _take(values: np.ndarray, at: np.ndarray, default) -> np.ndarray:
    """values[at] per line, ``default`` where ``at`` is -1."""
    return np.append(values, default)[np.where(at >= 0, at, len(values))]


def _replace_where(values: pd.Categorical, mask: np.ndarray, new: np.ndarray) -> pd.Categorical:
    """``values`` with the lines of ``mask`` set to ``new`` (one text per masked line)."""
    if not mask.any():
        return values
    codes, uniques = pd.factorize(np.asarray(new, dtype=object), use_na_sentinel=False)
    categories = list(values.categories)
    index = {c: i for i, c in enumerate(categories)}
    for value in uniques:
        if value not in index:
            index[value] = len(categories)
            categories.append(value)
    out = values.codes.astype(np.int64).copy()
    out[mask] = np.array([index[v] for v in uniques], np.int64)[codes]
    return pd.Categorical.from_codes(out, categories=pd.Index(categories, dtype=object))


def _join_where(values: pd.Categorical, mask: np.ndarray, added: np.ndarray, *, first: bool = False) -> pd.Categorical:
    """``values`` with ``added`` joined (after it, or before it with ``first``) on the lines of ``mask``,
    each distinct pair joined once."""
    if not mask.any():
        return values
    current = values.codes[mask]
    codes, uniques = pd.factorize(np.asarray(added, dtype=object), use_na_sentinel=False)
    pair = _combine(current.astype(np.int64), codes)
    unique, at = np.unique(pair, return_index=True)
    texts = []
    for i in at:
        old, new = values.categories[current[i]] if current[i] >= 0 else "", uniques[codes[i]]
        texts.append(" ".join(x for x in ((new, old) if first else (old, new)) if x))
    return _replace_where(values, mask, np.array(texts, dtype=object)[np.searchsorted(unique, pair)])


def _parts(values: pd.Series) -> tuple[np.ndarray, pd.Index]:
    return values.cat.codes.to_numpy(), values.cat.categories


def _reasons(*parts: tuple[np.ndarray, pd.Index]) -> pd.Categorical:
    """The parts of each line's reason joined (codes into texts; -1: none), once per combination."""
    combined = _combine(*(codes + 1 for codes, _ in parts))
    unique, first = np.unique(combined, return_index=True)
    named = [(codes[first], np.asarray(texts, dtype=object)) for codes, texts in parts]
    pieces = [np.where(codes >= 0, texts[np.maximum(codes, 0)] if len(texts) else "", "") for codes, texts in named]
    written = [re.sub(r"\s+", " ", " ".join(str(p) for p in row if p).strip()) for row in zip(*pieces, strict=True)]
    return _category(np.searchsorted(unique, combined), written)


def _keys(t: pd.DataFrame) -> pd.Categorical:
    """How contracts name a line: the code, with -26 or -TC when the line is priced as that component."""
    combined = _combine(t["code"].cat.codes.to_numpy(), t["pfs_modifier"].cat.codes.to_numpy())
    unique, first = np.unique(combined, return_index=True)
    codes, modifiers = t["code"].astype(object).to_numpy()[first], t["pfs_modifier"].astype(object).to_numpy()[first]
    names = np.array([c + (f"-{m}" if m else "") for c, m in zip(codes, modifiers, strict=True)], dtype=object)
    return pd.Categorical(names[np.searchsorted(unique, combined)])


def _payers(t: pd.DataFrame, book: Book, days: list[dt.date], notes: list[str], failed: np.ndarray, reasons: bool) -> None:
    """Each payer's contract over its lines: allowed, rule, base and the pricing reason."""
    allowed = np.zeros(len(t), np.int64)
    base = t["unit_fee"].to_numpy(np.int64).copy()
    pricing, texts = np.full(len(t), -1, np.int64), list[str]()
    payer_codes = t["payer"].cat.codes.to_numpy()
    columns = t[PRICING]
    for number, payer in enumerate(t["payer"].cat.categories):
        rows = np.flatnonzero((payer_codes == number) & ~failed)
        if not payer or not len(rows):
            continue
        contract = book.contracts[payer]
        lines = columns.iloc[rows]
        label = "Medicare"
        if contract.method == Method.PERCENT_OF_MEDICARE and (contract.medicare_year or contract.locality):
            lines = lines.assign(base_unit=_pinned_base(lines, contract, book.schedules, notes))
            label = f"Medicare {contract.medicare_year}" if contract.medicare_year else "Medicare of the year of service"
            label += f" ({contract.locality})" if contract.locality else ""
        else:
            lines = lines.assign(base_unit=lines["unit_fee"])
            label = "Medicare of the year of service" if contract.method == Method.PERCENT_OF_MEDICARE else label
        priced = contract_allowed(lines, contract)
        allowed[rows] = priced["allowed"].to_numpy()
        base[rows] = lines["base_unit"].to_numpy()
        if reasons:
            codes, written = _pricing_reasons(lines.join(priced[["rule", "lesser"]]), contract, label)
            pricing[rows] = codes + len(texts)
            texts += list(written)
    t["allowed"], t["base_unit"] = allowed, base
    t["pricing_reason"] = (
        pd.Categorical.from_codes(pricing, categories=pd.Index(range(len(texts)))).rename_categories(texts)
        if len(set(texts)) == len(texts)
        else _category(np.where(pricing >= 0, pricing, len(texts)), texts + [""])
    )
    t.loc[failed, "medicare"] = 0


REASON_KEY = [
    "rule",
    "lesser",
    "code",
    "key",
    "units",
    "share_num",
    "share_den",
    "base_unit",
    "billed",
    "total_rvu",
    "setting",
    "participating",
    "category",
]


def _pricing_reasons(lines: pd.DataFrame, contract: Contract, label: str) -> tuple[np.ndarray, np.ndarray]:
    """The contract's reason for each line (an index into the texts returned), written once per distinct
    combination of what it says: amounts count only for the rules that name them."""
    lesser = lines["lesser"].to_numpy(bool)
    names_charge = lesser | (lines["rule"] == "percent_of_charges").to_numpy()
    names_base = (lines["rule"] == "percent_of_medicare").to_numpy()

    def codes(column: str) -> np.ndarray:
        values = lines[column]
        if isinstance(values.dtype, pd.CategoricalDtype):
            return values.cat.codes.to_numpy() + 1
        if column == "billed":
            values = np.where(names_charge, values, -1)
        elif column in ("base_unit", "share_num", "share_den"):
            values = np.where(names_base, values, -1)
        return pd.factorize(np.asarray(values))[0]

    key = _combine(*(codes(c) for c in REASON_KEY))
    unique, first = np.unique(key, return_index=True)
    sample = lines.iloc[first]
    sample = sample.astype({c: object for c in sample.columns if isinstance(sample[c].dtype, pd.CategoricalDtype)})
    text = contract_reasons(sample, contract, label).to_numpy(dtype=object)
    if contract.method == Method.MEDICARE:
        setting = np.where(sample["setting"] == "facility", "facility", "non-facility")
        rates = np.where(sample["participating"], "par ", "non-par (95%) ")
        pfs = (
            sample["category"].isin([Category.PROCEDURE, Category.GUIDANCE, Category.EM]).to_numpy()
            & (sample["share_num"] > 0).to_numpy()
        )
        text = np.array(
            [
                f"Priced at the {r}{s} PFS amount. {x}".strip() if p else x
                for r, s, x, p in zip(rates, setting, text, pfs, strict=True)
            ],
            dtype=object,
        )
    return np.searchsorted(unique, key), text


def _pinned_base(lines: pd.DataFrame, contract: Contract, schedules: FeeSchedules, notes: list[str]) -> np.ndarray:
    """Medicare par per unit of the same line in the contract's pinned year and locality (0 where that
    year or locality has no amount for it, with a note), priced once per distinct line. Another year is
    priced at its standard CF."""
    base = np.zeros(len(lines), np.int64)
    live = (lines["biller"] == Biller.PHYSICIAN).to_numpy()
    if not live.any():
        return base
    columns = ["day", "code", "pfs_modifier", "setting", "facility", "biller", "cf_track", "floor", "carrier", "locality"]
    key = _combine(*(pd.factorize(lines[c])[0] for c in columns))
    unique, first = np.unique(key[live], return_index=True)
    shifted = lines.iloc[np.flatnonzero(live)[first]][columns].astype(object).reset_index(drop=True)
    if contract.medicare_year:
        moved = [in_year(day, contract.medicare_year) for day in shifted["day"]]
        shifted["cf_track"] = np.where(
            [m.year != d.year for m, d in zip(moved, shifted["day"], strict=True)], "standard", shifted["cf_track"]
        )
        shifted["day"] = moved
    if contract.locality:
        shifted["carrier"], shifted["locality"] = contract.locality.split("-")
    groups, days, why = date_groups(schedules, shifted["day"].to_numpy())
    shifted["day_group"], shifted["error"] = np.maximum(groups, 0), why
    fees, _ = medicare_fees(shifted, schedules, days)
    missing = fees["error"].ne("").to_numpy()
    if missing.any():
        where = f"{contract.medicare_year or 'the year of service'}" + (f" in {contract.locality}" if contract.locality else "")
        notes.append(
            f"Medicare {where} has no amount for {', '.join(sorted(set(shifted.loc[missing, 'code'])))}: "
            f"{contract.payer}'s percentage applies to 0."
        )
    per_line = np.where(missing, 0, fees["unit_fee"].to_numpy(np.int64))
    base[live] = per_line[np.searchsorted(unique, key[live])]
    return base
