"""Forecast revenue: volumes, payer mix, growth, scenarios -> monthly chart, table and waterfall."""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st
import yaml

from estimator.contracts import Contract, Practice
from estimator.forecast import parse_scenarios, run, summary
from ui.common import database, downloads, plain, plain_errors, schedules, show_money

MONEY = [
    "billed_charges",
    "allowed",
    "patient_responsibility",
    "payer_payment",
    "denied",
    "at_risk_frequency",
    "at_risk_coverage",
    "expected_collections",
]


def default_scenario(payers: list[str]) -> str:
    mix = dict.fromkeys(payers, 0)
    share = 100 // len(payers) if payers else 0
    for p in payers:
        mix[p] = share
    if payers:
        mix[payers[0]] += 100 - share * len(payers)
    data = {
        "name": "Current contracts",
        "start": "2026-01",
        "months": 12,
        "sessions_per_patient_per_year": 3,
        "growth_percent_per_month": "1",
        "templates": [
            {
                "name": "20552 + triamcinolone 40 mg",
                "sessions_per_month": 40,
                "session": {"muscle_count": 2, "drugs": ["triamcinolone:40mg"], "diagnoses": ["M79.18"]},
            },
            {
                "name": "20553 + ultrasound + E/M-25",
                "sessions_per_month": 10,
                "session": {
                    "muscle_count": 4,
                    "guidance": "ultrasound",
                    "em_code": "99213",
                    "em_separately_identifiable": True,
                    "diagnoses": ["M79.18"],
                },
            },
        ],
        "payer_mix": mix,
        "denial_rate_percent": {},
        "scenarios": [{"name": "CF what-if 32.0000", "conversion_factor": "32.0000"}],
    }
    return yaml.safe_dump(data, sort_keys=False)


@st.cache_data(show_spinner="Pricing the forecast…", hash_funcs={Contract: repr, Practice: repr})
def forecast_table(scenarios, contracts: tuple, practice) -> pd.DataFrame:
    return run(schedules(), list(scenarios), list(contracts), practice)


def page() -> None:
    st.header("Forecast revenue")
    with plain_errors():
        db = database()
        contracts, practice = db.contracts(), db.practice()
        saved = db.scenarios()
        choice = st.selectbox("Scenario file", ["(new)"] + list(saved), key="forecast-saved")
        text = (
            yaml.safe_dump(saved[choice], sort_keys=False) if choice in saved else default_scenario([c.payer for c in contracts])
        )
        text = st.text_area(
            "Scenario (YAML: templates, volumes, payer mix in %, growth, seasonality, scenarios)",
            text,
            height=320,
            key=f"forecast-text-{choice}",
        )
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as error:
            st.error(plain(f"The scenario is not valid YAML: {error}"))
            return
        scenarios = parse_scenarios(data)
        table = forecast_table(scenarios, tuple(contracts), practice)
        name = st.text_input("Save as", scenarios[0].name, key="forecast-save-name")
        if st.button("Save scenario", key="forecast-save"):
            db.save_scenario(name, data)
            st.success(plain(f"Saved {name}"))
        totals = summary(table)
        st.subheader("Totals")
        st.caption("Each month is priced with the CMS files in force on the 15th (see the Data page for releases and dates).")
        st.dataframe(show_money(totals, MONEY), hide_index=True, width="stretch")
        monthly = table.groupby(["scenario", "month"], sort=False)["expected_collections"].sum().reset_index()
        monthly["expected_collections"] = monthly["expected_collections"].astype(float)
        st.altair_chart(
            alt.Chart(monthly)
            .mark_line(point=True)
            .encode(
                x=alt.X("month:N", title=None),
                y=alt.Y("expected_collections:Q", title="Expected collections ($)"),
                color="scenario:N",
                tooltip=["scenario", "month", alt.Tooltip("expected_collections:Q", format="$,.0f")],
            ),
            width="stretch",
        )
        st.subheader(f"Waterfall: {scenarios[0].name}")
        st.altair_chart(
            waterfall(totals[(totals["scenario"] == scenarios[0].name) & (totals["payer"] == "ALL")].iloc[0]), width="stretch"
        )
        st.subheader("Monthly by payer")
        st.dataframe(show_money(table, MONEY), hide_index=True, width="stretch")
        downloads(table, "forecast", "forecast")


def waterfall(row: pd.Series) -> alt.Chart:
    """Billed -> allowed -> patient share -> sequestration and denials -> expected collections."""
    billed, allowed = float(row["billed_charges"]), float(row["allowed"])
    at_risk = float(row["denied"] + row["at_risk_frequency"])
    collected, patient = float(row["expected_collections"]), float(row["patient_responsibility"])
    steps = [
        ("Billed charges", 0, billed),
        ("Contractual adjustment", allowed, billed),
        ("Allowed", 0, allowed),
        ("Denied and over frequency limits", allowed - at_risk, allowed),
        ("Sequestration", collected, allowed - at_risk),
        ("Patient share", collected - patient, collected),
        ("Payer payments", 0, collected - patient),
        ("Expected collections", 0, collected),
    ]
    frame = pd.DataFrame(steps, columns=["step", "start", "end"]).reset_index()
    return (
        alt.Chart(frame)
        .mark_bar()
        .encode(
            x=alt.X("step:N", sort=list(frame["step"]), title=None),
            y=alt.Y("start:Q", title="$"),
            y2="end:Q",
            tooltip=["step", alt.Tooltip("start:Q", format="$,.0f"), alt.Tooltip("end:Q", format="$,.0f")],
        )
    )
