"""Plain tables as .xlsx bytes (a pure function: no file, no UI).

Amounts, RVUs, GPCIs, the conversion factor, units and percentages are stored as numbers with a
number format; codes (HCPCS, modifiers, carriers, localities, ZIP codes, claim ids) stay text;
blanks are empty cells. User text is always a text cell, never a formula, and text that a
spreadsheet would run as a formula gets a leading apostrophe. The sheet is not protected; the header
row is frozen, filters are on, and columns are as wide as their content.
"""

from __future__ import annotations

import io
import re
from decimal import Decimal

import pandas as pd
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter

from .errors import InputError
from .textio import is_formula_text

MONEY_FORMAT = '"$"#,##0.00'
EXCEL_MAX_ROWS = 1_048_576
MONEY = re.compile(
    r"(allowed|copay|deductible|coinsurance|sequestration|expected|expected_to_provider|denied|at_risk_\w+|limiting_charge|"
    r"patient_share|payer_payment|difference_to_best|billed\w*|patient_responsibility|expected_collections|medicare|"
    r"variance|\w+_variance|contractual|other_adjustments|expected_\w+|era_\w+|\w+_amount|\w+_charge|\w+_cap|\w+_payment|paid\w*)"
)
NUMBER = re.compile(
    r"(units|sessions|count|row|line|item|lines|\w+_lines|lines_\w+|\w*days\w*|\w+_rvu|\w+_gpci|conversion_factor|percent_of_medicare|rank|\w+_percent)"
)
_DECIMAL = re.compile(r"-?\d+(?:\.\d+)?")


def column_kind(name: str) -> str:
    """money, number or text, from the column's name (codes are text even when they are digits)."""
    folded = str(name).strip().lower().replace(" ", "_")
    if MONEY.fullmatch(folded):
        return "money"
    if NUMBER.fullmatch(folded):
        return "number"
    return "text"


def _value(value, kind: str):
    """A cell value: a Decimal for a number column (when the text is a number), else text or None."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    if isinstance(value, bool):
        return value
    text = str(value)
    if text == "":
        return None
    if kind != "text" and _DECIMAL.fullmatch(text.strip()):
        return Decimal(text.strip())
    if kind != "text" and isinstance(value, (int, float, Decimal)):
        return value
    return text


def table_workbook(table: pd.DataFrame, title: str) -> bytes:
    """A table as an .xlsx: numbers as numbers, all text as text (never a formula)."""
    return tables_workbook({title: table})


def tables_workbook(sheets: dict[str, pd.DataFrame]) -> bytes:
    """Tables as the sheets of one .xlsx, in order, each as :func:`table_workbook` writes it."""
    workbook = Workbook(write_only=True)
    for title, table in sheets.items():
        _sheet(workbook, table, title)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _sheet(workbook: Workbook, table: pd.DataFrame, title: str) -> None:
    if len(table) + 1 >= EXCEL_MAX_ROWS:
        raise InputError(f"{len(table):,} rows do not fit in an Excel sheet; write a .csv instead", field="output")
    ws = workbook.create_sheet(re.sub(r"[\[\]:*?/\\]", " ", title)[:31] or "Table")
    columns = [str(c) for c in table.columns]
    kinds = [column_kind(c) for c in columns]
    widths = [min(max(len(c), 8) + 2, 60) for c in columns]
    for i, column in enumerate(table.columns):
        sample = table[column].head(2000).astype(object).fillna("").astype(str)
        widths[i] = min(max(widths[i], int(sample.str.len().max() if len(sample) else 0) + 2), 60)
        ws.column_dimensions[get_column_letter(i + 1)].width = widths[i]
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = f"A1:{get_column_letter(max(len(columns), 1))}{len(table) + 1}"
    header = []
    for name in columns:
        cell = WriteOnlyCell(ws, value=name)
        cell.data_type = "s"
        cell.quotePrefix = is_formula_text(name)
        cell.font = Font(bold=True)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
        header.append(cell)
    ws.append(header)
    money_style = WriteOnlyCell(ws)
    money_style.number_format = MONEY_FORMAT
    quoted = WriteOnlyCell(ws)
    quoted.quotePrefix = True
    for values in table.itertuples(index=False):
        row = []
        for value, kind in zip(values, kinds, strict=True):
            shown = _value(value, kind)
            if isinstance(shown, str):
                cell = WriteOnlyCell(ws, value=shown)
                cell.data_type = "s"  # never a formula; the quote prefix keeps it text when edited
                if is_formula_text(shown):
                    cell._style = quoted._style
                row.append(cell)
            elif kind == "money" and shown is not None:
                cell = WriteOnlyCell(ws, value=shown)
                cell._style = money_style._style
                row.append(cell)
            else:
                row.append(shown)
        ws.append(row)
