"""Readers for CMS files in the layouts CMS publishes them.

Each file kind is a :class:`Layout`: the headers that identify its columns (found by
name, never by position: the 2026 PPRRVU file has a PRIC IND column the 2025 one lacks),
how each cell is checked, and how the file states its effective dates. A reader turns a
file into a validated table of canonical text; any bad cell stops the import with the
file, the spreadsheet row and the column named.

Layout references: RVU25D.pdf (PPRRVU record layout), ZIP5lyout.txt (ZIP5 record
layout), and the header rows of the GPCI (Addendum E), LOCCO, ASP payment limit, OPPS
Addendum B, OPPS cap and ASC Addenda AA/BB files themselves.
"""

from __future__ import annotations

import calendar
import datetime as dt
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from .errors import InputError
from .money import bad_decimal_rows, decimal_text
from .uploads import csv_rows, decode, read_upload

HCPCS = r"[0-9A-Z]{4}[0-9A-Z]"
MODIFIER = r"(?:[0-9A-Z]{2})?"


@dataclass(frozen=True)
class Column:
    """One column of a CMS layout.

    ``headers`` are regular expressions matched against the header text (upper case,
    blanks folded). ``places`` > 0 (or ``kind == "decimal"``) makes it a decimal column
    kept as canonical text with that many places; ``pad`` left-pads codes with zeros
    (some CMS files drop leading zeros: 25LOCCO has carrier 2102 for 02102).
    """

    name: str
    headers: tuple[str, ...]
    kind: str = "text"  # text | code | decimal
    pattern: str = ""
    places: int = 0
    pad: int = 0
    blank_ok: bool = False
    required: bool = True
    strip: str = ""  # characters removed before checking, e.g. "$," for money
    fill_down: bool = False  # a blank cell repeats the value above (LOCCO names a state once)


@dataclass(frozen=True)
class Layout:
    kind: str
    title: str  # what the user sees
    signature: str  # regex found in the preamble or header that identifies the file
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    header_depth: int = 1  # header text may be spread over this many rows (PPRRVU: 5)
    descriptions: tuple[str, ...] = ()  # text columns that may hold AMA descriptors


def _code(name, headers, pattern, pad=0, **kw):
    return Column(name, headers, "code", pattern=pattern, pad=pad, **kw)


def _dec(name, headers, places, **kw):
    return Column(name, headers, "decimal", places=places, **kw)


def _text(name, headers, **kw):
    return Column(name, headers, "text", **kw)


_RVU = lambda name, header: _dec(name, (header,), 2)  # noqa: E731 - table of columns below
_IND = lambda name, header, pattern=r"\d|": _code(name, (header,), pattern, blank_ok=True)  # noqa: E731

LAYOUTS: dict[str, Layout] = {
    layout.kind: layout
    for layout in (
        Layout(
            "pfs_rvu",
            "PFS relative value file (PPRRVU)",
            r"PHYSICIAN FEE SCHEDULE RELATIVE VALUE FILE",
            (
                _code("hcpcs", ("HCPCS",), HCPCS),
                _code("modifier", ("MOD",), MODIFIER),
                _text("description", ("DESCRIPTION",), blank_ok=True),
                _code("status", ("STATUS CODE",), r"[A-Z]"),
                _code("not_used_for_medicare", ("NOT USED FOR MEDICARE PAYMENT",), r"[0-9A-Z+]?"),
                _RVU("work_rvu", "WORK RVU"),
                _RVU("pe_rvu_nonfacility", "NON-FAC PE RVU"),
                _code("nonfacility_na", ("NON-FAC NA INDICATOR",), r"(?:NA)?"),
                _RVU("pe_rvu_facility", "FACILITY PE RVU"),
                _code("facility_na", ("FACILITY NA INDICATOR",), r"(?:NA)?"),
                _RVU("mp_rvu", "MP RVU"),
                _RVU("total_nonfacility", "NON-FACILITY TOTAL"),
                _RVU("total_facility", "FACILITY TOTAL"),
                _IND("pctc", "PCTC IND"),
                _code("global_days", ("GLOB DAYS",), r"\d{3}|[A-Z]{3}"),
                _dec("preop", ("PRE OP",), 2),
                _dec("intraop", ("INTRA OP",), 2),
                _dec("postop", ("POST OP",), 2),
                _IND("mult_proc", "MULT PROC"),
                _IND("bilat", "BILAT SURG"),
                _IND("asst", "ASST SURG"),
                _IND("co_surg", "CO- ?SURG"),
                _IND("team_surg", "TEAM SURG"),
                _code("pric_ind", ("PRIC IND",), r"\d|", required=False),
                _code("endo_base", ("ENDO BASE",), r"[0-9A-Z]{5}|", blank_ok=True),
                _dec("conv_factor", ("CONV FACTOR",), 4),
                _code("phys_supervision", ("PHYSICIAN SUPERVISION OF DIAGNOSTIC PROCEDURES",), r"[0-9A-Z]{2}|"),
                _code("calculation_flag", ("CALCULATION FLAG",), r"\d|", blank_ok=True),
                _code("imaging_family", ("DIAGNOSTIC IMAGING FAMILY INDICATOR",), r"\d{2}|", blank_ok=True),
                _dec("opps_pe_nonfacility", ("NON-FACILITY PE USED FOR OPPS PAYMENT AMOUNT",), 2),
                _dec("opps_pe_facility", ("FACILITY PE USED FOR OPPS PAYMENT AMOUNT",), 2),
                _dec("opps_mp", ("MP USED FOR OPPS PAYMENT AMOUNT",), 2),
            ),
            key=("hcpcs", "modifier"),
            header_depth=5,
            descriptions=("description",),
        ),
        Layout(
            "gpci",
            "Geographic practice cost indices (Addendum E)",
            r"GEOGRAPHIC PRACTICE COST INDICES",
            (
                _code("carrier", (r"MEDICARE ADMINISTRATIVE CONTRACTOR(?: \(MAC\))?", "MAC", "CARRIER"), r"\d{1,5}", pad=5),
                _code("state", ("STATE",), r"[A-Z]{2}"),
                _code("locality", ("LOCALITY NUMBER",), r"\d{1,2}", pad=2),
                _text("locality_name", ("LOCALITY NAME",)),
                _dec("work_gpci_no_floor", (r"\d{4} PW GPCI \(WITHOUT 1\.0 FLOOR\)",), 3, required=False),
                _dec("work_gpci", (r"\d{4} PW GPCI \(WITH 1\.0 FLOOR\)", r"\d{4} PW GPCI"), 3),  # 2023 and before: one PW column
                _dec("pe_gpci", (r"\d{4} PE GPCI",), 3),
                _dec("mp_gpci", (r"\d{4} MP GPCI",), 3),
            ),
            key=("carrier", "locality"),
        ),
        Layout(
            "locco",
            "Counties in each PFS locality (LOCCO)",
            r"COUNTIES INCLUDED IN \d{4} LOCALITIES",
            (
                _code("carrier", ("MEDICARE ADMI?NI?STRATIVE CONTRACTOR",), r"\d{1,5}", pad=5),
                _code("locality", ("LOCALITY NUMBER",), r"\d{1,2}", pad=2),
                _text("state", ("STATE",), fill_down=True),
                _text("fee_schedule_area", ("FEE SCHEDULE AREA",)),
                _text("counties", ("COUNTIES",)),
            ),
            key=("carrier", "locality"),
        ),
        Layout(
            "zip5",
            "ZIP code to carrier and locality (ZIP5)",
            r"^ZIP CODE$",
            (
                _code("state", ("STATE",), r"[A-Z]{2}"),
                _code("zip", ("ZIP CODE",), r"\d{5}", pad=5),
                _code("carrier", ("CARRIER",), r"\d{5}", pad=5),
                _code("locality", ("LOCALITY",), r"\d{2}", pad=2),
                _code("rural", ("RURAL IND",), r"[RB]?"),
                _code("plus4_flag", ("PLUS 4 FLAG",), r"[01]"),
                _code("part_b_drug", ("PART B DRUG INDICATOR",), r"[A-Z]?"),
                _code("year_quarter", ("YEAR/QTR",), r"\d{4}[1-4]"),
            ),
            key=("zip",),
        ),
        Layout(
            "asp",
            "Part B drug payment limits (ASP)",
            r"PAYMENT ALLOWANCE LIMITS FOR MEDICARE PART B DRUGS",
            (
                _code("hcpcs", ("HCPCS CODE",), HCPCS),
                _text("description", ("SHORT DESCRIPTION",), blank_ok=True),
                _text("dosage", ("HCPCS CODE DOSAGE",)),
                _dec("payment_limit", ("PAYMENT LIMIT",), 3, blank_ok=True),  # N/A: no limit set
                _dec("coinsurance_percent", ("CO-INSURANCE PERCENTAGE",), 3),
                _text("notes", ("NOTES",), blank_ok=True, required=False),
            ),
            key=("hcpcs",),
            descriptions=("description",),
        ),
        Layout(
            "opps_b",
            "OPPS payment by HCPCS code (Addendum B)",
            r"ADDENDUM B\.?-+ ?OPPS PAYMENT BY HCPCS CODE",
            (
                _code("hcpcs", ("HCPCS CODE",), HCPCS),
                _text("description", ("SHORT DESCRIPTOR",), blank_ok=True),
                _code("status_indicator", ("SI",), r"[A-Z][0-9A-Z]?"),
                _code("apc", ("APC",), r"\d{4}|", blank_ok=True),
                _dec("relative_weight", ("RELATIVE WEIGHT",), 4, blank_ok=True),
                _dec("payment_rate", ("PAYMENT RATE",), 3, blank_ok=True, strip="$,"),
                _dec("minimum_copayment", ("MINIMUM UNADJUSTED COPAYMENT",), 2, blank_ok=True, strip="$,"),
            ),
            key=("hcpcs",),
            descriptions=("description",),
        ),
        Layout(
            "opps_cap",
            "OPPS payment cap on PFS imaging (OPPSCAP)",
            r"^PROCSTAT$",
            (
                _code("hcpcs", ("HCPCS",), HCPCS),
                _code("modifier", ("MOD",), MODIFIER),
                _code("status", ("PROCSTAT",), r"[A-Z]"),
                _code("carrier", ("CARRIER",), r"\d{5}", pad=5),
                _code("locality", ("LOCALITY",), r"\d{2}", pad=2),
                _dec("facility_cap", ("FACILITY PRICE",), 2, strip="$,"),
                _dec("nonfacility_cap", ("NON-FACILI?TY PRICE",), 2, strip="$,"),
            ),
            key=("hcpcs", "modifier", "carrier", "locality"),
        ),
        Layout(
            "asc_aa",
            "ASC covered surgical procedures (Addendum AA)",
            r"^ADDENDUM AA",
            (
                _code("hcpcs", ("HCPCS CODE",), HCPCS),
                _text("description", ("SHORT DESCRIPTOR",), blank_ok=True),
                _code("multiple_procedure_discount", ("SUBJECT TO MULTIPLE PROCEDURE DISCOUNTING",), r"[YN]"),
                _code("payment_indicator", (r"(?:\w+ \d{4} )?PAYMENT INDICATOR",), r"[A-Z][0-9A-Z]"),
                _dec("payment_weight", (r"(?:\w+ \d{4} )?PAYMENT WEIGHT",), 4, blank_ok=True),
                _dec("payment_rate", (r"(?:\w+ \d{4} )?PAYMENT RATE",), 2, blank_ok=True, strip="$,"),
            ),
            key=("hcpcs",),
            descriptions=("description",),
        ),
        Layout(
            "asc_bb",
            "ASC covered ancillary services (Addendum BB)",
            r"^ADDENDUM BB",
            (
                _code("hcpcs", ("HCPCS CODE",), HCPCS),
                _text("description", ("SHORT DESCRIPTOR",), blank_ok=True),
                _code("payment_indicator", (r"(?:\w+ \d{4} )?PAYMENT INDICATOR",), r"[A-Z][0-9A-Z]"),
                _dec("payment_weight", (r"(?:\w+ \d{4} )?PAYMENT WEIGHT",), 4, blank_ok=True),
                _dec("payment_rate", (r"(?:\w+ \d{4} )?PAYMENT RATE",), 3, blank_ok=True, strip="$,"),
            ),
            key=("hcpcs",),
            descriptions=("description",),
        ),
        Layout(
            "mue",
            "Medically unlikely edits, practitioner services (MUE)",
            r"PRACTITIONER SERVICES MUE VALUES",
            (
                _code("hcpcs", (r"HCPCS/CPT CODE",), HCPCS),
                _code("mue", ("PRACTITIONER SERVICES MUE VALUES",), r"\d{1,6}"),
                _code("adjudication", ("MUE ADJUDICATION INDICATOR",), r"(?i)(?:[123]\s*)?(?:LINE EDIT|DATE OF SERVICE EDIT).*"),
                _text("rationale", ("MUE RATIONALE",), blank_ok=True, required=False),
            ),
            key=("hcpcs",),
        ),
    )
}


@dataclass
class ParsedFile:
    """A validated CMS file: its layout, its table of canonical text and what it says of itself."""

    path: Path
    layout: Layout
    table: pd.DataFrame
    preamble: list[str]
    facts: dict = field(default_factory=dict)  # title, release, effective_from/to, vintage


# -- reading a file into a grid of text cells ---------------------------------------------


def _zip5_fixed_width(text: str) -> list[list[str]]:
    """ZIP5 fixed-width records (ZIP5lyout.txt) -> the header and cells of the xlsx edition."""
    fields = [
        ("STATE", 0, 2),
        ("ZIP CODE", 2, 7),
        ("CARRIER", 7, 12),
        ("LOCALITY", 12, 14),
        ("RURAL IND", 14, 15),
        ("PLUS 4 FLAG", 20, 21),
        ("PART B DRUG INDICATOR", 22, 23),
        ("YEAR/QTR", 75, 80),
    ]
    rows = [[name for name, _, _ in fields]]
    rows += [[line[a:b] for _, a, b in fields] for line in text.splitlines()]
    return rows


def _mue_json(text: str, path: Path) -> list[list[str]]:
    """A practitioner MUE table published as JSON ({code: {"maxUnits": n, "adjudicationType": "line" or
    "date_of_service"}}, as the derived file in tables/mue/ was) -> the header and cells of the CMS CSV."""
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as error:
        raise InputError(f"not valid JSON ({str(error)[:200]})", file=path.name) from None
    if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
        raise InputError(
            "not a CMS file this product reads (a JSON MUE table maps codes to {maxUnits, adjudicationType})", file=path.name
        )
    kinds = {"line": "Line Edit", "date_of_service": "Date of Service Edit"}
    rows = [["HCPCS/CPT Code", "Practitioner Services MUE Values", "MUE Adjudication Indicator"]]
    return rows + [
        [str(code), str(v.get("maxUnits", "")), kinds.get(str(v.get("adjudicationType")), str(v.get("adjudicationType")))]
        for code, v in data.items()
    ]


def read_rows(path: Path) -> list[list[str]]:
    """The file as rows of text cells (csv, xlsx, the ZIP5 fixed-width txt, or a JSON MUE table)."""
    suffix = path.suffix.lower()
    content = read_upload(path)
    if isinstance(content, list):
        return content
    text = decode(content)
    if suffix == ".json":
        return _mue_json(text, path)
    if suffix == ".txt" and re.match(r"[A-Z]{2}\d{5}\d{5}\d{2}", text):
        return _zip5_fixed_width(text)
    return csv_rows(text, path.name)


# -- finding the layout, the header and the data rows --------------------------------------


def _fold(text: str) -> str:
    return " ".join(text.replace("\ufffd", " ").split()).upper()


def _header_names(rows: list[list[str]], index: int, depth: int) -> list[str]:
    width = len(rows[index])
    stack = rows[max(0, index - depth + 1) : index + 1]
    return [_fold(" ".join(r[c] for r in stack if c < len(r))) for c in range(width)]


def _aliases(name: str) -> tuple[str, ...]:
    """A header as written and as a re-save may write it: without a trailing parenthesis ("LOCALITY NAME
    (MAC)"), footnote stars or a trailing colon."""
    bare = re.sub(r"\s*\([^()]*\)$", "", name).rstrip("*: ").strip()
    return (name, bare) if bare and bare != name else (name,)


def _match_columns(layout: Layout, names: list[str]) -> dict[str, int] | None:
    """Where each column is: a header as written wins over one matched only once re-save marks are
    taken off (so "2026 PW GPCI (WITHOUT 1.0 FLOOR)" is never read as the floored column)."""
    found: dict[str, int] = {}
    for column in layout.columns:
        hits = [i for i, name in enumerate(names) if any(re.fullmatch(h, name) for h in column.headers)] or [
            i
            for i, name in enumerate(names)
            if any(re.fullmatch(h, alias) for h in column.headers for alias in _aliases(name)[1:])
        ]
        if hits:
            found[column.name] = hits[0]
        elif column.required:
            return None
    return found


def detect_layout(path: Path, rows: list[list[str]]) -> tuple[Layout, int, dict[str, int], list[str]]:
    """Which CMS layout the file is, its header row index, where each column is and its header text."""
    head = rows[:40]
    for layout in LAYOUTS.values():
        if not any(re.search(layout.signature, _fold(cell)) for row in head for cell in row):
            continue
        for index in range(len(head)):
            names = _header_names(rows, index, layout.header_depth)
            positions = _match_columns(layout, names)
            if positions:
                return layout, index, positions, names
        raise InputError(
            f"looks like a {layout.title} file but its header row lacks a required column "
            f"({', '.join(c.headers[0] for c in layout.columns if c.required)})",
            file=path.name,
        )
    raise InputError(
        "not a CMS file this product reads (PPRRVU, GPCI, LOCCO, ZIP5, ASP, OPPS Addendum B, "
        "OPPSCAP, ASC Addendum AA/BB, practitioner MUE)",
        file=path.name,
    )


def _data_rows(rows: list[list[str]], header: int) -> list[tuple[int, list[str]]]:
    """(spreadsheet row number, cells) below the header, without blank rows and trailing notes.

    Trailing rows with at most one filled cell are footnotes (GPCI, LOCCO); a blank row
    inside the data is skipped; every other row is data and is checked.
    """
    body = [(i + 1, row) for i, row in enumerate(rows) if i > header]
    filled = [sum(bool(c.strip()) for c in row) for _, row in body]
    end = len(body)
    while end and filled[end - 1] <= 1:
        end -= 1
    return [(number, row) for (number, row), n in zip(body[:end], filled[:end], strict=True) if n]


def _check_column(column: Column, values: pd.Series, numbers: pd.Series, path: Path, header: str) -> pd.Series:
    text = values.str.strip()
    if column.kind == "code":  # stray bytes after a code (OPPS Addendum B Oct 2025, A4341 + 0xFF)
        text = text.str.replace(r"[^ -~]", "", regex=True).str.strip()
    if column.strip:
        text = text.str.replace(f"[{re.escape(column.strip)}]", "", regex=True).str.strip()
    if column.kind == "decimal":  # OPPS writes "." and ASP "N/A" for "no amount"
        text = text.mask(text.isin([".", "N/A"]), "")
    if column.fill_down:
        text = text.mask(text.eq("")).ffill().fillna("")
    blank = text.eq("")
    if column.pad:
        text = text.where(blank, text.str.zfill(column.pad))
    if column.kind == "decimal":
        bad = bad_decimal_rows(text, column.places) & ~blank
        expected = f"a non-negative number with at most {column.places} decimals"
    elif column.kind == "code":
        bad = ~text.str.fullmatch(column.pattern) & ~blank
        expected = f"a code of the form {column.pattern!r}"
    else:
        bad = text.str.contains(r"[\x00-\x08\x0b-\x1f\x7f]", regex=True)
        expected = "text without control characters"
    if not column.blank_ok and not (column.kind == "code" and re.fullmatch(column.pattern, "")):
        bad |= blank
    if bad.any():
        first = bad.to_numpy().nonzero()[0][0]
        raise InputError(
            f"{values.iloc[first].strip()!r} is not {expected}"
            + (f" ({int(bad.sum())} bad rows in all)" if bad.sum() > 1 else ""),
            file=path.name,
            row=int(numbers.iloc[first]),
            field=header,
        )
    if column.kind == "decimal":
        text = text.where(blank, decimal_text(text.where(~blank, "0"), column.places))
    return text


def _check_row_lengths(
    layout: Layout, positions: dict[str, int], data: list[tuple[int, list[str]]], path: Path, width: int
) -> None:
    """A data row that stops before a required column was cut short (a truncated download or an
    edited line); say so rather than report its first empty cell."""
    needed = 1 + max(positions[c.name] for c in layout.columns if c.required and not c.blank_ok and c.name in positions)
    short = next(((number, row) for number, row in data if len(row) < needed), None)
    if short:
        raise InputError(
            f"the row has {len(short[1])} fields where the header has {width}: the file is cut short or the row was edited",
            file=path.name,
            row=short[0],
        )


def without_licensed_text(table: pd.DataFrame, layout: Layout) -> pd.DataFrame:
    """Blank the descriptors of CPT and CDT codes (AMA and ADA copyright); keep HCPCS Level II text.

    CPT codes (and CPT category II/III and PLA codes) start with a digit; CDT codes with D.
    """
    if layout.descriptions:
        licensed = ~table["hcpcs"].str.match(r"[A-CE-Z]")
        table.loc[licensed, list(layout.descriptions)] = ""
    return table


def parse_table(path: Path) -> ParsedFile:
    """Read, identify and validate a CMS file. Raises InputError naming file, row and column."""
    path = Path(path)
    if not path.is_file():
        raise InputError("no such file", file=path)
    rows = read_rows(path)
    layout, header, positions, names = detect_layout(path, rows)
    data = _data_rows(rows, header)
    if not data:
        raise InputError("no data rows below the header", file=path.name, row=header + 1)
    _check_row_lengths(layout, positions, data, path, len(names))
    numbers = pd.Series([n for n, _ in data])
    table = pd.DataFrame({"_row": numbers})
    for column in layout.columns:
        if column.name not in positions:
            table[column.name] = ""
            continue
        at = positions[column.name]
        values = pd.Series([row[at] if at < len(row) else "" for _, row in data], dtype=object).astype(str)
        table[column.name] = _check_column(column, values, numbers, path, names[at]).to_numpy()
    table = table.drop_duplicates(subset=[c for c in table if c != "_row"])  # ASC BB lists 90684 twice
    duplicated = table.duplicated(list(layout.key), keep="first")
    if duplicated.any():
        first = table[duplicated].iloc[0]
        raise InputError(
            f"{'/'.join(first[k] for k in layout.key)} appears twice",
            file=path.name,
            row=int(first["_row"]),
            field="/".join(layout.key),
        )
    table = without_licensed_text(table.drop(columns="_row"), layout)
    if layout.kind == "mue":  # MAI 1 is a line edit; MAI 2 and 3 are date-of-service edits
        table["adjudication"] = (
            table["adjudication"].str.upper().str.contains("LINE EDIT").map({True: "line", False: "date_of_service"})
        )
    preamble = [_fold(" ".join(r)) for r in rows[: header + 1]]
    parsed = ParsedFile(path, layout, table.reset_index(drop=True), preamble)
    parsed.facts = _facts(parsed)
    return parsed


# -- what a file says of itself: title, release, effective dates ---------------------------

_MONTHS = {m.upper(): i for i, m in enumerate(calendar.month_name) if m}
_QUARTER_LETTER = {1: "A", 4: "B", 7: "C", 10: "D"}


def _quarter(year: int, month: int) -> tuple[dt.date, dt.date]:
    first = (month - 1) // 3 * 3 + 1
    last = first + 2
    return dt.date(year, first, 1), dt.date(year, last, calendar.monthrange(year, last)[1])


def _find(pattern: str, texts: list[str]) -> re.Match | None:
    return next((m for t in texts if (m := re.search(pattern, t))), None)


def _facts(parsed: ParsedFile) -> dict:
    """Title, release, effective dates and vintage name, as far as the file itself states them."""
    texts = [t for t in parsed.preamble if t.strip()] + [_fold(parsed.path.stem)]
    kind = parsed.layout.kind
    facts: dict[str, object] = {"title": texts[0].strip(" ,") if texts else ""}
    month_year = _find(r"(" + "|".join(_MONTHS) + r")\s+(\d{4})", texts)
    if kind == "pfs_rvu":
        m = _find(r"(\d{4}) NATIONAL PHYSICIAN FEE SCHEDULE RELATIVE VALUE FILE (\w+) RELEASE", texts)
        released = _find(r"RELEASED (\d\d/\d\d/\d{4})", texts)
        if m and m.group(2) in _MONTHS:
            year, month = int(m.group(1)), _MONTHS[m.group(2)]
            facts |= {
                "effective_from": dt.date(year, month, 1),
                "effective_to": dt.date(year, 12, 31),
                "vintage": f"RVU{year % 100:02d}{_QUARTER_LETTER.get(month, str(month))}",
            }
        if released:
            facts["release"] = f"released {released.group(1)}"
        factors = parsed.table["conv_factor"].unique()
        if len(factors) != 1:
            raise InputError(f"CONV FACTOR differs between rows ({', '.join(factors)})", file=parsed.path.name)
        facts["conversion_factor"] = factors[0]
    elif kind in ("gpci", "locco"):
        m = _find(r"CY (\d{4})|(\d{4}) LOCALITIES", texts)
        if m:
            year = int(m.group(1) or m.group(2))
            facts |= {
                "effective_from": dt.date(year, 1, 1),
                "effective_to": dt.date(year, 12, 31),
                "vintage": f"{kind.upper()}{year}",
            }
    elif kind == "zip5":
        quarters = parsed.table["year_quarter"].unique()
        if len(quarters) == 1:
            year, q = int(quarters[0][:4]), int(quarters[0][4])
            facts["effective_from"], facts["effective_to"] = _quarter(year, 3 * q)
            facts["vintage"] = f"ZIP5_{year}Q{q}"
    elif kind == "asp":
        m = _find(r"EFFECTIVE (\w+) (\d+), (\d{4}) THROUGH (\w+) (\d+), (\d{4})", texts)
        if m and m.group(1) in _MONTHS and m.group(4) in _MONTHS:
            start = dt.date(int(m.group(3)), _MONTHS[m.group(1)], int(m.group(2)))
            facts |= {
                "effective_from": start,
                "effective_to": dt.date(int(m.group(6)), _MONTHS[m.group(4)], int(m.group(5))),
                "vintage": f"ASP_{start.year}Q{(start.month - 1) // 3 + 1}",
            }
    elif kind == "mue":
        m = _find(r"EFF[_ ]?(\d\d)[-_](\d\d)[-_](\d{4})", texts)
        if m:
            start = dt.date(int(m.group(3)), int(m.group(1)), int(m.group(2)))
            facts["effective_from"], facts["effective_to"] = start, _quarter(start.year, start.month)[1]
            facts["vintage"] = f"MUE_{start.year}Q{(start.month - 1) // 3 + 1}"
    elif month_year:  # OPPS B, ASC AA/BB: the quarter's month in the header or the file name
        year, month = int(month_year.group(2)), _MONTHS[month_year.group(1)]
        facts["effective_from"], facts["effective_to"] = _quarter(year, month)
        facts["vintage"] = f"{kind.upper()}_{year}Q{(month - 1) // 3 + 1}"
    return facts
