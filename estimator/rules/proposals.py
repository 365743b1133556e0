"""A proposed same-day rule, for lines priced under a proposal (estimator.proposals): when a claim has
an E/M with modifier 25 and a procedure whose global period is listed (0, 10 or 90 days in CMS-1848-P),
every PFS service of the claim and date but the highest-paid is paid at the proposal's percentage.

Applied after the claim edits and the multiple-procedure ranking, on the lines still paid; "highest
paid" is the line's amount after those. Drugs (ASP) and facility lines are not PFS services.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..domain import Biller, Category
from ..proposals import proposals
from .columns import has_modifier


def proposed_same_day(t: pd.DataFrame, paid: np.ndarray) -> dict[str, np.ndarray]:
    """Per line: share_num and share_den (the line's share times the proposal's), reduced, reason."""
    num, den = t["share_num"].to_numpy(np.int64).copy(), t["share_den"].to_numpy(np.int64).copy()
    reduced = np.zeros(len(t), bool)
    reason = np.full(len(t), "", dtype=object)
    services = (
        paid
        & (t["biller"] == Biller.PHYSICIAN).to_numpy()
        & t["category"].isin([Category.PROCEDURE, Category.GUIDANCE, Category.EM]).to_numpy()
        & (t["unit_fee"].to_numpy() > 0)
    )
    claim = t["claim_group"].to_numpy()
    for name in [c for c in t["proposal"].cat.categories if c]:
        rule = proposals()[name]
        if rule.em_25_share == 1 or not rule.em_25_global_days:
            continue
        mine = services & (t["proposal"] == name).to_numpy()
        em25 = mine & (t["category"] == Category.EM).to_numpy() & has_modifier(t["modifiers"], ["25"])
        procedure = (
            mine & (t["category"] == Category.PROCEDURE).to_numpy() & t["global_days"].isin(rule.em_25_global_days).to_numpy()
        )
        both = np.isin(claim, claim[em25]) & np.isin(claim, claim[procedure]) & mine
        if not both.any():
            continue
        rows = np.flatnonzero(both)
        amount = t["unit_fee"].to_numpy(np.int64)[rows] * t["units"].to_numpy(np.int64)[rows] * num[rows] / den[rows]
        order = np.lexsort((t["order"].to_numpy()[rows], -amount, claim[rows]))
        ranked = rows[order]
        first = np.r_[True, claim[ranked][1:] != claim[ranked][:-1]]
        cut = ranked[~first]
        num[cut] *= rule.em_25_share.numerator
        den[cut] *= rule.em_25_share.denominator
        reduced[cut] = True
        reason[cut] = rule.em_25_reason
    return {"share_num": num, "share_den": den, "reduced": reduced, "reason": reason}
