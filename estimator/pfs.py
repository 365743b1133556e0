"""Medicare Physician Fee Schedule pricing, vectorised over codes x localities.

The rule (RVU25D.pdf, "Physician fee schedule payment amount"; 42 CFR 414.20):

    amount = [(work RVU x work GPCI) + (PE RVU x PE GPCI) + (MP RVU x MP GPCI)] x CF

with the non-facility PE RVU in an office and the facility PE RVU in a facility. Every
product is exact (RVUs in 1/100, GPCIs in 1/1000, the CF in 1/10000, so amounts in 10**-9
dollars) and each published amount is rounded half up to the cent once.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Any

import numpy as np
import pandas as pd

from .errors import InputError
from .money import cents_to_decimal, decimal_array, round_cents, round_half_up_to_cents, scale_by
from .parameters import Parameter, parameter, rate
from .store import FeeSchedules, Vintage

AMOUNT_DENOMINATOR = 10**9  # RVU (10**-2) x GPCI (10**-3) x CF (10**-4)
NATIONAL = ("", "")
SETTINGS = ("nonfacility", "facility")


@dataclass(frozen=True)
class Basis:
    """What a priced schedule rests on: the vintages, the CF and the work-GPCI floor used."""

    date_of_service: dt.date
    rvu: Vintage
    gpci: Vintage | None  # None for national amounts on a date no GPCI file covers
    opps_cap: Vintage | None
    cf_track: str
    conversion_factor: Fraction
    work_gpci_floor: bool
    floor_rule: Parameter | None  # None when the user chose the floor explicitly

    @property
    def gpci_name(self) -> str:
        return self.gpci.name if self.gpci else "national"

    def notes(self) -> list[str]:
        """Caveats a user must see next to the amounts."""
        notes = []
        if self.floor_rule is not None and not self.floor_rule.confirmed:
            notes.append(f"Work GPCI floor: {self.floor_rule.note}")
        if self.cf_track not in ("standard", "qualifying_apm"):
            notes.append(f"Conversion factor {self.cf_track} given for this estimate, in place of the RVU file's.")
        if self.opps_cap is None:
            notes.append(f"No OPPS imaging cap file is held for {self.date_of_service}; no cap applied.")
        return notes


def conversion_factor(schedules: FeeSchedules, day: dt.date, track: str) -> tuple[Vintage, Fraction]:
    """The PFS CF: the RVU file's CONV FACTOR, the qualifying-APM CF parameter (CY2026 on), or a
    what-if figure given as text with at most 4 decimals (e.g. "32.0000")."""
    rvu = schedules.in_force("pfs_rvu", day)
    if re.fullmatch(r"\d{1,3}(?:\.\d{1,4})?", track):
        return rvu, Fraction(track)
    if track == "standard":
        return rvu, Fraction(rvu.source["conversion_factor"])
    if track == "qualifying_apm":
        return rvu, rate("pfs/conversion_factor_qualifying_apm", day)
    raise InputError(
        f"unknown conversion-factor track {track!r} (standard, qualifying_apm, or a figure such as 33.0000)", field="cf_track"
    )


def work_gpci_column(gpci: pd.DataFrame, floor: bool, vintage: Vintage) -> pd.Series:
    """The work GPCI with or without the 1.0 floor, as the GPCI file gives it (never computed here)."""
    if floor:
        return gpci["work_gpci"]
    column = gpci["work_gpci_no_floor"]
    if column.isna().any():
        raise InputError(f"{vintage.source['source_file']} gives work GPCIs only with the 1.0 floor", field="work GPCI floor")
    return column


def locality_table(schedules: FeeSchedules, day: dt.date) -> tuple[pd.DataFrame, Vintage]:
    gpci = schedules.in_force("gpci", day)
    return schedules.table(gpci), gpci


def resolve_locality(
    schedules: FeeSchedules, day: dt.date, *, zip_code: str | None = None, locality: str | None = None
) -> tuple[str, str]:
    """A carrier-locality ('10112-00') or a ZIP code -> (carrier, locality), by the engine's rule
    (:func:`estimator.engine.resolve_localities`): a ZIP split between localities is reported, never
    guessed; no place at all is national."""
    from .engine import resolve_localities

    if not (zip_code or locality):
        return NATIONAL
    places = pd.DataFrame({"day_group": [0], "zip_code": [(zip_code or "").strip()], "locality": [(locality or "").strip()]})
    found = resolve_localities(places, schedules, [day]).iloc[0]
    if found["error"]:
        given = locality if found["error_field"] == "locality" else zip_code
        raise InputError(f"{found['error']}: {str(given)[:20]!r}", field=found["error_field"])
    return found["carrier"], found["locality"]


def check_location(schedules: FeeSchedules, zip_code: str | None, locality: str | None) -> None:
    """A practice's ZIP code or carrier-locality must be one the latest CMS files know."""
    held = schedules.of_kind("gpci")
    if held and (zip_code or locality):
        resolve_locality(schedules, held[-1].effective_from, zip_code=zip_code, locality=locality)


def select_codes(rvu: pd.DataFrame, codes: list[str] | None) -> pd.DataFrame:
    """Rows of the RVU table for ``codes`` ('76942' gives the global, -26 and -TC rows; '76942-26' one)."""
    if not codes:
        return rvu
    wanted = [c.strip().upper().partition("-")[::2] for c in codes]
    asked = set(wanted)
    candidates = rvu[rvu["hcpcs"].isin({code for code, _ in asked})]
    keep = [
        (code, "") in asked or (code, modifier) in asked
        for code, modifier in zip(candidates["hcpcs"], candidates["modifier"], strict=True)
    ]
    chosen = candidates[np.array(keep, dtype=bool)]
    found = set(zip(chosen["hcpcs"], chosen["modifier"], strict=True)) | {(c, "") for c in chosen["hcpcs"]}
    unknown = [text for text, pair in zip(codes, wanted, strict=True) if pair not in found]
    if unknown:
        raise InputError(f"not in the PFS relative value file: {', '.join(unknown)}", field="codes")
    return chosen


def price(
    schedules: FeeSchedules,
    day: dt.date,
    *,
    codes: list[str] | None = None,
    localities: list[tuple[str, str]] | str = "national",
    cf_track: str = "standard",
    work_gpci_floor: bool | None = None,
) -> tuple[pd.DataFrame, Basis]:
    """Price codes x localities for a date of service, both settings, par / non-par / limiting.

    ``localities`` is "national" (all GPCIs 1.000), "all" (every locality in the GPCI file)
    or a list of (carrier, locality). Amount columns are int64 cents, <NA> where the status
    code is not paid from RVUs (``status_reason`` says why).
    """
    rvu_vintage, cf = conversion_factor(schedules, day, cf_track)
    floor_rule = None
    if work_gpci_floor is None:
        floor_rule = parameter("pfs/work_gpci_floor", day)
        work_gpci_floor = bool(floor_rule.value)
    if localities == "national" and not any(v.covers(day) for v in schedules.of_kind("gpci")):
        gpci_table, gpci_vintage = None, None  # national amounts need no GPCI file
    else:
        gpci_table, gpci_vintage = locality_table(schedules, day)
    places = _places(gpci_table, localities, work_gpci_floor, gpci_vintage)
    rvu = select_codes(schedules.table(rvu_vintage), codes)
    try:
        cap_vintage = schedules.in_force("opps_cap", day)
    except InputError:
        cap_vintage = None
    basis = Basis(day, rvu_vintage, gpci_vintage, cap_vintage, cf_track, cf, work_gpci_floor, floor_rule)
    return _amounts(rvu, places, basis, schedules), basis


def _places(gpci: pd.DataFrame | None, localities, floor: bool, vintage: Vintage | None) -> pd.DataFrame:
    """The GPCI rows priced: "national" (all GPCIs 1.000), "all", or a list of (carrier, locality) in
    which NATIONAL stands for the national row."""
    columns = ["carrier", "locality", "state", "locality_name", "work_gpci", "pe_gpci", "mp_gpci"]
    national = pd.DataFrame([["", "", "", "NATIONAL (GPCI 1.000)", 1000, 1000, 1000]], columns=columns)
    if localities == "national" or gpci is None or vintage is None:
        return national
    chosen = gpci.assign(work_gpci=work_gpci_column(gpci, floor, vintage))
    if localities == "all":
        return chosen[columns].reset_index(drop=True)
    wanted = [tuple(w) for w in localities]
    keys = pd.MultiIndex.from_tuples([w for w in wanted if w != NATIONAL] or [("", "")])
    chosen = chosen[pd.MultiIndex.from_frame(chosen[["carrier", "locality"]]).isin(keys)][columns]
    return pd.concat([chosen, national] if NATIONAL in wanted else [chosen], ignore_index=True)


def _status_reasons(statuses: pd.Series, day: dt.date) -> tuple[np.ndarray, pd.Series]:
    """Whether each status code is paid from RVUs, and the reason shown when it is not."""
    table = parameter("pfs/status_codes", day).value
    priced = statuses.map(lambda s: table.get(s, {}).get("priced", False)).astype(bool).to_numpy()
    reason = statuses.map(lambda s: table.get(s, {}).get("meaning", f"Unknown status code {s}."))
    return priced, reason.where(~priced, "")


def _spread(values: pd.Series, at: np.ndarray) -> pd.Categorical | np.ndarray:
    """values[at]: as a categorical when text repeats over many code x locality rows."""
    if len(at) <= 2 * len(values):
        return values.to_numpy()[at]
    categories = pd.Categorical(values)
    return pd.Categorical.from_codes(categories.codes[at], categories.categories)


def _cents(exact: np.ndarray, share: Fraction, payable: np.ndarray) -> pd.arrays.IntegerArray:
    cents = round_half_up_to_cents(*scale_by(exact, AMOUNT_DENOMINATOR, share))
    return pd.arrays.IntegerArray(cents, ~payable)


def _amounts(rvu: pd.DataFrame, places: pd.DataFrame, basis: Basis, schedules: FeeSchedules) -> pd.DataFrame:
    n_codes, n_places = len(rvu), len(places)
    code_at = np.repeat(np.arange(n_codes), n_places)
    place_at = np.tile(np.arange(n_places), n_codes)
    r = {c: rvu[c].to_numpy(dtype=np.int64)[code_at] for c in ("work_rvu", "pe_rvu_nonfacility", "pe_rvu_facility", "mp_rvu")}
    g = {c: places[c].to_numpy(dtype=np.int64)[place_at] for c in ("work_gpci", "pe_gpci", "mp_gpci")}
    cf_units = basis.conversion_factor * 10**4
    assert cf_units.denominator == 1, "CF has at most 4 decimals"
    nonpar = rate("pfs/nonparticipating_rate", basis.date_of_service)
    limiting = nonpar * rate("pfs/limiting_charge_rate", basis.date_of_service)
    priced, reason = _status_reasons(rvu["status"], basis.date_of_service)
    payable = priced[code_at]

    out = {c: _spread(places[c], place_at) for c in ("carrier", "locality", "locality_name")}
    for column in (
        "hcpcs",
        "modifier",
        "status",
        "pctc",
        "global_days",
        "mult_proc",
        "bilat",
        "asst",
        "co_surg",
        "team_surg",
        "nonfacility_na",
        "facility_na",
        "imaging_family",
    ):
        out[column] = _spread(rvu[column], code_at)
    out["status_reason"] = _spread(reason, code_at)
    for setting in SETTINGS:
        exact = (r["work_rvu"] * g["work_gpci"] + r[f"pe_rvu_{setting}"] * g["pe_gpci"] + r["mp_rvu"] * g["mp_gpci"]) * int(
            cf_units
        )
        out[f"{setting}_amount"] = _cents(exact, Fraction(1), payable)
        out[f"{setting}_nonpar_amount"] = _cents(exact, nonpar, payable)
        out[f"{setting}_limiting_charge"] = _cents(exact, limiting, payable)
    out |= _opps_cap(out, rvu, places, basis, schedules, nonpar, limiting)
    return pd.DataFrame(out | r | g, copy=False)


def _opps_cap(
    out: dict,
    rvu: pd.DataFrame,
    places: pd.DataFrame,
    basis: Basis,
    schedules: FeeSchedules,
    nonpar: Fraction,
    limiting: Fraction,
) -> dict:
    """Payment = min(PFS amount, OPPS cap) where the OPPSCAP file lists the code and locality.

    DRA 2005 section 5102(b), RVU25D.pdf: the OPPSCAP file holds the capped amounts for the
    code/locality pairs where the cap binds. The PFS amount stays as published; the cap and
    the resulting payment are extra columns; where the cap binds, the non-participating amount
    and the limiting charge are taken from the capped amount.
    """
    rows = len(out["hcpcs"])
    caps = {s: np.zeros(rows, np.int64) for s in SETTINGS}
    capped = np.zeros(rows, bool)
    if basis.opps_cap is not None:
        cap = schedules.table(basis.opps_cap)
        code_index = rvu[["hcpcs", "modifier"]].reset_index(drop=True).reset_index(names="code_at")
        place_index = places[["carrier", "locality"]].reset_index(names="place_at")
        hits = cap.merge(code_index, on=["hcpcs", "modifier"]).merge(place_index, on=["carrier", "locality"])
        at = hits["code_at"].to_numpy() * len(places) + hits["place_at"].to_numpy()
        capped[at] = True
        for setting in SETTINGS:
            caps[setting][at] = hits[f"{setting}_cap"].to_numpy(dtype=np.int64)
    columns = {}
    for setting in SETTINGS:
        amount = out[f"{setting}_amount"]
        columns[f"{setting}_opps_cap"] = pd.arrays.IntegerArray(caps[setting], ~capped)
        pfs = amount.to_numpy(dtype=np.int64, na_value=0)
        lower = capped & (caps[setting] < pfs)
        columns[f"{setting}_payment"] = pd.arrays.IntegerArray(np.where(lower, caps[setting], pfs), amount.isna())
        if lower.any():  # from the capped amount where it binds (a few thousand rows at most)
            for name, share in (("nonpar_amount", nonpar), ("limiting_charge", limiting)):
                column = out[f"{setting}_{name}"].copy()
                column[lower] = round_half_up_to_cents(*scale_by(caps[setting][lower], 100, share))
                columns[f"{setting}_{name}"] = column
    return columns


MONEY_COLUMNS = [f"{s}_{n}" for n in ("amount", "nonpar_amount", "limiting_charge", "opps_cap", "payment") for s in SETTINGS]


TEXT_COLUMNS = ["carrier", "locality", "locality_name", "hcpcs", "modifier", "status", "status_reason"]
INDICATOR_COLUMNS = ["pctc", "global_days", "mult_proc", "bilat", "asst", "co_surg", "team_surg"]
RVU_COLUMNS = ["work_rvu", "pe_rvu_nonfacility", "pe_rvu_facility", "mp_rvu"]
GPCI_COLUMNS = ["work_gpci", "pe_gpci", "mp_gpci"]


def schedule_table(frame: pd.DataFrame, basis: Basis) -> Any:
    """The priced schedule as published, as a typed Arrow table: amounts decimal(18, 2) (exact cents,
    blank where CMS pays none), RVUs decimal(18, 2), GPCIs decimal(18, 3), the conversion factor
    decimal(18, 4); codes, names and indicators as text; the releases used on every row (README,
    "Fee schedule files")."""
    import pyarrow as pa

    n = len(frame)

    def constant(value: str) -> pa.DictionaryArray:
        return pa.DictionaryArray.from_arrays(pa.array(np.zeros(n, np.int32)), pa.array([value]))

    def text(values: pd.Series) -> pa.Array:
        if isinstance(values.dtype, pd.CategoricalDtype):  # the codes and categories as they are: no copy per row
            return pa.DictionaryArray.from_arrays(values.cat.codes.to_numpy(), values.cat.categories.astype(str).tolist())
        return pa.array(values, pa.string())

    columns = {c: text(frame[c]) for c in TEXT_COLUMNS}
    columns |= {c: decimal_array(frame[c], 2) for c in MONEY_COLUMNS + RVU_COLUMNS}
    columns |= {c: decimal_array(frame[c], 3) for c in GPCI_COLUMNS}
    cf = basis.conversion_factor * 10**4
    columns["conversion_factor"] = decimal_array(np.full(n, int(cf), np.int64), 4)
    columns |= {c: text(frame[c]) for c in INDICATOR_COLUMNS}
    columns["rvu_release"] = constant(basis.rvu.name)
    columns["gpci_release"] = constant(basis.gpci_name)
    columns["work_gpci_floor"] = constant("on" if basis.work_gpci_floor else "off")
    columns["opps_cap_release"] = constant(basis.opps_cap.name if basis.opps_cap else "")
    return pa.table(columns)


def published(frame: pd.DataFrame, basis: Basis) -> pd.DataFrame:
    """:func:`schedule_table` as text ("47.25", "" where there is no amount), for display."""
    import pyarrow as pa
    import pyarrow.compute as pc

    table = schedule_table(frame, basis)
    text = [pc.fill_null(pc.cast(column, pa.string()), "") for column in table.columns]
    return pa.table(text, names=table.column_names).to_pandas()


def change_causes(
    schedules: FeeSchedules, code: str, where: tuple[str, str], setting: str, before: dt.date, after: dt.date, **options
) -> dict[str, Decimal]:
    """The change of one amount between two dates split into its causes, applied in turn:
    the conversion factor (old RVUs and GPCIs), then the RVUs (new CF), then the GPCIs.

    Each effect is exact and shown to the cent; ``rounding`` makes them add up to the
    difference of the two published (rounded) amounts.
    """
    rows = []
    for day in (before, after):
        frame, basis = price(schedules, day, codes=[code], localities=[where] if where != NATIONAL else "national", **options)
        if frame.empty or pd.isna(frame[f"{setting}_amount"].iloc[0]):
            raise InputError(f"{code} has no PFS amount on {day}", field="code")
        rows.append((frame.iloc[0], basis.conversion_factor))

    def exact(rvu_row, gpci_row, cf) -> Fraction:
        units = (
            rvu_row["work_rvu"] * gpci_row["work_gpci"]
            + rvu_row[f"pe_rvu_{setting}"] * gpci_row["pe_gpci"]
            + rvu_row["mp_rvu"] * gpci_row["mp_gpci"]
        )
        return Fraction(int(units), 10**5) * cf

    (old, old_cf), (new, new_cf) = rows
    steps = [exact(old, old, old_cf), exact(old, old, new_cf), exact(new, old, new_cf), exact(new, new, new_cf)]
    result = {"before": cents_to_decimal(old[f"{setting}_amount"]), "after": cents_to_decimal(new[f"{setting}_amount"])}
    for name, (a, b) in zip(("conversion_factor", "rvus", "gpcis"), itertools.pairwise(steps), strict=True):
        result[name] = round_cents(b - a) if b >= a else -round_cents(a - b)
    result["rounding"] = result["after"] - result["before"] - result["conversion_factor"] - result["rvus"] - result["gpcis"]
    return result
