"""Per-rack estimates of the seconds until the hottest GPU throttles and until it shuts down, from the
current heat balance (not a lookup). Two paths, the sooner wins:

- the cold plates: heat in (GPU power) minus heat out to the coolant, over the GPU's heat capacity
  (junction + plate). Between the cap and slowdown temperatures the power is capped toward the lowest
  limit, above slowdown it halves; each segment is crossed at its own rate. This is the no-flow case.
- the water: when the facility water at the rack warms (a chiller deficit), the rack loop and its GPUs
  ride on it; the GPU keeps its present offset above that water, less what throttling takes off (the
  power drop times the plate-to-junction resistance), and reaches a limit when the water has risen that
  far. A loop that is merely settling toward its own equilibrium (start-up, a load change) is no trend.

Power and heat flows are smoothed over a few seconds (training swings every few seconds would otherwise
flicker estimates on healthy racks); a path counts only above a clear rate, and estimates beyond the
horizon are shown as none (inf).
"""

from __future__ import annotations

import math

import numpy as np


class TimeToLimit:
    def __init__(self, eng):
        est = eng.facility.estimates  # the labelled constants (model/facility.py EstimatesSpec)
        tau_gpu_s, tau_loop_s, horizon_s = est.ttl_tau_gpu_s, est.ttl_tau_loop_s, est.ttl_horizon_s
        min_gpu_k_per_s, min_loop_k_per_s = est.ttl_min_gpu_k_per_s, est.ttl_min_loop_k_per_s
        self.margin_k = est.hot_rack_margin_k
        self.c_gpu = eng._cj + eng._cp  # J/K per GPU, per rack
        self.r_gpu = 1.0 / eng._g1  # junction to plate, per rack
        gain = eng._gain_t.reshape(-1, eng.n_racks)
        self.hot_gain = gain.max(axis=0).astype(np.float64) / np.maximum(gain.mean(axis=0), 1e-9)
        self.n = eng.topo.gpus_per_rack
        self.tau_gpu, self.tau_loop = tau_gpu_s, tau_loop_s
        self.min_gpu, self.min_loop, self.horizon = min_gpu_k_per_s, min_loop_k_per_s, horizon_s
        self._shown = True  # the engine's arrays may hold estimates (first step, a restore): clear them once

    def update(self, eng, gpu_w_rack, q_gpu_water, g2, loop_rate_k_per_s, t_coolant, dt: float) -> None:
        a_g = 1.0 - math.exp(-dt / self.tau_gpu)
        a_l = 1.0 - math.exp(-dt / self.tau_loop)
        eng.ttl_p_w += a_g * (gpu_w_rack / self.n - eng.ttl_p_w)
        eng.ttl_q_w[:] = q_gpu_water / self.n  # follows the plate temperature: smooth already
        fw_rate = (eng.rack_fw_c - eng.ttl_fw_prev_c) / dt
        eng.ttl_fw_prev_c[:] = eng.rack_fw_c
        eng.ttl_loop_k_per_s += a_l * (fw_rate - eng.ttl_loop_k_per_s)
        # a cheap screen over every rack; the estimate itself only for racks that may be heading somewhere
        th, cap = eng.rack_hottest_c, eng.rack_t_cap_c
        heating = self.hot_gain * (eng.ttl_p_w - eng.ttl_q_w) > self.min_gpu * self.c_gpu
        cand = heating | (th > cap - self.margin_k) | (eng.ttl_loop_k_per_s > self.min_loop)
        if not cand.any():
            if np.isfinite(eng.rack_t_throttle_s[0]) or self._shown:  # clear what an earlier step showed
                eng.rack_t_throttle_s = np.full(eng.n_racks, np.inf)
                eng.rack_t_shutdown_s = np.full(eng.n_racks, np.inf)
                self._shown = False
            return
        thr = np.full(eng.n_racks, np.inf)
        sh = np.full(eng.n_racks, np.inf)
        i = np.flatnonzero(cand)
        thr[i], sh[i] = self._estimate(eng, i, g2[i], t_coolant[i])
        eng.rack_t_throttle_s = thr
        eng.rack_t_shutdown_s = sh
        self._shown = True

    def _estimate(self, eng, i: np.ndarray, g2: np.ndarray, t_coolant: np.ndarray):
        th = eng.rack_hottest_c[i]
        cap, slow, shut = eng.rack_t_cap_c[i], eng.rack_t_slow_c[i], eng.rack_t_shut_c[i]
        pmin = eng.rack_pmin_w[i]
        hg = self.hot_gain[i]
        p_a = eng.ttl_p_w[i] * hg
        p_b = 0.5 * (np.maximum(p_a, pmin) + pmin)  # the cap walks the power down to the lowest limit
        p_c = 0.5 * np.minimum(p_a, pmin)  # slowdown halves the lowest limit
        q = eng.ttl_q_w[i] * hg
        c, rj = self.c_gpu[i], self.r_gpu[i]
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            def seg(lo, hi, r):  # seconds to go from lo to hi at rate r (0 if already there)
                need = np.maximum(hi - lo, 0.0)
                return np.where(need <= 0, 0.0, np.where(r > 1e-9, need / r, np.inf))
            r_a, r_b, r_c = (p_a - q) / c, (p_b - q) / c, (p_c - q) / c
            # heading to a limit only if the coolant cannot hold the GPU below it at this power (else the GPU
            # is settling: start-up, a load step)
            r_tot = rj + 1.0 / np.maximum(g2, 1e-9)
            plate = ((r_a > self.min_gpu) | ((th >= cap - self.margin_k) & (r_b > 0.0))) & (t_coolant + p_a * r_tot > cap)
            # the plate carries the heat; the junction sits P * R_jp above it, so when throttling drops the
            # power the junction drops too and the plate has further to climb
            tp = th - p_a * rj
            thr_p = seg(th, cap, r_a)
            b0, b1 = cap - p_a * rj, slow - pmin * rj
            c1 = shut - p_c * rj
            shut_p = thr_p + seg(np.maximum(tp, b0), b1, r_b) + seg(np.maximum(tp, b1), c1, r_c)
            lr = eng.ttl_loop_k_per_s[i]
            loop = (lr > self.min_loop) & (eng.flow_frac[i] > 0.2)  # GPUs riding on a moving coolant
            thr_l = seg(th, cap, lr)
            shut_l = seg(th - (p_a - p_c) * r_tot, shut, lr)
        plate_shut = plate & (t_coolant + p_c * r_tot > shut)
        thr = np.minimum(np.where(plate, thr_p, np.inf), np.where(loop, thr_l, np.inf))
        sh = np.minimum(np.where(plate_shut, shut_p, np.inf), np.where(loop, shut_l, np.inf))
        thr[th >= cap] = 0.0
        dark = eng.ttl_p_w[i] < 1.0  # nothing powered: nothing to heat
        thr[(thr > self.horizon) | dark] = np.inf
        sh[(sh > self.horizon) | dark] = np.inf
        return thr, sh


def time_to_limit_text(eng, r: int) -> str:
    """'shutdown in ~45 s (throttling in ~20 s)' for a rack heading to its limits, else ''."""
    sh, thr = float(eng.rack_t_shutdown_s[r]), float(eng.rack_t_throttle_s[r])
    parts = []
    if math.isfinite(sh):
        parts.append(f"shutdown in ~{sh:.0f} s")
    if thr == 0.0 and eng.rack_throttled[r] > 0:
        parts.append("throttling now")
    elif math.isfinite(thr) and thr > 0:
        parts.append(f"throttling in ~{thr:.0f} s")
    if not parts:
        return ""
    return parts[0] + (f" ({parts[1]})" if len(parts) > 1 else "")
