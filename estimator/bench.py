"""Benchmark: python -m estimator bench prints every figure beside its target (--json: one line).

Commands are timed as a user runs them: each in a fresh process (cold start included), its wall time
and its own peak memory (the child's maximum resident set, from wait4). The core figures are taken in
this process, warm, best of three.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

DAY = dt.date(2026, 3, 2)
CLAIM_PAYERS: list[dict[str, object]] = [
    {"payer": "Medicare", "kind": "medicare", "method": "medicare"},
    {
        "payer": "Commercial 125",
        "percent": "125",
        "drug_method": "asp_plus",
        "drug_percent": "10",
        "copay": "30",
        "coinsurance_percent": "10",
        "lesser_of_billed": True,
    },
    {"payer": "Medicare Advantage", "kind": "medicare_advantage", "coinsurance_percent": "20", "sequestration": True},
]


@dataclass
class Figure:
    name: str
    seconds: float
    target_seconds: float | None = None
    peak_mb: float | None = None
    target_mb: float | None = None
    note: str = ""

    @property
    def met(self) -> bool:
        return (self.target_seconds is None or self.seconds <= self.target_seconds) and (
            self.target_mb is None or self.peak_mb is None or self.peak_mb <= self.target_mb
        )

    def line(self) -> str:
        target = " and ".join(
            t
            for t in (
                f"<= {self.target_seconds:g} s" if self.target_seconds else "",
                f"<= {self.target_mb:g} MB" if self.target_mb else "",
            )
            if t
        )
        memory = f"  peak {self.peak_mb:,.0f} MB" if self.peak_mb is not None else ""
        verdict = ("met" if self.met else "MISSED") if target else ""
        return f"{self.name:58} {self.seconds:7.3f} s{memory:16}  target {target or '-':24} {verdict:6} {self.note}"


def command(args: list[str], env: dict[str, str] | None = None) -> tuple[float, float]:
    """Wall seconds and peak MB of ``python -m estimator ARGS`` in a fresh process."""
    start = time.perf_counter()
    child = subprocess.Popen(
        [sys.executable, "-m", "estimator", *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=os.environ | (env or {}),
    )
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - start
    error = child.stderr.read().decode() if child.stderr else ""
    if os.waitstatus_to_exitcode(status) not in (0, 1):
        raise RuntimeError(f"python -m estimator {' '.join(args)} failed: {error[-500:]}")
    return seconds, usage.ru_maxrss / 1024


def _best(work, times: int = 3) -> float:
    best = float("inf")
    for _ in range(times):
        start = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - start)
    return best


def core_figures() -> list[Figure]:
    from .pfs import price
    from .store import FeeSchedules, load_table

    load_table.cache_clear()
    schedules = FeeSchedules()
    start = time.perf_counter()
    for kind in ("pfs_rvu", "gpci", "zip5"):
        schedules.table(schedules.in_force(kind, DAY))
    cold = time.perf_counter() - start
    price(schedules, DAY, localities="all")
    core = _best(lambda: price(schedules, DAY, localities="all"))
    frame, _ = price(schedules, DAY, localities="all")
    return [
        Figure(f"cold load of the {DAY} vintages (RVU, GPCI, ZIP5)", cold, 1.0),
        Figure(f"core: whole schedule, {len(frame):,} code-locality rows", core, 0.3, note="warm, best of 3"),
    ]


def command_figures(folder: Path, claim_rows: tuple[int, ...]) -> list[Figure]:
    from .batch import synthetic_claims
    from .contracts import Contract, Practice
    from .db import Database

    session = ["session", "--date", DAY.isoformat(), "--zip", "35203", "--muscles", "2", "--drug", "triamcinolone:40mg"]
    figures = []
    for name, args in (("python -m estimator --help", ["--help"]), ("one session estimate", session)):
        seconds, peak = command(args)
        figures.append(Figure(f"cold start: {name}", seconds, 1.0, peak))
    schedule = ["fee-schedule", "--date", DAY.isoformat(), "--all-localities", "--output"]
    for name, target in (("all.csv", 2.0), ("all.parquet", 1.0)):
        seconds, peak = command([*schedule, str(folder / name)])
        size = (folder / name).stat().st_size / 2**20
        figures.append(Figure(f"fee-schedule --all-localities to {name} ({size:,.0f} MB)", seconds, target, peak))
    database = folder / "bench.sqlite3"
    saved = Database(database, seed_examples=False)
    saved.save_practice(Practice.from_dict({"name": "Benchmark practice", "zip_code": "35203"}))
    saved.add_contracts([Contract.from_dict(c) for c in CLAIM_PAYERS])
    for rows in claim_rows:
        source = folder / f"claims_{rows}.csv"
        synthetic_claims(source, rows, [str(c["payer"]) for c in CLAIM_PAYERS])
        seconds, peak = command(
            ["price-claims", str(source), "--output", str(folder / f"priced_{rows}.csv")], {"TPI_ESTIMATOR_DB": str(database)}
        )
        big = rows >= 1_000_000  # the target is set for a million lines
        figures.append(
            Figure(
                f"price-claims {rows:,} lines (read, price, write)",
                seconds,
                5.0 if big else None,
                peak,
                2048.0 if big else None,
                f"{rows / seconds:,.0f} lines/s",
            )
        )
    from .x12 import synthetic_remittance

    remittance = folder / "remittance.835"
    synthetic_remittance(remittance, 100_000)
    seconds, peak = command(
        ["remittance", str(remittance), "--output", str(folder / "reconciled"), "--no-save"], {"TPI_ESTIMATOR_DB": str(database)}
    )
    figures.append(Figure("remittance: reconcile a 100,000-line 835 (read, price, worklist)", seconds, 10.0, peak))
    seconds, peak = excel_in_a_child()
    figures.append(Figure("Excel model: 10112-00 every code x 10 payers + 24 months", seconds, 3.0, peak, 500.0))
    return figures


def excel_in_a_child() -> tuple[float, float]:
    """The whole-locality Excel model, built in a fresh process: (seconds, peak MB)."""
    code = "from estimator.bench import excel_model_seconds; print(excel_model_seconds())"
    start = time.perf_counter()
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE)
    _, _, usage = os.wait4(child.pid, 0)
    output = child.stdout.read().decode() if child.stdout else ""
    return (float(output) if output.strip() else time.perf_counter() - start), usage.ru_maxrss / 1024


def excel_model_seconds() -> float:
    from decimal import Decimal

    from .contracts import Contract, Practice
    from .excel import ForecastInputs, estimate_workbook
    from .session import Session
    from .store import FeeSchedules

    schedules = FeeSchedules()
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
    start = time.perf_counter()
    estimate_workbook(
        schedules,
        session,
        contracts,
        practice,
        all_codes=True,
        forecast=ForecastInputs(months=24, sessions_per_month=Decimal(40)),
    )
    return time.perf_counter() - start


def run(echo, *, as_json: bool = False, claim_rows: tuple[int, ...] = (100_000, 1_000_000)) -> list[Figure]:
    figures = core_figures()
    core = figures[1].seconds
    with tempfile.TemporaryDirectory(prefix="tpi-bench-") as folder:
        figures += command_figures(Path(folder), claim_rows)
    for figure in figures:
        if figure.name.startswith("fee-schedule"):
            figure.note = f"{figure.seconds / core:.0f} x the core"
    if as_json:
        echo(
            json.dumps(
                {
                    "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                    "figures": [asdict(f) | {"met": f.met} for f in figures],
                }
            )
        )
    else:
        for figure in figures:
            echo(figure.line())
    return figures
