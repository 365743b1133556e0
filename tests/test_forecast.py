"""Forecast rows you can check by hand, scenarios side by side, and bad scenario files."""

from decimal import Decimal
from fractions import Fraction

import pytest
from conftest import FIXTURES

from estimator.contracts import Contract, Practice
from estimator.errors import InputError
from estimator.forecast import first_of_year_share, load_scenario_file, parse_scenarios, run, summary
from estimator.policies import limits, yearly_limit

PRACTICE = Practice.from_dict({"name": "Test practice", "zip_code": "35203", "charges": {"20552": "150"}})
FLAT = Contract.from_dict({"payer": "Flat", "method": "fee_schedule", "fees": {"20552": "50.00"}, "copay": "10"})
MEDICARE = Contract.from_dict({"payer": "Medicare", "kind": "medicare", "method": "medicare"})


def scenario(**changes):
    data = {
        "start": "2026-01",
        "months": 3,
        "payer_mix": {"Flat": 100},
        "templates": [{"name": "20552", "sessions_per_month": 10, "session": {"muscle_count": 1}}],
    } | changes
    return parse_scenarios(data)


def test_flat_fee_payer_month_by_month(shipped):
    """10 sessions x 50.00 = 500.00 allowed; copay 10 -> patient 100.00, payer 400.00; 10% denied:
    denied 50.00, collected 90%: patient 90.00, payer 360.00, expected 450.00; billed 10 x 150 = 1500.00."""
    table = run(shipped, scenario(denial_rate_percent={"Flat": 10}), [FLAT], PRACTICE)
    assert list(table["month"]) == ["2026-01", "2026-02", "2026-03"]
    row = table.iloc[0]
    assert [
        str(row[c])
        for c in (
            "sessions",
            "billed_charges",
            "allowed",
            "patient_responsibility",
            "payer_payment",
            "denied",
            "expected_collections",
        )
    ] == ["10", "1500.00", "500.00", "90.00", "360.00", "50.00", "450.00"]


def test_growth_and_seasonality(shipped):
    """10% growth a month and a February multiplier of 2: Jan 10, Feb 10 x 1.1 x 2 = 22, Mar 10 x 1.21 = 12.1."""
    seasons = ["1", "2"] + ["1"] * 10
    table = run(shipped, scenario(growth_percent_per_month="10", seasonality=seasons), [FLAT], PRACTICE)
    assert [str(s) for s in table["sessions"]] == ["10", "22", "12.1"]
    assert str(table["allowed"][2]) == "605.00"  # 12.1 x 50.00


def test_deductible_is_heavier_early_in_the_year(shipped):
    """Medicare, 3 sessions per patient a year: first sessions fall in Jan-Apr and carry the deductible
    (283 > 47.25, the patient pays it all); from May the patient pays 20% (9.45) and Medicare 37.80 - 0.76.
    10 sessions: April patient 472.50, payer 0.00; May patient 94.50, payer 370.40."""
    scenarios = scenario(months=5, payer_mix={"Medicare": 100}, sessions_per_patient_per_year=3)
    table = run(shipped, scenarios, [MEDICARE], PRACTICE).set_index("month")
    assert (str(table.loc["2026-04", "patient_responsibility"]), str(table.loc["2026-04", "payer_payment"])) == ("472.50", "0.00")
    assert (str(table.loc["2026-05", "patient_responsibility"]), str(table.loc["2026-05", "payer_payment"])) == (
        "94.50",
        "370.40",
    )


def test_frequency_limit_caps_paid_sessions(shipped):
    """4 sessions per patient a year against Medicare's 3 per 12 months: a quarter is at risk.
    May: allowed 472.50, at risk 118.13 (472.50 / 4 = 118.125), payer 370.40 x 3/4 = 277.80."""
    scenarios = scenario(months=5, payer_mix={"Medicare": 100}, sessions_per_patient_per_year=4)
    may = run(shipped, scenarios, [MEDICARE], PRACTICE).set_index("month").loc["2026-05"]
    assert (str(may["at_risk_frequency"]), str(may["payer_payment"])) == ("118.13", "277.80")
    assert yearly_limit(limits("two_months_apart_four_per_year")) == 4 and first_of_year_share(3, 5) == Fraction(2, 5)


def test_scenarios_side_by_side(shipped):
    """A proposed contract raising the flat fee to 60.00 adds 10 x 10.00 x 3 months = 300.00 allowed."""
    base = {
        "start": "2026-01",
        "months": 3,
        "payer_mix": {"Flat": 100},
        "templates": [{"name": "20552", "sessions_per_month": 10, "session": {"muscle_count": 1}}],
        "scenarios": [{"name": "proposed", "contracts": {"Flat": {"fees": {"20552": "60.00"}}}}],
    }
    totals = summary(run(shipped, parse_scenarios(base), [FLAT], PRACTICE))
    allowed = dict(zip(totals[totals["payer"] == "ALL"]["scenario"], totals[totals["payer"] == "ALL"]["allowed"], strict=True))
    assert allowed == {"current": Decimal("1500.00"), "proposed": Decimal("1800.00")}


def test_example_scenario_file_runs(shipped, tmp_path):
    from estimator.db import Database

    database = Database(tmp_path / "db.sqlite3")
    table = run(shipped, load_scenario_file(FIXTURES / "scenario_example.yaml"), database.contracts(), database.practice())
    assert len(table) == 4 * 12 * 3 and table["allowed"].map(lambda v: v > 0).all()


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"payer_mix": {"Flat": 60}}, "adds up to 60%, not 100%"),
        ({"months": 0}, "months must be a whole number"),
        ({"templates": [{"sessions_per_month": -5, "session": {"muscle_count": 1}}]}, "is negative"),
        ({"templates": [{"sessions_per_month": 5, "session": {"muscle_count": 0}}]}, None),
        ({"seasonality": [1, 2]}, "12 monthly multipliers"),
        ({"start": "January"}, "is not a month"),
        ({"conversion_factor": "33.12345"}, "at most 4 decimals"),
        ({"templates": [{"name": "no session", "sessions_per_month": 5}]}, "a template needs a session"),
        ({"contracts": {"Flat": 5}}, "contracts Flat"),
    ],
)
def test_bad_scenarios(changes, message, shipped):
    with pytest.raises(InputError) as error:
        run(shipped, scenario(**changes), [FLAT], PRACTICE)
    assert message is None or message in str(error.value)


def test_unknown_payer(shipped):
    with pytest.raises(InputError, match="payer\\(s\\) not saved: Flat"):
        run(shipped, scenario(), [MEDICARE], PRACTICE)
