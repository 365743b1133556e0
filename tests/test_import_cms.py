"""import-cms: official layouts in, a vintage out; every bad file named by row and column, nothing half-imported."""

import datetime as dt

from click.testing import CliRunner
from conftest import FIXTURES

from estimator.cli import main
from estimator.store import SHIPPED, FeeSchedules

BAD = FIXTURES / "hostile" / "cms"


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def stored(folder):
    return sorted(p.parent.name for p in folder.glob("tables/*/*/source.yaml"))


def test_one_bad_file_among_good_ones_imports_none(isolated_user_data):
    result = run("import-cms", FIXTURES / "pprrvu_2026_jan_subset.csv", BAD / "asp_negative_limit.csv")
    assert result.exit_code == 2 and stored(isolated_user_data) == []


def test_file_without_dates_asks_for_them(isolated_user_data):
    result = run("import-cms", FIXTURES / "opps_cap_no_dates.csv")
    assert result.exit_code == 2 and "--effective-from" in result.output
    result = run(
        "import-cms",
        FIXTURES / "opps_cap_no_dates.csv",
        "--effective-from",
        "2027-01-01",
        "--effective-to",
        "2027-12-31",
        "--vintage",
        "OPPSCAP_2027",
    )
    assert result.exit_code == 0, result.output
    assert stored(isolated_user_data) == ["OPPSCAP_2027"]


def test_imported_release_takes_over_from_its_effective_date(isolated_user_data):
    """A July release imported by a user wins from July 1 on; the shipped one still serves June."""
    result = run(
        "import-cms",
        FIXTURES / "pprrvu_2026_jan_subset.csv",
        "--effective-from",
        "2026-07-01",
        "--vintage",
        "RVU26X",
        "--note",
        "test",
    )
    assert result.exit_code == 0, result.output
    assert "stored RVU26X (PFS relative value file (PPRRVU), 8 rows, 2026-07-01 to 2026-12-31)" in result.output
    schedules = FeeSchedules(roots=(SHIPPED, isolated_user_data))
    assert schedules.in_force("pfs_rvu", dt.date(2026, 7, 1)).name == "RVU26X"
    assert schedules.in_force("pfs_rvu", dt.date(2026, 6, 30)).name == "RVU26C"
    again = run("import-cms", FIXTURES / "pprrvu_2026_jan_subset.csv", "--effective-from", "2026-07-01", "--vintage", "RVU26X")
    assert again.exit_code == 2 and "already stored" in again.output
    assert (
        run(
            "import-cms",
            FIXTURES / "pprrvu_2026_jan_subset.csv",
            "--effective-from",
            "2026-07-01",
            "--vintage",
            "RVU26X",
            "--replace",
        ).exit_code
        == 0
    )


def test_file_dates_are_read_from_the_file(isolated_user_data):
    result = run("import-cms", FIXTURES / "pprrvu_2026_jan_subset.csv", FIXTURES / "zip5_three_rows.txt")
    assert result.exit_code == 0, result.output
    assert "stored RVU26A" in result.output and "2026-01-01 to 2026-12-31" in result.output
    assert "stored ZIP5_2025Q4" in result.output and "2025-10-01 to 2025-12-31" in result.output


def test_descriptors_of_cpt_codes_are_dropped_on_import(isolated_user_data, tmp_path):
    source = (FIXTURES / "pprrvu_2026_jan_subset.csv").read_text().replace("20552,,,", "20552,,Some licensed text,")
    (tmp_path / "PPRRVU_with_text.csv").write_text(source)
    assert run("import-cms", tmp_path / "PPRRVU_with_text.csv").exit_code == 0
    assert "Some licensed text" not in next(isolated_user_data.glob("tables/pfs_rvu/*/table.csv")).read_text()


def test_xlsx_edition_reads_like_the_csv(isolated_user_data, tmp_path):
    """CMS also publishes PPRRVU as a workbook: the same rows give the same stored table."""
    import csv

    from openpyxl import Workbook

    workbook = Workbook()
    for row in csv.reader((FIXTURES / "pprrvu_2026_jan_subset.csv").read_text().splitlines()):
        workbook.active.append(row)
    workbook.save(tmp_path / "PPRRVU2026_Jan_nonQPP.xlsx")
    assert run("import-cms", FIXTURES / "pprrvu_2026_jan_subset.csv", "--vintage", "FROM_CSV").exit_code == 0
    assert run("import-cms", tmp_path / "PPRRVU2026_Jan_nonQPP.xlsx", "--vintage", "FROM_XLSX").exit_code == 0
    tables = [next(isolated_user_data.glob(f"tables/pfs_rvu/{name}/table.csv")).read_text() for name in ("FROM_CSV", "FROM_XLSX")]
    assert tables[0] == tables[1] and "20552" in tables[0]


def test_an_older_release_for_the_same_dates_does_not_replace_a_later_one(isolated_user_data):
    """Importing the January 2026 release (RVU26A) leaves the July release (RVU26C) in force, and says so."""
    result = run("import-cms", FIXTURES / "pprrvu_2026_jan_subset.csv")
    assert result.exit_code == 0 and "note: RVU26C (released 06/30/2026) stays in force from 2026-01-01" in result.output
    schedules = FeeSchedules(roots=(SHIPPED, isolated_user_data))
    assert schedules.in_force("pfs_rvu", dt.date(2026, 3, 2)).name == "RVU26C"
