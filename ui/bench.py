"""python -m ui.bench: seconds for each dashboard page's first run and for a rerun after a widget change."""

from __future__ import annotations

import logging
import os
import tempfile
import time
from pathlib import Path

from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).parent.parent
CHANGES = {  # page: (widget kind, key, new value) for the timed rerun
    "estimate": ("text_input", "estimate-deductible", "100"),
    "compare": ("radio", "compare-what", "A list of codes"),
    "forecast": ("text_input", "forecast-save-name", "renamed"),
    "fee_schedule": ("text_input", "fs-codes", "20552,20553"),
    "remittances": ("number_input", "remit-tolerance", 0.5),
    "payers": ("text_input", "c-pct-(new payer)", "150"),
    "practice": ("text_input", "practice-name", "Renamed practice"),
    "data": (None, None, None),
}


def main() -> None:
    logging.getLogger("streamlit").setLevel(logging.ERROR)
    os.environ.setdefault("TPI_ESTIMATOR_DATA", tempfile.mkdtemp(prefix="tpi-bench-"))
    for name, (kind, key, value) in CHANGES.items():
        at = AppTest.from_string(
            f"import sys; sys.path.insert(0, {str(ROOT)!r})\nfrom ui import {name}\n{name}.page()", default_timeout=120
        )
        start = time.perf_counter()
        at.run()
        first = time.perf_counter() - start
        if kind:
            getattr(at, kind)(key=key).set_value(value)
        start = time.perf_counter()
        at.run()
        rerun = time.perf_counter() - start
        print(f"{name:13} first run {first:6.3f} s   rerun after a widget change {rerun:6.3f} s   errors: {len(at.exception)}")


if __name__ == "__main__":
    main()
