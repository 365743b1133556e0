"""Claim edits: which practitioner lines of one claim and date of service are not paid, and why.

The rules and their sources are data (fee_schedules/parameters/edits/claim_edits.yaml; CMS MUE
tables in tables/mue/). In order, each on the lines still payable:

1. Units: a line whose code has more units than the MUE value (MAI 1: per line; MAI 2 and 3: all lines
   of the code on the date, summed) or than a unit-of-service rule allows is denied whole, as CMS
   denies it (the practice rebills the right units).
2. Exclusive codes: at most one code of a group per claim and date (20552/20553; one imaging guidance
   code); the highest-paid is kept, the others denied unless the group accepts a bypass modifier
   (59, XE, XP, XS, XU) and the line carries one.
3. E/M the same day as a minor procedure (global 000 or 010; 090 with 57): denied without modifier 25.
4. Add-on codes (global ZZZ) without a primary procedure on the claim and date: denied.
"""

from __future__ import annotations

import datetime as dt
import re

import numpy as np
import pandas as pd

from ..domain import Category, Edit
from ..parameters import parameter
from ..store import FeeSchedules

NO_LIMIT = np.iinfo(np.int64).max


def has_modifier(modifiers: pd.Series, wanted: list[str]) -> np.ndarray:
    """Whether each line's space-separated modifiers include one of ``wanted``."""
    if not wanted:
        return np.zeros(len(modifiers), bool)
    pattern = r"(?:^| )(?:" + "|".join(map(re.escape, wanted)) + r")(?: |$)"
    return modifiers.str.contains(pattern, regex=True).to_numpy()


def claim_edits(t: pd.DataFrame, schedules: FeeSchedules, days: list[dt.date]) -> tuple[pd.DataFrame, list[str]]:
    """Per line: denied (bool), edit and edit_reason, for the lines ``t["eligible"]`` marks (the
    practitioner's payable lines); and notes on the MUE table used for each date. ``t`` also has
    claim_group, day_group, code, modifiers, units, category, global_days, unit_fee and order."""
    out = pd.DataFrame({"denied": False, "edit": "", "edit_reason": ""}, index=t.index)
    live = t["eligible"].to_numpy().copy()
    rules, notes = {}, []
    limit = np.full(len(t), NO_LIMIT, np.int64)
    per_line = np.zeros(len(t), bool)
    source = np.full(len(t), "", dtype=object)
    groups = pd.Series(t["day_group"].to_numpy()[live])
    for group, at in groups.groupby(groups, sort=False).indices.items():
        rows = np.flatnonzero(live)[at]
        day = days[group]
        rules[group] = parameter("edits/claim_edits", day).value
        codes = t["code"].to_numpy()[rows]
        mue, note = schedules.in_force_or_latest("mue", day)
        notes.append(note if mue is not None else f"No CMS MUE table is held for {day} or before; only the unit-of-service "
                     "rules of the claim edits apply.")  # fmt: skip
        if mue is not None:
            table = schedules.table(mue).set_index("hcpcs")
            value = pd.to_numeric(table["mue"].reindex(codes), errors="coerce").to_numpy()
            known = ~np.isnan(value)
            limit[rows[known]] = value[known].astype(np.int64)
            per_line[rows[known]] = table["adjudication"].reindex(codes).to_numpy()[known] == "line"
            source[rows[known]] = f"CMS MUE value, {mue.name}"
        for rule in rules[group]["unit_of_service"]:
            hit = np.isin(codes, rule["codes"]) & (rule["units"] < limit[rows])
            limit[rows[hit]] = rule["units"]
            per_line[rows[hit]] = False
            source[rows[hit]] = f"{rule['reason']}; {rule['source'].split(' - ')[0]}"
    units = t["units"].to_numpy()
    counted = pd.Series(np.where(live, units, 0), index=t.index)
    total = counted.groupby([t["claim_group"], t["code"]], sort=False).transform("sum").to_numpy()
    over = live & np.where(per_line, units > limit, total > limit)
    shown_units = np.where(per_line, units, total).astype(str)
    allowed = pd.Series(limit.astype(str), index=t.index)
    _deny(out, live, over, Edit.UNITS, "Denied: " + shown_units + " units of " + t["code"] + " on one claim and date; the limit is "
          + allowed + " (" + pd.Series(source, index=t.index) + "). Bill at most " + allowed + ".")  # fmt: skip
    day_group = t["day_group"].to_numpy()
    for group, rule in rules.items():
        mask = day_group == group
        _exclusive(t, out, live, mask, rule["exclusive"])
        _em_with_procedure(t, out, live, mask, rule["em_with_procedure"])
        _add_on(t, out, live, mask, rule["add_on"])
    return out, [n for n in notes if n]


def _deny(out: pd.DataFrame, live: np.ndarray, hit: np.ndarray, edit: Edit, reason) -> None:
    hit = hit & live
    if not hit.any():
        return
    out.loc[hit, "denied"] = True
    out.loc[hit, "edit"] = edit.value
    out.loc[hit, "edit_reason"] = reason[hit] if isinstance(reason, pd.Series) else reason
    live &= ~hit


def _any_in_claim(t: pd.DataFrame, flag: np.ndarray) -> np.ndarray:
    return pd.Series(flag, index=t.index).groupby(t["claim_group"], sort=False).transform("any").to_numpy()


def _exclusive(t, out, live, mask, groups) -> None:
    """At most one code of each group per claim and date; the highest-paid (then the first) is kept."""
    for rule in groups:
        members = live & mask & t["code"].isin(rule["codes"]).to_numpy()
        if members.sum() < 2:
            continue
        sub = t[members].assign(_fee=-t["unit_fee"][members]).sort_values(["claim_group", "_fee", "order"], kind="stable")
        keeper = sub.groupby("claim_group", sort=False)["code"].first()
        kept_index = sub.groupby("claim_group", sort=False).head(1).index
        losers = members.copy()
        losers[t.index.get_indexer(kept_index)] = False
        losers &= ~has_modifier(t["modifiers"], rule["bypass_modifiers"])
        paid_code = t["claim_group"].map(keeper).fillna("")
        _deny(out, live, losers, Edit.EXCLUSIVE, "Denied: " + t["code"] + " with " + paid_code + " on the same claim and date; "
              + rule["reason"] + ".")  # fmt: skip


def _em_with_procedure(t, out, live, mask, rule) -> None:
    """An E/M on the day of a minor procedure needs modifier 25 (57 before a major one)."""
    em = live & mask & (t["category"] == Category.EM).to_numpy()
    if not em.any():
        return
    procedure = live & mask & (t["category"] == Category.PROCEDURE).to_numpy()
    for global_days, bypass in rule["global_days"].items():
        with_procedure = _any_in_claim(t, procedure & (t["global_days"] == global_days).to_numpy())
        _deny(out, live, em & with_procedure & ~has_modifier(t["modifiers"], bypass), Edit.EM_IN_GLOBAL,
              f"Denied: {rule['reason']}; no modifier {' or '.join(bypass)} on the E/M.")  # fmt: skip


def _add_on(t, out, live, mask, rule) -> None:
    """An add-on code (global ZZZ) is paid only with a primary procedure on the claim and date."""
    add_on = live & mask & t["global_days"].isin(rule["global_days"]).to_numpy()
    if not add_on.any():
        return
    primary = live & mask & (t["category"] == Category.PROCEDURE).to_numpy() & ~t["global_days"].isin(rule["global_days"]).to_numpy()
    _deny(out, live, add_on & ~_any_in_claim(t, primary), Edit.ADD_ON, f"Denied: {rule['reason']}.")
