"""Compiled-regex helpers shared by the template modules (cached compilation, vectorized full matches)."""

from __future__ import annotations

import re
from functools import lru_cache

import numpy as np

__all__ = ["compile_pattern", "fullmatches"]


@lru_cache(maxsize=256)
def compile_pattern(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.DOTALL)


def fullmatches(pattern: re.Pattern[str], values: list[str]) -> np.ndarray:
    """``bool`` array: does ``pattern`` fully match each string (C-level iteration over the list)."""
    return np.fromiter(map(bool, map(pattern.fullmatch, values)), dtype=bool, count=len(values))
