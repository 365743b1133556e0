"""Every dashboard page through Streamlit's AppTest: the main path and one bad input each."""

import re
from pathlib import Path

from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).parent.parent


def page(name: str) -> AppTest:
    at = AppTest.from_string(
        f"import sys; sys.path.insert(0, {str(ROOT)!r})\nfrom ui import {name}\n{name}.page()", default_timeout=60
    )
    return at.run()


def texts(elements) -> str:
    """The text shown: Markdown escapes taken off (the dashboard escapes user text: ui.common.plain)."""
    return " | ".join(re.sub(r"\\(.)", r"\1", str(e.value)) for e in elements)


def test_app_opens_on_the_estimate_page():
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    assert not at.exception and at.header[0].value == "Estimate a trigger point session"


def test_estimate_main_path_and_sites():
    at = page("estimate")
    assert not at.exception and not at.error
    claim = at.dataframe[2].value  # muscles editor, drugs editor, then the claim
    assert list(claim["Code"][:3]) == ["20552", "J3301", ""] and claim["Allowed"][0] == "$47.25"
    assert [m.value for m in at.metric][:1] == ["$50.21"]  # 47.25 + 2.96
    sites = at.dataframe[3].value
    assert "ambulatory surgical center" in sites["site"].iloc[2]


def test_estimate_bad_input_is_inline():
    at = page("estimate")
    at.text_input(key="estimate-zip").set_value("35958").run()
    assert not at.exception and "split between Medicare localities" in texts(at.error)
    at.text_input(key="estimate-zip").set_value("35203").run()
    at.text_input(key="estimate-deductible").set_value("-5").run()
    assert "deductible" in texts(at.error)


def test_compare_main_path_and_code_list():
    at = page("compare")
    assert not at.exception and not at.error
    table = at.dataframe[0].value
    assert set(table["Payer"]) >= {"Medicare (traditional)", "Example Commercial PPO"}
    at.radio(key="compare-what").set_value("A list of codes").run()
    at.text_input(key="compare-codes").set_value("20552,99999").run()
    assert "99999: unknown code" in texts(at.error)


def test_forecast_main_path_and_bad_mix():
    at = page("forecast")
    assert not at.exception and not at.error
    assert "ALL" in set(at.dataframe[2].value["payer"])  # after the sessions and payer-mix tables
    text = at.text_area[0].value.replace("Medicare (traditional): '20'", "Medicare (traditional): '90'")
    at.text_area[0].set_value(text).run()
    assert "not 100%" in texts(at.error)


def test_fee_schedule_main_path_and_bad_code():
    at = page("fee_schedule")
    assert not at.exception and not at.error
    table = at.dataframe[0].value
    assert table[table["hcpcs"] == "20552"]["nonfacility_amount"].iloc[0] == "$47.25"
    causes = at.dataframe[1].value
    assert list(causes["amount"]) == ["$46.26", "$47.25", "$1.51", "-$0.67", "$0.15", "$0.00"]
    at.text_input(key="fs-codes").set_value("2055X").run()
    assert "not in the PFS relative value file: 2055X" in texts(at.error)


def test_payers_create_and_refuse_a_taken_name():
    at = page("payers")
    assert not at.exception
    at.text_input(key="c-name-(new payer)").set_value("=Formula Health").run()
    at.button(key="payers-save").click().run()
    assert "Saved =Formula Health" in texts(at.success)
    at = page("payers")
    at.text_input(key="c-name-(new payer)").set_value("Example Commercial PPO").run()
    at.button(key="payers-save").click().run()
    assert "already taken" in texts(at.error)


def test_payers_bad_percent_is_inline():
    at = page("payers")
    at.text_input(key="c-pct-(new payer)").set_value("-10").run()
    assert "is negative" in texts(at.error)


def test_data_page_lists_vintages():
    at = page("data")
    assert not at.exception
    assert "RVU26C" in list(at.dataframe[0].value["vintage"])


def test_estimate_builds_the_excel_model():
    at = page("estimate")
    at.button(key="estimate-build").click().run()
    assert not at.exception and not at.error
    assert at.session_state["estimate-model"][:2] == b"PK"


def test_a_damaged_database_is_a_message_on_every_page(tmp_path, monkeypatch):
    db = tmp_path / "damaged.sqlite3"
    db.write_bytes(b"this is not a database, " * 400)
    monkeypatch.setenv("TPI_ESTIMATOR_DB", str(db))
    for name in ("estimate", "compare", "forecast", "fee_schedule", "payers", "remittances", "data"):
        at = page(name)
        assert not at.exception, (name, at.exception)
        if name in ("compare", "forecast", "payers", "remittances"):
            assert "the practice database is damaged" in texts(at.error), name


def test_a_new_grid_row_without_a_side_does_not_lose_the_claim():
    at = page("estimate")
    # AppTest has no data-editor API: the grid's edits are set as Streamlit keeps them (a row added, no side)
    at.session_state["estimate-muscles"] = {"edited_rows": {}, "added_rows": [{"muscle": "rhomboid"}], "deleted_rows": []}
    at.run()
    assert not at.exception and not at.error
    assert "Pick a side for rhomboid" in texts(at.info)
    assert at.dataframe[2].value["Code"][0] == "20552"  # the claim is still there: 2 muscles


def test_the_excel_model_is_never_served_for_inputs_no_longer_on_screen():
    at = page("estimate")
    at.button(key="estimate-build").click().run()
    assert at.session_state["estimate-model"][:2] == b"PK"
    at.text_input(key="estimate-zip").set_value("36104").run()
    assert (
        "estimate-model" not in at.session_state
        and not at.get("download_button")
        or all(b.proto.label != "Download the Excel model" for b in at.get("download_button"))
    )


def test_payers_a_second_save_works_and_delete_asks_first():
    at = page("payers")
    at.text_input(key="c-name-(new payer)").set_value("Second Save Health").run()
    at.button(key="payers-save").click().run()
    assert not at.exception and "Saved Second Save Health" in texts(at.success)
    assert at.selectbox(key="payers-edit").value == "Second Save Health"
    assert "Second Save Health" in list(at.dataframe[0].value["payer"])
    at.text_input(key="c-pct-Second Save Health").set_value("140").run()
    at.button(key="payers-save").click().run()
    assert "Saved Second Save Health" in texts(at.success) and not at.error
    at.button(key="payers-delete").click().run()
    assert "Delete Second Save Health?" in texts(at.warning)
    assert "Second Save Health" in list(at.dataframe[0].value["payer"])  # nothing deleted yet
    at.button(key="payers-delete-yes").click().run()
    assert "Deleted Second Save Health" in texts(at.success)
    assert "Second Save Health" not in list(at.dataframe[0].value["payer"])


def test_payers_a_bad_field_keeps_the_buttons():
    at = page("payers")
    at.text_input(key="c-pct-(new payer)").set_value("abc").run()
    assert "is not a number" in texts(at.error)
    assert at.button(key="payers-save").disabled and len(at.get("download_button")) >= 1


def test_inputs_survive_a_round_trip_to_another_page():
    """Estimate -> Compare -> Estimate, as the app's navigation draws one page a run."""
    at = AppTest.from_string(
        f"import sys; sys.path.insert(0, {str(ROOT)!r})\n"
        "import streamlit as st\nfrom ui import compare, estimate\nfrom ui.common import keep_inputs\n"
        "keep_inputs()\n(compare if st.session_state.get('which') == 'compare' else estimate).page()",
        default_timeout=60,
    ).run()
    at.text_input(key="estimate-zip").set_value("36104").run()
    at.selectbox(key="estimate-guidance").set_value("ultrasound").run()
    at.session_state["which"] = "compare"
    at.run()
    assert not at.exception and at.header[0].value.startswith("Compare")
    at.session_state["which"] = "estimate"
    at.run()
    assert at.text_input(key="estimate-zip").value == "36104"
    assert at.selectbox(key="estimate-guidance").value == "ultrasound"


def test_a_payer_name_is_shown_as_text_never_as_a_link():
    at = page("payers")
    at.text_input(key="c-name-(new payer)").set_value("[click](http://evil.example)").run()
    at.button(key="payers-save").click().run()
    source = " | ".join(str(e.value) for e in at.success)  # the Markdown Streamlit renders
    assert "\\[click\\]\\(http\\://evil\\.example\\)" in source and "](http" not in source  # escaped: no link
    assert "Saved [click](http://evil.example)" in texts(at.success)  # and reads as typed


def test_a_locality_picked_by_name_is_used_and_said():
    at = page("estimate")
    at.selectbox(key="estimate-locality").set_value("13202-01").run()
    assert not at.exception and not at.error
    assert "Priced in MANHATTAN (NY, MAC 13202, locality 01); the ZIP code is not used." in texts(at.caption)
    claim = at.dataframe[2].value
    assert claim["Code"][0] == "20552" and claim["Allowed"][0] != "$47.25"  # Alabama's amount no longer


def test_every_date_says_which_cms_files_price_it():
    at = page("estimate")
    caption = texts(at.caption)
    # 2026-03-02: the 2026 PFS files are in force; no 2026 OPPS or ASC file is held, so the latest older ones stand in
    assert "Priced with RVU26C, GPCI2026, ZIP5_2026Q2, ASP_2026Q1, OPPS_B_2025Q4*, ASC_AA_2025Q1*" in caption
    assert "No file of that kind is held for 2026-03-02" in caption and "[What is held](/data)" in caption


def test_practice_settings_are_saved_and_checked():
    at = page("practice")
    assert not at.exception and "example settings" in texts(at.info)
    at.text_input(key="practice-name").set_value("Birmingham Pain Center").run()
    at.radio(key="practice-par").set_value("Non-participating").run()
    at.button(key="practice-save").click().run()
    assert "Saved Birmingham Pain Center" in texts(at.success)
    from estimator.db import Database

    saved = Database().practice()
    assert (saved.name, saved.participating, saved.zip_code, saved.example) == ("Birmingham Pain Center", False, "35203", False)
    at.text_input(key="practice-zip").set_value("99999").run()
    assert "ZIP code is not in the CMS ZIP5 file" in texts(at.error) and at.button(key="practice-save").disabled


def test_the_forecast_form_checks_the_payer_mix_where_it_is_typed():
    at = page("forecast")
    key = "forecast-form-(new)-0-mix"
    at.session_state[key] = {"edited_rows": {0: {"percent": 90.0}}, "added_rows": [], "deleted_rows": []}
    at.run()
    assert not at.exception
    assert "The payer mix adds up to" in texts(at.warning) and "not 100%" in texts(at.error)


def test_a_bookmarked_estimate_opens_with_its_inputs_and_the_url_follows_the_inputs():
    at = AppTest.from_string(
        f"import sys; sys.path.insert(0, {str(ROOT)!r})\nfrom ui import estimate\nestimate.page()", default_timeout=60
    )
    at.query_params["zip"] = "36104"
    at.query_params["guidance"] = "ultrasound"
    at.query_params["date"] = "2025-06-02"
    at.run()
    assert not at.exception
    assert at.text_input(key="estimate-zip").value == "36104" and at.selectbox(key="estimate-guidance").value == "ultrasound"
    assert str(at.date_input(key="estimate-date").value) == "2025-06-02"
    at.text_input(key="estimate-zip").set_value("35203").run()
    assert at.query_params["zip"] == ["35203"] or at.query_params["zip"] == "35203"


def test_remittances_page_shows_the_kept_payments(tmp_path):
    """A remittance kept from the command shows in the page's history scorecard (paid 140.52: the
    835's BPR02 for Medicare, tests/fixtures/x12/tpi_remittance.835)."""
    from click.testing import CliRunner

    from estimator.cli import main

    at = page("remittances")
    assert not at.exception and not at.error and at.header[0].value == "Remittances"
    x12 = ROOT / "tests" / "fixtures" / "x12"
    args = ["remittance", str(x12 / "tpi_remittance.835"), str(x12 / "tpi_claims.837"), "--output", str(tmp_path)]
    assert CliRunner().invoke(main, args).exit_code == 0
    at = page("remittances")
    card = at.dataframe[0].value.set_index("payer")
    assert not at.exception and card.loc["Medicare (traditional)", "paid"] == "$140.52"


def test_the_excel_model_takes_proposed_terms_or_says_why_not():
    from io import BytesIO

    from openpyxl import load_workbook

    at = page("estimate")
    at.text_area(key="estimate-proposals").set_value("Example Commercial PPO=130").run()
    at.button(key="estimate-build").click().run()
    assert not at.exception and not at.error
    payers = [c.value for c in load_workbook(BytesIO(at.session_state["estimate-model"]))["Payer comparison"]["A"]]
    assert "Example Commercial PPO (proposed)" in payers
    at.text_area(key="estimate-proposals").set_value("Medicare (traditional)=130").run()
    at.button(key="estimate-build").click().run()
    assert not at.exception and "Medicare (traditional) is paid by medicare" in texts(at.error)
    assert "estimate-model" not in at.session_state  # the model of other inputs is not served
