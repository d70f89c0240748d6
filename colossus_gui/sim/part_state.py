"""Snapshot and restore of a part of the engine that keeps its own arrays, failure counts, accumulators and
random generator (the fabric and the storage): the shared half of their ``snapshot``/``restore``."""

from __future__ import annotations

import numpy as np


def snapshot_part(part) -> dict:
    """Copies of ``part._ARRAYS`` plus ``acc``, ``failures_by_kind`` and the generator's state."""
    snap = {k: getattr(part, k).copy() for k in part._ARRAYS}
    snap["acc"] = dict(part.acc)
    snap["failures_by_kind"] = dict(part.failures_by_kind)
    snap["rng"] = part.rng.bit_generator.state
    return snap


def restore_part(part, snap: dict, name: str) -> None:
    """The inverse of :func:`snapshot_part`; an array of another shape (another facility) is a ValueError
    naming ``name.field``."""
    for k in part._ARRAYS:
        arr = np.asarray(snap[k])
        if arr.shape != getattr(part, k).shape:
            raise ValueError(f"snapshot field {name}.{k}: shape {arr.shape} does not fit this facility")
        setattr(part, k, arr.astype(getattr(part, k).dtype, copy=True))
    part.acc = {k: float(v) for k, v in snap["acc"].items()}
    part.failures_by_kind = {k: int(v) for k, v in snap["failures_by_kind"].items()}
    part.rng.bit_generator.state = snap["rng"]
