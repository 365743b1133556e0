"""Each kind of CMS file, on each side of every date where the file in force changes: the figure, and
the stamp that says which file priced it (the line's release, and a note when an older file stands in).

Figures are from the CMS files themselves (named beside each), through the engine.
"""

import datetime as dt

import pandas as pd
import pytest

from estimator.contracts import TRADITIONAL_MEDICARE
from estimator.engine import Book, price
from estimator.store import FeeSchedules


def priced(shipped, code: str, day: str, *, pos: str = "11", units: int = 1, biller: str = "physician"):
    lines = pd.DataFrame(
        {
            "claim": ["c"],
            "date_of_service": [day],
            "code": [code],
            "modifiers": ["JZ" if code.startswith("J") else ""],
            "units": [units],
            "place_of_service": [pos],
            "zip_code": ["35203"],
            "payer": [TRADITIONAL_MEDICARE.payer],
            "biller": [biller],
        }
    )
    result = price(lines, Book(shipped, {TRADITIONAL_MEDICARE.payer: TRADITIONAL_MEDICARE}))
    line = result.lines.iloc[0]
    assert line["error"] == "", line["error"]
    return f"{int(line['allowed']) / 100:.2f}", line["release"], " ".join([*result.notes, str(line["note"])])


@pytest.mark.parametrize(
    "day, amount, release",
    [
        # PFAL25A (CMS-computed 2025 amounts, carrier 10112 locality 00): 20552 non-facility 46.26
        ("2025-12-31", "46.26", "RVU25D/GPCI2025"),
        # RVU26C x GPCI2026 (AL 1.000 / 0.875 / 0.566) x CF 33.4009: 0.64 + 0.84 x 0.875 + 0.07 x 0.566 -> 47.25
        ("2026-01-01", "47.25", "RVU26C/GPCI2026"),
    ],
)
def test_pfs_rvu_gpci_and_zip_change_on_january_first(shipped, day, amount, release):
    assert priced(shipped, "20552", day)[:2] == (amount, release)
    held = {r["kind"]: r for r in shipped.priced_with(dt.date.fromisoformat(day))}
    assert held["zip5"]["vintage"] == ("ZIP5_2025Q4" if day.startswith("2025") else "ZIP5_2026Q2")


@pytest.mark.parametrize(
    "day, amount, release",
    [
        # J3301 x 4 units (40 mg) at each ASP file's payment limit per 10 mg (SOURCES.md, "J3301 per 10 mg")
        ("2025-03-31", "3.59", "ASP_2025Q1"),  # 0.898 x 4 = 3.592
        ("2025-04-01", "3.48", "ASP_2025Q2"),  # 0.870 x 4
        ("2025-06-30", "3.48", "ASP_2025Q2"),
        ("2025-07-01", "3.45", "ASP_2025Q3"),  # 0.862 x 4 = 3.448
        ("2025-09-30", "3.45", "ASP_2025Q3"),
        ("2025-10-01", "3.38", "ASP_2025Q4"),  # 0.844 x 4 = 3.376
        ("2025-12-31", "3.38", "ASP_2025Q4"),
        ("2026-01-01", "2.96", "ASP_2026Q1"),  # 0.741 x 4 = 2.964
        ("2026-03-31", "2.96", "ASP_2026Q1"),
    ],
)
def test_asp_quarters(shipped, day, amount, release):
    allowed, stamp, notes = priced(shipped, "J3301", day, units=4)
    assert (allowed, stamp) == (amount, release) and "is used instead" not in notes


def test_after_the_last_asp_quarter_the_latest_stands_in_and_says_so(shipped):
    allowed, stamp, notes = priced(shipped, "J3301", "2026-04-01", units=4)
    assert (allowed, stamp) == ("2.96", "ASP_2026Q1")
    assert "No Part B drug payment limits (ASP) file is held for 2026-04-01; ASP_2026Q1" in notes


def test_opps_addendum_b(shipped):
    # October 2025 Addendum B: 20552 status T, APC 5441, $295.19 national
    allowed, stamp, notes = priced(shipped, "20552", "2025-12-31", pos="22", biller="facility")
    assert (allowed, stamp) == ("295.19", "OPPS_B_2025Q4") and "is used instead" not in notes
    allowed, stamp, notes = priced(shipped, "20552", "2026-01-01", pos="22", biller="facility")
    assert (allowed, stamp) == ("295.19", "OPPS_B_2025Q4") and "OPPS_B_2025Q4" in notes and "is used instead" in notes


def test_asc_addendum_aa(shipped):
    # January 2025 Addendum AA: 20552 P3 $27.17
    assert priced(shipped, "20552", "2025-03-31", pos="24", biller="facility")[:2] == ("27.17", "ASC_AA_2025Q1")
    allowed, stamp, notes = priced(shipped, "20552", "2025-04-01", pos="24", biller="facility")
    assert (allowed, stamp) == ("27.17", "ASC_AA_2025Q1") and "ASC_AA_2025Q1" in notes and "is used instead" in notes


def test_opps_cap_applies_in_2025_only(shipped):
    held = {d: {r["kind"]: r for r in shipped.priced_with(dt.date.fromisoformat(d))} for d in ("2025-12-31", "2026-01-01")}
    assert held["2025-12-31"]["opps_cap"]["vintage"] == "OPPSCAP_2025"
    assert held["2026-01-01"]["opps_cap"]["status"] == "none held"


@pytest.mark.parametrize(
    "day, status",
    [("2026-03-31", "none held"), ("2026-04-01", "in force"), ("2026-06-30", "in force"), ("2026-07-01", "older file used")],
)
def test_mue_table(shipped: FeeSchedules, day, status):
    row = {r["kind"]: r for r in shipped.priced_with(dt.date.fromisoformat(day))}["mue"]
    assert row["status"] == status and row["vintage"] == ("" if status == "none held" else "MUE_2026Q2")
