"""Batch pricing of claim lines: expected allowed, patient share and payment under each payer's
contract, and underpayments against what was paid. Vectorised over the whole table.

Each line: Medicare amount = the PFS amount of the code (and -26/-TC row) for the line's
locality, setting and date of service (or units x the ASP payment limit for a drug), times
the units; the payer's contract then prices it (contracts.contract_allowed); the patient's
share is the coinsurance (Medicare 20% or the drug's ASP percentage; a contract's own
coinsurance), plus a contract's copay allocated to the first lines of each claim when a
claim id is given. Deductibles are assumed met (a claim file does not say what remains).
Sequestration (2%) comes off Medicare's payment, and off a contract's when it applies.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
import pandas as pd

from .contracts import Contract, Practice, contract_allowed
from .errors import InputError
from .money import bad_decimal_rows, round_half_up_to_cents, scale_by, to_units, units_text
from .parameters import in_force_key, parameter, rate
from .pfs import price
from .session import EM_CODES, GUIDANCE, PLACES_OF_SERVICE
from .store import FeeSchedules

COLUMNS = {  # output name: accepted input spellings (compared lower-case, blanks and dashes as _)
    "date_of_service": ("date_of_service", "dos", "service_date", "date", "from_date", "date_of_svc"),
    "hcpcs": ("hcpcs", "cpt", "code", "procedure_code", "cpt_code", "hcpcs_code", "proc_code", "cpt_hcpcs"),
    "modifiers": ("modifiers", "modifier", "mod", "mods"),
    "units": ("units", "unit", "qty", "quantity", "service_units"),
    "place_of_service": ("place_of_service", "pos"),
    "zip_code": ("zip", "zip_code", "zipcode", "service_zip", "postal_code"),
    "locality": ("locality", "carrier_locality", "medicare_locality"),
    "payer": ("payer", "payer_name", "insurance", "plan", "payer_id", "insurer"),
    "billed": ("billed", "billed_charge", "charge", "charges", "billed_amount", "total_charge"),
    "paid": ("paid", "paid_amount", "payment", "amount_paid", "payer_paid"),
    "claim_id": ("claim_id", "claim", "claim_number", "icn", "claim_no"),
}
REQUIRED = ("date_of_service", "hcpcs", "place_of_service", "payer")
# PFS setting by place of service: a session's places, plus inpatient (21), facility rates for the physician
SETTINGS = {pos: setting for pos, (_, setting) in PLACES_OF_SERVICE.items()} | {"21": "facility"}
ADDED = ["expected_allowed", "patient_share", "expected_payment", "variance", "underpaid", "release", "note"]


def _folded(name: str) -> str:
    return re.sub(r"[\s\-/]+", "_", str(name).strip().lower())


def column_map(columns: list[str], mapping: dict[str, str] | None = None) -> dict[str, str]:
    """Input column -> standard name, from common spellings and an explicit ``mapping`` (standard: input)."""
    twice = sorted({c for c in columns if list(columns).count(c) > 1})
    if twice:
        raise InputError(f"column {twice[0]!r} appears twice", field="columns")
    found = {}
    for standard, spellings in COLUMNS.items():
        given = (mapping or {}).get(standard)
        if given is not None:
            if given not in columns:
                raise InputError(f"mapped column {given!r} is not in the file", field=standard)
            found[given] = standard
            continue
        match = next((c for c in columns if _folded(c) in spellings), None)
        if match is not None:
            found[match] = standard
    missing = [c for c in REQUIRED if c not in found.values()]
    if "zip_code" not in found.values() and "locality" not in found.values():
        missing.append("zip_code or locality")
    if missing:
        raise InputError(f"no column for {', '.join(missing)} (give --map NAME=COLUMN)", field="columns")
    return found


@dataclass
class Book:
    """What pricing needs besides the lines: fee schedules, contracts by name, the practice."""

    schedules: FeeSchedules
    contracts: dict[str, Contract]
    practice: Practice


CONTEXT = ["date_of_service", "hcpcs", "modifiers", "units", "place_of_service", "zip_code", "locality", "payer"]


def _representative_dates(texts: pd.Index, book: Book) -> np.ndarray:
    """Each distinct date text -> the first date text priced exactly like it (same files, rules, pins)."""
    days = pd.to_datetime(pd.Series(texts, dtype=object), errors="coerce", format="mixed").dt.date
    pinned_years = sorted({c.medicare_year for c in book.contracts.values() if c.medicare_year})
    chosen, result = {}, np.array(texts, dtype=object)
    for i, day in enumerate(days):
        if pd.isna(day):
            continue
        pins = tuple(in_force_key(book.schedules, dt.date(year, day.month, min(day.day, 28))) for year in pinned_years)
        result[i] = chosen.setdefault(in_force_key(book.schedules, day) + pins, texts[i])
    return result


def _contexts(lines: pd.DataFrame, book: Book) -> tuple[np.ndarray, pd.DataFrame]:
    """Lines priced alike share a context: the same code, modifiers, units, place, location and payer,
    and dates under the same files and rules. Returns (context of each line, one line per context
    with its date replaced by the representative date of its group).

    A claim file holds far fewer contexts than lines: contexts are priced once each, and lines only
    do integer arithmetic.
    """
    combined = np.zeros(len(lines), np.int64)
    representative = {}
    for column in CONTEXT:
        values = (lines[column] if column in lines else pd.Series("", index=lines.index)).fillna("").astype(str)
        codes, uniques = pd.factorize(values, use_na_sentinel=False)
        if column == "date_of_service":
            chosen = _representative_dates(uniques, book)
            representative = dict(zip(uniques, chosen))
            same, uniques = pd.factorize(pd.Series(chosen, dtype=object), use_na_sentinel=False)
            codes = same[codes]
        combined, _ = pd.factorize(combined * max(len(uniques), 1) + codes)
    _, firsts = np.unique(combined, return_index=True)  # context ids follow first appearance
    first_lines = lines.iloc[firsts].reset_index(drop=True)
    first_lines["date_of_service"] = first_lines["date_of_service"].fillna("").astype(str).map(representative)
    return combined, first_lines


def price_frame(lines: pd.DataFrame, book: Book, tolerance: Fraction = Fraction(1, 100)) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Price standard-named lines (all text, plus ``_row``).

    Returns (priced rows with the added columns, error rows, amounts in cents by payer for the summary).
    """
    context_of, first_lines = _contexts(lines, book)
    contexts = _price_contexts(first_lines, book)

    def per_line(column: str) -> np.ndarray:
        return contexts[column].to_numpy()[context_of]

    reasons = per_line("reason").astype(object)

    def fail(mask, reason):
        mask = np.asarray(mask) & (reasons == "")
        reasons[mask] = reason

    text = {c: (lines[c] if c in lines else pd.Series("", index=lines.index)).fillna("").astype(str).reset_index(drop=True)
            for c in ("billed", "paid", "claim_id")}  # fmt: skip
    billed, billed_known = _money(text["billed"], fail, "billed charge")
    paid, paid_known = _money(text["paid"], fail, "paid amount")
    ok = reasons == ""
    allowed = per_line("allowed").astype(np.int64)
    payers = per_line("payer")
    for name in pd.unique(payers[ok]):
        contract = book.contracts[name]
        if contract.method == "medicare":
            continue
        rows = ok & (payers == name)
        at = context_of[rows]
        table = contexts[["code", "key", "units", "category", "base_cents", "unit_price_milli"]].iloc[at].reset_index(drop=True)
        table["billed_cents"] = pd.arrays.IntegerArray(billed[rows], ~billed_known[rows])
        allowed[rows], _ = contract_allowed(table, contract, with_reasons=False)
    claim = pd.factorize(text["claim_id"].str.strip())[0]
    copay = _copay(allowed, pd.factorize(payers)[0] * (claim.max(initial=0) + 1) + claim,
                   text["claim_id"].str.strip().eq("").to_numpy(), per_line("copay").astype(np.int64))  # fmt: skip
    share_id = contexts["share_id"].to_numpy()[context_of]
    coinsurance = _share_of(allowed - copay, share_id, contexts.attrs["shares"])
    payment = allowed - copay - coinsurance
    payment_after = payment - _share_of(payment, contexts["sequestration_id"].to_numpy()[context_of], contexts.attrs["shares"])
    variance = paid - payment_after
    underpaid = paid_known & (variance < -int(tolerance * 100))
    out = lines[ok].copy()
    out["expected_allowed"] = units_text(allowed[ok])
    out["patient_share"] = units_text((copay + coinsurance)[ok])
    out["expected_payment"] = units_text(payment_after[ok])
    out["variance"] = np.where(paid_known[ok], units_text(variance[ok]), "")
    out["underpaid"] = np.where(paid_known[ok], np.where(underpaid[ok], "yes", "no"), "")
    out["release"] = per_line("release")[ok]
    out["note"] = per_line("note")[ok]
    bad = lines[~ok][["_row"]].copy()
    bad["reason"] = reasons[~ok]
    amounts = pd.DataFrame({"payer": payers[ok], "lines": 1, "expected_allowed": allowed[ok], "expected_payment": payment_after[ok],
                            "variance": np.where(paid_known, variance, 0)[ok], "underpaid": underpaid[ok].astype(int)})  # fmt: skip
    return out, bad, amounts


def _price_contexts(lines: pd.DataFrame, book: Book) -> pd.DataFrame:
    """One row per pricing context: allowed before any lesser-of-billed, the patient's coinsurance
    share, copay, sequestration, release and note, or the reason it cannot be priced."""
    n = len(lines)
    errors = pd.Series("", index=lines.index, dtype=object)

    def fail(mask, reason):
        mask = pd.Series(mask, index=lines.index).fillna(False).astype(bool) & errors.eq("")
        errors[mask] = reason if isinstance(reason, str) else reason[mask]

    text = {c: (lines[c].fillna("").astype(str).str.strip() if c in lines else pd.Series("", index=lines.index))
            for c in CONTEXT}  # fmt: skip
    day = pd.to_datetime(text["date_of_service"], errors="coerce", format="mixed")
    fail(day.isna(), "date of service is not a date")
    code = text["hcpcs"].str.upper()
    fail(~code.str.fullmatch(r"[0-9A-Z]{5}"), "HCPCS code is not 5 letters or digits")
    units_given = text["units"].replace("", "1")
    fail(~units_given.str.fullmatch(r"\d{1,4}") | units_given.eq("0"), "units must be a whole number from 1 to 9999")
    units = pd.to_numeric(units_given.where(units_given.str.fullmatch(r"\d{1,4}"), "0")).astype("int64")
    pos = text["place_of_service"].str.zfill(2)
    fail(~pos.isin(list(SETTINGS)), "place of service is not 11, 19, 21, 22 or 24")
    pfs_modifier = text["modifiers"].str.upper().str.findall(r"[0-9A-Z]{2}").map(
        lambda ms: next((m for m in ms if m in ("26", "TC")), ""))  # fmt: skip
    known = {name.lower(): name for name in book.contracts}
    payer_name = text["payer"].str.lower().map(known)
    fail(payer_name.isna(), "payer is not a saved payer: " + text["payer"])
    dates = day.dt.date
    carrier, locality = _localities(book.schedules, dates, text["zip_code"], text["locality"], errors.eq(""), fail)
    setting = pos.map(SETTINGS)
    medicare = _medicare(book.schedules, dates, code, pfs_modifier, carrier, locality, setting, units, errors.eq(""), fail)
    out = pd.DataFrame({"allowed": medicare["par"].to_numpy(np.int64), "copay": np.zeros(n, np.int64),
                        "share": pd.Series([0] * n, dtype=object), "sequestration": pd.Series([0] * n, dtype=object),
                        "payer": payer_name.fillna("").to_numpy(), "code": code.to_numpy(),
                        "key": (code + ("-" + pfs_modifier).where(pfs_modifier != "", "")).to_numpy(),
                        "units": units.to_numpy(), "category": medicare["category"].to_numpy(),
                        "base_cents": medicare["par"].to_numpy(np.int64), "unit_price_milli": medicare["unit_price_milli"].to_numpy(),
                        "release": medicare["release"].to_numpy(), "note": medicare["note"].to_numpy()})  # fmt: skip
    ok = errors.eq("")
    for name in payer_name[ok].unique():
        rows = ((payer_name == name) & ok).to_numpy()
        contract = book.contracts[name]
        withheld = dates[rows].map(lambda day: int(rate("sequestration_rate", day) * 100_000)).to_numpy()
        if contract.method == "medicare":
            if not book.practice.participating:
                out.loc[rows, "allowed"] = medicare.loc[rows, "nonpar"].to_numpy(np.int64)
            out.loc[rows, "share"] = medicare.loc[rows, "coinsurance"].to_numpy()
            out.loc[rows, "sequestration"] = withheld
            continue
        if contract.method == "percent_of_medicare" and (contract.medicare_year or contract.locality):
            out.loc[rows, "base_cents"] = _pinned_base(book.schedules, contract, dates, code, pfs_modifier, carrier, locality, setting,
                                                       units, pd.Series(rows, index=lines.index))  # fmt: skip
        out.loc[rows, "copay"] = int(contract.copay * 100)
        out.loc[rows, "share"] = Fraction(contract.coinsurance_percent) * 1000
        out.loc[rows, "sequestration"] = withheld if contract.sequestration else 0
    out["reason"] = errors.to_numpy()
    shares = pd.Index(pd.unique(pd.concat([out["share"], out["sequestration"]]).to_numpy(dtype=object)))
    out["share_id"] = shares.get_indexer(out["share"].to_numpy(dtype=object))
    out["sequestration_id"] = shares.get_indexer(out["sequestration"].to_numpy(dtype=object))
    out.attrs["shares"] = list(shares)
    return out


def _money(text: pd.Series, fail, label: str) -> tuple[np.ndarray, np.ndarray]:
    """Dollar text ($ and commas allowed) -> cents; blank is 'not given'. Parsed once per distinct value."""
    codes, uniques = pd.factorize(text, use_na_sentinel=False)
    clean = pd.Series(uniques, dtype=object).astype(str).str.replace(r"[$,]", "", regex=True).str.strip()
    given = clean.ne("")
    bad = given & bad_decimal_rows(clean.mask(~given, "0"), 2)
    cents = to_units(clean.mask(~given | bad, "0"), 2)
    fail(bad.to_numpy()[codes], f"{label} is not an amount with at most 2 decimals")
    return cents[codes], (given & ~bad).to_numpy()[codes]


def _groups(schedules, dates: pd.Series, rows: pd.Series, kinds: tuple[str, ...]):
    """Rows grouped by what is in force on their dates (parameters.in_force_key): one pricing call
    per group, not per date. Yields (a representative date, the rows of the group, the InputError
    when a file of ``kinds`` is missing for those dates)."""
    days_by_key: dict[tuple, list] = {}
    for day in dates[rows].dropna().unique():
        days_by_key.setdefault(in_force_key(schedules, day), []).append(day)
    for days in days_by_key.values():
        missing = None
        for kind in kinds:
            try:
                schedules.in_force(kind, days[0])
            except InputError as error:
                missing = missing or error
        yield days[0], rows & dates.isin(days), missing


def _optional(schedules, kind, day):
    try:
        return schedules.in_force(kind, day)
    except InputError:
        return None


def _localities(schedules, dates, zips, localities, ok, fail):
    """Carrier and locality of each line, from its carrier-locality or its ZIP (ZIP5 file in force)."""
    carrier = pd.Series("", index=dates.index, dtype=object)
    number = pd.Series("", index=dates.index, dtype=object)
    given = localities.ne("")
    parts = localities[given].str.extract(r"^(\d{1,5})-(\d{1,2})$")
    fail(given & parts[0].reindex(dates.index).isna(), "locality is not CARRIER-LOCALITY (e.g. 10112-00)")
    carrier[given] = parts[0].fillna("").str.zfill(5)
    number[given] = parts[1].fillna("").str.zfill(2)
    by_zip = ~given & ok
    for day, rows, missing in _groups(schedules, dates, by_zip, ("zip5",)):
        if missing:
            fail(rows, missing.message)
            continue
        table = schedules.table(schedules.in_force("zip5", day)).set_index("zip")
        zips_here = zips[rows].str[:5].str.zfill(5)
        found = table.reindex(zips_here.to_numpy())
        fail(rows & ~zips_here.isin(table.index).reindex(dates.index, fill_value=False), "ZIP code is not in the CMS ZIP5 file")
        split = pd.Series(found["plus4_flag"].eq("1").to_numpy(), index=zips_here.index)
        fail(split.reindex(dates.index, fill_value=False), "ZIP code is split between localities (give the carrier-locality)")
        carrier[rows] = found["carrier"].fillna("").to_numpy()
        number[rows] = found["locality"].fillna("").to_numpy()
    return carrier, number


def _medicare(schedules, dates, code, pfs_modifier, carrier, locality, setting, units, ok, fail) -> pd.DataFrame:
    """Medicare par and non-par amounts per line (x units), the drug unit price, release and note."""
    n = len(dates)
    out = pd.DataFrame({"par": np.zeros(n, np.int64), "nonpar": np.zeros(n, np.int64), "unit_price_milli": pd.array([None] * n, dtype="Int64"),
                        "coinsurance": np.zeros(n, np.int64),  # in 1/100000: the ASP file's percent has 3 decimals
                        "category": ["procedure"] * n, "release": [""] * n, "note": [""] * n,
                        "code": code.to_numpy(), "units": units.to_numpy()}, index=dates.index)  # fmt: skip
    for day, rows, missing in _groups(schedules, dates, ok, ("pfs_rvu", "gpci")):
        if missing:
            fail(rows, missing.message)
            continue
        rvu = schedules.table(schedules.in_force("pfs_rvu", day))
        statuses = parameter("pfs/status_codes", day).value
        paid_from_rvus = set(rvu.loc[rvu["status"].isin([k for k, v in statuses.items() if v["priced"]]), "hcpcs"])
        drug_codes = set().union(*(set(schedules.table(v)["hcpcs"]) for v in schedules.of_kind("asp")))
        drug_rows = rows & ~code.isin(paid_from_rvus) & code.isin(drug_codes)  # drugs are status E in the PFS
        _drugs(schedules, dates, drug_rows, code, units, out, fail)
        pfs_rows = rows & ~drug_rows
        fail(pfs_rows & ~code.isin(set(rvu["hcpcs"])), "unknown code (neither in the PFS nor in the ASP file)")
        pfs_rows &= code.isin(set(rvu["hcpcs"]))
        if not pfs_rows.any():
            continue
        wanted = sorted(set(code[pfs_rows]))
        places = sorted(set(zip(carrier[pfs_rows], locality[pfs_rows])))
        try:
            frame, basis = price(schedules, day, codes=wanted, localities=places)
        except InputError as error:
            fail(pfs_rows, error.message)
            continue
        keys = ["hcpcs", "modifier", "carrier", "locality"]
        lookup = frame.assign(**{k: frame[k].astype(str) for k in keys}).set_index(keys)
        index = pd.MultiIndex.from_arrays([code[pfs_rows], pfs_modifier[pfs_rows], carrier[pfs_rows], locality[pfs_rows]])
        position = lookup.index.get_indexer(index)
        fail(pd.Series(position < 0, index=code[pfs_rows].index).reindex(dates.index, fill_value=False),
             "no PFS row for this code and modifier (or locality)")  # fmt: skip
        found = position >= 0
        at = position[found]
        target = code[pfs_rows].index[found]
        line_setting = setting[target].to_numpy()
        line_units = units[target].to_numpy()
        for column, name in (("par", "payment"), ("nonpar", "nonpar_amount")):
            amounts = np.where(line_setting == "facility", lookup[f"facility_{name}"].to_numpy(dtype=np.int64, na_value=0)[at],
                               lookup[f"nonfacility_{name}"].to_numpy(dtype=np.int64, na_value=0)[at])  # fmt: skip
            out.loc[target, column] = amounts * line_units
        reasons = lookup["status_reason"].astype(str).to_numpy()[at]
        out.loc[target, "note"] = reasons
        out.loc[target, "coinsurance"] = int(rate("part_b/coinsurance_rate", day) * 100_000)
        codes_here = code[target].to_numpy()
        out.loc[target, "category"] = np.where(np.isin(codes_here, list(GUIDANCE.values())), "guidance",
                                               np.where(np.isin(codes_here, list(EM_CODES)), "em", "procedure"))  # fmt: skip
        out.loc[target, "release"] = f"{basis.rvu.name}/{basis.gpci.name}"
    return out


def _drugs(schedules, dates, rows, code, units, out, fail) -> None:
    """Drug lines: units x the ASP payment limit of the quarter in force (or the latest held, noted)."""
    chosen: dict[object, list] = {}
    for day in dates[rows].dropna().unique():
        vintage, note = _optional(schedules, "asp", day), ""
        if vintage is None:
            vintage = schedules.latest_on_or_before("asp", day)
            note = f"no ASP file for the date; {vintage.name} (latest held) used" if vintage else ""
        chosen.setdefault((vintage.name if vintage else None, note), [vintage, []])[1].append(day)
    for (_, note), (vintage, days) in chosen.items():
        group = rows & dates.isin(days)
        if vintage is None:
            fail(group, "code not in the PFS file, and no ASP file for this date")
            continue
        _drug_group(schedules.table(vintage).set_index("hcpcs"), vintage.name, note, group, code, units, out, fail)


def _drug_group(asp, release, note, rows, code, units, out, fail) -> None:
    in_asp = code.isin(asp.index) & rows
    fail(rows & ~in_asp, "unknown code (neither in the PFS nor in the ASP file)")
    limit = asp["payment_limit"].reindex(code[in_asp].to_numpy())
    fail(pd.Series(limit.isna().to_numpy(), index=code[in_asp].index).reindex(rows.index, fill_value=False),
         "no ASP payment limit for this code (carrier priced)")  # fmt: skip
    target = code[in_asp].index[limit.notna().to_numpy()]
    milli = limit.dropna().to_numpy(dtype=np.int64)
    line_units = units[target].to_numpy()
    cents = round_half_up_to_cents(milli * line_units, 1000)
    out.loc[target, "par"] = cents
    out.loc[target, "nonpar"] = cents
    out.loc[target, "unit_price_milli"] = milli
    out.loc[target, "coinsurance"] = asp["coinsurance_percent"].reindex(code[target].to_numpy()).to_numpy(dtype=np.int64)
    out.loc[target, "category"] = "drug"
    out.loc[target, "release"] = release
    out.loc[target, "note"] = note


def _pinned_base(schedules, contract, dates, code, pfs_modifier, carrier, locality, setting, units, rows) -> np.ndarray:
    """Medicare par amounts of the pinned year (same day) and locality; 0 where that year has none."""
    pinned_dates = dates[rows].map(lambda d: dt.date(contract.medicare_year or d.year, d.month, min(d.day, 28)))
    pinned_carrier, pinned_locality = carrier[rows], locality[rows]
    if contract.locality:
        number = contract.locality.split("-")
        pinned_carrier = pd.Series(number[0].zfill(5), index=pinned_dates.index)
        pinned_locality = pd.Series(number[1].zfill(2), index=pinned_dates.index)
    missing = pd.Series(False, index=pinned_dates.index)

    def note_missing(mask, reason):
        missing[pd.Series(mask, index=pinned_dates.index).fillna(False).astype(bool)] = True

    base = _medicare(schedules, pinned_dates, code[rows], pfs_modifier[rows], pinned_carrier, pinned_locality, setting[rows],
                     units[rows], pd.Series(True, index=pinned_dates.index), note_missing)  # fmt: skip
    return np.where(missing.to_numpy(), 0, base["par"].to_numpy(np.int64))


def _copay(allowed: np.ndarray, claims: np.ndarray, no_claim: np.ndarray, copay: np.ndarray) -> np.ndarray:
    """A per-visit copay taken from the first lines of each payer's claim (lines without a claim id: none)."""
    if not copay.any():
        return np.zeros(len(allowed), np.int64)
    before = pd.Series(allowed).groupby(claims).cumsum().to_numpy() - allowed
    taken = np.minimum(allowed, np.clip(copay - before, 0, None))
    return np.where(no_claim, 0, taken).astype(np.int64)


def _share_of(cents: np.ndarray, share_id: np.ndarray, shares: list) -> np.ndarray:
    """cents x share (in 1/100000: 20000 is 20%) -> cents, rounded half up per line."""
    out = np.zeros(len(cents), np.int64)
    for index, value in enumerate(shares):
        rows = share_id == index
        if rows.any():
            out[rows] = round_half_up_to_cents(*scale_by(cents[rows], 100, Fraction(value) / 100_000))
    return out


# -- files: read in chunks, write as we go, all or nothing --------------------------------------


def read_chunks(path, rows_per_chunk: int = 1_000_000):
    """(chunk with a ``_row`` column holding the file's row numbers, bytes read so far) from CSV, Parquet or XLSX."""
    import csv

    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    from .uploads import table_rows

    path = Path(path)
    if not path.is_file():
        raise InputError("no such file", file=path)
    suffix, start = path.suffix.lower(), 2  # row 1 is the header
    if suffix in (".xlsx", ".xlsm"):
        rows = table_rows(path)
        if not rows:
            raise InputError("the workbook is empty", file=path.name)
        frame = pd.DataFrame(rows[1:], columns=[str(c) for c in rows[0]], dtype=object).fillna("").astype(str)
        yield frame.assign(_row=np.arange(start, start + len(frame))), path.stat().st_size
        return
    if suffix == ".parquet":
        source = pq.ParquetFile(path)
        total, rows_total = path.stat().st_size, max(source.metadata.num_rows, 1)
        for batch in source.iter_batches(rows_per_chunk):
            batch = batch.cast(pa.schema([(n, pa.string()) for n in batch.schema.names]))
            frame = batch.to_pandas().fillna("")
            yield frame.assign(_row=np.arange(start, start + len(frame))), total * (start - 2 + len(frame)) // rows_total
            start += len(frame)
        return
    with open(path, encoding="utf-8-sig", errors="replace") as handle:
        header = next(csv.reader([handle.readline()]), [])
    if not header:
        raise InputError("the file is empty", file=path.name)
    try:
        reader = pacsv.open_csv(path, read_options=pacsv.ReadOptions(block_size=32 << 20),
                                convert_options=pacsv.ConvertOptions(column_types={c: pa.string() for c in header},
                                                                     strings_can_be_null=False))  # fmt: skip
        pending, size = [], path.stat().st_size
        with open(path, "rb") as handle:  # bytes per line, from the first megabyte, for the progress figure
            sample = handle.read(1 << 20)
        line_bytes = len(sample) / max(sample.count(b"\n"), 1)
        for batch in reader:
            pending.append(batch)
            if sum(len(b) for b in pending) >= rows_per_chunk:
                frame = pa.Table.from_batches(pending).to_pandas()
                yield frame.assign(_row=np.arange(start, start + len(frame))), min(size, int((start + len(frame)) * line_bytes))
                start, pending = start + len(frame), []
        if pending:
            frame = pa.Table.from_batches(pending).to_pandas()
            yield frame.assign(_row=np.arange(start, start + len(frame))), size
    except pa.ArrowInvalid as error:
        raise InputError(f"not a readable CSV file ({error})", file=path.name) from None


class Output:
    """Writes chunks to a temporary file, renamed into place only when every chunk is written."""

    def __init__(self, path):

        self.path = Path(path)
        self.suffix = self.path.suffix.lower()
        if self.suffix not in (".csv", ".parquet", ".xlsx"):
            raise InputError("the output must end in .csv, .parquet or .xlsx", field="--output")
        self.temporary = self.path.with_name(f".{self.path.name}.partial")
        self.writer, self.frames = None, []

    def write(self, frame: pd.DataFrame) -> None:
        import pyarrow as pa
        import pyarrow.csv as pacsv
        import pyarrow.parquet as pq

        if self.suffix == ".xlsx":
            self.frames.append(frame)
            return
        table = pa.Table.from_pandas(frame.astype(str), preserve_index=False)
        if self.writer is None:
            self.writer = (pacsv.CSVWriter(self.temporary, table.schema) if self.suffix == ".csv"
                           else pq.ParquetWriter(self.temporary, table.schema))  # fmt: skip
        self.writer.write_table(table)

    def close(self) -> None:
        from .excel import table_workbook

        if self.suffix == ".xlsx":
            frame = pd.concat(self.frames, ignore_index=True) if self.frames else pd.DataFrame()
            self.temporary.write_bytes(table_workbook(frame, "Priced claims"))
        elif self.writer is not None:
            self.writer.close()
        else:
            pd.DataFrame().to_csv(self.temporary, index=False)
        self.temporary.replace(self.path)

    def abandon(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.temporary.unlink(missing_ok=True)


@dataclass
class Summary:
    """Totals per payer and the largest underpayments, gathered chunk by chunk."""

    totals: pd.DataFrame | None = None
    worst: pd.DataFrame | None = None
    priced: int = 0
    failed: int = 0

    def add(self, priced: pd.DataFrame, errors: pd.DataFrame, amounts: pd.DataFrame) -> None:
        self.priced, self.failed = self.priced + len(priced), self.failed + len(errors)
        if priced.empty:
            return
        grouped = amounts.groupby("payer").sum()
        self.totals = grouped if self.totals is None else self.totals.add(grouped, fill_value=0)
        underpaid = amounts["underpaid"].to_numpy() == 1
        under = priced[underpaid].assign(_variance=amounts["variance"].to_numpy()[underpaid])
        pool = under if self.worst is None else pd.concat([self.worst, under])
        self.worst = pool.nsmallest(10, "_variance")

    def render(self) -> str:
        if self.totals is None:
            return f"{self.priced} lines priced, {self.failed} failed"
        shown = self.totals.copy()
        for column in ("expected_allowed", "expected_payment", "variance"):
            shown[column] = units_text(shown[column].to_numpy(np.int64))
        text = shown.reset_index().to_string(index=False)
        if self.worst is not None and not self.worst.empty:
            worst = self.worst.drop(columns=["_variance", "_row", "row"], errors="ignore")
            text += "\n\nlargest underpayments:\n" + worst.to_string(index=False)
        return f"{text}\n\n{self.priced} lines priced, {self.failed} failed"


def price_file(source, output, book: Book, *, mapping=None, tolerance=Fraction(1, 100), errors_path=None,
               rows_per_chunk: int = 1_000_000, progress=None) -> Summary:  # fmt: skip
    """Price a claims file chunk by chunk; writes OUTPUT and the errors file, or nothing on failure."""
    out, errors_out = Output(output), Output(errors_path or _errors_name(output))
    summary = Summary()
    try:
        for chunk, done in read_chunks(source, rows_per_chunk):
            try:
                priced, failed, amounts = _price_chunk(chunk, mapping, book, tolerance)
            except InputError as error:
                raise InputError(error.message, file=Path(source).name, field=error.field) from None
            out.write(priced.rename(columns={"_row": "row"}))
            errors_out.write(failed.rename(columns={"_row": "row"}))
            summary.add(priced.drop(columns="_row"), failed, amounts)
            if progress:
                progress(done)
    except BaseException:
        out.abandon()
        errors_out.abandon()
        raise
    out.close()
    errors_out.close()
    return summary


def _price_chunk(chunk: pd.DataFrame, mapping, book: Book, tolerance) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Price a chunk in its own column names; returns (input rows + the added columns, errors, amounts)."""
    names = column_map([c for c in chunk.columns if c != "_row"], mapping)
    standard = chunk.rename(columns=names)[list(names.values()) + ["_row"]]
    priced, failed, amounts = price_frame(standard, book, tolerance)
    return chunk.loc[priced.index].join(priced[ADDED]), failed, amounts


def _errors_name(output):

    output = Path(output)
    return output.with_name(f"{output.stem}.errors.csv")


# -- past one machine: the same pricing function over Dask partitions ---------------------------


def price_file_dask(source, output, book: Book, *, scheduler: str | None = None, mapping=None,
                    tolerance=Fraction(1, 100), errors_path=None, blocksize: str = "64MB") -> Summary:  # fmt: skip
    """Price a CSV or Parquet file with dask.dataframe (a map over partitions) on a Dask cluster.

    ``scheduler`` is the address of an existing cluster ("tcp://host:8786"); without one a
    LocalCluster on the loopback interface is started for the run. Partitions are priced in
    parallel and written in file order, so the output equals the single-machine one row for row.
    """

    try:
        import dask
        import dask.dataframe as dd
        from dask.distributed import Client, LocalCluster
    except ImportError:
        raise InputError('the Dask engine needs Dask: pip install -e ".[cluster]"', field="--engine") from None

    source = Path(source)
    if not source.is_file():
        raise InputError("no such file", file=source)
    parquet = source.suffix.lower() == ".parquet"
    options = {} if parquet else {"dtype": str, "keep_default_na": False, "blocksize": blocksize}
    cluster = None if scheduler else LocalCluster(n_workers=2, threads_per_worker=1, host="127.0.0.1",
                                                  dashboard_address=None, processes=True)  # fmt: skip
    client = Client(scheduler or cluster)
    out, errors_out = Output(output), Output(errors_path or _errors_name(output))
    summary = Summary()
    try:
        frame = (dd.read_parquet if parquet else dd.read_csv)(str(source), **options)
        column_map([str(c) for c in frame.columns], mapping)  # a bad header stops the run before any work
        lengths = frame.map_partitions(len).compute().tolist()
        starts = np.cumsum([2] + lengths[:-1])
        tasks = [dask.delayed(_price_partition)(part, int(start), mapping, book, tolerance)
                 for part, start in zip(frame.to_delayed(), starts)]  # fmt: skip
        for future in client.compute(tasks):
            priced, failed, amounts = future.result()
            out.write(priced.rename(columns={"_row": "row"}))
            errors_out.write(failed.rename(columns={"_row": "row"}))
            summary.add(priced.drop(columns="_row"), failed, amounts)
    except BaseException:
        out.abandon()
        errors_out.abandon()
        raise
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    out.close()
    errors_out.close()
    return summary


def _price_partition(part: pd.DataFrame, start: int, mapping, book: Book, tolerance):
    chunk = part.fillna("").astype(str).reset_index(drop=True)
    return _price_chunk(chunk.assign(_row=np.arange(start, start + len(chunk))), mapping, book, tolerance)


# -- a realistic synthetic claims file, for the benchmark and the tests --------------------------


def synthetic_claims(path, rows: int, payers: list[str], seed: int = 7, paid: bool = True) -> None:
    """Write ``rows`` claim lines shaped like a pain practice's year: trigger point sessions with
    guidance, E/M and drugs, Alabama ZIP codes, 2026 dates, the given payers, paid amounts."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    rng = np.random.default_rng(seed)
    codes = np.array(["20552", "20553", "76942", "77002", "99213", "99214", "J3301", "J1010", "J0585", "20550"])
    weights = np.array([30, 20, 12, 4, 12, 6, 8, 4, 2, 2], float)
    chosen = codes[rng.choice(len(codes), rows, p=weights / weights.sum())]
    units = np.select([chosen == "J3301", chosen == "J1010", chosen == "J0585"], [4, 80, 100], 1)
    modifiers = np.where(chosen == "99213", "25", np.where(np.isin(chosen, ["J3301", "J1010"]), "JZ", ""))
    days = (np.datetime64("2026-01-01") + rng.integers(0, 365, rows)).astype(str)
    billed = np.round(rng.uniform(40, 400, rows), 2)
    table = {"date_of_service": days, "hcpcs": chosen, "modifiers": modifiers, "units": units.astype(str),
             "place_of_service": rng.choice(np.array(["11", "11", "11", "22", "24"]), rows),
             "zip_code": rng.choice(np.array(["35203", "35205", "35233", "36104", "36117", "35801"]), rows),
             "payer": rng.choice(np.array(payers), rows), "billed_charge": np.char.mod("%.2f", billed),
             "claim_id": (np.arange(rows) // 3).astype(str)}  # fmt: skip
    if paid:
        table["paid_amount"] = np.char.mod("%.2f", np.round(billed * rng.uniform(0.1, 0.4, rows), 2))
    pacsv.write_csv(pa.table(table), path)
