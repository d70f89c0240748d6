"""Hall feeder protection: when supply cannot carry the load even with shedding at its limit, trip halls
in the configured order (their IT, CDU pumps, door fans and air handlers lose power together); close them
again one at a time once the supply has margin for a while. No shortfall is ever silent: each trip is an
event, an alarm (rule hall_power) and a job interruption, and the unserved power is a telemetry column."""

from __future__ import annotations

import numpy as np


class HallFeeders:
    def __init__(self, facility, hall_names: list[str]):
        self.spec = pp = facility.site.power_protection
        order = pp.hall_trip_order or list(reversed(hall_names))
        rest = [h for h in reversed(hall_names) if h not in order]  # halls not listed trip last
        self.order = [hall_names.index(h) for h in order + rest]
        self.names = hall_names

    def update(self, eng, short_w: float, load_w: float, spare_w: float, dt: float) -> None:
        """short_w: load not served this step; spare_w: what supply could still give (grid, battery,
        turbines less the load). Trips or closes at most one hall per call."""
        pp = self.spec
        if short_w > pp.short_frac * max(load_w, 1.0):
            eng.feeder_short_s += dt
            eng.feeder_ok_s = 0.0
        else:
            eng.feeder_short_s = 0.0
            eng.feeder_ok_s += dt
        if eng.feeder_short_s >= pp.trip_after_s:
            for h in self.order:
                if not eng.hall_power_tripped[h]:
                    self._trip(eng, h, short_w)
                    break
            eng.feeder_short_s = 0.0
        elif eng.hall_power_tripped.any() and eng.feeder_ok_s >= pp.restore_after_s:
            h = next(h for h in reversed(self.order) if eng.hall_power_tripped[h])  # last tripped first back
            if spare_w > eng.hall_trip_load_w[h] * (1.0 + pp.restore_margin_frac):
                eng.hall_power_tripped[h] = False
                eng._tray_avail_dirty = True
                eng.feeder_ok_s = 0.0
                eng._event("hall_restored", self.names[h], f"feeder closed: {spare_w / 1e6:.1f} MW of supply margin")

    def _trip(self, eng, h: int, short_w: float) -> None:
        in_hall = eng.topo.rack_hall == h
        eng.hall_power_tripped[h] = True
        eng.hall_trip_load_w[h] = float(eng.rack_power_w[in_hall].sum()) * 1.25  # IT plus its share of cooling
        eng._tray_avail_dirty = True
        eng._event("hall_tripped", self.names[h],
                   f"feeder tripped: supply {short_w / 1e6:.1f} MW short with load shedding at its limit")
        for j in np.unique(eng.tray_job[in_hall[eng._rack_of_tray]]):
            if j < eng.n_jobs:
                eng._interrupt_job(int(j), "power", self.names[h])
