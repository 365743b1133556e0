"""Estimate a session: inputs -> claim lines with reasons, warnings, patient share, net, sites side by side."""

from __future__ import annotations

import datetime as dt

import altair as alt
import pandas as pd
import streamlit as st

from estimator.session import Session, estimate
from ui.common import (
    column_help,
    database,
    date_input,
    downloads,
    in_words,
    location_inputs,
    model_download,
    plain,
    plain_errors,
    schedules,
    show_money,
)

POS = {
    "11": "Office (11)",
    "22": "Hospital outpatient, on campus (22)",
    "19": "Hospital outpatient, off campus (19)",
    "24": "Ambulatory surgical center (24)",
}
MONEY = ["allowed", "patient_share", "payer_payment", "sequestration", "expected_to_provider"]


def cell(value) -> str:
    """A grid cell as text: a new row's empty cells (None or NaN) are blank, never "nan"."""
    return "" if value is None or (not isinstance(value, str) and pd.isna(value)) else str(value).strip()


def session_inputs() -> dict:
    """The session form; returns data for Session.from_dict."""
    left, right = st.columns(2)
    with left:
        day = date_input("estimate-date")
        place = st.selectbox("Place of service", list(POS), format_func=POS.get, key="estimate-pos")
        zip_code, locality = location_inputs("estimate")
        participating = st.radio("Provider", ["Participating", "Non-participating"], horizontal=True, key="estimate-par")
        cf_track = st.radio(
            "Conversion factor",
            ["standard", "qualifying_apm"],
            horizontal=True,
            key="estimate-cf",
            format_func=lambda t: "Standard" if t == "standard" else "Qualifying APM participant",
        )
    with right:
        by_name = st.toggle(
            "Name the muscles",
            value=True,
            key="estimate-by-name",
            help="Left and right of one muscle count as two; the number of injections never changes the code.",
        )
        data = {}
        if by_name:
            muscles = st.data_editor(
                pd.DataFrame({"muscle": ["trapezius", "levator scapulae"], "side": ["left", "left"]}),
                num_rows="dynamic",
                key="estimate-muscles",
                column_config={"side": st.column_config.SelectboxColumn(options=["left", "right", "midline"])},
            )
            rows = [(cell(m), cell(s)) for m, s in zip(muscles["muscle"], muscles["side"], strict=True)]
            data["muscles"] = [{"muscle": m, "side": s} for m, s in rows if m and s]
            waiting = [m for m, s in rows if m and not s]
            if waiting:
                st.info(plain(f"Pick a side for {', '.join(waiting)}: a muscle counts once its side is chosen."))
        else:
            data["muscle_count"] = int(st.number_input("Distinct muscles", value=2, step=1, key="estimate-count"))
        data["injections"] = int(
            st.number_input("Injections (recorded only)", min_value=1, value=6, step=1, key="estimate-injections")
        )
        data["guidance"] = st.selectbox("Imaging guidance", ["none", "ultrasound", "fluoroscopy"], key="estimate-guidance")
    st.markdown("**Drugs** (dose per session; waste only from a single-dose vial)")
    drugs = st.data_editor(
        pd.DataFrame({"drug": ["triamcinolone", "lidocaine"], "dose": ["40", "2"], "unit": ["mg", "ml"], "wasted": ["0", "0"]}),
        num_rows="dynamic",
        key="estimate-drugs",
    )
    rows = [tuple(map(cell, row)) for row in drugs[["drug", "dose", "unit", "wasted"]].itertuples(index=False)]
    data["drugs"] = [{"drug": d, "dose": dose, "unit": u, "wasted": w or "0"} for d, dose, u, w in rows if d and dose]
    waiting = [d for d, dose, _, _ in rows if d and not dose]
    if waiting:
        st.info(plain(f"Give a dose for {', '.join(waiting)}: a drug counts once its dose is given."))
    left, middle, right = st.columns(3)
    em = left.selectbox(
        "Same-day E/M",
        ["none", "99202", "99203", "99204", "99205", "99211", "99212", "99213", "99214", "99215"],
        key="estimate-em",
    )
    separate = left.checkbox("Significant and separately identifiable (modifier 25)", key="estimate-em25")
    diagnoses = middle.text_input("ICD-10-CM diagnoses", "M79.18, M54.2", key="estimate-dx")
    repeat = middle.selectbox("Repeat session", ["no", "same_physician", "another_physician"], key="estimate-repeat")
    prior = right.text_input("Prior TPI dates (YYYY-MM-DD, comma-separated)", "", key="estimate-prior")
    deductible = right.text_input("Patient's remaining Part B deductible ($)", "0", key="estimate-deductible")
    return data | {
        "date_of_service": day.isoformat(),
        "place_of_service": place,
        "zip_code": zip_code,
        "locality": locality,
        "participating": participating == "Participating",
        "cf_track": cf_track,
        "em_code": None if em == "none" else em,
        "em_separately_identifiable": separate,
        "diagnoses": [d.strip() for d in diagnoses.split(",") if d.strip()],
        "repeat": None if repeat == "no" else repeat,
        "prior_sessions": [d.strip() for d in prior.split(",") if d.strip()],
        "deductible_remaining": deductible.strip() or None,
    }


BOOKMARKED = {  # query-string name: (widget key, text to widget value, widget value to text)
    "date": ("estimate-date", dt.date.fromisoformat, str),
    "pos": ("estimate-pos", str, str),
    "zip": ("estimate-zip", str, str),
    "locality": ("estimate-locality", str, str),
    "guidance": ("estimate-guidance", str, str),
    "em": ("estimate-em", str, str),
    "em25": ("estimate-em25", lambda t: t == "1", lambda v: "1" if v else "0"),
    "dx": ("estimate-dx", str, str),
}


def from_bookmark() -> None:
    """A bookmarked view (the page's query string) fills the inputs it names, once, before they are drawn."""
    if st.session_state.get("estimate-bookmark-read"):
        return
    st.session_state["estimate-bookmark-read"] = True
    for name, (key, parse, _) in BOOKMARKED.items():
        if name in st.query_params and key not in st.session_state:
            try:
                st.session_state[key] = parse(st.query_params[name])
            except ValueError:
                continue  # a mistyped bookmark keeps the default


def to_bookmark() -> None:
    """The inputs shown, in the query string, so the view can be bookmarked or shared."""
    st.query_params.from_dict(
        {name: show(st.session_state[key]) for name, (key, _, show) in BOOKMARKED.items() if key in st.session_state}
    )


def page() -> None:
    st.header("Estimate a trigger point session")
    from_bookmark()
    data = session_inputs()
    st.session_state["session"] = data
    to_bookmark()
    with plain_errors():
        claim = estimate(schedules(), Session.from_dict(data), practice=database().practice())
        st.subheader("Claim")
        st.caption(f"{claim.setting} · locality {claim.locality} · {data['date_of_service']}")
        totals = claim.totals()
        cols = st.columns(5)
        for col, (label, key) in zip(
            cols,
            [
                ("Allowed", "allowed"),
                ("Patient share", "patient_share"),
                ("Medicare pays (before sequestration)", "payer_payment"),
                ("Sequestration", "sequestration"),
                ("Expected to practice", "expected_to_provider"),
            ],
            strict=True,
        ):
            col.metric(label, f"${totals[key]}")
        lines = claim.to_frame()
        shown = in_words(
            show_money(lines[["code", "modifiers", "units", "biller"] + MONEY + ["edit", "reason", "release"]], MONEY)
        )
        st.dataframe(shown, hide_index=True, width="stretch", column_config=column_help(shown))
        for warning in claim.warnings:
            st.warning(plain(warning))
        for note in claim.notes:
            st.info(plain(note))
        st.subheader("Same session by site of service")
        sites = pd.DataFrame(claim.sites)
        st.dataframe(
            show_money(
                sites,
                [
                    "physician_allowed",
                    "facility_allowed",
                    "total_allowed",
                    "patient_share",
                    "medicare_payment_after_sequestration",
                ],
            ),
            hide_index=True,
            width="stretch",
        )
        chart = sites.melt(
            id_vars="site", value_vars=["physician_allowed", "facility_allowed"], var_name="paid to", value_name="amount"
        )
        chart["amount"] = chart["amount"].astype(float)
        st.altair_chart(
            alt.Chart(chart)
            .mark_bar()
            .encode(
                x=alt.X("amount:Q", title="Allowed ($)"),
                y=alt.Y("site:N", title=None),
                color="paid to:N",
                tooltip=["site", "paid to", alt.Tooltip("amount:Q", format="$,.2f")],
            ),
            width="stretch",
        )
        downloads(lines, "tpi_claim", "estimate")
        model_download(claim.session, "estimate")
