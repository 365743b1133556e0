"""Reading files a user uploads (CSV or XLSX) without trusting them.

An xlsx is a zip of XML. Before openpyxl opens one: its size, member count, total
uncompressed size and compression ratio are checked (zip bombs), macro-enabled workbooks
are refused, and XML is parsed through defusedxml (openpyxl uses it when installed), so
entity tricks (XXE, billion laughs) fail. The workbook is opened read-only, values only.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from decimal import Decimal
from pathlib import Path

import defusedxml  # noqa: F401  (openpyxl parses through defusedxml when it is installed)

from .errors import InputError

MAX_FILE_BYTES = 50 * 2**20
MAX_MEMBERS = 2_000
MAX_UNCOMPRESSED_BYTES = 500 * 2**20
MAX_RATIO = 200


def check_xlsx(path: Path) -> None:
    """Refuse a workbook that is too big, a zip bomb, or carries macros."""
    name = Path(path).name
    if Path(path).stat().st_size > MAX_FILE_BYTES:
        raise InputError(f"larger than {MAX_FILE_BYTES // 2**20} MB", file=name)
    if Path(path).suffix.lower() in (".xlsm", ".xlsb", ".xls"):
        raise InputError("only .xlsx workbooks are read (no macros, no legacy formats)", file=name)
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
            types = archive.read("[Content_Types].xml") if "[Content_Types].xml" in archive.namelist() else b""
            declared = [m.filename for m in members[:MAX_MEMBERS] if _declares_entities(archive, m)]
    except (zipfile.BadZipFile, OSError, RuntimeError) as error:
        raise InputError(f"not a readable xlsx workbook ({error})", file=name) from None
    if len(members) > MAX_MEMBERS:
        raise InputError(f"the workbook has {len(members)} parts (limit {MAX_MEMBERS})", file=name)
    if sum(m.file_size for m in members) > MAX_UNCOMPRESSED_BYTES:
        raise InputError("the workbook expands to more than 500 MB (a zip bomb?)", file=name)
    for member in members:
        if member.filename.startswith(("/", "\\")) or ".." in member.filename.replace("\\", "/").split("/"):
            raise InputError(f"part {member.filename[:80]!r} points outside the workbook", file=name)
        if member.file_size > MAX_RATIO * max(member.compress_size, 1) and member.file_size > 2**20:
            raise InputError(f"part {member.filename} is compressed more than {MAX_RATIO}:1 (a zip bomb?)", file=name)
        if member.filename.lower().endswith("vbaproject.bin"):
            raise InputError("the workbook carries macros; save it as a plain .xlsx", file=name)
    if b"macroEnabled" in types:
        raise InputError("the workbook is macro-enabled; save it as a plain .xlsx", file=name)
    if declared:
        raise InputError(f"part {declared[0]} declares a document type or entities (an XML entity attack?)", file=name)


def _declares_entities(archive: zipfile.ZipFile, member: zipfile.ZipInfo) -> bool:
    """A DOCTYPE in an XML part: spreadsheets never have one; XXE and entity-expansion attacks need it.
    It must come before the root element, so the part's first 4 KB tell."""
    if not member.filename.lower().endswith((".xml", ".rels")):
        return False
    with archive.open(member) as part:
        return b"<!DOCTYPE" in part.read(4096).upper()


def xlsx_rows(path: Path) -> list[list[str]]:
    """The first sheet's cells as text, after :func:`check_xlsx`."""
    from openpyxl import load_workbook

    check_xlsx(path)
    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
        try:
            return [
                ["" if v is None else (repr(v) if isinstance(v, float) else str(v)) for v in row]
                for row in workbook.worksheets[0].iter_rows(values_only=True)
            ]
        finally:
            workbook.close()
    except InputError:
        raise
    except Exception as error:  # openpyxl and defusedxml raise many types for a damaged or hostile workbook
        first = str(error).strip().splitlines()[0] if str(error).strip() else ""
        raise InputError(f"not a readable xlsx workbook ({type(error).__name__}: {first[:200]})", file=Path(path).name) from None


def decode(raw: bytes) -> str:
    """Text of a file: UTF-16 with its byte-order mark (Excel's "Unicode text"), UTF-8, else Windows-1252."""
    if raw[:2] in (b"\xff\xfe", b"\xfe\xff"):
        try:
            return raw.decode("utf-16")
        except UnicodeDecodeError:
            pass
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    return raw.decode("latin-1")


def read_upload(path: Path) -> bytes | list[list[str]]:
    """An uploaded file: the rows of a workbook (after :func:`check_xlsx`), else its bytes, at most
    ``MAX_FILE_BYTES``."""
    path = Path(path)
    if not path.is_file():
        raise InputError("no such file", file=path)
    with path.open("rb") as handle:
        head = handle.read(4)
    if path.suffix.lower() in (".xlsx", ".xlsm", ".xlsb", ".xls") or head == b"PK\x03\x04":
        return xlsx_rows(path)
    if path.stat().st_size > MAX_FILE_BYTES:
        raise InputError(f"larger than {MAX_FILE_BYTES // 2**20} MB", file=path.name)
    return path.read_bytes()


def table_rows(path: Path) -> list[list[str]]:
    """Rows of text cells from a CSV or XLSX upload."""
    content = read_upload(path)
    return content if isinstance(content, list) else csv_rows(decode(content), Path(path).name)


def csv_rows(text: str, name: str) -> list[list[str]]:
    """Rows of a delimited text file: comma, semicolon or tab (Excel's "Unicode text"), found from the
    first lines; a field longer than the csv module allows is an InputError naming the row."""
    if "\x00" in text:
        raise InputError("a binary file, not delimited text (CSV or tab-separated)", file=name)
    sample = "\n".join(text.splitlines()[:20])
    delimiter = max(",;\t", key=sample.count) if sample else ","
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    rows = []
    try:
        for row in reader:
            rows.append(row)
    except csv.Error as error:
        raise InputError(f"not a readable delimited text file ({error})", file=name, row=reader.line_num) from None
    return rows


CODE_HEADERS = ("hcpcs", "code", "cpt", "cpt/hcpcs", "hcpcs code", "procedure code")
MODIFIER_HEADERS = ("modifier", "mod")
AMOUNT_HEADERS = ("amount", "fee", "rate", "allowed", "allowed amount", "price", "fee amount")


def _cell(row: list[str], at: int | None) -> str:
    return row[at].strip() if at is not None and at < len(row) else ""


def read_fee_schedule(path: Path, known_codes: set[str]) -> dict[str, Decimal]:
    """A payer's fee schedule (columns code [, modifier], amount) -> {code or code-modifier: amount}.

    Every row is checked: a code that is neither in the PFS nor the ASP file, or text in the
    amount column, stops the import with its row and column named.
    """
    from .contracts import MAX_AMOUNT

    rows = table_rows(path)
    name = Path(path).name
    if not rows:
        raise InputError("the file is empty", file=name)
    header = [c.strip().lower() for c in rows[0]]

    def column(names, label, required=True):
        found = next((i for i, h in enumerate(header) if h in names), None)
        if found is None and required:
            raise InputError(f"no {label} column (one of: {', '.join(names)})", file=name, row=1)
        return found

    code_at, amount_at, modifier_at = (
        column(CODE_HEADERS, "code"),
        column(AMOUNT_HEADERS, "amount"),
        column(MODIFIER_HEADERS, "modifier", False),
    )
    fees = {}
    for number, row in enumerate(rows[1:], start=2):
        if not any(c.strip() for c in row):
            continue
        code, modifier, amount = (_cell(row, code_at).upper(), _cell(row, modifier_at).upper(), _cell(row, amount_at))
        if code not in known_codes:
            raise InputError(f"unknown code {code!r} (not in the PFS or ASP file)", file=name, row=number, field=header[code_at])
        text = amount.replace("$", "").replace(",", "").strip()
        if not re.fullmatch(r"\d+(\.\d{1,6})?|\.\d{1,6}", text):
            raise InputError(
                f"{amount!r} is not an amount with at most 6 decimals", file=name, row=number, field=header[amount_at]
            )
        if Decimal(text) > MAX_AMOUNT:
            raise InputError(f"{amount} is above the limit of {MAX_AMOUNT}", file=name, row=number, field=header[amount_at])
        if modifier not in ("", "26", "TC"):
            raise InputError(
                f"modifier {modifier!r}: fees are given per code, or per -26 / -TC row",
                file=name,
                row=number,
                field=header[modifier_at],
            )
        key = f"{code}-{modifier}" if modifier else code
        if key in fees:
            raise InputError(f"{key} appears twice", file=name, row=number, field=header[code_at])
        fees[key] = Decimal(text)
    if not fees:
        raise InputError("no fee rows below the header", file=name)
    return fees
