"""Payer contracts: each method and carve-out with worked figures.

The session: Alabama (10112-00), 2026-03-02, office, 2 muscles, ultrasound, triamcinolone 40 mg.
Medicare par: 20552 47.25, 76942 58.41, J3301 4 x 0.741 = 2.96 (see test_session.py).
"""

from decimal import Decimal

import pytest
from conftest import FIXTURES

from estimator.compare import codes_item, compare, payer_claims, session_item
from estimator.contracts import Contract, Practice, load_contracts
from estimator.session import Session

SESSION = Session.from_dict(
    {
        "date_of_service": "2026-03-02",
        "zip_code": "35203",
        "muscle_count": 2,
        "guidance": "ultrasound",
        "drugs": ["triamcinolone:40mg"],
        "diagnoses": ["M79.18"],
    }
)
PRACTICE = Practice.from_dict(
    {"name": "Test practice", "zip_code": "35203", "charges": {"20552": "80.00", "76942": "200.00", "J3301": "5.00"}}
)


def allowed(shipped, practice=PRACTICE, session=SESSION, **contract):
    claim = payer_claims(shipped, session, [Contract.from_dict({"payer": "P"} | contract)], practice)["P"]
    return [str(line.allowed) for line in claim.lines], claim


def test_percent_of_medicare_rolling(shipped):
    """125%: 47.25 x 1.25 = 59.0625 -> 59.06; 58.41 x 1.25 = 73.0125 -> 73.01; 2.96 x 1.25 = 3.70."""
    amounts, claim = allowed(shipped, percent="125")
    assert amounts == ["59.06", "73.01", "3.70"]
    assert claim.lines[0].reason == "125% of Medicare of the year of service: 47.25 x 125%."


def test_percent_of_medicare_pinned_to_2025(shipped):
    """125% of 2025 Medicare (same day in 2025): 20552 46.26 -> 57.825 -> 57.83; 76942 52.21 -> 65.2625 -> 65.26;
    J3301 in the Jan-Mar 2025 ASP file 0.898 x 4 = 3.592 -> 3.59 -> 4.4875 -> 4.49."""
    amounts, _ = allowed(shipped, percent="125", medicare_year=2025)
    assert amounts == ["57.83", "65.26", "4.49"]


def test_percent_of_medicare_pinned_to_another_locality(shipped):
    """Arkansas 07102-13, 2026: 20552 46.68 (see test_pfs) x 1.25 = 58.35."""
    amounts, _ = allowed(shipped, percent="125", locality="07102-13")
    assert amounts[0] == "58.35"


def test_fee_schedule_and_missing_code(shipped):
    amounts, claim = allowed(shipped, method="fee_schedule", fees={"20552": "40.00", "J3301": "0.50"})
    assert amounts == ["40.00", "0.00", "2.00"]
    assert "not in P's fee schedule" in claim.lines[1].reason


def test_percent_of_charges_and_lesser_of_billed(shipped):
    """60% of charges: 80 x 0.6 = 48.00; 200 x 0.6 = 120.00; 5 x 4 units x 0.6 = 12.00.
    200% of Medicare with lesser-of: 20552 94.50 > billed 80.00 -> 80.00; 76942 116.82 < 200 stays."""
    assert allowed(shipped, method="percent_of_charges", percent="60")[0] == ["48.00", "120.00", "12.00"]
    amounts, claim = allowed(shipped, percent="200", lesser_of_billed=True)
    assert amounts[:2] == ["80.00", "116.82"] and "Lesser of the billed charge 80.00" in claim.lines[0].reason


@pytest.mark.parametrize(
    "carve_out, expected",
    [
        ({"drug_method": "asp_plus", "drug_percent": "10"}, "3.08"),  # 2.964 / 1.06 x 1.10 = 3.0758
        ({"drug_method": "percent_of_asp", "drug_percent": "100"}, "2.80"),  # 2.964 / 1.06 = 2.7962
        ({"drug_method": "per_unit", "drug_per_unit": {"J3301": "0.50"}}, "2.00"),
        ({"drug_method": "not_covered"}, "0.00"),
    ],
)
def test_drug_carve_outs(shipped, carve_out, expected):
    amounts, _ = allowed(shipped, percent="150", **carve_out)
    assert amounts[2] == expected and amounts[0] == "70.88"  # 47.25 x 1.5 = 70.875 -> 70.88


def test_overrides_guidance_and_em_policies(shipped):
    amounts, claim = allowed(shipped, percent="125", overrides={"20552": "70"}, guidance_covered=False)
    assert amounts == ["70.00", "0.00", "3.70"]
    assert any("does not cover imaging guidance" in w for w in claim.warnings)
    em_session = Session.from_dict(
        {
            "date_of_service": "2026-03-02",
            "zip_code": "35203",
            "muscle_count": 1,
            "em_code": "99213",
            "em_separately_identifiable": True,
        }
    )
    amounts, claim = allowed(shipped, session=em_session, em_25_paid=False)
    assert amounts == ["47.25", "0.00"] and "bundled" in claim.lines[1].reason


def test_copay_deductible_and_coinsurance(shipped):
    """125% rolling (59.06, 73.01, 3.70), copay 30, coinsurance 10%:
    line 1: copay 30, coinsurance 10% x 29.06 = 2.906 -> 2.91; line 2: 7.301 -> 7.30; line 3: 0.37.
    patient 40.58, payer 135.77 - 40.58 = 95.19. With a 50 deductible: line 1 copay 30 + deductible 29.06;
    line 2 deductible 20.94, coinsurance 10% x 52.07 = 5.207 -> 5.21; line 3 0.37."""
    _, claim = allowed(shipped, percent="125", copay="30", coinsurance_percent="10")
    assert claim.totals()["patient_share"] == "40.58" and claim.totals()["payer_payment"] == "95.19"
    _, claim = allowed(shipped, percent="125", copay="30", coinsurance_percent="10", deductible="50")
    assert [(str(line.copay), str(line.deductible), str(line.coinsurance)) for line in claim.lines] == [
        ("30.00", "29.06", "0.00"),
        ("0.00", "20.94", "5.21"),
        ("0.00", "0.00", "0.37"),
    ]


def test_medicare_advantage_with_sequestration_and_traditional_non_par(shipped):
    _, ma = allowed(shipped, kind="medicare_advantage", percent="100", coinsurance_percent="20", sequestration=True)
    assert [str(line.sequestration) for line in ma.lines] == ["0.76", "0.93", "0.05"]
    nonpar = Practice.from_dict({"name": "Non-par", "participating": False})
    amounts, _ = allowed(shipped, practice=nonpar, kind="medicare", method="medicare")
    assert amounts == ["44.89", "55.49", "2.96"]  # 95% of 47.2496 and 58.4145; drugs unchanged


def test_frequency_rule_and_prior_authorization(shipped):
    session = Session.from_dict(
        {"date_of_service": "2026-03-02", "zip_code": "35203", "muscle_count": 1, "prior_sessions": ["2026-02-27"]}
    )
    _, claim = allowed(shipped, session=session, frequency_rule="not_within_7_days", prior_authorization=True)
    assert any("Only 3 days since" in w for w in claim.warnings)
    assert any("requires prior authorization" in w for w in claim.warnings)


def test_comparison_ranks_payers_with_reasons(shipped):
    contracts = [
        Contract.from_dict(d)
        for d in (
            {"payer": "Medicare", "kind": "medicare", "method": "medicare"},
            {"payer": "Rich PPO", "percent": "150"},
            {"payer": "No guidance HMO", "percent": "125", "guidance_covered": False},
        )
    ]
    totals, lines = compare(shipped, [session_item(shipped, SESSION)], contracts, PRACTICE)
    assert list(totals["payer"]) == ["Rich PPO", "Medicare", "No guidance HMO"]
    # Medicare: allowed 108.62, expected 108.62 - 1.74 sequestration = 106.88; Rich PPO 70.88 + 87.62 + 4.44 = 162.94
    rich, medicare, hmo = totals.itertuples()
    assert (str(rich.allowed), str(rich.percent_of_medicare), str(rich.difference_to_best)) == ("162.94", "150.0", "0.00")
    assert (str(medicare.expected), str(medicare.difference_to_best)) == ("106.88", "-56.06")
    assert "Guidance not covered" in hmo.reasons and len(lines) == 9


def test_comparison_of_a_code_list_and_a_mix(shipped):
    """Codes 20552 + 76942 at 110%: 51.9750 -> 51.98 and 64.251 -> 64.25 = 116.23; mixed with 2 sessions
    (each 1.1 x (47.25, 58.41, 2.96) = 51.98 + 64.25 + 3.26 = 119.49) -> 116.23 + 2 x 119.49 = 355.21."""
    contracts = [Contract.from_dict({"payer": "Ten over", "percent": "110"})]
    codes = codes_item(["20552", "76942"], SESSION)
    totals, _ = compare(shipped, [codes], contracts, PRACTICE)
    assert str(totals["allowed"][0]) == "116.23"
    totals, lines = compare(shipped, [codes, session_item(shipped, SESSION, 2)], contracts, PRACTICE)
    assert str(totals["allowed"][0]) == "355.21" and set(lines["count"]) == {1, 2}


def test_contracts_round_trip_through_yaml_and_json():
    from estimator.contracts import dump_contracts

    contracts = load_contracts((FIXTURES / "contracts_example.yaml").read_text(), "contracts_example.yaml")
    assert contracts[0].payer.startswith("=HYPERLINK") and contracts[1].percent == Decimal("125.5")
    for as_json in (False, True):
        assert load_contracts(dump_contracts(contracts, as_json=as_json), "again") == contracts
