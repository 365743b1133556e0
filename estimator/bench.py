"""Benchmark: python -m estimator bench prints seconds and peak memory (targets in the README)."""

from __future__ import annotations

import datetime as dt
import resource
import time

from .pfs import price
from .store import FeeSchedules, load_table

DAY = dt.date(2026, 3, 2)


def _seconds(work) -> tuple[float, object]:
    start = time.perf_counter()
    result = work()
    return time.perf_counter() - start, result


def run(echo) -> None:
    load_table.cache_clear()
    schedules = FeeSchedules()
    cold, _ = _seconds(lambda: [schedules.table(schedules.in_force(k, DAY)) for k in ("pfs_rvu", "gpci", "zip5")])
    echo(f"cold load of the {DAY} vintages (RVU26C, GPCI2026, ZIP5): {cold:.3f} s")
    price(schedules, DAY, localities="all")  # warm parameters and caches once
    seconds = min(_seconds(lambda: price(schedules, DAY, localities="all"))[0] for _ in range(3))
    frame, _ = price(schedules, DAY, localities="all")
    payable = int(frame["nonfacility_amount"].notna().sum())
    echo(
        f"whole schedule, {frame['hcpcs'].nunique()} codes x 109 localities x 2 settings "
        f"({len(frame):,} code-locality rows, {payable:,} payable): {seconds:.3f} s (best of 3)"
    )
    echo(f"Excel model, every payable code of 10112-00 x 10 payers + 24-month forecast: {_excel_seconds(schedules):.3f} s")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    echo(f"peak memory (max RSS): {peak:.0f} MB")


def _excel_seconds(schedules: FeeSchedules) -> float:
    from decimal import Decimal

    from .contracts import Contract, Practice
    from .excel import ForecastInputs, estimate_workbook
    from .session import Session

    session = Session.from_dict(
        {
            "date_of_service": DAY.isoformat(),
            "zip_code": "35203",
            "muscle_count": 2,
            "guidance": "ultrasound",
            "drugs": ["triamcinolone:40mg"],
        }
    )
    contracts = [Contract.from_dict({"payer": "Medicare", "kind": "medicare", "method": "medicare"})] + [
        Contract.from_dict({"payer": f"Payer {n}", "percent": str(100 + 10 * n), "copay": "20", "coinsurance_percent": "10"})
        for n in range(1, 10)
    ]
    practice = Practice.from_dict({"name": "Benchmark", "zip_code": "35203", "charges": {"20552": "150"}})
    seconds, _ = _seconds(
        lambda: estimate_workbook(
            schedules,
            session,
            contracts,
            practice,
            all_codes=True,
            forecast=ForecastInputs(months=24, sessions_per_month=Decimal(40)),
        )
    )
    return seconds
