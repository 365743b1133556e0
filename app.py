"""Streamlit dashboard: a thin shell over the estimator core (streamlit run app.py)."""

import streamlit as st

from ui import compare, data, estimate, fee_schedule, forecast, payers, practice, remittances
from ui.common import keep_inputs

st.set_page_config(page_title="TPI reimbursement estimator", layout="wide")
keep_inputs()
st.navigation(
    [
        st.Page(estimate.page, title="Estimate a session", url_path="estimate", default=True),
        st.Page(compare.page, title="Compare payers", url_path="compare"),
        st.Page(forecast.page, title="Forecast revenue", url_path="forecast"),
        st.Page(remittances.page, title="Remittances", url_path="remittances"),
        st.Page(fee_schedule.page, title="Fee schedule", url_path="fee-schedule"),
        st.Page(payers.page, title="Payers and contracts", url_path="payers"),
        st.Page(practice.page, title="Practice settings", url_path="practice"),
        st.Page(data.page, title="Data", url_path="data"),
    ]
).run()
