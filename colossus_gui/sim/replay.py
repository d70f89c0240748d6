"""Recorded GPU telemetry shown through the same views as the simulation.

A :class:`GpuRecording` holds per-GPU samples (time x GPU, NaN where no sample came) of the four DCGM
fields the app reads. :class:`ReplayEngine` is an :class:`Engine` for the same facility whose ``step(dt)``
does no physics: it moves the replay clock and loads the recorded sample at that time into the arrays the
views read (``tj``, ``gpu_power_w``, ``rack_hottest_c``, ``rack_power_w``, ``gpu_ok``, the telemetry rings),
so the hall, rack, tray, heatmap and chart views, the alarm list and the work-order board work unchanged.

What a recording does not say stays unknown, never a healthy default: a GPU with no sample has NaN
temperature and power (drawn hatched, "n/a"), and the cooling figures that DCGM does not report (rack
return and supply water, flow) are NaN too. A GPU whose last XID error or row-remap failure is non-zero is
marked failed with a ``fault_started`` event, so the alarm rules raise the tray's equipment alarm.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..model.facility import Facility
from .engine import Engine

METRICS = ("DCGM_FI_DEV_GPU_TEMP", "DCGM_FI_DEV_POWER_USAGE", "DCGM_FI_DEV_XID_ERRORS",
           "DCGM_FI_DEV_ROW_REMAP_FAILURE")


@dataclass
class GpuRecording:
    """``times_s``: sample times (Unix seconds, increasing). Each array is (len(times_s), n_gpus) float32,
    NaN where the GPU had no sample at that time."""

    times_s: np.ndarray
    temp_c: np.ndarray
    power_w: np.ndarray
    xid: np.ndarray
    row_remap_failure: np.ndarray
    source: str = ""
    unmapped: list[str] = field(default_factory=list)  # series whose labels name no GPU of the facility
    conflicts: list[str] = field(default_factory=list)  # a GPU named by more than one series (the last wins)
    extra: dict[str, np.ndarray] = field(default_factory=dict)  # other metrics read (name -> (T,) array)

    @property
    def n_samples(self) -> int:
        return int(self.times_s.size)

    @property
    def n_gpus(self) -> int:
        return int(self.temp_c.shape[1])

    def gpus_never_seen(self) -> np.ndarray:
        """GPUs with no temperature sample at all (flat indices)."""
        return np.flatnonzero(np.isnan(self.temp_c).all(axis=0))


def _fmax_reduce(a: np.ndarray, axis: int) -> np.ndarray:
    # NaN-ignoring max that returns NaN (without a warning) when every value is missing
    return np.fmax.reduce(a, axis=axis)


def _nansum_or_nan(a: np.ndarray, axis: int) -> np.ndarray:
    s = np.nansum(a, axis=axis, dtype=np.float64)
    return np.where(np.isnan(a).all(axis=axis), np.nan, s)


class ReplayEngine(Engine):
    """An engine whose state is read from a recording. ``t`` is seconds since the first sample;
    ``seek(t)`` shows the last sample at or before ``t``; ``step(dt)`` plays forward."""

    is_replay = True

    def __init__(self, facility: Facility, recording: GpuRecording):
        n = max(recording.n_samples, 1)
        # its own name: the workspace database (alarms, work orders) of real telemetry is not the simulation's
        super().__init__(facility.model_copy(update={"name": f"{facility.name}-telemetry"}), seed=0,
                         telemetry_capacity=n + 2, rack_telemetry_capacity=n + 2)
        if recording.n_gpus != self.n_gpus:
            raise ValueError(f"recording has {recording.n_gpus} GPUs, facility {facility.name!r} has {self.n_gpus}")
        self.recording = rec = recording
        self.facility_name = facility.name  # the facility the GPUs belong to
        self.epoch0_s = float(rec.times_s[0]) if rec.n_samples else 0.0
        self.rel_times_s = (rec.times_s - self.epoch0_s).astype(np.float64)
        self.end_t = float(self.rel_times_s[-1]) if rec.n_samples else 0.0
        self.index = -1
        self._fault = np.zeros(self.n_gpus, dtype=bool)
        # nothing a recording does not report is drawn as healthy: cooling figures unknown
        self.fan_age0_h[:] = 0.0
        self.t_ret[:] = np.nan
        self.flow_frac[:] = np.nan
        self.t_sup[:] = np.nan
        self.t_fs = self.t_fr = float("nan")
        # the site (grid, Megapacks, chillers) is not in a GPU recording: unknown, not the model's defaults
        self.soc = self.grid_w = self.batt_w = self.cooling_w = self.facility_w = self.chiller_cop = float("nan")
        self.chiller_load_w[:] = np.nan
        self._precompute()
        self.seek(0.0)

    # ------------------------------------------------------------------ aggregates, once
    def _precompute(self) -> None:
        rec, nr, gpr = self.recording, self.n_racks, self.topo.gpus_per_rack
        T = rec.n_samples
        temp = rec.temp_c.reshape(T, nr, gpr)
        power = rec.power_w.reshape(T, nr, gpr)
        self._rack_hot = _fmax_reduce(temp, axis=2).astype(np.float64)          # (T, racks)
        # a rack's power is known only when all its GPUs reported (a partial sum would read as a light
        # load); the facility's IT figure in the charts is the sum of the GPUs that did report
        self._rack_kw = power.sum(axis=2, dtype=np.float64) / 1e3                 # (T, racks), GPUs only
        fault = (np.nan_to_num(rec.xid) > 0) | (np.nan_to_num(rec.row_remap_failure) > 0)
        self._fault_t = fault                                                    # (T, GPUs)
        fac = np.full((T, len(self.telemetry.channels)), np.nan)
        ix = self.telemetry.index
        fac[:, ix["t_s"]] = self.rel_times_s
        flat = rec.temp_c
        seen = ~np.isnan(flat)
        n_seen = seen.sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            fac[:, ix["hottest_gpu_c"]] = _fmax_reduce(flat, axis=1)
            fac[:, ix["mean_gpu_c"]] = np.where(n_seen > 0, np.nansum(flat, axis=1, dtype=np.float64)
                                                / np.maximum(n_seen, 1), np.nan)
            # p99 by partition of the seen values, NaNs sorted last
            k = np.maximum(np.ceil(0.99 * n_seen).astype(np.int64) - 1, 0)
            srt = np.sort(np.where(seen, flat, np.inf), axis=1) if flat.size <= 50_000_000 else None
            if srt is not None:
                p99 = srt[np.arange(T), np.minimum(k, flat.shape[1] - 1)]
                fac[:, ix["p99_gpu_c"]] = np.where(n_seen > 0, p99, np.nan)
        fac[:, ix["it_mw"]] = _nansum_or_nan(rec.power_w, axis=1) / 1e6
        fac[:, ix["gpus_in_service"]] = (seen & ~fault).sum(axis=1)
        self._fac_rows = fac
        rows = np.full((T, len(self.telemetry.rack_channels), nr), np.nan, dtype=np.float32)
        rix = self.telemetry.rack_index
        rows[:, rix["hottest_c"]] = self._rack_hot
        rows[:, rix["power_kw"]] = self._rack_kw
        self._rack_rows = rows

    # ------------------------------------------------------------------ the clock
    def sample_index(self, t: float) -> int:
        """Index of the last sample at or before replay time ``t`` (0 before the first)."""
        if not self.recording.n_samples:
            return -1
        return max(int(np.searchsorted(self.rel_times_s, t + 1e-9, side="right")) - 1, 0)

    def seek(self, t: float) -> None:
        t = float(min(max(t, 0.0), self.end_t))
        self.t = t
        k = self.sample_index(t)
        if k < 0:
            return
        if k != self.index:
            self._load(k)

    def step(self, dt: float = 1.0) -> None:
        """Play forward by ``dt`` (stops at the end of the recording)."""
        self.seek(self.t + dt)
        self.step_count += 1

    def run(self, seconds: float, dt: float = 1.0, progress=None, **_) -> None:
        self.seek(self.t + seconds)

    @property
    def at_end(self) -> bool:
        return self.t >= self.end_t

    # ------------------------------------------------------------------ one sample into the views' arrays
    def _load(self, k: int) -> None:
        rec, nr, gpr = self.recording, self.n_racks, self.topo.gpus_per_rack
        self.index = k
        self._tj_t[...] = rec.temp_c[k].reshape(nr, gpr).T
        self._tp_t[...] = self._tj_t
        self._p_t[...] = rec.power_w[k].reshape(nr, gpr).T
        self.rack_hottest_c = self._rack_hot[k].copy()
        self._rack_max_f32 = self.rack_hottest_c.astype(np.float32)
        self.rack_power_w = self._rack_kw[k] * 1e3
        self.rack_q_water_w = np.full(nr, np.nan)
        self.rack_q_air_w = np.full(nr, np.nan)
        self.it_w = float(np.nansum(self.rack_power_w))
        fault = self._fault_t[k]
        changed = np.flatnonzero(fault != self._fault)
        if changed.size:
            self.gpu_ok = ~fault.reshape(nr, gpr)
            self._tray_avail_dirty = True
            for g in changed[:2000]:  # a bounded burst of events; the arrays carry the whole truth
                addr = self.topo.gpu_address(int(g))
                if fault[g]:
                    xid = rec.xid[k, g]
                    why = f"XID {int(xid)}" if np.nan_to_num(xid) > 0 else "row-remap failure"
                    self._event("fault_started", addr, f"gpu_failure ({why} reported by DCGM)")
                else:
                    self._event("fault_cleared", addr, "DCGM reports no error")
            self._fault = fault.copy()
        tel = self.telemetry
        n = k + 1
        tel.facility.data[:n] = self._fac_rows[:n]
        tel.facility.count = n
        tel.rack_t.data[:n] = self.rel_times_s[:n]
        tel.rack_t.count = n
        tel.racks.data[:n] = self._rack_rows[:n]
        tel.racks.count = n

    def gpu_missing(self) -> np.ndarray:
        """(racks, 64) bool: no temperature sample for this GPU at the shown time."""
        return np.isnan(self.tj)

    def summary(self) -> dict:
        rec = self.recording
        return {"gpus": self.n_gpus, "samples": rec.n_samples, "duration_s": self.end_t,
                "start_epoch_s": self.epoch0_s, "gpus_never_seen": int(rec.gpus_never_seen().size),
                "missing_fraction": float(np.isnan(rec.temp_c).mean()) if rec.temp_c.size else 1.0,
                "gpus_with_errors": int(self._fault_t.any(axis=0).sum()), "unmapped_series": len(rec.unmapped)}


def record_engine(engine: Engine, seconds: float, every_s: float = 15.0, epoch0_s: float = 1_764_590_400.0,
                  dt: float = 1.0) -> GpuRecording:
    """Run ``engine`` for ``seconds`` and keep what dcgm-exporter would have reported every ``every_s``
    (a failed GPU reports XID 79). For examples, tests and the benchmark; ``epoch0_s`` is the wall time of
    the engine's t = 0 (default 2025-12-01 12:00 UTC)."""
    n = int(seconds // every_s) + 1
    temp = np.empty((n, engine.n_gpus), dtype=np.float32)
    power = np.empty_like(temp)
    xid = np.empty_like(temp)
    t0 = engine.t
    for k in range(n):
        target = t0 + k * every_s
        while engine.t < target - 1e-9:
            engine.step(dt)
        temp[k] = engine.tj.ravel()
        power[k] = engine.gpu_power_w.ravel()
        xid[k] = np.where(engine.gpu_ok.ravel(), 0.0, 79.0)
    times = epoch0_s + t0 + every_s * np.arange(n)
    return GpuRecording(times, temp, power, xid, np.zeros_like(temp), source=f"simulated {engine.facility.name}")
