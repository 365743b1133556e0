"""Remittances: upload 835s (and the 837Ps they answer), work the underpayments and denials."""

from __future__ import annotations

import io
import zipfile
from decimal import Decimal

import pandas as pd
import streamlit as st

from estimator.batch import Book
from estimator.export import csv_bytes
from estimator.remittance import payments_to_keep, reconcile, scorecard, to_work
from estimator.x12 import read_files
from estimator.xlsx import tables_workbook
from ui.common import XLSX, database, plain, plain_errors, schedules, show_money

MONEY = ["expected_allowed", "era_allowed", "era_paid", "era_patient_responsibility", "expected_payment", "variance"]
SHOWN = ["claim_id", "line", "code", "modifiers", "date", "payer", "status", *MONEY, "carc", "reason"]


def _zip(appeals: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in appeals.items():
            archive.writestr(name, text)
    return buffer.getvalue()


def page() -> None:
    st.header("Remittances")
    st.caption(
        "Upload X12 835 remittances (and the 837P claims they answer). Each service line is priced under the payer's "
        "contract and judged on the 835's own allowed amount and patient responsibility."
    )
    files = st.file_uploader(
        "835 and 837P files", type=["835", "837", "txt", "edi", "x12"], accept_multiple_files=True, key="remit-files"
    )
    tolerance = st.number_input("Tolerance ($)", min_value=0.0, max_value=1000.0, value=0.01, step=0.01, key="remit-tolerance")
    save = st.checkbox("Keep the payments in the practice database", value=True, key="remit-save")
    db = None
    with plain_errors():
        db = database()
        if files and st.button("Reconcile", type="primary", key="remit-run"):
            read = read_files([(f.name, f.getvalue()) for f in files])
            book = Book(schedules(), {c.payer: c for c in db.contracts()}, db.practice())
            result = reconcile(read, book, db.payer_ids(), round(tolerance * 100))
            duplicates = db.save_remittances(payments_to_keep(read, result.worklist)) if save else []
            st.session_state["remit-result"] = (result, read.notes, duplicates)
    if db is None:
        return
    kept = st.session_state.get("remit-result")
    if kept:
        with plain_errors():
            _result(db, *kept)
    with plain_errors():
        _history(db)


def _result(db, result, notes, duplicates) -> None:
    worklist = result.worklist
    counts = worklist["status"].value_counts()
    cols = st.columns(4)
    cols[0].metric("Lines", f"{len(worklist):,}")
    cols[1].metric("Underpaid", f"{counts.get('underpaid', 0):,}")
    cols[2].metric("Denied", f"{counts.get('denied', 0):,}")
    cols[3].metric("Not priced", f"{counts.get('not_priced', 0):,}")
    for payment in duplicates:
        st.warning(plain(f"Payment {payment['check_number']} of {payment['payer']} was imported on {payment['imported_at'][:10]} "
                         f"from {payment['first_file']}: not counted again."))  # fmt: skip
    for note in notes:
        st.info(plain(note))
    statuses = st.multiselect(
        "Show", sorted(set(worklist["status"])), default=sorted(set(to_work(worklist)["status"])), key="remit-show"
    )
    shown = worklist[worklist["status"].isin(statuses)][SHOWN]
    st.dataframe(
        show_money(shown, MONEY),
        hide_index=True,
        width="stretch",
        column_config={"reason": st.column_config.TextColumn(width="large")},
    )
    left, middle, right, _ = st.columns([1, 1, 1, 3])
    left.download_button("Download worklist (CSV)", csv_bytes(worklist), "worklist.csv", "text/csv", key="remit-csv")
    middle.download_button(
        "Download worklist (Excel)",
        tables_workbook({"To work": to_work(worklist), "Scorecard": result.scorecard}),
        "worklist.xlsx",
        XLSX,
        key="remit-xlsx",
    )
    if result.appeals:
        right.download_button("Appeal packets (zip)", _zip(result.appeals), "appeals.zip", "application/zip", key="remit-appeals")
    st.subheader("Payer scorecard (these files)")
    st.dataframe(show_money(result.scorecard, ["expected_payment", "paid", "variance"]), hide_index=True, width="stretch")
    said = worklist["reason"] + " " + worklist["payer_rule"]
    unmapped = said[said.str.contains("is not mapped", regex=False)]
    if len(unmapped):
        _map_payers(db, unmapped)


def _map_payers(db, unmapped: pd.Series) -> None:
    st.subheader("Map payer IDs to saved payers")
    ids = sorted(set(unmapped.str.extract(r"\(ID ([^)]+)\)")[0].dropna()))
    names = [c.payer for c in db.contracts()]
    with st.form("remit-map"):
        payer_id = st.selectbox("Payer ID on the 835", ids, key="remit-map-id")
        payer = st.selectbox("Saved payer", names, key="remit-map-payer")
        if st.form_submit_button("Save the mapping"):
            with plain_errors():
                db.map_payer_id(payer_id, payer)
                st.success(plain(f"Payer ID {payer_id} is {payer}; reconcile again to use it."))


def _history(db) -> None:
    lines = db.remittance_lines()
    if not lines:
        return
    st.subheader("All kept remittances")
    saved = pd.DataFrame(lines)
    for column in ("expected_payment", "era_paid", "variance"):
        saved[column] = saved[column].map(lambda v: None if v in (None, "") else Decimal(v))
    card = scorecard(saved.assign(days_to_payment=pd.to_numeric(saved["days_to_payment"], errors="coerce")))
    st.dataframe(show_money(card, ["expected_payment", "paid", "variance"]), hide_index=True, width="stretch")
