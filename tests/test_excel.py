"""The Excel model: recalculated without Excel, every amount equals the product's to the cent."""

import io
import zipfile
from dataclasses import replace
from decimal import Decimal

import formulas
import pytest
from openpyxl import load_workbook

from estimator.compare import payer_claims
from estimator.contracts import Contract, Practice
from estimator.excel import ForecastInputs, estimate_workbook
from estimator.session import Session
from estimator.uploads import read_fee_schedule

SESSION = Session.from_dict(
    {
        "date_of_service": "2026-03-02",
        "zip_code": "35203",
        "muscle_count": 2,
        "guidance": "ultrasound",
        "drugs": ["triamcinolone:40mg", "botox:80units:20"],
        "em_code": "99213",
        "em_separately_identifiable": True,
        "diagnoses": ["M79.18"],
    }
)
PRACTICE = Practice.from_dict({"name": "Test", "zip_code": "35203", "charges": {"20552": "150", "76942": "200", "J3301": "5"}})
CONTRACTS = [
    Contract.from_dict(d)
    for d in (
        {"payer": "Medicare", "kind": "medicare", "method": "medicare"},
        {
            "payer": '=HYPERLINK("http://example.invalid","click")',
            "percent": "125",
            "copay": "30",
            "coinsurance_percent": "10",
            "deductible": "50",
            "drug_method": "asp_plus",
            "drug_percent": "10",
            "lesser_of_billed": True,
        },
        {
            "payer": "+Pinned 2025",
            "percent": "130",
            "medicare_year": 2025,
            "guidance_covered": False,
            "overrides": {"99213": "90"},
        },
        {
            "payer": "@Fees",
            "method": "fee_schedule",
            "fees": {"20552": "41.10", "J0585": "5.5"},
            "em_25_paid": False,
            "frequency_rule": "three_in_90_days",
        },
        {"payer": "-Charges", "method": "percent_of_charges", "percent": "60", "kind": "self_pay", "coinsurance_percent": "100"},
        {"payer": "MA", "kind": "medicare_advantage", "percent": "100", "coinsurance_percent": "20", "sequestration": True},
    )
]


def recalculate(data: bytes, tmp_path, inputs: dict | None = None):
    """Recalculate every formula with the `formulas` package; returns (values by sheet!cell, workbook, name)."""
    path = tmp_path / "estimate.xlsx"
    path.write_bytes(data)
    model = formulas.ExcelModel().loads(str(path)).finish()
    solution = model.calculate(inputs=inputs or {})
    values = {}
    for key, ranges in solution.items():
        if "!" in key and key.startswith("'["):
            sheet, cell = key.split("]", 1)[1].rsplit("!", 1)
            values[(sheet.strip("'"), cell)] = ranges.value[0][0]
    return values, load_workbook(path), path.name


def formula_cells(workbook):
    for ws in workbook.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                if cell.data_type == "f":
                    yield ws.title, cell.coordinate


def assert_all_equal(data, tmp_path):
    values, workbook, _ = recalculate(data, tmp_path)
    cached = load_workbook(io.BytesIO(data), data_only=True)
    checked = 0
    for sheet, coordinate in formula_cells(workbook):
        want, got = cached[sheet][coordinate].value, values[(sheet.upper(), coordinate)]
        assert want is not None, (sheet, coordinate)
        if workbook[sheet][coordinate].number_format.startswith('"$"'):
            assert round(float(got), 2) == float(want), (sheet, coordinate, workbook[sheet][coordinate].value, got, want)
        else:
            assert abs(float(got) - float(want)) < 1e-6, (sheet, coordinate, got, want)
        checked += 1
    return checked


def full_workbook(shipped) -> bytes:
    """The model the recalculation tests check: three fee-schedule codes, every test payer, 14 months."""
    return estimate_workbook(
        shipped,
        SESSION,
        CONTRACTS,
        PRACTICE,
        codes=["20552", "20553", "77002"],
        forecast=ForecastInputs(
            months=14,
            growth_percent_per_month=Decimal("2.5"),
            sessions_per_patient_per_year=Decimal(5),
            denial_rate_percent={"@Fees": Decimal("7.5")},
        ),
    )


@pytest.mark.slow
def test_every_formula_equals_the_product_to_the_cent(shipped, tmp_path):
    assert assert_all_equal(full_workbook(shipped), tmp_path) > 1000


@pytest.mark.slow
def test_facility_session_non_par_practice(shipped, tmp_path):
    session = Session.from_dict(
        {
            "date_of_service": "2026-02-10",
            "zip_code": "35203",
            "place_of_service": "22",
            "muscle_count": 3,
            "guidance": "fluoroscopy",
            "drugs": ["methylprednisolone:80mg"],
        }
    )
    practice = Practice.from_dict({"name": "Non-par", "zip_code": "35203", "participating": False, "charges": {"20553": "180"}})
    data = estimate_workbook(shipped, session, CONTRACTS, practice, codes=["20552"], forecast=ForecastInputs(months=3))
    assert assert_all_equal(data, tmp_path) > 300


@pytest.mark.slow
def test_changing_a_payer_percent_flows_through_and_matches_the_product(shipped, tmp_path):
    """MA at 100% -> 150%: the workbook's allowed total equals the product's claim under a 150% contract."""
    data = estimate_workbook(shipped, SESSION, CONTRACTS, PRACTICE, codes=["20552"], forecast=ForecastInputs(months=2))
    workbook = load_workbook(io.BytesIO(data))
    pct = workbook.defined_names["PCT_P6"].attr_text.split("!")[1].replace("$", "")
    allowed = workbook.defined_names["ALLOWED_P6"].attr_text.split("!")[1].replace("$", "")
    expected_met = workbook.defined_names["EXPMET_P6"].attr_text.split("!")[1].replace("$", "")
    values, _, name = recalculate(data, tmp_path, {f"'[estimate.xlsx]ASSUMPTIONS'!{pct}": 1.5})
    contract = Contract.from_dict(CONTRACTS[5].to_dict() | {"percent": "150", "deductible": "0"})
    claim = payer_claims(shipped, SESSION, [contract], PRACTICE)["MA"]
    medicare = payer_claims(shipped, SESSION, [CONTRACTS[0]], PRACTICE)["Medicare"]
    assert round(values[("SESSION ESTIMATE", allowed)], 2) == float(claim.total("allowed"))
    assert round(values[("SESSION ESTIMATE", expected_met)], 2) == float(claim.total("expected_to_provider"))
    assert claim.total("allowed") > Decimal("1.4") * medicare.total("allowed")


def test_user_text_is_never_a_formula_and_inputs_are_unlocked(shipped):
    data = estimate_workbook(shipped, SESSION, CONTRACTS, PRACTICE, codes=["20552"], forecast=ForecastInputs(months=2))
    workbook = load_workbook(io.BytesIO(data))
    assumptions = workbook["Assumptions"]
    names = [c.value for c in assumptions["A"] if isinstance(c.value, str) and c.value[:1] in "=+@-"]
    assert {'=HYPERLINK("http://example.invalid","click")', "+Pinned 2025", "@Fees", "-Charges"} <= set(names)
    for row in assumptions.iter_rows():
        for cell in row:
            if cell.value in names:
                assert cell.data_type == "s"
    pct = workbook.defined_names["PCT_P2"].attr_text.split("!")[1].replace("$", "")
    assert assumptions[pct].protection.locked is False and assumptions.protection.sheet is True
    assert all(ws.protection.sheet for ws in workbook.worksheets)
    sheet_xml = zipfile.ZipFile(io.BytesIO(data)).read("xl/worksheets/sheet1.xml").decode()
    assert "<f>HYPERLINK" not in sheet_xml


def real_xlsx(tmp_path):
    from openpyxl import Workbook

    workbook = Workbook()
    workbook.active.append(["code", "amount"])
    workbook.active.append(["20552", 45])
    path = tmp_path / "fees.xlsx"
    workbook.save(path)
    return path


def test_reading_a_good_fee_schedule_workbook(tmp_path):
    assert read_fee_schedule(real_xlsx(tmp_path), {"20552"}) == {"20552": Decimal("45")}


@pytest.mark.slow
def test_capped_imaging_codes_follow_the_opps_cap(shipped, tmp_path):
    """70496 in 01112-05 (2025): the OPPS cap binds; the workbook's payment, non-par and limiting
    charge formulas equal the product's (343.62, 326.44, 375.40)."""
    session = Session.from_dict({"date_of_service": "2025-06-01", "locality": "01112-05", "muscle_count": 1})
    data = estimate_workbook(shipped, session, CONTRACTS[:2], PRACTICE, codes=["70496"], forecast=ForecastInputs(months=1))
    assert assert_all_equal(data, tmp_path) > 50
    fee = load_workbook(io.BytesIO(data), data_only=True)["Fee schedule"]
    row = next(r for r in fee.iter_rows(min_row=4) if r[0].value == "70496" and not r[1].value)
    assert [row[i].value for i in (11, 13, 15)] == [343.62, 326.44, 375.4]


def _dead_inputs(data: bytes, tmp_path, name: str) -> set[tuple[str, str]]:
    """The unlocked Assumptions cells whose change moves no figure of the Session estimate, Payer
    comparison or Forecast sheets (each perturbed alone: numbers halved, flags flipped)."""
    path = tmp_path / name
    path.write_bytes(data)
    model = formulas.ExcelModel().loads(str(path)).finish()
    base = model.calculate()
    prefix = f"'[{name}]"
    outputs = [k for k in base if k.startswith(prefix) and k.split("]", 1)[1].split("!")[0].strip("'") != "ASSUMPTIONS"]

    def value(solution, key):
        cell = solution[key].value
        return cell[0][0] if hasattr(cell, "__getitem__") else cell

    before = {k: value(base, k) for k in outputs}
    sheet = load_workbook(io.BytesIO(data))["Assumptions"]
    dead = set()
    for row in sheet.iter_rows():
        for cell in row:
            if cell.protection.locked is not False or isinstance(cell.value, str) or cell.value is None:
                continue
            new = (not cell.value) if isinstance(cell.value, bool) else (cell.value * 0.5 if cell.value else 0.1)
            after = model.calculate(inputs={f"{prefix}ASSUMPTIONS'!{cell.coordinate}": new})
            if all(value(after, k) == before[k] for k in outputs):
                dead.add(
                    (
                        cell.coordinate,
                        f"{sheet.cell(row=cell.row, column=1).value} / {sheet.cell(row=16, column=cell.column).value}",
                    )
                )
    return dead


@pytest.mark.slow
def test_every_input_drives_a_figure(shipped, tmp_path):
    """Every yellow input changes some figure in at least one of two practices (par with low charges, and
    non-par), over a 12-month forecast with more sessions a patient than the limits allow."""
    fees = Contract.from_dict(CONTRACTS[3].to_dict() | {"fees": {"20552": "41.10", "76942": "30", "99213": "70", "J0585": "5.5"}})
    contracts = CONTRACTS[:3] + [fees] + CONTRACTS[4:]
    charges = {"20552": "40", "76942": "60", "99213": "70", "J3301": "1", "J0585": "3"}
    forecast = ForecastInputs(months=12, sessions_per_patient_per_year=Decimal(14), denial_rate_percent={"MA": Decimal(5)})
    dead = None
    for participating in (True, False):
        practice = Practice.from_dict({"name": "T", "zip_code": "35203", "participating": participating, "charges": charges})
        data = estimate_workbook(shipped, SESSION, contracts, practice, codes=["20552"], forecast=forecast)
        found = _dead_inputs(data, tmp_path, f"live_{participating}.xlsx")
        dead = found if dead is None else dead & found
    assert not dead, sorted(dead)


RECALC_ON_LOAD = """<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry" xmlns:xs="http://www.w3.org/2001/XMLSchema">
<item oor:path="/org.openoffice.Office.Calc/Formula/Load"><prop oor:name="OOXMLRecalcMode" oor:op="fuse"><value>0</value></prop></item>
</oor:items>
"""


def libreoffice_recalculated(data: bytes, tmp_path):
    """The workbook with its cached values dropped, recalculated and saved by LibreOffice (a profile that
    recalculates every OOXML file on loading); skipped without LibreOffice, except in CI."""
    import os
    import shutil
    import subprocess

    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None:
        if os.environ.get("CI") == "true":
            pytest.fail("CI must run the LibreOffice test: install libreoffice-calc-nogui (apt)", pytrace=False)
        pytest.skip("LibreOffice is not installed")
    bare = tmp_path / "bare.xlsx"
    load_workbook(io.BytesIO(data)).save(bare)  # openpyxl keeps the formulas, not their values
    profile = tmp_path / "profile"
    (profile / "user").mkdir(parents=True)
    (profile / "user" / "registrymodifications.xcu").write_text(RECALC_ON_LOAD)
    out = tmp_path / "out"
    done = subprocess.run(
        [
            soffice,
            f"-env:UserInstallation={profile.as_uri()}",
            "--headless",
            "--convert-to",
            "xlsx",
            "--outdir",
            str(out),
            str(bare),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0 and (out / "bare.xlsx").is_file(), done.stdout + done.stderr
    return load_workbook(out / "bare.xlsx", data_only=True)


@pytest.mark.slow
def test_libreoffice_recalculates_every_formula_to_the_product(shipped, tmp_path):
    """Every formula cell, recalculated by LibreOffice from no cached value, equals the value the product
    computed (money to the cent)."""
    data = full_workbook(shipped)
    recalculated = libreoffice_recalculated(data, tmp_path)
    workbook, cached = load_workbook(io.BytesIO(data)), load_workbook(io.BytesIO(data), data_only=True)
    checked = 0
    for sheet, coordinate in formula_cells(workbook):
        want, got = cached[sheet][coordinate].value, recalculated[sheet][coordinate].value
        assert got is not None, (sheet, coordinate, workbook[sheet][coordinate].value)
        if isinstance(want, (int, float)) and not isinstance(want, bool):
            places = 2 if workbook[sheet][coordinate].number_format.startswith('"$"') else 6
            assert round(float(got), places) == round(float(want), places), (
                sheet,
                coordinate,
                workbook[sheet][coordinate].value,
                got,
                want,
            )
        else:
            assert got == want, (sheet, coordinate, got, want)
        checked += 1
    assert checked > 1000


PPO = Contract.from_dict({"payer": "PPO", "percent": "125", "coinsurance_percent": "20"})


def _proposal_workbook(shipped, months: int = 3) -> bytes:
    return estimate_workbook(
        shipped,
        SESSION,
        [CONTRACTS[0], PPO],
        PRACTICE,
        codes=["20552"],
        forecast=ForecastInputs(months=months),
        proposals={"PPO": replace(PPO, percent=Decimal(130))},
    )


def test_proposed_terms_are_priced_beside_the_current_ones(shipped):
    """20552, Alabama 2026 office, par 47.25 (RVU26C x GPCI2026 x CF 33.4009): at 125% 59.0625 -> 59.06,
    at the proposed 130% 61.425 -> 61.43 (half up)."""
    workbook = load_workbook(io.BytesIO(_proposal_workbook(shipped)), data_only=True)
    sheet = workbook["Fee schedule"]
    header = next(r for r in sheet.iter_rows(values_only=True) if r and "PPO (office, one unit)" in r)
    row = next(r for r in sheet.iter_rows(values_only=True) if r and r[0] == "20552" and r[1] in (None, ""))
    assert (row[header.index("PPO (office, one unit)")], row[header.index("PPO (proposed) (office, one unit)")]) == (59.06, 61.43)
    comparison = {r[0]: r for r in workbook["Payer comparison"].iter_rows(min_row=4, values_only=True) if r and r[0]}
    claims = payer_claims(shipped, SESSION, [replace(PPO, deductible=Decimal(0), percent=Decimal(130))], PRACTICE)
    assert comparison["PPO (proposed)"][4] == float(claims["PPO"].total("expected_to_provider"))
    forecast = workbook["Forecast"]
    header = [c.value for c in forecast[3]]
    assert header[-2:] == ["Expected collections (proposed terms)", "Change"]
    rows = [r for r in forecast.iter_rows(min_row=4, values_only=True) if r[1] == "PPO"]
    assert all(r[12] > 0 for r in rows) and all(r[12] == round(r[11] - r[10], 2) for r in rows)
    medicare = [r for r in forecast.iter_rows(min_row=4, values_only=True) if r[1] == "Medicare"]
    assert all(r[12] == 0 for r in medicare)


@pytest.mark.slow
def test_a_workbook_with_proposed_terms_recalculates_to_the_product(shipped, tmp_path):
    assert assert_all_equal(_proposal_workbook(shipped, months=14), tmp_path) > 500
