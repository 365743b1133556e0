"""The corpus of bad and hostile inputs (tests/fixtures/hostile/), each run as a user runs it.

One fixture per case. Every case ends in one of three ways, and never with a traceback:

- exit 2 and one ``error:`` line naming the file, row and field; nothing is half written (the output
  folder, the CMS data folder and the practice database are exactly as before);
- exit 1 from a command that prices line by line: every other line is priced, and each bad line is in
  the errors file with its row, its column and the reason;
- exit 0 for inputs real users have that must be read as meant (a re-saved or re-encoded file).

Whatever is written, no user text becomes a formula: a CSV cell never starts with = + - @ unless it is
a number, and an xlsx cell holding such text is a string with Excel's quote prefix, never a formula.
The counts of cases by category are printed by ``python -m pytest tests/test_hostile.py -q -rA``.
"""

from __future__ import annotations

import csv
import hashlib
import io
import sqlite3
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from conftest import FIXTURES, SHARED_CMS
from openpyxl import load_workbook

from estimator import db as db_module
from estimator.cli import main
from estimator.db import Database
from estimator.store import import_files
from estimator.textio import is_formula_text

CONNECT = sqlite3.connect  # before any test patches it

HOSTILE = FIXTURES / "hostile"
SESSION = "session_office.json"
MEDICAID = "Example State Medicaid"
TAG_MARKER = Path("/tmp/tpi-estimator-hostile-tag-ran")  # what python_object_tag.yaml would create


@dataclass(frozen=True)
class Case:
    fixture: str  # under tests/fixtures/ (hostile/... for the corpus), or "generated/NAME"
    command: tuple[str, ...]  # {file}: the fixture; {out}: the output folder; {data}: the CMS data folder
    exit: int
    message: str = ""  # must appear in the output (for exit 2: in the one error line)
    errors: tuple[tuple[int, str, str], ...] = ()  # (row, column, start of the reason) in the errors file
    setup: str = ""  # a state of the database or the CMS data folder before the command (SETUPS)
    check: Callable[[Path, str], None] | None = None  # what an accepted input must produce
    area: str = ""  # the category, where the fixture's folder does not say it

    @property
    def category(self) -> str:
        return self.area or self.fixture.split("/")[1]


IMPORT = ("import-cms", "{file}", "--data-dir", "{data}")
PRICE = ("price-claims", "{file}", "--output", "{out}/priced.csv")
PAYERS = ("payers", "import", "{file}")
FEES = ("payers", "fees", MEDICAID, "{file}", "--date", "2026-03-02")
PRACTICE = ("practice", "import", "{file}")
SESSION_CMD = ("session", "{file}")
FORECAST = ("forecast", "{file}", "--output", "{out}/forecast.csv")
EXCEL = ("excel", "{file}", "--output", "{out}/model.xlsx")
COMPARE = ("compare", "{file}", "--output", "{out}/compare.csv")


# -- checks on what an accepted input produced -------------------------------------------------------


def _stored(data: Path, kind: str) -> pd.DataFrame:
    (table,) = (data / "tables" / kind).glob("*/*.csv")
    return pd.read_csv(table, dtype=str, keep_default_na=False)


def same_as_the_plain_pprrvu(data: Path, output: str) -> None:
    """A UTF-16, Windows-1252 or BOM + CRLF copy of the PPRRVU excerpt stores the same table as the plain file."""
    plain = data.parent / "plain"
    import_files([FIXTURES / "pprrvu_2026_jan_subset.csv"], plain, vintage="PLAIN")
    mine, theirs = _stored(data, "pfs_rvu"), _stored(plain, "pfs_rvu")
    assert mine.drop(columns=["description"]).equals(theirs.drop(columns=["description"]))
    # PPRRVU2026_Jan_nonQPP: 20552 work RVU 0.64, non-facility PE RVU 0.84
    assert mine.set_index(["hcpcs", "modifier"]).loc[("20552", ""), ["work_rvu", "pe_rvu_nonfacility"]].tolist() == [
        "0.64",
        "0.84",
    ]


def resaved_gpci_reads_as_published(data: Path, output: str) -> None:
    """Excel drops leading zeros and trailing decimals; the stored values are those of GPCI2026.csv."""
    stored = _stored(data, "gpci").set_index(["carrier", "locality"])
    # GPCI2026.csv (CY 2026 Addendum E): 02102-01 ALASKA* PW 1.500, PE 1.065, MP 0.551; 10112-00 PW floor 1.000
    assert stored.loc[("02102", "01"), ["work_gpci", "pe_gpci", "mp_gpci"]].tolist() == ["1.500", "1.065", "0.551"]
    assert stored.loc[("10112", "00"), ["work_gpci_no_floor", "work_gpci"]].tolist() == ["0.988", "1.000"]
    if SHARED_CMS.is_dir():
        published = pd.read_csv(SHARED_CMS / "2026" / "GPCI2026.csv", skiprows=2, dtype=str, nrows=5)
        assert stored["pe_gpci"].tolist() == published["2026 PE GPCI"].tolist()


def formula_locality_exports_as_text(data: Path, output: str) -> None:
    """A locality name written as a formula in an imported GPCI file stays text in the fee schedule."""
    out = data.parent / "out"
    for name in ("fs.csv", "fs.xlsx"):
        result = CliRunner().invoke(
            main,
            ["fee-schedule", "--date", "2026-03-02", "--all-localities", "--codes", "20552", "--output", str(out / name)],
        )
        assert result.exit_code == 0, result.output
    assert pd.read_csv(out / "fs.csv", dtype=str)["locality_name"].iloc[0].startswith("'=HYPERLINK")
    assert_no_formulas(out)


def _priced(out: Path) -> pd.DataFrame:
    return pd.read_csv(out / "priced.csv", dtype=str, keep_default_na=False)


def lowercase_codes_price_as_uppercase(data: Path, output: str) -> None:
    priced = _priced(data.parent / "out")
    # 20552 in Alabama (10112-00) 2026: RVU26C x GPCI2026 x CF 33.4009 = 47.25; J3301 x 4 units at the
    # January 2026 ASP limit 0.741 = 2.96; the JZ modifier written "jz" is read as JZ.
    assert priced.set_index("CPT").loc[["20552", "j3301"], "expected_allowed"].tolist() == ["47.25", "2.96"]


def decimal_commas_are_decimal_points(data: Path, output: str) -> None:
    priced = _priced(data.parent / "out")
    # paid "36,98" is $36.98: the expected payment 37.04 (47.25 x 80% less 2% sequestration) less 36.98
    assert priced[["expected_allowed", "expected_payment", "variance"]].iloc[0].tolist() == ["47.25", "37.04", "-0.06"]


def windows_1252_text_is_kept(data: Path, output: str) -> None:
    assert _priced(data.parent / "out")["Claim ID"].tolist() == ["Café-1"]


def formula_claim_ids_stay_text(data: Path, output: str) -> None:
    assert _priced(data.parent / "out")["Claim ID"].tolist() == ["'@SUM(A1)", "'+cmd"]


def saved_names(expected: list[str]) -> Callable[[Path, str], None]:
    def check(data: Path, output: str) -> None:
        names = {c.payer for c in Database().contracts()}
        assert set(expected) <= names, names

    return check


def formula_payers_export_as_text(data: Path, output: str) -> None:
    """Payer names that are formulas, through every export: compare CSV and xlsx, the Excel model, YAML."""
    out, session = data.parent / "out", str(FIXTURES / SESSION)
    for args in (
        ["compare", session, "--output", str(out / "compare.csv")],
        ["compare", session, "--output", str(out / "compare.xlsx")],
        ["excel", session, "--output", str(out / "model.xlsx")],
        ["payers", "export", "--output", str(out / "payers.yaml")],
    ):
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 0, result.output
    assert "'=HYPERLINK" in (out / "compare.csv").read_text()
    assert_no_formulas(out)


def tag_never_ran(data: Path, output: str) -> None:
    assert not TAG_MARKER.exists()


def session_priced(data: Path, output: str) -> None:
    assert "20552" in output and "totals:" in output


def broken_payer_set_aside(data: Path, output: str) -> None:
    assert "warning: " in output and "Example Commercial PPO" in output
    assert "Medicare (traditional)" in pd.read_csv(data.parent / "out" / "compare.csv", dtype=str)["payer"].tolist()


# -- states before the command -----------------------------------------------------------------------


def _sql(path: Path, *statements: str) -> None:
    connection = CONNECT(path)
    for statement in statements:
        connection.execute(statement)
    connection.commit()
    connection.close()


def _read_only(db: Path, monkeypatch) -> None:
    """A database the user may read but not write (as a file with no write permission is for anyone
    but root; the tests may run as root, so SQLite is asked to open it read-only)."""
    monkeypatch.setattr(db_module.sqlite3, "connect", lambda path, **kw: CONNECT(f"file:{path}?mode=ro", uri=True, **kw))


SETUPS: dict[str, Callable[[Path, pytest.MonkeyPatch], None]] = {
    "garbage_database": lambda db, mp: db.write_bytes(b"this is not a database, " * 400),
    "database_is_a_folder": lambda db, mp: (db.unlink(), db.mkdir()),
    "database_missing_table": lambda db, mp: _sql(db, "DROP TABLE payers"),
    "database_from_a_newer_version": lambda db, mp: _sql(db, "PRAGMA user_version = 99"),
    "database_broken_row": lambda db, mp: _sql(
        db, "UPDATE payers SET contract = '{\"payer\": 5, \"percent\": [1]}' WHERE name = 'Example Commercial PPO'"
    ),
    "read_only_database": _read_only,
    "formula_payers": lambda db, mp: Database(db).add_contracts(
        __import__("estimator.contracts", fromlist=["load_contracts"]).load_contracts(
            (HOSTILE / "contracts" / "formula_names.yaml").read_text(), "formula_names.yaml"
        )
    ),
    "no_payers": lambda db, mp: _sql(db, "DELETE FROM payers"),
}


# -- generated fixtures (too big to keep in the repository) ------------------------------------------


def zip_bomb(path: Path) -> None:
    """An xlsx whose sheet expands 300 MB of zeros from a few hundred kilobytes."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", b"<Types/>")
        archive.writestr("xl/worksheets/sheet1.xml", b"0" * (300 * 2**20))


def pprrvu_line_10mb(path: Path) -> None:
    """The PPRRVU excerpt with one description of 10 MB."""
    lines = (FIXTURES / "pprrvu_2026_jan_subset.csv").read_text().splitlines(keepends=True)
    row = lines[11].split(",")
    row[2] = "x" * (10 * 2**20)
    path.write_text("".join(lines[:11]) + ",".join(row) + "".join(lines[12:]))


def claims_line_10mb(path: Path) -> None:
    """Two good claim lines around one whose claim id is 10 MB."""
    header = "DOS,CPT,Modifier,Units,POS,Zip,Payer,Billed Charge,Paid,Claim ID\n"
    line = "2026-03-02,20552,,1,11,35203,Medicare (traditional),150.00,36.98,{}\n"
    path.write_text(header + line.format("G1") + line.format("x" * (10 * 2**20)) + line.format("G3"))


def _worklist_reasons(expected: dict[tuple[str, str], str]):
    """A check: the worklist's line (claim, line) has a reason starting with the text given."""

    def check(_data: Path, output: str) -> None:
        folder = Path(output.strip().splitlines()[-1].removeprefix("wrote "))
        lines = pd.read_csv(folder / "worklist.csv", dtype=str, keep_default_na=False).set_index(["claim_id", "line"])
        for key, start in expected.items():
            assert lines.loc[key, "reason"].startswith(start), (key, lines.loc[key, "reason"])

    return check


GENERATED = {
    "cms/zip_bomb.xlsx": zip_bomb,
    "cms/pprrvu_line_10mb.csv": pprrvu_line_10mb,
    "claims/claims_line_10mb.csv": claims_line_10mb,
}


# -- the corpus --------------------------------------------------------------------------------------

REMIT = ("remittance", "{file}", "--output", "{out}")
CASES = [
    # remittances (835/837P): an unreadable file is one error; a bad claim is a not-priced line, the rest read
    Case(
        "hostile/remittances/not_x12.835",
        REMIT,
        2,
        "not_x12.835: not an X12 file: it does not start with an ISA segment (segment 1, ISA01)",
    ),
    Case("hostile/remittances/isa_cut_short.835", REMIT, 2, "isa_cut_short.835: segment 1, ISA16: the ISA segment is cut short"),
    Case("hostile/remittances/binary.835", REMIT, 2, "binary.835: a binary file, not X12 text (segment 1, ISA01)"),
    Case(
        "hostile/remittances/bad_amounts.835",
        REMIT,
        0,
        "3 not_priced",
        check=_worklist_reasons(
            {("C1001", "2"): "segment 27, AMT02: '2.9.6' is not an amount", ("C1002", "1"): "segment 31, SVC03"}
        ),
    ),
    Case("hostile/remittances/truncated.835", REMIT, 0, "segment 3, SE: transaction 0001 has no SE (the file may be cut short)"),
    Case("hostile/remittances/formula_text.835", REMIT, 0, "1 underpaid, 1 denied"),
    Case("hostile/remittances/latin1_crlf.835", REMIT, 0, "5 as_expected, 2 reversed, 1 not_priced, 1 underpaid, 1 denied"),
    Case(
        "hostile/remittances/claims_bad_pointer.837",
        REMIT,
        0,
        "3 awaiting_remittance, 2 not_priced",
        check=_worklist_reasons(
            {("C1003", "1"): "segment 28, SV107: a diagnosis pointer points to no diagnosis", ("C3001", "2"): "segment 39, SV101"}
        ),
    ),
    # CMS files: refused whole with file, row and column; nothing stored
    Case(
        "hostile/cms/pprrvu_truncated.csv",
        IMPORT,
        2,
        "pprrvu_truncated.csv, row 13: the row has 9 fields where the header has 32",
    ),
    Case("hostile/cms/pprrvu_shifted_columns.csv", IMPORT, 2, "pprrvu_shifted_columns.csv, row 13, field 'STATUS CODE': 'POINT'"),
    Case("hostile/cms/pprrvu_text_in_work_rvu.csv", IMPORT, 2, "row 11, field 'WORK RVU': 'abc' is not a non-negative number"),
    Case("hostile/cms/pprrvu_negative_rvu.csv", IMPORT, 2, "row 11, field 'WORK RVU': '-0.64' is not a non-negative number"),
    Case("hostile/cms/pprrvu_duplicate_code.csv", IMPORT, 2, "row 12, field 'hcpcs/modifier': 20552/ appears twice"),
    Case("hostile/cms/pprrvu_missing_column.csv", IMPORT, 2, "pprrvu_missing_column.csv: looks like a PFS relative value"),
    Case("hostile/cms/pprrvu_malformed_code.csv", IMPORT, 2, "row 11, field 'HCPCS': '2055' is not a code"),
    Case("hostile/cms/pprrvu_two_conversion_factors.csv", IMPORT, 2, "CONV FACTOR differs between rows (33.4009, 33.5675)"),
    Case("hostile/cms/gpci_four_decimals.csv", IMPORT, 2, "row 4, field '2026 PE GPCI': '0.8755' is not a non-negative number"),
    Case("hostile/cms/asp_negative_limit.csv", IMPORT, 2, "asp_negative_limit.csv, row 10, field 'PAYMENT LIMIT': '-0.741'"),
    Case("hostile/cms/asp_no_rows.csv", IMPORT, 2, "asp_no_rows.csv, row 9: no data rows below the header"),
    Case("hostile/cms/zip5_letter_in_zip.txt", IMPORT, 2, "row 3, field 'ZIP CODE': '9950X' is not a code"),
    Case("hostile/cms/not_a_cms_file.csv", IMPORT, 2, "not_a_cms_file.csv: not a CMS file this product reads"),
    Case("hostile/cms/empty.csv", IMPORT, 2, "empty.csv: not a CMS file this product reads"),
    Case("hostile/cms/garbage.csv", IMPORT, 2, "garbage.csv: a binary file, not delimited text"),
    Case("hostile/cms/damaged.xlsx", IMPORT, 2, "damaged.xlsx: not a readable xlsx workbook"),
    Case("hostile/cms/not_a_workbook.xlsx", IMPORT, 2, "not_a_workbook.xlsx: not a readable xlsx workbook"),
    Case("hostile/cms/pprrvu_external_entity.xlsx", IMPORT, 2, "sheet1.xml declares a document type or entities"),
    Case("hostile/cms/pprrvu_macros.xlsm", IMPORT, 2, "pprrvu_macros.xlsm: only .xlsx workbooks are read"),
    Case("hostile/cms/pprrvu_macros_renamed.xlsx", IMPORT, 2, "pprrvu_macros_renamed.xlsx: the workbook carries macros"),
    Case("hostile/cms/pprrvu_path_traversal.xlsx", IMPORT, 2, "part '../../outside.txt' points outside the workbook"),
    Case(
        "generated/cms/zip_bomb.xlsx",
        IMPORT,
        2,
        "zip_bomb.xlsx: part xl/worksheets/sheet1.xml is compressed more than 200:1 (a zip bomb?)",
    ),
    Case("generated/cms/pprrvu_line_10mb.csv", IMPORT, 2, "pprrvu_line_10mb.csv, row 12: not a readable delimited text file"),
    Case("pprrvu_2026_jan_subset.csv", (*IMPORT, "--vintage", "../.."), 2, "field '--vintage'", area="cms"),
    Case("pprrvu_2026_jan_subset.csv", (*IMPORT, "--vintage", "a/b"), 2, "field '--vintage'", area="cms"),
    Case("hostile/cms/pprrvu_utf16.csv", (*IMPORT, "--vintage", "T16"), 0, "stored T16", check=same_as_the_plain_pprrvu),
    Case("hostile/cms/pprrvu_latin1.csv", (*IMPORT, "--vintage", "T1252"), 0, "stored T1252", check=same_as_the_plain_pprrvu),
    Case("hostile/cms/pprrvu_bom_crlf.csv", (*IMPORT, "--vintage", "TBOM"), 0, "stored TBOM", check=same_as_the_plain_pprrvu),
    Case("hostile/cms/gpci_excel_resaved.csv", IMPORT, 0, "stored GPCI2026", check=resaved_gpci_reads_as_published),
    Case("hostile/cms/gpci_formula_locality.csv", IMPORT, 0, "stored GPCI2026", check=formula_locality_exports_as_text),
    # claim files: a bad line goes to the errors file with its row and column; the rest is priced
    Case("hostile/claims/missing_columns.csv", PRICE, 2, "missing_columns.csv, field 'columns': no column for place_of_service"),
    Case("hostile/claims/duplicated_header_column.csv", PRICE, 2, "field 'columns': column 'Units' appears twice"),
    Case("hostile/claims/empty.csv", PRICE, 2, "empty.csv: the file is empty"),
    Case(
        "hostile/claims/units_odd.csv",
        PRICE,
        1,
        "1 lines priced, 3 failed",
        errors=((3, "Units", "units must be a whole number"), (4, "Units", "units must"), (5, "Units", "units must")),
    ),
    Case(
        "hostile/claims/dates_bad.csv",
        PRICE,
        1,
        "1 lines priced, 3 failed",
        errors=(
            (2, "DOS", "date of service is not a date"),
            (3, "DOS", "no PFS relative value file (PPRRVU) is loaded for 2031-01-01"),
            (4, "DOS", "no PFS relative value file (PPRRVU) is loaded for 1999-01-01"),
        ),
    ),
    Case(
        "hostile/claims/place_unknown.csv",
        PRICE,
        1,
        errors=((2, "POS", "place of service is not 11, 19, 21, 22, 24"), (3, "POS", "place of service is not")),
    ),
    Case("hostile/claims/reversal_negative.csv", PRICE, 1, errors=((3, "Billed Charge", "a negative billed charge reverses"),)),
    Case("hostile/claims/header_repeated_inside.csv", PRICE, 1, errors=((3, "", "a copy of the header row"),)),
    Case("hostile/claims/extra_fields.csv", PRICE, 1, errors=((3, "", "row has 12 fields; the header has 10"),)),
    Case("generated/claims/claims_line_10mb.csv", PRICE, 1, errors=((3, "", "row cannot be read"),)),
    Case(
        "hostile/claims/unknown_values.csv",
        PRICE,
        1,
        errors=(
            (2, "CPT", "unknown code"),
            (3, "Zip", "ZIP code is not 5 digits"),
            (4, "Payer", "payer is not a saved payer: Nobody Health"),
            (5, "Billed Charge", "billed charge is not an amount"),
        ),
    ),
    Case(
        "hostile/claims/formula_payloads.csv",
        PRICE,
        1,
        errors=((2, "Payer", 'payer is not a saved payer: =HYPERLINK("http://x")'),),
        check=formula_claim_ids_stay_text,
    ),
    Case(
        "hostile/claims/formula_payloads.csv",
        ("price-claims", "{file}", "--output", "{out}/priced.xlsx"),
        1,
        errors=((2, "Payer", "payer is not a saved payer"),),
    ),
    Case(
        "hostile/claims/lowercase_modifiers.csv", PRICE, 0, "4 lines priced, 0 failed", check=lowercase_codes_price_as_uppercase
    ),
    Case("hostile/claims/semicolon.csv", PRICE, 0, "1 lines priced, 0 failed", check=decimal_commas_are_decimal_points),
    Case("hostile/claims/latin1_byte.csv", PRICE, 0, "1 lines priced, 0 failed", check=windows_1252_text_is_kept),
    # payer contracts: the file is refused whole and the database keeps what it had
    Case("hostile/contracts/name_10000_characters.yaml", PAYERS, 2, "field 'payer': contract 1: 10,000 characters; at most 100"),
    Case("hostile/contracts/duplicate_names.yaml", PAYERS, 2, "payer 'Twice Health' appears twice"),
    Case("hostile/contracts/percent_negative.yaml", PAYERS, 2, "field 'percent': contract 1: -125 is negative"),
    Case("hostile/contracts/percent_10000.yaml", PAYERS, 2, "field 'percent': contract 1: 10000 is above the limit of 1000"),
    Case("hostile/contracts/percent_1e25.yaml", PAYERS, 2, "field 'percent': contract 1: 1e25 is above the limit"),
    Case("hostile/contracts/copay_1e30.yaml", PAYERS, 2, "copay_1e30.yaml, field 'copay': contract 1: 1e30 is above the limit"),
    Case("hostile/contracts/fees_negative.yaml", PAYERS, 2, "field 'fees 20552': contract 1: -45.00 is negative"),
    Case("hostile/contracts/alias_bomb.yaml", PAYERS, 2, "alias_bomb.yaml, row 3: YAML anchors and aliases"),
    Case("hostile/contracts/python_object_tag.yaml", PAYERS, 2, "row 2: not valid YAML/JSON", check=tag_never_ran),
    Case("hostile/contracts/control_characters.yaml", PAYERS, 2, "field 'payer': contract 1: contains a control character"),
    Case("hostile/contracts/bidi_override.yaml", PAYERS, 2, "field 'payer': contract 1: contains a right-to-left override"),
    Case("hostile/contracts/notes_structure.yaml", PAYERS, 2, "field 'notes': contract 1: notes must be text"),
    Case("hostile/contracts/not_a_list.yaml", PAYERS, 2, "not_a_list.yaml: expected a list of contracts"),
    Case("hostile/contracts/malformed.yaml", PAYERS, 2, "malformed.yaml, row 4: not valid YAML/JSON"),
    Case("hostile/contracts/unknown_field.yaml", PAYERS, 2, "unknown field(s): percnt"),
    Case("hostile/contracts/cp1252_contract.yaml", PAYERS, 2, "cp1252_contract.yaml: not UTF-8 text (byte 25)"),
    Case("hostile/contracts/formula_names.yaml", PAYERS, 0, "imported 4 contract(s)", check=formula_payers_export_as_text),
    Case(
        "hostile/contracts/unicode_names.yaml",
        PAYERS,
        0,
        "imported 3 contract(s)",
        check=saved_names(["Ünïcödé Health Plan — Zürich", "医疗保险 PPO"]),
    ),
    Case("hostile/contracts/utf16_contract.yaml", PAYERS, 0, "imported 1 contract(s)", check=saved_names(["Ütf Sixteen Health"])),
    # a payer's fee schedule upload: refused whole, the contract unchanged
    Case("hostile/fee_schedules/text_amount.csv", FEES, 2, "text_amount.csv, row 3, field 'amount': 'forty' is not an amount"),
    Case("hostile/fee_schedules/unknown_code.csv", FEES, 2, "unknown_code.csv, row 3, field 'code': unknown code 'ZZZZZ'"),
    Case("hostile/fee_schedules/duplicate_code.csv", FEES, 2, "duplicate_code.csv, row 4, field 'code': 76942 appears twice"),
    Case("hostile/fee_schedules/amount_negative.csv", FEES, 2, "amount_negative.csv, row 2, field 'amount': '-45.00'"),
    Case("hostile/fee_schedules/amount_huge.csv", FEES, 2, "amount_huge.csv, row 2, field 'amount': 99999999999999.00 is above"),
    Case("hostile/fee_schedules/empty.csv", FEES, 2, "empty.csv: the file is empty"),
    Case("hostile/cms/damaged.xlsx", FEES, 2, "damaged.xlsx: not a readable xlsx workbook"),
    # the practice
    Case("hostile/practice/zip_letters.yaml", PRACTICE, 2, "zip_letters.yaml, field 'zip_code': 'ABCDE' is not a ZIP code"),
    Case("hostile/practice/locality_unknown.yaml", PRACTICE, 2, "locality_unknown.yaml, field 'locality': unknown Medicare"),
    Case("hostile/practice/charge_code_formula.yaml", PRACTICE, 2, "field 'charges': '=1+1' is not a HCPCS code"),
    Case("hostile/practice/charge_negative.yaml", PRACTICE, 2, "field 'charges 20552': -150.00 is negative"),
    # sessions
    Case("hostile/sessions/muscles_zero.json", SESSION_CMD, 2, "muscles_zero.json, field 'muscles': 0 muscles"),
    Case("hostile/sessions/muscles_1000.json", SESSION_CMD, 2, "muscles_1000.json, field 'muscle_count': 1000 is more than 100"),
    Case("hostile/sessions/muscles_text.json", SESSION_CMD, 2, "field 'muscle_count': 'three' is not a whole number"),
    Case("hostile/sessions/dose_negative.json", SESSION_CMD, 2, "dose_negative.json, field 'dose': dose of triamcinolone must"),
    Case("hostile/sessions/dose_1e9.json", SESSION_CMD, 2, "dose_1e9.json, field 'dose': dose of triamcinolone must be more"),
    Case("hostile/sessions/dose_1e9.json", COMPARE, 2, "dose_1e9.json, field 'dose'"),
    Case("hostile/sessions/dose_unit_unknown.json", SESSION_CMD, 2, "field 'drugs': unknown dose unit 'gallons'"),
    Case("hostile/sessions/drug_unknown.json", SESSION_CMD, 2, "drug_unknown.json, field 'drugs': unknown drug 'unobtainium'"),
    Case("hostile/sessions/zip_six_digits.json", SESSION_CMD, 2, "field 'zip_code': '352031' is not a ZIP code"),
    Case("hostile/sessions/zip_six_digits.json", EXCEL, 2, "zip_six_digits.json, field 'zip_code'"),
    Case("hostile/sessions/place_of_service_23.json", SESSION_CMD, 2, "field 'place_of_service': place of service '23' is not"),
    Case("hostile/sessions/date_outside_data.json", SESSION_CMD, 2, "field 'date_of_service': no PFS relative value file"),
    Case("hostile/sessions/date_outside_data.json", COMPARE, 2, "date_outside_data.json, field 'date_of_service'"),
    Case("hostile/sessions/deductible_negative.json", SESSION_CMD, 2, "field 'deductible_remaining': remaining deductible -5"),
    Case("hostile/sessions/deductible_negative.json", COMPARE, 2, "field 'deductible_remaining'"),
    Case("hostile/sessions/em_code_formula.json", SESSION_CMD, 2, "field 'em_code': =1+1 is not an office E/M code"),
    Case("hostile/sessions/deeply_nested.json", SESSION_CMD, 2, "deeply_nested.json: nested more than 50 levels deep"),
    Case("hostile/sessions/not_json.json", SESSION_CMD, 2, "not_json.json, row 2: not valid JSON"),
    Case("hostile/sessions/utf16.json", SESSION_CMD, 0, check=session_priced),
    # forecast scenarios
    Case("hostile/scenarios/growth_minus_150.yaml", FORECAST, 2, "field 'growth_percent_per_month': -150 is below -100"),
    Case("hostile/scenarios/volume_1e30.yaml", FORECAST, 2, "field 'sessions_per_month': 1e30 is above the limit"),
    Case("hostile/scenarios/months_100000.yaml", FORECAST, 2, "field 'months': 100000: months must be a whole number"),
    Case("hostile/scenarios/mix_not_100.yaml", FORECAST, 2, "field 'payer_mix': the payer mix adds up to 90%, not 100%"),
    Case("hostile/scenarios/payer_unknown.yaml", FORECAST, 2, "payer_unknown.yaml, field 'payer_mix': payer(s) not saved"),
    Case("hostile/scenarios/start_outside_data.yaml", FORECAST, 2, "field 'start': month 2031-01: no PFS relative value"),
    Case("hostile/scenarios/alias_bomb.yaml", FORECAST, 2, "alias_bomb.yaml, row 2: YAML anchors and aliases"),
    Case("hostile/scenarios/malformed.yaml", FORECAST, 2, "malformed.yaml, row 5: not valid YAML/JSON"),
    Case("hostile/scenarios/formula_name.yaml", FORECAST, 0, "wrote 12 rows"),
    # Excel and other exports
    Case(SESSION, EXCEL, 0, "wrote", setup="formula_payers", area="exports"),
    Case(SESSION, EXCEL, 2, "field 'payers': no payers", setup="no_payers", area="exports"),
    Case(SESSION, COMPARE, 2, "field 'payers': no payers to compare", setup="no_payers", area="exports"),
    Case(SESSION, ("excel", "{file}", "--output", "{out}/no/such/folder/model.xlsx"), 2, "folder", area="exports"),
    Case(
        SESSION,
        ("excel", "{file}", "--output", "{out}/model.csv"),
        2,
        "field '--output': the output must end in .xlsx",
        area="exports",
    ),
    # the practice database
    Case(SESSION, COMPARE, 0, setup="database_broken_row", check=broken_payer_set_aside, area="database"),
    Case(
        "hostile/contracts/unicode_names.yaml",
        PAYERS,
        2,
        "the practice database is damaged",
        setup="garbage_database",
        area="database",
    ),
    Case(
        "hostile/contracts/unicode_names.yaml",
        PAYERS,
        2,
        "is a folder, not a database file",
        setup="database_is_a_folder",
        area="database",
    ),
    Case(
        "hostile/contracts/unicode_names.yaml",
        PAYERS,
        2,
        "the practice database is damaged",
        setup="database_missing_table",
        area="database",
    ),
    Case(
        "hostile/contracts/unicode_names.yaml",
        PAYERS,
        2,
        "written by a newer version",
        setup="database_from_a_newer_version",
        area="database",
    ),
    Case(
        "hostile/contracts/unicode_names.yaml",
        PAYERS,
        2,
        "the practice database is read-only",
        setup="read_only_database",
        area="database",
    ),
]


# -- what every case must leave behind ---------------------------------------------------------------


def assert_no_formulas(folder: Path) -> None:
    """No user text as a formula in any CSV or xlsx written to ``folder``."""
    for path in folder.rglob("*"):
        if path.suffix == ".csv":
            for row in csv.reader(io.StringIO(path.read_text(encoding="utf-8"))):
                bad = [cell for cell in row if is_formula_text(cell)]
                assert not bad, (path.name, bad)
        elif path.suffix == ".xlsx":
            for sheet in load_workbook(path).worksheets:
                for row in sheet.iter_rows():
                    for cell in row:
                        text = str(cell.value or "")
                        if cell.data_type == "f":  # the model's own formulas only: none carries user text
                            assert not any(m in text for m in ("HYPERLINK", "cmd", "SUM(1", "SUM(A1")), (path.name, text)
                        elif is_formula_text(text):
                            assert cell.data_type == "s" and cell.quotePrefix, (path.name, cell.coordinate, text)


def _snapshot(db: Path, data: Path) -> tuple:
    """The database's payers and practice (or its bytes when it cannot be read) and every CMS data file."""
    try:
        connection = CONNECT(f"file:{db}?mode=ro", uri=True)
        saved = (
            connection.execute("SELECT name, contract FROM payers ORDER BY id").fetchall(),
            connection.execute("SELECT data FROM practice").fetchall(),
        )
        connection.close()
    except sqlite3.Error:
        saved = hashlib.sha256(db.read_bytes()).hexdigest() if db.is_file() else db.is_dir()
    files = sorted((str(p.relative_to(data)), p.read_bytes()) for p in data.rglob("*") if p.is_file()) if data.is_dir() else []
    return saved, files


def _errors(out: Path) -> list[tuple[int, str, str]]:
    (path,) = out.glob("*.errors.csv")
    return [(int(r["row"]), r["field"], r["reason"]) for r in csv.DictReader(io.StringIO(path.read_text()))]


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c.category}:{Path(c.fixture).name}:{c.command[0]}:{c.setup or c.exit}")
def test_hostile_input(case: Case, tmp_path, isolated_user_data, monkeypatch):
    db, out = tmp_path / "practice.sqlite3", tmp_path / "out"
    monkeypatch.setenv("TPI_ESTIMATOR_DB", str(db))
    Database(db)
    out.mkdir()
    if case.fixture.startswith("generated/"):
        file = tmp_path / Path(case.fixture).name
        GENERATED[case.fixture.removeprefix("generated/")](file)
    else:
        file = FIXTURES / case.fixture
    if case.setup:
        SETUPS[case.setup](db, monkeypatch)
    before = _snapshot(db, isolated_user_data)

    args = [a.format(file=file, out=out, data=isolated_user_data) for a in case.command]
    result = CliRunner().invoke(main, args)
    output = result.output

    assert "Traceback" not in output and (result.exception is None or isinstance(result.exception, SystemExit)), output
    assert result.exit_code == case.exit, output
    assert case.message in output, output
    if case.exit == 2:
        assert [line for line in output.splitlines() if line.startswith("error:")] == [output.strip().splitlines()[-1]]
        monkeypatch.undo()  # read the database as it is on disk
        assert _snapshot(db, isolated_user_data) == before, "changed on a refused input"
        assert [p.name for p in out.rglob("*")] == [], "a refused input left files behind"
    if case.errors:
        found = _errors(out)
        assert [(row, field) for row, field, _ in found] == [(row, field) for row, field, _ in case.errors]
        assert all(reason.startswith(start) for (_, _, reason), (_, _, start) in zip(found, case.errors, strict=True)), found
    assert_no_formulas(out)
    if case.check:
        case.check(isolated_user_data, output)


def test_every_fixture_in_the_corpus_is_a_case():
    used = {c.fixture for c in CASES}
    kept = {str(p.relative_to(FIXTURES)) for p in HOSTILE.rglob("*") if p.is_file()}
    assert kept <= used, sorted(kept - used)


def test_the_corpus_covers_every_category():
    counts = pd.Series([c.category for c in CASES]).value_counts().to_dict()
    assert set(counts) == {
        "cms",
        "claims",
        "contracts",
        "fee_schedules",
        "practice",
        "sessions",
        "scenarios",
        "exports",
        "database",
        "remittances",
    }
    assert len(CASES) >= 100, counts
