"""Payer policies as data (frequency limits, covered diagnoses, modifiers 59/XS), proposed rules as
labelled what-ifs, and the data check."""

import shutil
from dataclasses import replace
from decimal import Decimal

import pandas as pd
import pytest
from click.testing import CliRunner

from estimator.cli import main
from estimator.compare import compare, session_item
from estimator.contracts import TRADITIONAL_MEDICARE, Contract, Practice
from estimator.datacheck import gaps, problems
from estimator.engine import Book, price
from estimator.errors import InputError
from estimator.forecast import parse_scenarios, run
from estimator.policies import Limit, diagnosis_lists, limits, presets
from estimator.session import Session, policy_warnings
from estimator.store import FeeSchedules

PRACTICE = Practice.from_dict({"name": "Test", "zip_code": "35203"})


def session(**fields) -> Session:
    return Session.from_dict({"date_of_service": "2026-03-02", "zip_code": "35203", "muscle_count": 2} | fields)


def test_a_preset_name_is_shorthand_for_its_limits_and_round_trips():
    contract = Contract.from_dict({"payer": "Acme", "frequency_rule": "two_months_apart_four_per_year"})
    assert contract.frequency == (Limit(60), Limit(365, 4))
    again = Contract.from_dict(contract.to_dict())
    assert again == contract and again.to_dict()["frequency"] == [{"days_between": 60}, {"at_most": 4, "days": 365}]


@pytest.mark.parametrize(
    "value, message",
    [
        ("four_per_fortnight", "is not a frequency preset"),
        ([{"at_most": 4}], "each limit is"),
        ([{"at_most": 0, "days": 30}], "at_most '0' is not a whole number from 1 to 3660"),
        ([{"days_between": 7}] * 6, "up to 5 limits"),
    ],
)
def test_bad_frequency_limits_are_named(value, message):
    with pytest.raises(InputError, match=message) as error:
        Contract.from_dict({"payer": "Acme", "frequency": value})
    assert error.value.field == "frequency"


def test_a_payers_own_limits_warn_on_its_claim_only():
    """4 sessions in 30 days: the payer's limit is passed by a 5th session within 30 days, Medicare's
    default (3 in 12 months) by any 4th in a year."""
    priors = ["2026-02-06", "2026-02-13", "2026-02-20", "2026-02-27"]
    own = Contract.from_dict({"payer": "Acme", "frequency": [{"at_most": 4, "days": 30}]})
    text = " ".join(policy_warnings(session(prior_sessions=priors), own))
    assert "This would be session 5 within 30 days (limit 4)" in text
    text = " ".join(policy_warnings(session(prior_sessions=priors[:3]), own))
    assert "within 30 days" not in text
    medicare = " ".join(policy_warnings(session(prior_sessions=priors[:3]), TRADITIONAL_MEDICARE))
    assert "session 4 within 365 days (limit 3)" in medicare


def test_covered_diagnosis_lists_shipped_and_own():
    a57701 = Contract.from_dict(
        {"payer": "Medicare J-E", "kind": "medicare", "method": "medicare", "covered_diagnoses": "noridian_je_A57701"}
    )
    # A57701 (as copied, not yet verified): tension-type headache G44.2xx and myalgia M79.1x only
    assert policy_warnings(session(diagnoses=["G44.209"]), a57701) == []
    assert "None of M54.2 is on the covered list (Noridian J-E" in " ".join(policy_warnings(session(diagnoses=["M54.2"]), a57701))
    own = Contract.from_dict({"payer": "Acme", "covered_diagnoses": ["M60.8", "M79.7"]})
    assert policy_warnings(session(diagnoses=["M60.811"]), own) == []  # M60.8 covers M60.811
    assert "the payer's own list" in " ".join(policy_warnings(session(diagnoses=["M54.2"]), own))
    assert "has not been a valid ICD-10-CM code since October 1, 2022" in " ".join(
        policy_warnings(session(diagnoses=["M79.1"]), own)
    )
    with pytest.raises(InputError, match="'M79.1X9X9' is not an ICD-10-CM code"):
        Contract.from_dict({"payer": "Acme", "covered_diagnoses": ["M79.1X9X9"]})
    assert diagnosis_lists()["noridian_je_A57701"]["verified"] is False and diagnosis_lists()["example"]["example"] is True


def test_shipped_presets_have_limits_and_sources():
    assert limits("three_per_12_months") == (Limit(365, 3),) and all(p["description"] for p in presets().values())


def _guidance_twice(payer: Contract, shipped) -> pd.DataFrame:
    """Fluoroscopy, and ultrasound for a separate procedure with XS (the lower-paid of the two)."""
    lines = pd.DataFrame(
        {
            "claim": ["c", "c", "c"],
            "date_of_service": ["2026-03-02"] * 3,
            "code": ["20552", "76942", "77002"],
            "modifiers": ["", "XS", ""],
            "place_of_service": ["11"] * 3,
            "zip_code": ["35203"] * 3,
            "payer": [payer.payer] * 3,
        }
    )
    return price(lines, Book(shipped, {payer.payer: payer})).lines.set_index("code")


def test_modifier_xs_lets_a_second_guidance_code_be_paid_only_where_the_payer_accepts_it(shipped):
    accepted = _guidance_twice(TRADITIONAL_MEDICARE, shipped)
    assert accepted.loc["76942", "edit"] == "" and int(accepted.loc["76942", "allowed"]) > 0
    refused = _guidance_twice(replace(TRADITIONAL_MEDICARE, payer="Strict plan", bypass_modifiers_accepted=False), shipped)
    assert refused.loc["76942", "edit"] == "exclusive" and int(refused.loc["76942", "allowed"]) == 0
    assert int(refused.loc["77002", "allowed"]) == int(accepted.loc["77002", "allowed"]) > 0


def test_cy2027_proposal_is_a_labelled_what_if(shipped):
    """20552 + 76942 + 99213-25 in Alabama on 2026-03-02 (RVU26C, GPCI2026 1.000 / 0.875 / 0.566).
    Proposed CF 32.8409 (CMS-1848-P); 99213, the highest-paid, in full, 20552 and 76942 at 50%:
    20552 (0.64 + 0.84 x 0.875 + 0.07 x 0.566) x 32.8409 x 50% = 23.23; 99213 at 32.8409 = 86.32 (87.79 at
    33.4009); 76942 at 32.8409 x 50% = 28.72 (58.41 at 33.4009)."""
    em = session(guidance="ultrasound", em_code="99213", em_separately_identifiable=True, diagnoses=["M79.18"])
    now, _ = compare(shipped, [session_item(shipped, em)], [TRADITIONAL_MEDICARE], PRACTICE)
    totals, lines = compare(shipped, [session_item(shipped, em)], [TRADITIONAL_MEDICARE], PRACTICE, "cy2027_pfs_proposed")
    assert now.loc[0, "allowed"] == Decimal("193.45") and totals.loc[0, "allowed"] == Decimal("138.27")
    by_code = lines.set_index("code")
    assert [str(by_code.loc[c, "allowed"]) for c in ("20552", "76942", "99213")] == ["23.23", "28.72", "86.32"]
    assert by_code.loc["20552", "edit"] == "proposed" and "CMS-1848-P" in by_code.loc["20552", "reason"]


def test_a_proposal_leaves_payers_that_do_not_pay_rolling_medicare_alone(shipped):
    em = session(guidance="ultrasound", em_code="99213", em_separately_identifiable=True)
    cash = Contract.from_dict({"payer": "Cash", "kind": "self_pay", "method": "percent_of_charges", "percent": "60"})
    pinned = Contract.from_dict({"payer": "Pinned", "percent": "120", "medicare_year": 2025})
    practice = Practice.from_dict({"name": "T", "zip_code": "35203", "charges": {"20552": "150", "76942": "200", "99213": "160"}})
    now, _ = compare(shipped, [session_item(shipped, em)], [cash, pinned], practice)
    proposed, _ = compare(shipped, [session_item(shipped, em)], [cash, pinned], practice, "cy2027_pfs_proposed")
    assert now.set_index("payer")["expected"].to_dict() == proposed.set_index("payer")["expected"].to_dict()


def test_a_forecast_scenario_under_the_proposal(shipped):
    data = {
        "start": "2026-03",
        "months": 1,
        "templates": [
            {
                "name": "TPI + US + E/M-25",
                "sessions_per_month": 10,
                "session": {"muscle_count": 2, "guidance": "ultrasound", "em_code": "99213", "em_separately_identifiable": True},
            }
        ],
        "payer_mix": {TRADITIONAL_MEDICARE.payer: 100},
        "scenarios": [{"name": "CY2027 proposed", "proposal": "cy2027_pfs_proposed"}],
    }
    table = run(shipped, parse_scenarios(data), [TRADITIONAL_MEDICARE], PRACTICE)
    allowed = table[table["payer"] == TRADITIONAL_MEDICARE.payer].set_index("scenario")["allowed"]
    assert (str(allowed["current"]), str(allowed["CY2027 proposed"])) == ("1934.50", "1382.70")  # 10 x 193.45, 10 x 138.27
    with pytest.raises(InputError, match="'cy2099' is not a proposal"):
        parse_scenarios(data | {"proposal": "cy2099"})


def test_data_check_passes_on_the_shipped_data_and_names_its_gaps(shipped):
    assert problems(shipped) == []
    found = {(g["kind"], g["from"]): g["priced with"] for g in gaps(shipped, 2026)}
    assert found[("asp", "2026-04-01")] == "ASP_2026Q1 (older file)"
    assert found[("opps_cap", "2026-01-01")] == "nothing held"
    assert ("pfs_rvu", "2026-01-01") not in found


def test_data_check_finds_a_changed_table_and_exits_1(isolated_user_data):
    source = FeeSchedules().in_force("gpci", __import__("datetime").date(2026, 3, 2)).folder
    copy = isolated_user_data / "tables" / "gpci" / "GPCI_EDITED"
    shutil.copytree(source, copy)
    (copy / "source.yaml").write_text((copy / "source.yaml").read_text().replace("vintage: GPCI2026", "vintage: GPCI_EDITED"))
    table = copy / "table.csv"
    table.write_text(table.read_text().replace("ALABAMA", "ALABAMA (edited)"))
    result = CliRunner().invoke(main, ["data", "check", "--year", "2026"])
    assert result.exit_code == 1
    assert "problem: checksum: gpci/GPCI_EDITED: table.csv differs from the checksum in source.yaml" in result.output


def test_policies_command_lists_presets_lists_and_proposals():
    result = CliRunner().invoke(main, ["policies"])
    assert result.exit_code == 0
    assert (
        "three_per_12_months" in result.output
        and "noridian_je_A57701" in result.output
        and "cy2027_pfs_proposed" in result.output
    )


def test_compare_ranks_payers_by_what_is_collected_and_shows_cost_and_margin(shipped):
    """Cash at 60% of charges (20552 150.00; J3301 5.00 a unit x 4 units) expects 90.00 + 12.00 = 102.00;
    collected at 50%: 51.00. Cost: 25.00 a session + 4 units x 0.50 = 27.00; margin 24.00. Payers rank
    by what is collected, not by what is owed."""
    practice = Practice.from_dict(
        {
            "name": "T",
            "zip_code": "35203",
            "charges": {"20552": "150", "J3301": "5"},
            "session_cost": "25",
            "drug_costs": {"J3301": "0.50"},
        }
    )
    cash = Contract.from_dict(
        {
            "payer": "Cash",
            "kind": "self_pay",
            "method": "percent_of_charges",
            "percent": "60",
            "coinsurance_percent": "100",
            "collection_percent": "50",
        }
    )
    item = session_item(shipped, session(drugs=["triamcinolone:40mg"]))
    totals, _ = compare(shipped, [item], [TRADITIONAL_MEDICARE, cash], practice)
    row = totals.set_index("payer").loc["Cash"]
    assert [str(row[c]) for c in ("expected", "collected", "cost", "margin")] == ["102.00", "51.00", "27.00", "24.00"]
    assert list(totals["collected"]) == sorted(totals["collected"], reverse=True) and list(totals["rank"]) == [1, 2]
    full, _ = compare(shipped, [item], [TRADITIONAL_MEDICARE, replace(cash, collection_percent=Decimal(100))], practice)
    assert str(full.set_index("payer").loc["Cash", "collected"]) == "102.00"
    with pytest.raises(InputError, match="collection_percent"):
        Contract.from_dict({"payer": "X", "collection_percent": "120"})


def test_the_forecast_shows_cost_and_margin(shipped):
    """10 sessions of 20552 with triamcinolone 40 mg (J3301 x 4 units): cost 10 x (25.00 + 4 x 0.50) = 270.00;
    cash collected at 50% of what is expected."""
    practice = Practice.from_dict(
        {
            "name": "T",
            "zip_code": "35203",
            "charges": {"20552": "150", "J3301": "5"},
            "session_cost": "25",
            "drug_costs": {"J3301": "0.50"},
        }
    )
    cash = Contract.from_dict(
        {
            "payer": "Cash",
            "kind": "self_pay",
            "method": "percent_of_charges",
            "percent": "60",
            "coinsurance_percent": "100",
            "collection_percent": "50",
        }
    )
    data = {
        "start": "2026-03",
        "months": 1,
        "templates": [{"name": "TPI", "sessions_per_month": 10, "session": {"muscle_count": 2, "drugs": ["triamcinolone:40mg"]}}],
        "payer_mix": {"Cash": 100},
    }
    row = run(shipped, parse_scenarios(data), [cash], practice).set_index("payer").loc["Cash"]
    # 60% of (150.00 + 4 x 5.00) = 102.00 a session, all paid by the patient: 1,020.00 expected, 510.00 collected
    assert [str(row[c]) for c in ("expected_collections", "collected", "cost", "margin")] == [
        "1020.00",
        "510.00",
        "270.00",
        "240.00",
    ]
