"""Streamlit pages of the dashboard: thin shells over the estimator core."""
