"""Which CMS releases are loaded, their sources and dates; import a new CMS file with a validation report."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pandas as pd
import streamlit as st

from estimator.store import import_files, user_data_dir
from ui.common import plain, plain_errors, schedules


def page() -> None:
    st.header("CMS data loaded")
    rows = [
        {
            "kind": v.kind,
            "vintage": v.name,
            "from": v.effective_from,
            "to": v.effective_to,
            "source file": v.source["source_file"],
            "sha256": v.source["source_sha256"][:16] + "…",
            "rows": v.source["rows"],
            "where": "shipped" if v.shipped else "imported",
            "note": v.source.get("note", ""),
        }
        for v in sorted(schedules().vintages, key=lambda v: (v.kind, v.effective_from))
    ]
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
    st.subheader("Import a CMS file")
    st.caption(
        f"Stored in {user_data_dir()}; picked by date of service from then on. "
        "PPRRVU, GPCI, LOCCO, ZIP5, ASP, OPPS Addendum B, OPPSCAP, ASC AA/BB, as CMS publishes them."
    )
    upload = st.file_uploader("CMS file", type=["csv", "txt", "xlsx"], key="data-upload")
    if upload is not None and st.button("Validate and import", key="data-import"):
        with plain_errors():
            with tempfile.TemporaryDirectory() as folder:
                path = Path(folder) / Path(upload.name).name
                path.write_bytes(upload.getvalue())
                (stored,) = import_files([path], user_data_dir())
            st.success(plain(f"Imported {stored.name}: every row and column passed validation."))
            schedules.clear()
            st.cache_data.clear()
