"""Payers and contracts: create, edit, delete, import, export, fee schedule upload; saved in the database."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pandas as pd
import streamlit as st
import yaml

from estimator.contracts import Contract, dump_contracts, load_contracts
from estimator.domain import DrugMethod, Kind, Method
from estimator.policies import diagnosis_lists, limits, presets
from estimator.textio import decode_text, load_yaml
from estimator.uploads import read_fee_schedule
from ui.common import DEFAULT_DAY, database, plain, plain_errors, schedules

KINDS, METHODS, DRUG_METHODS = [k.value for k in Kind], [m.value for m in Method], [d.value for d in DrugMethod]
CUSTOM, NONE = "own (in the YAML below)", "none"


def _frequency_choice(contract: Contract) -> str:
    if not contract.frequency:
        return NONE
    named = [name for name, preset in presets().items() if limits(name) == contract.frequency]
    return named[0] if named else CUSTOM


def _diagnosis_choice(contract: Contract) -> str:
    if contract.covered_diagnoses is None:
        return NONE
    return contract.covered_diagnoses if isinstance(contract.covered_diagnoses, str) else CUSTOM


def _saved(message: str, select: str) -> None:
    """Say what was saved after the page is drawn again with the new table, showing ``select``."""
    st.session_state["payers-flash"] = message
    st.session_state["payers-select-next"] = select
    st.rerun()


def page() -> None:
    st.header("Payers and contracts")
    if "payers-select-next" in st.session_state:  # set before the select box exists in this run
        st.session_state["payers-edit"] = st.session_state.pop("payers-select-next")
    if "payers-flash" in st.session_state:
        st.success(plain(st.session_state.pop("payers-flash")))
    with plain_errors():
        db = database()
        contracts = db.contracts()
        st.dataframe(
            pd.DataFrame(
                [
                    {
                        "payer": c.payer,
                        "kind": c.kind.value,
                        "method": c.method.value,
                        "percent": str(c.percent),
                        "year": str(c.medicare_year or "rolling"),
                        "example": c.example,
                    }
                    for c in contracts
                ]
            ),
            hide_index=True,
            width="stretch",
        )
        names = ["(new payer)"] + [c.payer for c in contracts]
        chosen = st.selectbox("Edit", names, key="payers-edit")
        current = next((c for c in contracts if c.payer == chosen), Contract(payer="New payer"))
        edited = None
        with plain_errors():  # a bad field is said beside the form; the buttons stay
            edited = contract_form(current, key=chosen)
        left, middle, right = st.columns(3)
        if left.button("Save", key="payers-save", type="primary", disabled=edited is None) and edited:
            with plain_errors():
                if chosen == "(new payer)":
                    db.add_contracts([edited])
                else:
                    db.rename_or_update(chosen, edited)
                _saved(f"Saved {edited.payer}", edited.payer)
        if chosen != "(new payer)" and middle.button("Delete", key="payers-delete"):
            st.session_state["payers-confirm-delete"] = chosen
        if st.session_state.get("payers-confirm-delete") == chosen:
            st.warning(plain(f"Delete {chosen}? Its contract and fee schedule are removed from the practice database."))
            yes, no = st.columns(2)
            if yes.button(f"Delete {chosen}", key="payers-delete-yes", type="primary"):
                st.session_state.pop("payers-confirm-delete")
                db.delete_contract(chosen)
                _saved(f"Deleted {chosen}", "(new payer)")
            if no.button("Keep it", key="payers-delete-no"):
                st.session_state.pop("payers-confirm-delete")
                st.rerun()
        right.download_button("Export all (YAML)", dump_contracts(db.contracts()).encode(), "contracts.yaml", key="payers-export")
        st.subheader("Import")
        upload = st.file_uploader("Contracts (YAML or JSON)", type=["yaml", "yml", "json"], key="payers-import")
        if upload is not None and st.button("Import contracts", key="payers-import-go"):
            imported = load_contracts(decode_text(upload.getvalue(), upload.name), upload.name)
            db.add_contracts(imported)
            st.success(f"Imported {len(imported)} contract(s)")
        if chosen != "(new payer)":
            fees = st.file_uploader(
                f"Fee schedule for {chosen} (CSV or XLSX: code, [modifier], amount)", type=["csv", "xlsx"], key="payers-fees"
            )
            if fees is not None and st.button("Load fee schedule", key="payers-fees-go"):
                lib = schedules()
                known = set(lib.table(lib.in_force("pfs_rvu", DEFAULT_DAY))["hcpcs"]) | set(
                    lib.table(lib.in_force("asp", DEFAULT_DAY))["hcpcs"]
                )
                with tempfile.TemporaryDirectory() as folder:
                    path = Path(folder) / Path(fees.name).name
                    path.write_bytes(fees.getvalue())
                    loaded = read_fee_schedule(path, known)
                fees = {k: str(v) for k, v in loaded.items()}
                db.add_contracts([Contract.from_dict(current.to_dict() | {"fees": fees, "method": "fee_schedule"})], replace=True)
                st.success(plain(f"{len(loaded)} fees loaded into {chosen}"))


def contract_form(contract: Contract, key: str) -> Contract | None:
    """The main fields of a contract; the rest (fees, per-unit drug prices, overrides) in YAML."""
    left, middle, right = st.columns(3)
    data = contract.to_dict()
    data["payer"] = left.text_input("Payer name", contract.payer, key=f"c-name-{key}")
    data["kind"] = left.selectbox("Kind", KINDS, index=KINDS.index(contract.kind), key=f"c-kind-{key}")
    data["method"] = left.selectbox("Pays by", METHODS, index=METHODS.index(contract.method), key=f"c-method-{key}")
    data["percent"] = middle.text_input("Percent (of Medicare or of charges)", str(contract.percent), key=f"c-pct-{key}")
    year = middle.text_input("Fixed Medicare year (blank = rolling)", str(contract.medicare_year or ""), key=f"c-year-{key}")
    data["medicare_year"] = int(year) if year.strip().isdigit() else None
    data["locality"] = (
        middle.text_input("Pinned locality (blank = where the service is done)", contract.locality or "", key=f"c-loc-{key}")
        or None
    )
    data["drug_method"] = right.selectbox(
        "Drugs", DRUG_METHODS, index=DRUG_METHODS.index(contract.drug_method), key=f"c-drug-{key}"
    )
    data["drug_percent"] = right.text_input(
        "Drug percent (ASP + x% or % of ASP)", str(contract.drug_percent), key=f"c-dpct-{key}"
    )
    data["copay"] = right.text_input("Copay ($)", str(contract.copay), key=f"c-copay-{key}")
    data["coinsurance_percent"] = right.text_input("Coinsurance (%)", str(contract.coinsurance_percent), key=f"c-coins-{key}")
    data["collection_percent"] = right.text_input(
        "Collected (% of the expected amount)",
        str(contract.collection_percent),
        key=f"c-collect-{key}",
        help="What the practice actually collects of what it is owed, e.g. 60 for cash patients; compare ranks payers by it.",
    )
    flags = st.columns(5)
    data["guidance_covered"] = flags[0].checkbox("Guidance covered", contract.guidance_covered, key=f"c-guid-{key}")
    data["em_25_paid"] = flags[1].checkbox("E/M-25 paid", contract.em_25_paid, key=f"c-em-{key}")
    data["lesser_of_billed"] = flags[2].checkbox("Lesser of billed", contract.lesser_of_billed, key=f"c-lesser-{key}")
    data["prior_authorization"] = flags[3].checkbox("Prior authorization", contract.prior_authorization, key=f"c-pa-{key}")
    data["sequestration"] = flags[4].checkbox("Sequestration", contract.sequestration, key=f"c-seq-{key}")
    left, right = st.columns(2)
    frequency_options = [NONE, *presets(), CUSTOM]
    frequency = left.selectbox(
        "Frequency limits",
        frequency_options,
        index=frequency_options.index(_frequency_choice(contract)),
        format_func=lambda r: presets()[r]["description"] if r in presets() else r,
        key=f"c-freq-{key}",
    )
    list_options = [NONE, *diagnosis_lists(), CUSTOM]
    covered = right.selectbox(
        "Covered diagnoses",
        list_options,
        index=list_options.index(_diagnosis_choice(contract)),
        format_func=lambda r: diagnosis_lists()[r]["title"] if r in diagnosis_lists() else r,
        key=f"c-dx-{key}",
    )
    data["bypass_modifiers_accepted"] = st.checkbox(
        "Accepts modifiers 59 / XE / XP / XS / XU (a second imaging guidance code for a separate procedure)",
        contract.bypass_modifiers_accepted,
        key=f"c-bypass-{key}",
    )
    own = (
        ("fees", "overrides", "drug_per_unit")
        + (("frequency",) if frequency == CUSTOM else ())
        + (("covered_diagnoses",) if covered == CUSTOM else ())
    )
    data["frequency"] = [] if frequency == NONE else (frequency if frequency != CUSTOM else data["frequency"])
    data["covered_diagnoses"] = None if covered == NONE else (covered if covered != CUSTOM else data["covered_diagnoses"] or [])
    extra = st.text_area(
        "Fees, overrides, per-unit drug prices" + (", own limits or diagnoses" if len(own) > 3 else "") + " (YAML)",
        yaml.safe_dump({k: data[k] for k in own}, sort_keys=False),
        key=f"c-extra-{key}",
    )
    extra_data = load_yaml(extra, "fees, overrides and drug prices") or {}
    if not isinstance(extra_data, dict):
        st.error("Fees, overrides and drug prices: write a mapping (fees: {20552: '45.00'})")
        return None
    data |= extra_data
    data["example"] = False
    return Contract.from_dict(data)
