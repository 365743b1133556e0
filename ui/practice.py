"""The practice: where it works, Medicare participation and CF track, and its charge master, saved in the
practice database and used by the Compare and Forecast pages, the Excel model and price-claims."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from estimator.contracts import Practice
from estimator.pfs import check_location
from ui.common import FROM_ZIP, database, localities, plain, plain_errors, schedules


def rows(table: pd.DataFrame, column: str) -> dict[str, str]:
    """{code: amount} from an editable grid, skipping rows not filled in yet."""
    return {
        str(c).strip().upper(): str(v).strip()
        for c, v in zip(table["code"], table[column], strict=True)
        if isinstance(c, str) and c.strip() and v is not None and not pd.isna(v) and str(v).strip()
    }


def page() -> None:
    st.header("Practice settings")
    if "practice-flash" in st.session_state:
        st.success(plain(st.session_state.pop("practice-flash")))
    with plain_errors():
        db = database()
        current = db.practice()
        if current.example:
            st.info("These are example settings: enter your practice's own and save.")
        left, right = st.columns(2)
        name = left.text_input("Practice name", current.name, key="practice-name")
        zip_code = left.text_input(
            "ZIP code of the office", current.zip_code or "", key="practice-zip", help="Mapped to its Medicare locality."
        )
        names = localities()
        options = [FROM_ZIP, *names]
        locality = left.selectbox(
            "or the Medicare locality",
            options,
            index=options.index(current.locality) if current.locality in names else 0,
            format_func=lambda k: names.get(k, k),
            key="practice-locality",
        )
        participating = right.radio(
            "Medicare participation",
            ["Participating", "Non-participating"],
            index=0 if current.participating else 1,
            horizontal=True,
            key="practice-par",
            help="Non-participating: 95% of the fee schedule, and the limiting charge on unassigned claims.",
        )
        cf_track = right.radio(
            "Conversion factor",
            ["standard", "qualifying_apm"],
            index=0 if current.cf_track == "standard" else 1,
            horizontal=True,
            format_func=lambda t: "Standard" if t == "standard" else "Qualifying APM participant (2026 on)",
            key="practice-cf",
        )
        session_cost = right.text_input(
            "Cost of a session ($: supplies and staff time)",
            str(current.session_cost),
            key="practice-cost",
            help="Used for the margin per payer on the Compare page.",
        )
        st.markdown("**Charge master** (billed charge per unit; a code-modifier row such as 76942-26 overrides the code)")
        charges = st.data_editor(
            pd.DataFrame({"code": list(current.charges), "charge": [str(v) for v in current.charges.values()]}),
            num_rows="dynamic",
            key="practice-charges",
            width="stretch",
        )
        st.markdown("**Drug acquisition cost** (per billing unit, e.g. J3301 per 10 mg)")
        drug_costs = st.data_editor(
            pd.DataFrame({"code": list(current.drug_costs), "cost": [str(v) for v in current.drug_costs.values()]}),
            num_rows="dynamic",
            key="practice-drug-costs",
            width="stretch",
        )
        data = {
            "session_cost": session_cost.strip() or "0",
            "drug_costs": rows(drug_costs, "cost"),
            "name": name,
            "zip_code": None if locality != FROM_ZIP else (zip_code.strip() or None),
            "locality": None if locality == FROM_ZIP else locality,
            "participating": participating == "Participating",
            "cf_track": cf_track,
            "charges": rows(charges, "charge"),
        }
        edited = None
        with plain_errors():
            checked = Practice.from_dict(data)
            check_location(schedules(), checked.zip_code, checked.locality)
            edited = checked
        if st.button("Save the practice", key="practice-save", type="primary", disabled=edited is None) and edited:
            db.save_practice(edited)
            st.session_state["practice-flash"] = f"Saved {edited.name}"
            st.rerun()
