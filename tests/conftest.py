import datetime as dt
from pathlib import Path

import pytest

from estimator.store import SHIPPED, FeeSchedules

HERE = Path(__file__).parent
FIXTURES = HERE / "fixtures"
SHARED_CMS = HERE.parent.parent / "shared" / "cms"


@pytest.fixture(autouse=True)
def isolated_user_data(tmp_path, monkeypatch):
    """Every test gets an empty user data folder and its own practice database, so a developer's own
    imports and saved payers never leak in and are never written to."""
    folder = tmp_path / "user-data"
    monkeypatch.setenv("TPI_ESTIMATOR_DATA", str(folder))
    monkeypatch.setenv("TPI_ESTIMATOR_DB", str(tmp_path / "practice.sqlite3"))
    return folder


@pytest.fixture(scope="session")
def shipped():
    return FeeSchedules(roots=(SHIPPED,))


def day(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


needs_shared = pytest.mark.skipif(not SHARED_CMS.is_dir(), reason="../shared/cms is not present")


def pytest_addoption(parser):
    parser.addoption(
        "--full",
        action="store_true",
        help="also run the slow tests (browser, LibreOffice, Dask, Excel recalculation, lint and types); CI runs them all",
    )


def pytest_collection_modifyitems(config, items):
    if config.getoption("--full"):
        return
    skip = pytest.mark.skip(reason="slow: run with --full")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)
