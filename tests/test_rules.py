"""The engine's rules, each with a worked figure from the CMS files, and each drift between paths that
the one engine removed (every test here failed on the earlier code that priced paths separately).

Alabama 2026 (10112-00): GPCI2026 work 1.000 (floor), PE 0.875, MP 0.566; CF 33.4009 (RVU26C).
RVU26C rows: 20552 (0.64, 0.84 office / 0.36 facility, 0.07), 20553 (0.73, 0.98, 0.08),
20610 (0.77, 1.16, 0.13; MULT PROC 2), 76942 (0.65, 1.23, 0.04), 76942-26 (0.65, 0.26, 0.03),
77002 (0.53, 3.06, 0.04; global ZZZ), 99213 (1.30, 1.46, 0.09).
"""

from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal

import pandas as pd
import pytest
from conftest import FIXTURES

from estimator.compare import codes_item, compare, payer_claims, session_item
from estimator.contracts import TRADITIONAL_MEDICARE, Contract, Practice
from estimator.engine import Book, price
from estimator.session import Session, estimate

DAY = "2026-03-02"
MEDICARE = Contract.from_dict({"payer": "Medicare", "kind": "medicare", "method": "medicare"})
PRACTICE = Practice.from_dict({"name": "Test", "zip_code": "35203"})


def claim(shipped, codes, payer=MEDICARE, pos="11", **columns):
    """One claim of ``codes`` ("20552", "76942-26", "20552x2") priced by the engine."""
    rows = []
    for text in codes:
        code, _, units = text.partition("x")
        code, _, modifiers = code.partition("-")
        rows.append(
            {
                "claim": "A",
                "date_of_service": DAY,
                "code": code,
                "modifiers": modifiers.replace("-", " "),
                "units": int(units or 1),
                "place_of_service": pos,
                "zip_code": "35203",
                "payer": payer.payer,
            }
            | columns
        )
    return price(pd.DataFrame(rows), Book(shipped, {payer.payer: payer})).lines


def cents(frame, column="allowed"):
    return [f"{Decimal(int(c)) / 100:.2f}" for c in frame[column]]


# -- multiple procedures ---------------------------------------------------------------------------


def test_multiple_procedures_rank_by_fee_and_pay_the_second_at_half(shipped):
    """20610: (0.77 + 1.16 x 0.875 + 0.13 x 0.566) = 1.85858 x 33.4009 = 62.0782 -> 62.08 at 100%.
    20552: 47.25 (test_session) at 50% = 23.625 -> 23.63: the reduction applies to the fee schedule
    amount as published, in cents (RVU25D.pdf, MULT PROC 2). Total 85.71."""
    lines = claim(shipped, ["20552", "20610"])
    assert cents(lines) == ["23.63", "62.08"]
    assert list(lines["edit"]) == ["multiple_procedure", ""] and "ranked 2" in lines["reason"][0]
    totals, _ = compare(
        shipped,
        [codes_item(["20552", "20610"], Session.from_dict({"date_of_service": DAY, "zip_code": "35203", "muscle_count": 1}))],
        [MEDICARE],
        PRACTICE,
    )
    assert str(totals["allowed"][0]) == "85.71"


def test_multiple_procedure_share_carries_into_contracts(shipped):
    """125% of Medicare: 62.08 x 1.25 = 77.60; 23.63 x 1.25 = 29.5375 -> 29.54. A fee schedule of 40.00
    for 20552 pays 20.00 as the second procedure; a contract that does not follow the rule pays 40.00."""
    ppo = Contract.from_dict({"payer": "PPO", "percent": "125"})
    assert cents(claim(shipped, ["20552", "20610"], ppo)) == ["29.54", "77.60"]
    fees = {"payer": "Fees", "method": "fee_schedule", "fees": {"20552": "40.00", "20610": "90"}}
    assert cents(claim(shipped, ["20552", "20610"], Contract.from_dict(fees))) == ["20.00", "90.00"]
    assert cents(claim(shipped, ["20552", "20610"], Contract.from_dict(fees | {"claim_edits": False}))) == ["40.00", "90.00"]


def test_one_procedure_is_never_reduced(shipped):
    assert cents(claim(shipped, ["20552", "76942", "99213-25"])) == ["47.25", "58.41", "87.79"]


# -- claim edits -------------------------------------------------------------------------------------


def test_20552_and_20553_the_same_day_pay_only_20553(shipped):
    """20553 (0.73 + 0.98 x 0.875 + 0.08 x 0.566) x 33.4009 = 54.54 is kept; 20552 is denied."""
    lines = claim(shipped, ["20552", "20553"])
    assert cents(lines) == ["0.00", "54.54"] and lines["edit"][0] == "exclusive"
    assert "20552 with 20553" in lines["reason"][0]


def test_units_over_the_limit_deny_the_line(shipped):
    lines = claim(shipped, ["20552x2"])
    assert cents(lines) == ["0.00"] and lines["edit"][0] == "units" and "the limit is 1" in lines["reason"][0]


def test_em_with_a_minor_procedure_needs_modifier_25(shipped):
    assert cents(claim(shipped, ["20552", "99213"])) == ["47.25", "0.00"]
    assert cents(claim(shipped, ["20552", "99213-25"])) == ["47.25", "87.79"]
    assert cents(claim(shipped, ["99213"])) == ["87.79"]  # a visit alone needs no modifier


def test_add_on_guidance_needs_its_primary(shipped):
    """77002 is global ZZZ: alone it is denied; with 20552 it is paid, (0.53 + 3.06 x 0.875 + 0.04 x 0.566)
    = 3.23014 x 33.4009 = 107.8896 -> 107.89."""
    lines = claim(shipped, ["77002"])
    assert cents(lines) == ["0.00"] and lines["edit"][0] == "add_on"
    assert cents(claim(shipped, ["20552", "77002"])) == ["47.25", "107.89"]


def test_one_guidance_code_per_session(shipped):
    """76942 58.41 and 77002 107.89: the higher-paid is kept; with modifier XS on the other both are paid."""
    lines = claim(shipped, ["20552", "76942", "77002"])
    assert cents(lines) == ["47.25", "0.00", "107.89"] and lines["edit"][1] == "exclusive"
    assert cents(claim(shipped, ["20552", "76942-XS", "77002"])) == ["47.25", "58.41", "107.89"]


def test_imaging_in_a_facility_is_the_professional_component(shipped):
    """76942 at POS 22 without -26: priced as 76942-26, (0.65 + 0.26 x 0.875 + 0.03 x 0.566) = 0.89448
    x 33.4009 = 29.8764 -> 29.88, not the global 58.41."""
    lines = claim(shipped, ["20552", "76942"], pos="22")
    assert cents(lines)[1] == "29.88" and lines["modifiers"][1] == "26" and lines["edit"][1] == "professional_component"


def test_claim_edits_hold_on_price_claims_with_the_edit_and_its_reason(tmp_path, shipped):
    from estimator.batch import Book as ClaimBook
    from estimator.batch import price_file

    source = tmp_path / "claims.csv"
    source.write_text(
        "claim,dos,cpt,mod,units,pos,zip,payer,billed,paid\n"
        "A,2026-03-02,20552,,1,11,35203,Medicare,150.00,18.52\n"
        "A,2026-03-02,20610,,1,11,35203,Medicare,200.00,48.67\n"
        "B,2026-03-02,20552,,2,11,35203,Medicare,300.00,\n"
        "C,2026-03-02,77002,,1,11,35203,Medicare,250.00,\n"
    )
    price_file(source, tmp_path / "out.csv", ClaimBook(shipped, {"Medicare": MEDICARE}, PRACTICE))
    out = pd.read_csv(tmp_path / "out.csv", dtype=str, keep_default_na=False)
    assert list(out["expected_allowed"]) == ["23.63", "62.08", "0.00", "0.00"]
    assert list(out["edit"]) == ["multiple_procedure", "", "units", "add_on"]
    # 23.63 - 20% (4.73) = 18.90 - 2% sequestration 0.38 = 18.52: the reduced payment is not an underpayment
    assert list(out["underpaid"])[:2] == ["no", "no"]


# -- the lesser of the charge ------------------------------------------------------------------------


def test_medicare_pays_the_lesser_of_the_charge_and_the_fee_schedule(shipped):
    assert cents(claim(shipped, ["20552"], billed=4000)) == ["40.00"]
    assert cents(claim(shipped, ["20552"], billed=9000)) == ["47.25"]


# -- the drifts ---------------------------------------------------------------------------------------


def test_medicare_advantage_paying_medicare_rates_applies_its_own_cost_sharing(shipped):
    """Method medicare, kind medicare_advantage, copay 20, coinsurance 10%, sequestration passed on:
    20552 47.25 -> copay 20.00, coinsurance 10% x 27.25 = 2.725 -> 2.73, plan 24.52, sequestration 0.49."""
    plan = Contract.from_dict(
        {
            "payer": "MA",
            "kind": "medicare_advantage",
            "method": "medicare",
            "copay": "20",
            "coinsurance_percent": "10",
            "sequestration": True,
        }
    )
    line = claim(shipped, ["20552"], plan).iloc[0]
    assert [line[c] for c in ("allowed", "copay", "coinsurance", "payer_payment", "sequestration")] == [4725, 2000, 273, 2452, 49]


def test_drugs_are_drugs_whatever_the_name_of_the_asp_vintage(shipped, isolated_user_data, tmp_path):
    """An ASP file imported under another name is still the drug table: a contract that does not cover
    drugs pays 0 for J3301 in the session, the comparison and price-claims alike. (The fixture is the
    preamble, header and three rows of the January 2026 CMS payment limit file, imported again.)"""
    from estimator.batch import Book as ClaimBook
    from estimator.batch import price_file
    from estimator.store import FeeSchedules, import_files

    import_files([FIXTURES / "asp_jan2026_excerpt.csv"], isolated_user_data, vintage="DRUGS_REIMPORTED")
    schedules = FeeSchedules()
    assert schedules.in_force("asp", pd.Timestamp(DAY).date()).name == "DRUGS_REIMPORTED"
    plan = Contract.from_dict({"payer": "No drugs", "percent": "100", "drug_method": "not_covered"})
    session = Session.from_dict({"date_of_service": DAY, "zip_code": "35203", "muscle_count": 1, "drugs": ["triamcinolone:40mg"]})
    claimed = payer_claims(schedules, session, [plan], PRACTICE)["No drugs"]
    assert [(line.code, str(line.allowed)) for line in claimed.lines] == [("20552", "47.25"), ("J3301", "0.00")]
    source = tmp_path / "claims.csv"
    source.write_text(
        "claim,dos,cpt,units,pos,zip,payer\nA,2026-03-02,20552,1,11,35203,No drugs\nA,2026-03-02,J3301,4,11,35203,No drugs\n"
    )
    price_file(source, tmp_path / "out.csv", ClaimBook(schedules, {"No drugs": plan}, PRACTICE))
    assert list(pd.read_csv(tmp_path / "out.csv", dtype=str)["expected_allowed"]) == ["47.25", "0.00"]


def test_jz_when_no_discarded_amount_is_billed_separately(shipped):
    """45 mg of triamcinolone (10 mg units) from a 50 mg single-dose vial: 5 units cover the whole vial,
    no JW line, and the line carries JZ. From a multi-dose vial: neither JW nor JZ."""
    session = {"date_of_service": DAY, "zip_code": "35203", "muscle_count": 1}
    lines = estimate(shipped, Session.from_dict(session | {"drugs": ["triamcinolone:45mg:5"]}), compare_sites=False).lines
    assert [(line.code, line.modifiers, line.units) for line in lines] == [("20552", (), 1), ("J3301", ("JZ",), 5)]
    multi = {"drug": "triamcinolone", "dose": "45", "unit": "mg", "wasted": "20", "single_dose_vial": False}
    lines = estimate(shipped, Session.from_dict(session | {"drugs": [multi]}), compare_sites=False).lines
    assert [(line.code, line.modifiers, line.units) for line in lines] == [("20552", (), 1), ("J3301", (), 5)]


def test_a_muscle_named_with_and_without_a_side_counts_once_per_side(shipped):
    session = Session.from_dict(
        {"date_of_service": DAY, "zip_code": "35203", "muscles": ["trapezius", "trapezius:left", "trapezius:right"]}
    )
    assert estimate(shipped, session, compare_sites=False).lines[0].code == "20552"


def test_hospital_copayment_is_rounded_up_as_addendum_b_publishes_it(shipped):
    """At POS 22 with an E/M-25: APC 5441 295.19 -> 20% = 59.038 -> 59.04; G0463 128.87 -> 25.774 -> 25.78
    (October 2025 Addendum B, minimum unadjusted copayment); half up would give 25.77."""
    session = Session.from_dict(
        {
            "date_of_service": DAY,
            "zip_code": "35203",
            "muscle_count": 1,
            "place_of_service": "22",
            "em_code": "99213",
            "em_separately_identifiable": True,
            "deductible_remaining": "0",
        }
    )
    facility = {
        line.code: str(line.coinsurance)
        for line in estimate(shipped, session, compare_sites=False).lines
        if line.biller == "facility"
    }
    assert facility == {"20552": "59.04", "G0463": "25.78"}


def test_the_rounding_up_reproduces_the_published_copayments(shipped):
    """Over the whole October 2025 Addendum B (6,654 rows with a non-zero copayment): 20% of the payment
    rate rounded up to the cent equals the published minimum unadjusted copayment on every procedure and
    visit row; the 8 rows it misses are drugs and biologicals (status K or G, e.g. A9592: 20% of 595.10
    is 119.02, published 119.03). Half up misses thousands of rows."""
    table = pd.read_csv(shipped.of_kind("opps_b")[0].folder / "table.csv", dtype=str, keep_default_na=False)
    table = table[(table["payment_rate"] != "") & (table["minimum_copayment"] != "") & (table["minimum_copayment"] != "0.00")]
    fifth = [Decimal(r) * Decimal("0.2") for r in table["payment_rate"]]
    up = [f.quantize(Decimal("0.01"), ROUND_CEILING) for f in fifth]
    half = [f.quantize(Decimal("0.01"), ROUND_HALF_UP) for f in fifth]
    published = [Decimal(c) for c in table["minimum_copayment"]]
    misses = table[[u != p for u, p in zip(up, published, strict=True)]]
    assert len(table) == 6654 and len(misses) == 8 and set(misses["status_indicator"]) == {"K", "G"}
    assert sum(h != p for h, p in zip(half, published, strict=True)) > 2000


def test_traditional_medicare_reference_is_unchanged_by_a_contract_name(shipped):
    assert (
        TRADITIONAL_MEDICARE.is_traditional_medicare
        and not Contract.from_dict({"payer": "x", "kind": "commercial"}).is_traditional_medicare
    )


@pytest.mark.parametrize("codes, total", [(["20552", "20553"], "54.54"), (["20552", "20610"], "85.71"), (["77002"], "0.00")])
def test_compare_applies_the_same_edits(shipped, codes, total):
    session = Session.from_dict({"date_of_service": DAY, "zip_code": "35203", "muscle_count": 1})
    totals, _ = compare(shipped, [codes_item(codes, session)], [MEDICARE], PRACTICE)
    assert str(totals["allowed"][0]) == total


def test_session_path_equals_compare_path(shipped):
    session = Session.from_dict(
        {
            "date_of_service": DAY,
            "zip_code": "35203",
            "muscle_count": 2,
            "guidance": "ultrasound",
            "drugs": ["triamcinolone:40mg"],
            "deductible_remaining": "0",
        }
    )
    alone = estimate(shipped, session, compare_sites=False)
    totals, _ = compare(shipped, [session_item(shipped, session)], [MEDICARE], PRACTICE)
    assert alone.total("allowed") == totals["allowed"][0] and alone.total("expected_to_provider") == totals["expected"][0]
