"""PFS pricing against CMS's own computed amounts and hand-worked figures from the CMS files."""

import pandas as pd
import pytest
from conftest import HERE, day

from estimator.errors import InputError
from estimator.pfs import price, published, resolve_locality

ALABAMA = [("10112", "00")]


def amounts(shipped, date, codes, where=ALABAMA, **options):
    frame, basis = price(shipped, day(date), codes=codes, localities=where, **options)
    table = published(frame, basis)
    return {(r.hcpcs + ("-" + r.modifier if r.modifier else "")): r for r in table.itertuples()}, basis


def test_reproduces_cms_computed_2025_alabama_amounts_to_the_cent(shipped):
    """PFAL25A (CMS's own 2025 amounts, carrier 10112 locality 00): all 21 rows, both settings."""
    golden = pd.read_csv(HERE / "golden" / "pfal25a_10112_00.csv", comment="#", dtype=str, keep_default_na=False)
    codes = sorted(set(golden["hcpcs"]))
    rows, _ = amounts(shipped, "2025-06-15", codes)
    for g in golden.itertuples():
        key = g.hcpcs + ("-" + g.modifier if g.modifier else "")
        assert (rows[key].nonfacility_amount, rows[key].facility_amount) == (g.nonfacility_amount, g.facility_amount), key
    assert len(golden) == 21


def test_2025_alabama_20552_par_nonpar_limiting(shipped):
    """RVU25D 20552: work 0.66, PE non-fac 0.84, PE fac 0.36, MP 0.07; GPCI2025 AL 1.000/0.869/0.575; CF 32.3465.

    office   (0.66 + 0.84*0.869 + 0.07*0.575) * 32.3465 = 1.43021 * 32.3465 = 46.26231... -> 46.26
    facility (0.66 + 0.36*0.869 + 0.04025)    * 32.3465 = 1.01309 * 32.3465 = 32.76991... -> 32.77
    non-par  46.26231... * 0.95   = 43.9492... -> 43.95;  32.76991 * 0.95 = 31.1314 -> 31.13
    limiting 46.26231... * 1.0925 = 50.5416... -> 50.54;  32.76991 * 1.0925 = 35.8011 -> 35.80
    """
    rows, _ = amounts(shipped, "2025-06-15", ["20552"])
    r = rows["20552"]
    assert (r.nonfacility_amount, r.facility_amount) == ("46.26", "32.77")
    assert (r.nonfacility_nonpar_amount, r.facility_nonpar_amount) == ("43.95", "31.13")
    assert (r.nonfacility_limiting_charge, r.facility_limiting_charge) == ("50.54", "35.80")


NATIONAL_2026 = {
    # code: (non-facility total RVU, facility total RVU) from RVU26C; amount = total x 33.4009
    "20552": ("51.77", "35.74"),  # 1.55 -> 51.771395; 1.07 -> 35.738963
    "20553": ("59.79", "40.75"),  # 1.79 -> 59.787611; 1.22 -> 40.749098
    "76942": ("64.13", "64.13"),  # 1.92 -> 64.129728
    "76942-26": ("31.40", "31.40"),  # 0.94 -> 31.396846
    "76942-TC": ("32.73", "32.73"),  # 0.98 -> 32.732882
    "77002": ("121.25", "121.25"),  # 3.63 -> 121.245267
    "77002-26": ("27.05", "27.05"),  # 0.81 -> 27.054729
    "77002-TC": ("94.19", "94.19"),  # 2.82 -> 94.190538
    "99202": ("75.15", "41.08"),  # 2.25 -> 75.152025; 1.23 -> 41.083107
    "99213": ("95.19", "57.45"),  # 2.85 -> 95.192565; 1.72 -> 57.449548
    "99215": ("192.39", "125.59"),  # 5.76 -> 192.389184; 3.76 -> 125.587384
}


def test_2026_national_amounts(shipped):
    """National amounts use GPCI 1.000, so each is the file's total RVU times the CF 33.4009."""
    rows, basis = amounts(shipped, "2026-03-02", list(NATIONAL_2026), where="national")
    assert {k: (rows[k].nonfacility_amount, rows[k].facility_amount) for k in NATIONAL_2026} == NATIONAL_2026
    assert rows["20552"].conversion_factor == "33.4009" and basis.rvu.name == "RVU26C"


def test_2026_national_em_codes_equal_exact_decimal_arithmetic(shipped):
    """Every office E/M 99202-99215: total RVU x CF computed with Decimal, rounded half up."""
    from decimal import ROUND_HALF_UP, Decimal

    codes = ["99202", "99203", "99204", "99205", "99211", "99212", "99213", "99214", "99215"]
    rows, _ = amounts(shipped, "2026-03-02", codes, where="national")
    for code in codes:
        r = rows[code]
        total = Decimal(r.work_rvu) + Decimal(r.pe_rvu_nonfacility) + Decimal(r.mp_rvu)
        expected = (total * Decimal("33.4009")).quantize(Decimal("0.01"), ROUND_HALF_UP)
        assert r.nonfacility_amount == str(expected), code


def test_qualifying_apm_conversion_factor_2026(shipped):
    """20552 national, QP track: 1.55 x 33.5675 = 52.029625 -> 52.03; facility 1.07 x 33.5675 = 35.917225 -> 35.92."""
    rows, basis = amounts(shipped, "2026-03-02", ["20552"], where="national", cf_track="qualifying_apm")
    assert (rows["20552"].nonfacility_amount, rows["20552"].facility_amount) == ("52.03", "35.92")
    assert rows["20552"].conversion_factor == "33.5675"


def test_each_side_of_the_2026_change(shipped):
    """20552 Alabama office: 2025-12-31 uses RVU25D/GPCI2025/CF 32.3465 (46.26);
    2026-01-01 uses RVU26C/GPCI2026/CF 33.4009: (0.64*1.000 + 0.84*0.875 + 0.07*0.566) * 33.4009
    = 1.41462 * 33.4009 = 47.2495... -> 47.25."""
    before, b1 = amounts(shipped, "2025-12-31", ["20552"])
    after, b2 = amounts(shipped, "2026-01-01", ["20552"])
    assert before["20552"].nonfacility_amount == "46.26" and (b1.rvu.name, b1.gpci.name) == ("RVU25D", "GPCI2025")
    assert after["20552"].nonfacility_amount == "47.25" and (b2.rvu.name, b2.gpci.name) == ("RVU26C", "GPCI2026")


def test_work_gpci_floor_rule_and_override(shipped):
    """Arkansas 2026 (07102-13): work GPCI 0.974 without the floor, 1.000 with; PE 0.859, MP 0.515.

    floor on : (0.64*1.000 + 0.84*0.859 + 0.07*0.515) * 33.4009 = 1.39761 * 33.4009 = 46.6814... -> 46.68
    floor off: (0.64*0.974 + 0.72156 + 0.03605)       * 33.4009 = 1.38097 * 33.4009 = 46.1256... -> 46.13
    The floor through 2026-01-31 is in the CMS file; from 2026-02-01 it rests on a reported extension.
    """
    arkansas = [("07102", "13")]
    on, basis_jan = amounts(shipped, "2026-01-31", ["20552"], where=arkansas)
    feb, basis_feb = amounts(shipped, "2026-02-01", ["20552"], where=arkansas)
    off, _ = amounts(shipped, "2026-02-01", ["20552"], where=arkansas, work_gpci_floor=False)
    assert on["20552"].nonfacility_amount == feb["20552"].nonfacility_amount == "46.68"
    assert off["20552"].nonfacility_amount == "46.13" and off["20552"].work_gpci == "0.974"
    assert basis_jan.notes() == ["No OPPS imaging cap file is held for 2026-01-31; no cap applied."]
    assert any("H.R.7148" in note for note in basis_feb.notes())


def test_2025_gpci_has_no_unfloored_work_gpci(shipped):
    with pytest.raises(InputError, match="only with the 1.0 floor"):
        price(shipped, day("2025-03-01"), codes=["20552"], localities=ALABAMA, work_gpci_floor=False)


def test_opps_cap_binds_where_listed(shipped):
    """OPPSCAP 2025: 70496 global and TC in 01112-05 are capped (343.62 and 251.96); the -26 is not."""
    rows, _ = amounts(shipped, "2025-06-15", ["70496"], where=[("01112", "05")])
    glob, tc, pc = rows["70496"], rows["70496-TC"], rows["70496-26"]
    assert (glob.nonfacility_amount, glob.nonfacility_opps_cap, glob.nonfacility_payment) == ("364.27", "343.62", "343.62")
    assert (tc.nonfacility_opps_cap, tc.nonfacility_payment) == ("251.96", "251.96")
    assert (pc.nonfacility_opps_cap, pc.nonfacility_payment) == ("", pc.nonfacility_amount)
    # where the cap binds, non-par and limiting charge come from it: 343.62 x 0.95 = 326.439 -> 326.44; x 1.0925 = 375.40
    assert (glob.nonfacility_nonpar_amount, glob.nonfacility_limiting_charge) == ("326.44", "375.40")


def test_guidance_codes_are_not_capped_in_2025(shipped):
    rows, _ = amounts(shipped, "2025-06-15", ["76942", "77002"], where="all")
    assert all(r.nonfacility_opps_cap == "" for r in rows.values())


def test_non_payable_status_answers_with_its_reason(shipped):
    rows, _ = amounts(shipped, "2026-03-02", ["J3301", "G0463", "99211"], where="national")
    assert rows["J3301"].status == "E" and "ASP" in rows["J3301"].status_reason
    assert rows["J3301"].nonfacility_amount == "" and rows["G0463"].status == "X"
    assert rows["99211"].status_reason == "" and rows["99211"].nonfacility_amount != ""


def test_all_localities_is_one_row_per_locality(shipped):
    frame, _ = price(shipped, day("2026-03-02"), codes=["20552"], localities="all")
    assert len(frame) == 109 and frame["carrier"].astype(str).str.len().eq(5).all()
    alaska = frame[frame["carrier"] == "02102"]
    # Alaska work GPCI 1.500 (MIPPA floor): (0.64*1.5 + 0.84*1.065 + 0.07*0.551)*33.4009 = 1.89317*33.4009 = 63.2336 -> 63.23
    assert alaska["nonfacility_amount"].iloc[0] == 6323


def test_zip_and_locality_resolution(shipped):
    assert resolve_locality(shipped, day("2026-03-02"), zip_code="35203") == ("10112", "00")
    assert resolve_locality(shipped, day("2026-03-02"), locality="10112-0") == ("10112", "00")
    with pytest.raises(InputError, match="split between Medicare localities"):
        resolve_locality(shipped, day("2026-03-02"), zip_code="35958")
    with pytest.raises(InputError, match="not in the CMS ZIP5 file"):
        resolve_locality(shipped, day("2026-03-02"), zip_code="00000")
    with pytest.raises(InputError, match="unknown Medicare locality"):
        resolve_locality(shipped, day("2026-03-02"), locality="99999-99")


def test_unknown_code_and_date_without_data(shipped):
    with pytest.raises(InputError, match="not in the PFS relative value file: 2055X"):
        price(shipped, day("2026-03-02"), codes=["20552", "2055X"])
    with pytest.raises(InputError, match="no PFS relative value file .* loaded for 2027-01-04"):
        price(shipped, day("2027-01-04"), codes=["20552"])
