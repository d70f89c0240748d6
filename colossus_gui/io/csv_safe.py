"""CSV cells a spreadsheet would run as a formula are made safe (OWASP CSV injection)."""

from __future__ import annotations

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value) -> str:
    s = str(value)
    if s.startswith(_FORMULA_START):
        # a plain negative number is data, not a formula
        try:
            float(s)
            return s
        except ValueError:
            return "'" + s
    return s
