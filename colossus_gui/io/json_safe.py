"""JSON that every reader accepts: NaN and infinities (which ``json.dumps`` writes as bare ``NaN``/``Infinity``,
not JSON) become null, numpy scalars become Python numbers."""

from __future__ import annotations

import json
import math

import numpy as np


def finite(obj):
    """A copy of ``obj`` with every non-finite float replaced by None (lists, tuples and dicts walked)."""
    if isinstance(obj, dict):
        return {k: finite(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [finite(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return finite(obj.tolist())
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def dumps(obj, **kwargs) -> str:
    """``json.dumps`` that never writes NaN/Infinity (they become null)."""
    return json.dumps(finite(obj), allow_nan=False, **kwargs)
