"""python -m estimator fee-schedule / vintages / bench, as a user runs them."""

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from estimator.cli import main


def run(*args):
    return CliRunner().invoke(main, list(args))


def test_fee_schedule_by_zip_prints_two_decimal_amounts_and_sources():
    result = run("fee-schedule", "--date", "2026-03-02", "--zip", "35203", "--codes", "20552,20553")
    assert result.exit_code == 0, result.output
    header, *rows = list(csv.reader(io.StringIO(result.stdout)))
    row = dict(zip(header, rows[0], strict=True))
    assert row["hcpcs"] == "20552" and row["nonfacility_amount"] == "47.25" and row["facility_amount"] == "33.22"
    assert row["nonfacility_limiting_charge"] == "51.62" and row["rvu_release"] == "RVU26C"
    assert {
        "carrier",
        "locality",
        "hcpcs",
        "modifier",
        "status",
        "nonfacility_amount",
        "facility_amount",
        "nonfacility_limiting_charge",
        "facility_limiting_charge",
    } <= set(header)
    assert "note: Work GPCI floor" in result.stderr


def test_fee_schedule_to_xlsx_and_csv(tmp_path):
    xlsx, csv = tmp_path / "fs.xlsx", tmp_path / "fs.csv"
    assert (
        run("fee-schedule", "--date", "2025-05-01", "--national", "--codes", "20552,76942", "--output", str(xlsx)).exit_code == 0
    )
    assert (
        run("fee-schedule", "--date", "2025-05-01", "--national", "--codes", "20552,76942", "--output", str(csv)).exit_code == 0
    )
    sheet = pd.read_excel(xlsx, dtype={"modifier": str})
    text = pd.read_csv(csv, dtype=str, keep_default_na=False)
    assert len(sheet) == len(text) == 4
    # 20552 national 2025: RVU25D total 1.57 x 32.3465 = 50.784005 -> 50.78
    assert text.loc[0, "nonfacility_amount"] == "50.78" and round(sheet.loc[0, "nonfacility_amount"], 2) == 50.78


def test_bad_input_gives_a_message_not_a_traceback():
    cases = [
        (["fee-schedule", "--date", "2026-13-01"], "is not a date"),
        (["fee-schedule", "--date", "2026-03-02", "--codes", "99999"], "not in the PFS relative value file: 99999"),
        (["fee-schedule", "--date", "2026-03-02", "--zip", "35958"], "split between Medicare localities"),
        (["fee-schedule", "--date", "2030-01-01"], "no PFS relative value file"),
        (["fee-schedule", "--date", "2026-03-02", "--zip", "35203", "--national"], "give one of"),
        (["fee-schedule", "--date", "2026-03-02", "--output", "x.pdf", "--codes", "20552"], "must end in .csv, .parquet, .xlsx"),
    ]
    for args, message in cases:
        result = run(*args)
        assert result.exit_code == 2 and message in result.output, (args, result.output)
        assert "Traceback" not in result.output


def test_vintages_lists_sources():
    result = run("vintages")
    assert "pfs_rvu   RVU26C          2026-01-01 to 2026-12-31  shipped  PPRRVU2026_Jul_nonQPP.csv" in result.output


@pytest.mark.slow
def test_module_entry_point_and_bench_print_every_figure_as_json():
    done = subprocess.run(
        [sys.executable, "-m", "estimator", "bench", "--json", "--claim-rows", "2000"], capture_output=True, text=True, check=True
    )
    figures = {f["name"].split(":")[0].split(" (")[0]: f for f in json.loads(done.stdout)["figures"]}
    assert {
        "cold load of the 2026-03-02 vintages",
        "core",
        "cold start",
        "fee-schedule --all-localities to all.csv",
        "fee-schedule --all-localities to all.parquet",
        "price-claims 2,000 lines",
        "Excel model",
    } <= set(figures)
    assert all(f["seconds"] > 0 for f in figures.values()) and figures["price-claims 2,000 lines"]["peak_mb"] > 0


def test_national_schedule_as_parquet_keeps_exact_decimals_and_equals_the_csv(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    args = ["fee-schedule", "--date", "2026-03-02", "--locality", "10112-00", "--codes", "20552,20553,76942"]
    assert run(*args, "--output", str(tmp_path / "fs.parquet")).exit_code == 0
    assert run(*args, "--format", "csv", "--output", str(tmp_path / "fs.csv")).exit_code == 0
    table = pq.read_table(tmp_path / "fs.parquet")
    assert table.schema.field("nonfacility_amount").type == pa.decimal64(18, 2)
    assert table.schema.field("work_gpci").type == pa.decimal64(18, 3)
    rows = table.to_pylist()
    # RVU26C x GPCI2026 (Alabama) x CF 33.4009: 20552 office 47.25, facility 33.22
    assert (str(rows[0]["nonfacility_amount"]), str(rows[0]["facility_amount"])) == ("47.25", "33.22")
    text = pd.read_csv(tmp_path / "fs.csv", dtype=str, keep_default_na=False)
    assert text["nonfacility_amount"].tolist() == [str(r["nonfacility_amount"] or "") for r in rows]
    wrong = run(*args, "--format", "parquet", "--output", str(tmp_path / "fs.csv"))
    assert wrong.exit_code == 2 and "--format parquet but the output ends in .csv" in wrong.output


def test_session_from_file_prints_the_claim_and_sites():
    from conftest import FIXTURES

    result = run("session", str(FIXTURES / "session_office.json"))
    assert result.exit_code == 0, result.output
    assert "20552" in result.output and "47.25" in result.output and "99213" in result.output
    assert "totals: allowed 196.41, copay 0.00" in result.output
    assert "same session by site of service" in result.output and "ambulatory surgical center" in result.output


def test_session_flags_and_json():
    import json

    result = run(
        "session",
        "--muscles",
        "2",
        "--drug",
        "triamcinolone:40mg",
        "--guidance",
        "ultrasound",
        "--zip",
        "35203",
        "--date",
        "2026-03-02",
        "--dx",
        "M79.18",
        "--json",
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert [line["code"] for line in data["lines"]] == ["20552", "76942", "J3301"]
    assert data["totals"]["allowed"] == "108.62"  # 47.25 + 58.41 + 2.96


def test_payers_import_export_fees_delete(tmp_path):
    from conftest import FIXTURES

    assert "Example Commercial PPO" in run("payers", "list").output
    result = run("payers", "import", str(FIXTURES / "contracts_example.yaml"))
    assert result.exit_code == 0 and "imported 2 contract(s)" in result.output
    again = run("payers", "import", str(FIXTURES / "contracts_example.yaml"))
    assert again.exit_code == 2 and "already taken" in again.output
    assert run("payers", "fees", "Acme PPO", str(FIXTURES / "fee_schedule_acme.csv"), "--date", "2026-03-02").exit_code == 0
    shown = run("payers", "show", "Acme PPO").output
    assert "method: fee_schedule" in shown and "76942-26: '21.00'" in shown
    exported = tmp_path / "contracts.json"
    assert run("payers", "export", "--output", str(exported)).exit_code == 0
    assert '"payer": "=HYPERLINK(\\"http://example.invalid\\")"' in exported.read_text()
    assert run("payers", "delete", "Acme PPO").exit_code == 0
    assert "Acme PPO" not in run("payers", "list").output


def test_compare_and_forecast_commands(tmp_path):
    from conftest import FIXTURES

    result = run("compare", str(FIXTURES / "session_office.json"), "--lines")
    assert result.exit_code == 0, result.output
    assert "Medicare (traditional)" in result.output and "percent_of_medicare" in result.output
    codes = run("compare", "--codes", "20552,76942", "--date", "2026-03-02", "--payers", "Medicare (traditional)")
    assert codes.exit_code == 0 and "105.66" in codes.output  # 47.25 + 58.41
    output = tmp_path / "forecast.xlsx"
    result = run("forecast", str(FIXTURES / "scenario_example.yaml"), "--output", str(output))
    assert result.exit_code == 0, result.output
    assert "Proposed PPO at 140%" in result.output and len(pd.read_excel(output)) == 144


def test_compare_rejects_malformed_mixes(tmp_path):
    cases = [
        ("[]", "must hold a session"),
        ('{"mix": []}', "a list of 1 to 100"),
        (
            '{"mix": [{"count": 2, "session": {"date_of_service": "2026-03-02", "muscle_count": 1}},'
            ' {"count": 1, "session": {"date_of_service": "2026-04-02", "muscle_count": 1}}]}',
            "same date of service",
        ),
    ]
    for text, message in cases:
        path = tmp_path / "mix.json"
        path.write_text(text)
        result = run("compare", str(path))
        assert result.exit_code == 2 and message in result.output and "Traceback" not in result.output, result.output


def test_excel_propose_prices_proposed_terms_or_refuses(tmp_path):
    from openpyxl import load_workbook

    session = str(Path(__file__).parent / "fixtures" / "session_office.json")
    fees = str(Path(__file__).parent / "fixtures" / "fee_schedule_acme.csv")
    out = tmp_path / "model.xlsx"
    done = run("excel", session, "--output", str(out), "--months", "2", "--propose", "Example Commercial PPO=130",
               "--propose", f"Example State Medicaid={fees}")  # fmt: skip
    assert done.exit_code == 0, done.output
    payers = [c.value for c in load_workbook(out)["Payer comparison"]["A"]]
    assert {"Example Commercial PPO (proposed)", "Example State Medicaid (proposed)"} <= set(payers)
    for bad, message in (
        ("Medicare (traditional)=130", "is paid by medicare: propose a fee schedule file instead"),
        ("Nobody=130", "write PAYER=PERCENT with a saved payer's name"),
        ("Example Commercial PPO=abc", "--propose"),
    ):
        refused = run("excel", session, "--output", str(tmp_path / "no.xlsx"), "--propose", bad)
        assert refused.exit_code == 2 and message in refused.output and not (tmp_path / "no.xlsx").exists(), refused.output
