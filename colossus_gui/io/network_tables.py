"""CSV of the fabric and storage time series (the Fabric and Storage views' export, and snapshot bundles)."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from ..sim.engine import Engine
from ..sim.fabric import FABRIC_CHANNELS, FABRIC_UNITS
from ..sim.storage import STORAGE_CHANNELS, STORAGE_UNITS
from .atomic import atomic_open
from .run_output import iso_times


def _write(engine: Engine, path, ring, channels, units) -> Path:
    path = Path(path)
    rows = ring.view()
    with atomic_open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["time_s", "iso_time", *[f"{c} [{units[c]}]" for c in channels if c != "t_s"]])
        iso = iso_times(engine, rows[:, 0]) if len(rows) else []
        body = np.char.mod("%.10g", rows[:, 1:]) if len(rows) else []
        for i in range(len(rows)):
            w.writerow([repr(float(rows[i, 0])), iso[i], *body[i]])
    return path


def write_fabric_csv(engine: Engine, path) -> Path:
    """Fabric throughput, bisection, links and switches down, power: one row per engine step."""
    return _write(engine, path, engine.fabric.ring, FABRIC_CHANNELS, FABRIC_UNITS)


def write_storage_csv(engine: Engine, path) -> Path:
    """Storage write bandwidth, rebuild and checkpoint bandwidth, checkpoint stall, nodes and drives down."""
    return _write(engine, path, engine.storage.ring, STORAGE_CHANNELS, STORAGE_UNITS)
