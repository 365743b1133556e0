"""Excel estimates for payer contracting: a working model with live formulas.

``estimate_workbook`` returns the bytes of an .xlsx (a pure function: no file, no UI):

- Assumptions: every input as a named, unlocked cell (conversion factor, the locality's
  GPCIs, Medicare rates, each payer's terms, drug payment limits, charges, volumes, mix).
- Fee schedule: each amount is a formula over the RVUs and the named inputs, rounded with
  ROUND exactly where the product rounds (once per line).
- Session estimate: the session's claim lines for every payer, with copay, deductible,
  coinsurance, payer payment and sequestration, for a first visit of the year (deductible
  due) and once the deductible is met.
- Payer comparison and Forecast: formulas over the sheets above, with native charts.
- Sources: every CMS release used, the export date, the product version, the assumptions.

Every formula cell also carries the value the product computed (written into the file as
the cell's cached value), so viewers that do not recalculate still show the numbers, and
Excel or LibreOffice show the same numbers after recalculating. User text (payer names,
notes) is always written as text, never as a formula.
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

import pandas as pd
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.chart import BarChart, LineChart, Reference
from openpyxl.styles import Font, PatternFill, Protection
from openpyxl.utils import get_column_letter
from openpyxl.workbook.defined_name import DefinedName

from . import __version__
from .contracts import Contract, Practice, contract_allowed, line_category, line_key, payer_claim, session_builder
from .errors import InputError
from .forecast import Scenario, Template, run, yearly_limit
from .parameters import parameter, rate
from .pfs import NATIONAL, price, resolve_locality
from .session import EM_CODES, GUIDANCE, PLACES_OF_SERVICE, Claim, Session, _labels, session_data
from .store import FeeSchedules

MONEY = '"$"#,##0.00'
RATE = "0.0000"
INPUT_FILL = PatternFill("solid", fgColor="FFF2CC")
BOLD = Font(bold=True)
EXCEL_MAX_ROWS = 1_048_576


class Sheet:
    """A write-only worksheet filled in any order, streamed at the end; remembers the product's
    value for each formula cell (written as cached values)."""

    def __init__(self, workbook: Workbook, title: str):
        self.ws = workbook.create_sheet(title)
        self.title = title
        self.rows: dict[int, dict[int, tuple]] = {}
        self.cached: dict[str, object] = {}
        self.freeze: str | None = None

    @staticmethod
    def ref(row: int, col: int, absolute: bool = False) -> str:
        letter = get_column_letter(col)
        return f"${letter}${row}" if absolute else f"{letter}{row}"

    def put(self, row: int, col: int, value, fmt: str | None = None, *, editable: bool = False, bold: bool = False):
        self.rows.setdefault(row, {})[col] = (value, fmt, editable, bold, isinstance(value, str))

    def formula(self, row: int, col: int, text: str, cached, fmt: str | None = MONEY, bold: bool = False):
        self.rows.setdefault(row, {})[col] = ("=" + text, fmt, False, bold, False)
        self.cached[f"{get_column_letter(col)}{row}"] = cached

    def header(self, row: int, names: list[str]) -> None:
        for col, name in enumerate(names, 1):
            self.put(row, col, name, bold=True)
        self.freeze = f"A{row + 1}"

    def widths(self, widths: dict[int, int]) -> None:
        for col, width in widths.items():
            self.ws.column_dimensions[get_column_letter(col)].width = width

    def finish(self) -> None:
        """Protection (no password: Review > Unprotect Sheet lifts it), print setup, then the rows."""
        self.ws.protection.sheet = True
        self.ws.page_setup.orientation = "landscape"
        self.ws.page_setup.fitToWidth = 1
        self.ws.page_setup.fitToHeight = 0
        self.ws.sheet_properties.pageSetUpPr.fitToPage = True
        if self.freeze:
            self.ws.freeze_panes = self.freeze
            self.ws.print_title_rows = f"1:{int(self.freeze[1:]) - 1}"
        for number in range(1, max(self.rows, default=0) + 1):
            cells = self.rows.get(number, {})
            self.ws.append([self._cell(*cells[c]) if c in cells else None for c in range(1, max(cells, default=0) + 1)])

    def _cell(self, value, fmt, editable, bold, text):
        if not (fmt or editable or bold or text):
            return value
        cell = WriteOnlyCell(self.ws, value=value)
        if text:
            cell.data_type = "s"  # user and CMS text is never a formula
        cell._style = copy(self._style(fmt, editable, bold))  # as openpyxl's own copy_worksheet does
        return cell

    @functools.cache
    def _style(self, fmt, editable, bold):
        """One styled prototype cell per combination; cells copy its style array."""
        cell = WriteOnlyCell(self.ws)
        if fmt:
            cell.number_format = fmt
        if editable:
            cell.protection = Protection(locked=False)
            cell.fill = INPUT_FILL
        if bold:
            cell.font = BOLD
        return cell._style


def _to_cents(expr: str) -> str:
    """Money rounded half up to the cent, computed in whole cents so that an exact half cent is
    exact in binary and every spreadsheet engine rounds it as the product does."""
    return f"ROUND({expr},0)/100"


def _money(expr: str) -> str:
    """A general amount to the cent: float noise below a millionth of a cent is removed first, so an
    exact half cent (as the product computes it with exact fractions) rounds up in any engine."""
    return f"ROUND(ROUND(({expr})*100,6),0)/100"


def _cents_of(ref: str) -> str:
    return f"ROUND({ref}*100,0)"


def _per_units(name: str, units: int) -> str:
    """A per-unit contract amount (up to 6 decimals) times units, to the cent."""
    return _to_cents(f"ROUND({name}*1000000,0)*{units}/10000")


def _name(workbook: Workbook, name: str, sheet: Sheet, row: int, col: int) -> str:
    workbook.defined_names[name] = DefinedName(name, attr_text=f"'{sheet.title}'!{sheet.ref(row, col, True)}")
    return name


def _key_name(prefix: str, key: str) -> str:
    return f"{prefix}_{re.sub(r'[^0-9A-Za-z]', '_', key)}"


def _dollars(cents) -> Decimal | None:
    return None if cents is None or pd.isna(cents) else Decimal(int(cents)) / 100


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


def estimate_workbook(schedules: FeeSchedules, session: Session, contracts: list[Contract], practice: Practice, *,
                      codes: list[str] | None = None, all_codes: bool = False, forecast: ForecastInputs | None = None,
                      exported_at: dt.datetime | None = None) -> bytes:  # fmt: skip
    """The workbook as bytes. ``codes`` (or every payable code with ``all_codes``) fill the fee schedule."""
    if not contracts:
        raise InputError("no payers: add contracts before exporting", field="payers")
    forecast = forecast or ForecastInputs()
    day = session.date_of_service
    where = resolve_locality(schedules, day, zip_code=session.zip_code, locality=session.locality)
    if session.place_of_service not in PLACES_OF_SERVICE:
        raise InputError(f"place of service {session.place_of_service!r}: use 11, 19, 22 or 24", field="place_of_service")
    setting = PLACES_OF_SERVICE[session.place_of_service][1]
    workbook = Workbook(write_only=True)
    sheets = {name: Sheet(workbook, name) for name in
              ("Assumptions", "Fee schedule", "Session estimate", "Payer comparison", "Forecast", "Sources")}  # fmt: skip
    model = _Model(workbook, sheets, schedules, session, contracts, practice, where, setting, forecast)
    model.assumptions()
    model.fee_schedule(None if all_codes else (codes or []))
    model.session_estimate()
    model.comparison()
    model.forecast_sheet()
    model.sources(exported_at or dt.datetime.now(dt.timezone.utc))
    for sheet in sheets.values():
        sheet.finish()
    workbook.calculation.fullCalcOnLoad = True
    buffer = io.BytesIO()
    workbook.save(buffer)
    return _with_cached_values(buffer.getvalue(), sheets, workbook)


def _with_cached_values(data: bytes, sheets: dict[str, Sheet], workbook: Workbook) -> bytes:
    """Write each formula cell's product value as its cached value (<v>) in the sheet XML."""
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


class _Model:
    """Builds the sheets in order; each later sheet refers to cells the earlier ones named."""

    def __init__(self, workbook, sheets, schedules, session, contracts, practice, where, setting, forecast):
        self.wb, self.sheets, self.schedules, self.session = workbook, sheets, schedules, session
        self.contracts, self.practice, self.where, self.setting, self.forecast = contracts, practice, where, setting, forecast
        self.day = session.date_of_service
        self.payer_names = {c.payer: f"P{i}" for i, c in enumerate(contracts, 1)}
        self.vintages: dict[str, object] = {}
        self._claims: dict[tuple, Claim] = {}
        self.block_rows: dict[str, tuple[int, int]] = {}

    # -- Assumptions ------------------------------------------------------------------------
    def assumptions(self) -> None:
        s, day = self.sheets["Assumptions"], self.day
        frame, basis = self._price([self._tpi_codes()[0]], self.day, None)
        self.basis = basis
        self.vintages |= {v.name: v for v in (basis.rvu, basis.gpci) + ((basis.opps_cap,) if basis.opps_cap else ())}
        row0 = frame.iloc[0]
        s.put(1, 1, "Assumptions: yellow cells are inputs; every other sheet follows them", bold=True)
        s.put(2, 1, f"Date of service {day} · locality {'-'.join(self.where) if self.where != NATIONAL else 'national'} "
                    f"{row0['locality_name']} · {PLACES_OF_SERVICE[self.session.place_of_service][0]}")  # fmt: skip
        rows = [
            ("CF", "Conversion factor", basis.conversion_factor, RATE),
            ("GPCI_WORK", f"Work GPCI ({'with' if basis.work_gpci_floor else 'without'} the 1.0 floor)", Fraction(int(row0["work_gpci"]), 1000), "0.000"),
            ("GPCI_PE", "Practice expense GPCI", Fraction(int(row0["pe_gpci"]), 1000), "0.000"),
            ("GPCI_MP", "Malpractice GPCI", Fraction(int(row0["mp_gpci"]), 1000), "0.000"),
            ("NONPAR_RATE", "Non-participating share of the par amount", rate("pfs/nonparticipating_rate", day), "0.00"),
            ("LIMITING_RATE", "Limiting charge share of the non-par amount", rate("pfs/limiting_charge_rate", day), "0.00"),
            ("SEQUESTRATION", "Medicare sequestration", rate("sequestration_rate", day), "0.00%"),
            ("PARTB_COINS", "Part B coinsurance", rate("part_b/coinsurance_rate", day), "0.00%"),
            ("PARTB_DEDUCTIBLE", f"Part B deductible {day.year} (due at the first visit of the year)",
             parameter("part_b/deductible", day).value, MONEY),
        ]  # fmt: skip
        s.header(4, ["Input", "Value", "Name"])
        row = 5
        self.values: dict[str, Fraction] = {}
        for name, label, value, fmt in rows:
            s.put(row, 1, label)
            s.put(row, 2, float(value), fmt, editable=True)
            s.put(row, 3, name)
            _name(self.wb, name, s, row, 2)
            self.values[name] = value
            row += 1
        row += 1
        payer_columns = ["Payer", "Kind", "Method", "Percent", "Fixed year", "Pinned locality", "Drug method", "Drug %",
                         "Copay", "Coinsurance %", "Deductible when due", "Sequestration", "Guidance covered", "E/M-25 paid",
                         "Lesser of billed", "Frequency limit / year", "Denial %", "Payer mix %"]  # fmt: skip
        s.put(row, 1, "Payers", bold=True)
        row += 1
        for col, name in enumerate(payer_columns, 1):
            s.put(row, col, name, bold=True)
        mix = _mix(self.contracts, self.forecast.payer_mix)
        self.payer_inputs = {}
        for contract in self.contracts:
            row += 1
            p = self.payer_names[contract.payer]
            s.put(row, 1, contract.payer)
            for col, text in ((2, contract.kind), (3, contract.method), (5, str(contract.medicare_year or "rolling")),
                              (6, contract.locality or "service locality"), (7, contract.drug_method)):  # fmt: skip
                s.put(row, col, text)
            limit = yearly_limit(contract.frequency_rule or ("three_per_12_months" if contract.kind == "medicare" else None))
            inputs = {"PCT": (4, contract.percent, "0.00"), "DRUGPCT": (8, contract.drug_percent, "0.00"),
                      "COPAY": (9, contract.copay, MONEY), "COINS": (10, contract.coinsurance_percent, "0.00"),
                      "DED": (11, contract.deductible, MONEY),
                      "SEQ": (12, rate("sequestration_rate", self.day) if contract.sequestration or contract.method == "medicare" else 0, "0.00%"),
                      "GUIDE": (13, contract.guidance_covered, None), "EM": (14, contract.em_25_paid, None),
                      "LESSER": (15, contract.lesser_of_billed, None), "LIMIT": (16, limit, "0.00"),
                      "DENIAL": (17, self.forecast.denial_rate_percent.get(contract.payer, Decimal(0)), "0.00"),
                      "MIX": (18, mix[contract.payer], "0.00")}  # fmt: skip
            for key, (col, value, fmt) in inputs.items():
                shown = value if isinstance(value, bool) or value is None else float(value)
                s.put(row, col, shown, fmt, editable=True)
                _name(self.wb, f"{key}_{p}", s, row, col)
            self.payer_inputs[contract.payer] = {k: v[1] for k, v in inputs.items()}
        row += 2
        s.put(row, 1, "Per-code amounts in contracts (fees, overrides, drug prices per unit)", bold=True)
        row += 1
        for col, name in enumerate(["Payer", "Kind of amount", "Code", "Amount", "Name"], 1):
            s.put(row, col, name, bold=True)
        for contract in self.contracts:
            p = self.payer_names[contract.payer]
            for kind, table in (("FEE", contract.fees), ("OVR", contract.overrides), ("DRUGPRICE", contract.drug_per_unit)):
                for key, amount in table.items():
                    row += 1
                    name = _key_name(f"{kind}_{p}", key)
                    for col, text in ((1, contract.payer), (2, {"FEE": "fee", "OVR": "override", "DRUGPRICE": "drug price"}[kind]),
                                      (3, key), (5, name)):  # fmt: skip
                        s.put(row, col, text)
                    s.put(row, 4, float(amount), "0.000000", editable=True)
                    _name(self.wb, name, s, row, 4)
        row += 2
        s.put(row, 1, "Charge master (billed charge per unit)", bold=True)
        for key, amount in self.practice.charges.items():
            row += 1
            s.put(row, 1, key)
            s.put(row, 2, float(amount), MONEY, editable=True)
            _name(self.wb, _key_name("CHARGE", key), s, row, 2)
        self.asp_row = row + 2
        self.assumption_row = row + 2

    # -- Fee schedule -----------------------------------------------------------------------
    def _price(self, codes, day, locality, participating=True):
        where = [locality] if locality else ([self.where] if self.where != NATIONAL else "national")
        return price(self.schedules, day, codes=codes, localities=where if locality is None else where,
                     cf_track=self.session.cf_track if day.year == self.day.year else "standard",
                     work_gpci_floor=self.session.work_gpci_floor)  # fmt: skip

    def _tpi_codes(self) -> list[str]:
        claim = self._medicare_claim(due=False)
        return sorted({l.code for l in claim.lines if line_category(l) in ("procedure", "guidance", "em") and l.biller == "physician"})

    def _medicare_claim(self, due: bool, participating: bool = True) -> Claim:
        """The session's Medicare claim, deductible due or met (built once each)."""
        key = (due, participating)
        if key not in self._claims:
            deductible = parameter("part_b/deductible", self.day).value if due else 0
            data = session_data(self.session) | {"deductible_remaining": str(deductible), "participating": participating}
            self._claims[key] = session_builder(self.schedules, Session.from_dict(data))(self.day, None, participating)
        return self._claims[key]

    def fee_schedule(self, codes: list[str] | None) -> None:
        s = self.sheets["Fee schedule"]
        wanted = None if codes is None else sorted(set(codes) | set(self._tpi_codes()))
        frame, _ = self._price(wanted, self.day, None)
        frame = frame[frame["nonfacility_amount"].notna() | frame["facility_amount"].notna()].reset_index(drop=True)
        if len(frame) + 10 > EXCEL_MAX_ROWS:
            raise InputError("too many codes for one sheet", field="codes")
        labels = _labels()
        columns = ["HCPCS", "Mod", "Label", "Work RVU", "PE RVU non-facility", "PE RVU facility", "MP RVU",
                   "OPPS cap non-facility", "OPPS cap facility", "Medicare non-facility", "Medicare facility",
                   "Non-par non-facility", "Non-par facility", "Limiting non-facility", "Limiting facility"]  # fmt: skip
        bases = self._bases(frame)
        for base_key, (label, _) in bases.items():
            columns += [f"{label} non-facility", f"{label} facility"]
        first_payer_col = len(columns) + 1
        columns += [f"{c.payer} (office)" for c in self.contracts]
        s.put(1, 1, f"Fee schedule {self.day} · RVUs {self.basis.rvu.name} · GPCIs {self.basis.gpci.name} · amounts rounded to the cent once",
              bold=True)  # fmt: skip
        s.put(2, 1, "Payer columns: the office (non-facility) amount each contract allows for one unit of the code.")
        s.header(4, columns)
        self.fee_rows: dict[str, int] = {}
        payer_cents = self._payer_schedule(frame, bases)
        for i, r in enumerate(frame.itertuples(index=False)):
            row = 5 + i
            key = r.hcpcs + (f"-{r.modifier}" if r.modifier else "")
            self.fee_rows[key] = row
            s.put(row, 1, str(r.hcpcs))
            s.put(row, 2, str(r.modifier))
            s.put(row, 3, labels.get(str(r.hcpcs), "") if not r.modifier else "")
            for col, value in ((4, r.work_rvu), (5, r.pe_rvu_nonfacility), (6, r.pe_rvu_facility), (7, r.mp_rvu)):
                s.put(row, col, int(value) / 100)
            for col, cap in ((8, r.nonfacility_opps_cap), (9, r.facility_opps_cap)):
                s.put(row, col, None if pd.isna(cap) else int(cap) / 100, MONEY)
            for col, setting, pe_col, cap_col in ((10, "nonfacility", "E", "H"), (11, "facility", "F", "I")):
                exact = f"ROUND((D{row}*GPCI_WORK+{pe_col}{row}*GPCI_PE+G{row}*GPCI_MP)*CF*1000000000,0)"  # in 10^-9 dollars
                amount = _to_cents(f"{exact}/10000000")
                payment = getattr(r, f"{setting}_payment")
                s.formula(row, col, f"IF({cap_col}{row}=\"\",{amount},MIN({amount},{cap_col}{row}))", _dollars(payment))
                nonpar = f"{exact}*{_cents_of('NONPAR_RATE')}"
                binds = f'AND({cap_col}{row}<>"",{cap_col}{row}<{amount})'  # the cap binds: non-par from the cap
                capped = f"{_cents_of(f'{cap_col}{row}')}*{_cents_of('NONPAR_RATE')}"
                s.formula(row, col + 2, f"IF({binds},{_to_cents(f'{capped}/100')},{_to_cents(f'{nonpar}/1000000000')})",
                          _dollars(getattr(r, f"{setting}_nonpar_amount")))  # fmt: skip
                limiting = f"{_cents_of('LIMITING_RATE')}"
                s.formula(row, col + 4, f"IF({binds},{_to_cents(f'{capped}*{limiting}/10000')},"
                                        f"{_to_cents(f'{nonpar}*{limiting}/100000000000')})",
                          _dollars(getattr(r, f"{setting}_limiting_charge")))  # fmt: skip
            for b, (_, base) in enumerate(bases.values()):
                found = base.get(key, {})
                for offset, setting in enumerate(("nonfacility", "facility")):
                    amount = _dollars(found.get(setting))
                    s.put(row, 16 + 2 * b + offset, None if amount is None else float(amount), MONEY)
            for j, contract in enumerate(self.contracts):
                col = first_payer_col + j
                s.formula(row, col, self._payer_cell(contract, key, row, bases), _dollars(payer_cents[contract.payer][i]))
        s.widths({1: 8, 2: 5, 3: 34} | {c: 14 for c in range(4, len(columns) + 1)})

    def _bases(self, frame: pd.DataFrame) -> dict[tuple, tuple[str, dict]]:
        """Medicare bases of contracts pinned to another year or locality: {key: {setting: cents}} (values)."""
        bases = {}
        for contract in self.contracts:
            if contract.method != "percent_of_medicare" or not (contract.medicare_year or contract.locality):
                continue
            year = contract.medicare_year or self.day.year
            base_key = (year, contract.locality)
            if base_key in bases:
                continue
            base_day = dt.date(year, self.day.month, min(self.day.day, 28))
            locality = tuple(contract.locality.split("-")) if contract.locality else None
            in_base = set(self.schedules.table(self.schedules.in_force("pfs_rvu", base_day))["hcpcs"])
            known = sorted(set(frame["hcpcs"]) & in_base)
            base_frame, base_basis = self._price(known, base_day, locality)
            self.vintages |= {v.name: v for v in (base_basis.rvu, base_basis.gpci)}
            amounts = {(r.hcpcs + (f"-{r.modifier}" if r.modifier else "")): {"nonfacility": r.nonfacility_payment, "facility": r.facility_payment}
                       for r in base_frame.itertuples(index=False) if not pd.isna(r.nonfacility_payment)}  # fmt: skip
            bases[base_key] = (f"Medicare {year}" + (f" {contract.locality}" if contract.locality else ""), amounts)
        return bases

    def _payer_schedule(self, frame: pd.DataFrame, bases) -> dict[str, list]:
        """The product's office amount per code and payer (vectorised contract pricing)."""
        keys = frame["hcpcs"].astype(str) + ("-" + frame["modifier"].astype(str)).where(frame["modifier"].astype(str) != "", "")
        category = ["guidance" if c in GUIDANCE.values() else "em" if c in EM_CODES else "procedure" for c in frame["hcpcs"]]
        result = {}
        for contract in self.contracts:
            if contract.method == "medicare":
                column = "nonfacility_payment" if self.practice.participating else "nonfacility_nonpar_amount"
                result[contract.payer] = list(frame[column])
                continue
            base = frame["nonfacility_payment"]
            if contract.method == "percent_of_medicare" and (contract.medicare_year or contract.locality):
                amounts = bases[(contract.medicare_year or self.day.year, contract.locality)][1]
                base = pd.Series([amounts.get(k, {}).get("nonfacility", 0) for k in keys])
            charges = [self.practice.charges.get(k, self.practice.charges.get(c)) for k, c in zip(keys, frame["hcpcs"])]
            lines = pd.DataFrame({
                "code": frame["hcpcs"].astype(str), "key": keys, "units": 1, "category": category,
                "base_cents": base.fillna(0).astype("int64").to_numpy(), "unit_price_milli": pd.array([None] * len(frame), dtype="Int64"),
                "billed_cents": pd.array([None if c is None else int(c * 100) for c in charges], dtype="Int64"),
            })  # fmt: skip
            cents, _ = contract_allowed(lines, contract, with_reasons=False)
            result[contract.payer] = list(cents)
        return result

    def _payer_cell(self, contract: Contract, key: str, row: int, bases) -> str:
        """The formula of one contract's office amount for one code (mirrors contract_allowed)."""
        p = self.payer_names[contract.payer]
        code = key.split("-")[0]
        if contract.method == "medicare":
            return f"J{row}" if self.practice.participating else f"L{row}"
        if contract.method == "percent_of_medicare":
            base = f"J{row}"
            if contract.medicare_year or contract.locality:
                col = 16 + 2 * list(bases).index((contract.medicare_year or self.day.year, contract.locality))
                base = f"N({get_column_letter(col)}{row})"
            amount = _to_cents(f"{_cents_of(base)}*PCT_{p}/100")
        elif contract.method == "fee_schedule":
            fee = self._amount_name(contract, "FEE", contract.fees, key, code)
            amount = _per_units(fee, 1) if fee else "0"
        else:
            charge = self._charge_name(key, code)
            amount = _to_cents(f"{_cents_of(charge)}*PCT_{p}/100") if charge else "0"
        override = self._amount_name(contract, "OVR", contract.overrides, key, code)
        if override:
            amount = _per_units(override, 1)
        if code in GUIDANCE.values():
            amount = f"IF(GUIDE_{p},{amount},0)"
        if code in EM_CODES:
            amount = f"IF(EM_{p},{amount},0)"
        charge = self._charge_name(key, code)
        if charge:
            amount = f"IF(LESSER_{p},MIN({amount},{charge}),{amount})"
        return amount

    def _amount_name(self, contract, kind, table, key, code) -> str | None:
        p = self.payer_names[contract.payer]
        found = key if key in table else code if code in table else None
        return _key_name(f"{kind}_{p}", found) if found else None

    def _charge_name(self, key, code) -> str | None:
        found = key if key in self.practice.charges else code if code in self.practice.charges else None
        return _key_name("CHARGE", found) if found else None

    # -- Session estimate -------------------------------------------------------------------
    def session_estimate(self) -> None:
        s, a = self.sheets["Session estimate"], self.sheets["Assumptions"]
        medicare = {due: self._medicare_claim(due) for due in (True, False)}
        lines = medicare[False].lines
        # drug payment limits used by the session, as inputs
        row = self.asp_row
        a.put(row, 1, "Drug payment limits (ASP file, per billing unit) and patient coinsurance %", bold=True)
        self.asp_names = {}
        for line in lines:
            if line_category(line) == "drug" and line.code not in self.asp_names:
                row += 1
                a.put(row, 1, f"{line.code} ({line.source})")
                a.put(row, 2, float(line.unit_price), "0.000", editable=True)
                a.put(row, 3, float(line.coinsurance_rate * 100), "0.000", editable=True)
                self.asp_names[line.code] = (_name(self.wb, f"ASP_{line.code}", a, row, 2), _name(self.wb, f"ASPCOINS_{line.code}", a, row, 3))
        self.next_assumption_row = row + 2
        s.put(1, 1, f"Session estimate {self.day}: {medicare[False].setting}, locality {medicare[False].locality}", bold=True)
        s.put(2, 1, "Two views of patient share: the first visit of the year (deductible due) and once the deductible is met.")
        headers = ["Payer", "Code", "Modifiers", "Units", "Medicare base", "Allowed"]
        for view in ("due", "met"):
            headers += [f"Copay ({view})", f"Deductible ({view})", f"Coinsurance ({view})", f"Payer pays ({view})",
                        f"Sequestration ({view})", f"Expected ({view})"]  # fmt: skip
        s.header(4, headers + ["Medicare par (for coverage at risk)"])
        row = 5
        self.medicare_rows: list[int] = []
        self.totals: dict[str, int] = {}
        claims = {}
        for contract in self.contracts:
            claims[contract.payer] = {due: self._payer_claim(contract, medicare[due], due) for due in (True, False)}
        nonpar = None if self.practice.participating else self._medicare_claim(False, participating=False)
        for index, contract in enumerate(self.contracts):
            p = self.payer_names[contract.payer]
            first = row
            for i, line in enumerate(lines):
                s.put(row, 1, contract.payer)
                s.put(row, 2, line.code or line.label)
                s.put(row, 3, " ".join(line.modifiers))
                s.put(row, 4, line.units)
                if contract.method == "percent_of_medicare" and (contract.medicare_year or contract.locality):
                    s.put(row, 5, float(self._pinned_base(contract, line)), MONEY)  # a pinned year: a value
                else:
                    use_nonpar = contract.method == "medicare" and not self.practice.participating
                    base_formula, base_value = self._base_cell(line, i, nonpar if use_nonpar else None)
                    s.formula(row, 5, base_formula, base_value)
                if line.biller == "facility":
                    s.put(row, 19, 0, MONEY)  # the hospital's line: never the practice's revenue at risk
                else:
                    s.formula(row, 19, *self._base_cell(line, i, None))
                allowed_formula = self._allowed_cell(contract, line, row)
                s.formula(row, 6, allowed_formula, claims[contract.payer][False].lines[i].allowed)
                for v, due in ((0, True), (1, False)):
                    self._share_cells(s, row, first, 7 + 6 * v, contract, line, due, claims[contract.payer][due].lines[i])
                row += 1
            s.put(row, 1, f"{contract.payer} total", bold=True)
            for col in range(5, 19):
                letter = get_column_letter(col)
                values = {5: None, 6: claims[contract.payer][False].total("allowed")}
                for v, due in ((0, True), (1, False)):
                    claim = claims[contract.payer][due]
                    for k, name in enumerate(("copay", "deductible", "coinsurance", "payer_payment", "sequestration", "expected_to_provider")):
                        values[7 + 6 * v + k] = claim.total(name)
                if col == 5:
                    continue
                cells = ",".join(f"{letter}{r}" for r, line in zip(range(first, row), lines) if line.biller != "facility")
                s.formula(row, col, f"SUM({cells})", values[col], bold=True)
            self.totals[contract.payer] = row
            self._session_names(p, row, first)
            row += 2
        s.widths({1: 28, 2: 10, 3: 9, 4: 6} | {c: 13 for c in range(5, 20)})
        self.claims = claims

    def _session_names(self, p: str, total_row: int, first: int) -> None:
        s = self.sheets["Session estimate"]
        _name(self.wb, f"ALLOWED_{p}", s, total_row, 6)
        _name(self.wb, f"PAYDUE_{p}", s, total_row, 10)
        _name(self.wb, f"SEQDUE_{p}", s, total_row, 11)
        _name(self.wb, f"EXPDUE_{p}", s, total_row, 12)
        _name(self.wb, f"PAYMET_{p}", s, total_row, 16)
        _name(self.wb, f"SEQMET_{p}", s, total_row, 17)
        _name(self.wb, f"EXPMET_{p}", s, total_row, 18)
        self.block_rows[p] = (first, total_row - 1)

    def _payer_claim(self, contract: Contract, medicare: Claim, due: bool) -> Claim:
        priced = contract if due else replace(contract, deductible=Decimal(0))
        build = session_builder(self.schedules, medicare.session)
        return payer_claim(build, priced, self.practice, self.day, medicare)

    def _base_cell(self, line, index: int, nonpar: Claim | None) -> tuple[str, Decimal]:
        """The live Medicare amount of a line (par, or non-par when ``nonpar`` is the non-par claim)."""
        category = line_category(line)
        value = (nonpar or self._medicare_claim(False)).lines[index].allowed
        if category == "not billed":
            return "0", value
        if category == "drug":
            return _to_cents(f"{line.units}*ROUND(ASP_{line.code}*1000,0)/10"), value
        if line.biller == "facility":
            return f"{line.allowed}", value  # OPPS / ASC national rate from the CMS addendum
        key = line_key(line.code, line.modifiers)
        column = {("nonfacility", False): "J", ("facility", False): "K", ("nonfacility", True): "L", ("facility", True): "M"}[
            (self.setting, nonpar is not None)]
        return f"'Fee schedule'!{column}{self.fee_rows[key]}", value

    def _pinned_base(self, contract: Contract, line) -> Decimal:
        """A pinned contract's Medicare base for a line (0 when that year has no amount for it)."""
        year = contract.medicare_year or self.day.year
        base_day = dt.date(year, self.day.month, min(self.day.day, 28))
        build = session_builder(self.schedules, self._medicare_claim(False).session)
        base = build(base_day, contract.locality, True)
        return next((b.allowed for b in base.lines if (b.code, b.modifiers, b.biller) == (line.code, line.modifiers, line.biller)),
                    Decimal("0.00"))  # fmt: skip

    def _allowed_cell(self, contract: Contract, line, row: int) -> str:
        """Mirrors contract_allowed for one session line, over the base in column E."""
        p = self.payer_names[contract.payer]
        category = line_category(line)
        base = f"E{row}"
        if category == "not billed":
            return "0"
        if contract.method == "medicare":
            return base
        if category == "facility":
            return "0"  # the hospital's or ASC's line is not priced under the practice's contracts
        key = line_key(line.code, line.modifiers)
        units = line.units
        if contract.method == "percent_of_medicare":
            amount = _to_cents(f"{_cents_of(base)}*PCT_{p}/100")
        elif contract.method == "fee_schedule":
            fee = self._amount_name(contract, "FEE", contract.fees, key, line.code)
            amount = _per_units(fee, units) if fee else "0"
        else:
            charge = self._charge_name(key, line.code)
            amount = _to_cents(f"{_cents_of(charge)}*{units}*PCT_{p}/100") if charge else "0"
        if category == "drug" and contract.drug_method != "same_as_procedures":
            if contract.drug_method == "not_covered":
                amount = "0"
            elif contract.drug_method == "per_unit":
                price_name = self._amount_name(contract, "DRUGPRICE", contract.drug_per_unit, line.code, line.code)
                amount = _per_units(price_name, units) if price_name else "0"
            else:
                share = f"(1+DRUGPCT_{p}/100)" if contract.drug_method == "asp_plus" else f"(DRUGPCT_{p}/100)"
                amount = _money(f"{units}*ASP_{line.code}/1.06*{share}")
        override = self._amount_name(contract, "OVR", contract.overrides, key, line.code)
        if override:
            amount = _per_units(override, units)
        if category == "guidance":
            amount = f"IF(GUIDE_{p},{amount},0)"
        if category == "em":
            amount = f"IF(EM_{p},{amount},0)"
        charge = self._charge_name(key, line.code)
        if charge:
            amount = f"IF(LESSER_{p},MIN({amount},{charge}*{units}),{amount})"
        return amount

    def _share_cells(self, s: Sheet, row: int, first: int, col: int, contract: Contract, line, due: bool, product) -> None:
        """Copay, deductible, coinsurance, payer payment, sequestration, expected (apply_patient_share)."""
        p = self.payer_names[contract.payer]
        letters = [get_column_letter(col + k) for k in range(6)]
        copay, deductible, coinsurance, payment, sequestration, expected = letters
        medicare_kind = contract.method == "medicare"
        copay_total = "0" if medicare_kind else f"COPAY_{p}"
        deductible_total = ("PARTB_DEDUCTIBLE" if medicare_kind else f"DED_{p}") if due else "0"
        previous = lambda letter: f"SUM({letter}${first}:{letter}{row - 1})" if row > first else "0"  # noqa: E731
        if medicare_kind:
            share = f"ASPCOINS_{line.code}/100" if line_category(line) == "drug" else "ROUND(PARTB_COINS*100,0)/100"
        else:
            share = f"COINS_{p}/100"
        allowed = f"F{row}"
        s.formula(row, col, f"MIN({allowed},MAX(0,{copay_total}-{previous(copay)}))", product.copay)
        s.formula(row, col + 1, f"MIN({allowed}-{copay}{row},MAX(0,{deductible_total}-{previous(deductible)}))", product.deductible)
        s.formula(row, col + 2, _money(f"({allowed}-{copay}{row}-{deductible}{row})*{share}"), product.coinsurance)
        s.formula(row, col + 3, f"{allowed}-{copay}{row}-{deductible}{row}-{coinsurance}{row}", product.payer_payment)
        s.formula(row, col + 4, _to_cents(f"{_cents_of(f'{payment}{row}')}*ROUND(SEQ_{p}*100,0)/100"), product.sequestration)
        s.formula(row, col + 5, f"{copay}{row}+{deductible}{row}+{coinsurance}{row}+{payment}{row}-{sequestration}{row}",
                  product.expected_to_provider)  # fmt: skip

    # -- Payer comparison ---------------------------------------------------------------------
    def comparison(self) -> None:
        s = self.sheets["Payer comparison"]
        s.put(1, 1, f"Payer comparison for the session of {self.day} (deductible met)", bold=True)
        s.header(4, ["Payer", "Allowed", "Patient share", "Payer pays after sequestration", "Expected", "% of Medicare",
                     "Rank", "Difference to the best"])  # fmt: skip
        medicare_allowed = self._medicare_claim(False).total("allowed")
        first, last = 5, 4 + len(self.contracts)
        expected_values = [self.claims[c.payer][False].total("expected_to_provider") for c in self.contracts]
        best = max(expected_values)
        for i, contract in enumerate(self.contracts):
            row, p = first + i, self.payer_names[contract.payer]
            claim = self.claims[contract.payer][False]
            t = self.totals[contract.payer]
            s.put(row, 1, contract.payer)
            s.formula(row, 2, f"ALLOWED_{p}", claim.total("allowed"))
            s.formula(row, 3, f"'Session estimate'!M{t}+'Session estimate'!N{t}+'Session estimate'!O{t}", claim.total("patient_share"))
            s.formula(row, 4, f"PAYMET_{p}-SEQMET_{p}", claim.total("payer_payment") - claim.total("sequestration"))
            s.formula(row, 5, f"EXPMET_{p}", claim.total("expected_to_provider"))
            pct = None if not medicare_allowed else float(claim.total("allowed") / medicare_allowed)
            s.formula(row, 6, f"IF(MEDICARE_ALLOWED=0,\"\",B{row}/MEDICARE_ALLOWED)", pct, "0.0%")
            rank = 1 + sum(e > expected_values[i] for e in expected_values)
            s.formula(row, 7, f"RANK(E{row},$E${first}:$E${last})", rank, "0")
            s.formula(row, 8, f"E{row}-MAX($E${first}:$E${last})", expected_values[i] - best)
        row = last + 2
        s.put(row, 1, "Traditional Medicare allowed (par) for the same session")
        s.formula(row, 2, self._medicare_allowed_formula(), medicare_allowed)
        _name(self.wb, "MEDICARE_ALLOWED", s, row, 2)
        chart = BarChart()
        chart.type = "bar"
        chart.title = "Allowed and expected per payer"
        chart.add_data(Reference(s.ws, min_col=2, max_col=2, min_row=4, max_row=last), titles_from_data=True)
        chart.add_data(Reference(s.ws, min_col=5, max_col=5, min_row=4, max_row=last), titles_from_data=True)
        chart.set_categories(Reference(s.ws, min_col=1, min_row=first, max_row=last))
        chart.height, chart.width = 8, 18
        s.ws.add_chart(chart, f"A{row + 3}")
        s.widths({1: 34} | {c: 16 for c in range(2, 9)})

    def _medicare_allowed_formula(self) -> str:
        """Traditional Medicare par allowed: the live Medicare base of every line, summed."""
        medicare = self._medicare_claim(False)
        parts = []
        for index, line in enumerate(medicare.lines):
            if line.biller != "facility":
                parts.append(f"({self._base_cell(line, index, None)[0]})")
        return "+".join(parts) or "0"

    # -- Forecast -----------------------------------------------------------------------------
    def forecast_sheet(self) -> None:
        s, a = self.sheets["Forecast"], self.sheets["Assumptions"]
        f = self.forecast
        row = self.next_assumption_row
        a.put(row, 1, "Forecast (prices held at the date of service)", bold=True)
        inputs = [("VOLUME", "Sessions per month", f.sessions_per_month, "0.00"),
                  ("GROWTH", "Growth per month (%)", f.growth_percent_per_month, "0.00"),
                  ("PER_PATIENT", "Sessions per patient per year", f.sessions_per_patient_per_year, "0.00")]  # fmt: skip
        for name, label, value, fmt in inputs:
            row += 1
            a.put(row, 1, label)
            a.put(row, 2, float(value), fmt, editable=True)
            _name(self.wb, name, a, row, 2)
        for month in range(1, 13):
            row += 1
            a.put(row, 1, f"Seasonality multiplier, month {month}")
            a.put(row, 2, float(f.seasonality[month - 1]), "0.00", editable=True)
            _name(self.wb, f"SEASON_{month}", a, row, 2)
        # per-payer per-session values, from the Session estimate sheet
        row += 2
        a.put(row, 1, "Per session, from the Session estimate sheet", bold=True)
        for col, name in enumerate(["Payer", "Billed", "Not covered (Medicare value)", "Patient (due)", "Patient (met)"], 1):
            a.put(row + 1, col, name, bold=True)
        row += 1
        medicare = self._medicare_claim(False)
        for contract in self.contracts:
            row += 1
            p = self.payer_names[contract.payer]
            first, last = self.block_rows[p]
            claims = self.claims[contract.payer]
            a.put(row, 1, contract.payer)
            billable = [l for l in medicare.lines if l.biller == "physician" and self._charge_name(line_key(l.code, l.modifiers), l.code)]
            charge_parts = [f"{self._charge_name(line_key(l.code, l.modifiers), l.code)}*{l.units}" for l in billable]
            billed = sum((self.practice.charge(l) for l in billable), Decimal(0))
            a.formula(row, 2, "+".join(charge_parts) or "0", billed)
            not_covered = sum((m.allowed for l, m in zip(claims[False].lines, medicare.lines)
                               if l.allowed == 0 and m.allowed > 0 and m.biller == "physician"), Decimal(0))  # fmt: skip
            medicare_range = f"'Session estimate'!S{first}:S{last}"
            a.formula(row, 3, f"SUMPRODUCT(('Session estimate'!F{first}:F{last}=0)*({medicare_range}>0)*({medicare_range}))"
                      if contract.method != "medicare" else "0", not_covered)  # fmt: skip
            t = self.totals[contract.payer]
            a.formula(row, 4, f"'Session estimate'!G{t}+'Session estimate'!H{t}+'Session estimate'!I{t}", claims[True].total("patient_share"))
            a.formula(row, 5, f"'Session estimate'!M{t}+'Session estimate'!N{t}+'Session estimate'!O{t}", claims[False].total("patient_share"))
            for name, col in (("BILLED", 2), ("NOTCOV", 3), ("PATDUE", 4), ("PATMET", 5)):
                _name(self.wb, f"{name}_{p}", a, row, col)
        a.widths({1: 44, 2: 14, 3: 14, 4: 14, 5: 14})
        # the product's own forecast of the same model
        scenario = Scenario(
            name="Workbook", start=self.day.replace(day=1), months=f.months,
            templates=(Template("session", f.sessions_per_month, {k: v for k, v in session_data(self.session).items()
                                                                  if k not in ("date_of_service", "deductible_remaining")}),),
            payer_mix={c.payer: Decimal(str(self.payer_inputs[c.payer]["MIX"])) for c in self.contracts},
            growth_percent_per_month=f.growth_percent_per_month, seasonality=f.seasonality,
            sessions_per_patient_per_year=f.sessions_per_patient_per_year,
            denial_rate_percent={c.payer: Decimal(str(self.payer_inputs[c.payer]["DENIAL"])) for c in self.contracts},
            prices_held_at=self.day,
        )  # fmt: skip
        table = run(self.schedules, [scenario], self.contracts, self.practice)
        self.forecast_table = table
        columns = ["Month", "Payer", "Sessions", "Billed charges", "Allowed", "Patient responsibility", "Payer payment",
                   "Denied", "At risk (frequency)", "At risk (coverage)", "Expected collections"]  # fmt: skip
        s.put(1, 1, "Monthly forecast: sessions x payer mix x growth x seasonality; deductible due at each patient's first "
                    "sessions of the year; frequency limits and denials reduce what is collected", bold=True)  # fmt: skip
        s.header(4, columns)
        row = 5
        for r in table.itertuples(index=False):
            p = self.payer_names[r.payer]
            index = (int(r.month[:4]) - self.day.year) * 12 + int(r.month[5:]) - self.day.month
            month = int(r.month[5:])
            sessions = f"VOLUME*(1+GROWTH/100)^{index}*SEASON_{month}*MIX_{p}/100"
            first = f"MIN(1,MAX(0,12/PER_PATIENT-{month - 1}))"
            paid = f'IF(LIMIT_{p}="",1,MIN(1,LIMIT_{p}/PER_PATIENT))'
            collected = f"{paid}*(1-DENIAL_{p}/100)"
            s.put(row, 1, r.month)
            s.put(row, 2, r.payer)
            exact = (f.sessions_per_month * (1 + f.growth_percent_per_month / 100) ** index * f.seasonality[month - 1]
                     * Decimal(str(self.payer_inputs[r.payer]["MIX"])) / 100)  # fmt: skip
            s.formula(row, 3, sessions, float(exact), "0.0")
            s.formula(row, 4, _money(f"C{row}*BILLED_{p}"), r.billed_charges)
            s.formula(row, 5, _money(f"C{row}*ALLOWED_{p}"), r.allowed)
            s.formula(row, 6, _money(f"C{row}*{collected}*({first}*PATDUE_{p}+(1-{first})*PATMET_{p})"), r.patient_responsibility)
            s.formula(row, 7, _money(f"C{row}*{collected}*({first}*(PAYDUE_{p}-SEQDUE_{p})+(1-{first})*(PAYMET_{p}-SEQMET_{p}))"),
                      r.payer_payment)  # fmt: skip
            s.formula(row, 8, _money(f"C{row}*ALLOWED_{p}*{paid}*DENIAL_{p}/100"), r.denied)
            s.formula(row, 9, _money(f"C{row}*ALLOWED_{p}*(1-{paid})"), r.at_risk_frequency)
            s.formula(row, 10, _money(f"C{row}*NOTCOV_{p}"), r.at_risk_coverage)
            s.formula(row, 11, _money(f"C{row}*{collected}*({first}*(PATDUE_{p}+PAYDUE_{p}-SEQDUE_{p})+(1-{first})*(PATMET_{p}+PAYMET_{p}-SEQMET_{p}))"),
                      r.expected_collections)  # fmt: skip
            row += 1
        last = row - 1
        # monthly totals for the chart
        row += 1
        s.put(row, 1, "Month", bold=True)
        s.put(row, 2, "Expected collections, all payers", bold=True)
        head = row
        for month, group in table.groupby("month", sort=False):
            row += 1
            s.put(row, 1, month)
            s.formula(row, 2, f"SUMIF($A$5:$A${last},A{row},$K$5:$K${last})", sum(group["expected_collections"], Decimal(0)))
        chart = LineChart()
        chart.title = "Expected collections per month"
        chart.add_data(Reference(s.ws, min_col=2, min_row=head, max_row=row), titles_from_data=True)
        chart.set_categories(Reference(s.ws, min_col=1, min_row=head + 1, max_row=row))
        chart.height, chart.width = 8, 22
        s.ws.add_chart(chart, f"M{head}")
        s.widths({1: 9, 2: 30} | {c: 15 for c in range(3, 12)})

    # -- Sources ------------------------------------------------------------------------------
    def sources(self, exported_at: dt.datetime) -> None:
        s = self.sheets["Sources"]
        s.put(1, 1, "Sources and assumptions", bold=True)
        s.put(2, 1, f"Exported {exported_at:%Y-%m-%d %H:%M} UTC by tpi-estimator {__version__}")
        s.header(4, ["CMS release", "Source file", "Effective from", "Effective to", "sha256 of the CMS file", "Note"])
        claim = self._medicare_claim(False)
        used = dict(self.vintages)
        for line in claim.lines:
            for name in re.findall(r"[A-Z][A-Z0-9_]+", line.source):
                match = [v for v in self.schedules.vintages if v.name == name]
                if match:
                    used[name] = match[0]
        row = 5
        for vintage in sorted(used.values(), key=lambda v: (v.kind, v.effective_from)):
            for col, text in enumerate([vintage.name, vintage.source["source_file"], str(vintage.effective_from),
                                        str(vintage.effective_to), vintage.source["source_sha256"], vintage.source.get("note", "")], 1):  # fmt: skip
                s.put(row, col, text)
            row += 1
        row += 1
        notes = [
            "Amounts are rounded half up to the cent once per line, where the product rounds. Formulas round in whole cents",
            "(ROUND(x*100,0)/100 style) so that an exact half cent rounds up in Excel, LibreOffice and other engines alike.",
            "Medicare: [(work RVU x work GPCI) + (PE RVU x PE GPCI) + (MP RVU x MP GPCI)] x CF; non-par 95%; limiting charge 115% of non-par.",
            "Patient share: copay, then the deductible (line order), then coinsurance; Medicare sequestration 2% of Medicare's payment.",
            "Contracts pinned to another year or locality use that year's Medicare amounts as values (they do not follow the CF input).",
            "Drugs: units x the ASP payment limit (already 106% of ASP); 'ASP + x%' takes ASP as the payment limit / 1.06.",
            "Forecast: prices are held at the date of service; each patient's first sessions of the year carry the deductible.",
            "Cached values: each formula cell carries the value the product computed, so viewers that do not recalculate show numbers;",
            "Excel and LibreOffice recalculate on opening and show the same figures. Yellow cells are inputs; sheets are protected",
            "without a password (Review > Unprotect Sheet).",
        ] + [f"Note: {n}" for n in claim.notes]
        for note in notes:
            s.put(row, 1, note)
            row += 1
        s.widths({1: 16, 2: 60, 3: 14, 4: 14, 5: 66, 6: 80})


MONEY_COLUMNS = {"allowed", "copay", "deductible", "coinsurance", "sequestration", "expected_to_provider", "denied",
                 "at_risk_frequency", "at_risk_coverage", "limiting_charge", "patient_share", "payer_payment", "expected",
                 "difference_to_best", "billed_charges", "patient_responsibility", "expected_collections"}  # fmt: skip


def table_workbook(table: pd.DataFrame, title: str) -> bytes:
    """A table as an .xlsx: amounts as numbers with two decimals, all text as text (never a formula)."""
    if len(table) + 1 >= EXCEL_MAX_ROWS:
        raise InputError(f"{len(table):,} rows do not fit in an Excel sheet; write a .csv instead", field="output")
    workbook = Workbook(write_only=True)
    sheet = Sheet(workbook, title[:31])
    sheet.header(1, [str(c) for c in table.columns])
    money = [c in MONEY_COLUMNS or c.endswith(("_amount", "_charge", "_cap", "_payment")) for c in table.columns]
    for r, values in enumerate(table.itertuples(index=False), start=2):
        for c, (value, is_money) in enumerate(zip(values, money), start=1):
            text = "" if value is None or (not isinstance(value, str) and pd.isna(value)) else str(value)
            if is_money and text:
                sheet.put(r, c, float(Decimal(text)), MONEY)
            elif isinstance(value, (int, float, Decimal)) and not isinstance(value, bool) and text:
                sheet.put(r, c, float(value))
            else:
                sheet.put(r, c, text)
    sheet.widths({c: 16 for c in range(1, len(table.columns) + 1)})
    sheet.finish()
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
