"""Excel estimates for payer contracting: a working model with live formulas.

``estimate_workbook`` returns the bytes of an .xlsx (a pure function: no file, no UI). The numbers come
from the engine (estimator.engine); each formula mirrors the engine's rule for that figure, and each
formula cell also carries the engine's value as its cached value, so viewers that do not recalculate
show the same numbers and a recalculation reproduces them (tests/test_excel.py recalculates every
formula and compares).

- Assumptions: every input as a named, unlocked yellow cell with data validation; percentages are
  Excel percentages (20% is stored as 0.2); TRUE/FALSE flags; inputs that do not apply to a payer are
  shown as locked values, not inputs. A check shows whether the payer mix adds up to 100%.
- Fee schedule: each Medicare amount is a formula over the RVUs and the named inputs, rounded where
  the engine rounds (once per line); each payer's office amount for one unit of each code, alone (a
  list price: no claim edits).
- Session estimate: the session's lines under every payer, with who bills each line (the practice or
  the facility), the share the claim edits and multiple-procedure rules leave it, and the patient's
  and payer's shares for a first visit of the year (deductible due) and once the deductible is met;
  totals for the practice's claim and, apart, the facility's.
- Payer comparison and Forecast: formulas over the sheets above, with native charts.
- Sources: every CMS release used, the export date, the product version, the assumptions.

User text (payer names, notes) is always written as text, never as a formula. Sheets are protected
without a password so that formulas are not overwritten by accident; formatting columns, sorting and
filtering stay allowed (Review > Unprotect Sheet lifts the protection).
"""

from __future__ import annotations

import datetime as dt
import functools
import io
import re
import zipfile
from copy import copy
from dataclasses import dataclass, field, replace
from decimal import Decimal
from fractions import Fraction
from typing import Any

import numpy as np
import pandas as pd
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.chart import BarChart, LineChart, Reference
from openpyxl.formatting.rule import FormulaRule
from openpyxl.styles import Alignment, Font, PatternFill, Protection
from openpyxl.utils import get_column_letter
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.worksheet.datavalidation import DataValidation

from . import __version__
from .compare import Item, price_items
from .contracts import Contract, Practice
from .domain import Biller, Category, DrugMethod, FacilityPayment, Kind, Method, Setting, place_of_service
from .engine import Book, price
from .errors import InputError
from .forecast import Scenario, Template, run
from .parameters import parameter, rate
from .pfs import NATIONAL
from .pfs import price as price_pfs
from .policies import yearly_limit
from .session import Session, code_session, labels, session_data
from .store import FeeSchedules
from .textio import is_formula_text

MONEY = '"$"#,##0.00'
PERCENT = "0.00%"
FLAG = '"TRUE";"TRUE";"FALSE"'  # a TRUE/FALSE input shows as such in every spreadsheet
RATE = "0.0000"
INPUT_FILL = PatternFill("solid", fgColor="FFF2CC")
ALERT_FILL = PatternFill("solid", fgColor="F4CCCC")
BOLD = Font(bold=True)
WRAP = Alignment(wrap_text=True, vertical="top")
EXCEL_MAX_ROWS = 1_048_576


class Sheet:
    """A write-only worksheet filled in any order, streamed at the end; remembers the engine's value
    for each formula cell (written as cached values) and the width each column needs."""

    def __init__(self, workbook: Workbook, title: str):
        self.ws = workbook.create_sheet(title)
        self.title = title
        self.rows: dict[int, dict[int, tuple]] = {}
        self.cached: dict[str, object] = {}
        self.freeze: str | None = None
        self.filters: str | None = None
        self.width: dict[int, int] = {}
        self.validations: list[DataValidation] = []
        self.styles: dict[tuple, object] = {}
        self.headers: dict[int, dict[int, str]] = {}

    @staticmethod
    def ref(row: int, col: int, absolute: bool = False) -> str:
        letter = get_column_letter(col)
        return f"${letter}${row}" if absolute else f"{letter}{row}"

    def _measure(self, col: int, shown: str, header: bool = False) -> None:
        limit = 40 if header else 60
        size = min(max(len(word) for word in shown.split()) + 2 if header and shown else len(shown) + 2, limit)
        self.width[col] = max(self.width.get(col, 9), size)

    def put(
        self,
        row: int,
        col: int,
        value,
        fmt: str | None = None,
        *,
        editable: bool = False,
        bold: bool = False,
        wrap: bool = False,
        measure: bool = True,
    ) -> None:
        text = isinstance(value, str)
        self.rows.setdefault(row, {})[col] = (value, fmt, editable, bold, text, wrap)
        if measure and value is not None:
            shown = f"{value:,.2f}" if isinstance(value, (float, Decimal)) and fmt in (MONEY,) else str(value)
            self._measure(col, shown[:60])

    def formula(self, row: int, col: int, text: str, cached, fmt: str | None = MONEY, bold: bool = False) -> None:
        self.rows.setdefault(row, {})[col] = ("=" + text, fmt, False, bold, False, False)
        self.cached[f"{get_column_letter(col)}{row}"] = _cached(cached)
        self._measure(
            col,
            f"{float(cached):,.2f}"
            if isinstance(cached, (int, float, Decimal, Fraction)) and not isinstance(cached, bool)
            else "",
        )

    def header(self, row: int, names: list[str], *, first_col: int = 1, table_rows: int = 0) -> None:
        for col, name in enumerate(names, first_col):
            self.put(row, col, name, bold=True, wrap=True, measure=False)
            self._measure(col, name, header=True)
        self.headers[row] = dict(enumerate(names, first_col))
        self.freeze = self.freeze or f"{get_column_letter(first_col)}{row + 1}"
        if table_rows and self.filters is None:
            self.filters = (
                f"{get_column_letter(first_col)}{row}:{get_column_letter(first_col + len(names) - 1)}{row + table_rows}"
            )

    def validate(self, cell: str, kind: str, **options) -> None:
        """Data validation on an input: decimal ranges, whole numbers, or TRUE/FALSE."""
        if kind == "flag":
            rule = DataValidation(type="list", formula1='"TRUE,FALSE"', allow_blank=False)
        else:
            rule = DataValidation(
                type=kind, operator="between", formula1=str(options["low"]), formula2=str(options["high"]), allow_blank=False
            )
        rule.error = options.get("message", "Out of range")
        rule.errorTitle = "Check this input"
        rule.showErrorMessage = True
        rule.add(cell)
        self.validations.append(rule)

    def finish(self) -> None:
        """Protection that still lets a user widen columns, sort and filter; print setup; then the rows."""
        protection = self.ws.protection
        protection.sheet = True
        protection.formatColumns = False
        protection.formatRows = False
        protection.sort = False
        protection.autoFilter = False
        self.ws.page_setup.orientation = "landscape"
        self.ws.page_setup.fitToWidth = 1
        self.ws.page_setup.fitToHeight = 0
        self.ws.sheet_properties.pageSetUpPr.fitToPage = True
        for col, width in self.width.items():
            self.ws.column_dimensions[get_column_letter(col)].width = width
        for row, names in self.headers.items():  # a wrapped header gets the height of its longest name
            lines = max(_lines(name, self.width.get(col, 9)) for col, name in names.items())
            self.ws.row_dimensions[row].height = 15 * lines
        if self.freeze:
            self.ws.freeze_panes = self.freeze
            self.ws.print_title_rows = f"1:{int(re.sub('[A-Z]', '', self.freeze)) - 1}"
        if self.filters:
            self.ws.auto_filter.ref = self.filters
        for rule in self.validations:
            self.ws.data_validations.append(rule)
        for number in range(1, max(self.rows, default=0) + 1):
            cells = self.rows.get(number, {})
            self.ws.append([self._cell(*cells[c]) if c in cells else None for c in range(1, max(cells, default=0) + 1)])

    def _cell(self, value, fmt, editable, bold, text, wrap):
        if not (fmt or editable or bold or text or wrap):
            return value
        cell = WriteOnlyCell(self.ws, value=value)
        if text:
            cell.data_type = "s"  # user and CMS text is never a formula
        quote = text and is_formula_text(value)  # and stays text when edited in Excel (quote prefix)
        cell._style = copy(self._style(fmt, editable, bold, wrap, quote))  # as openpyxl's own copy_worksheet does
        return cell

    def _style(self, fmt, editable, bold, wrap, quote=False):
        """One styled prototype cell per combination (kept on the sheet); cells copy its style array."""
        key = (fmt, editable, bold, wrap, quote)
        if key in self.styles:
            return self.styles[key]
        cell = WriteOnlyCell(self.ws)
        cell.quotePrefix = quote
        if fmt:
            cell.number_format = fmt
        if editable:
            cell.protection = Protection(locked=False)
            cell.fill = INPUT_FILL
        if bold:
            cell.font = BOLD
        if wrap:
            cell.alignment = WRAP
        self.styles[key] = cell._style
        return cell._style


def _lines(text: str, width: float) -> int:
    """Lines a header takes when wrapped at word boundaries in a column ``width`` characters wide."""
    lines, used = 1, 0
    for word in str(text).split():
        if used and used + 1 + len(word) > width - 1:
            lines, used = lines + 1, len(word)
        else:
            used += len(word) + (1 if used else 0)
    return lines


def _cached(value):
    if isinstance(value, (Fraction, Decimal)):
        return float(value)
    return value


def _money(expr: str) -> str:
    """An amount rounded half up to the cent, as the engine rounds it: float noise below a millionth of a
    cent is removed first, so an exact half cent rounds up in Excel, LibreOffice and other engines alike."""
    return f"ROUND(ROUND(({expr})*100,6),0)/100"


def _up(expr: str) -> str:
    """An amount rounded up to the cent (the OPPS copayment of Addendum B)."""
    return f"ROUNDUP(ROUND(({expr})*100,6),0)/100"


def _name(workbook: Workbook, name: str, sheet: Sheet, row: int, col: int) -> str:
    workbook.defined_names[name] = DefinedName(name, attr_text=f"'{sheet.title}'!{sheet.ref(row, col, True)}")
    return name


def _key_name(prefix: str, key: str) -> str:
    return f"{prefix}_{re.sub(r'[^0-9A-Za-z]', '_', key)}"


def _dollars(cents: Any) -> Decimal:
    """Integer cents as dollars (a blank amount as 0)."""
    return Decimal(0) if cents is None or pd.isna(cents) else Decimal(int(cents)) / 100


def _fraction(value: Any) -> Any:
    """An exact fraction as a Decimal for a cell (Decimals, booleans and text stay as they are)."""
    return Decimal(value.numerator) / Decimal(value.denominator) if isinstance(value, Fraction) else value


@dataclass
class ForecastInputs:
    """The forecast block of the workbook: one template (the session), prices held at its date."""

    months: int = 24
    sessions_per_month: Decimal = Decimal(40)
    growth_percent_per_month: Decimal = Decimal(0)
    seasonality: tuple[Decimal, ...] = (Decimal(1),) * 12
    sessions_per_patient_per_year: Decimal = Decimal(3)
    payer_mix: dict[str, Decimal] = field(default_factory=dict)  # default: equal shares
    denial_rate_percent: dict[str, Decimal] = field(default_factory=dict)


def _mix(contracts: list[Contract], given: dict[str, Decimal]) -> dict[str, Decimal]:
    if given:
        given = {k: Decimal(str(v)) for k, v in given.items()}
        if sum(given.values()) != 100 or set(given) - {c.payer for c in contracts}:
            raise InputError("the payer mix must name saved payers and add up to 100%", field="payer_mix")
        return {c.payer: Decimal(given.get(c.payer, 0)) for c in contracts}
    share = (Decimal(100) / len(contracts)).quantize(Decimal("0.01"))
    mix = {c.payer: share for c in contracts}
    mix[contracts[0].payer] += Decimal(100) - share * len(contracts)
    return mix


def proposed_terms(items, saved: dict[str, Contract], day, *, files: bool = False) -> dict[str, Contract]:
    """ "PAYER=130" (the percent of a percent-of-Medicare or percent-of-charges contract) or, with
    ``files``, "PAYER=fees.csv" (a fee schedule: the contract then pays by it) -> {payer: proposed
    contract}, for :func:`estimate_workbook`."""
    from pathlib import Path

    from .store import FeeSchedules
    from .textio import decimal_field
    from .uploads import read_fee_schedule

    out = {}
    for item in items:
        name, _, terms = str(item).partition("=")
        name, terms = name.strip(), terms.strip()
        if name not in saved or not terms:
            raise InputError(f"{str(item)[:120]!r}: write PAYER=PERCENT with a saved payer's name", field="--propose")
        contract = saved[name]
        if files and Path(terms).suffix.lower() in (".csv", ".xlsx"):
            fees = read_fee_schedule(Path(terms), FeeSchedules().known_codes(dt.date.fromisoformat(str(day))))
            out[name] = Contract.from_dict(
                contract.to_dict() | {"method": "fee_schedule", "fees": {k: str(v) for k, v in fees.items()}}
            )
        elif contract.method in (Method.PERCENT_OF_MEDICARE, Method.PERCENT_OF_CHARGES):
            out[name] = replace(contract, percent=decimal_field(terms, "--propose", places=4, low=0, high=1000))
        else:
            hint = "propose a fee schedule file instead" if files else "propose its terms with excel --propose and a fee file"
            raise InputError(f"{name} is paid by {contract.method.value}: {hint}", field="--propose")
    return out


def estimate_workbook(
    schedules: FeeSchedules,
    session: Session,
    contracts: list[Contract],
    practice: Practice,
    *,
    codes: list[str] | None = None,
    all_codes: bool = False,
    forecast: ForecastInputs | None = None,
    exported_at: dt.datetime | None = None,
    proposals: dict[str, Contract] | None = None,
) -> bytes:
    """The workbook as bytes. ``codes`` (or every payable code with ``all_codes``) fill the fee schedule.

    ``proposals`` maps a payer's name to the terms proposed for it: the proposed contract is priced
    beside the current one as its own payer, "NAME (proposed)", in every sheet, and the forecast gets
    the expected collections under the proposal and the change (same volumes, mix, denials and
    frequency limits as the current contract)."""
    if not contracts:
        raise InputError("no payers: add contracts before exporting", field="payers")
    names = {c.payer for c in contracts}
    unknown = sorted(set(proposals or {}) - names)
    if unknown:
        raise InputError(f"no saved payer named {unknown[0][:100]!r} to propose terms for", field="--propose")
    proposed = {name: replace(c, payer=f"{name} (proposed)") for name, c in (proposals or {}).items()}
    session = replace(session, participating=practice.participating)
    model = _Model(
        schedules, session, contracts, practice, forecast or ForecastInputs(), None if all_codes else (codes or []), proposed
    )
    model.assumptions()
    model.fee_schedule()
    model.session_estimate()
    model.comparison()
    model.contract_terms()
    model.forecast_sheet()
    model.sources(exported_at or dt.datetime.now(dt.UTC))
    for sheet in model.sheets.values():
        sheet.finish()
    model.wb.calculation.fullCalcOnLoad = True
    buffer = io.BytesIO()
    model.wb.save(buffer)
    return _with_cached_values(buffer.getvalue(), model.sheets, model.wb)


def _with_cached_values(data: bytes, sheets: dict[str, Sheet], workbook: Workbook) -> bytes:
    """Write each formula cell's engine value as its cached value (<v>) in the sheet XML."""
    index = {sheet.title: i + 1 for i, sheet in enumerate(workbook.worksheets)}
    source, target = zipfile.ZipFile(io.BytesIO(data)), io.BytesIO()
    pattern = re.compile(r'<c r="([A-Z]+[0-9]+)"([^>]*)><f>([^<]*)</f><v(?: ?/>|></v>)')
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as out:
        for item in source.infolist():
            content = source.read(item.filename)
            sheet = next((s for s in sheets.values() if item.filename == f"xl/worksheets/sheet{index[s.title]}.xml"), None)
            if sheet is not None:

                def cached(match, cache=sheet.cached):
                    value = cache.get(match.group(1))
                    shown = "" if value is None else f"<v>{value}</v>"
                    return f'<c r="{match.group(1)}"{match.group(2)}><f>{match.group(3)}</f>{shown or "<v />"}'

                content = pattern.sub(cached, content.decode("utf-8")).encode("utf-8")
            out.writestr(item, content)
    return target.getvalue()


def _diagnoses(covered) -> str:
    if covered is None:
        return "no list"
    if isinstance(covered, str):
        return f"the shipped list {covered}"
    return ", ".join(covered)


class _Model:
    """Builds the sheets in order; each later sheet refers to cells the earlier ones named."""

    def __init__(
        self,
        schedules: FeeSchedules,
        session: Session,
        contracts: list[Contract],
        practice: Practice,
        forecast: ForecastInputs,
        codes: list[str] | None,
        proposed: dict[str, Contract] | None = None,
    ):
        self.wb = Workbook(write_only=True)
        self.current = contracts  # the payers as saved: the forecast's volumes go to these
        self.proposed = proposed or {}  # current payer name -> its proposed contract (priced as a payer of its own)
        contracts = contracts + list(self.proposed.values())
        self.sheets = {
            name: Sheet(self.wb, name)
            for name in (
                "Assumptions",
                "Fee schedule",
                "Session estimate",
                "Payer comparison",
                "Contract terms",
                "Forecast",
                "Sources",
            )
        }
        self.schedules, self.session, self.contracts, self.practice, self.forecast = (
            schedules,
            session,
            contracts,
            practice,
            forecast,
        )
        self.day = session.date_of_service
        self.place = place_of_service(session.place_of_service)
        self.payer_names = {c.payer: f"P{i}" for i, c in enumerate(contracts, 1)}
        coded = code_session(schedules, session)
        annual = Decimal(parameter("part_b/deductible", self.day).value.numerator)
        due = Item(replace(session, deductible_remaining=annual), coded)
        met = Item(replace(session, deductible_remaining=Decimal(0)), coded)
        self.due = price_items(schedules, [due], contracts, practice)
        self.met = price_items(schedules, [met], [replace(c, deductible=Decimal(0)) for c in contracts], practice)
        for priced in (self.due, self.met):
            failed = priced.lines[~priced.ok]
            if not failed.empty:
                raise InputError(f"{failed['code'].iloc[0]}: {failed['error'].iloc[0]}", field="session")
        first = self.due.lines.iloc[0]
        self.where = (first["carrier"], first["locality"])
        self.setting = Setting(self.place.setting)
        self.used = {v for v in self.due.lines["release"] if v}
        self.fee_frame, self.basis = self._fee_frame(codes)
        self.fee_keys = set(self.fee_frame["key"])
        session_keys = set(self.due.lines.loc[self.due.lines["biller"] == Biller.PHYSICIAN, "key"])
        self.charge_keys = {
            k
            for k in practice.charges
            if k in self.fee_keys | session_keys or k.split("-")[0] in {c.split("-")[0] for c in self.fee_keys | session_keys}
        }
        self.inputs_named: set[str] = set()

    def _fee_frame(self, codes: list[str] | None):
        """The PFS rows of the fee schedule sheet: the codes asked for, the session's, and every code a
        contract names a fee or override for; only rows with an amount."""
        rvu_vintage = self.schedules.in_force("pfs_rvu", self.day)
        rvu = self.schedules.table(rvu_vintage)
        contract_keys = {k.split("-")[0] for c in self.contracts for k in list(c.fees) + list(c.overrides)}
        wanted = None if codes is None else sorted((set(codes) | set(self.session_codes()) | contract_keys) & set(rvu["hcpcs"]))
        frame, basis = self._price_codes(wanted)
        frame = frame[frame["nonfacility_amount"].notna() | frame["facility_amount"].notna()].reset_index(drop=True)
        if len(frame) + 10 > EXCEL_MAX_ROWS:
            raise InputError("too many codes for one sheet", field="codes")
        frame["key"] = frame["hcpcs"].astype(str) + ("-" + frame["modifier"].astype(str)).where(
            frame["modifier"].astype(str) != "", ""
        )
        return frame, basis

    def _input(self, name: str, sheet: Sheet, row: int, col: int) -> str:
        self.inputs_named.add(name)
        return _name(self.wb, name, sheet, row, col)

    def lines(self, priced, payer: str) -> pd.DataFrame:
        return priced.lines[priced.lines["payer"] == payer].sort_values("line")

    # -- Assumptions ------------------------------------------------------------------------
    def assumptions(self) -> None:
        s, day = self.sheets["Assumptions"], self.day
        basis = self.basis
        row0 = self.fee_frame.iloc[0]
        s.put(1, 1, "Assumptions: yellow cells are inputs; every other sheet follows them", bold=True, measure=False)
        s.put(
            2,
            1,
            f"Date of service {day} · locality {'-'.join(self.where) if self.where != NATIONAL else 'national'} "
            f"{row0['locality_name']} · {self.place.label} (POS {self.place.code})",
            measure=False,
        )
        rows = [
            ("CF", "Conversion factor", basis.conversion_factor, RATE, ("decimal", 1, 1000)),
            (
                "GPCI_WORK",
                f"Work GPCI ({'with' if basis.work_gpci_floor else 'without'} the 1.0 floor)",
                Fraction(int(row0["work_gpci"]), 1000),
                "0.000",
                ("decimal", 0, 5),
            ),
            ("GPCI_PE", "Practice expense GPCI", Fraction(int(row0["pe_gpci"]), 1000), "0.000", ("decimal", 0, 5)),
            ("GPCI_MP", "Malpractice GPCI", Fraction(int(row0["mp_gpci"]), 1000), "0.000", ("decimal", 0, 5)),
            (
                "NONPAR_RATE",
                "Non-participating share of the par amount",
                rate("pfs/nonparticipating_rate", day),
                PERCENT,
                ("decimal", 0, 2),
            ),
            (
                "LIMITING_RATE",
                "Limiting charge share of the non-par amount",
                rate("pfs/limiting_charge_rate", day),
                PERCENT,
                ("decimal", 0, 5),
            ),
            (
                "SEQUESTRATION",
                "Sequestration (off Medicare's payment and a plan's that passes it on)",
                rate("sequestration_rate", day),
                PERCENT,
                ("decimal", 0, 1),
            ),
            (
                "PARTB_COINS",
                "Part B coinsurance (PFS lines and the hospital's line)",
                rate("part_b/coinsurance_rate", day),
                PERCENT,
                ("decimal", 0, 1),
            ),
            (
                "PARTB_DEDUCTIBLE",
                f"Part B deductible {day.year} (due at the first visit of the year)",
                parameter("part_b/deductible", day).value,
                MONEY,
                ("decimal", 0, 100000),
            ),
        ]
        s.header(4, ["Input", "Value", "Name"])
        row = 5
        for name, label, value, fmt, check in rows:
            s.put(row, 1, label)
            s.put(row, 2, _fraction(value), fmt, editable=True)
            s.put(row, 3, name)
            self._input(name, s, row, 2)
            s.validate(s.ref(row, 2), check[0], low=check[1], high=check[2])
            row += 1
        row = self._payer_inputs(s, row + 1)
        row = self._code_amounts(s, row + 1)
        self.next_assumption_row = row + 1

    def _payer_inputs(self, s: Sheet, row: int) -> int:
        columns = [
            "Payer",
            "Kind",
            "Method",
            "Percent",
            "$ per RVU",
            "Fixed year",
            "Pinned locality",
            "Drug method",
            "Drug %",
            "Copay",
            "Coinsurance",
            "Deductible when due",
            "Passes sequestration",
            "Guidance covered",
            "E/M-25 paid",
            "Lesser of billed",
            "Frequency limit / year",
            "Denial rate",
            "Payer mix",
        ]
        s.put(
            row,
            1,
            "Payers (yellow: inputs that apply to the payer's method; grey text: terms that do not apply)",
            bold=True,
            measure=False,
        )
        row += 1
        s.header(row, columns)
        mix = _mix(self.current, self.forecast.payer_mix)
        proposals = {c.payer for c in self.proposed.values()}
        codes = set(self.due.lines["code"]) | set(self.fee_frame["hcpcs"])
        has = {
            "guidance": bool(codes & set(self.guidance_codes)),
            "em": bool((self.due.lines["category"] == Category.EM).any()),
            "charges": bool(self.charge_keys),
        }
        self.inputs: dict[str, dict] = {}
        first = row + 1
        for contract in self.contracts:
            row += 1
            p = self.payer_names[contract.payer]
            traditional = contract.kind == Kind.MEDICARE
            s.put(row, 1, contract.payer)
            for col, text in (
                (2, contract.kind.value),
                (3, contract.method.value),
                (6, str(contract.medicare_year or "rolling")),
                (7, contract.locality or "service locality"),
                (8, contract.drug_method.value),
            ):
                s.put(row, col, text)
            limit = yearly_limit(contract.frequency_limits())
            current = contract.payer not in proposals  # a proposal's volumes, denials and limits are its payer's
            percent_applies = contract.method in (Method.PERCENT_OF_MEDICARE, Method.PERCENT_OF_CHARGES)
            drug_applies = contract.drug_method in (DrugMethod.ASP_PLUS, DrugMethod.PERCENT_OF_ASP)
            terms: dict[
                str, tuple[int, Any, str | None, bool, tuple[Any, ...]]
            ] = {  # name: (column, value, format, applies, validation)
                "PCT": (4, contract.percent / 100, PERCENT, percent_applies, ("decimal", 0, 10)),
                "DPR": (5, contract.dollars_per_rvu, MONEY, contract.method == Method.DOLLARS_PER_RVU, ("decimal", 0, 10000)),
                "DRUGPCT": (9, contract.drug_percent / 100, PERCENT, drug_applies, ("decimal", 0, 10)),
                "COPAY": (10, contract.copay, MONEY, not traditional, ("decimal", 0, 10000)),
                "COINS": (11, contract.coinsurance_percent / 100, PERCENT, not traditional, ("decimal", 0, 1)),
                "DED": (12, contract.deductible, MONEY, not traditional, ("decimal", 0, 100000)),
                "SEQ": (13, contract.sequestration, FLAG, not traditional, ("flag",)),
                "GUIDE": (14, contract.guidance_covered, FLAG, has["guidance"] and contract.method != Method.MEDICARE, ("flag",)),
                "EM": (15, contract.em_25_paid, FLAG, has["em"] and contract.method != Method.MEDICARE, ("flag",)),
                "LESSER": (16, contract.lesser_of_billed, FLAG, has["charges"] and contract.method != Method.MEDICARE, ("flag",)),
                "LIMIT": (17, _fraction(limit) if limit else None, "0.00", limit is not None and current, ("decimal", 0, 366)),
                "DENIAL": (
                    18,
                    self.forecast.denial_rate_percent.get(contract.payer, Decimal(0)) / 100,
                    PERCENT,
                    current,
                    ("decimal", 0, 1),
                ),
                "MIX": (19, mix.get(contract.payer, Decimal(0)) / 100, PERCENT, current, ("decimal", 0, 1)),
            }
            for key, (col, value, fmt, applies, check) in terms.items():
                if applies:
                    s.put(row, col, _fraction(value), fmt, editable=True)
                    self._input(f"{key}_{p}", s, row, col)
                    s.validate(s.ref(row, col), check[0], **({} if check[0] == "flag" else {"low": check[1], "high": check[2]}))
                elif traditional and key in ("COPAY", "COINS", "DED", "SEQ"):
                    s.put(
                        row,
                        col,
                        {"COPAY": "none", "COINS": "Part B", "DED": "Part B", "SEQ": True}[key],
                        FLAG if key == "SEQ" else None,
                    )
                else:
                    s.put(row, col, "—")
            self.inputs[contract.payer] = {k: v[1] for k, v in terms.items()}
        last = row
        row += 1
        s.put(row, 18, "Payer mix total", bold=True)
        s.formula(row, 19, f"SUM({s.ref(first, 19)}:{s.ref(last, 19)})", 1, PERCENT, bold=True)
        s.put(row, 20, "must be 100%")
        s.ws.conditional_formatting.add(s.ref(row, 19), FormulaRule(formula=[f"ROUND({s.ref(row, 19)},6)<>1"], fill=ALERT_FILL))
        _name(self.wb, "MIX_TOTAL", s, row, 19)
        return row + 1

    def _code_amounts(self, s: Sheet, row: int) -> int:
        """Per-code contract amounts, the charge master and the drug payment limits the sheets use."""
        fee_codes = set(self.fee_frame["hcpcs"]) | self.fee_keys
        s.put(row, 1, "Per-code amounts in contracts (per unit)", bold=True, measure=False)
        row += 1
        s.header(row, ["Payer", "Kind of amount", "Code", "Amount", "Name"])
        used_drugs = set(self.due.lines.loc[self.due.lines["category"] == Category.DRUG, "code"])
        for contract in self.contracts:
            p = self.payer_names[contract.payer]
            tables = (
                ("FEE", contract.fees, contract.method == Method.FEE_SCHEDULE),
                ("OVR", contract.overrides, True),
                ("DRUGPRICE", contract.drug_per_unit, contract.drug_method == DrugMethod.PER_UNIT),
            )
            for kind, table, applies in tables:
                for key, amount in table.items():
                    live = applies and (key in fee_codes or key.split("-")[0] in fee_codes or key in used_drugs)
                    if not live:
                        continue
                    row += 1
                    name = _key_name(f"{kind}_{p}", key)
                    for col, text in (
                        (1, contract.payer),
                        (2, {"FEE": "fee", "OVR": "override", "DRUGPRICE": "drug price"}[kind]),
                        (3, key),
                        (5, name),
                    ):
                        s.put(row, col, text)
                    s.put(row, 4, amount, "0.000000", editable=True)
                    self._input(name, s, row, 4)
                    s.validate(s.ref(row, 4), "decimal", low=0, high=1_000_000)
        row += 2
        s.put(row, 1, "Charge master (billed charge per unit)", bold=True, measure=False)
        self.charge_names = {}
        for key, amount in self.practice.charges.items():
            if key in self.charge_keys:
                row += 1
                s.put(row, 1, key)
                s.put(row, 2, amount, MONEY, editable=True)
                self.charge_names[key] = self._input(_key_name("CHARGE", key), s, row, 2)
                s.validate(s.ref(row, 2), "decimal", low=0, high=1_000_000)
        row += 2
        s.put(
            row,
            1,
            "Drug payment limits (ASP file, per billing unit) and the file's patient coinsurance",
            bold=True,
            measure=False,
        )
        self.asp_names: dict[str, tuple[str, str]] = {}
        for line in self.due.lines.itertuples():
            if line.category == Category.DRUG and line.code not in self.asp_names:
                row += 1
                s.put(row, 1, f"{line.code} ({line.release})")
                s.put(row, 2, Decimal(int(line.unit_fee)) / 1000, "0.000", editable=True)
                s.put(row, 3, Decimal(int(line.coinsurance_rate)) / 100_000, "0.000%", editable=True)
                self.asp_names[line.code] = (
                    self._input(f"ASP_{line.code}", s, row, 2),
                    self._input(f"ASPCOINS_{line.code}", s, row, 3),
                )
                s.validate(s.ref(row, 2), "decimal", low=0, high=1_000_000)
                s.validate(s.ref(row, 3), "decimal", low=0, high=1)
        return row + 1

    # -- Fee schedule -----------------------------------------------------------------------
    @functools.cached_property
    def guidance_codes(self) -> list[str]:
        return parameter("coding/imaging_guidance_codes", self.day).value["codes"]

    def session_codes(self) -> list[str]:
        physician = self.due.lines[(self.due.lines["biller"] == Biller.PHYSICIAN) & (self.due.lines["category"] != Category.DRUG)]
        return sorted(set(physician["code"]))

    def _price_codes(self, codes, day=None, locality=None, cf_track=None):
        where = [locality or self.where]
        return price_pfs(
            self.schedules,
            day or self.day,
            codes=codes,
            localities=where,
            cf_track=cf_track or self.session.cf_track,
            work_gpci_floor=self.session.work_gpci_floor,
        )

    def fee_schedule(self) -> None:
        s = self.sheets["Fee schedule"]
        frame = self.fee_frame
        keys = frame["key"].tolist()
        office = self._office_amounts(frame, keys)
        columns = [
            "HCPCS",
            "Mod",
            "Label",
            "Work RVU",
            "PE RVU non-facility",
            "PE RVU facility",
            "MP RVU",
            "Total RVU non-facility",
            "Total RVU facility",
            "OPPS cap non-facility",
            "OPPS cap facility",
            "Medicare non-facility",
            "Medicare facility",
            "Non-par non-facility",
            "Non-par facility",
            "Limiting non-facility",
            "Limiting facility",
        ]
        self.col = {name: i for i, name in enumerate(columns, 1)}
        pinned = [c for c in self.contracts if c.method == Method.PERCENT_OF_MEDICARE and (c.medicare_year or c.locality)]
        for contract in pinned:
            columns.append(
                f"{contract.payer}: Medicare base {contract.medicare_year or 'rolling'}"
                + (f" {contract.locality}" if contract.locality else "")
            )
            self.col[f"base {contract.payer}"] = len(columns)
        first_payer = len(columns) + 1
        columns += [f"{c.payer} (office, one unit)" for c in self.contracts]
        s.put(
            1,
            1,
            f"Fee schedule {self.day} · RVUs {self.basis.rvu.name} · GPCIs {self.basis.gpci_name} · amounts rounded to the cent "
            "once · payer columns: each code alone, one unit, in the office (a list price: no claim edits)",
            bold=True,
            measure=False,
        )
        s.header(3, columns, table_rows=len(frame))
        self.fee_rows: dict[str, int] = {}
        names = labels()
        letter = {name: get_column_letter(i) for name, i in self.col.items()}
        for i, r in enumerate(frame.itertuples(index=False)):
            row, key = 4 + i, keys[i]
            self.fee_rows[key] = row
            s.put(row, 1, str(r.hcpcs))
            s.put(row, 2, str(r.modifier))
            s.put(row, 3, names.get(str(r.hcpcs), "") if not r.modifier else "")
            for name, value in (
                ("Work RVU", r.work_rvu),
                ("PE RVU non-facility", r.pe_rvu_nonfacility),
                ("PE RVU facility", r.pe_rvu_facility),
                ("MP RVU", r.mp_rvu),
            ):
                s.put(row, self.col[name], Decimal(int(value)) / 100, "0.00")
            for setting, label in (("nonfacility", "non-facility"), ("facility", "facility")):
                pe = letter[f"PE RVU {label}"]
                s.formula(
                    row,
                    self.col[f"Total RVU {label}"],
                    f"{letter['Work RVU']}{row}+{pe}{row}+{letter['MP RVU']}{row}",
                    Decimal(int(r.work_rvu + getattr(r, f"pe_rvu_{setting}") + r.mp_rvu)) / 100,
                    "0.00",
                )
                cap = getattr(r, f"{setting}_opps_cap")
                cap_col = letter[f"OPPS cap {label}"]
                s.put(row, self.col[f"OPPS cap {label}"], None if pd.isna(cap) else Decimal(int(cap)) / 100, MONEY)
                exact = f"({letter['Work RVU']}{row}*GPCI_WORK+{pe}{row}*GPCI_PE+{letter['MP RVU']}{row}*GPCI_MP)*CF"
                amount = _money(exact)
                s.formula(
                    row,
                    self.col[f"Medicare {label}"],
                    f'IF({cap_col}{row}="",{amount},MIN({amount},{cap_col}{row}))',
                    _dollars(getattr(r, f"{setting}_payment")),
                )
                binds = f'AND({cap_col}{row}<>"",{cap_col}{row}<{amount})'  # the cap binds: non-par from the cap
                s.formula(
                    row,
                    self.col[f"Non-par {label}"],
                    f"IF({binds},{_money(f'{cap_col}{row}*NONPAR_RATE')},{_money(f'{exact}*NONPAR_RATE')})",
                    _dollars(getattr(r, f"{setting}_nonpar_amount")),
                )
                s.formula(
                    row,
                    self.col[f"Limiting {label}"],
                    f"IF({binds},{_money(f'{cap_col}{row}*NONPAR_RATE*LIMITING_RATE')},{_money(f'{exact}*NONPAR_RATE*LIMITING_RATE')})",
                    _dollars(getattr(r, f"{setting}_limiting_charge")),
                )
            for contract in pinned:
                base = office.get((contract.payer, key))
                s.put(
                    row,
                    self.col[f"base {contract.payer}"],
                    None if base is None else Decimal(int(base["base_unit"])) / 1000,
                    MONEY,
                )
            for j, contract in enumerate(self.contracts):
                value = office.get((contract.payer, key))
                s.formula(row, first_payer + j, self._office_cell(contract, key, row), _dollars(value["allowed"] if value else 0))
        self.payer_col = {c.payer: first_payer + j for j, c in enumerate(self.contracts)}

    def _office_amounts(self, frame: pd.DataFrame, keys: list[str]) -> dict:
        """Each payer's amount for one unit of each code alone in the office (engine, without claim edits)."""
        charges = self.practice.charge_cents(frame["hcpcs"].astype(str), keys)
        base = pd.DataFrame(
            {
                "code": frame["hcpcs"].astype(str),
                "modifiers": frame["modifier"].astype(str),
                "key": keys,
                "billed": pd.array(charges, dtype="Int64"),
            }
        )
        tables = [base.assign(payer=c.payer) for c in self.contracts]
        lines = pd.concat(tables, ignore_index=True).assign(
            date_of_service=self.day,
            place_of_service="11",
            zip_code=self.session.zip_code or "",
            locality=self.session.locality or "",
            participating=self.practice.participating,
            cf_track=self.session.cf_track,
            work_gpci_floor="" if self.session.work_gpci_floor is None else ("on" if self.session.work_gpci_floor else "off"),
        )
        priced = price(lines, Book(self.schedules, {c.payer: c for c in self.contracts}), reasons=False, edits=False).lines
        return {
            (p, k): {"allowed": a, "base_unit": b}
            for p, k, a, b in zip(priced["payer"], lines["key"], priced["allowed"], priced["base_unit"], strict=True)
        }

    def _fee_ref(self, key: str, nonpar: bool, setting: Setting) -> str:
        label = "non-facility" if setting == Setting.NONFACILITY else "facility"
        column = self.col[f"{'Non-par' if nonpar else 'Medicare'} {label}"]
        return f"'Fee schedule'!{get_column_letter(column)}{self.fee_rows[key]}"

    def _office_cell(self, contract: Contract, key: str, row: int) -> str:
        """One unit of one code alone in the office (mirrors rules.contracts.contract_allowed)."""
        code = key.split("-")[0]
        medicare = self._fee_ref(key, not self.practice.participating, Setting.NONFACILITY).split("!")[1]
        par = self._fee_ref(key, False, Setting.NONFACILITY).split("!")[1]
        base = (
            par
            if contract.method != Method.PERCENT_OF_MEDICARE or not (contract.medicare_year or contract.locality)
            else f"{get_column_letter(self.col[f'base {contract.payer}'])}{row}"
        )
        return self._allowed_formula(
            contract,
            key,
            code,
            1,
            "1",
            medicare,
            base,
            f"{get_column_letter(self.col['Total RVU non-facility'])}{row}",
            category=self._category(code),
            modifiers="",
        )

    def _category(self, code: str) -> str:
        if code in self.guidance_codes:
            return Category.GUIDANCE
        if code in parameter("coding/office_visit_codes", self.day).value:
            return Category.EM
        return Category.PROCEDURE

    def _amount_name(self, contract, kind, table, key, code) -> str | None:
        p = self.payer_names[contract.payer]
        found = key if key in table else code if code in table else None
        return _key_name(f"{kind}_{p}", found) if found else None

    def _charge(self, key: str, code: str) -> str | None:
        return self.charge_names.get(key) or self.charge_names.get(code)

    def _allowed_formula(
        self,
        contract: Contract,
        key: str,
        code: str,
        units: int,
        share: str,
        medicare: str,
        base: str,
        rvu: str,
        *,
        category: str,
        modifiers: str,
    ) -> str:
        """Mirrors rules.contracts.contract_allowed for one line: ``medicare`` is Medicare's own amount for
        the line (after its share), ``base`` the par amount per unit the percentage applies to."""
        p = self.payer_names[contract.payer]
        charge = self._charge(key, code)
        if category == Category.NOT_BILLED:
            return "0"
        if category == Category.FACILITY:
            return medicare if contract.method == Method.MEDICARE else "0"
        if contract.method == Method.MEDICARE:
            amount = medicare
        elif contract.method == Method.PERCENT_OF_MEDICARE:
            amount = _money(f"{_money(f'{units}*{base}*{share}')}*PCT_{p}")
        elif contract.method == Method.FEE_SCHEDULE:
            fee = self._amount_name(contract, "FEE", contract.fees, key, code)
            amount = _money(f"{fee}*{units}*{share}") if fee else "0"
        elif contract.method == Method.DOLLARS_PER_RVU:
            amount = _money(f"{rvu}*{units}*DPR_{p}*{share}")
        else:
            amount = _money(f"{charge}*{units}*PCT_{p}*{share}") if charge else "0"
        if category == Category.DRUG and contract.drug_method != DrugMethod.SAME_AS_PROCEDURES:
            markup = rate("asp/payment_limit_markup", self.day)
            if contract.drug_method == DrugMethod.NOT_COVERED:
                amount = "0"
            elif contract.drug_method == DrugMethod.PER_UNIT:
                price_name = self._amount_name(contract, "DRUGPRICE", contract.drug_per_unit, code, code)
                amount = _money(f"{price_name}*{units}*{share}") if price_name else "0"
            else:
                plus = f"(1+DRUGPCT_{p})" if contract.drug_method == DrugMethod.ASP_PLUS else f"DRUGPCT_{p}"
                amount = _money(f"{units}*ASP_{code}*{share}*{plus}/{_fraction(markup)}")
        override = self._amount_name(contract, "OVR", contract.overrides, key, code)
        if override:
            amount = _money(f"{override}*{units}*{share}")
        if contract.method != Method.MEDICARE:
            if category == Category.GUIDANCE:
                amount = (
                    f"IF(GUIDE_{p},{amount},0)"
                    if f"GUIDE_{p}" in self.inputs_named
                    else (amount if contract.guidance_covered else "0")
                )
            if category == Category.EM and "25" in modifiers.split():
                amount = f"IF(EM_{p},{amount},0)" if f"EM_{p}" in self.inputs_named else (amount if contract.em_25_paid else "0")
        if charge and contract.method == Method.MEDICARE:
            amount = f"MIN({amount},{charge}*{units})"
        elif charge and f"LESSER_{p}" in self.inputs_named:
            amount = f"IF(LESSER_{p},MIN({amount},{charge}*{units}),{amount})"
        return amount

    # -- Session estimate -------------------------------------------------------------------
    def session_estimate(self) -> None:
        s = self.sheets["Session estimate"]
        s.put(
            1,
            1,
            f"Session estimate {self.day}: {self.place.label} (POS {self.place.code}), locality {'-'.join(self.where) or 'national'}",
            bold=True,
            measure=False,
        )
        s.put(
            2,
            1,
            "Patient share two ways: the first visit of the year (deductible due) and once the deductible is met. Practice "
            "totals are the practice's own claim; the facility's lines (hospital or ASC) are totalled apart.",
            measure=False,
        )
        headers = ["Payer", "Code", "Modifiers", "Units", "Billed by", "Edit", "Paid share", "Medicare amount", "Allowed"]
        for view in ("due", "met"):
            headers += [
                f"Copay ({view})",
                f"Deductible ({view})",
                f"Coinsurance ({view})",
                f"Payer pays ({view})",
                f"Sequestration ({view})",
                f"Expected ({view})",
            ]
        headers += ["Medicare par (for coverage at risk)"]
        total_rows = sum(len(self.lines(self.due, c.payer)) + 3 for c in self.contracts)
        s.header(4, headers, table_rows=total_rows)
        row = 5
        self.totals: dict[str, int] = {}
        self.block_rows: dict[str, tuple[int, int]] = {}
        for contract in self.contracts:
            p = self.payer_names[contract.payer]
            due, met = self.lines(self.due, contract.payer), self.lines(self.met, contract.payer)
            reference = self.lines(self.due, "\x00Medicare par")
            first = row
            for (_, line), (_, met_line), (_, ref) in zip(due.iterrows(), met.iterrows(), reference.iterrows(), strict=True):
                self._session_line(s, row, first, contract, line, met_line, ref)
                row += 1
            last = row - 1
            for label, billers, values in (
                ("practice claim", (Biller.PHYSICIAN, Biller.NOT_BILLED), (due, met)),
                ("facility (information)", (Biller.FACILITY,), (due, met)),
            ):
                s.put(row, 1, f"{contract.payer}: {label}", bold=True)
                rows = [r for r, b in zip(range(first, last + 1), due["biller"], strict=True) if b in billers]
                for col in range(8, 22):
                    letter = get_column_letter(col)
                    cells = ",".join(f"{letter}{r}" for r in rows) or "0"
                    s.formula(row, col, f"SUM({cells})", self._total_value(col, values, billers), bold=True)
                if label == "practice claim":
                    self.totals[contract.payer] = row
                    self._session_names(p, row)
                row += 1
            self.block_rows[p] = (first, last)
            row += 1

    def _total_value(self, col: int, views, billers) -> Decimal:
        names = {
            8: "medicare",
            9: "allowed",
            10: "copay",
            11: "deductible_applied",
            12: "coinsurance",
            13: "payer_payment",
            14: "sequestration",
            15: "expected",
        }
        due, met = views
        frame, column = (due, names[col]) if col <= 15 else (met, names[col - 6])
        return _dollars(frame.loc[frame["biller"].isin(list(billers)), column].sum())

    def _session_names(self, p: str, total_row: int) -> None:
        s = self.sheets["Session estimate"]
        for name, col in (
            ("ALLOWED", 9),
            ("PAYDUE", 13),
            ("SEQDUE", 14),
            ("EXPDUE", 15),
            ("PAYMET", 19),
            ("SEQMET", 20),
            ("EXPMET", 21),
        ):
            _name(self.wb, f"{name}_{p}", s, total_row, col)

    def _share(self, contract: Contract, line) -> tuple[str, Fraction]:
        """The share of the line's amount the payer pays after claim edits and multiple procedures."""
        if not contract.claim_edits and contract.method != Method.MEDICARE:
            return "1", Fraction(1)
        value = Fraction(int(line["share_num"]), int(line["share_den"]))
        return ("1" if value == 1 else f"{value.numerator}/{value.denominator}"), value

    def _medicare_cell(self, line, share: str, nonpar: bool) -> str:
        """Medicare's own amount for the line after its share (par, or non-par for a non-par practice)."""
        category, units = line["category"], int(line["units"])
        if category == Category.NOT_BILLED:
            return "0"
        if category == Category.FACILITY:
            return f"{_dollars(line['medicare'])}"  # the OPPS / ASC national rate from the CMS addendum
        if category == Category.DRUG:
            return _money(f"{units}*ASP_{line['code']}*{share}")
        return _money(f"{units}*{self._fee_ref(line['key'], nonpar, self.setting)}*{share}")

    def _session_line(self, s: Sheet, row: int, first: int, contract: Contract, line, met_line, reference) -> None:
        biller = {Biller.PHYSICIAN: "practice", Biller.FACILITY: "facility", Biller.NOT_BILLED: "not billed"}[
            Biller(line["biller"])
        ]
        s.put(row, 1, contract.payer)
        s.put(row, 2, line["code"] or line["label"])
        s.put(row, 3, line["modifiers"])
        s.put(row, 4, int(line["units"]))
        s.put(row, 5, biller)
        s.put(row, 6, line["edit"])
        share, value = self._share(contract, line)
        s.formula(row, 7, share, value, "0.00%")
        share_ref = f"G{row}"
        medicare_share = Fraction(int(line["share_num"]), int(line["share_den"]))
        medicare_share_text = "1" if medicare_share == 1 else f"{medicare_share.numerator}/{medicare_share.denominator}"
        medicare = self._medicare_cell(
            line, share_ref if share == medicare_share_text else medicare_share_text, not self.practice.participating
        )
        s.formula(row, 8, medicare, _dollars(line["medicare"]))
        base_unit = f"{Decimal(int(line['base_unit'])) / 1000}"
        if contract.method == Method.PERCENT_OF_MEDICARE and not (contract.medicare_year or contract.locality):
            base_unit = (
                self._fee_ref(line["key"], False, self.setting)
                if line["category"] in (Category.PROCEDURE, Category.GUIDANCE, Category.EM)
                else f"ASP_{line['code']}"
                if line["category"] == Category.DRUG
                else base_unit
            )
        rvu = f"{Decimal(int(line['total_rvu'])) / 100}"
        allowed = self._allowed_formula(
            contract,
            line["key"],
            line["code"],
            int(line["units"]),
            share_ref,
            f"H{row}",
            base_unit,
            rvu,
            category=line["category"],
            modifiers=line["modifiers"],
        )
        s.formula(row, 9, allowed, _dollars(line["allowed"]))
        for col, view, priced in ((10, "due", line), (16, "met", met_line)):
            self._share_cells(s, row, first, col, contract, line, view == "due", priced)
        if line["biller"] == Biller.FACILITY:
            s.formula(row, 22, "0", Decimal(0))
        else:
            reference_cell = self._medicare_cell(reference, medicare_share_text, False)
            charge = self._charge(line["key"], line["code"]) if line["category"] != Category.NOT_BILLED else None
            s.formula(
                row,
                22,
                f"MIN({reference_cell},{charge}*{int(line['units'])})" if charge else reference_cell,
                _dollars(reference["allowed"]),
            )

    def _share_cells(self, s: Sheet, row: int, first: int, col: int, contract: Contract, line, due: bool, priced) -> None:
        """Copay, deductible, coinsurance, payer payment, sequestration, expected (rules.cost_sharing)."""
        p = self.payer_names[contract.payer]
        copay, deductible, coinsurance, payment, sequestration = (get_column_letter(col + k) for k in range(5))
        traditional = contract.kind == Kind.MEDICARE
        copay_total = "0" if traditional else f"COPAY_{p}"
        deductible_total = ("PARTB_DEDUCTIBLE" if traditional else f"DED_{p}") if due else "0"
        previous = lambda letter: f"SUM({letter}${first}:{letter}{row - 1})" if row > first else "0"  # noqa: E731
        category = line["category"]
        if traditional:
            share = f"ASPCOINS_{line['code']}" if category == Category.DRUG else "PARTB_COINS"
            withheld = "SEQUESTRATION"
        else:
            share, withheld = f"COINS_{p}", f"IF(SEQ_{p},SEQUESTRATION,0)"
        allowed = f"I{row}"
        s.formula(row, col, f"MIN({allowed},MAX(0,{copay_total}-{previous(copay)}))", _dollars(priced["copay"]))
        s.formula(
            row,
            col + 1,
            f"MIN({allowed}-{copay}{row},MAX(0,{deductible_total}-{previous(deductible)}))",
            _dollars(priced["deductible_applied"]),
        )
        rest = f"({allowed}-{copay}{row}-{deductible}{row})*{share}"
        opps = traditional and category == Category.FACILITY and self.place.facility == FacilityPayment.OPPS
        s.formula(row, col + 2, _up(rest) if opps else _money(rest), _dollars(priced["coinsurance"]))
        s.formula(row, col + 3, f"{allowed}-{copay}{row}-{deductible}{row}-{coinsurance}{row}", _dollars(priced["payer_payment"]))
        s.formula(row, col + 4, _money(f"{payment}{row}*{withheld}"), _dollars(priced["sequestration"]))
        s.formula(
            row,
            col + 5,
            f"{copay}{row}+{deductible}{row}+{coinsurance}{row}+{payment}{row}-{sequestration}{row}",
            _dollars(priced["expected"]),
        )

    # -- Payer comparison ---------------------------------------------------------------------
    def comparison(self) -> None:
        s = self.sheets["Payer comparison"]
        s.put(
            1,
            1,
            f"Payer comparison for the session of {self.day} (the practice's claim, deductible met)",
            bold=True,
            measure=False,
        )
        s.header(
            3,
            [
                "Payer",
                "Allowed",
                "Patient share",
                "Payer pays after sequestration",
                "Expected",
                "% of Medicare",
                "Rank",
                "Difference to the best",
            ],
            table_rows=len(self.contracts),
        )
        practice = self.met.lines[self.met.lines["biller"] != Biller.FACILITY]
        totals = practice.groupby("payer")[["allowed", "patient_share", "payer_payment", "sequestration", "expected"]].sum()
        medicare_allowed = _dollars(totals.loc["\x00Medicare par", "allowed"])
        first, last = 4, 3 + len(self.contracts)
        expected = [_dollars(totals.loc[c.payer, "expected"]) for c in self.contracts]
        best = max(expected)
        for i, contract in enumerate(self.contracts):
            row, p, t = first + i, self.payer_names[contract.payer], self.totals[contract.payer]
            sums = totals.loc[contract.payer]
            s.put(row, 1, contract.payer)
            s.formula(row, 2, f"ALLOWED_{p}", _dollars(sums["allowed"]))
            s.formula(
                row,
                3,
                f"'Session estimate'!P{t}+'Session estimate'!Q{t}+'Session estimate'!R{t}",
                _dollars(sums["patient_share"]),
            )
            s.formula(row, 4, f"PAYMET_{p}-SEQMET_{p}", _dollars(sums["payer_payment"] - sums["sequestration"]))
            s.formula(row, 5, f"EXPMET_{p}", _dollars(sums["expected"]))
            pct = None if not medicare_allowed else _dollars(sums["allowed"]) / medicare_allowed
            s.formula(row, 6, f'IF(MEDICARE_ALLOWED=0,"",B{row}/MEDICARE_ALLOWED)', pct, "0.0%")
            s.formula(row, 7, f"RANK(E{row},$E${first}:$E${last})", 1 + sum(e > expected[i] for e in expected), "0")
            s.formula(row, 8, f"E{row}-MAX($E${first}:$E${last})", expected[i] - best)
        row = last + 2
        s.put(row, 1, "Traditional Medicare allowed (par) for the same claim")
        rows = [self.block_rows[self.payer_names[self.contracts[0].payer]]]
        first_row, last_row = rows[0]
        s.formula(row, 2, f"SUM('Session estimate'!V{first_row}:V{last_row})", medicare_allowed)
        _name(self.wb, "MEDICARE_ALLOWED", s, row, 2)
        chart = BarChart()
        chart.type = "bar"
        chart.title = "Allowed and expected per payer"
        chart.add_data(Reference(s.ws, min_col=2, max_col=2, min_row=3, max_row=last), titles_from_data=True)
        chart.add_data(Reference(s.ws, min_col=5, max_col=5, min_row=3, max_row=last), titles_from_data=True)
        chart.set_categories(Reference(s.ws, min_col=1, min_row=first, max_row=last))
        chart.height, chart.width = 8, 18
        s.ws.add_chart(chart, f"A{row + 3}")

    # -- Contract terms -----------------------------------------------------------------------
    def contract_terms(self) -> None:
        """Each payer's terms in words, one block per payer; the terms that are inputs follow the
        Assumptions sheet (formulas), the others are the saved contract's values."""
        s = self.sheets["Contract terms"]
        s.put(1, 1, "Contract terms by payer (live terms follow the Assumptions sheet)", bold=True, measure=False)
        row = 2
        yes_no = '"yes";"yes";"no"'
        for contract in self.contracts:
            p = self.payer_names[contract.payer]
            row += 1
            s.header(row, [contract.payer, "Value"])
            inputs = self.inputs[contract.payer]

            def live(key: str, fmt: str, flag: bool = False, otherwise: str = "does not apply", p=p, inputs=inputs) -> tuple:
                """The Assumptions input as a formula (with the engine's value cached), or ``otherwise``."""
                name = f"{key}_{p}"
                if name not in self.inputs_named:
                    return (otherwise, None, None)
                value = inputs[key]
                if flag:
                    return (f"IF({name},1,0)", 1 if value else 0, fmt)
                return (name, _fraction(value), fmt)

            medicare = contract.method == Method.MEDICARE
            of_medicare = contract.method in (Method.PERCENT_OF_MEDICARE, Method.MEDICARE)
            pinned_year = str(contract.medicare_year or "the year of service (rolling)") if of_medicare else "does not apply"
            pinned_place = (contract.locality or "where the service is done") if of_medicare else "does not apply"
            drugs = {
                DrugMethod.SAME_AS_PROCEDURES: "as the procedures",
                DrugMethod.ASP_PLUS: "ASP plus the drug %",
                DrugMethod.PERCENT_OF_ASP: "the drug % of the ASP payment limit",
                DrugMethod.PER_UNIT: "a price per unit: "
                + "; ".join(f"{k} ${v:,.2f}" for k, v in sorted(contract.drug_per_unit.items())),
                DrugMethod.NOT_COVERED: "not covered",
            }.get(contract.drug_method, contract.drug_method.value)
            terms: list[tuple[str, tuple]] = [
                ("Kind", (contract.kind.value.replace("_", " "), None)),
                ("Method", (contract.method.value.replace("_", " "), None)),
                ("Percent (of Medicare or of charges)", live("PCT", PERCENT)),
                ("Medicare year it is pinned to", (pinned_year, None)),
                ("Locality it is pinned to", (pinned_place, None)),
                ("Payer's own $ per RVU", live("DPR", MONEY)),
                ("Fixed fees per unit", ("; ".join(f"{k} ${v:,.2f}" for k, v in sorted(contract.fees.items())) or "none", None)),
                ("Per-code overrides", ("; ".join(f"{k} ${v:,.2f}" for k, v in sorted(contract.overrides.items())) or "none", None)),
                ("Drugs", (drugs, None)),
                ("Drug %", live("DRUGPCT", PERCENT)),
                ("Imaging guidance paid", live("GUIDE", yes_no, flag=True, otherwise="yes" if contract.guidance_covered else "no")),
                ("E/M with modifier 25 paid", live("EM", yes_no, flag=True, otherwise="yes" if contract.em_25_paid else "no")),
                ("Lesser of the billed charge", live("LESSER", yes_no, flag=True, otherwise="always" if medicare else "no")),
                ("Follows Medicare's claim edits and multiple-procedure rules", ("yes" if contract.claim_edits else "no", None)),
                ("Accepts modifiers 59 / XE / XP / XS / XU", ("yes" if contract.bypass_modifiers_accepted else "no", None)),
                ("Frequency limits", ("; ".join(limit.describe() for limit in contract.frequency_limits()) or "none", None)),
                ("Covered diagnoses", (_diagnoses(contract.diagnosis_list()), None)),
                ("Prior authorization", ("required" if contract.prior_authorization else "not required", None)),
                ("Copay", live("COPAY", MONEY, otherwise="none (Part B)" if contract.is_traditional_medicare else "none")),
                ("Coinsurance", live("COINS", PERCENT, otherwise="Part B" if contract.is_traditional_medicare else "none")),
                ("Passes sequestration through", live("SEQ", yes_no, flag=True, otherwise="yes" if contract.is_traditional_medicare else "no")),
                ("Collected (share of expected)", (_fraction(contract.collection_percent / 100), PERCENT)),
                ("Escalators and effective dates", ("not recorded in the saved contract", None)),
                ("Notes", (contract.notes or "", None)),
            ]  # fmt: skip
            for label, term in terms:
                row += 1
                s.put(row, 1, label)
                if len(term) == 3 and term[1] is not None:  # a live input: formula, cached value, format
                    s.formula(row, 2, term[0], term[1], term[2])
                else:
                    s.put(row, 2, term[0], term[1] if len(term) == 2 else None)
            row += 1

    # -- Forecast -----------------------------------------------------------------------------
    def forecast_sheet(self) -> None:
        s, a = self.sheets["Forecast"], self.sheets["Assumptions"]
        f = self.forecast
        row = self.next_assumption_row
        a.put(row, 1, "Forecast (prices held at the date of service)", bold=True, measure=False)
        inputs = [
            ("VOLUME", "Sessions per month", f.sessions_per_month, "0.00", (0, 100_000)),
            ("GROWTH", "Growth per month", f.growth_percent_per_month / 100, PERCENT, (-1, 1)),
            ("PER_PATIENT", "Sessions per patient per year", f.sessions_per_patient_per_year, "0.00", (0.01, 52)),
        ]
        for name, label, value, fmt, (low, high) in inputs:
            row += 1
            a.put(row, 1, label)
            a.put(row, 2, value, fmt, editable=True)
            self._input(name, a, row, 2)
            a.validate(a.ref(row, 2), "decimal", low=low, high=high)
        for month in range(1, 13):
            row += 1
            a.put(row, 1, f"Seasonality multiplier, month {month}")
            a.put(row, 2, f.seasonality[month - 1], "0.00", editable=True)
            self._input(f"SEASON_{month}", a, row, 2)
            a.validate(a.ref(row, 2), "decimal", low=0, high=10)
        row += 2
        a.put(row, 1, "Per session, from the Session estimate sheet (the practice's claim)", bold=True, measure=False)
        a.header(row + 1, ["Payer", "Billed", "Not covered (Medicare value)", "Patient (due)", "Patient (met)"], first_col=1)
        a.freeze = "A5"
        row += 1
        for contract in self.contracts:
            row += 1
            p = self.payer_names[contract.payer]
            first, last = self.block_rows[p]
            due = self.lines(self.due, contract.payer)
            reference = self.lines(self.due, "\x00Medicare par")
            a.put(row, 1, contract.payer)
            physician = (due["biller"] == Biller.PHYSICIAN).to_numpy()
            parts = [
                f"{self._charge(k, c)}*{u}"
                for k, c, u, ph in zip(due["key"], due["code"], due["units"], physician, strict=True)
                if ph and self._charge(k, c)
            ]
            a.formula(row, 2, "+".join(parts) or "0", _dollars(due.loc[physician, "billed"].sum()))
            not_covered = np.where(
                (due["allowed"].to_numpy() == 0) & (reference["allowed"].to_numpy() > 0) & physician, reference["allowed"], 0
            ).sum()
            rng = f"'Session estimate'!V{first}:V{last}"
            a.formula(row, 3, f"SUMPRODUCT(('Session estimate'!I{first}:I{last}=0)*({rng}>0)*({rng}))", _dollars(not_covered))
            t = self.totals[contract.payer]
            a.formula(
                row,
                4,
                f"'Session estimate'!J{t}+'Session estimate'!K{t}+'Session estimate'!L{t}",
                _dollars(due.loc[~(due["biller"] == Biller.FACILITY), "patient_share"].sum()),
            )
            met = self.lines(self.met, contract.payer)
            a.formula(
                row,
                5,
                f"'Session estimate'!P{t}+'Session estimate'!Q{t}+'Session estimate'!R{t}",
                _dollars(met.loc[~(met["biller"] == Biller.FACILITY), "patient_share"].sum()),
            )
            for name, col in (("BILLED", 2), ("NOTCOV", 3), ("PATDUE", 4), ("PATMET", 5)):
                _name(self.wb, f"{name}_{p}", a, row, col)
        scenario = Scenario(
            name="Workbook",
            start=self.day.replace(day=1),
            months=f.months,
            templates=(
                Template(
                    "session",
                    f.sessions_per_month,
                    {k: v for k, v in session_data(self.session).items() if k not in ("date_of_service", "deductible_remaining")},
                ),
            ),
            payer_mix={c.payer: Decimal(str(self.inputs[c.payer]["MIX"])) * 100 for c in self.current},
            growth_percent_per_month=f.growth_percent_per_month,
            seasonality=f.seasonality,
            sessions_per_patient_per_year=f.sessions_per_patient_per_year,
            denial_rate_percent={c.payer: Decimal(str(self.inputs[c.payer]["DENIAL"])) * 100 for c in self.current},
            prices_held_at=self.day,
        )
        table = run(self.schedules, [scenario], self.current, self.practice)
        if self.proposed:  # the same months under the proposed terms, each under its current payer's name
            terms = [replace(self.proposed[c.payer], payer=c.payer) if c.payer in self.proposed else c for c in self.current]
            under = run(self.schedules, [scenario], terms, self.practice)[["month", "payer", "expected_collections"]]
            table = table.merge(under.rename(columns={"expected_collections": "proposed"}), on=["month", "payer"], how="left")
        columns = [
            "Month",
            "Payer",
            "Sessions",
            "Billed charges",
            "Allowed",
            "Patient responsibility",
            "Payer payment",
            "Denied",
            "At risk (frequency)",
            "At risk (coverage)",
            "Expected collections",
        ] + (["Expected collections (proposed terms)", "Change"] if self.proposed else [])
        s.put(
            1,
            1,
            "Monthly forecast: sessions x payer mix x growth x seasonality; deductible due at each patient's first "
            "sessions of the year; frequency limits and denials reduce what is collected",
            bold=True,
            measure=False,
        )
        s.header(3, columns, table_rows=len(table))
        row = 4
        for r in table.itertuples(index=False):
            p = self.payer_names[r.payer]
            index = (int(r.month[:4]) - self.day.year) * 12 + int(r.month[5:]) - self.day.month
            month = int(r.month[5:])
            sessions = f"VOLUME*(1+GROWTH)^{index}*SEASON_{month}*MIX_{p}"
            first_share = f"MIN(1,MAX(0,12/PER_PATIENT-{month - 1}))"
            paid = f"MIN(1,LIMIT_{p}/PER_PATIENT)" if f"LIMIT_{p}" in self.inputs_named else "1"
            collected = f"{paid}*(1-DENIAL_{p})"
            s.put(row, 1, r.month)
            s.put(row, 2, r.payer)
            exact = (
                f.sessions_per_month
                * (1 + f.growth_percent_per_month / 100) ** index
                * f.seasonality[month - 1]
                * Decimal(str(self.inputs[r.payer]["MIX"]))
            )
            s.formula(row, 3, sessions, exact, "0.0")
            s.formula(row, 4, _money(f"C{row}*BILLED_{p}"), r.billed_charges)
            s.formula(row, 5, _money(f"C{row}*ALLOWED_{p}"), r.allowed)
            s.formula(
                row,
                6,
                _money(f"C{row}*{collected}*({first_share}*PATDUE_{p}+(1-{first_share})*PATMET_{p})"),
                r.patient_responsibility,
            )
            s.formula(
                row,
                7,
                _money(f"C{row}*{collected}*({first_share}*(PAYDUE_{p}-SEQDUE_{p})+(1-{first_share})*(PAYMET_{p}-SEQMET_{p}))"),
                r.payer_payment,
            )
            s.formula(row, 8, _money(f"C{row}*ALLOWED_{p}*{paid}*DENIAL_{p}"), r.denied)
            s.formula(row, 9, _money(f"C{row}*ALLOWED_{p}*(1-{paid})"), r.at_risk_frequency)
            s.formula(row, 10, _money(f"C{row}*NOTCOV_{p}"), r.at_risk_coverage)
            s.formula(row, 11, _money(self._collections(row, p, collected, first_share)), r.expected_collections)
            if self.proposed:
                q = self.payer_names[self.proposed[r.payer].payer] if r.payer in self.proposed else p
                s.formula(row, 12, _money(self._collections(row, q, collected, first_share)), r.proposed)
                s.formula(row, 13, f"L{row}-K{row}", r.proposed - r.expected_collections)
            row += 1
        last = row - 1
        row += 1
        s.put(row, 1, "Month", bold=True)
        s.put(row, 2, "Expected collections, all payers", bold=True)
        head = row
        if self.proposed:
            s.put(head, 3, "Change with the proposed terms", bold=True)
        for month, group in table.groupby("month", sort=False):
            row += 1
            s.put(row, 1, month)
            s.formula(row, 2, f"SUMIF($A$4:$A${last},A{row},$K$4:$K${last})", sum(group["expected_collections"], Decimal(0)))
            if self.proposed:
                change = sum(group["proposed"], Decimal(0)) - sum(group["expected_collections"], Decimal(0))
                s.formula(row, 3, f"SUMIF($A$4:$A${last},A{row},$M$4:$M${last})", change)
        months_end = row
        if self.proposed:
            row += 1
            s.put(row, 1, "Over the forecast", bold=True)
            s.formula(row, 2, f"SUM(B{head + 1}:B{row - 1})", sum(table["expected_collections"], Decimal(0)), bold=True)
            s.formula(
                row,
                3,
                f"SUM(C{head + 1}:C{row - 1})",
                sum(table["proposed"] - table["expected_collections"], Decimal(0)),
                bold=True,
            )
            _name(self.wb, "PROPOSED_CHANGE", s, row, 3)
        chart = LineChart()
        chart.title = "Expected collections per month"
        chart.add_data(Reference(s.ws, min_col=2, min_row=head, max_row=months_end), titles_from_data=True)
        chart.set_categories(Reference(s.ws, min_col=1, min_row=head + 1, max_row=months_end))
        chart.height, chart.width = 8, 22
        s.ws.add_chart(chart, f"M{head}")

    @staticmethod
    def _collections(row: int, p: str, collected: str, first_share: str) -> str:
        """A forecast row's expected collections under payer block ``p``'s per-session amounts."""
        due = f"PATDUE_{p}+PAYDUE_{p}-SEQDUE_{p}"
        met = f"PATMET_{p}+PAYMET_{p}-SEQMET_{p}"
        return f"C{row}*{collected}*({first_share}*({due})+(1-{first_share})*({met}))"

    # -- Sources ------------------------------------------------------------------------------
    def sources(self, exported_at: dt.datetime) -> None:
        s = self.sheets["Sources"]
        s.put(1, 1, "Sources and assumptions", bold=True, measure=False)
        s.put(2, 1, f"Exported {exported_at:%Y-%m-%d %H:%M} UTC by tpi-estimator {__version__}", measure=False)
        used = {name for release in self.used for name in release.split("/")} | {self.basis.rvu.name, self.basis.gpci_name}
        vintages = [v for v in self.schedules.vintages if v.name in used]
        s.header(
            4,
            ["CMS release", "Kind", "Source file", "Effective from", "Effective to", "sha256 of the CMS file", "Note"],
            table_rows=len(vintages),
        )
        row = 5
        for vintage in sorted(vintages, key=lambda v: (v.kind, v.effective_from)):
            for col, text in enumerate(
                [
                    vintage.name,
                    vintage.source["title"],
                    vintage.source["source_file"],
                    str(vintage.effective_from),
                    str(vintage.effective_to),
                    vintage.source["source_sha256"],
                    vintage.source.get("note", ""),
                ],
                1,
            ):
                s.put(row, col, text)
            row += 1
        row += 1
        notes = [
            "Amounts are rounded half up to the cent once per line, where the engine rounds. Formulas round in whole cents",
            "(ROUND(ROUND(x*100,6),0)/100) so that an exact half cent rounds up in Excel, LibreOffice and other engines alike.",
            "Medicare: [(work RVU x work GPCI) + (PE RVU x PE GPCI) + (MP RVU x MP GPCI)] x CF; non-par 95%; limiting charge 115% of non-par.",
            "Claim edits and multiple procedures: the Paid share column of the Session estimate (a value from the engine).",
            "Patient share: copay, then the deductible (line order), then coinsurance; sequestration off the payer's payment.",
            "Contracts pinned to another year or locality use that year's Medicare amounts as values (they do not follow the CF input).",
            "Drugs: units x the ASP payment limit (already 106% of ASP); 'ASP + x%' takes ASP as the payment limit / 1.06.",
            "Forecast: prices are held at the date of service; each patient's first sessions of the year carry the deductible.",
            "Cached values: each formula cell carries the value the product computed, so viewers that do not recalculate show numbers.",
            "The file asks Excel and LibreOffice to recalculate on opening (LibreOffice may ask first, see the README).",
            "Yellow cells are inputs; sheets are protected without a password (Review > Unprotect Sheet); sorting, filtering and",
            "column widths stay free.",
        ] + [f"Note: {n}" for n in self.due.notes]
        for note in notes:
            s.put(row, 1, note, measure=False)
            row += 1
