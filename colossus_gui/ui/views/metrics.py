"""What the facility views colour by: rack metrics (one value per rack) and GPU metrics (one per GPU).

Qt-free numpy on purpose (it lives in ``ui/`` because only the views use it): every function here takes the
engine and returns whole arrays, with no Python loop over racks or GPUs, so colouring 200k GPUs at 10 Hz
costs a few array passes.

A :class:`Metric` carries its label, unit, warning/critical limits, the colour scale it uses and how values
map onto it. "Low is bad" metrics (coolant flow, GPUs in service, clock) are judged at or *below* their
limits, the others at or *above*.

Busways have no rating in the facility file yet: a row's busway is taken as rated for the row's design power
at 80 % continuous loading (the usual rule for continuous loads) [E]; see :func:`row_busway_load`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from ...model.thresholds import DEFAULT_LIMITS, Limits
from .. import colors

# A busway carries at most 80 % of its rating continuously [E: NEC continuous-load rule]; so design load of
# the row's racks is 80 % of the rating, and the warning starts there.
BUSWAY_CONTINUOUS_FRAC = 0.8
BUSWAY_WARN_PCT = 80.0
BUSWAY_CRIT_PCT = 95.0

# Where the limits sit on a severity LUT (green .. amber at warning .. red at critical).
_SEVERITY_POS = (0.0, 0.55, 0.9, 1.0)

GPU_STATES = ("normal", "power-capped", "slowdown", "shutdown", "failed", "off")
GPU_NORMAL, GPU_CAPPED, GPU_SLOWDOWN, GPU_SHUTDOWN, GPU_FAILED, GPU_OFF = range(6)


@dataclass(frozen=True)
class Metric:
    """One colourable figure. ``func(engine)`` returns float32 values: ``(n_racks,)`` for rack metrics,
    ``(n_racks, gpus_per_rack)`` for GPU metrics. NaN means "no reading" and is drawn grey."""

    name: str
    label: str
    unit: str
    func: Callable
    vmin: float
    vmax: float
    warn: float | None = None
    crit: float | None = None
    low_is_bad: bool = False
    lut_name: str = "thermal"
    decimals: int = 1
    description: str = ""
    # facility- and alarm-dependent limits: (engine, Limits) -> a dict of field overrides (vmin, vmax, warn, crit)
    limits_for: Callable | None = None

    # ------------------------------------------------------------------ values and colours
    def values(self, engine) -> np.ndarray:
        return np.asarray(self.func(engine), dtype=np.float32)

    def resolved(self, engine, limits: Limits | None = None) -> Metric:
        """This metric with limits fitted to the engine's facility (rated power, CDU rating) and to the alarm
        rules (``limits``, default the built-in rules): a colour turns amber exactly where the alarm does."""
        if self.limits_for is None:
            return self
        return replace(self, **self.limits_for(engine, limits or DEFAULT_LIMITS))

    @property
    def lut(self) -> np.ndarray:
        return colors.LUTS[self.lut_name]

    def _knots(self) -> tuple[np.ndarray, np.ndarray] | None:
        """Piecewise scale through the limits for severity LUTs, so amber means warning, red critical."""
        if self.lut_name != "severity" or self.warn is None or self.crit is None:
            return None
        best, worst = (self.vmax, self.vmin) if self.low_is_bad else (self.vmin, self.vmax)
        xp = np.array([best, self.warn, self.crit, worst], dtype=np.float64)
        fp = np.array(_SEVERITY_POS)
        if self.low_is_bad:  # np.interp needs rising x
            xp, fp = xp[::-1], fp[::-1]
        return xp, fp

    def position(self, values: np.ndarray) -> np.ndarray:
        """Place on the colour scale, 0..1 (NaN stays NaN)."""
        v = np.asarray(values, dtype=np.float64)
        kn = self._knots()
        if kn is not None:
            pos = np.interp(v, kn[0], kn[1])
            pos[np.isnan(v)] = np.nan
            return pos
        span = (self.vmax - self.vmin) or 1.0
        pos = (v - self.vmin) / span
        return np.clip(1.0 - pos if self.low_is_bad and self.lut_name == "severity" else pos, 0.0, 1.0)

    def index(self, values: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """uint8 LUT indices for the values (NaN -> IDX_OFFLINE)."""
        if self._knots() is None:
            rev = self.low_is_bad and self.lut_name == "severity"
            return colors.to_index(values, self.vmin, self.vmax, reverse=rev, out=out)
        return colors.to_index(self.position(values), 0.0, 1.0, out=out)

    def rgba(self, values: np.ndarray) -> np.ndarray:
        return self.lut[self.index(values)]

    def color_of(self, value: float) -> tuple[int, ...]:
        return tuple(int(c) for c in self.lut[int(self.index(np.array([value]))[0])])

    def severity(self, values: np.ndarray) -> np.ndarray:
        """0 ok, 1 warning, 2 critical (int8, same shape)."""
        v = np.asarray(values)
        out = np.zeros(v.shape, dtype=np.int8)
        if self.warn is not None:
            out[(v <= self.warn) if self.low_is_bad else (v >= self.warn)] = 1
        if self.crit is not None:
            out[(v <= self.crit) if self.low_is_bad else (v >= self.crit)] = 2
        return out

    # ------------------------------------------------------------------ text
    def format(self, value: float, unit: bool = True) -> str:
        if value is None or not np.isfinite(value):
            return "n/a"
        s = f"{value:.{self.decimals}f}"
        return f"{s} {self.unit}".rstrip() if unit and self.unit else s

    def limits_text(self) -> str:
        cmp = "≤" if self.low_is_bad else "≥"
        parts = []
        if self.warn is not None:
            parts.append(f"warning {cmp} {self.format(self.warn)}")
        if self.crit is not None:
            parts.append(f"critical {cmp} {self.format(self.crit)}")
        return ", ".join(parts) if parts else "no limits"


# =========================================================================== helpers on the engine
def rack_design_power_w(engine) -> np.ndarray:
    """Each rack's design (nameplate) power, from its hall's GPU model."""
    f = engine.facility
    per_hall = np.array([f.rack.design_power_w(f.gpu_model(n)) for n in engine.topo.hall_gpu_model])
    return per_hall[engine.topo.rack_hall]


def tray_powered(engine) -> np.ndarray:
    """Trays with power: enough PSUs, in the rack, rack not dark (isolated, host CPUs or supply protection
    tripped, hall feeder tripped: the engine's ``rack_dark``). Shape (n_trays,)."""
    topo = engine.topo
    psus = engine.psu_ok.sum(axis=1) >= engine.facility.rack.tray.psus_needed
    dark = np.repeat(engine.rack_dark(), topo.trays_per_rack)
    return psus & ~engine.tray_slid_out & ~dark


def rack_fault_counts(engine) -> dict[str, np.ndarray]:
    """Failed or worn parts per rack, each an int array (n_racks,)."""
    topo = engine.topo
    nr, tpr = engine.n_racks, topo.trays_per_rack
    due = engine.fan_due() & engine.fan_ok
    return {
        "failed_gpus": (~engine.gpu_ok).sum(axis=1),
        "tripped_gpus": engine.gpu_tripped.sum(axis=1),
        "failed_pumps": (~engine.pump_ok).sum(axis=1),
        "failed_fans": (~engine.fan_ok).sum(axis=1),
        "fans_due": due.sum(axis=1),
        "failed_psus": (~engine.psu_ok).reshape(nr, -1).sum(axis=1),
        "failed_nics": (~engine.nic_ok).reshape(nr, -1).sum(axis=1),
        "leak": engine.leak.astype(np.int64),
        "trays_out": (engine.tray_drained | engine.tray_slid_out).reshape(nr, tpr).sum(axis=1),
    }


FAULT_LABELS = {
    "failed_gpus": "failed GPU", "tripped_gpus": "GPU shut down (heat)", "failed_pumps": "failed pump",
    "failed_fans": "failed door fan", "fans_due": "fan due for replacement", "failed_psus": "failed PSU",
    "failed_nics": "failed NIC", "leak": "coolant leak", "trays_out": "tray out for service",
}


def rack_health(engine) -> np.ndarray:
    """0 = all parts fine .. 1 = a failure that stops the rack (no coolant flow, leak). The worst part wins:
    lost pump redundancy 0.5, a failed door fan 0.4 (half the door: 0.7), a failed or heat-shut GPU 0.6,
    a failed PSU 0.3 (tray down: 0.6), a failed NIC 0.6, throttling 0.4, isolated rack 0.5, worn fan 0.2."""
    c = rack_fault_counts(engine)
    f = engine.facility.rack
    pumps_up = f.cdu.pumps - c["failed_pumps"]
    h = np.zeros(engine.n_racks, dtype=np.float32)
    h = np.maximum(h, np.where(c["fans_due"] > 0, 0.2, 0.0))
    h = np.maximum(h, np.where(c["failed_psus"] > 0, 0.3, 0.0))
    h = np.maximum(h, np.where(engine.rack_throttled > 0, 0.4, 0.0))
    h = np.maximum(h, np.where(c["failed_fans"] > 0, np.where(c["failed_fans"] * 2 >= f.rdhx.fans, 0.7, 0.4), 0.0))
    h = np.maximum(h, np.where(engine.rack_isolated, 0.5, 0.0))
    h = np.maximum(h, np.where(c["failed_pumps"] > 0, 0.5, 0.0))
    gpu_bad = c["failed_gpus"] + c["tripped_gpus"] + c["failed_nics"]
    h = np.maximum(h, np.where(gpu_bad > 0, 0.6, 0.0))
    down_trays = (~tray_powered(engine) & ~engine.tray_slid_out).reshape(engine.n_racks, -1).any(axis=1)
    h = np.maximum(h, np.where(down_trays & ~engine.rack_isolated, 0.6, 0.0))
    h = np.maximum(h, np.where((pumps_up < f.cdu.pumps_needed) | engine.leak, 1.0, 0.0))
    return h.astype(np.float32)


def row_ids(engine) -> tuple[np.ndarray, np.ndarray]:
    """(global row id per rack, first global row id per hall + total) — rows numbered across halls."""
    topo = engine.topo
    rows_per_hall = np.array([h.rows for h in engine.facility.halls])
    start = np.concatenate([[0], np.cumsum(rows_per_hall)])
    return start[topo.rack_hall] + topo.rack_row, start


def row_busway_load(engine) -> tuple[np.ndarray, np.ndarray]:
    """Per row (all halls, hall by hall): (power drawn W, busway rating W). The rating is the row's design
    power / BUSWAY_CONTINUOUS_FRAC [E]."""
    rid, start = row_ids(engine)
    n = int(start[-1])
    power = np.bincount(rid, weights=engine.rack_power_w, minlength=n)
    rating = np.bincount(rid, weights=rack_design_power_w(engine), minlength=n) / BUSWAY_CONTINUOUS_FRAC
    return power, rating


def gpu_state_codes(engine) -> np.ndarray:
    """Per GPU (n_racks, gpus_per_rack) int8: index into GPU_STATES."""
    topo = engine.topo
    code = np.zeros(engine.tj.shape, dtype=np.int8)
    clk = engine.gpu_clock
    code[clk < 0.999] = GPU_CAPPED
    code[clk <= 0.5 + 1e-6] = GPU_SLOWDOWN
    code[engine.gpu_tripped] = GPU_SHUTDOWN
    off = ~tray_powered(engine)
    if off.any():
        code.reshape(-1, topo.gpus_per_tray)[off] = GPU_OFF
    code[~engine.gpu_ok] = GPU_FAILED
    return code


def gpu_overlay_index(engine) -> np.ndarray | None:
    """Per GPU (n_racks, gpus_per_rack) uint8: 0 where the metric colour applies, else a reserved LUT index:
    slid-out tray dark, drained / unpowered / isolated grey, failed GPU magenta. None when all GPUs are
    simply in service (the common case: nothing to overlay)."""
    topo = engine.topo
    out_tray = engine.tray_drained | ~tray_powered(engine)
    failed = ~engine.gpu_ok
    off_fabric = ~engine.fabric.gpu_up.reshape(engine.tj.shape)  # link or leaf down: out of the pool
    any_tray, any_failed, any_off = bool(out_tray.any()), bool(failed.any()), bool(off_fabric.any())
    if not any_tray and not any_failed and not any_off:
        return None
    ov = np.zeros(engine.tj.shape, dtype=np.uint8)
    if any_off:
        ov[off_fabric] = colors.IDX_OFFLINE
    if any_tray:
        tray_code = np.where(engine.tray_slid_out, colors.IDX_SLID_OUT, colors.IDX_OFFLINE).astype(np.uint8)
        tray_code[~out_tray] = 0
        ov.reshape(-1, topo.gpus_per_tray)[:] = tray_code[:, None]
    if any_failed:
        ov[failed] = colors.IDX_FAILED
    return ov


def _gpu_health(engine) -> np.ndarray:
    topo = engine.topo
    nt, gpt = engine.n_trays, topo.gpus_per_tray
    h = np.zeros((nt, gpt), dtype=np.float32)
    psu_lost = engine.psu_ok.sum(axis=1) < engine.facility.rack.tray.psus
    h[psu_lost] = 0.3
    n = min(gpt, engine.nic_ok.shape[1])
    h[:, :n] = np.maximum(h[:, :n], np.where(engine.nic_ok[:, :n], 0.0, 0.5))  # NIC i serves GPU i
    h = h.reshape(engine.tj.shape)
    h[engine.gpu_clock < 0.999] = np.maximum(h[engine.gpu_clock < 0.999], 0.4)
    h[engine.gpu_tripped | ~engine.gpu_ok] = 1.0
    return h


# =========================================================================== the metrics
def _hottest_limits(engine, lim: Limits) -> dict:
    th = lim["gpu_temp"]
    return {"vmin": float(engine.facility.site.supply_setpoint_c), "vmax": float(engine.rack_t_shut_c.max()),
            "warn": th.warning, "crit": th.critical}


def _power_limits(engine, lim: Limits) -> dict:
    design = float(rack_design_power_w(engine).max()) / 1e3
    return {"vmax": design, "warn": 0.98 * design, "crit": design}


def _return_limits(engine, lim: Limits) -> dict:
    th = lim["rack_return_temp"]
    t_max = float(engine.facility.rack.cdu.t_return_max_c)
    top = max(t_max, th.critical if th.critical is not None else t_max)
    return {"vmin": float(engine.facility.site.supply_setpoint_c), "vmax": top + 3.0, "warn": th.warning,
            "crit": th.critical}


def _flow_limits(engine, lim: Limits) -> dict:
    th = lim["coolant_flow"]
    return {"warn": th.shown(th.warning), "crit": th.shown(th.critical)}


def _gpus_limits(engine, lim: Limits) -> dict:
    g = float(engine.topo.gpus_per_rack)
    return {"vmax": g, "warn": g - engine.topo.gpus_per_tray, "crit": g / 2}


def _gpu_temp_limits(engine, lim: Limits) -> dict:
    return _hottest_limits(engine, lim)


def _gpu_power_limits(engine, lim: Limits) -> dict:
    return {"vmax": float(engine.rack_tdp_w.max())}


_GPU_T, _RET_T = DEFAULT_LIMITS["gpu_temp"], DEFAULT_LIMITS["rack_return_temp"]  # before a facility resolves them
RACK_METRICS: dict[str, Metric] = {m.name: m for m in (
    Metric("hottest_gpu", "Hottest GPU", "°C", lambda e: e.rack_hottest_c, 30.0, 92.0, _GPU_T.warning, _GPU_T.critical,
           description="the hottest GPU junction in the rack", limits_for=_hottest_limits),
    Metric("power", "Rack power", "kW", lambda e: e.rack_power_w / 1e3, 0.0, 60.0, 58.0, 60.0,
           description="electrical power drawn by the rack", limits_for=_power_limits),
    Metric("flow", "Coolant flow", "%", lambda e: e.flow_frac * 100.0, 0.0, 100.0, 80.0, 50.0, low_is_bad=True,
           lut_name="severity", decimals=0, description="rack loop flow, % of design", limits_for=_flow_limits),
    Metric("return_temp", "Return temperature", "°C", lambda e: e.t_ret, 30.0, 55.0, _RET_T.warning, _RET_T.critical,
           description="rack loop return (hot side)", limits_for=_return_limits),
    Metric("health", "Health", "", rack_health, 0.0, 1.0, 0.3, 0.7, lut_name="severity", decimals=1,
           description="0 all parts fine .. 1 the rack has lost cooling"),
    Metric("gpus_in_service", "GPUs in service", "", lambda e: e.rack_gpus_up, 0.0, 64.0, 56.0, 32.0,
           low_is_bad=True, lut_name="severity", decimals=0, description="GPUs in the job pool",
           limits_for=_gpus_limits),
)}

GPU_METRICS: dict[str, Metric] = {m.name: m for m in (
    Metric("gpu_temp", "Junction temperature", "°C", lambda e: e.tj, 30.0, 92.0, _GPU_T.warning, _GPU_T.critical,
           limits_for=_gpu_temp_limits),
    Metric("gpu_power", "GPU power", "W", lambda e: e.gpu_power_w, 0.0, 700.0, decimals=0,
           limits_for=_gpu_power_limits),
    Metric("gpu_clock", "Clock", "%", lambda e: e.gpu_clock * 100.0, 0.0, 100.0, 99.0, 50.0, low_is_bad=True,
           lut_name="severity", decimals=0, description="100 % normal; below: power-capped; 50 % slowdown"),
    Metric("gpu_health", "GPU health", "", _gpu_health, 0.0, 1.0, 0.3, 0.7, lut_name="severity",
           description="0 fine, 0.3 PSU redundancy lost, 0.4 throttled, 0.5 its NIC failed, 1 failed"),
)}


def rack_key_figures(engine, r: int) -> list[tuple[str, str]]:
    """(label, value) rows for a rack's tooltip or inspector: the figures an engineer checks first."""
    gpr = engine.topo.gpus_per_rack
    lpm = engine.facility.rack.cdu.design_flow_lpm
    rows = [
        ("Hottest GPU", f"{engine.rack_hottest_c[r]:.1f} °C"),
        ("Power", f"{engine.rack_power_w[r] / 1e3:.1f} kW"),
        ("Coolant flow", f"{engine.flow_frac[r] * 100:.0f} % ({engine.flow_frac[r] * lpm:.0f} L/min)"),
        ("Supply / return", f"{engine.t_sup[r]:.1f} / {engine.t_ret[r]:.1f} °C"),
        ("GPUs in service", f"{int(engine.rack_gpus_up[r])} / {gpr}"),
    ]
    if engine.rack_throttled[r]:
        rows.append(("Throttled GPUs", str(int(engine.rack_throttled[r]))))
    if engine.rack_isolated[r]:
        rows.append(("State", "isolated"))
    return rows


def rack_fault_text(engine, r: int, counts: dict[str, np.ndarray] | None = None) -> str:
    """'2 failed pumps, 1 failed door fan' or 'none'."""
    counts = rack_fault_counts(engine) if counts is None else counts
    parts = []
    for key, label in FAULT_LABELS.items():
        n = int(counts[key][r])
        if n:
            parts.append(label if n == 1 else f"{label} ×{n}")
    return ", ".join(parts) if parts else "none"
