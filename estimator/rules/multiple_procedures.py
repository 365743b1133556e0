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
from fractions import Fraction

import numpy as np
import pandas as pd

from ..parameters import parameter


def multiple_procedures(t: pd.DataFrame, days: list[dt.date]) -> pd.DataFrame:
    """Per line: share_num, share_den, reduced (bool) and reason, for the lines ``t["eligible"]``
    marks. ``t`` has claim_group, day_group, units, unit_fee, tc_fee, pc_fee, mult_proc,
    imaging_family and order."""
    n = len(t)
    out = pd.DataFrame({"share_num": np.ones(n, np.int64), "share_den": np.ones(n, np.int64), "reduced": False,
                        "reason": ""}, index=t.index)  # fmt: skip
    day_group = t["day_group"].to_numpy()
    for group in np.unique(day_group[t["eligible"].to_numpy()]):
        rules = parameter("pfs/multiple_procedure_reduction", days[group]).value
        mask = day_group == group
        _ranked_by_fee(t, out, mask, rules["ranked_by_fee"], rules["not_applied"])
        for indicator, rule in rules["ranked_by_technical_component"].items():
            _ranked_by_technical_component(t, out, mask, indicator, rule)
    return out


def _ranked(t: pd.DataFrame, members: np.ndarray, fee: str, keys: list[str]) -> pd.DataFrame:
    """The member lines sorted by claim (and ``keys``), highest ``fee`` first, then line order; with
    the units of the lines ranked before each one in its group."""
    sub = t[members].assign(_fee=-t[fee][members]).sort_values(keys + ["_fee", "order"], kind="stable")
    sub["before"] = sub.groupby(keys, sort=False)["units"].cumsum() - sub["units"]
    sub["all"] = sub.groupby(keys, sort=False)["units"].transform("sum")
    return sub


def _ranked_by_fee(t, out, mask, percents: dict, not_applied: dict) -> None:
    members = t["eligible"].to_numpy() & mask & t["mult_proc"].isin(list(percents)).to_numpy()
    if members.sum() == 0:
        return
    sub = _ranked(t, members, "unit_fee", ["claim_group"])
    sub = sub[sub["all"] > 1]
    if sub.empty:
        return
    total = np.zeros(len(sub), np.int64)
    by_report = np.zeros(len(sub), bool)
    for indicator, table in percents.items():
        rows = (sub["mult_proc"] == indicator).to_numpy()
        steps = np.array([int(p) for p in table], np.int64)
        cumulative = np.concatenate([[0], np.cumsum(steps)])

        def upto(k):  # percent paid for the first k units ranked
            k = np.asarray(k)
            return np.where(k <= len(steps), cumulative[np.minimum(k, len(steps))], cumulative[-1] + (k - len(steps)) * steps[-1])

        before, units = sub["before"].to_numpy()[rows], sub["units"].to_numpy()[rows]
        total[rows] = upto(before + units) - upto(before)
        by_report[rows] = before + units > len(steps)
    units = sub["units"].to_numpy()
    reduced = total < 100 * units
    index = sub.index[reduced]
    out.loc[index, "share_num"] = total[reduced]
    out.loc[index, "share_den"] = 100 * units[reduced]
    out.loc[index, "reduced"] = True
    rank = (sub["before"].to_numpy() + 1).astype(str)
    paid = [str(Fraction(int(a), int(b)) * 100) for a, b in zip(total[reduced], 100 * units[reduced])]
    text = ("Multiple procedures (MULT PROC " + sub["mult_proc"].to_numpy()[reduced] + "): ranked " + rank[reduced]
            + " by fee schedule amount, paid at " + np.array(paid, dtype=object) + "%.")  # fmt: skip
    text = np.where(by_report[reduced], text + " Sixth and later procedures are priced by report by the contractor; "
                    "the last listed percentage is shown.", text)  # fmt: skip
    for indicator, note in not_applied.items():
        text = np.where(sub["mult_proc"].to_numpy()[reduced] == indicator, text + " " + note, text)
    out.loc[index, "reason"] = text


def _ranked_by_technical_component(t, out, mask, indicator: str, rule: dict) -> None:
    members = t["eligible"].to_numpy() & mask & (t["mult_proc"] == indicator).to_numpy()
    if "family" in rule:
        members &= (t["imaging_family"] == rule["family"]).to_numpy()
    if members.sum() < 2 and not (t["units"].to_numpy()[members] > 1).any():
        return
    sub = _ranked(t, members, "tc_fee", ["claim_group"])
    later = np.where(sub["before"].to_numpy() == 0, sub["units"].to_numpy() - 1, sub["units"].to_numpy())
    hit = later > 0
    if not hit.any():
        return
    sub, later = sub[hit], later[hit]
    units, fee = sub["units"].to_numpy(), sub["unit_fee"].to_numpy()
    cut = later * (int(rule["technical_reduction"]) * sub["tc_fee"].to_numpy() + int(rule["professional_reduction"]) * sub["pc_fee"].to_numpy())
    whole = 100 * units * fee
    keep = whole > 0
    index = sub.index[keep]
    out.loc[index, "share_num"] = (whole - np.minimum(cut, whole))[keep]
    out.loc[index, "share_den"] = whole[keep]
    out.loc[index, "reduced"] = True
    out.loc[index, "reason"] = (f"Multiple procedures (MULT PROC {indicator}): a later procedure of the session, technical "
                                f"component reduced {rule['technical_reduction']}%"
                                + (f", professional component {rule['professional_reduction']}%" if int(rule["professional_reduction"]) else "")
                                + ".")  # fmt: skip
