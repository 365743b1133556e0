"""Remittances (835) and claims (837P): reading, reconciliation against the engine, outputs, storage.

Expected amounts, Alabama (locality 10112-00), 2026-03-02, from RVU26C x GPCI2026 x CF 33.4009 (see
test_cli.py): 20552 office 47.25; 20553 office (0.73 x 1.000 + 0.98 x 0.875 + 0.08 x 0.566) x 33.4009
= 54.536 -> 54.54; J3301 x 4 = 2.96 (ASP file, see test_contracts.py). Part B: 20% coinsurance
(42 CFR 410.152), 2% sequestration (parameters/sequestration_rate.yaml). The fixtures were written
for this project (tests/fixtures/x12/tpi_*.835/837); the public samples and their source are in
tests/fixtures/x12/public/SOURCE.md.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from openpyxl import load_workbook

from estimator.batch import Book
from estimator.cli import main
from estimator.db import Database
from estimator.errors import InputError
from estimator.remittance import reconcile
from estimator.store import FeeSchedules
from estimator.x12 import read_files, read_paths, validate

X12 = Path(__file__).parent / "fixtures" / "x12"
REMITTANCE = X12 / "tpi_remittance.835"
CLAIMS = X12 / "tpi_claims.837"
PUBLIC = sorted((X12 / "public").glob("*.83?"))


def book() -> Book:
    database = Database()
    return Book(FeeSchedules(), {c.payer: c for c in database.contracts()}, database.practice())


def worklist(*paths, payer_ids=None) -> pd.DataFrame:
    return reconcile(read_paths(list(paths)), book(), payer_ids or {}).worklist


def row(table: pd.DataFrame, claim: str, line: int = 1, nth: int = 0, status: str | None = None) -> pd.Series:
    found = table[(table["claim_id"] == claim) & (table["line"] == line)]
    if status:
        found = found[found["status"] == status]
    return found.iloc[nth]


def money(value) -> str:
    return "" if value is None or pd.isna(value) else f"{value:.2f}"


@pytest.fixture(scope="module")
def reconciled():
    import os
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        old = os.environ.get("TPI_ESTIMATOR_DB")
        os.environ["TPI_ESTIMATOR_DB"] = str(Path(folder) / "db.sqlite3")
        try:
            yield worklist(REMITTANCE, CLAIMS)
        finally:
            if old is not None:
                os.environ["TPI_ESTIMATOR_DB"] = old


def test_paid_as_expected_with_coinsurance_and_sequestration(reconciled):
    """C1001: 20552 allowed 47.25, PR-2 9.45, 37.80 less 2% (0.756 -> 0.76) = 37.04 paid; J3301 x 4:
    2.96, PR-2 0.59, 2.37 less 0.0474 -> 0.05 = 2.32."""
    line = row(reconciled, "C1001", 1, status="as_expected")
    assert (line["payer"], money(line["expected_allowed"]), money(line["expected_payment"]), money(line["variance"])) == (
        "Medicare (traditional)",
        "47.25",
        "37.04",
        "0.00",
    )
    assert line["payer_rule"].startswith("priced as Medicare (traditional): claim filing indicator MB (Medicare Part B)")
    drug = row(reconciled, "C1001", 2)
    assert (drug["code"], drug["status"], money(drug["expected_allowed"]), money(drug["expected_payment"])) == (
        "J3301",
        "as_expected",
        "2.96",
        "2.32",
    )


def test_the_deductible_is_never_an_underpayment(reconciled):
    """C1002: the whole 47.25 went to the Part B deductible (CAS PR-1): nothing is owed by Medicare."""
    line = row(reconciled, "C1002")
    assert (line["status"], money(line["era_paid"]), money(line["deductible"]), money(line["variance"])) == (
        "as_expected",
        "0.00",
        "47.25",
        "0.00",
    )


def test_place_of_service_from_the_matching_837p_line(reconciled):
    """C1003 has no CLP08; its 837P line says office (11). 54.54 - 20.00 - 6.91 = 27.63 less 0.55."""
    line = row(reconciled, "C1003")
    assert (line["status"], line["place_of_service"], money(line["expected_payment"])) == ("as_expected", "11", "27.08")


def test_a_true_downcode_is_an_underpayment(reconciled):
    """C1004: billed 20553 (SVC06), paid as 20552. Expected 54.54 less 20% (10.908 -> 10.91) = 43.63,
    less 2% (0.8726 -> 0.87) = 42.76; paid 37.04: 5.72 short, allowed 7.29 short."""
    line = row(reconciled, "C1004")
    assert (line["status"], money(line["expected_allowed"]), money(line["expected_payment"])) == ("underpaid", "54.54", "42.76")
    assert (money(line["variance"]), money(line["allowed_variance"])) == ("-5.72", "-7.29")
    assert "paid as 20552, billed as 20553" in line["reason"] and line["billed_code"] == "20553"


def test_a_denial_carries_its_carc_and_meaning(reconciled):
    """What the denial withholds: 47.25 less Part B's 20% (9.45) and 2% of 37.80 (0.76) = 37.04."""
    line = row(reconciled, "C1005")
    assert (line["status"], line["carc"], line["remarks"]) == ("denied", "CO-50", "N115")
    assert money(line["expected_payment"]) == "37.04"
    assert line["carc_text"] == "contractual obligation: not covered: the payer does not consider it medically necessary"


def test_a_reversal_and_its_correction_net_to_the_correction(reconciled):
    lines = reconciled[reconciled["claim_id"] == "C1006"]
    assert list(lines["status"]) == ["reversed", "reversed", "as_expected"]
    assert [money(v) for v in lines["era_paid"]] == ["30.00", "-30.00", "37.04"]


def test_a_secondary_payer_is_judged_against_the_primary_balance(reconciled):
    """The Medigap plan (CLP02 2) paid 9.45: the primary's coinsurance on C1001's 20552."""
    line = row(reconciled, "C1001", 1, status="secondary")
    assert (line["payer"], money(line["expected_payment"]), money(line["variance"])) == ("EXAMPLE MEDIGAP PLAN", "9.45", "0.00")
    assert pd.isna(line["expected_allowed"])


def test_several_payers_in_one_file_and_medicaid_by_filing_indicator(reconciled):
    """The third transaction is Medicaid (CLP06 MC): the one saved Medicaid payer, fee 32.00 per its contract."""
    line = row(reconciled, "C4001")
    assert (line["payer"], line["status"], money(line["expected_allowed"])) == ("Example State Medicaid", "as_expected", "32.00")


def test_an_837p_line_without_a_remittance_is_priced_and_waiting(reconciled):
    """C3001 line 1, 20553 with four modifiers: 54.54, 20% to the patient: 43.632 -> 43.63, less 0.8726 -> 0.87."""
    line = row(reconciled, "C3001")
    assert (line["status"], line["modifiers"], money(line["expected_payment"])) == ("awaiting_remittance", "XS 59 RT LT", "42.76")


def test_a_secondary_without_its_primary_is_not_judged():
    secondary = REMITTANCE.read_text().split("ST*835*0002")[1].split("SE*")[0]
    text = REMITTANCE.read_text().split("ST*835*0001")[0] + "ST*835*0002" + secondary + "SE*12*0002~\nGE*1*101~\nIEA*1*000000101~"
    table = reconcile(read_files([("secondary.835", text.encode())]), book(), {}).worklist
    assert list(table["status"]) == ["secondary"] and pd.isna(table["variance"].iloc[0])
    assert "not among these files" in table["reason"].iloc[0]


def _svc_count(path: Path) -> int:
    return len(re.findall(r"(?:^|[~\n])\s*SVC\*", path.read_text(), flags=re.IGNORECASE))


@pytest.mark.parametrize("path", [REMITTANCE, X12 / "broken_segment.835", *PUBLIC], ids=lambda p: p.name)
def test_every_service_line_has_a_status(path):
    read = read_paths([path])
    table = reconcile(read, book(), {}).worklist
    expected = _svc_count(path) + len(read.claims)
    assert len(table) == expected and table["status"].ne("").all()


def test_public_samples_are_not_priced_with_the_reason():
    """Dated 2002 and 2006; their payers are not mapped, and the 835 gives no place of service."""
    table = worklist(*PUBLIC)
    assert set(table["status"]) == {"not_priced"}
    assert table[table["file"] == "managed-care.835"]["reason"].str.contains("not mapped to a saved payer").all()
    mapped = worklist(*PUBLIC, payer_ids={"1935665544": "Example Commercial PPO"})
    remit = mapped[mapped["file"] == "managed-care.835"]
    assert set(remit["payer"]) == {"Example Commercial PPO"}
    assert remit["reason"].str.startswith("no place of service").all()


def test_lowercase_no_line_breaks_and_other_delimiters_read_the_same(reconciled):
    text = REMITTANCE.read_text() + CLAIMS.read_text()
    changed = text.lower().replace("~\n", "!").replace("*", "|").replace(":", ">").replace("^", "^")
    table = reconcile(read_files([("odd.835", changed.encode())]), book(), {}).worklist
    assert list(table["status"]) == list(reconciled["status"])
    assert [money(v) for v in table["expected_payment"]] == [money(v) for v in reconciled["expected_payment"]]


def test_a_broken_segment_names_segment_and_element_and_the_rest_goes_on():
    read = read_paths([X12 / "broken_segment.835"])
    table = reconcile(read, book(), {}).worklist
    bad = row(table, "C1001", 1, status="not_priced")
    assert bad["reason"] == "segment 17, SVC02: '15O.00' is not an amount"
    assert row(table, "C1001", 2)["status"] == "as_expected" and row(table, "C1004")["status"] == "underpaid"
    assert any("SE01: says '" in note and "the transaction has" in note for note in read.notes)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"claim_id,code\nC1,20552\n", "not an X12 file: it does not start with an ISA segment (segment 1, ISA01)"),
        (b"ISA*00*short~", "segment 1, ISA16: the ISA segment is cut short"),
        (b"ISA*00*          *00*          *ZZ*A              *ZZ*B              *260320*1200*^*00501*1*0*T", "ISA16"),
        (b"\x00\x01binary", "a binary file"),
    ],
)
def test_an_unreadable_file_is_one_clear_error(content, message):
    with pytest.raises(InputError) as caught:
        read_files([("bad.835", content)])
    assert str(caught.value).startswith("bad.835: ") and message in str(caught.value)


def test_validation_names_segment_and_element():
    found = validate("broken_segment.835", (X12 / "broken_segment.835").read_bytes())
    assert {"file": "broken_segment.835", "segment": 17, "element": "SVC02"} in [
        {k: f[k] for k in ("file", "segment", "element")} for f in found
    ]
    assert validate("tpi_remittance.835", REMITTANCE.read_bytes()) == []


def test_command_writes_worklist_scorecard_and_appeals_and_saves_once(tmp_path):
    runner = CliRunner()
    args = ["remittance", str(REMITTANCE), str(CLAIMS), "--output", str(tmp_path / "out")]
    first = runner.invoke(main, args)
    assert first.exit_code == 0, first.output
    assert "13 lines: 6 as_expected, 2 reversed, 2 awaiting_remittance, 1 underpaid, 1 denied, 1 secondary" in first.output
    listed = pd.read_csv(tmp_path / "out" / "worklist.csv", dtype=str, keep_default_na=False)
    required = ["claim_id", "line", "code", "modifiers", "date", "payer", "status", "expected_allowed", "era_allowed", "era_paid",
                "era_patient_responsibility", "variance", "reason", "carc"]  # fmt: skip
    assert set(required) <= set(listed.columns) and len(listed) == 13
    workbook = load_workbook(tmp_path / "out" / "worklist.xlsx")
    assert workbook.sheetnames == ["To work", "Scorecard"]
    rows = list(workbook["To work"].iter_rows(values_only=True))
    status, allowed = rows[0].index("status"), rows[0].index("expected_allowed")
    assert [r[status] for r in rows[1:]] == ["underpaid", "denied", "secondary", "awaiting_remittance", "awaiting_remittance"]
    assert rows[1][allowed] == 54.54  # expected_allowed of C1004, a number
    scores = list(workbook["Scorecard"].iter_rows(values_only=True))
    assert scores[0][1] == "lines" and all(isinstance(r[1], (int, float)) for r in scores[1:])  # counts are numbers
    card = pd.read_csv(tmp_path / "out" / "scorecard.csv", dtype=str).set_index("payer")
    medicare = card.loc["Medicare (traditional)"]
    # judged lines: paid 37.04 + 2.32 + 0 + 27.08 + 37.04 + 0 + 37.04 = 140.52, the 835's BPR02
    assert (medicare["paid"], medicare["denied_lines"], medicare["top_denial_reasons"]) == ("140.52", "1", "CO-50 ×1")
    appeals = sorted(p.name for p in (tmp_path / "out" / "appeals").iterdir())
    assert appeals == ["appeal_C1004.txt", "appeal_C1005.txt"]
    packet = (tmp_path / "out" / "appeals" / "appeal_C1004.txt").read_text()
    assert "26079000004" in packet and "EFT0000123, dated 2026-03-20" in packet and "variance -$5.72" in packet
    kept = len(Database().remittance_lines())
    assert kept == 11  # the 835's lines; the 837P's waiting lines are not payments
    again = runner.invoke(main, args)
    assert again.exit_code == 0 and "not counted again" in again.output
    assert len(Database().remittance_lines()) == kept


def test_payer_ids_are_mapped_to_saved_payers():
    runner = CliRunner()
    assert runner.invoke(main, ["payers", "map", "10112", "Example Commercial PPO"]).exit_code == 0
    assert Database().payer_ids() == {"10112": "Example Commercial PPO"}
    refused = runner.invoke(main, ["payers", "map", "10112", "No Such Payer"])
    assert refused.exit_code != 0 and "no saved payer named 'No Such Payer'" in refused.output
    table = worklist(REMITTANCE, payer_ids=Database().payer_ids())
    assert row(table, "C1002")["payer"] == "Example Commercial PPO"
    assert (
        "payer ID 10112 is mapped to Example Commercial PPO" not in row(table, "C1002")["reason"]
    )  # said once, in the worklist's payer


def test_837p_diagnoses_are_checked_against_the_payers_covered_list():
    """M79.1 has not been a valid ICD-10-CM code since October 1, 2022 (fee_schedules/policies/invalid_diagnoses.yaml)."""
    claims = CLAIMS.read_text().replace(
        "CLM*C3001*380.00***11:B:1*Y*A*Y*Y~\nHI*ABK:M7918~", "CLM*C3001*380.00***11:B:1*Y*A*Y*Y~\nHI*ABK:M791~"
    )
    assert claims != CLAIMS.read_text()
    table = reconcile(read_files([("claims.837", claims.encode())]), book(), {}).worklist
    assert row(table, "C3001")["warnings"].startswith("M79.1 has not been a valid ICD-10-CM code since October 1, 2022")
    assert row(table, "C1001")["warnings"] == ""  # M79.18


def era(*segments: str, separator: str = "*", component: str = ":", terminator: str = "~", check: str = "CHK1") -> str:
    """A one-payer Medicare Part B 835 around ``segments`` (written with * and :), paid 2026-03-20."""
    body = [
        "BPR*I*0*C*CHK************20260320",
        f"TRN*1*{check}*1512345678",
        "N1*PR*MEDICARE PART B",
        "N1*PE*EXAMPLE PAIN CLINIC*XX*1234567893",
        "N4*BIRMINGHAM*AL*35203",
        "LX*1",
        *segments,
    ]
    body = ["ST*835*0001", *body, f"SE*{len(body) + 2}*0001"]
    isa = f"ISA*00*{' ' * 10}*00*{' ' * 10}*ZZ*{'PAYER':15}*ZZ*{'PRACTICE':15}*260320*1200*^*00501*000000001*0*T*{component}"
    segments_all = [isa, "GS*HP*PAYER*PRACTICE*20260320*1200*1*X*005010X221A1", *body, "GE*1*1", "IEA*1*000000001"]
    text = terminator.join(segments_all) + terminator
    return text.replace("*", separator).replace(":", component) if separator != "*" else text


PAID_20552 = [  # 20552 paid as expected: 47.25 allowed, 9.45 coinsurance, 0.76 sequestration
    "SVC*HC:20552*150.00*37.04**1",
    "DTM*472*20260302",
    "CAS*CO*45*102.75**253*0.76",
    "CAS*PR*2*9.45",
    "AMT*B6*47.25",
]


def statuses(*files: tuple[str, str]) -> pd.DataFrame:
    return reconcile(read_files([(name, text.encode()) for name, text in files]), book(), {}).worklist


def test_a_claim_level_deductible_counts_on_its_line():
    table = statuses(("a.835", era("CLP*A1*1*150.00*0*47.25*MB*ICN1*11*1", "CAS*PR*1*47.25", "SVC*HC:20552*150.00*0**1",
                                    "DTM*472*20260302", "CAS*CO*45*102.75")))  # fmt: skip
    assert (table["status"].iloc[0], money(table["deductible"].iloc[0]), money(table["variance"].iloc[0])) == (
        "as_expected",
        "47.25",
        "0.00",
    )


@pytest.mark.parametrize("order", [(0, 1), (1, 0)], ids=["original-first", "correction-first"])
def test_a_reversal_takes_back_one_payment_whatever_the_order(order):
    """The correction keeps the original's claim number (as some payers do); only the payment the
    reversal negates is taken back."""
    first = era("CLP*D1*1*150.00*30.00*9.45*MB*ICND1*11*1", *PAID_20552[:2], "CAS*CO*45*109.79**253*0.76", "CAS*PR*2*9.45")
    first = first.replace("SVC*HC:20552*150.00*37.04**1", "SVC*HC:20552*150.00*30.00**1")
    second = era("CLP*D1*22*-150.00*-30.00*-9.45*MB*ICND1*11*1", "SVC*HC:20552*-150.00*-30.00**-1", "DTM*472*20260302",
                 "CLP*D1*1*150.00*37.04*9.45*MB*ICND1*11*1", *PAID_20552, check="CHK2")  # fmt: skip
    files = [("first.835", first), ("second.835", second)]
    table = statuses(*(files[i] for i in order))
    judged = table[table["status"] != "reversed"]
    assert list(judged["era_paid"].map(money)) == ["37.04"] and list(judged["status"]) == ["as_expected"]
    alone = statuses(("only.835", era("CLP*D1*22*-150.00*-30.00*-9.45*MB*ICND1*11*1", "SVC*HC:20552*-150.00*-30.00**-1",
                                      "DTM*472*20260302")))  # fmt: skip
    assert "no correction in these files" in alone["reason"].iloc[0]


def test_a_denial_billed_to_the_patient_is_a_denial():
    table = statuses(("pr96.835", era("CLP*A5*1*150.00*0*150.00*MB*ICN5*11*1", "SVC*HC:20552*150.00*0**1", "DTM*472*20260302",
                                      "CAS*PR*96*150.00")))  # fmt: skip
    assert (table["status"].iloc[0], table["carc"].iloc[0]) == ("denied", "PR-96")
    assert table["carc_text"].iloc[0] == "patient responsibility: not covered"


def test_without_amt_b6_the_allowed_is_paid_plus_cost_sharing_and_sequestration():
    table = statuses(("noamt.835", era("CLP*A4*1*150.00*37.04*9.45*MB*ICN4*11*1", *PAID_20552[:4])))
    assert (table["status"].iloc[0], money(table["era_allowed"].iloc[0])) == ("as_expected", "47.25")


def test_units_paid_are_priced_and_fewer_units_are_said():
    table = statuses(("units.835", era("CLP*U1*1*300.00*37.04*9.45*MB*ICNU*11*1", "SVC*HC:20552*300.00*37.04**1*HC:20552*2",
                                       *PAID_20552[1:])))  # fmt: skip
    assert table["status"].iloc[0] == "as_expected" and "paid 1 of 2 units billed" in table["reason"].iloc[0]


def test_medicare_coinsurance_above_20_percent_is_an_underpayment():
    """47.25 allowed: Part B coinsurance is 9.45; the 835 charged the patient 20.00 and paid 26.70."""
    table = statuses(("coins.835", era("CLP*E1*1*150.00*26.70*20.00*MB*ICNE*11*1", "SVC*HC:20552*150.00*26.70**1",
                                       "DTM*472*20260302", "CAS*CO*45*102.75**253*0.55", "CAS*PR*2*20.00", "AMT*B6*47.25")))  # fmt: skip
    assert (table["status"].iloc[0], money(table["expected_payment"].iloc[0]), money(table["variance"].iloc[0])) == (
        "underpaid",
        "37.04",
        "-10.34",
    )


def test_a_secondary_paying_less_than_the_primary_left_is_underpaid():
    primary = era("CLP*B2*1*150.00*37.04*9.45*MB*ICNB2*11*1", *PAID_20552)
    medigap = era("CLP*B2*2*150.00*5.00*0*12*MG2*11*1", "SVC*HC:20552*150.00*5.00**1", "DTM*472*20260302",
                  "CAS*OA*23*145.00", check="MG1").replace("MEDICARE PART B", "EXAMPLE MEDIGAP PLAN")  # fmt: skip
    table = statuses(("p.835", primary), ("s.835", medigap))
    line = table.iloc[1]
    assert (line["status"], money(line["expected_payment"]), money(line["variance"])) == ("underpaid", "9.45", "-4.45")
    assert "less than the primary left to the patient" in line["reason"]


def test_interchanges_with_different_delimiters_in_one_file_and_files_of_the_same_name():
    one = era("CLP*I1*1*150.00*37.04*9.45*MB*ICN1*11*1", *PAID_20552)
    two = era("CLP*I2*1*150.00*37.04*9.45*MB*ICN2*11*1", *PAID_20552, separator="|", component=">", terminator="\n")
    table = statuses(("both.835", one + "\n" + two))
    assert list(table["claim_id"]) == ["I1", "I2"] and set(table["status"]) == {"as_expected"}
    twins = statuses(("remit.835", one), ("remit.835", two.replace("I2", "I3")))
    assert list(twins["status"]) == ["as_expected", "as_expected"]  # two claims, not one of 2 units


def test_a_whole_claim_denial_without_service_lines():
    table = statuses(("deny.835", era("CLP*A2*4*150.00*0*0*MB*ICN2*11*1", "CAS*CO*50*150.00", "DTM*232*20260302")))
    assert (table["status"].iloc[0], table["carc"].iloc[0]) == ("denied", "CO-50")


def test_an_837p_other_payer_loop_does_not_replace_the_claims_payer():
    text = CLAIMS.read_text().replace(
        "HI*ABK:M7918~\nLX*1~\nSV1*HC:20552",
        "HI*ABK:M7918~\nSBR*S*18*******CI~\nNM1*IL*1*DOE*JANE****MI*X1~\nNM1*PR*2*EXAMPLE MEDIGAP PLAN*****PI*55501~\nLX*1~\nSV1*HC:20552",
    )
    table = reconcile(read_files([("c.837", text.encode())]), book(), {}).worklist
    assert "EXAMPLE MEDIGAP" not in text.split("SBR*S")[0] and "SBR*S" in text
    assert set(table["payer"]) == {"Medicare (traditional)"} and set(table["status"]) == {"awaiting_remittance"}
