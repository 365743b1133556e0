"""One basket of claims priced through every path gives the same cents everywhere.

The basket: codes x modifiers x places of service x localities x payer methods (traditional Medicare,
Medicare Advantage paying Medicare rates with its own cost sharing, % of Medicare rolling and pinned to
2025, fee schedule, % of charges without claim edits, dollars per RVU, a Medicaid fee schedule that
bundles E/M-25) x dates on both sides of each change of CMS file (RVU and GPCI 2025 -> 2026, ASP
quarters, the last ASP file held, the MUE table). Paths: the engine itself, price-claims (single
machine and Dask), the payer comparison, the session estimate, the forecast and the recalculated Excel
model. The engine's result is kept as a golden file (tests/golden/basket.csv), reviewed like code:
set TPI_UPDATE_GOLDEN=1 to write it again after a deliberate change.
"""

import datetime as dt
import os
from dataclasses import replace
from decimal import Decimal

import pandas as pd
import pytest
from conftest import HERE

from estimator.batch import Book as ClaimBook
from estimator.batch import price_file, price_file_dask
from estimator.compare import Item, compare, payer_claims
from estimator.contracts import Contract, Practice
from estimator.engine import Book, price
from estimator.session import Coded, Session, estimate

GOLDEN = HERE / "golden" / "basket.csv"
PRACTICE = Practice.from_dict(
    {
        "name": "Parity",
        "zip_code": "35203",
        "charges": {
            "20552": "40.00",
            "20553": "180",
            "20610": "150",
            "76942": "200",
            "77002": "250",
            "99213": "160",
            "J3301": "5.00",
        },
    }
)
CONTRACTS = [
    Contract.from_dict(d)
    for d in (
        {"payer": "Medicare", "kind": "medicare", "method": "medicare"},
        {
            "payer": "MA at Medicare rates",
            "kind": "medicare_advantage",
            "method": "medicare",
            "copay": "15",
            "coinsurance_percent": "10",
            "sequestration": True,
        },
        {"payer": "MA 100%", "kind": "medicare_advantage", "percent": "100", "coinsurance_percent": "20", "sequestration": True},
        {
            "payer": "PPO 125% of 2025",
            "percent": "125",
            "medicare_year": 2025,
            "drug_method": "asp_plus",
            "drug_percent": "10",
            "lesser_of_billed": True,
            "copay": "30",
            "coinsurance_percent": "10",
        },
        {
            "payer": "Fees",
            "method": "fee_schedule",
            "fees": {
                "20552": "41.10",
                "20553": "48",
                "20610": "60",
                "76942-26": "21",
                "76942": "44",
                "77002": "70",
                "77002-26": "25",
                "99213": "75",
                "J3301": "0.70",
            },
        },
        {
            "payer": "Charges 60%",
            "kind": "self_pay",
            "method": "percent_of_charges",
            "percent": "60",
            "claim_edits": False,
            "coinsurance_percent": "100",
        },
        {"payer": "55 per RVU", "method": "dollars_per_rvu", "dollars_per_rvu": "55", "guidance_covered": False},
        {
            "payer": "Medicaid",
            "kind": "medicaid",
            "method": "fee_schedule",
            "fees": {"20552": "32", "20553": "38", "99213": "50", "J3301": "0.70"},
            "em_25_paid": False,
        },
    )
]
CLAIMS = {  # claim: (place of service, where, [(code, modifiers, units)])
    "session": ("11", {"zip_code": "35203"}, [("20552", "", 1), ("76942", "", 1), ("99213", "25", 1), ("J3301", "JZ", 4)]),
    "hospital": ("22", {"zip_code": "35203"}, [("20553", "", 1), ("77002", "", 1)]),
    "two procedures": ("11", {"locality": "07102-13"}, [("20552", "", 1), ("20610", "", 1)]),
    "both codes": ("11", {"zip_code": "35203"}, [("20552", "", 1), ("20553", "", 1)]),
    "add-on alone": ("11", {"zip_code": "35203"}, [("77002", "", 1)]),
    "two units": ("11", {"zip_code": "35203"}, [("20552", "", 2)]),
    "E/M without 25": ("11", {"zip_code": "35203"}, [("20552", "", 1), ("99213", "", 1)]),
}
DATES = ["2025-06-30", "2025-07-01", "2025-12-31", "2026-01-01", "2026-03-31", "2026-04-01"]
MONEY = ["medicare", "allowed", "copay", "deductible_applied", "coinsurance", "payer_payment", "sequestration", "expected"]


def basket() -> pd.DataFrame:
    rows = []
    for day in DATES:
        for contract in CONTRACTS:
            for name, (pos, where, lines) in CLAIMS.items():
                for number, (code, modifiers, units) in enumerate(lines, 1):
                    charge = PRACTICE.charges.get(code)
                    rows.append(
                        {
                            "claim": f"{day} {name}",
                            "line": number,
                            "date_of_service": day,
                            "code": code,
                            "modifiers": modifiers,
                            "units": units,
                            "place_of_service": pos,
                            "zip_code": where.get("zip_code", ""),
                            "locality": where.get("locality", ""),
                            "payer": contract.payer,
                            "billed": int(charge * 100) * units if charge is not None else None,
                        }
                    )
    frame = pd.DataFrame(rows)
    frame["billed"] = pd.array(frame["billed"], dtype="Int64")
    return frame


@pytest.fixture(scope="module")
def engine_result(shipped):
    priced = price(basket(), Book(shipped, {c.payer: c for c in CONTRACTS}))
    assert priced.ok.all(), priced.lines.loc[~priced.ok, ["claim", "code", "error"]]
    return priced.lines


def snapshot(lines: pd.DataFrame) -> pd.DataFrame:
    shown = lines[["claim", "line", "payer", "code", "modifiers", "units", "edit", "release"]].copy()
    for column in MONEY:
        shown[column] = [f"{Decimal(int(c)) / 100:.2f}" for c in lines[column]]
    return shown


def test_the_basket_equals_its_reviewed_golden_file(engine_result):
    current = snapshot(engine_result)
    if os.environ.get("TPI_UPDATE_GOLDEN"):
        current.to_csv(GOLDEN, index=False, lineterminator="\n")
    golden = pd.read_csv(GOLDEN, dtype=str, keep_default_na=False)
    pd.testing.assert_frame_equal(current.astype(str).reset_index(drop=True), golden)


def test_the_golden_file_shows_each_rule(engine_result):
    """The basket exercises what it claims to: every edit, each side of each file change."""
    edits = set(engine_result["edit"])
    assert {"multiple_procedure", "exclusive", "units", "add_on", "em_in_global", "professional_component"} <= edits
    releases = set(engine_result["release"])
    assert {"RVU25D/GPCI2025", "RVU26C/GPCI2026", "ASP_2025Q2", "ASP_2025Q3", "ASP_2025Q4", "ASP_2026Q1"} <= releases


def claims_csv(path, lines: pd.DataFrame) -> None:
    frame = lines.drop(columns=["line"]).rename(columns={"claim": "claim_id", "code": "hcpcs"})
    frame["billed"] = [f"{Decimal(int(b)) / 100:.2f}" if pd.notna(b) else "" for b in frame["billed"]]
    frame.to_csv(path, index=False)


def test_price_claims_and_dask_give_the_engine_cents(engine_result, shipped, tmp_path):
    source = tmp_path / "basket.csv"
    claims_csv(source, basket())
    book = ClaimBook(shipped, {c.payer: c for c in CONTRACTS}, PRACTICE)
    price_file(source, tmp_path / "single.csv", book, rows_per_chunk=1000)
    single = pd.read_csv(tmp_path / "single.csv", dtype=str, keep_default_na=False)
    expected = snapshot(engine_result)
    assert list(single["expected_allowed"]) == list(expected["allowed"])
    assert list(single["edit"]) == list(expected["edit"])
    paid = [
        f"{Decimal(int(p - s)) / 100:.2f}"
        for p, s in zip(engine_result["payer_payment"], engine_result["sequestration"], strict=True)
    ]
    assert list(single["expected_payment"]) == paid


@pytest.mark.slow
def test_dask_gives_the_single_machine_output(shipped, tmp_path):
    source = tmp_path / "basket.csv"
    claims_csv(source, basket())
    book = ClaimBook(shipped, {c.payer: c for c in CONTRACTS}, PRACTICE)
    price_file(source, tmp_path / "single.csv", book)
    price_file_dask(source, tmp_path / "dask.csv", book, blocksize="20KB")  # small partitions: claims cross their edges
    assert pd.read_csv(tmp_path / "single.csv", dtype=str).equals(pd.read_csv(tmp_path / "dask.csv", dtype=str))


def _item(name: str, day: str) -> Item:
    pos, where, lines = CLAIMS[name]
    session = Session.from_dict({"date_of_service": day, "place_of_service": pos, "muscle_count": 1} | where)
    return Item(session, Coded(pos, [{"code": c, "modifiers": m, "units": u} for c, m, u in lines]))


@pytest.mark.parametrize("day", DATES)
def test_compare_gives_the_engine_cents(engine_result, shipped, day):
    items = [_item(name, day) for name in CLAIMS]
    totals, lines = compare(shipped, items, CONTRACTS, PRACTICE)
    here = engine_result[engine_result["date_of_service"].astype(str) == day]
    for contract in CONTRACTS:
        own = here[here["payer"] == contract.payer]
        assert totals.set_index("payer").loc[contract.payer, "allowed"] == Decimal(int(own["allowed"].sum())) / 100
        assert totals.set_index("payer").loc[contract.payer, "expected"] == Decimal(int(own["expected"].sum())) / 100
        shown = lines[lines["payer"] == contract.payer]
        assert list(shown["allowed"]) == [Decimal(int(c)) / 100 for c in own["allowed"]]


def _session(day: str) -> Session:
    """The "session" claim as a trigger point session: 2 muscles, ultrasound, E/M-25, triamcinolone 40 mg."""
    return Session.from_dict(
        {
            "date_of_service": day,
            "zip_code": "35203",
            "muscle_count": 2,
            "guidance": "ultrasound",
            "em_code": "99213",
            "em_separately_identifiable": True,
            "drugs": ["triamcinolone:40mg"],
            "deductible_remaining": "0",
            "diagnoses": ["M79.18"],
        }
    )


@pytest.mark.parametrize("day", DATES)
def test_session_estimate_and_payer_claims_give_the_engine_cents(engine_result, shipped, day):
    here = engine_result[engine_result["claim"] == f"{day} session"]
    claim = estimate(shipped, _session(day), practice=PRACTICE, compare_sites=False)
    medicare = here[here["payer"] == "Medicare"]
    assert [str(line.allowed) for line in claim.lines] == [f"{Decimal(int(c)) / 100:.2f}" for c in medicare["allowed"]]
    claims = payer_claims(shipped, _session(day), [replace(c, deductible=Decimal(0)) for c in CONTRACTS], PRACTICE)
    for contract in CONTRACTS:
        own = here[here["payer"] == contract.payer]
        assert claims[contract.payer].total("expected_to_provider") == Decimal(int(own["expected"].sum())) / 100, contract.payer


@pytest.mark.parametrize("day", ["2025-12-31", "2026-01-01"])
def test_forecast_gives_the_engine_cents(engine_result, shipped, day):
    """One session a month, all to one payer, prices held at the date: the month's allowed is the claim's."""
    from estimator.forecast import Scenario, Template, run

    here = engine_result[engine_result["claim"] == f"{day} session"]
    template = {
        "muscle_count": 2,
        "guidance": "ultrasound",
        "em_code": "99213",
        "em_separately_identifiable": True,
        "drugs": ["triamcinolone:40mg"],
        "diagnoses": ["M79.18"],
    }
    for contract in CONTRACTS:
        scenario = Scenario(
            name="one",
            start=dt.date.fromisoformat(day).replace(day=1),
            months=1,
            templates=(Template("session", Decimal(1), template),),
            payer_mix={contract.payer: Decimal(100)},
            prices_held_at=dt.date.fromisoformat(day),
        )
        row = run(shipped, [scenario], [replace(c, deductible=Decimal(0)) for c in CONTRACTS], PRACTICE).iloc[0]
        assert row["allowed"] == Decimal(int(here[here["payer"] == contract.payer]["allowed"].sum())) / 100, contract.payer


@pytest.mark.slow
@pytest.mark.parametrize("day", ["2025-12-31", "2026-01-01"])
def test_recalculated_excel_gives_the_engine_cents(engine_result, shipped, tmp_path, day):

    from test_excel import recalculate

    from estimator.excel import ForecastInputs, estimate_workbook

    here = engine_result[engine_result["claim"] == f"{day} session"]
    contracts = [replace(c, deductible=Decimal(0)) for c in CONTRACTS]
    data = estimate_workbook(shipped, _session(day), contracts, PRACTICE, codes=["20610"], forecast=ForecastInputs(months=1))
    values, workbook, _ = recalculate(data, tmp_path)
    for number, contract in enumerate(contracts, 1):
        own = here[here["payer"] == contract.payer]
        for name, column in (("ALLOWED", "allowed"), ("EXPMET", "expected")):
            cell = workbook.defined_names[f"{name}_P{number}"].attr_text.split("!")[1].replace("$", "")
            assert round(values[("SESSION ESTIMATE", cell)], 2) == float(Decimal(int(own[column].sum())) / 100), (
                contract.payer,
                name,
            )
