"""The patient's share and the payer's payment of each line, vectorised over claims.

Within one claim of one payer, in line order: the visit copay is taken from the first lines, then
the deductible still owed, then coinsurance on the rest of each line; the payer pays what remains,
less sequestration. Each figure is rounded half up to the cent per line.

- Traditional Medicare (kind medicare): no copay; the Part B deductible the claim says is still owed;
  20% coinsurance (42 CFR 410.152), a drug's own co-insurance percentage from the ASP file, and on the
  hospital's OPPS line 20% rounded up to the cent, as Addendum B publishes its minimum unadjusted
  copayment; sequestration of 2% off Medicare's payment (parameters/sequestration_rate.yaml).
- Every other payer: the contract's copay (only when the claim is known: lines without a claim id
  carry none), the deductible the claim says is owed, the contract's coinsurance, and sequestration
  when the contract passes it through.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..contracts import Contract
from ..money import ratio_to_cents
from ..parameters import rate
from .medicare import RATE_SCALE


def _allocate(amount: np.ndarray, cap: np.ndarray, claims: pd.Series) -> np.ndarray:
    """Take up to each claim's ``cap`` (read on its lines) from its lines in order."""
    before = pd.Series(amount, index=claims.index).groupby(claims, sort=False).cumsum().to_numpy() - amount
    return np.minimum(amount, np.clip(cap - before, 0, None))


def withheld_rates(days: list) -> np.ndarray:
    """Sequestration's share of Medicare's payment on each date, in 1/RATE_SCALE
    (parameters/sequestration_rate.yaml)."""
    return np.array([int(rate("sequestration_rate", day) * RATE_SCALE) for day in days], np.int64)


def sequestered(payment: np.ndarray, rates: np.ndarray) -> np.ndarray:
    """Cents withheld from each payment at its rate, half up per line."""
    return ratio_to_cents(payment, rates, np.full(len(payment), RATE_SCALE))


def cost_sharing(t: pd.DataFrame, contracts: dict[str, Contract], days: list) -> pd.DataFrame:
    """copay, deductible, coinsurance, payer_payment and sequestration in cents for every line.

    ``t`` is sorted by claim and line order and has payer, payer_claim (claim of one payer),
    claim_known, day_group, allowed, deductible_owed (cents, read on each line of the claim),
    coinsurance_rate and coinsurance_up (Medicare's, from the fee rule).
    """
    n = len(t)
    allowed = t["allowed"].to_numpy(np.int64)
    copay_cap = np.zeros(n, np.int64)
    coinsurance = t["coinsurance_rate"].to_numpy(np.int64).copy()
    round_up = t["coinsurance_up"].to_numpy(bool).copy()
    sequestration = np.zeros(n, np.int64)
    withheld = withheld_rates(days)[t["day_group"].to_numpy()]
    for payer, rows in t.groupby("payer", sort=False).indices.items():
        if not payer:
            continue
        contract = contracts[payer]
        if contract.is_traditional_medicare:
            sequestration[rows] = withheld[rows]
            continue
        copay_cap[rows] = np.where(t["claim_known"].to_numpy()[rows], int(contract.copay * 100), 0)
        coinsurance[rows] = int(contract.coinsurance_percent * 1000)
        round_up[rows] = False
        sequestration[rows] = withheld[rows] if contract.sequestration else 0
    claims = t["payer_claim"]
    copay = _allocate(allowed, copay_cap, claims)
    deductible = _allocate(allowed - copay, t["deductible_owed"].to_numpy(np.int64), claims)
    rest = allowed - copay - deductible
    scale = np.full(n, RATE_SCALE)
    coinsurance_cents = np.where(round_up, -((-rest * coinsurance) // RATE_SCALE), ratio_to_cents(rest, coinsurance, scale))
    payment = rest - coinsurance_cents
    return pd.DataFrame(
        {
            "copay": copay,
            "deductible": deductible,
            "coinsurance": coinsurance_cents,
            "payer_payment": payment,
            "sequestration": sequestered(payment, sequestration),
        },
        index=t.index,
    )
