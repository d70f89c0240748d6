"""Hall air and rear doors.

Each rack's trays leave ``air_w`` of heat in their exhaust air (flow C = rho * cp * air_flow). The rear door
cools that exhaust with facility water: q_door = eps * C * (T_exhaust - T_water), never negative (a door
cannot move heat from cooler air into warmer water) and at most its capacity. Its effectiveness and
capacity fall with its working fans toward the passive share. What the door does not take goes to the
hall air: one node per hall, cooled by air handlers under proportional control (more output as the air
warms above setpoint, up to the capacity of the working handlers). A rack's inlet is the hall air plus a
share of its row neighbours' exhaust rise (hot-aisle leakage), so a failing door warms the racks beside it.
"""

from __future__ import annotations

import numpy as np

RHO_AIR = 1.18  # kg/m3 at ~27 C
CP_AIR = 1006.0  # J/(kg K)


class HallAir:
    def __init__(self, facility, topo):
        self.spec = a = facility.site.air
        rd = facility.rack.rdhx
        self.c_air = RHO_AIR * CP_AIR * rd.air_flow_m3_per_s  # W/K per rack
        self.eps = rd.effectiveness
        self.passive = rd.passive_frac
        self.door_cap_w = rd.capacity_kw * 1e3
        self.fans = topo.fans_per_door
        self._fan_w = np.full(self.fans, (1.0 - self.passive) / self.fans)
        self.slope = facility.rack.tray.air_w_slope_per_k
        self.hall = topo.rack_hall
        self.n_halls = topo.n_halls
        self.c_hall = a.heat_capacity_mj_per_k * 1e6
        self.handler_w = a.handler_capacity_kw * 1e3
        # row neighbours (same hall and row, positions -1 and +1); -1 where there is none
        idx = np.arange(topo.n_racks)
        same = lambda j: (j >= 0) & (j < topo.n_racks)  # noqa: E731
        left, right = idx - 1, idx + 1
        ok_l = same(left) & (topo.rack_pos > 0)
        ok_r = same(right) & np.concatenate([topo.rack_pos[1:] > topo.rack_pos[:-1], [False]])
        self.left = np.where(ok_l, left, idx)
        self.right = np.where(ok_r, right, idx)
        k = a.neighbour_recirculation * 0.5 / self.c_air
        self.k_l = ok_l * k  # K of inlet rise per W a neighbour leaves to the room
        self.k_r = ok_r * k

    def racks(self, eng, air_w_base: np.ndarray, water_c: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per rack: (air-side heat, heat the door puts in the water, heat left to the hall air), in W.
        Uses the previous step's room heat for the neighbours' share (one step of lag, stable)."""
        a = self.spec
        q = np.maximum(eng.rack_q_room_w, 0.0)  # exhaust returned to the room, above hall air
        neigh = q[self.left] * self.k_l
        neigh += q[self.right] * self.k_r
        inlet = eng.hall_air_c[self.hall] + neigh
        eng.rack_inlet_c = inlet
        air_w = air_w_base * (1.0 + self.slope * np.maximum(inlet - a.setpoint_c, 0.0))
        fans = eng.fan_ok @ self._fan_w  # a dot product beats a sum over the short fans axis
        fans += self.passive
        t_ex = inlet + air_w / self.c_air
        q_door = np.minimum(np.maximum(self.eps * fans * self.c_air * (t_ex - water_c), 0.0), self.door_cap_w * fans)
        return air_w, q_door, air_w - q_door

    def halls(self, eng, q_room: np.ndarray, dt: float) -> tuple[float, float]:
        """Advance the hall air nodes. Returns (heat the air handlers removed, their fan power) in W."""
        a = self.spec
        q_in = np.bincount(self.hall, weights=q_room, minlength=self.n_halls)
        working = eng.ahu_ok.sum(axis=1)
        if eng.hall_power_tripped.any():  # handlers share their hall's feed
            working = working * ~eng.hall_power_tripped
        load = np.minimum(np.maximum(eng.hall_air_c - a.setpoint_c, 0.0), a.control_band_k)
        load /= a.control_band_k
        q_out = working * self.handler_w * load
        eng.hall_air_c += (q_in - q_out) * dt / self.c_hall
        eng.hall_q_ahu_w = q_out
        return float(q_out.sum()), float((working * load).sum()) * a.handler_fan_kw * 1e3

    def failures(self, eng, dt: float) -> None:
        a = self.spec
        if a.handlers_per_hall == 0:
            return
        down = ~eng.ahu_ok
        if down.any():
            back = down & (eng.ahu_repair_t <= eng.t)
            for h, k in zip(*np.nonzero(back), strict=True):
                eng.ahu_ok[h, k] = True
                eng._event("fault_cleared", f"{eng.topo.hall_names[h]}-AH{k + 1}", "air handler repaired")
        p = a.handler_failure_per_year * dt / (365.25 * 86400.0)
        if p <= 0:
            return
        n = eng.rng.poisson(p * eng.ahu_ok.size)
        for _ in range(int(n)):
            h, k = divmod(int(eng.rng.integers(eng.ahu_ok.size)), a.handlers_per_hall)
            self.fail(eng, h, k, "random")

    def fail(self, eng, h: int, k: int, cause: str = "injected") -> None:
        a = self.spec
        if not eng.ahu_ok[h, k]:
            return
        eng.ahu_ok[h, k] = False
        sigma = eng.facility.repairs.sigma
        eng.ahu_repair_t[h, k] = (eng.t + a.handler_repair_median_s * float(np.exp(sigma * eng.rng.standard_normal()))
                                  if eng.facility.failures.auto_repair else np.inf)
        eng._event("fault_started", f"{eng.topo.hall_names[h]}-AH{k + 1}", f"air_handler_failure ({cause})")
