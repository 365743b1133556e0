"""Multiple-procedure payment rules (the MULT PROC indicator of the PFS relative value file).

RVU25D.pdf, "Multiple Procedure (Modifier 51)": codes with indicator 1, 2 or 3 reported the same day
are ranked by fee schedule amount and paid 100%, 50%, 50%, 50%, 50% (indicator 2; 1 pays 100, 50,
25, 25, 25) and "by report" beyond the fifth. Diagnostic imaging (indicator 4, family 88),
cardiovascular (6) and ophthalmology (7) codes of one session are ranked by their technical component:
the highest is paid in full, each later one with its technical component reduced (50%, 25%, 20%)
and, for imaging, its professional component by 5%. Rates are data
(parameters/pfs/multiple_procedure_reduction.yaml). Each unit counts as one procedure.

The result is each line's share of its unreduced amount as an exact fraction (share_num /
share_den); Medicare's and every contract's amount for the line is multiplied by it once.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import numpy as np
import pandas as pd

from ..parameters import parameter


def multiple_procedures(t: pd.DataFrame, days: list[dt.date]) -> dict[str, np.ndarray]:
    """Per line: share_num, share_den, reduced (bool) and reason, for the lines ``t["eligible"]``
    marks. ``t`` has claim_group, day_group, units, unit_fee, tc_fee, pc_fee, mult_proc,
    imaging_family and order."""
    n = len(t)
    out = {
        "share_num": np.ones(n, np.int64),
        "share_den": np.ones(n, np.int64),
        "reduced": np.zeros(n, bool),
        "reason": np.full(n, "", dtype=object),
    }
    day_group = t["day_group"].to_numpy()
    for group in np.unique(day_group[t["eligible"].to_numpy()]):
        rules = parameter("pfs/multiple_procedure_reduction", days[group]).value
        mask = day_group == group
        _ranked_by_fee(t, out, mask, rules["ranked_by_fee"], rules["not_applied"])
        for indicator, rule in rules["ranked_by_technical_component"].items():
            _ranked_by_technical_component(t, out, mask, indicator, rule)
    return out


def _ranked(t: pd.DataFrame, members: np.ndarray, fee: str) -> pd.DataFrame:
    """The member lines (their row numbers in ``t``) sorted by claim, highest ``fee`` first, then line
    order; with the units ranked before each one in its claim and the claim's units in all."""
    rows = np.flatnonzero(members)
    claim = t["claim_group"].to_numpy()[rows]
    order = np.lexsort((t["order"].to_numpy()[rows], -t[fee].to_numpy()[rows], claim))
    rows, claim = rows[order], claim[order]
    units = t["units"].to_numpy()[rows]
    starts = np.flatnonzero(np.r_[True, claim[1:] != claim[:-1]])
    sizes = np.diff(np.r_[starts, len(rows)])
    running = np.cumsum(units)
    first_of_claim = np.repeat(starts, sizes)
    before = running - units - (running[first_of_claim] - units[first_of_claim])
    return pd.DataFrame(
        {
            "row": rows,
            "units": units,
            "before": before,
            "all": np.repeat(np.add.reduceat(units, starts), sizes) if len(rows) else units,
            "mult_proc": t["mult_proc"].to_numpy()[rows],
            "unit_fee": t["unit_fee"].to_numpy()[rows],
            "tc_fee": t["tc_fee"].to_numpy()[rows],
            "pc_fee": t["pc_fee"].to_numpy()[rows],
        }
    )


def _paid_percent(k: np.ndarray, steps: np.ndarray, cumulative: np.ndarray) -> np.ndarray:
    """Percent of one unit's fee paid for the first ``k`` units ranked (past the table: the last step)."""
    k = np.asarray(k)
    return np.where(k <= len(steps), cumulative[np.minimum(k, len(steps))], cumulative[-1] + (k - len(steps)) * steps[-1])


def _ranked_by_fee(t, out, mask, percents: dict, not_applied: dict) -> None:
    members = t["eligible"].to_numpy() & mask & t["mult_proc"].isin(list(percents)).to_numpy()
    if members.sum() == 0:
        return
    sub = _ranked(t, members, "unit_fee")
    sub = sub[sub["all"] > 1]
    if sub.empty:
        return
    total = np.zeros(len(sub), np.int64)
    by_report = np.zeros(len(sub), bool)
    for indicator, table in percents.items():
        rows = (sub["mult_proc"] == indicator).to_numpy()
        steps = np.array([int(p) for p in table], np.int64)
        cumulative = np.concatenate([[0], np.cumsum(steps)])

        before, units = sub["before"].to_numpy()[rows], sub["units"].to_numpy()[rows]
        total[rows] = _paid_percent(before + units, steps, cumulative) - _paid_percent(before, steps, cumulative)
        by_report[rows] = before + units > len(steps)
    units = sub["units"].to_numpy()
    reduced = total < 100 * units
    index = sub["row"].to_numpy()[reduced]
    out["share_num"][index] = total[reduced]
    out["share_den"][index] = 100 * units[reduced]
    out["reduced"][index] = True
    rank = sub["before"].to_numpy()[reduced] + 1
    indicator = sub["mult_proc"].to_numpy()[reduced]
    texts = {}
    for i, key in enumerate(zip(indicator, rank, total[reduced], units[reduced], by_report[reduced], strict=True)):
        if key not in texts:
            mult, place, paid, count, report = key
            text = (
                f"Multiple procedures (MULT PROC {mult}): ranked {place} by fee schedule amount, paid at "
                f"{(Decimal(int(paid)) / int(count)).normalize():f}%."
            )
            if report:
                text += " Sixth and later procedures are priced by report by the contractor; the last listed percentage is shown."
            texts[key] = f"{text} {not_applied[mult]}" if mult in not_applied else text
        out["reason"][index[i]] = texts[key]


def _ranked_by_technical_component(t, out, mask, indicator: str, rule: dict) -> None:
    members = t["eligible"].to_numpy() & mask & (t["mult_proc"] == indicator).to_numpy()
    if "family" in rule:
        members &= (t["imaging_family"] == rule["family"]).to_numpy()
    if members.sum() < 2 and not (t["units"].to_numpy()[members] > 1).any():
        return
    sub = _ranked(t, members, "tc_fee")
    later = np.where(sub["before"].to_numpy() == 0, sub["units"].to_numpy() - 1, sub["units"].to_numpy())
    hit = later > 0
    if not hit.any():
        return
    sub, later = sub[hit], later[hit]
    units, fee = sub["units"].to_numpy(), sub["unit_fee"].to_numpy()
    cut = later * (
        int(rule["technical_reduction"]) * sub["tc_fee"].to_numpy()
        + int(rule["professional_reduction"]) * sub["pc_fee"].to_numpy()
    )
    whole = 100 * units * fee
    keep = whole > 0
    index = sub["row"].to_numpy()[keep]
    out["share_num"][index] = (whole - np.minimum(cut, whole))[keep]
    out["share_den"][index] = whole[keep]
    out["reduced"][index] = True
    out["reason"][index] = (
        f"Multiple procedures (MULT PROC {indicator}): a later procedure of the session, technical "
        f"component reduced {rule['technical_reduction']}%"
        + (f", professional component {rule['professional_reduction']}%" if int(rule["professional_reduction"]) else "")
        + "."
    )
