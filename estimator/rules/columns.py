"""Reading the columns of a line table once per distinct value (categorical or not)."""

from __future__ import annotations

import numpy as np
import pandas as pd


def has_modifier(modifiers: pd.Series, wanted: list[str]) -> np.ndarray:
    """Whether each line's space-separated modifiers include one of ``wanted`` (worked out once per
    distinct value)."""
    if not wanted:
        return np.zeros(len(modifiers), bool)
    codes, uniques = value_codes(modifiers)
    hit = np.array([bool(set(str(u).split()) & set(wanted)) for u in uniques] + [False], dtype=bool)
    return hit[codes]


def value_codes(values: pd.Series) -> tuple[np.ndarray, pd.Index]:
    """Integer codes (-1 for missing) and distinct values of a column, categorical or not."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        return values.cat.codes.to_numpy(), values.cat.categories
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    return codes, pd.Index(uniques)
