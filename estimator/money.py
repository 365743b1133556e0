"""Exact decimal arithmetic for fee-schedule money.

CMS publishes RVUs with 2 decimals, GPCIs with 3 and the conversion factor with 4; an
amount is the exact product of those, rounded half up to the cent once, at the end of a
line (CMS, "How to use the searchable Medicare Physician Fee Schedule", and the PFS
payment files, which carry amounts in cents). Binary floats never hold money here:
decimal strings are read into integers of 10**-places units, products stay integers,
and only the final figure is rounded.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import Any

import numpy as np
import pandas as pd

CENT = Decimal("0.01")
_DECIMAL_TEXT = r"\d+(?:\.\d*)?|\.\d+"


def bad_decimal_rows(text: pd.Series, places: int) -> pd.Series:
    """Rows of ``text`` that are not a plain non-negative decimal with at most ``places`` decimals."""
    well_formed = text.str.fullmatch(_DECIMAL_TEXT).fillna(False).astype(bool)
    decimals = text.str.partition(".")[2].str.rstrip("0").str.len()
    return ~well_formed | (decimals > places)


def to_units(text: pd.Series, places: int) -> np.ndarray:
    """Decimal strings -> int64 counts of 10**-places (``"0.869"``, 3 -> 869).

    The caller has checked the strings with :func:`bad_decimal_rows`; this never rounds.
    """
    parts = text.str.partition(".")
    whole = parts[0].replace("", "0").astype("int64").to_numpy()
    fraction = parts[2].str.rstrip("0").str.ljust(places, "0").replace("", "0").astype("int64").to_numpy()
    return whole * 10**places + fraction


def decimal_text(text: pd.Series, places: int) -> pd.Series:
    """Canonical text with exactly ``places`` decimals ("1" -> "1.000" for 3)."""
    units = to_units(text, places)
    if places == 0:
        return pd.Series(units.astype(str), index=text.index)
    whole, fraction = np.divmod(units, 10**places)
    return (
        pd.Series(whole.astype(str), index=text.index) + "." + pd.Series(fraction.astype(str), index=text.index).str.zfill(places)
    )


def round_half_up_to_cents(numerator: np.ndarray, denominator: int) -> np.ndarray:
    """Exact non-negative dollars ``numerator / denominator`` -> int64 cents, half up."""
    if numerator.size == 0:
        return numerator.astype(np.int64)
    if numerator.min() < 0:
        raise ValueError("fee-schedule amounts are never negative")
    if numerator.max() < np.iinfo(np.int64).max // 200 and denominator % 2 == 0:
        return (numerator * 100 + denominator // 2) // denominator  # one exact integer division
    dollars, rest = np.divmod(numerator, denominator)
    cents, remainder = np.divmod(rest * 100, denominator)
    return dollars * 100 + cents + (2 * remainder >= denominator)


def ratio_to_cents(amount: np.ndarray, numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """Exact ``amount x numerator / denominator`` (non-negative integers, element-wise), rounded half up
    to an integer once. Falls back to Python integers where an int64 product could overflow."""
    amount, numerator, denominator = (np.asarray(x, dtype=np.int64) for x in (amount, numerator, denominator))
    if amount.size == 0:
        return amount.copy()
    if (amount < 0).any() or (numerator < 0).any() or (denominator <= 0).any():
        raise ValueError("amounts, shares and denominators are non-negative (denominators positive)")
    if float(np.max(amount.astype(float) * numerator.astype(float))) < 2.0**61:
        return (2 * amount * numerator + denominator) // (2 * denominator)
    exact = [(2 * int(a) * int(n) + int(d)) // (2 * int(d)) for a, n, d in zip(amount, numerator, denominator, strict=True)]
    return np.array(exact, dtype=np.int64)


def scale_by(numerator: np.ndarray, denominator: int, rate: Fraction) -> tuple[np.ndarray, int]:
    """Multiply an exact amount ``numerator / denominator`` by an exact rate, keeping it exact."""
    return numerator * rate.numerator, denominator * rate.denominator


def cents_to_decimal(cents: int) -> Decimal:
    """Integer cents -> Decimal dollars with two places."""
    return (Decimal(int(cents)) / 100).quantize(CENT)


def round_cents(amount: Decimal | Fraction) -> Decimal:
    """Round an exact non-negative dollar amount half up to the cent (once per line)."""
    if isinstance(amount, Decimal):
        return amount.quantize(CENT, rounding=ROUND_HALF_UP)
    cents, remainder = divmod(amount.numerator * 100, amount.denominator)
    return cents_to_decimal(cents + (2 * remainder >= amount.denominator))


def units_text(units: Any, places: int = 2) -> Any:
    """Integer counts of 10**-places (nullable, possibly negative) -> text with exactly ``places``
    decimals ("-12.05"); missing values become "". Vectorised with pyarrow compute; returns a pandas
    string array backed by Arrow (no Python object per value)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    values = pd.array(units, dtype="Int64")
    missing = np.asarray(values.isna())
    numbers = values.to_numpy(dtype=np.int64, na_value=0)
    whole, part = np.divmod(np.abs(numbers), 10**places)
    text = pc.cast(pa.array(whole), pa.string())
    if places:
        text = pc.binary_join_element_wise(text, pc.utf8_lpad(pc.cast(pa.array(part), pa.string()), places, "0"), ".")
    negative = numbers < 0
    if negative.any():
        text = pc.if_else(pa.array(negative), pc.binary_join_element_wise(pa.scalar("-"), text, ""), text)
    if missing.any():
        text = pc.if_else(pa.array(missing), "", text)
    return pd.array(text, dtype="str")


def decimal_array(units: Any, places: int = 2) -> Any:
    """Integer counts of 10**-places (nullable, possibly negative) -> an Arrow decimal64(18, places)
    array of the same exact values (4725, 2 -> 47.25). The integers are the decimals' unscaled values,
    as Arrow stores them, so the array shares their memory and no value passes through text or a
    float. Arrow's CSV writer writes "47.25"; Parquet stores DECIMAL(18, places)."""
    import pyarrow as pa

    values = units.array if isinstance(units, pd.Series) else units
    if isinstance(values, pd.arrays.IntegerArray) and values.dtype == "Int64":  # its own buffers, not a copy
        numbers, missing = values._data, values._mask
    elif isinstance(values, np.ndarray) and values.dtype == np.int64:
        numbers, missing = values, np.zeros(len(values), bool)
    else:
        masked = pd.array(values, dtype="Int64")
        numbers, missing = masked._data, masked._mask
    numbers = np.ascontiguousarray(numbers)
    if numbers.size and max(-int(numbers.min()), int(numbers.max())) >= 10**18:
        raise ValueError(f"a value does not fit decimal(18, {places})")
    validity = pa.py_buffer(np.packbits(~missing, bitorder="little")) if missing.any() else None
    return pa.Array.from_buffers(pa.decimal64(18, places), len(numbers), [validity, pa.py_buffer(numbers)])


def dollars(cents: Any) -> Any:
    """Integer cents as a pandas column of exact dollars (Arrow decimal(18, 2)): "47.25" in CSV,
    DECIMAL(18, 2) in Parquet, a number in xlsx, Decimal("47.25") in Python."""
    return pd.arrays.ArrowExtensionArray(decimal_array(cents, 2))
