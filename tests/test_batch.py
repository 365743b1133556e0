"""price-claims: every line priced or sent to the errors file with its row and reason; the Dask
engine gives the same output row for row."""

import subprocess
import sys

import pandas as pd
import pytest
from click.testing import CliRunner
from conftest import FIXTURES

from estimator.batch import Book, price_file, price_file_dask, synthetic_claims
from estimator.cli import main
from estimator.contracts import Contract, Practice


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def test_claims_priced_with_worked_figures_and_errors_by_row(tmp_path):
    """Medicare 20552 Alabama 2026: 47.25 allowed, 20% = 9.45 patient, 37.80 - 0.76 sequestration = 37.04;
    paid 36.98 -> variance -0.06, underpaid (tolerance 0.01). J3301 x 4 = 2.96, Medicare pays 2.37 - 0.05 = 2.32.
    Example Commercial PPO (125% of 2025 Medicare, copay 30 on claim B1, 10%): 57.83, patient 32.78, pays 25.05."""
    output = tmp_path / "priced.csv"
    result = run("price-claims", FIXTURES / "claims_small.csv", "--output", output)
    assert result.exit_code == 1, result.output  # some rows failed
    priced = pd.read_csv(output, dtype=str, keep_default_na=False).set_index("row")
    assert priced.loc["2", ["expected_allowed", "patient_share", "expected_payment", "variance", "underpaid"]].tolist() == [
        "47.25",
        "9.45",
        "37.04",
        "-0.06",
        "yes",
    ]
    assert priced.loc["4", ["expected_allowed", "expected_payment", "variance", "underpaid", "release"]].tolist() == [
        "2.96",
        "2.32",
        "0.00",
        "no",
        "ASP_2026Q1",
    ]
    assert priced.loc["5", ["expected_allowed", "patient_share", "expected_payment"]].tolist() == ["57.83", "32.78", "25.05"]
    assert priced.loc["6", "expected_allowed"] == "3.08"  # J3301 at ASP + 10%: 2.964 / 1.06 x 1.1
    assert priced.loc["7", "expected_allowed"] == "108.00"  # self-pay 60% of the billed 180.00
    assert priced.loc["8", "release"] == "RVU25D/GPCI2025"
    errors = pd.read_csv(tmp_path / "priced.errors.csv", dtype=str).set_index("row")["reason"]
    assert list(errors.index) == [str(n) for n in range(9, 17)]
    assert errors["9"].startswith("unknown code") and "split between Medicare localities" in errors["10"]
    assert "not a saved payer: Unknown Payer" in errors["11"] and "is loaded for 2027-03-02" in errors["12"]
    assert errors["16"] == "billed charge is not an amount with at most 2 decimals"
    assert "largest underpayments" in result.output and "7 lines priced, 8 failed" in result.output


def test_column_mapping_and_all_rows_priced(tmp_path):
    output = tmp_path / "out.csv"
    result = run(
        "price-claims",
        FIXTURES / "claims_odd_headers.csv",
        "--output",
        output,
        "--map",
        "date_of_service=When",
        "--map",
        "hcpcs=Procedure",
        "--map",
        "payer=Insurance Name",
        "--map",
        "billed=Amount Charged",
    )
    assert result.exit_code == 0, result.output
    assert pd.read_csv(output, dtype=str)["expected_allowed"].tolist() == ["47.25"]


@pytest.fixture
def book(shipped):
    contracts = [
        Contract.from_dict({"payer": "Medicare", "kind": "medicare", "method": "medicare"}),
        Contract.from_dict(
            {
                "payer": "Commercial",
                "percent": "125",
                "medicare_year": 2025,
                "drug_method": "asp_plus",
                "drug_percent": "10",
                "copay": "30",
                "coinsurance_percent": "10",
                "lesser_of_billed": True,
            }
        ),
        Contract.from_dict(
            {"payer": "Cash", "kind": "self_pay", "method": "percent_of_charges", "percent": "60", "coinsurance_percent": "100"}
        ),
    ]
    return Book(shipped, {c.payer: c for c in contracts}, Practice(name="Test"))


def test_parquet_and_xlsx_inputs_give_the_csv_result(tmp_path, book):
    source = tmp_path / "claims.csv"
    synthetic_claims(source, 300, list(book.contracts))
    frame = pd.read_csv(source, dtype=str, keep_default_na=False)
    frame.to_parquet(tmp_path / "claims.parquet")
    frame.to_excel(tmp_path / "claims.xlsx", index=False)
    results = {}
    for name in ("claims.csv", "claims.parquet", "claims.xlsx"):
        price_file(tmp_path / name, tmp_path / f"{name}.out.csv", book)
        results[name] = pd.read_csv(tmp_path / f"{name}.out.csv", dtype=str, keep_default_na=False)
    assert len(results["claims.csv"]) == 300
    assert results["claims.csv"].equals(results["claims.parquet"]) and results["claims.csv"].equals(results["claims.xlsx"])


def test_chunks_do_not_change_the_result(tmp_path, book):
    source = tmp_path / "claims.csv"
    synthetic_claims(source, 5000, list(book.contracts))
    price_file(source, tmp_path / "one.csv", book)
    price_file(source, tmp_path / "many.csv", book, rows_per_chunk=1000)
    assert pd.read_csv(tmp_path / "one.csv", dtype=str).equals(pd.read_csv(tmp_path / "many.csv", dtype=str))


@pytest.mark.slow
def test_dask_local_cluster_equals_the_single_machine_result(tmp_path, book):
    source = tmp_path / "claims.csv"
    synthetic_claims(source, 4000, list(book.contracts))
    price_file(source, tmp_path / "single.csv", book)
    summary = price_file_dask(source, tmp_path / "dask.csv", book, blocksize="60KB")
    single = pd.read_csv(tmp_path / "single.csv", dtype=str)
    assert summary.priced == 4000 and single.equals(pd.read_csv(tmp_path / "dask.csv", dtype=str))


@pytest.mark.slow
def test_cli_dask_engine(tmp_path):
    output = tmp_path / "out.csv"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "estimator",
            "price-claims",
            str(FIXTURES / "claims_small.csv"),
            "--output",
            str(output),
            "--engine",
            "dask",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 1, done.stderr[-2000:]
    assert "7 lines priced, 8 failed" in done.stdout and len(pd.read_csv(output)) == 7
