"""Forecast revenue: volumes, payer mix, growth, scenarios -> monthly chart, table and waterfall."""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st
import yaml

from estimator.contracts import Contract, Practice
from estimator.errors import InputError
from estimator.forecast import parse_scenarios, run, summary
from estimator.textio import load_yaml
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
    "collected",
    "cost",
    "margin",
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


GUIDANCE = ["none", "ultrasound", "fluoroscopy"]


def scenario_form(data: dict, key: str, payers: list[str]) -> dict:
    """The base scenario as widgets and tables (the YAML stays one click away); returns scenario data."""
    left, middle, right = st.columns(3)
    out = dict(data)
    out["name"] = left.text_input("Scenario name", str(data.get("name", "current")), key=f"{key}-name")
    out["start"] = left.text_input("First month (YYYY-MM)", str(data.get("start", "2026-01")), key=f"{key}-start")
    out["months"] = int(middle.number_input("Months", 1, 120, int(data.get("months", 12)), key=f"{key}-months"))
    out["growth_percent_per_month"] = middle.text_input(
        "Growth per month (%)", str(data.get("growth_percent_per_month", "0")), key=f"{key}-growth", help="-100 to 100"
    )
    out["sessions_per_patient_per_year"] = right.text_input(
        "Sessions a patient has a year",
        str(data.get("sessions_per_patient_per_year", "3")),
        key=f"{key}-per-patient",
        help="Drives the deductible (first sessions of the year) and the frequency limits.",
    )
    st.markdown("**Sessions by kind** (one row each)")
    rows = [
        {
            "name": t.get("name", ""),
            "sessions_per_month": str(t.get("sessions_per_month", "")),
            "muscles": int(t.get("session", {}).get("muscle_count", 1)),
            "guidance": t.get("session", {}).get("guidance", "none"),
            "em_code": t.get("session", {}).get("em_code") or "",
            "em_25": bool(t.get("session", {}).get("em_separately_identifiable", False)),
            "drugs": ", ".join(t.get("session", {}).get("drugs", [])),
        }
        for t in data.get("templates", [])
    ]
    templates = st.data_editor(
        pd.DataFrame(rows, columns=["name", "sessions_per_month", "muscles", "guidance", "em_code", "em_25", "drugs"]),
        num_rows="dynamic",
        key=f"{key}-templates",
        width="stretch",
        column_config={
            "sessions_per_month": st.column_config.TextColumn("Sessions a month"),
            "muscles": st.column_config.NumberColumn("Muscles", min_value=1, max_value=100, step=1),
            "guidance": st.column_config.SelectboxColumn("Guidance", options=GUIDANCE),
            "em_code": st.column_config.TextColumn("Same-day E/M"),
            "em_25": st.column_config.CheckboxColumn("E/M-25"),
            "drugs": st.column_config.TextColumn("Drugs (e.g. triamcinolone:40mg)"),
        },
    )
    out["templates"] = [
        {
            "name": str(r["name"]),
            "sessions_per_month": str(r["sessions_per_month"]),
            "session": {
                "muscle_count": int(r["muscles"]) if not pd.isna(r["muscles"]) else 1,
                "guidance": r["guidance"] if r["guidance"] in GUIDANCE else "none",
                "em_code": str(r["em_code"]).strip() or None if not pd.isna(r["em_code"]) else None,
                "em_separately_identifiable": bool(r["em_25"]) if not pd.isna(r["em_25"]) else False,
                "drugs": [d.strip() for d in str(r["drugs"] or "").split(",") if d.strip() and d.strip() != "nan"],
            },
        }
        for r in templates.to_dict("records")
        if str(r["name"] or "").strip() and str(r["name"]) != "nan"
    ]
    st.markdown("**Payer mix** (% of sessions; must add up to 100)")
    mix = data.get("payer_mix", {})
    shares = st.data_editor(
        pd.DataFrame({"payer": payers, "percent": [float(mix.get(p, 0)) for p in payers]}),
        key=f"{key}-mix",
        disabled=["payer"],
        hide_index=True,
        column_config={"percent": st.column_config.NumberColumn("%", min_value=0, max_value=100, step=0.5)},
    )
    total = float(shares["percent"].fillna(0).sum())
    (st.caption if abs(total - 100) < 1e-9 else st.warning)(f"The payer mix adds up to {total:g}%.")
    out["payer_mix"] = {p: f"{v:g}" for p, v in zip(shares["payer"], shares["percent"].fillna(0), strict=True) if v}
    return out


def page() -> None:
    st.header("Forecast revenue")
    with plain_errors():
        db = database()
        contracts, practice = db.contracts(), db.practice()
        saved = db.scenarios()
        choice = st.selectbox("Saved scenario", ["(new)"] + list(saved), key="forecast-saved")
        base_key, generation = f"forecast-base-{choice}", st.session_state.get(f"forecast-generation-{choice}", 0)
        base = st.session_state.get(base_key) or (
            saved[choice] if choice in saved else yaml.safe_load(default_scenario([c.payer for c in contracts]))
        )
        data = scenario_form(base, f"forecast-form-{choice}-{generation}", [c.payer for c in contracts])
        text_key, shown_key = f"forecast-text-{choice}", f"forecast-text-shown-{choice}"
        if text_key in st.session_state and st.session_state[text_key] != st.session_state.get(shown_key):
            edited = load_yaml(st.session_state[text_key], "the scenario")  # the YAML was edited: it becomes the form
            if not isinstance(edited, dict):
                raise InputError("the scenario must be a mapping of fields (start, templates, payer_mix, ...)", field="scenario")
            st.session_state[base_key] = edited
            st.session_state[f"forecast-generation-{choice}"] = generation + 1
            st.session_state[shown_key] = st.session_state[text_key]
            st.rerun()
        st.session_state[text_key] = st.session_state[shown_key] = yaml.safe_dump(data, sort_keys=False)
        with st.expander("Edit as YAML (seasonality, denial rates, variants, import and export)"):
            st.text_area(
                "Scenario (YAML: templates, volumes, payer mix in %, growth, seasonality, scenarios)",
                height=320,
                key=text_key,
            )
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
