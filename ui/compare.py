"""Compare payers for the session on the Estimate page, or for a list of codes."""

from __future__ import annotations

import altair as alt
import streamlit as st

from estimator.compare import codes_item, compare, session_item
from estimator.session import Session
from ui.common import (
    HELP,
    column_help,
    database,
    date_input,
    downloads,
    in_words,
    model_download,
    plain,
    plain_errors,
    schedules,
    show_money,
)

DEFAULT_SESSION = {
    "date_of_service": "2026-03-02",
    "zip_code": "35203",
    "muscle_count": 2,
    "guidance": "ultrasound",
    "drugs": ["triamcinolone:40mg"],
    "diagnoses": ["M79.18"],
}


def page() -> None:
    st.header("Compare payers")
    with plain_errors():
        db = database()
        contracts, practice = db.contracts(), db.practice()
        what = st.radio("Compare", ["The session on the Estimate page", "A list of codes"], horizontal=True, key="compare-what")
        chosen = st.multiselect(
            "Payers", [c.payer for c in contracts], default=[c.payer for c in contracts], key="compare-payers"
        )
        data = st.session_state.get("session", DEFAULT_SESSION)
        if what == "A list of codes":
            codes = st.text_input("HCPCS codes", "20552,76942", key="compare-codes")
            day = date_input("compare-date")
            where = {k: v for k, v in (("zip_code", practice.zip_code), ("locality", practice.locality)) if v}
            session = Session.from_dict({"date_of_service": day.isoformat(), "muscle_count": 1} | where)
            item = codes_item([c for c in codes.split(",") if c.strip()], session)
        else:
            session = Session.from_dict(data)
            item = session_item(schedules(), session)
            st.caption(f"Session of {session.date_of_service}: change it on the Estimate page.")
        totals, lines = compare(schedules(), [item], [c for c in contracts if c.payer in chosen], practice)
        releases = sorted({part for text in lines["release"] for part in str(text).split("/") if part})
        st.caption(f"CMS releases used: {', '.join(releases)}")
        money = [
            "allowed",
            "patient_share",
            "payer_payment",
            "sequestration",
            "expected",
            "collected",
            "cost",
            "margin",
            "difference_to_best",
        ]
        cash = [c.payer for c in contracts if c.payer in chosen and c.kind.value == "self_pay" and c.collection_percent == 100]
        if cash:
            st.info(
                plain(
                    f"{', '.join(cash)}: every cash charge is assumed collected. Set the payer's collection rate on the Payers page."
                )
            )
        if not (practice.session_cost or practice.drug_costs):
            st.caption(
                "Cost and margin count no cost yet: enter the cost of a session and of each drug on the Practice settings page."
            )
        shown = in_words(show_money(totals[["rank", "payer", "kind"] + money + ["percent_of_medicare"]], money))
        st.dataframe(
            shown,
            hide_index=True,
            width="stretch",
            column_config=column_help(shown)
            | {"% of Medicare": st.column_config.NumberColumn(format="%.1f%%", help=HELP["% of Medicare"])},
        )
        chart = totals.melt(id_vars="payer", value_vars=["allowed", "expected"], var_name="amount", value_name="dollars")
        chart["dollars"] = chart["dollars"].astype(float)
        st.altair_chart(
            alt.Chart(chart)
            .mark_bar()
            .encode(
                x=alt.X("dollars:Q", title="$"),
                y=alt.Y("payer:N", sort="-x", title=None, axis=alt.Axis(labelLimit=260)),
                color="amount:N",
                yOffset="amount:N",
                tooltip=["payer", "amount", alt.Tooltip("dollars:Q", format="$,.2f")],
            ),
            width="stretch",
        )
        for row in totals.itertuples():
            if row.reasons or row.warnings:
                st.markdown(f"**{plain(row.payer)}**: {plain(row.reasons)} {plain(row.warnings)}")
        with st.expander("Every payer's claim lines"):
            st.dataframe(
                in_words(
                    show_money(
                        lines[["payer", "code", "modifiers", "units", "allowed", "patient_share", "edit", "reason"]],
                        ["allowed", "patient_share"],
                    )
                ),
                hide_index=True,
            )
        downloads(lines, "payer_comparison", "compare")
        if what != "A list of codes":
            model_download(session, "compare")
