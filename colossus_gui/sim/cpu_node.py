"""Host CPUs as one thermal node per rack: they share the rack loop with the GPUs, so with no coolant flow
they heat up too, throttle (PROCHOT) and at last shut their hosts down (THERMTRIP), taking the trays' GPUs
with them. Lumped per rack because every CPU of a rack sees the same loop water; the arrays are per rack."""

from __future__ import annotations

import numpy as np


class CpuNode:
    def __init__(self, facility, trays_per_rack: int, g_still_per_rack: np.ndarray):
        tray = facility.rack.tray
        n_cpu = trays_per_rack * tray.cpus
        self.c_j_per_k = max(1.0, n_cpu * tray.cpu_c_j_per_k)
        self.g_design = n_cpu / tray.cpu_r_k_per_w
        self.g_still = n_cpu * g_still_per_rack  # the same no-flow conduction as a GPU cold plate, per CPU
        self.w_per_tray = tray.cpus * tray.cpu_w
        self.t_throttle_c = tray.cpu_t_throttle_c
        self.throttle_frac = tray.cpu_throttle_frac
        self.t_shutdown_c = tray.cpu_t_shutdown_c

    def step(self, t_cpu: np.ndarray, powered_trays: np.ndarray, flow_08: np.ndarray, t_coolant: np.ndarray,
             dt: float) -> tuple[np.ndarray, np.ndarray]:
        """Advance the CPU temperatures in place (backward Euler); flow_08 is flow_frac ** 0.8.
        Returns (CPU power, heat to the loop) in W."""
        p = powered_trays * self.w_per_tray
        hot = t_cpu >= self.t_throttle_c
        if hot.any():
            p = np.where(hot, p * self.throttle_frac, p)
        g = self.g_design * flow_08 + self.g_still
        k = self.c_j_per_k / dt
        t_cpu[:] = (k * t_cpu + p + g * t_coolant) / (k + g)
        return p, g * (t_cpu - t_coolant)
