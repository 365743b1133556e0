"""import-cms: official layouts in, a vintage out; every bad file named by row and column, nothing half-imported."""

import csv
import datetime as dt
import io

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


def test_a_2024_rvu_file_prices_2024_dates_from_its_release(isolated_user_data):
    """RVU24B (PPRRVU24_APR.csv, "RELEASED 03/15/2024", CONV FACTOR 33.2875; CPT descriptors blanked):
    20552 national non-facility 1.58 RVUs x 33.2875 = 52.594... -> 52.59. The file is the April
    release, so it prices from April 1, 2024; the day before has no file."""
    result = run("import-cms", FIXTURES / "pprrvu_2024_apr_subset.csv")
    assert result.exit_code == 0 and "stored RVU24B" in result.output and "2024-04-01 to 2024-12-31" in result.output
    priced = run("fee-schedule", "--date", "2024-04-01", "--national", "--codes", "20552")
    assert priced.exit_code == 0, priced.output
    row = dict(zip(*list(csv.reader(io.StringIO(priced.stdout)))[:2], strict=True))
    assert (row["nonfacility_amount"], row["facility_amount"], row["rvu_release"]) == ("52.59", "36.62", "RVU24B")  # 1.10 x CF
    before = run("fee-schedule", "--date", "2024-03-31", "--national", "--codes", "20552")
    assert before.exit_code == 2 and "no PFS relative value file (PPRRVU) is loaded for 2024-03-31" in before.output


def test_a_gpci_file_given_dates_prices_a_locality_in_that_year(isolated_user_data):
    """No CY2024 GPCI file is held: the CY2025 Addendum E (an Excel-style copy: "1", "0" for 1.000, 00) is
    imported for 2024 dates with explicit dates and name, to show the importer and the in-force choice.
    Alabama 2025 GPCIs 1.000 / 0.869 / 0.575 with the RVU24B row of 20552 (0.66, 0.84, 0.08) at 33.2875:
    (0.66 + 0.72996 + 0.046) x 33.2875 = 47.7995... -> 47.80."""
    assert run("import-cms", FIXTURES / "pprrvu_2024_apr_subset.csv").exit_code == 0
    result = run(
        "import-cms",
        FIXTURES / "gpci_2025_excerpt.csv",
        "--effective-from",
        "2024-01-01",
        "--effective-to",
        "2024-12-31",
        "--vintage",
        "GPCI2025_FOR_2024",
        "--note",
        "CY2025 values standing in for 2024",
    )
    assert result.exit_code == 0, result.output
    priced = run("fee-schedule", "--date", "2024-05-01", "--locality", "10112-00", "--codes", "20552")
    row = dict(zip(*list(csv.reader(io.StringIO(priced.stdout)))[:2], strict=True))
    assert (row["nonfacility_amount"], row["gpci_release"], row["pe_gpci"]) == ("47.80", "GPCI2025_FOR_2024", "0.869")
