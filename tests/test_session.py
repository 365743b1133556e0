"""Session -> claim scenarios, each with its arithmetic from the CMS files.

Alabama 2026 (10112-00): GPCI2026 work 1.000 (floor), PE 0.875, MP 0.566; CF 33.4009 (RVU26C).
"""

from decimal import Decimal

import pytest

from estimator.errors import InputError
from estimator.session import Session, estimate


def claim_for(shipped, **fields):
    data = {"date_of_service": "2026-03-02", "zip_code": "35203", "diagnoses": ["M79.18"]} | fields
    return estimate(shipped, Session.from_dict(data))


def lines(claim):
    return {(line.code, " ".join(line.modifiers), line.biller): line for line in claim.lines}


def test_office_session_with_guidance_drug_and_em(shipped):
    """20552 (0.64, 0.84, 0.07): 1.41462 x 33.4009 = 47.2496 -> 47.25
    76942 (0.65, 1.23, 0.04): (0.65 + 1.07625 + 0.02264) = 1.74889 x 33.4009 = 58.4145 -> 58.41
    99213 (1.30, 1.46, 0.09): (1.30 + 1.2775 + 0.05094) = 2.62844 x 33.4009 = 87.7923 -> 87.79
    J3301 40 mg = 4 x 10 mg at 0.741 = 2.964 -> 2.96 (JZ: nothing wasted)
    coinsurance 20%: 9.45, 11.68 (11.682), 17.56 (17.558), 0.59 (0.592)
    Medicare: 37.80, 46.73, 70.23, 2.37; sequestration 2%: 0.76, 0.93 (0.9346), 1.40 (1.4046), 0.05 (0.0474)
    """
    claim = claim_for(
        shipped,
        muscles=["trapezius:left", "levator scapulae:left"],
        injections=9,
        guidance="ultrasound",
        drugs=["triamcinolone:40mg"],
        em_code="99213",
        em_separately_identifiable=True,
        deductible_remaining="0",
    )
    got = lines(claim)
    tpi = got[("20552", "", "physician")]
    assert "2 distinct muscles (levator scapulae L, trapezius L); 9 injections do not change the code" in tpi.reason
    assert [(line.code, line.modifiers, line.units, str(line.allowed)) for line in claim.lines] == [
        ("20552", (), 1, "47.25"),
        ("76942", (), 1, "58.41"),
        ("99213", ("25",), 1, "87.79"),
        ("J3301", ("JZ",), 4, "2.96"),
    ]
    assert [str(line.coinsurance) for line in claim.lines] == ["9.45", "11.68", "17.56", "0.59"]
    assert [str(line.payer_payment) for line in claim.lines] == ["37.80", "46.73", "70.23", "2.37"]
    assert [str(line.sequestration) for line in claim.lines] == ["0.76", "0.93", "1.40", "0.05"]
    assert claim.totals() == {
        "allowed": "196.41",
        "copay": "0.00",
        "deductible": "0.00",
        "coinsurance": "39.28",
        "patient_share": "39.28",
        "payer_payment": "157.13",
        "sequestration": "3.14",
        "expected_to_provider": "193.27",
    }
    assert claim.warnings == []


def test_deductible_first_then_coinsurance(shipped):
    """$100 deductible left: 47.25 on 20552 (no coinsurance), 52.75 on 76942, whose coinsurance is
    20% of (58.41 - 52.75) = 1.132 -> 1.13, Medicare 4.53, sequestration 0.0906 -> 0.09."""
    claim = claim_for(shipped, muscle_count=2, guidance="ultrasound", deductible_remaining="100")
    tpi, us = claim.lines
    assert (tpi.deductible, tpi.coinsurance, tpi.payer_payment) == (Decimal("47.25"), 0, 0)
    assert (us.deductible, us.coinsurance, us.payer_payment, us.sequestration) == (
        Decimal("52.75"),
        Decimal("1.13"),
        Decimal("4.53"),
        Decimal("0.09"),
    )


@pytest.mark.parametrize(
    "muscles, code",
    [
        (["trapezius:left"], "20552"),
        (["trapezius:left", "trapezius:right"], "20552"),
        (["trapezius:left", "trapezius:right", "rhomboid:left"], "20553"),
        (["trapezius:left", "trapezius:left", "trapezius:left"], "20552"),
    ],
)
def test_code_follows_distinct_muscles(shipped, muscles, code):
    claim = claim_for(shipped, muscles=muscles)
    assert [line.code for line in claim.lines] == [code] and claim.lines[0].units == 1


def test_20553_office_amount(shipped):
    """20553 (0.73, 0.98, 0.08): (0.73 + 0.8575 + 0.04528) = 1.63278 x 33.4009 = 54.5363 -> 54.54."""
    assert claim_for(shipped, muscle_count=3).lines[0].allowed == Decimal("54.54")


def test_em_without_separate_service_is_a_warning_not_a_line(shipped):
    claim = claim_for(shipped, muscle_count=1, em_code="99214")
    assert [line.code for line in claim.lines] == ["20552"]
    assert "99214 not billed" in claim.warnings[0] and "modifier" not in claim.lines[0].reason


def test_waste_on_its_own_line_with_jw(shipped):
    """onabotulinumtoxinA 80 units given, 20 discarded: J0585 x 80 at 6.510 = 520.80; J0585-JW x 20 = 130.20."""
    claim = claim_for(shipped, muscle_count=2, drugs=["botox:80units:20"])
    got = lines(claim)
    assert (got[("J0585", "", "physician")].units, str(got[("J0585", "", "physician")].allowed)) == (80, "520.80")
    assert (got[("J0585", "JW", "physician")].units, str(got[("J0585", "JW", "physician")].allowed)) == (20, "130.20")


def test_waste_counts_units_of_the_whole_vial(shipped):
    """15 mg given + 25 mg discarded of triamcinolone: the vial is 40 mg = 4 units; 15 mg rounds up to
    2 units, so the JW line has 4 - 2 = 2 units (0.741 x 2 = 1.482 -> 1.48 each)."""
    got = lines(claim_for(shipped, muscle_count=2, drugs=["triamcinolone:15mg:25"]))
    assert got[("J3301", "", "physician")].units == 2 and got[("J3301", "JW", "physician")].units == 2
    assert got[("J3301", "JW", "physician")].allowed == Decimal("1.48")


def test_retired_code_mapped_with_a_note(shipped):
    """J1040 -> J1010 (per 1 mg): 80 mg = 80 units x 0.120 = 9.60."""
    claim = claim_for(shipped, muscle_count=2, drugs=["J1040:80mg"])
    j1010 = lines(claim)[("J1010", "JZ", "physician")]
    assert (j1010.units, j1010.allowed) == (80, Decimal("9.60"))
    assert any("J1040" in n and "J1010" in n for n in claim.notes)


def test_combined_unit_and_ml_with_concentration(shipped):
    """Betamethasone J0702 unit is '3 MG & 3 MG' (6 mg): 6 mg = 1 unit = 6.908 -> 6.91.
    Triamcinolone 1 ml at 40 mg/ml = 40 mg = 4 units = 2.96."""
    claim = claim_for(
        shipped,
        muscle_count=2,
        drugs=["betamethasone:6mg", {"drug": "kenalog", "dose": "1", "unit": "ml", "concentration": "40 mg/ml"}],
    )
    got = lines(claim)
    assert (got[("J0702", "JZ", "physician")].units, got[("J0702", "JZ", "physician")].allowed) == (1, Decimal("6.91"))
    assert got[("J3301", "JZ", "physician")].units == 4


def test_drug_coinsurance_from_the_asp_file(shipped):
    """J0638 (1 MG, 147.741, co-insurance 19.297%): 2 mg = 295.482 -> 295.48; 295.48 x 0.19297 = 57.0188 -> 57.02."""
    j0638 = lines(claim_for(shipped, muscle_count=1, drugs=["J0638:2mg"], deductible_remaining="0"))[("J0638", "JZ", "physician")]
    assert (j0638.allowed, j0638.coinsurance) == (Decimal("295.48"), Decimal("57.02"))


def test_anesthetic_and_saline_are_not_billed(shipped):
    claim = claim_for(shipped, muscle_count=1, drugs=["lidocaine:20mg", "saline:2ml"])
    shown = [line for line in claim.lines if line.biller == "not billed"]
    assert len(shown) == 2 and all(line.allowed == 0 for line in shown)
    assert "part of the injection procedure" in shown[0].reason and "vehicle" in shown[1].reason


def test_non_participating_amounts(shipped):
    """20552 non-par: 47.2496 x 0.95 = 44.8871 -> 44.89; limiting 47.2496 x 1.0925 = 51.6202 -> 51.62."""
    tpi = claim_for(shipped, muscle_count=1, participating=False).lines[0]
    assert (tpi.allowed, tpi.limiting_charge) == (Decimal("44.89"), Decimal("51.62"))


def test_hospital_outpatient_and_asc_versus_office(shipped):
    """Same session (20552 + ultrasound), three sites:
    office: 47.25 + 58.41 = 105.66 (non-facility PFS, no facility fee)
    HOPD:   physician facility 20552 (0.64 + 0.36*0.875 + 0.03962) = 0.99462 x 33.4009 = 33.2212 -> 33.22
            + 76942-26 (0.65 + 0.26*0.875 + 0.03*0.566) = 0.89448 x 33.4009 = 29.8764 -> 29.88
            hospital: APC 5441 $295.19 (OPPS Oct 2025), 76942 packaged (N) -> total 358.29
    ASC:    the same physician 63.10 + ASC 20552 P3 $27.17 (Jan 2025), guidance N1 packaged -> 90.27
    """
    claim = claim_for(shipped, muscle_count=2, guidance="ultrasound")
    sites = {s["site"].split(" (")[0]: s for s in claim.sites}
    assert (sites["office"]["total_allowed"], sites["office"]["facility_allowed"]) == ("105.66", "0.00")
    hopd = sites["hospital outpatient, on campus"]
    assert (hopd["physician_allowed"], hopd["facility_allowed"], hopd["total_allowed"]) == ("63.10", "295.19", "358.29")
    assert "OPPS_B_2025Q4" in hopd["sources"] and "OPPS_B_2025Q4" in hopd["notes"]
    asc = sites["ambulatory surgical center"]
    assert (asc["facility_allowed"], asc["total_allowed"]) == ("27.17", "90.27")
    hopd_claim = claim_for(shipped, muscle_count=2, guidance="ultrasound", place_of_service="22")
    assert ("76942", "26", "physician") in lines(hopd_claim)
    assert lines(hopd_claim)[("76942", "", "facility")].reason.startswith("Packaged (N)")


def test_repeat_modifiers(shipped):
    assert claim_for(shipped, muscle_count=1, repeat="same_physician").lines[0].modifiers == ("76",)
    assert claim_for(shipped, muscle_count=1, repeat="another_physician").lines[0].modifiers == ("77",)


def test_denial_risk_warnings(shipped):
    claim = claim_for(
        shipped,
        muscle_count=2,
        requested_units=2,
        requested_modifiers=["50", "59"],
        diagnoses=["M79.1"],
        prior_sessions=["2026-03-02"],
    )
    text = " | ".join(claim.warnings)
    for expected in (
        "billed once per session",
        "Modifier 50 is not used",
        "Modifier 59 is not used",
        "not been a valid ICD-10-CM code",
        "is on the covered list",
        "second TPI code the same day",
    ):
        assert expected in text
    assert claim.lines[0].units == 1 and claim.lines[0].modifiers == ()


@pytest.mark.parametrize(
    "rule, prior, warned",
    [
        ("three_per_12_months", ["2025-04-01", "2025-09-01", "2026-01-05"], True),
        ("three_per_12_months", ["2025-03-01", "2025-09-01", "2026-01-05"], False),
        ("not_within_7_days", ["2026-02-26"], True),
        ("not_within_7_days", ["2026-02-23"], False),
        ("three_weeks_apart", ["2026-02-15"], True),
        ("two_months_apart_four_per_year", ["2026-01-10"], True),
        ("three_in_90_days", ["2025-12-10", "2026-01-10", "2026-02-10"], True),
    ],
)
def test_frequency_rules(shipped, rule, prior, warned):
    claim = claim_for(shipped, muscle_count=1, frequency_rule=rule, prior_sessions=prior)
    assert bool(claim.warnings) is warned, claim.warnings


def test_asp_quarter_not_loaded_uses_latest_with_a_warning(shipped):
    claim = claim_for(shipped, date_of_service="2026-05-04", muscle_count=1, drugs=["triamcinolone:40mg"])
    assert any("(ASP) file is held for 2026-05-04" in w and "ASP_2026Q1" in w for w in claim.warnings)


@pytest.mark.parametrize(
    "fields, message",
    [
        ({"muscle_count": 0}, "at least one muscle"),
        ({"muscle_count": -2}, "at least one muscle"),
        ({"muscle_count": 1, "drugs": ["triamcinolone:-40mg"]}, "must be more than 0 and at most 100,000 (got -40)"),
        ({"muscle_count": 1, "drugs": ["triamcinolone"]}, "NAME:DOSEUNIT"),
        ({"muscle_count": 1, "drugs": [{"drug": "triamcinolone", "dose": "0", "unit": "mg"}]}, "must be more than 0"),
        ({"muscle_count": 1, "drugs": [{"drug": "triamcinolone", "dose": "-5", "unit": "mg"}]}, "must be more than 0"),
        ({"muscle_count": 1, "drugs": ["snake oil:1mg"]}, "unknown drug 'snake oil'"),
        ({"muscle_count": 1, "drugs": ["triamcinolone:40furlongs"]}, "unknown dose unit"),
        ({"muscle_count": 1, "drugs": ["triamcinolone:2ml"]}, "needs a concentration"),
        ({"muscle_count": 1, "drugs": ["triamcinolone:40units"]}, "does not convert"),
        ({"muscle_count": 1, "em_code": "99201", "em_separately_identifiable": True}, "not an office E/M code"),
        ({"muscle_count": 1, "zip_code": None, "locality": "12345-67"}, "unknown Medicare locality"),
        ({"muscle_count": 1, "zip_code": "35958"}, "split between Medicare localities"),
        ({"muscle_count": 1, "date_of_service": "2027-02-01"}, "is loaded for 2027-02-01"),
        ({"muscle_count": 1, "date_of_service": "2026-02-30"}, "is not a date"),
        ({"muscle_count": 1, "diagnoses": ["not-a-code"]}, "not an ICD-10-CM code"),
        ({"muscle_count": 1, "place_of_service": "99"}, "place of service"),
        ({"muscle_count": 1, "deductible_remaining": "400"}, "between 0 and the 2026 deductible 283"),
        ({"muscle_count": 1, "colour": "blue"}, "unknown field(s): colour"),
        ({"muscle_count": 1, "requested_units": None}, "None is not a whole number"),
        ({"muscle_count": 1, "participating": "no"}, "'no' is not true or false"),
        ({"muscle_count": 1, "em_code": "99213", "em_separately_identifiable": "false"}, "'false' is not true or false"),
        ({"muscles": "trapezius"}, "muscles must be a list"),
        ({"muscle_count": 1, "drugs": [{"drug": "kenalog", "dose": "1", "unit": "ml", "concentration": 40}]}, "with its units"),
        ({}, "give the muscles injected"),
    ],
)
def test_bad_input_is_a_clear_error(shipped, fields, message):
    with pytest.raises(InputError, match=None) as error:
        claim_for(shipped, **fields)
    assert message in str(error.value)


def test_claim_renders_as_table_and_json(shipped):
    import json

    claim = claim_for(shipped, muscle_count=2, drugs=["triamcinolone:40mg"])
    frame = claim.to_frame()
    assert list(frame["allowed"]) == ["47.25", "2.96"]
    data = json.loads(claim.to_json())
    assert data["totals"]["allowed"] == "50.21" and data["lines"][1]["modifiers"] == "JZ" and len(data["sites"]) == 3
