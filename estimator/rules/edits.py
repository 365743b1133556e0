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

import numpy as np
import pandas as pd

from ..domain import Category, Edit
from ..parameters import parameter
from ..store import FeeSchedules
from .columns import has_modifier, value_codes

NO_LIMIT = np.iinfo(np.int64).max


def _per_code(t: pd.DataFrame, rows: np.ndarray, values: pd.Series) -> np.ndarray:
    """``values`` (indexed by code) looked up for the lines ``rows``, once per distinct code."""
    codes, uniques = value_codes(t["code"])
    return values.reindex(pd.Index(uniques, dtype=object)).to_numpy()[codes[rows]]


def claim_edits(t: pd.DataFrame, schedules: FeeSchedules, days: list[dt.date]) -> tuple[dict[str, np.ndarray], list[str]]:
    """Per line: denied (bool), edit and edit_reason, for the lines ``t["eligible"]`` marks (the
    practitioner's payable lines); and notes on the MUE table used for each date. ``t`` also has
    claim_group, day_group, code, modifiers, units, category, global_days, unit_fee and order."""
    n = len(t)
    out = {"denied": np.zeros(n, bool), "edit": np.full(n, "", dtype=object), "edit_reason": np.full(n, "", dtype=object)}
    live = t["eligible"].to_numpy().copy()
    rules, notes = {}, []
    limit = np.full(n, NO_LIMIT, np.int64)
    per_line = np.zeros(n, bool)
    source = np.full(n, "", dtype=object)
    day_group = t["day_group"].to_numpy()
    code_text = np.asarray(t["code"].to_numpy(), dtype=object)
    for group in np.unique(day_group[live]):
        rows = np.flatnonzero(live & (day_group == group))
        day = days[group]
        rules[group] = parameter("edits/claim_edits", day).value
        mue, note = schedules.in_force_or_latest("mue", day)
        notes.append(
            note
            if mue is not None
            else f"No CMS MUE table is held for {day} or before; only the unit-of-service rules of the claim edits apply."
        )
        if mue is not None:
            table = schedules.table(mue).set_index("hcpcs")
            value = _per_code(t, rows, pd.to_numeric(table["mue"], errors="coerce"))
            known = ~np.isnan(value.astype(float))
            limit[rows[known]] = value[known].astype(np.int64)
            per_line[rows[known]] = _per_code(t, rows, table["adjudication"] == "line")[known].astype(bool)
            source[rows[known]] = f"CMS MUE value, {mue.name}"
        for rule in rules[group]["unit_of_service"]:
            hit = np.isin(code_text[rows], rule["codes"]) & (rule["units"] < limit[rows])
            limit[rows[hit]] = rule["units"]
            per_line[rows[hit]] = False
            source[rows[hit]] = f"{rule['reason']}; {rule['source'].split(' - ')[0]}"
    units = t["units"].to_numpy()
    code_codes = value_codes(t["code"])[0] + 1
    total = (
        pd.Series(np.where(live, units, 0))
        .groupby(_pair(t["claim_group"].to_numpy(), code_codes), sort=False)
        .transform("sum")
        .to_numpy()
    )
    over = live & np.where(per_line, units > limit, total > limit)
    shown = np.where(per_line, units, total)

    def units_reason(hit: np.ndarray) -> np.ndarray:
        code = code_text[hit]
        return np.array(
            [
                f"Denied: {u} units of {c} on one claim and date; the limit is {m} ({s}). Bill at most {m}."
                for u, c, m, s in zip(shown[hit], code, limit[hit], source[hit], strict=True)
            ],
            dtype=object,
        )

    _deny(out, live, over, Edit.UNITS, units_reason)
    for group, rule in rules.items():
        mask = day_group == group
        _exclusive(t, out, live, mask, rule["exclusive"])
        _em_with_procedure(t, out, live, mask, rule["em_with_procedure"])
        _add_on(t, out, live, mask, rule["add_on"])
    return out, [n for n in notes if n]


def _pair(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.asarray(a, np.int64) * (int(np.max(b, initial=0)) + 1) + np.asarray(b, np.int64)


def _deny(out: dict[str, np.ndarray], live: np.ndarray, hit: np.ndarray, edit: Edit, reason) -> None:
    """Deny the ``hit`` lines still payable; ``reason``: a text, or a function of the hit mask."""
    hit = hit & live
    if not hit.any():
        return
    out["denied"][hit] = True
    out["edit"][hit] = edit.value
    out["edit_reason"][hit] = reason(hit) if callable(reason) else reason
    live &= ~hit


def _any_in_claim(t: pd.DataFrame, flag: np.ndarray) -> np.ndarray:
    """Whether any line of each line's claim (and date) has ``flag``."""
    claim = t["claim_group"].to_numpy()
    return np.bincount(claim, weights=flag.astype(np.int64), minlength=int(claim.max(initial=-1)) + 1)[claim] > 0


def _exclusive(t, out, live, mask, groups) -> None:
    """At most one code of each group per claim and date; the highest-paid (then the first) is kept."""
    for rule in groups:
        members = live & mask & t["code"].isin(rule["codes"]).to_numpy()
        if members.sum() < 2:
            continue
        rows = np.flatnonzero(members)
        claim = t["claim_group"].to_numpy()[rows]
        order = np.lexsort((t["order"].to_numpy()[rows], -t["unit_fee"].to_numpy()[rows], claim))
        ranked = rows[order]
        first = np.ones(len(ranked), bool)
        first[1:] = claim[order][1:] != claim[order][:-1]
        losers = np.zeros(len(t), bool)
        losers[ranked[~first]] = True
        losers &= ~(has_modifier(t["modifiers"], rule["bypass_modifiers"]) & t["bypass_ok"].to_numpy())
        keeper = pd.Series(t["code"].to_numpy()[ranked[first]], index=claim[order][first])

        def reason(hit: np.ndarray, keeper=keeper, rule=rule) -> np.ndarray:
            paid = keeper.reindex(t["claim_group"].to_numpy()[hit]).to_numpy()
            return np.array(
                [
                    f"Denied: {c} with {k} on the same claim and date; {rule['reason']}."
                    for c, k in zip(t["code"].to_numpy()[hit], paid, strict=True)
                ],
                dtype=object,
            )

        _deny(out, live, losers, Edit.EXCLUSIVE, reason)


def _em_with_procedure(t, out, live, mask, rule) -> None:
    """An E/M on the day of a minor procedure needs modifier 25 (57 before a major one)."""
    em = live & mask & (t["category"] == Category.EM).to_numpy()
    if not em.any():
        return
    procedure = live & mask & (t["category"] == Category.PROCEDURE).to_numpy()
    for global_days, bypass in rule["global_days"].items():
        with_procedure = _any_in_claim(t, procedure & (t["global_days"] == global_days).to_numpy())
        _deny(
            out,
            live,
            em & with_procedure & ~has_modifier(t["modifiers"], bypass),
            Edit.EM_IN_GLOBAL,
            f"Denied: {rule['reason']}; no modifier {' or '.join(bypass)} on the E/M.",
        )


def _add_on(t, out, live, mask, rule) -> None:
    """An add-on code (global ZZZ) is paid only with a primary procedure on the claim and date."""
    add_on = live & mask & t["global_days"].isin(rule["global_days"]).to_numpy()
    if not add_on.any():
        return
    primary = (
        live & mask & (t["category"] == Category.PROCEDURE).to_numpy() & ~t["global_days"].isin(rule["global_days"]).to_numpy()
    )
    _deny(out, live, add_on & ~_any_in_claim(t, primary), Edit.ADD_ON, f"Denied: {rule['reason']}.")
