"""Facility water distribution: the plant's supply temperature reaches each rack after a transport delay
(hall pipe plus position along its row's header), warmed slightly along the header, with a little less
facility-side flow at the far end. A history of the plant supply is kept in a fixed ring; each rack reads it
by linear interpolation at its own delay (one np.interp over the racks per step)."""

from __future__ import annotations

import numpy as np


class Distribution:
    def __init__(self, facility, topo, capacity: int = 4096):
        d = facility.site.distribution
        rpr = np.array([h.racks_per_row for h in facility.halls])[topo.rack_hall]
        pos = topo.rack_pos / np.maximum(rpr - 1, 1)  # 0 at the header's inlet, 1 at its end
        self.delay_s = d.hall_delay_s + d.hall_delay_step_s * topo.rack_hall + d.header_delay_s * pos
        self.rise_k = d.header_rise_k * pos
        self.flow_frac = 1.0 - d.header_flow_drop_frac * pos
        self.ua_factor = self.flow_frac ** 0.8  # the CDU's facility side
        self.cap = capacity
        self.max_delay = float(self.delay_s.max()) if self.delay_s.size else 0.0

    def reset(self, eng, t_fs: float) -> None:
        eng.fw_hist_t = np.full(self.cap, -1e12)
        eng.fw_hist_c = np.full(self.cap, t_fs)
        eng.fw_hist_n = 1  # filled length of the (linear) history; slot 0 holds "long ago"

    def update(self, eng, dt: float) -> None:
        """Record the plant supply now and set every rack's facility supply (eng.rack_fw_c)."""
        n = eng.fw_hist_n
        if n == self.cap:  # full: keep the newer half (amortised; the history stays one sorted run)
            half = self.cap // 2
            eng.fw_hist_t[:half] = eng.fw_hist_t[n - half:n]
            eng.fw_hist_c[:half] = eng.fw_hist_c[n - half:n]
            n = half
        eng.fw_hist_t[n] = eng.t
        eng.fw_hist_c[n] = eng.t_fs
        n += 1
        eng.fw_hist_n = n
        k = min(n, int(self.max_delay / max(dt, 1e-3)) + 3)
        # older than the history: the oldest value held (np.interp clamps)
        np.add(np.interp(eng.t - self.delay_s, eng.fw_hist_t[n - k:n], eng.fw_hist_c[n - k:n]), self.rise_k,
               out=eng.rack_fw_c)
