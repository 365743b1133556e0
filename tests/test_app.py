"""The dashboard through Streamlit's AppTest: main path and one bad input per page."""

from pathlib import Path

from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).parent.parent / "app.py")


def test_fee_schedule_page_shows_amounts_for_a_zip():
    at = AppTest.from_file(APP, default_timeout=30).run()
    assert not at.exception
    table = at.dataframe[0].value
    row = table[table["hcpcs"] == "20552"].iloc[0]
    assert row["nonfacility_amount"] == "47.25" and row["facility_amount"] == "33.22"


def test_fee_schedule_page_reports_a_split_zip_inline():
    at = AppTest.from_file(APP, default_timeout=30).run()
    at.text_input[0].set_value("35958").run()
    assert not at.exception
    assert "split between Medicare localities" in at.error[0].value


def test_data_page_lists_the_vintages():
    at = AppTest.from_file(APP, default_timeout=30).run()
    at.sidebar.radio[0].set_value("Data").run()
    assert not at.exception
    assert "RVU26C" in at.dataframe[0].value["vintage"].tolist()
