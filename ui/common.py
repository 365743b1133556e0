"""What every page shares: cached data, the database, money display, errors shown in plain words."""

from __future__ import annotations

import datetime as dt
import re
from contextlib import contextmanager
from decimal import Decimal

import pandas as pd
import streamlit as st
from streamlit.errors import StreamlitAPIException, StreamlitValueAssignmentNotAllowedError

from estimator.db import Database
from estimator.errors import InputError
from estimator.excel import estimate_workbook, proposed_terms
from estimator.export import csv_bytes
from estimator.session import Session
from estimator.store import FeeSchedules
from estimator.xlsx import table_workbook

FIRST_DAY, LAST_DAY = dt.date(2025, 1, 1), dt.date(2026, 12, 31)
DEFAULT_DAY = dt.date(2026, 3, 2)


KEPT = ("estimate-", "compare-", "fs-", "forecast-")  # the inputs of these pages outlive a page change
NOT_INPUTS = ("-muscles", "-drugs", "-build", "-download", "-csv", "-xlsx", "-go", "-upload")  # grids, buttons, uploads


def keep_inputs() -> None:
    """Streamlit forgets a widget's value on a run that does not draw it (another page). Writing each
    input's value back as the app's own state keeps it for when its page is drawn again. Buttons, grids
    and uploads cannot be written back (Streamlit refuses) and are left out."""
    for key in [k for k in st.session_state if isinstance(k, str) and k.startswith(KEPT) and not k.endswith(NOT_INPUTS)]:
        try:
            st.session_state[key] = st.session_state[key]
        except (StreamlitAPIException, StreamlitValueAssignmentNotAllowedError):
            continue


@st.cache_resource
def schedules() -> FeeSchedules:
    return FeeSchedules()


def database() -> Database:
    return Database()


MARKDOWN = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:])")


def plain(text: object) -> str:
    """Text as itself in an element that renders Markdown (st.error, st.success, st.caption ...): a
    payer named [click](http://…) stays those characters, never a link; "$" never starts math."""
    return MARKDOWN.sub(r"\\\1", str(text))


@contextmanager
def plain_errors():
    """Bad input and unexpected failures are shown inline, never as a traceback."""
    try:
        yield
    except InputError as error:
        st.error(plain(error))
    except Exception as error:
        st.error(plain(f"Something went wrong: {type(error).__name__}: {error}"))


def dollars(value) -> str:
    if value is None or value is pd.NA or value == "" or (isinstance(value, float) and pd.isna(value)):
        return ""
    amount = Decimal(str(value))
    return f"{'-' if amount < 0 else ''}${abs(amount):,.2f}"


def show_money(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    shown = frame.copy()
    for column in columns:
        shown[column] = shown[column].map(dollars)
    return shown


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

LABELS = {  # one plain name for each column, on every page; HELP says what it holds
    "allowed": "Allowed",
    "medicare": "Medicare allows",
    "patient_share": "Patient pays",
    "payer_payment": "Payer pays",
    "sequestration": "Sequestration",
    "expected": "Expected",
    "expected_to_provider": "Expected",
    "collected": "Collected",
    "cost": "Cost",
    "margin": "Margin",
    "difference_to_best": "Gap to best",
    "percent_of_medicare": "% of Medicare",
    "modifiers": "Modifiers",
    "units": "Units",
    "biller": "Billed by",
    "edit": "Edit",
    "reason": "Why",
    "release": "CMS files",
    "code": "Code",
    "payer": "Payer",
    "kind": "Kind",
    "rank": "Rank",
}
HELP = {
    "Allowed": "What the payer allows for the line or claim: its fee schedule amount under the contract.",
    "Patient pays": "Copay, deductible and coinsurance the patient owes.",
    "Payer pays": "The payer's payment before sequestration (the same on every page).",
    "Sequestration": "2% taken off Medicare's payment (and off a plan's that passes it through).",
    "Expected": "What the practice should receive: the patient's share plus the payer's payment, less sequestration.",
    "Collected": "Expected x the payer's collection rate (Payers page).",
    "Cost": "The practice's cost of the sessions: cost per session and drug acquisition cost (Practice settings).",
    "Margin": "Collected less cost.",
    "Gap to best": "Collected, less the best payer's collected.",
    "% of Medicare": "Allowed as a percentage of traditional Medicare's participating amount.",
}


def in_words(frame: pd.DataFrame) -> pd.DataFrame:
    """Column headers in words (LABELS); money already shown with "$"."""
    return frame.rename(columns=LABELS)


def column_help(frame: pd.DataFrame) -> dict:
    """Column configuration: each worded money column with its definition (HELP), long text wrapped."""
    config = {name: st.column_config.Column(help=HELP[name]) for name in frame.columns if name in HELP}
    config |= {name: st.column_config.TextColumn(width="large") for name in ("Why", "reason") if name in frame.columns}
    return config


def downloads(frame: pd.DataFrame, name: str, key: str) -> None:
    """What the page shows, as CSV and as an Excel table."""
    left, right, _ = st.columns([1, 1, 4])
    left.download_button("Download CSV", csv_bytes(frame), f"{name}.csv", "text/csv", key=f"{key}-csv")
    right.download_button(
        "Download Excel", table_workbook(frame, name.replace("_", " ").capitalize()), f"{name}.xlsx", XLSX, key=f"{key}-xlsx"
    )


def model_download(session: Session, key: str) -> None:
    """The Excel model of a session across the saved payers (live formulas), built on request, with
    proposed terms priced beside the current ones when given."""
    proposals = st.text_area(
        "Proposed terms for the Excel model (optional; one per line, e.g. Example Commercial PPO=130)",
        key=f"{key}-proposals",
        height=68,
    )
    wanted = (session, proposals)
    if st.button("Build the Excel model (fee schedule, session, payers, 24-month forecast)", key=f"{key}-build"):
        db = database()
        contracts = db.contracts()
        terms = proposed_terms(
            proposals.splitlines() if proposals.strip() else [], {c.payer: c for c in contracts}, session.date_of_service
        )
        st.session_state[f"{key}-model"] = estimate_workbook(schedules(), session, contracts, db.practice(), proposals=terms)
        st.session_state[f"{key}-model-of"] = wanted
    if st.session_state.get(f"{key}-model-of") != wanted:  # built for other inputs: never served for these
        st.session_state.pop(f"{key}-model", None)
    if f"{key}-model" in st.session_state:
        st.download_button(
            "Download the Excel model", st.session_state[f"{key}-model"], "tpi_estimate.xlsx", XLSX, key=f"{key}-download"
        )


FROM_ZIP = "(from the ZIP code)"


@st.cache_data(show_spinner=False)
def localities() -> dict[str, str]:
    """Carrier-locality -> its name and MAC, from the latest GPCI file held."""
    lib = schedules()
    table = lib.table(lib.of_kind("gpci")[-1])
    return {
        f"{r.carrier}-{r.locality}": f"{r.locality_name} ({r.state}, MAC {r.carrier}, locality {r.locality})"
        for r in table.itertuples()
    }


def location_inputs(key: str, zip_default: str = "35203") -> tuple[str | None, str | None]:
    """A ZIP code, or a Medicare locality picked by name; the one used is said."""
    left, right = st.columns(2)
    zip_code = left.text_input(
        "ZIP code", zip_default, key=f"{key}-zip", help="Mapped to its Medicare locality with the CMS ZIP5 file."
    )
    names = localities()
    chosen = right.selectbox(
        "or the Medicare locality",
        [FROM_ZIP, *names],
        format_func=lambda k: names.get(k, k),
        key=f"{key}-locality",
        help="Pick one when the ZIP is split between localities, or to price another place.",
    )
    if chosen != FROM_ZIP:
        right.caption(plain(f"Priced in {names[chosen]}; the ZIP code is not used."))
        return None, chosen
    return (zip_code.strip() or None), None


def date_input(key: str, label: str = "Date of service") -> dt.date:
    """The date of service, with the CMS files that price it right below (an older file standing in
    for one not held is marked)."""
    day = st.date_input(
        label, DEFAULT_DAY, min_value=FIRST_DAY, max_value=LAST_DAY, key=key, help="The CMS files in force on this date are used."
    )
    priced_with(day)
    return day


def priced_with(day: dt.date) -> None:
    rows = [r for r in schedules().priced_with(day) if r["vintage"] and r["kind"] != "locco"]
    older = [r for r in rows if r["status"] != "in force"]
    names = ", ".join(plain(r["vintage"]) + ("\\*" if r in older else "") for r in rows)
    held = f". \\* No file of that kind is held for {day}: the latest older one is used" if older else ""
    st.caption(f"Priced with {names}{held}. [What is held](/data)")
