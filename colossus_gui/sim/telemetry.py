"""Preallocated ring buffers: facility aggregates every step, per-rack figures at a lower rate.

Readers get views (``series(name)``), never copies of the world; nothing is allocated per step.
"""

from __future__ import annotations

import numpy as np

FACILITY_CHANNELS: tuple[str, ...] = (
    "t_s", "it_mw", "cooling_mw", "facility_mw", "grid_mw", "battery_mw", "turbine_mw", "grid_available_mw",
    "soc", "supply_c", "return_c", "ambient_c", "hottest_gpu_c", "p99_gpu_c", "mean_gpu_c",
    "hottest_return_c", "throttled_gpus", "gpus_in_service", "pue", "goodput", "chiller_cop", "shed_frac",
    "unserved_mw", "hall_air_c",
)
RACK_CHANNELS: tuple[str, ...] = ("hottest_c", "power_kw", "return_c", "supply_c", "flow_frac")
UNITS: dict[str, str] = {
    "t_s": "s", "it_mw": "MW", "cooling_mw": "MW", "facility_mw": "MW", "grid_mw": "MW", "battery_mw": "MW",
    "turbine_mw": "MW", "grid_available_mw": "MW", "soc": "fraction", "supply_c": "degC", "return_c": "degC",
    "ambient_c": "degC", "hottest_gpu_c": "degC", "p99_gpu_c": "degC", "mean_gpu_c": "degC",
    "hottest_return_c": "degC", "throttled_gpus": "count", "gpus_in_service": "count", "pue": "ratio",
    "goodput": "fraction", "chiller_cop": "ratio", "shed_frac": "fraction",
    "unserved_mw": "MW", "hall_air_c": "degC",
    "hottest_c": "degC", "power_kw": "kW", "flow_frac": "fraction",
}


class Ring:
    """A fixed-capacity ring of rows; ``view()`` returns the filled part in time order (a copy only when
    the ring has wrapped, which costs one concatenate of at most ``capacity`` rows)."""

    def __init__(self, capacity: int, shape: tuple[int, ...], dtype=np.float64):
        self.capacity = int(capacity)
        # np.full touches every page now: memory is taken once, up front, and RSS does not creep as the
        # ring fills (np.zeros would map pages lazily, looking like a leak for the first hours)
        self.data = np.full((self.capacity, *shape), np.nan, dtype=dtype)
        self.count = 0  # total rows ever pushed

    def push(self, row) -> None:
        self.data[self.count % self.capacity] = row
        self.count += 1

    def next_row(self) -> np.ndarray:
        """The row to fill in place; call ``commit()`` after."""
        return self.data[self.count % self.capacity]

    def commit(self) -> None:
        self.count += 1

    def __len__(self) -> int:
        return min(self.count, self.capacity)

    def view(self) -> np.ndarray:
        n = len(self)
        if self.count <= self.capacity:
            return self.data[:n]
        start = self.count % self.capacity
        return np.concatenate([self.data[start:], self.data[:start]])

    def clear(self) -> None:
        self.count = 0

    def truncate(self, n: int) -> None:
        """Keep the first ``n`` rows ever pushed (a restore to an earlier moment). Rows of the kept window that
        later rows already overwrote (a ring that wrapped since) become NaN: a gap, never wrong data."""
        n = max(0, min(int(n), self.count))
        first_stored = max(0, self.count - self.capacity)
        lo, hi = max(0, n - self.capacity), min(first_stored, n)
        if hi > lo:
            self.data[np.arange(lo, hi) % self.capacity] = np.nan
        self.count = n


class Telemetry:
    def __init__(self, n_racks: int, facility_capacity: int = 86400, rack_capacity: int = 720,
                 rack_every_s: float = 10.0):
        self.channels = FACILITY_CHANNELS
        self.index = {c: i for i, c in enumerate(FACILITY_CHANNELS)}
        self.facility = Ring(facility_capacity, (len(FACILITY_CHANNELS),))
        self.rack_every_s = rack_every_s
        self.rack_channels = RACK_CHANNELS
        self.rack_index = {c: i for i, c in enumerate(RACK_CHANNELS)}
        self.rack_t = Ring(rack_capacity, ())
        self.racks = Ring(rack_capacity, (len(RACK_CHANNELS), n_racks), dtype=np.float32)

    def series(self, name: str) -> np.ndarray:
        return self.facility.view()[:, self.index[name]]

    def rack_series(self, name: str, rack: int) -> tuple[np.ndarray, np.ndarray]:
        return self.rack_t.view(), self.racks.view()[:, self.rack_index[name], rack]

    def latest(self) -> dict[str, float]:
        if self.facility.count == 0:
            return {}
        row = self.facility.data[(self.facility.count - 1) % self.facility.capacity]
        return {c: float(row[i]) for i, c in enumerate(self.channels)}

    def clear(self) -> None:
        self.facility.clear()
        self.rack_t.clear()
        self.racks.clear()
