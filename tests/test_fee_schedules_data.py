"""Tests on the shipped data files themselves: provenance, dates, no licensed text, rebuildability."""

import datetime as dt
import hashlib
import itertools
from fractions import Fraction

import pandas as pd
import pytest
import yaml
from conftest import SHARED_CMS, needs_shared

from estimator.parameters import PARAMETERS, parameter, parameter_names
from estimator.store import SHIPPED, FeeSchedules, import_files

SOURCE_KEYS = {
    "kind",
    "vintage",
    "source_file",
    "source_sha256",
    "effective_from",
    "effective_to",
    "rows",
    "table_sha256",
    "origin",
    "note",
    "cms_title",
    "release",
    "title",
}
CLAIMED_YEARS = (dt.date(2025, 1, 1), dt.date(2026, 12, 31))


def test_every_shipped_table_records_its_source(shipped):
    assert len(shipped.vintages) == 18
    for v in shipped.vintages:
        assert set(v.source) >= SOURCE_KEYS, v.name
        assert len(v.source["source_sha256"]) == 64 and v.source["origin"], v.name
        table = v.folder / "table.csv"
        assert hashlib.sha256(table.read_bytes()).hexdigest() == v.source["table_sha256"], v.name
        assert len(pd.read_csv(table, dtype=str)) == v.source["rows"], v.name


@pytest.mark.parametrize("kind", ["pfs_rvu", "gpci", "locco", "zip5"])
def test_yearly_tables_cover_2025_and_2026_without_gap_or_overlap(shipped, kind):
    spans = [(v.effective_from, v.effective_to) for v in shipped.of_kind(kind)]
    assert spans[0][0] == CLAIMED_YEARS[0] and spans[-1][1] == CLAIMED_YEARS[1]
    for (_, end), (start, _) in itertools.pairwise(spans):
        assert start == end + dt.timedelta(days=1), kind


@pytest.mark.parametrize(
    "kind, quarters",
    [
        (
            "asp",
            [
                ("2025-01-01", "2025-03-31"),
                ("2025-04-01", "2025-06-30"),
                ("2025-07-01", "2025-09-30"),
                ("2025-10-01", "2025-12-31"),
                ("2026-01-01", "2026-03-31"),
            ],
        ),
        ("mue", [("2026-04-01", "2026-06-30")]),
        ("opps_b", [("2025-10-01", "2025-12-31")]),
        ("opps_cap", [("2025-01-01", "2025-12-31")]),
        ("asc_aa", [("2025-01-01", "2025-03-31")]),
        ("asc_bb", [("2025-01-01", "2025-03-31")]),
    ],
)
def test_quarterly_tables_cover_exactly_the_quarters_held(shipped, kind, quarters):
    spans = [(str(v.effective_from), str(v.effective_to)) for v in shipped.of_kind(kind)]
    assert spans == quarters


@pytest.mark.parametrize(
    "date, vintage",
    [
        ("2025-03-31", "ASP_2025Q1"),
        ("2025-04-01", "ASP_2025Q2"),
        ("2025-06-30", "ASP_2025Q2"),
        ("2025-07-01", "ASP_2025Q3"),
        ("2025-09-30", "ASP_2025Q3"),
        ("2025-10-01", "ASP_2025Q4"),
        ("2025-12-31", "ASP_2025Q4"),
        ("2026-01-01", "ASP_2026Q1"),
        ("2026-03-31", "ASP_2026Q1"),
    ],
)
def test_asp_quarter_in_force_on_each_side_of_its_edges(shipped, date, vintage):
    assert shipped.in_force("asp", dt.date.fromisoformat(date)).name == vintage


@pytest.mark.parametrize("date", ["2024-12-31", "2026-04-01"])
def test_no_asp_file_outside_the_quarters_held(shipped, date):
    from estimator.errors import InputError

    with pytest.raises(InputError, match="no Part B drug payment limits"):
        shipped.in_force("asp", dt.date.fromisoformat(date))


def test_conversion_factors(shipped):
    rvu = {v.name: v.source["conversion_factor"] for v in shipped.of_kind("pfs_rvu")}
    assert rvu == {"RVU25D": "32.3465", "RVU26C": "33.4009"}
    qp = "pfs/conversion_factor_qualifying_apm"
    assert parameter(qp, dt.date(2026, 1, 1)).value == Fraction("33.5675")
    assert parameter(qp, dt.date(2025, 12, 31)).value == Fraction("32.3465")


def test_golden_asp_payment_limits_q1_2026(shipped):
    """DOMAIN examples: J3301 0.741 per 10 mg, J1010 0.120, J1100 0.105, J0702 6.908, J0585 6.510."""
    asp = shipped.table(shipped.in_force("asp", dt.date(2026, 2, 1))).set_index("hcpcs")
    assert asp.loc[["J3301", "J1010", "J1100", "J0702", "J0585"], "payment_limit"].tolist() == [741, 120, 105, 6908, 6510]
    assert asp.loc["J3301", "dosage"] == "10 MG" and asp.loc["J3301", "description"] == "Triamcinolone acet inj nos"


def test_golden_opps_and_asc_rows(shipped):
    opps = shipped.table(shipped.in_force("opps_b", dt.date(2025, 11, 1))).set_index("hcpcs")
    assert opps.loc["20552", ["status_indicator", "apc", "relative_weight", "payment_rate"]].tolist() == [
        "T",
        "5441",
        33105,
        295190,
    ]
    assert opps.loc[["76942", "77002"], "status_indicator"].tolist() == ["N", "N"]
    aa = shipped.table(shipped.in_force("asc_aa", dt.date(2025, 2, 1))).set_index("hcpcs")
    assert aa.loc[["20552", "20553"], "payment_rate"].tolist() == [2717, 3170]
    assert set(aa.loc[["20552", "20553"], "payment_indicator"]) == {"P3"}


def test_no_cpt_or_cdt_descriptors_are_shipped(shipped):
    for v in shipped.vintages:
        table = pd.read_csv(v.folder / "table.csv", dtype=str, keep_default_na=False)
        if "description" in table:
            licensed = table["hcpcs"].str.match(r"[0-9D]")
            assert table.loc[licensed, "description"].eq("").all(), v.name


def test_parameters_are_dated_sourced_and_exact():
    assert len(parameter_names()) == 15
    for name in parameter_names():
        spec = yaml.safe_load((PARAMETERS / f"{name}.yaml").read_text())
        assert spec["description"], name
        for start, entry in spec["values"].items():
            assert isinstance(start, dt.date), name
            value = entry["value"]
            assert not isinstance(value, float), f"{name} {start}: write decimals as quoted text"
            if value is None:
                assert entry["note"], f"{name} {start}: a closed period says why"
            else:
                assert entry.get("reference") or spec.get("reference"), f"{name} {start} has no source"
                if entry.get("confirmed") is False:
                    assert entry["note"], name


def test_parameter_values_in_force():
    d26 = dt.date(2026, 6, 1)
    assert parameter("part_b/deductible", dt.date(2025, 12, 31)).value == 257
    assert parameter("part_b/deductible", dt.date(2026, 1, 1)).value == 283
    assert parameter("pfs/nonparticipating_rate", d26).value == Fraction(95, 100)
    assert parameter("pfs/limiting_charge_rate", d26).value == Fraction(115, 100)
    assert parameter("sequestration_rate", d26).value == Fraction(2, 100)
    assert parameter("part_b/coinsurance_rate", d26).value == Fraction(20, 100)


@needs_shared
def test_shipped_sources_match_the_cms_files(shipped):
    recipe = yaml.safe_load((SHIPPED / "recipe.yaml").read_text())
    by_name = {v.source["source_file"]: v for v in shipped.vintages}
    for entry in recipe:
        source = SHARED_CMS / entry["file"]
        assert hashlib.sha256(source.read_bytes()).hexdigest() == by_name[source.name].source["source_sha256"]


@pytest.mark.slow
@needs_shared
def test_shipped_tables_rebuild_identically_from_the_cms_files(tmp_path, shipped):
    recipe = yaml.safe_load((SHIPPED / "recipe.yaml").read_text())
    for entry in recipe:
        options = {k: entry[k] for k in ("effective_from", "effective_to", "vintage") if k in entry}
        import_files([SHARED_CMS / entry["file"]], tmp_path, note=entry.get("note", ""), origin=entry["origin"], **options)
    rebuilt = {(v.kind, v.name): v.source for v in FeeSchedules(roots=(tmp_path,)).vintages}
    assert rebuilt == {(v.kind, v.name): v.source for v in shipped.vintages}


@needs_shared
def test_2026_january_release_rows_equal_the_july_rows_shipped(shipped):
    """The recipe uses RVU26C for all of 2026 because the rows the product centres on are unchanged."""
    from estimator.cms_files import parse_table

    january = parse_table(SHARED_CMS / "2026" / "PPRRVU2026_Jan_nonQPP_EXCERPT.csv").table
    july = pd.read_csv(shipped.of_kind("pfs_rvu")[-1].folder / "table.csv", dtype=str, keep_default_na=False)
    merged = january.merge(july, on=["hcpcs", "modifier"], suffixes=("_jan", "_jul"))
    assert len(merged) == 21
    for column in ("work_rvu", "pe_rvu_nonfacility", "pe_rvu_facility", "mp_rvu", "status", "pctc", "mult_proc"):
        assert (merged[f"{column}_jan"] == merged[f"{column}_jul"]).all(), column
