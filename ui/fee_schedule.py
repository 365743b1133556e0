"""Fee schedule lookup: any code, locality and year; the RVUs and GPCIs behind it; 2025 -> 2026 causes."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import streamlit as st

from estimator.pfs import change_causes, price, published, resolve_locality
from ui.common import date_input, dollars, downloads, location_inputs, plain, plain_errors, schedules, show_money


@st.cache_data(show_spinner=False)
def lookup(day: dt.date, zip_code, locality, codes: tuple[str, ...], cf_track: str, floor: str):
    lib = schedules()
    where = [resolve_locality(lib, day, zip_code=zip_code, locality=locality)] if (zip_code or locality) else "national"
    override = None if floor == "dated rule" else floor == "on"
    frame, basis = price(lib, day, codes=list(codes), localities=where, cf_track=cf_track, work_gpci_floor=override)
    return published(frame, basis), basis.notes()


def page() -> None:
    st.header("Medicare fee schedule")
    left, right = st.columns(2)
    with left:
        day = date_input("fs-date")
        codes = st.text_input("HCPCS codes (comma-separated)", "20552,20553,76942,77002,99213", key="fs-codes")
    with right:
        zip_code, locality = location_inputs("fs")
        cf_track = st.selectbox(
            "Conversion factor",
            ["standard", "qualifying_apm"],
            key="fs-cf",
            format_func=lambda t: "Standard" if t == "standard" else "Qualifying APM participant",
        )
        floor = st.selectbox("Work GPCI 1.0 floor", ["dated rule", "on", "off"], key="fs-floor")
    setting = st.radio(
        "Show",
        ["nonfacility", "facility"],
        horizontal=True,
        key="fs-setting",
        format_func=lambda s: "Office (non-facility)" if s == "nonfacility" else "Facility",
    )
    with plain_errors():
        table, notes = lookup(day, zip_code, locality, tuple(c.strip() for c in codes.split(",") if c.strip()), cf_track, floor)
        for note in notes:
            st.info(plain(note))
        first = table.iloc[0]
        st.caption(
            f"Locality {first['carrier'] or 'national'} {first['locality']} {first['locality_name']} · RVUs {first['rvu_release']}"
            f" · GPCIs {first['gpci_release']} (work {first['work_gpci']}, PE {first['pe_gpci']}, MP {first['mp_gpci']};"
            f" floor {first['work_gpci_floor']}) · CF {first['conversion_factor']}"
        )
        money = [f"{setting}_amount", f"{setting}_nonpar_amount", f"{setting}_limiting_charge", f"{setting}_payment"]
        shown = table[
            ["hcpcs", "modifier", "status"] + money + ["work_rvu", f"pe_rvu_{setting}", "mp_rvu", "global_days", "status_reason"]
        ]
        st.dataframe(show_money(shown, money), hide_index=True, width="stretch")
        downloads(table, "fee_schedule", "fs")
        st.subheader("2025 to 2026: what changed")
        code = st.selectbox(
            "Code",
            sorted(set(table["hcpcs"] + ("-" + table["modifier"]).where(table["modifier"] != "", ""))),
            key="fs-change-code",
        )
        where = resolve_locality(schedules(), day, zip_code=zip_code, locality=locality) if (zip_code or locality) else ("", "")
        causes = change_causes(schedules(), code, where, setting, day.replace(year=2025), day.replace(year=2026))
        st.dataframe(
            pd.DataFrame([{"step": k.replace("_", " "), "amount": dollars(v)} for k, v in causes.items()]), hide_index=True
        )
