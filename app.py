"""Streamlit dashboard: a thin shell over the estimator core (streamlit run app.py)."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import streamlit as st

from estimator.errors import InputError
from estimator.pfs import price, published, resolve_locality
from estimator.store import FeeSchedules

st.set_page_config(page_title="TPI reimbursement estimator", layout="wide")


@st.cache_resource
def schedules() -> FeeSchedules:
    return FeeSchedules()


@st.cache_data
def fee_schedule(day: dt.date, zip_code: str, locality: str, codes: tuple[str, ...], cf_track: str, floor: str):
    lib = schedules()
    where = "national"
    if zip_code or locality:
        where = [resolve_locality(lib, day, zip_code=zip_code or None, locality=locality or None)]
    override = None if floor == "dated rule" else floor == "on"
    frame, basis = price(lib, day, codes=list(codes), localities=where, cf_track=cf_track, work_gpci_floor=override)
    return published(frame, basis), basis.notes()


def fee_schedule_page() -> None:
    st.header("Medicare fee schedule")
    left, middle, right = st.columns(3)
    day = left.date_input("Date of service", dt.date(2026, 3, 2), min_value=dt.date(2025, 1, 1), max_value=dt.date(2026, 12, 31))
    zip_code = middle.text_input("ZIP code", "35203", help="Mapped to its Medicare locality with the CMS ZIP5 file.")
    locality = right.text_input("or carrier-locality", "", help="e.g. 10112-00; leave both empty for national amounts.")
    codes = st.text_input("HCPCS codes (comma-separated)", "20552,20553,76942,77002,99213")
    cf_track = left.selectbox("Conversion factor", ["standard", "qualifying_apm"],
                              format_func=lambda t: "Standard" if t == "standard" else "Qualifying APM participant")  # fmt: skip
    floor = middle.selectbox("Work GPCI 1.0 floor", ["dated rule", "on", "off"])
    try:
        table, notes = fee_schedule(day, zip_code.strip(), locality.strip(), tuple(c.strip() for c in codes.split(",") if c.strip()), cf_track, floor)
    except InputError as error:
        st.error(str(error))
        return
    for note in notes:
        st.info(note)
    shown = ["hcpcs", "modifier", "status", "nonfacility_amount", "facility_amount", "nonfacility_nonpar_amount",
             "facility_nonpar_amount", "nonfacility_limiting_charge", "facility_limiting_charge",
             "nonfacility_payment", "facility_payment", "status_reason"]  # fmt: skip
    st.caption(f"Locality {table['carrier'].iloc[0] or 'national'} {table['locality'].iloc[0]} {table['locality_name'].iloc[0]} · "
               f"RVUs {table['rvu_release'].iloc[0]} · GPCIs {table['gpci_release'].iloc[0]} · CF {table['conversion_factor'].iloc[0]}")  # fmt: skip
    st.dataframe(table[shown], hide_index=True, use_container_width=True)
    st.download_button("Download CSV", table.to_csv(index=False).encode(), "fee_schedule.csv", "text/csv")


def data_page() -> None:
    st.header("CMS data loaded")
    rows = [{"kind": v.kind, "vintage": v.name, "from": v.effective_from, "to": v.effective_to,
             "source file": v.source["source_file"], "sha256": v.source["source_sha256"][:16] + "…",
             "where": "shipped" if v.shipped else "imported", "note": v.source.get("note", "")}
            for v in schedules().vintages]  # fmt: skip
    st.dataframe(pd.DataFrame(rows), hide_index=True, use_container_width=True)
    st.caption("Add a CMS release with `python -m estimator import-cms FILE`.")


page = st.sidebar.radio("Page", ["Fee schedule", "Data"])
{"Fee schedule": fee_schedule_page, "Data": data_page}[page]()
