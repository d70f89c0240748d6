"""The chiller plant and the CDUs' protection against hot facility water.

Chillers: capacity and COP depend on the lift (outdoor air minus leaving water): warmer leaving water and
cooler air make both larger. Below the free-cooling margin an economiser takes a growing share of the load
over a band of a few kelvin, so the plant COP blends continuously into the free-cooling COP (no jump).

Protection: a CDU whose facility supply runs hot caps its GPUs' power (from tdp at cap_start_c to the lowest
settable limit at cap_full_c), and trips its rack at trip_c; tripped racks come back below reset_c. The
states are per rack; events are raised per hall so a plant-wide excursion is a few lines, not thousands.
"""

from __future__ import annotations

import numpy as np


def chiller_capacity_frac(ch, ambient_c: float, leaving_c: float) -> float:
    """Capacity of one chiller as a fraction of its rating, at this lift."""
    lift = (ambient_c - leaving_c) - (ch.cop_ref_ambient_c - ch.cop_ref_leaving_c)
    return min(max(1.0 - ch.capacity_derate_per_k * lift, ch.capacity_min_frac), ch.capacity_max_frac)


def plant_cop(ch, ambient_c: float, leaving_c: float) -> tuple[float, float]:
    """(plant COP, economiser share). Mechanical COP from the lift, blended with free cooling by the share
    of the load the economiser carries (electric power adds, so the COPs blend harmonically)."""
    lift = (ambient_c - leaving_c) - (ch.cop_ref_ambient_c - ch.cop_ref_leaving_c)
    cop_mech = min(max(ch.cop_ref - ch.cop_slope_per_k * lift, ch.cop_min), ch.cop_max)
    share = min(max((leaving_c - ch.free_cooling_margin_k - ambient_c) / ch.economiser_band_k, 0.0), 1.0)
    return 1.0 / ((1.0 - share) / cop_mech + share / ch.free_cooling_cop), share


class SupplyProtection:
    """CDU supply high-temperature limit: power cap, then trip, per rack; events and latches per hall."""

    def __init__(self, spec, rack_hall: np.ndarray, n_halls: int):
        self.spec = spec
        self.rack_hall = rack_hall
        self.n_halls = n_halls

    def update(self, eng, supply_c: np.ndarray) -> np.ndarray | None:
        """Update the rack trip states from each CDU's facility supply. Returns the per-rack GPU power cap
        (W), or None when no rack is capped (the common case costs two comparisons)."""
        sp = self.spec
        if float(supply_c.max()) <= sp.cap_start_c and not eng.hall_supply_state.any():
            return None  # the common case: every CDU's supply is below the cap limit and nothing is latched
        tripped = eng.rack_supply_tripped
        if tripped.any() and float(supply_c[tripped].max()) < sp.reset_c:
            eng.rack_supply_tripped[:] = False
            eng._tray_avail_dirty = True
            for h in np.flatnonzero(eng.hall_supply_state == 2):
                eng._event("supply_trip_reset", eng.topo.hall_names[h],
                           f"facility supply below {sp.reset_c:g} C: racks back in service")
        hot = supply_c > sp.cap_start_c
        new_trip = (supply_c >= sp.trip_c) & ~eng.rack_supply_tripped
        if new_trip.any():
            eng.rack_supply_tripped |= new_trip
            eng._tray_avail_dirty = True
            tpr = eng.topo.trays_per_rack
            for h in np.unique(self.rack_hall[new_trip]):
                racks = np.flatnonzero(new_trip & (self.rack_hall == h))
                eng._event("supply_high_trip", eng.topo.hall_names[h],
                           f"{racks.size} rack(s) tripped: CDU facility supply {supply_c[racks].max():.1f} C "
                           f"over {sp.trip_c:g} C")
                for j in np.unique(eng.tray_job[(racks[:, None] * tpr + np.arange(tpr)).ravel()]):
                    if j < eng.n_jobs:
                        eng._interrupt_job(int(j), "supply_trip", eng.topo.hall_names[h])
        # hall state: 0 normal, 1 capping, 2 some rack tripped
        state = np.zeros(self.n_halls, dtype=np.int8)
        if hot.any():
            np.maximum.at(state, self.rack_hall[hot], 1)
        if eng.rack_supply_tripped.any():
            np.maximum.at(state, self.rack_hall[eng.rack_supply_tripped], 2)
        for h in np.flatnonzero(state != eng.hall_supply_state):
            name = eng.topo.hall_names[h]
            if state[h] >= 1 and eng.hall_supply_state[h] == 0:
                eng._event("supply_high_cap", name, f"CDU facility supply {supply_c[self.rack_hall == h].max():.1f} C "
                           f"over {sp.cap_start_c:g} C: GPU power capped")
            elif state[h] == 0:
                eng._event("supply_high_cleared", name, "facility supply back below the cap limit")
        eng.hall_supply_state[:] = state
        if not hot.any():
            return None
        frac = np.clip((supply_c - sp.cap_start_c) / (sp.cap_full_c - sp.cap_start_c), 0.0, 1.0)
        return eng.rack_tdp_w - frac * (eng.rack_tdp_w - eng.rack_pmin_w)
