"""The numpy engine: structure-of-arrays state for every GPU, tray, rack, CDU, door, chiller, battery and
turbine, advanced by one ``step(dt)`` with no per-GPU Python loop.

Order inside a step: environment and faults -> random failures and repairs -> workload -> GPU power and
throttling -> GPU thermal (implicit) -> rack loops and doors -> facility water and chillers -> power
dispatch (grid, Megapacks, turbines, load shedding) -> accounting, telemetry, events.

The engine never reads the wall clock; all randomness comes from one seeded ``numpy.random.Generator``.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from ..model.addresses import Address, AddressError, Topology
from ..model.facility import Facility
from ..model.faults import FAULTS
from ..model.scenario import FaultSpec, Scenario
from .air import HallAir
from .cpu_node import CpuNode
from .events import Event, EventKind, EventLog, event_kind
from .fabric import FABRIC_FAULTS, FABRIC_KINDS, Fabric, advance_phase
from .plant import SupplyProtection, chiller_capacity_frac, plant_cop
from .power_protection import HallFeeders
from .storage import STORAGE_FAULTS, STORAGE_KINDS, Storage
from .telemetry import Telemetry
from .time_to_limit import TimeToLimit
from .water import Distribution

CP_WATER = 4180.0  # J/(kg K)
RHO_WATER = 997.0  # kg/m3

# job states
RUNNING, CHECKPOINTING, RESTARTING = 0, 1, 2
JOB_STATE_NAMES = ("running", "checkpointing", "restarting")
# turbine states
GT_OFF, GT_STARTING, GT_RUNNING, GT_TRIPPED = 0, 1, 2, 3
GT_STATE_NAMES = ("off", "starting", "running", "tripped")

BASE_CAUSES = ("gpu", "hbm", "nic", "psu", "software", "pump", "fan", "leak", "chiller")
FAILURE_CAUSES = BASE_CAUSES  # plus the facility's tray hardware causes (Engine.failure_causes)


def compute_share(phase_s: float, span_s: float, iteration_s: float, compute_fraction: float) -> float:
    """Fraction of the phase interval [phase, phase + span) that falls in the compute part of iterations
    (each iteration: compute for compute_fraction * iteration_s, then communicate)."""
    c = compute_fraction * iteration_s

    def done(x: float) -> float:  # compute seconds in [0, x)
        n, r = divmod(x, iteration_s)
        return n * c + min(r, c)

    if span_s <= 1e-12:
        return 1.0 if (phase_s % iteration_s) < c else 0.0
    return (done(phase_s + span_s) - done(phase_s)) / span_s


class SimError(ValueError):
    """A request the engine cannot carry out (unknown address, wrong fault for a component)."""


class Engine:
    def __init__(self, facility: Facility, seed: int = 0, scenario: Scenario | None = None,
                 telemetry_capacity: int = 86400, rack_telemetry_capacity: int = 720):
        self.facility = f = facility
        self.seed = int(seed)
        self.topo = topo = Topology(facility)
        self.scenario = scenario
        nr, nt, ng = topo.n_racks, topo.n_trays, topo.n_gpus
        self.n_racks, self.n_trays, self.n_gpus = nr, nt, ng
        gpt, tpr, gpr = topo.gpus_per_tray, topo.trays_per_rack, topo.gpus_per_rack
        self.rng = np.random.default_rng(self.seed)

        # ---- constants per rack (GPU model of the rack's hall) ----------------------------------------
        models = [f.gpu_model(n) for n in topo.hall_gpu_model]
        hall = topo.rack_hall

        def per_rack(attr):
            return np.array([getattr(m, attr) for m in models], dtype=np.float64)[hall]

        self.rack_tdp_w = per_rack("tdp_w")
        self.rack_pmin_w = per_rack("power_min_w")
        self.rack_idle_w = per_rack("idle_w")
        self.rack_idle_mem_w = per_rack("idle_mem_w")
        self.rack_t_cap_c = per_rack("t_max_op_c")
        self.rack_t_slow_c = per_rack("t_slowdown_c")
        self.rack_t_shut_c = per_rack("t_shutdown_c")
        self._cj = per_rack("c_junction_j_per_k")
        self._cp = per_rack("c_plate_j_per_k")
        self._g1 = 1.0 / per_rack("r_junction_plate_k_per_w")
        self._g2_design = 1.0 / per_rack("r_plate_coolant_k_per_w")
        self._g_still = 1.0 / per_rack("r_plate_still_k_per_w")  # a cold plate with no coolant flow
        spread = np.array([m.power_spread for m in models])[hall]
        clip = np.repeat(np.array([m.power_spread_clip for m in models])[hall], gpr)
        self.clock_exp = models[0].clock_exponent if models else 0.4
        self.rack_clock_exp = per_rack("clock_exponent")
        # Chip-to-chip variation: a fixed per-GPU power multiplier (drawn from the seed, not state).
        gain = 1.0 + np.repeat(spread, gpr) * self.rng.standard_normal(ng)
        # Hot GPU arrays are stored transposed, (64, racks), so per-rack reductions and per-rack coefficients
        # run along contiguous rows (a max over a short last axis is ~10x slower in numpy). The public
        # names (tj, tp, gpu_power_w) are (racks, 64) views of that storage.
        self._gain_t = np.ascontiguousarray(
            np.clip(gain, 1.0 - clip, 1.0 + clip).astype(np.float32).reshape(nr, gpr).T).reshape(tpr, gpt, nr)

        cdu, tray = f.rack.cdu, f.rack.tray
        self.cdu_ua_design = cdu.ua_w_per_k
        self.cdu_c_design = cdu.design_flow_lpm / 60.0 / 1000.0 * RHO_WATER * CP_WATER  # W/K
        self.cdu_eff = min(0.99, self.cdu_ua_design / self.cdu_c_design)
        self.loop_c = cdu.loop_volume_l / 1000.0 * RHO_WATER * CP_WATER
        self.fac_c = f.site.chillers.loop_volume_m3 * RHO_WATER * CP_WATER
        self.fac_flow_c = f.site.chillers.flow_m3_per_s * RHO_WATER * CP_WATER
        self.tray_cpu_w = tray.cpus * tray.cpu_w
        self.cpu = CpuNode(f, tpr, self._g_still)
        self.protection = SupplyProtection(f.site.protection, topo.rack_hall, topo.n_halls)
        self.feeders = HallFeeders(f, topo.hall_names)
        self.air = HallAir(f, topo)
        self.water = Distribution(f, topo)
        self.ttl = TimeToLimit(self)
        self._cdu_eff_r = np.minimum(self.cdu_eff * self.water.ua_factor, 0.99)  # less facility flow down a header
        self._start_hour = (scenario.start_hour if scenario is not None and scenario.start_hour is not None
                            else f.site.ambient.start_hour)
        self.tray_air_w = tray.air_w
        self.tray_board_w = tray.board_liquid_w
        self.network_storage_w = 0.0  # switches, optics and storage nodes: set every step from fabric/storage
        mp = f.site.megapacks
        self.batt_e_j = mp.units * mp.energy_mwh_per_unit * 3.6e9
        self.batt_p_w = mp.units * mp.power_mw_per_unit * 1e6
        self.batt_eta = math.sqrt(mp.round_trip_efficiency)

        # ---- jobs -------------------------------------------------------------------------------------
        self.jobs = f.jobs
        nj = len(self.jobs)
        self.n_jobs = nj
        tray_job = np.full(nt, nj, dtype=np.int64)  # nj = "no job" slot
        rack_of_tray = np.repeat(np.arange(nr), tpr)
        for j, job in enumerate(self.jobs):
            for hname in job.halls:
                h = topo.hall_names.index(hname)
                tray_job[topo.rack_hall[rack_of_tray] == h] = j
        self.tray_job = tray_job
        self._rack_of_tray = rack_of_tray
        self._tray_idle_w = self.rack_idle_w[rack_of_tray]
        self._tray_idle_mem_w = self.rack_idle_mem_w[rack_of_tray]
        self._job_halls = [np.array([topo.hall_names.index(h) for h in job.halls]) for job in self.jobs]
        self._job_racks = [np.flatnonzero(np.isin(topo.rack_hall, jh)) for jh in self._job_halls]
        self._job_cap_speed = np.ones(nj)
        hall_first_rack = topo.hall_rack_start[:-1]
        self._hall_tdp_w = self.rack_tdp_w[hall_first_rack]
        self._hall_pmin_w = self.rack_pmin_w[hall_first_rack]
        self._job_idle_mem_w = np.array([self._tray_idle_mem_w[tray_job == j].mean() if (tray_job == j).any()
                                         else 0.0 for j in range(nj)])

        # ---- preallocated scratch -----------------------------------------------------------------------
        self._r1 = np.zeros((gpr, nr), dtype=np.float32)
        self._r2 = np.zeros((gpr, nr), dtype=np.float32)
        self._gm_t = np.empty((tpr, gpt, nr), dtype=np.float32)  # chip gain x in-service mask
        self._coef: tuple | None = None  # (dt, g2, coefficients): see _thermal_coefficients
        self._rates_cache: tuple | None = None  # (dt, failure rates per cause): see _failure_rates
        self._pump_cache: tuple | None = None  # (pump_ok, pump_capacity, flow they deliver): see _update_flow
        self._ones = np.ones(gpr, dtype=np.float32)
        self._ones_pumps = np.ones(topo.pumps_per_cdu)  # a dot product beats a sum over a short last axis
        self._ones_trays = np.ones(tpr)

        self.telemetry = Telemetry(nr, telemetry_capacity, rack_telemetry_capacity)
        self.events = EventLog()
        self._event_cursor = 0
        self.revision = 0  # bumped by every step and every change: views compare it to know they are stale
        self._faults: list[FaultSpec] = sorted(scenario.faults, key=lambda x: x.at) if scenario else []
        self.fabric = Fabric(self)  # network/storage: sim/fabric.py, sim/storage.py
        self.storage = Storage(self)
        self.reset_state()

    # ====================================================================== state
    def reset_state(self) -> None:
        f, topo = self.facility, self.topo
        nr, nt, gpr = self.n_racks, self.n_trays, topo.gpus_per_rack
        sp = f.site.supply_setpoint_c
        self.t = 0.0
        self.step_count = 0
        # GPU (float32, shape (racks, 64))
        self._tj_t = np.full((gpr, nr), sp + 8.0, dtype=np.float32)
        self._tp_t = np.full((gpr, nr), sp + 6.0, dtype=np.float32)
        self._p_t = np.zeros((gpr, nr), dtype=np.float32)
        self.tj, self.tp, self.gpu_power_w = self._tj_t.T, self._tp_t.T, self._p_t.T
        self.gpu_ok = np.ones((nr, gpr), dtype=bool)
        self.gpu_tripped = np.zeros((nr, gpr), dtype=bool)  # thermal shutdown, resets when cool
        self.gpu_clock = np.ones((nr, gpr), dtype=np.float32)  # 1, capped <1, 0.5 slowdown, 0 off
        # tray
        self.tray_drained = np.zeros(nt, dtype=bool)  # taken out of service by a technician
        self.tray_slid_out = np.zeros(nt, dtype=bool)
        self.tray_hw_failed = np.zeros(nt, dtype=bool)  # GSP, thermal interface, SSD, CPU, memory, chassis ...
        self.psu_ok = np.ones((nt, topo.psus_per_tray), dtype=bool)
        self.nic_ok = np.ones((nt, topo.nics_per_tray), dtype=bool)
        # rack, CDU, door
        self.t_ret = np.full(nr, sp + 10.0)
        self.t_sup = np.full(nr, sp + 3.0)
        self.flow_frac = np.ones(nr)
        self.pump_ok = np.ones((nr, topo.pumps_per_cdu), dtype=bool)
        self.pump_switch_s = np.zeros(nr)
        self.pump_capacity = np.ones((nr, topo.pumps_per_cdu))  # 1 healthy; lower when degrading
        self.leak = np.zeros(nr, dtype=bool)
        self.loop_inventory = np.ones(nr)
        self._loop_low = False  # some loop is not full (a leak was repaired only partly, or a restore)
        self.rack_cpu_c = np.full(nr, sp + 15.0)  # lumped host CPUs of the rack
        self.rack_cpu_tripped = np.zeros(nr, dtype=bool)  # hosts shut down by heat (THERMTRIP)
        self.rack_fw_c = np.full(nr, sp)  # facility water supply at each rack's CDU
        self.water.reset(self, sp)
        self.rack_supply_tripped = np.zeros(nr, dtype=bool)  # tripped by the CDU supply high-temperature limit
        self.hall_supply_state = np.zeros(topo.n_halls, dtype=np.int8)  # 0 normal, 1 capping, 2 tripped
        self.plant_free_share = 0.0
        self.hall_power_tripped = np.zeros(topo.n_halls, dtype=bool)  # hall feeder open (power shortfall)
        self.hall_trip_load_w = np.zeros(topo.n_halls)
        self.feeder_short_s = 0.0
        self.feeder_ok_s = 0.0
        self.unserved_w = 0.0
        self.hall_air_c = np.full(topo.n_halls, f.site.air.setpoint_c + 0.5)  # hall air temperature
        self.hall_q_ahu_w = np.zeros(topo.n_halls)
        self.ahu_ok = np.ones((topo.n_halls, f.site.air.handlers_per_hall), dtype=bool)
        self.ahu_repair_t = np.full(self.ahu_ok.shape, np.inf)
        self.rack_inlet_c = np.full(nr, f.site.air.setpoint_c)
        self.rack_q_door_w = np.zeros(nr)
        self.rack_t_throttle_s = np.full(nr, np.inf)  # estimated seconds until the hottest GPU throttles
        self.rack_t_shutdown_s = np.full(nr, np.inf)  # ... and until it shuts down (inf: not heading there)
        self.ttl_p_w = np.zeros(nr)
        self.ttl_q_w = np.zeros(nr)
        self.ttl_loop_k_per_s = np.zeros(nr)
        self.ttl_fw_prev_c = self.rack_fw_c.copy()
        self.rack_isolated = np.zeros(nr, dtype=bool)
        self.fan_ok = np.ones((nr, topo.fans_per_door), dtype=bool)
        l10 = f.rack.rdhx.fan_l10_h
        due = self.rng.random((nr, topo.fans_per_door)) < f.failures.fan_due_frac
        self.fan_age0_h = np.where(due, l10 * (1.0 + 0.1 * self.rng.random(due.shape)),
                                   l10 * 0.9 * self.rng.random(due.shape))
        self.rack_power_w = np.zeros(nr)
        self.rack_q_water_w = np.zeros(nr)
        self.rack_q_air_w = np.zeros(nr)
        self.rack_q_room_w = np.zeros(nr)
        self._rack_max_f32 = self._tj_t.max(axis=0)
        self.rack_hottest_c = self._rack_max_f32.astype(np.float64)
        self.rack_throttled = np.zeros(nr, dtype=np.int32)
        self.rack_throttling = np.zeros(nr, dtype=bool)  # latched: began, not yet ended (30 s quiet)
        self.rack_quiet_s = np.zeros(nr)
        self.rack_gpus_up = np.full(nr, gpr, dtype=np.int32)
        self.power_cap_w = np.full(topo.n_halls, np.inf)  # operator power cap per GPU, per hall
        # site
        ch, gt = f.site.chillers, f.site.turbines
        self.t_fs = sp
        self.t_fr = sp + 8.0
        self.chiller_ok = np.ones(ch.count, dtype=bool)
        self.chiller_capacity = np.ones(ch.count)
        self.chiller_load_w = np.zeros(ch.count)
        self.chiller_cop = ch.cop_ref
        self.soc = f.site.megapacks.soc_initial
        self.batt_w = 0.0
        self.grid_w = float("nan")  # set on the first step
        self.load_lp_w = float("nan")
        self.grid_avail_w = f.site.grid.import_limit_mw * 1e6
        self.gt_state = np.zeros(gt.count, dtype=np.int8)
        self.gt_timer = np.zeros(gt.count)
        self.gt_w = np.zeros(gt.count)
        self.deficit_s = 0.0
        self.surplus_s = 0.0
        self.shed_frac = 0.0
        self.unserved_j = 0.0
        self.sag_depth = 0.0
        self.sag_until = -1.0
        self.sag_ref_w = 0.0
        self.outage_until = -1.0
        self.heat_wave = [0.0, 0.0, 0.0, 0.0]  # start_s, ramp_s, duration_s, delta_c
        self.it_w = self.cooling_w = self.facility_w = 0.0
        self.cpu_pump_w = 0.0
        # jobs
        nj = self.n_jobs
        self.job_state = np.zeros(nj, dtype=np.int8)
        self.job_timer = np.zeros(nj)
        self.job_since_ckpt_s = np.zeros(nj)
        self.job_unsaved_gpu_s = np.zeros(nj)
        self.job_useful_gpu_s = np.zeros(nj)
        self.job_interruptions = np.zeros(nj, dtype=np.int64)
        self.job_phase_t = np.zeros(nj)
        self.job_speed = np.ones(nj)
        self.job_gpus = np.zeros(nj)
        # accounting
        self.acc = {k: 0.0 for k in (
            "it_j", "facility_j", "cooling_j", "water_j", "air_j", "room_j", "gpu_heat_j", "throttled_gpu_s",
            "throttle_lost_gpu_s", "grid_peak_w", "batt_out_j", "batt_in_j", "gpu_temp_max_c", "soc_min",
            "pue_sum", "pue_n", "unserved_j", "capacity_gpu_s", "useful_gpu_s", "leak_j", "hall_air_max_c")}
        self.acc["soc_min"] = self.soc
        self.acc["hall_air_max_c"] = float(self.hall_air_c.max())
        self.acc["gpu_temp_max_c"] = -np.inf
        self.failure_causes = BASE_CAUSES + tuple(f.failures.tray_hardware_per_gpu_day)
        self.failures_by_cause = {c: 0 for c in self.failure_causes}
        self.interruptions_by_cause: dict[str, int] = {}
        self.pending_repairs: list[tuple[float, str, str]] = []  # (t_done, kind, address)
        self._fault_cursor = 0
        self._tray_avail_dirty = True
        self._tray_avail = np.ones(nt, dtype=bool)
        self._gm_t[...] = self._gain_t
        self._p_idle_t = None  # per-GPU idle power of GPUs out of their job for the network (tray_available)
        self._hot_racks = np.zeros(0, dtype=np.int64)
        self._any_tripped = False
        self.fabric.reset()  # network/storage
        self.storage.reset()
        self.telemetry.clear()
        self.events.clear()
        self.revision += 1
        self._event_cursor = 0
        self._p99 = float(self.tj.mean())
        self._mean_c = float(self.tj.mean())

    _STATE_ARRAYS = (
        "tj", "tp", "gpu_ok", "gpu_tripped", "gpu_clock", "gpu_power_w", "tray_drained", "tray_slid_out",
        "psu_ok", "nic_ok", "tray_hw_failed", "t_ret", "t_sup", "flow_frac", "pump_ok", "pump_switch_s", "pump_capacity",
        "chiller_capacity", "leak", "loop_inventory", "rack_cpu_c", "rack_cpu_tripped", "rack_fw_c",
        "rack_supply_tripped", "hall_supply_state", "hall_power_tripped", "hall_trip_load_w",
        "hall_air_c", "hall_q_ahu_w", "ahu_ok", "ahu_repair_t", "rack_inlet_c", "rack_q_door_w",
        "fw_hist_t", "fw_hist_c", "rack_t_throttle_s", "rack_t_shutdown_s", "ttl_p_w", "ttl_q_w",
        "ttl_loop_k_per_s", "ttl_fw_prev_c",
        "rack_isolated", "fan_ok", "fan_age0_h", "rack_power_w", "rack_q_water_w", "rack_q_air_w",
        "rack_q_room_w", "rack_hottest_c", "rack_throttled", "rack_throttling", "rack_quiet_s", "rack_gpus_up", "power_cap_w", "chiller_ok",
        "chiller_load_w", "gt_state", "gt_timer", "gt_w", "job_state", "job_timer", "job_since_ckpt_s",
        "job_unsaved_gpu_s", "job_useful_gpu_s", "job_interruptions", "job_phase_t", "job_speed", "job_gpus",
    )
    _STATE_SCALARS = (
        "t", "step_count", "t_fs", "t_fr", "chiller_cop", "soc", "batt_w", "grid_w", "load_lp_w", "grid_avail_w",
        "deficit_s", "surplus_s", "shed_frac", "unserved_j", "sag_depth", "sag_until", "sag_ref_w",
        "outage_until", "it_w", "cooling_w", "facility_w", "cpu_pump_w", "_fault_cursor", "_p99", "_mean_c",
        "plant_free_share", "feeder_short_s", "feeder_ok_s", "unserved_w", "fw_hist_n",
    )

    def snapshot(self) -> dict:
        """A cheap copy of the whole state: arrays copied, scalars and small structures as plain data.
        Everything in it is JSON-able or a numpy array (no pickling needed to store it)."""
        snap = {k: getattr(self, k).copy() for k in self._STATE_ARRAYS}
        snap.update({k: getattr(self, k) for k in self._STATE_SCALARS})
        snap["heat_wave"] = list(self.heat_wave)
        snap["acc"] = dict(self.acc)
        snap["failures_by_cause"] = dict(self.failures_by_cause)
        snap["interruptions_by_cause"] = dict(self.interruptions_by_cause)
        snap["pending_repairs"] = [list(r) for r in self.pending_repairs]
        snap["rng"] = self.rng.bit_generator.state
        snap["n_events"] = len(self.events)
        for part in ("fabric", "storage"):  # network/storage, flat keys: their arrays go to a bundle's npz
            snap.update({f"{part}.{k}": v for k, v in getattr(self, part).snapshot().items()})
        return snap

    def restore(self, snap: dict) -> None:
        for k in self._STATE_ARRAYS:
            arr = np.asarray(snap[k])
            cur = getattr(self, k)
            if arr.shape != cur.shape:
                raise SimError(f"snapshot field {k}: shape {arr.shape} does not fit this facility ({cur.shape})")
            if k in ("tj", "tp", "gpu_power_w"):
                cur[...] = arr  # writes through the view into the transposed storage
            else:
                setattr(self, k, arr.astype(cur.dtype, copy=True))
        for k in self._STATE_SCALARS:
            setattr(self, k, type(getattr(self, k))(snap[k]))
        self.heat_wave = [float(x) for x in snap["heat_wave"]]
        self.acc = {k: float(v) for k, v in snap["acc"].items()}
        self.failures_by_cause = {k: int(v) for k, v in snap["failures_by_cause"].items()}
        self.interruptions_by_cause = {k: int(v) for k, v in snap["interruptions_by_cause"].items()}
        self.pending_repairs = [(float(a), str(b), str(c)) for a, b, c in snap["pending_repairs"]]
        self.rng.bit_generator.state = snap["rng"]
        for part in ("fabric", "storage"):  # network/storage
            if f"{part}.rng" in snap:
                getattr(self, part).restore({k[len(part) + 1:]: v for k, v in snap.items() if k.startswith(part + ".")})
        self.events.truncate(int(snap.get("n_events", len(self.events))))
        self.revision += 1
        self._event_cursor = min(self._event_cursor, len(self.events))
        self._tray_avail_dirty = True
        self._rack_max_f32 = self.rack_hottest_c.astype(np.float32)
        self._hot_racks = np.flatnonzero(self.rack_throttled > 0)
        self._any_tripped = bool(self.gpu_tripped.any())
        self._loop_low = bool((self.loop_inventory < 1.0).any())
        self.ttl._shown = True  # restored estimates are cleared or replaced on the next step

    # ====================================================================== public actions
    def parse(self, address: str) -> Address:
        try:
            return self.topo.parse(address)
        except AddressError as e:
            raise SimError(str(e)) from None

    def inject(self, kind: str, target: str, depth: float | None = None, duration: float | None = None,
               delta_c: float | None = None, ramp_s: float | None = None, cause: str = "injected") -> Event | None:
        """Fail a component now (a scenario fault, a what-if from the GUI, or a random failure). Returns the
        ``fault_started`` event it logged, or None when the component was already failed (nothing happened).
        Parameters left out take the fault registry's defaults (model/faults.py)."""
        ft = FAULTS.get(kind)
        if ft is None:
            raise SimError(f"unknown fault kind {kind!r}")
        allowed = ft.targets
        dflt = ft.defaults()
        depth = dflt.get("depth") if depth is None else depth
        duration = dflt.get("duration") if duration is None else duration
        delta_c = dflt.get("delta_c") if delta_c is None else delta_c
        ramp_s = dflt.get("ramp_s") if ramp_s is None else ramp_s
        if kind == "heat_wave":
            a = Address("site", 0, text="GRID")
        else:
            a = self.parse(target)
        if a.kind not in allowed:
            raise SimError(f"{kind} needs a {' or '.join(allowed)} address, not {a.text} ({a.kind})")
        topo, addr = self.topo, a.text
        if kind in ("gpu_failure", "hbm_failure"):
            r, g = divmod(a.index, topo.gpus_per_rack)
            if not self.gpu_ok[r, g]:
                return None
            self.gpu_ok[r, g] = False
            self._tray_avail_dirty = True
            self._interrupt_tray_job(a.index // topo.gpus_per_tray, kind.split("_")[0])
            self._schedule_repair(kind, addr, self.facility.repairs.tray_median_s)
        elif kind == "nic_failure":
            tray = a.index
            nic = a.sub if a.kind == "nic" else 0
            addr = f"{topo.tray_address(tray)}-N{nic + 1}"
            if not self.nic_ok[tray, nic]:
                return None
            self.nic_ok[tray, nic] = False
            self._tray_avail_dirty = True
            self._interrupt_tray_job(tray, "nic")
            self._schedule_repair(kind, addr, self.facility.repairs.nic_median_s)
        elif kind == "psu_failure":
            if not self.psu_ok[a.index, a.sub]:
                return None
            self.psu_ok[a.index, a.sub] = False
            if self.psu_ok[a.index].sum() < self.facility.rack.tray.psus_needed:
                self._tray_avail_dirty = True
                self._interrupt_tray_job(a.index, "psu")
            self._schedule_repair(kind, addr, self.facility.repairs.psu_median_s)
        elif kind == "fan_failure":
            if not self.fan_ok[a.index, a.sub]:
                return None
            self.fan_ok[a.index, a.sub] = False
            self._schedule_repair(kind, addr, self.facility.repairs.fan_median_s)
        elif kind == "pump_failure":
            r = a.index
            if not self.pump_ok[r, a.sub]:
                return None
            needed = self.facility.rack.cdu.pumps_needed
            was_running = bool(self._running_pumps(needed)[r, a.sub])  # the one lead/lag rule
            self.pump_ok[r, a.sub] = False
            if was_running and self.pump_ok[r].sum() >= needed:
                self.pump_switch_s[r] = self.facility.rack.cdu.switchover_s
            self._schedule_repair(kind, addr, self.facility.repairs.pump_median_s)
        elif kind == "coolant_leak":
            r = a.index
            addr = topo.rack_address(r) + "-CDU"
            if self.leak[r]:
                return None
            self.leak[r] = True
            self._schedule_repair(kind, addr, self.facility.repairs.leak_median_s)
        elif kind == "chiller_trip":
            if not self.chiller_ok[a.index]:
                return None
            self.chiller_ok[a.index] = False
            self._schedule_repair(kind, addr, self.facility.repairs.chiller_median_s)
        elif kind == "grid_sag":
            self.sag_depth = float(depth)
            self.sag_until = self.t + float(duration)
            self.sag_ref_w = self.grid_w if math.isfinite(self.grid_w) else self.grid_avail_w
        elif kind == "grid_outage":
            self.outage_until = self.t + float(duration)
        elif kind == "turbine_trip":
            self.gt_state[a.index] = GT_TRIPPED
            self.gt_w[a.index] = 0.0
            self._schedule_repair(kind, addr, self.facility.repairs.turbine_median_s)
        elif kind == "heat_wave":
            self.heat_wave = [self.t, float(ramp_s or 0.0), float(duration or 1e12), float(delta_c or 5.0)]
            addr = "SITE"
        elif kind in FABRIC_FAULTS or kind in STORAGE_FAULTS:  # network/storage
            addr = (self.fabric if kind in FABRIC_FAULTS else self.storage).inject(kind, a, cause)
            if addr is None:
                return None
        detail = cause
        if kind == "grid_sag":
            detail += f"; depth {self.sag_depth:.0%} for {self.sag_until - self.t:g} s"
        if kind == "nic_failure":
            index, sub = a.index, nic
        elif kind == "coolant_leak":
            index, sub = a.index, -1
        else:
            index, sub = a.index, a.sub
        comp = {"nic_failure": "nic", "coolant_leak": "cdu", "heat_wave": "site"}.get(kind, a.kind)
        ev = self._event(EventKind.FAULT_STARTED, addr, f"{kind} ({detail})", component=comp, index=index,
                         sub=sub, rack=self._rack_index(comp, index), fault=kind, cause=cause)
        if ft.failure_cause is not None and cause == "random":
            self.failures_by_cause[ft.failure_cause] += 1
        return ev

    def repair(self, address: str) -> bool:
        """Restore a component (and everything failed below it). Returns True if anything changed."""
        a = self.parse(address)
        topo = self.topo
        changed = False
        if a.kind in ("gpu", "tray", "rack", "nic", "psu"):
            if a.kind == "gpu":
                gsl = (a.index // topo.gpus_per_rack, slice(a.index % topo.gpus_per_rack,
                                                            a.index % topo.gpus_per_rack + 1))
                trays = [a.index // topo.gpus_per_tray]
            elif a.kind in ("tray", "nic", "psu"):
                t0 = (a.index % topo.trays_per_rack) * topo.gpus_per_tray
                gsl = (a.index // topo.trays_per_rack, slice(t0, t0 + topo.gpus_per_tray))
                trays = [a.index]
            else:
                gsl = (a.index, slice(None))
                trays = list(range(a.index * topo.trays_per_rack, (a.index + 1) * topo.trays_per_rack))
            if a.kind == "nic":
                changed = not self.nic_ok[a.index, a.sub]
                self.nic_ok[a.index, a.sub] = True
            elif a.kind == "psu":
                changed = not self.psu_ok[a.index, a.sub]
                self.psu_ok[a.index, a.sub] = True
            else:
                changed = bool((~self.gpu_ok[gsl]).any() or self.gpu_tripped[gsl].any())
                self.gpu_ok[gsl] = True
                self.gpu_tripped[gsl] = False
                if a.kind in ("tray", "rack"):
                    changed |= bool((~self.nic_ok[trays]).any() or (~self.psu_ok[trays]).any()
                                    or self.tray_hw_failed[trays].any())
                    self.nic_ok[trays] = True
                    self.psu_ok[trays] = True
                    self.tray_hw_failed[trays] = False
                if a.kind == "rack":
                    r = a.index
                    changed |= bool((~self.pump_ok[r]).any() or (~self.fan_ok[r]).any() or self.leak[r])
                    self._repair_rack_cooling(r)
            self._tray_avail_dirty = True
        elif a.kind in ("pump", "cdu"):
            r = a.index
            if a.kind == "pump":
                changed = not self.pump_ok[r, a.sub] or self.pump_capacity[r, a.sub] < 1.0
                self.pump_ok[r, a.sub] = True
                self.pump_capacity[r, a.sub] = 1.0
            else:
                changed = bool((~self.pump_ok[r]).any() or self.leak[r])
                self._repair_rack_cooling(r, fans=False)
        elif a.kind in ("fan", "rdhx"):
            r = a.index
            sl = slice(a.sub, a.sub + 1) if a.kind == "fan" else slice(None)
            changed = bool((~self.fan_ok[r, sl]).any() or (self._fan_due_row(r)[sl]).any())
            self.fan_ok[r, sl] = True
            self.fan_age0_h[r, sl] = -self.t / 3600.0  # a new fan: age 0 now
        elif a.kind == "chiller":
            changed = not self.chiller_ok[a.index] or self.chiller_capacity[a.index] < 1.0
            self.chiller_ok[a.index] = True
            self.chiller_capacity[a.index] = 1.0
        elif a.kind == "turbine":
            changed = self.gt_state[a.index] == GT_TRIPPED
            if changed:
                self.gt_state[a.index] = GT_OFF
        elif a.kind == "grid":
            changed = self.sag_until > self.t or self.outage_until > self.t
            self.sag_until = self.outage_until = -1.0
        elif a.kind in FABRIC_KINDS or a.kind in STORAGE_KINDS:  # network/storage
            changed = (self.fabric if a.kind in FABRIC_KINDS else self.storage).repair(a)
        else:
            raise SimError(f"cannot repair a {a.kind}")
        if changed:
            self._event(EventKind.FAULT_CLEARED, a.text, "repaired", component=a.kind, index=a.index, sub=a.sub,
                        rack=self._rack_index(a.kind, a.index))
        return changed

    def _rack_index(self, component: str, index: int) -> int:
        """The rack a component of kind ``component`` with flat index ``index`` sits in (-1 off the racks)."""
        topo = self.topo
        if component == "gpu":
            return index // topo.gpus_per_rack
        if component in ("tray", "nic", "psu", "cpu", "fe_nic"):
            return index // topo.trays_per_rack
        if component in ("rack", "cdu", "pump", "rdhx", "fan"):
            return index
        return -1

    def _repair_rack_cooling(self, r: int, fans: bool = True) -> None:
        self.pump_ok[r] = True
        self.pump_capacity[r] = 1.0
        self.pump_switch_s[r] = 0.0
        self.leak[r] = False
        self.loop_inventory[r] = 1.0
        if fans:
            self.fan_ok[r] = True

    def degrade(self, address: str, level: float) -> None:
        """Set a pump's or chiller's capacity (1 = healthy, 0 = delivers nothing) for ramped faults such as
        a pump wearing out over 20 minutes. Repair restores 1."""
        a = self.parse(address)
        level = float(min(1.0, max(0.0, level)))
        if a.kind == "pump":
            self.pump_capacity[a.index, a.sub] = level
        elif a.kind == "chiller":
            self.chiller_capacity[a.index] = level
        else:
            raise SimError(f"{a.text}: only pumps and chillers can be degraded (not a {a.kind})")
        self.revision += 1

    def set_tray_service(self, address: str, drained: bool | None = None, slid_out: bool | None = None) -> None:
        """Technician actions: drain a tray (its GPUs leave their job) and slide it out (no heat, no power)."""
        a = self.parse(address)
        if a.kind != "tray":
            raise SimError(f"{address}: a tray address is needed (e.g. H1-R001-T1)")
        if drained is not None and drained != self.tray_drained[a.index]:
            self.tray_drained[a.index] = drained
            self._event("tray_drained" if drained else "tray_returned", a.text)
        if slid_out is not None and slid_out != self.tray_slid_out[a.index]:
            if slid_out and not self.tray_drained[a.index]:
                raise SimError(f"{a.text}: drain the tray before sliding it out")
            self.tray_slid_out[a.index] = slid_out
            self._event("tray_slid_out" if slid_out else "tray_slid_in", a.text)
        self._tray_avail_dirty = True

    def set_rack_isolated(self, address: str, isolated: bool) -> None:
        a = self.parse(address)
        r = self.topo.rack_of(a)
        if r is None:
            raise SimError(f"{address}: not in a rack")
        if self.rack_isolated[r] != isolated:
            self.rack_isolated[r] = isolated
            self._tray_avail_dirty = True
            self._event("rack_isolated" if isolated else "rack_restored", self.topo.rack_address(r))

    def set_power_cap(self, hall: str | None, cap_w: float | None) -> None:
        """Operator power cap per GPU for a hall (or all halls); None removes it."""
        idx = range(self.topo.n_halls) if hall is None else [self.parse(hall).index]
        for h in idx:
            self.power_cap_w[h] = np.inf if cap_w is None else float(cap_w)
        self._event("power_cap", hall or "ALL", "removed" if cap_w is None else f"{cap_w:.0f} W per GPU")

    def _schedule_repair(self, kind: str, address: str, median_s: float) -> None:
        if not self.facility.failures.auto_repair:
            return
        sigma = self.facility.repairs.sigma
        dur = float(median_s * math.exp(sigma * self.rng.standard_normal()))
        self.pending_repairs.append((self.t + dur, kind, address))

    def fail_tray(self, tray: int, cause: str, random: bool = False) -> None:
        """A tray hardware failure (GSP, thermal interface, SSD, CPU, memory, chassis, IO board): the tray
        leaves service and its job is interrupted until the tray is swapped."""
        if self.tray_hw_failed[tray]:
            return
        addr = self.topo.tray_address(tray)
        self.tray_hw_failed[tray] = True
        self._tray_avail_dirty = True
        self._event("fault_started", addr, f"{cause}_failure ({'random' if random else 'injected'})")
        if random:
            self.failures_by_cause[cause] = self.failures_by_cause.get(cause, 0) + 1
        self._interrupt_tray_job(tray, cause)
        self._schedule_repair("tray_failure", addr, self.facility.repairs.tray_median_s)

    def _interrupt_tray_job(self, tray: int, cause: str) -> None:
        j = int(self.tray_job[tray])
        if j < self.n_jobs:
            self._interrupt_job(j, cause, self.topo.tray_address(tray))

    def _interrupt_job(self, j: int, cause: str, address: str) -> None:
        # A failure during a restart interrupts the restart: it begins again (and counts).
        self.job_useful_gpu_s[j] -= self.job_unsaved_gpu_s[j]
        self.job_unsaved_gpu_s[j] = 0.0
        self.job_since_ckpt_s[j] = 0.0
        self.job_state[j] = RESTARTING
        self.job_timer[j] = self.jobs[j].restart_s
        self.job_interruptions[j] += 1
        self.interruptions_by_cause[cause] = self.interruptions_by_cause.get(cause, 0) + 1
        self._event(EventKind.JOB_INTERRUPTED, address, f"{self.jobs[j].name}: {cause}", job=j, cause=cause)

    def _event(self, kind: str, address: str, detail: str = "", **fields) -> Event:
        """Log an event now. ``kind`` may be a plain string (a kind not yet in EventKind stays a string);
        ``fields`` are Event's typed fields (component, index, sub, rack, fault, cause, job)."""
        ev = Event(self.t, event_kind(kind), address, detail, len(self.events), **fields)
        self.events.append(ev)
        self.revision += 1
        return ev

    def log_event(self, t_s: float, kind: str, address: str, detail: str = "", **fields) -> Event:
        """Log an event of another layer of the run (the operations': work orders, technicians, spares) in
        the one event log, at the time it happened (``t_s``, which may lie between two engine steps)."""
        ev = Event(float(t_s), event_kind(kind), address, detail, len(self.events), **fields)
        self.events.append(ev)
        self.revision += 1
        return ev

    def drain_events(self) -> list[Event]:
        """Events since the last call (for the UI and the alarm layer)."""
        new = self.events[self._event_cursor:]
        self._event_cursor = len(self.events)
        return new

    # ====================================================================== derived helpers
    def ambient_c(self, t: float | None = None) -> float:
        t = self.t if t is None else t
        a = self.facility.site.ambient
        hour = (self._start_hour + t / 3600.0) % 24.0
        base = a.mean_c + a.amplitude_c * math.cos(2 * math.pi * (hour - a.peak_hour) / 24.0)
        start, ramp, dur, delta = self.heat_wave
        if delta and start <= t < start + dur:
            base += delta * (min(1.0, (t - start) / ramp) if ramp > 0 else 1.0)
        return base

    def _fan_due_row(self, r: int) -> np.ndarray:
        return (self.fan_age0_h[r] + self.t / 3600.0) > self.facility.rack.rdhx.fan_l10_h

    def fan_due(self) -> np.ndarray:
        """Fans past their L10 life (due for replacement), shape (racks, fans)."""
        return (self.fan_age0_h + self.t / 3600.0) > self.facility.rack.rdhx.fan_l10_h

    def rack_dark(self) -> np.ndarray:
        """Racks whose trays have no power: isolated, host CPUs tripped by heat, CDU supply protection tripped,
        or their hall's feeder tripped. Shape (racks,)."""
        return (self.rack_isolated | self.rack_cpu_tripped | self.rack_supply_tripped
                | self.hall_power_tripped[self.topo.rack_hall])

    def tray_available(self) -> np.ndarray:
        """Trays that are powered and in the job pool, shape (trays,)."""
        if self._tray_avail_dirty:
            topo = self.topo
            # a GPU shut down by heat is out of service until it resets (cooled below the reset temperature)
            gpus_ok = (self.gpu_ok & ~self.gpu_tripped).reshape(self.n_trays, topo.gpus_per_tray).all(axis=1)
            psus = self.psu_ok.sum(axis=1) >= self.facility.rack.tray.psus_needed
            nics = self.nic_ok.all(axis=1)
            self._rack_dark = self.rack_dark()
            iso = self._rack_dark[self._rack_of_tray]
            self._tray_avail = (gpus_ok & psus & nics & ~self.tray_hw_failed & ~self.tray_drained
                                & ~self.tray_slid_out & ~iso & ~self.fabric.tray_fe_down)  # front end: fabric.py
            powered = psus & ~self.tray_slid_out & ~iso
            # GPUs that draw power: powered tray, GPU not failed, not tripped.
            mask = (self.gpu_ok & ~self.gpu_tripped).reshape(self.n_trays, topo.gpus_per_tray) & powered[:, None]
            self._tray_powered = powered
            self._rack_trays_powered = powered.reshape(self.n_racks, topo.trays_per_rack) @ self._ones_trays
            self._tray_in_job = self._tray_avail & (self.tray_job < self.n_jobs)
            # network: a GPU whose link or leaf is down is out of its job, so out of the job's power swing too:
            # it draws its tray's idle level (chip gain included) while its tray-mates follow the job. The
            # step adds ``_p_idle_t`` after applying the mask (None: no such GPU, nothing to add).
            idle = mask & self.fabric.gpu_down & self._tray_in_job[:, None]
            if idle.any():
                mask &= ~idle
                self._p_idle_t = self._gain_t * self._gpu_t(idle * self._tray_idle_w[:, None])
            else:
                self._p_idle_t = None
            np.multiply(self._gain_t, self._gpu_t(mask), out=self._gm_t)  # the step's power: one multiply
            self.job_gpus = np.bincount(self.tray_job[self._tray_in_job], minlength=self.n_jobs + 1)[
                :self.n_jobs].astype(np.float64) * topo.gpus_per_tray
            self.rack_gpus_up = (self._tray_avail.reshape(self.n_racks, topo.trays_per_rack).sum(axis=1)
                                 * topo.gpus_per_tray).astype(np.int32)
            # network: a GPU whose link or leaf is down leaves the pool; its tray-mates stay
            down = self.fabric.tray_gpus_down * self._tray_avail
            if down.any():
                self.job_gpus -= np.bincount(self.tray_job[self._tray_in_job], weights=down[self._tray_in_job],
                                             minlength=self.n_jobs + 1)[:self.n_jobs]
                self.rack_gpus_up -= down.reshape(self.n_racks, topo.trays_per_rack).sum(axis=1).astype(np.int32)
            self._tray_avail_dirty = False
        return self._tray_avail

    def _gpu_t(self, a: np.ndarray) -> np.ndarray:
        """A per-GPU array (trays, GPUs per tray) in the step's transposed float32 layout (``_gain_t``)."""
        return np.ascontiguousarray(a.reshape(self.n_racks, self.topo.gpus_per_rack).T,
                                    dtype=np.float32).reshape(self._gain_t.shape)

    # ====================================================================== the step
    def step(self, dt: float = 1.0) -> None:
        f = self.facility
        site = f.site
        self._apply_scheduled(dt)
        self._random_failures(dt)
        self.fabric.step(dt)  # network/storage
        self.storage.step(dt)
        self.tray_available()
        nr, tpr = self.n_racks, self.topo.trays_per_rack

        # ---- workload: per-job power level, per-tray demand -------------------------------------------
        job_w = self._job_power_levels(dt)
        tray_w = job_w[self.tray_job]
        tray_w = np.where(self._tray_in_job, tray_w, self._tray_idle_w)
        p = self._p_t  # (64, racks)
        p3 = p.reshape(self._gain_t.shape)
        tw = np.ascontiguousarray(tray_w.reshape(nr, tpr).T, dtype=np.float32)  # contiguous: the fast loop
        np.multiply(self._gm_t, tw[:, None, :], out=p3)
        if self._p_idle_t is not None:  # network: GPUs off the fabric idle instead of following their job
            p3 += self._p_idle_t
        # caps: operator cap per hall, then facility load shedding. A capped GPU runs slower (clock ~
        # (cap / demand)^0.4, the same law as thermal capping) and a synchronous job with it.
        self._job_cap_speed[:] = 1.0
        if np.isfinite(self.power_cap_w).any() or self.shed_frac > 0:
            cap_h = np.minimum(self.power_cap_w, self._hall_tdp_w)
            if self.shed_frac > 0:
                cap_h = np.maximum(self._hall_pmin_w, cap_h * (1.0 - self.shed_frac))
            np.minimum(p, cap_h[self.topo.rack_hall].astype(np.float32), out=p)
            for j, job in enumerate(self.jobs):
                c = float(cap_h[self._job_halls[j]].min())
                if c < job.compute_w:
                    self._job_cap_speed[j] = (c / job.compute_w) ** self.clock_exp
        # the CDUs' supply high-temperature protection caps GPUs where the facility water runs hot
        prot_cap = self.protection.update(self, self.rack_fw_c)
        if prot_cap is not None:
            np.minimum(p, prot_cap.astype(np.float32)[None, :], out=p)
            for j, job in enumerate(self.jobs):
                c = float(prot_cap[self._job_racks[j]].min()) if self._job_racks[j].size else np.inf
                if c < job.compute_w:
                    self._job_cap_speed[j] = min(self._job_cap_speed[j], (c / job.compute_w) ** self.clock_exp)

        # ---- thermal throttling only where it can matter (hot racks) ---------------------------------
        self._throttle(self.gpu_power_w, dt)

        # ---- GPU thermal: two nodes, backward Euler (stiff junction, tau ~0.5 s) --------------------
        f08 = self.flow_frac ** 0.8  # film coefficient of a cold plate ~ flow^0.8
        g2 = self._g2_design * f08 + self._g_still
        kj_f, kp_f, d_f, c_f, a_f = self._thermal_coefficients(dt, g2)
        t_c = 0.5 * (self.t_sup + self.t_ret)
        r1, r2 = self._r1, self._r2
        tj, tp = self._tj_t, self._tp_t
        np.multiply(tj, kj_f, out=r1)
        r1 += p
        np.multiply(tp, kp_f, out=r2)
        r2 += (g2 * t_c).astype(np.float32)
        np.multiply(r1, d_f, out=tj)
        np.multiply(r2, c_f, out=tp)
        tj += tp
        np.multiply(r1, c_f, out=r1)
        np.multiply(r2, a_f, out=tp)
        tp += r1

        sum_tp = (self._ones @ tp).astype(np.float64)  # BLAS: the fastest per-rack sum
        gpu_w_rack = (self._ones @ p).astype(np.float64)
        q_gpu_water = g2 * (sum_tp - self.topo.gpus_per_rack * t_c)  # consistent with the implicit update
        np.max(tj, axis=0, out=self._rack_max_f32)
        self.rack_hottest_c = self._rack_max_f32.astype(np.float64)

        # ---- rack loop, CDU, rear door -----------------------------------------------------------------
        powered = self._rack_trays_powered
        cpu_w, q_cpu_water = self.cpu.step(self.rack_cpu_c, powered, f08, t_c, dt)
        self._cpu_trips()
        air_w, q_door, q_room = self.air.racks(self, powered * self.tray_air_w, self.rack_fw_c)
        inv0 = self.loop_inventory
        self._update_flow(dt)
        if self.leak.any():  # the leaked water takes its heat with it
            self.acc["leak_j"] += float(((inv0 - self.loop_inventory) * self.t_ret).sum()) * self.loop_c
        loop_c = self.loop_c * np.maximum(self.loop_inventory, 0.02)  # a drained loop holds little heat
        ua = self.cdu_ua_design * self.flow_frac * self.water.ua_factor  # less facility flow down the header
        q_hx = ua * (self.t_ret - self.rack_fw_c)
        board_w = powered * self.tray_board_w  # NVSwitches, VRMs: straight into the loop
        loop_rate = (q_gpu_water + q_cpu_water + board_w - q_hx) / loop_c
        self.t_ret += loop_rate * dt
        # with no flow the loop is stagnant: both sensors read the same water (no CDU delta-T to show)
        moving = np.minimum(1.0, self.flow_frac / f.rack.cdu.stagnant_below_flow_frac)
        self.t_sup = self.t_ret - moving * self._cdu_eff_r * (self.t_ret - self.rack_fw_c)
        self.rack_q_door_w = q_door
        self.ttl.update(self, gpu_w_rack, q_gpu_water, g2, loop_rate, t_c, dt)
        self.rack_power_w = gpu_w_rack + cpu_w + board_w + air_w
        self.rack_q_water_w = q_hx + q_door
        self.rack_q_air_w = air_w
        self.rack_q_room_w = q_room

        # ---- facility water and chillers ---------------------------------------------------------------
        amb = self.ambient_c()
        ch = site.chillers
        q_water = float(self.rack_q_water_w.sum())
        cap_each = ch.capacity_mw * 1e6 * chiller_capacity_frac(ch, amb, self.t_fs)
        cap_units = self.chiller_ok * self.chiller_capacity  # per chiller, fraction of its rating
        want = q_water + self.fac_c * (self.t_fs - site.supply_setpoint_c) / ch.control_time_s
        q_ch = min(max(want, 0.0), float(cap_units.sum()) * cap_each)
        self.chiller_load_w = cap_units / max(float(cap_units.sum()), 1e-9) * q_ch
        self.t_fs += (q_water - q_ch) * dt / self.fac_c
        self.t_fr = self.t_fs + q_water / self.fac_flow_c
        self.water.update(self, dt)
        cop, self.plant_free_share = plant_cop(ch, amb, self.t_fs)
        self.chiller_cop = cop
        q_room_total = float(q_room.sum())
        q_ahu, ahu_fan_w = self.air.halls(self, q_room, dt)
        running_pumps = np.minimum(self.pump_ok @ self._ones_pumps, f.rack.cdu.pumps_needed) * (self.flow_frac > 0.05)
        aux_w = (float(running_pumps.sum()) * f.rack.cdu.pump_power_w
                 + float(self.fan_ok.sum() if not self.hall_power_tripped.any() else
                         self.fan_ok[~self.hall_power_tripped[self.topo.rack_hall]].sum()) * f.rack.rdhx.fan_power_w
                 + ch.pump_power_mw * 1e6)
        ns_w = self.fabric.power_w + self.storage.power_w  # network/storage (sim/fabric.py, sim/storage.py)
        if self.hall_power_tripped.any():  # the fabric of a dark hall is dark too
            ns_w *= 1.0 - float(self.hall_power_tripped.mean())
        self.network_storage_w = ns_w
        self.cooling_w = q_ch / cop + (q_ahu + ns_w) / site.room_air_cop + ahu_fan_w + aux_w
        self.it_w = float(self.rack_power_w.sum()) + ns_w
        q_room_total += ns_w  # the fabric and storage rooms' heat goes to air too
        self.facility_w = (self.it_w + self.cooling_w) * (1.0 + site.electrical_loss_frac)

        # ---- power dispatch -------------------------------------------------------------------------
        self._dispatch(dt)

        # ---- jobs progress, accounting, telemetry ------------------------------------------------------
        self._account(dt, q_water, q_room_total, q_gpu_water)
        self.t += dt
        self.step_count += 1
        self.revision += 1
        self._record()
        self.fabric.record(dt)  # network/storage
        self.storage.record()

    # ---------------------------------------------------------------------- pieces of the step
    def _thermal_coefficients(self, dt: float, g2: np.ndarray) -> tuple:
        """The backward-Euler coefficients of the two GPU nodes, per rack (float32 rows broadcast over the 64
        GPUs). When every rack has the same coefficients (one GPU model, the same flow everywhere: the healthy
        steady state) they are scalars, which numpy multiplies about twice as fast as a broadcast row. Cached
        until dt or a rack's flow changes."""
        cache = self._coef
        if cache is not None and cache[0] == dt and np.array_equal(cache[1], g2):
            return cache[2]
        kj, kp, g1 = self._cj / dt, self._cp / dt, self._g1
        a = kj + g1
        d = kp + g1 + g2
        det = a * d - g1 * g1
        rows = [x.astype(np.float32) for x in (kj, kp, d / det, g1 / det, a / det)]
        coef = tuple(r[0] if r.size and (r == r[0]).all() else r for r in rows)
        self._coef = (dt, g2.copy(), coef)
        return coef

    def _apply_scheduled(self, dt: float) -> None:
        while self._fault_cursor < len(self._faults) and self._faults[self._fault_cursor].at <= self.t + 1e-9:
            fs = self._faults[self._fault_cursor]
            self._fault_cursor += 1
            self.inject(fs.kind, fs.target, depth=fs.depth, duration=fs.duration, delta_c=fs.delta_c,
                        ramp_s=fs.ramp_s, cause="scenario")
        if self.pending_repairs:
            due = [r for r in self.pending_repairs if r[0] <= self.t]
            if due:
                self.pending_repairs = [r for r in self.pending_repairs if r[0] > self.t]
                for _, _kind, addr in due:
                    self.repair(addr)
        if self.sag_until >= 0 and self.t >= self.sag_until:
            self.sag_until = -1.0
            self._event("fault_cleared", "GRID", "grid sag over")
        if self.outage_until >= 0 and self.t >= self.outage_until:
            self.outage_until = -1.0
            self._event("fault_cleared", "GRID", "grid restored")

    def _failure_rates(self, dt: float) -> np.ndarray:
        """Expected failures per cause in a step of ``dt`` (the order of ``failure_causes``). Cached for a
        fixed dt unless Weibull ages make the rates change with time."""
        fl = self.facility.failures
        cached = self._rates_cache
        if cached is not None and cached[0] == dt and not fl.weibull_shape:
            return cached[1]
        topo = self.topo
        gpu_days = self.n_gpus * dt / 86400.0
        years = dt / (365.25 * 86400.0)
        fan_rate_h = 1.0 / (self.facility.rack.rdhx.fan_mttf_over_l10 * self.facility.rack.rdhx.fan_l10_h)
        rates = np.array([
            fl.gpu_per_gpu_day * gpu_days, fl.hbm_per_gpu_day * gpu_days, fl.nic_per_gpu_day * gpu_days,
            fl.psu_per_gpu_day * gpu_days, fl.software_per_gpu_day * gpu_days,
            fl.pump_per_pump_year * years * self.n_racks * topo.pumps_per_cdu,
            fan_rate_h * dt / 3600.0 * self.n_racks * topo.fans_per_door,
            fl.leak_per_rack_year * years * self.n_racks,
            fl.chiller_per_chiller_year * years * topo.n_chillers,
            *[r * gpu_days for r in fl.tray_hardware_per_gpu_day.values()],
        ])
        if fl.weibull_shape:  # hazard (age / age at t = 0)^(k - 1): the configured rate holds at t = 0
            age = (fl.fleet_age_h + self.t / 3600.0) / fl.fleet_age_h
            for i, c in enumerate(self.failure_causes):
                k = fl.weibull_shape.get(c)
                if k is not None:
                    rates[i] *= age ** (k - 1.0)
        self._rates_cache = (dt, rates)
        return rates

    def _random_failures(self, dt: float) -> None:
        topo = self.topo
        grid = self.facility.site.grid
        if grid.fluctuation_sags_per_day > 0 and self.sag_until < self.t and self.outage_until < self.t:
            # the utility's own small sags: a few a day, a few percent for a second or two
            if self.rng.random() < grid.fluctuation_sags_per_day * dt / 86400.0:
                lo = grid.fluctuation_min_depth
                self.inject("grid_sag", "GRID", depth=float(self.rng.uniform(lo, max(lo + 0.001, grid.fluctuation_depth))),
                            duration=float(self.rng.uniform(grid.fluctuation_min_s,
                                                            max(grid.fluctuation_min_s, grid.fluctuation_max_s))),
                            cause="random")
        self.air.failures(self, dt)
        rates = self._failure_rates(dt)
        total = rates.sum()
        if total <= 0:
            return
        n = self.rng.poisson(total)
        for _ in range(n):
            cause = self.failure_causes[int(self.rng.choice(len(rates), p=rates / total))]
            if cause in ("gpu", "hbm"):
                g = int(self.rng.integers(self.n_gpus))
                self.inject(f"{cause}_failure", topo.gpu_address(g), cause="random")
            elif cause == "nic":
                tray = int(self.rng.integers(self.n_trays))
                nic = int(self.rng.integers(topo.nics_per_tray))
                self.inject("nic_failure", f"{topo.tray_address(tray)}-N{nic + 1}", cause="random")
            elif cause == "psu":
                tray = int(self.rng.integers(self.n_trays))
                psu = int(self.rng.integers(topo.psus_per_tray))
                self.inject("psu_failure", f"{topo.tray_address(tray)}-PSU{psu + 1}", cause="random")
            elif cause == "software":
                tray = int(self.rng.integers(self.n_trays))
                self.failures_by_cause["software"] += 1
                self._interrupt_tray_job(tray, "software")
            elif cause == "pump":
                r = int(self.rng.integers(self.n_racks))
                self.inject("pump_failure", topo.pump_address(r, int(self.rng.integers(topo.pumps_per_cdu))),
                            cause="random")
            elif cause == "fan":
                r = int(self.rng.integers(self.n_racks))
                self.inject("fan_failure", topo.fan_address(r, int(self.rng.integers(topo.fans_per_door))),
                            cause="random")
            elif cause == "leak":
                self.inject("coolant_leak", topo.rack_address(int(self.rng.integers(self.n_racks))), cause="random")
            elif cause == "chiller":
                self.inject("chiller_trip", topo.chiller_address(int(self.rng.integers(topo.n_chillers))),
                            cause="random")
            else:  # a tray hardware cause: the tray is out until swapped
                self.fail_tray(int(self.rng.integers(self.n_trays)), cause, random=True)

    def _job_power_levels(self, dt: float) -> np.ndarray:
        """Per-job GPU power for this step (last slot: no job). Advances checkpoint/restart timers."""
        out = np.zeros(self.n_jobs + 1)
        for j, job in enumerate(self.jobs):
            if self.job_state[j] != RUNNING:
                # storage: a checkpoint counts down in seconds at full bandwidth, at the bandwidth left
                self.job_timer[j] -= dt * (self.storage.job_rate[j] if self.job_state[j] == CHECKPOINTING else 1.0)
                if self.job_timer[j] <= 0:
                    if self.job_state[j] == RESTARTING:
                        self._event(EventKind.JOB_RESTARTED, job.halls[0], job.name, job=j)
                    self.job_state[j] = RUNNING
                    self.job_phase_t[j] = 0.0
            if self.job_state[j] == RUNNING:
                # the share of this step spent computing, integrated exactly over the iteration pattern
                # (sampling the phase at one instant per step distorts the mix when dt is not tiny)
                frac = compute_share(self.job_phase_t[j], dt * self.job_speed[j], job.iteration_s,
                                     job.compute_fraction)
                out[j] = frac * job.compute_w + (1.0 - frac) * job.comm_w
            else:  # checkpoint stall or restart: idle with memory allocated
                out[j] = self._job_idle_mem_w[j]
        return out

    def _throttle(self, p: np.ndarray, dt: float) -> None:
        """Power cap at t_max_op, clocks halve at t_slowdown, shutdown at t_shutdown. Works on the racks
        whose hottest GPU is within a margin of the cap (usually none), so the common step pays nothing."""
        hot = np.flatnonzero(self.rack_hottest_c > self.rack_t_cap_c - self.facility.estimates.hot_rack_margin_k)
        was = self._hot_racks
        if was.size:
            cooled = np.setdiff1d(was, hot)
            if cooled.size:
                self.gpu_clock[cooled] = 1.0
                self.rack_throttled[cooled] = 0
        self._hot_racks = hot
        self._throttle_events(dt)
        self._reset_thermal_trips()
        self.job_speed[:] = self._job_cap_speed
        if not hot.size:
            return
        tj = self.tj[hot]
        t_cap = self.rack_t_cap_c[hot][:, None]
        t_slow = self.rack_t_slow_c[hot][:, None]
        t_shut = self.rack_t_shut_c[hot][:, None]
        tdp = self.rack_tdp_w[hot][:, None]
        pmin = self.rack_pmin_w[hot][:, None]
        frac = np.clip((tj - t_cap) / (t_slow - t_cap), 0.0, 1.0)
        cap = tdp - frac * (tdp - pmin)
        ph = p[hot]
        demand = np.maximum(ph, 1.0)
        capped = np.minimum(ph, cap)
        clock = np.where(ph > 0, (capped / demand) ** self.rack_clock_exp[hot][:, None], 1.0)
        slow = tj >= t_slow
        capped = np.where(slow, capped * 0.5, capped)
        clock = np.where(slow, clock * 0.5, clock)
        shut = (tj >= t_shut) & (ph > 0)
        if shut.any():
            rr, gg = np.nonzero(shut)
            self.gpu_tripped[hot[rr], gg] = True
            self._any_tripped = True
            self._tray_avail_dirty = True
            for r in np.unique(hot[rr]):
                self._event("gpu_shutdown", self.topo.rack_address(int(r)),
                            f"{int((hot[rr] == r).sum())} GPU(s) over {self.rack_t_shut_c[r]:.0f} C")
                trays = int(r) * self.topo.trays_per_rack + gg[hot[rr] == r] // self.topo.gpus_per_tray
                in_job = trays[self._tray_in_job[trays]]  # a tray already out of the job interrupts nothing
                if in_job.size:
                    self._interrupt_tray_job(int(in_job[0]), "thermal")
            capped = np.where(shut, 0.0, capped)
            clock = np.where(shut, 0.0, clock)
        p[hot] = capped
        clock = np.where(ph > 0, clock, 1.0).astype(np.float32)
        self.gpu_clock[hot] = clock
        n_thr = (clock < 0.999).sum(axis=1)
        for i in np.flatnonzero((n_thr > 0) & ~self.rack_throttling[hot]):
            r = int(hot[i])
            self.rack_throttling[r] = True
            self._event("throttle_began", self.topo.rack_address(r), f"{int(n_thr[i])} GPUs throttled", rack=r)
        self.rack_throttled[hot] = n_thr
        self.rack_quiet_s[hot[n_thr > 0]] = 0.0
        # synchronous jobs run at the pace of their slowest GPU
        if self.n_jobs:
            tray_min = clock.reshape(hot.size, self.topo.trays_per_rack, -1).min(axis=2)
            trays = (hot[:, None] * self.topo.trays_per_rack + np.arange(self.topo.trays_per_rack)).ravel()
            in_job = self._tray_in_job[trays]
            jt = self.tray_job[trays][in_job]
            mins = tray_min.ravel()[in_job]
            if jt.size:
                np.minimum.at(self.job_speed, jt, mins)

    def _cpu_trips(self) -> None:
        """Hosts whose CPUs passed THERMTRIP shut down (their trays lose power); they come back cool."""
        hot = (self.rack_cpu_c >= self.cpu.t_shutdown_c) & ~self.rack_cpu_tripped
        if hot.any():
            tpr = self.topo.trays_per_rack
            for r in np.flatnonzero(hot):
                self.rack_cpu_tripped[r] = True
                self._event("cpu_shutdown", self.topo.rack_address(int(r)),
                            f"host CPUs over {self.cpu.t_shutdown_c:.0f} C: trays shut down")
                for j in np.unique(self.tray_job[r * tpr:(r + 1) * tpr]):
                    if j < self.n_jobs:
                        self._interrupt_job(int(j), "thermal", self.topo.rack_address(int(r)))
            self._tray_avail_dirty = True
        if self.rack_cpu_tripped.any():
            back = self.rack_cpu_tripped & (self.rack_cpu_c < self.facility.failures.thermal_trip_reset_c)
            if back.any():
                self.rack_cpu_tripped[back] = False
                self._tray_avail_dirty = True
                for r in np.flatnonzero(back):
                    self._event("cpu_reset", self.topo.rack_address(int(r)), "hosts back after cooling")

    def _reset_thermal_trips(self) -> None:
        """A GPU shut down by heat comes back once it has cooled below the reset temperature. Its rack is
        by then far from the hot set, so this looks at every rack that has a tripped GPU."""
        if not self._any_tripped:
            return
        racks = np.flatnonzero(self.gpu_tripped.any(axis=1))
        if not racks.size:
            self._any_tripped = False
            return
        trip = self.gpu_tripped[racks]
        reset = trip & (self.tj[racks] < self.facility.failures.thermal_trip_reset_c)
        if reset.any():
            rr, gg = np.nonzero(reset)
            self.gpu_tripped[racks[rr], gg] = False
            self._tray_avail_dirty = True
            for r in np.unique(racks[rr]):
                self._event("gpu_reset", self.topo.rack_address(int(r)),
                            f"{int((racks[rr] == r).sum())} GPU(s) back after cooling")

    def _throttle_events(self, dt: float) -> None:
        """A rack's throttling ends after a quiet time without a throttled GPU (training swings would otherwise
        begin and end it every iteration)."""
        latched = np.flatnonzero(self.rack_throttling)
        if not latched.size:
            return
        quiet = latched[self.rack_throttled[latched] == 0]
        self.rack_quiet_s[quiet] += dt
        for r in quiet[self.rack_quiet_s[quiet] >= self.facility.estimates.throttle_quiet_s]:
            self.rack_throttling[r] = False
            self.rack_quiet_s[r] = 0.0
            self._event("throttle_ended", self.topo.rack_address(int(r)), rack=int(r))

    def _running_pumps(self, needed: int) -> np.ndarray:
        """Lead/lag: the first ``needed`` working pumps of each CDU run, shape (racks, pumps). Column by
        column (a CDU has two or three pumps): numpy's cumsum along that short axis is ~5x slower."""
        ok = self.pump_ok
        sel = np.empty_like(ok)
        count = np.zeros(ok.shape[0], dtype=np.int16)
        for k in range(ok.shape[1]):
            col = ok[:, k]
            count += col
            np.logical_and(col, count <= needed, out=sel[:, k])
        return sel

    def _update_flow(self, dt: float) -> None:
        cdu = self.facility.rack.cdu
        # the first `pumps_needed` working pumps run (lead/lag); a degraded pump delivers less
        cache = self._pump_cache  # the pumps change rarely: reuse the delivered flow until they do
        if cache is not None and np.array_equal(cache[0], self.pump_ok) and np.array_equal(cache[1], self.pump_capacity):
            target = cache[2]
        else:
            sel = self._running_pumps(cdu.pumps_needed)
            target = np.minimum(1.0, (self.pump_capacity * sel) @ self._ones_pumps / cdu.pumps_needed)
            self._pump_cache = (self.pump_ok.copy(), self.pump_capacity.copy(), target)
        switching = self.pump_switch_s > 0
        if switching.any():
            target = np.where(switching, cdu.switchover_flow_frac * target, target)
            self.pump_switch_s = np.maximum(0.0, self.pump_switch_s - dt)
        if self.leak.any():
            self.loop_inventory = np.where(self.leak, np.maximum(0.0, self.loop_inventory - dt / cdu.leak_drain_s),
                                           self.loop_inventory)
        if self.leak.any() or self._loop_low:  # a drained loop: the pumps draw air
            target = target * np.minimum(self.loop_inventory / cdu.cavitation_inventory_frac, 1.0)
            self._loop_low = bool((self.loop_inventory < 1.0).any())
        target = np.where(self.rack_isolated, 0.0, target)
        if self.hall_power_tripped.any():  # the CDU pumps share the hall's feed
            target = np.where(self.hall_power_tripped[self.topo.rack_hall], 0.0, target)
        # pumps spin up/down in about a second (exact first-order response, so the same at any dt)
        self.flow_frac += (target - self.flow_frac) * (1.0 - math.exp(-dt / cdu.pump_spinup_s))

    def _dispatch(self, dt: float) -> None:
        site = self.facility.site
        mp, grid = site.megapacks, site.grid
        load = self.facility_w
        if not math.isfinite(self.load_lp_w):
            self.load_lp_w = load
            self.grid_w = load
        alpha = min(1.0, dt / mp.smoothing_s)
        self.load_lp_w += alpha * (load - self.load_lp_w)
        # what the grid can give now
        avail = grid.import_limit_mw * 1e6
        if self.outage_until > self.t:
            avail = 0.0
        elif self.sag_until > self.t:
            avail = min(avail, (1.0 - self.sag_depth) * self.sag_ref_w)
        self.grid_avail_w = avail
        # turbines follow the deficit the grid leaves
        turb_w = self._turbines(dt, load, avail)
        # the grid sees the smoothed load plus a slow SoC correction, ramp-limited
        e = self.batt_e_j
        soc_corr = (mp.soc_target - self.soc) * e / mp.soc_correction_s if e > 0 else 0.0
        lim = mp.soc_correction_max_frac * self.batt_p_w
        soc_corr = min(max(soc_corr, -lim), lim)  # np.clip on a scalar costs ~5 us
        target = self.load_lp_w + soc_corr - turb_w
        ramp = grid.ramp_limit_mw_per_s * 1e6 * dt
        g = min(max(target, self.grid_w - ramp), self.grid_w + ramp)
        g = min(max(g, 0.0), avail)
        # the battery takes the rest, within power, energy and SoC limits
        eta = self.batt_eta
        max_out = min(self.batt_p_w, max(0.0, (self.soc - mp.soc_min) * e * eta / dt)) if e > 0 else 0.0
        max_in = min(self.batt_p_w, max(0.0, (mp.soc_max - self.soc) * e / eta / dt)) if e > 0 else 0.0
        b = load - g - turb_w
        if b > max_out:  # battery cannot carry it: the grid takes more if it can (ramp limit yields)
            g = min(avail, load - turb_w - max_out)
            b = min(max_out, load - g - turb_w)
        elif b < -max_in:  # battery full: the grid backs off
            b = -max_in
            g = max(0.0, load - turb_w - b)
        short = load - g - turb_w - b
        if b >= 0:
            self.soc -= b * dt / (eta * e) if e > 0 else 0.0
            self.acc["batt_out_j"] += b * dt
        else:
            self.soc += -b * dt * eta / e
            self.acc["batt_in_j"] += -b * dt
        self.batt_w, self.grid_w = b, g
        # load shedding: the last resort before feeders trip; relax slowly when supply returns
        pp = site.power_protection
        short = max(short, 0.0)
        self.unserved_w = short if short > 1.0 else 0.0
        spare = avail + max_out + turb_w - load
        if short > 1.0:
            it_gpu = max(1.0, float(self._p_t.sum()))
            if self.shed_frac == 0.0:
                self._event("load_shed_began", "GRID", f"{short / 1e6:.1f} MW short")
            self.shed_frac = min(pp.shed_max_frac, self.shed_frac + pp.shed_gain * short / it_gpu)
            self.unserved_j += short * dt
            self.acc["unserved_j"] += short * dt
        elif self.shed_frac > 0:
            if spare > pp.shed_relax_margin_frac * load:
                self.shed_frac = max(0.0, self.shed_frac - pp.shed_relax_per_s * dt)
                if self.shed_frac == 0.0:
                    self._event("load_shed_ended", "GRID")
        # closing a hall again needs supply that lasts: grid and running turbines, not the battery
        running = self.gt_state == GT_RUNNING
        lasting = avail + float(running.sum()) * site.turbines.rating_mw * 1e6 - load
        self.feeders.update(self, short, load, lasting, dt)

    def _turbines(self, dt: float, load: float, avail: float) -> float:
        gt = self.facility.site.turbines
        if gt.count == 0:
            return 0.0
        # halls tripped for want of power count too: the turbines start to bring them back
        deficit = self.load_lp_w - avail
        if self.hall_power_tripped.any():
            deficit += float(self.hall_trip_load_w[self.hall_power_tripped].sum())
        low_soc = self.soc < self.facility.site.megapacks.soc_min + gt.low_soc_margin
        if deficit > 0 or low_soc:
            self.deficit_s += dt
            self.surplus_s = 0.0
        else:
            self.surplus_s += dt
            self.deficit_s = 0.0
        rating = gt.rating_mw * 1e6
        need_units = max(0, math.ceil(max(deficit, 0.0) * (1.0 + gt.start_margin_frac) / rating)) + (1 if low_soc else 0)
        active = (self.gt_state == GT_STARTING) | (self.gt_state == GT_RUNNING)
        if self.deficit_s >= gt.start_after_deficit_s and active.sum() < need_units:
            for i in np.flatnonzero(self.gt_state == GT_OFF)[: need_units - int(active.sum())]:
                self.gt_state[i] = GT_STARTING
                self.gt_timer[i] = gt.start_time_s
                self._event("turbine_starting", self.topo.turbine_address(int(i)))
                if self.rng.random() < self.facility.failures.turbine_trip_per_start:
                    self.inject("turbine_trip", self.topo.turbine_address(int(i)), cause="random")
        starting = self.gt_state == GT_STARTING
        if starting.any():
            self.gt_timer[starting] -= dt
            done = starting & (self.gt_timer <= 0)
            for i in np.flatnonzero(done):
                self.gt_state[i] = GT_RUNNING
                self._event("turbine_online", self.topo.turbine_address(int(i)))
        running = self.gt_state == GT_RUNNING
        if self.surplus_s > gt.stop_after_surplus_s and running.any():
            for i in np.flatnonzero(running):
                self.gt_state[i] = GT_OFF
                self._event("turbine_stopped", self.topo.turbine_address(int(i)))
            running[:] = False
        n = int(running.sum())
        if n:
            mp = self.facility.site.megapacks
            recharge = max(0.0, (mp.soc_target - self.soc)) * self.batt_e_j / mp.soc_correction_s
            want = max(0.0, load - avail + min(recharge, mp.soc_correction_max_frac * self.batt_p_w)) / n
            step = gt.ramp_frac_per_min * rating / 60.0 * dt
            self.gt_w[running] = np.clip(want, self.gt_w[running] - step, np.minimum(self.gt_w[running] + step,
                                                                                     rating))
        self.gt_w[~running] = 0.0
        return float(self.gt_w.sum())

    def _account(self, dt: float, q_water: float, q_room: float, q_gpu_water) -> None:
        acc = self.acc
        acc["it_j"] += self.it_w * dt
        acc["facility_j"] += self.facility_w * dt
        acc["cooling_j"] += self.cooling_w * dt
        acc["water_j"] += q_water * dt
        acc["air_j"] += q_room * dt
        acc["grid_peak_w"] = max(acc["grid_peak_w"], self.grid_w)
        acc["soc_min"] = min(acc["soc_min"], self.soc)
        acc["hall_air_max_c"] = max(acc["hall_air_max_c"], float(self.hall_air_c.max()))
        hottest = float(self._rack_max_f32.max())
        acc["gpu_temp_max_c"] = max(acc["gpu_temp_max_c"], hottest)
        thr = int(self.rack_throttled.sum())
        acc["throttled_gpu_s"] += thr * dt
        if self.it_w > 0:
            acc["pue_sum"] += self.facility_w / self.it_w
            acc["pue_n"] += 1
        # jobs
        for j, job in enumerate(self.jobs):
            if self.job_state[j] == RUNNING:
                # network: the communication phase runs at the bisection bandwidth left (sim/fabric.py)
                adv = advance_phase(self.job_phase_t[j], dt, job.iteration_s, job.compute_fraction,
                                    self.job_speed[j], self.fabric.job_bw[j]) - self.job_phase_t[j]
                work = self.job_gpus[j] * adv
                self.fabric.acc["lost_comm_gpu_s"] += float(self.job_gpus[j] * self.job_speed[j] * dt - work)
                self.job_useful_gpu_s[j] += work
                self.job_unsaved_gpu_s[j] += work
                acc["throttle_lost_gpu_s"] += self.job_gpus[j] * (1.0 - self.job_speed[j]) * dt
                self.job_since_ckpt_s[j] += dt
                self.job_phase_t[j] += adv
                ckpt_s = self.storage.checkpoint_full_s(j)  # storage: checkpoint size / full bandwidth
                if self.job_since_ckpt_s[j] >= job.checkpoint_interval_s and ckpt_s > 0:
                    self.job_state[j] = CHECKPOINTING
                    self.job_timer[j] = ckpt_s
                    self.job_since_ckpt_s[j] = 0.0
                    self.job_unsaved_gpu_s[j] = 0.0
                elif self.job_since_ckpt_s[j] >= job.checkpoint_interval_s:
                    self.job_since_ckpt_s[j] = 0.0
                    self.job_unsaved_gpu_s[j] = 0.0
        acc["capacity_gpu_s"] += self.n_gpus * dt

    def goodput(self) -> float:
        """Useful GPU-seconds (progress made, less what interruptions threw away since the last checkpoint,
        less checkpoint stalls, restarts, throttling and trays out of service) over the GPU-seconds the whole
        facility could have given."""
        cap = self.acc["capacity_gpu_s"]
        if cap <= 0:
            return 1.0
        return float(self.job_useful_gpu_s.sum()) / cap

    def _record(self) -> None:
        tel = self.telemetry
        every = max(1, int(round(tel.rack_every_s)))
        if self.step_count % every == 1 or every == 1:
            # the slow stats: p99 and mean over every GPU
            flat = self._tj_t.ravel()
            k = int(0.99 * (flat.size - 1))
            self._p99 = float(np.partition(flat, k)[k])
            tel.rack_t.push(self.t)
            row = tel.racks.next_row()
            row[0] = self.rack_hottest_c
            row[1] = self.rack_power_w / 1e3
            row[2] = self.t_ret
            row[3] = self.t_sup
            row[4] = self.flow_frac
            tel.racks.commit()
        # mean every step (one BLAS pass); p99 every rack-telemetry period, kept between mean and max
        self._mean_c = float((self._ones @ self._tj_t).sum()) / self.n_gpus if self.n_gpus else 0.0  # BLAS
        hottest = float(self._rack_max_f32.max())
        self._p99 = min(max(self._p99, self._mean_c), hottest)
        row = tel.facility.next_row()
        row[:] = (self.t, self.it_w / 1e6, self.cooling_w / 1e6, self.facility_w / 1e6, self.grid_w / 1e6,
                  self.batt_w / 1e6, float(self.gt_w.sum()) / 1e6, self.grid_avail_w / 1e6, self.soc, self.t_fs,
                  self.t_fr, self.ambient_c(), hottest, self._p99, self._mean_c,
                  float(self.t_ret.max()), float(self.rack_throttled.sum()), float(self.rack_gpus_up.sum()),
                  self.facility_w / self.it_w if self.it_w > 0 else 0.0, self.goodput(), self.chiller_cop,
                  self.shed_frac, self.unserved_w / 1e6, float(self.hall_air_c.max()))
        tel.facility.commit()

    # ====================================================================== running and reporting
    def run(self, seconds: float, dt: float = 1.0, progress: Callable[[float], bool | None] | None = None,
            progress_every_s: float = 3600.0) -> None:
        """Advance ``seconds`` of simulated time; ``progress(fraction)`` may return False to stop early."""
        steps = int(round(seconds / dt))
        every = max(1, int(progress_every_s / dt))
        for i in range(steps):
            self.step(dt)
            if progress is not None and (i + 1) % every == 0 and progress((i + 1) / steps) is False:
                break

    def stored_heat_j(self) -> float:
        """Heat held in GPU nodes, rack loops and the facility water, relative to 0 C (energy balance)."""
        gpu = float((self.tj.astype(np.float64) * self._cj[:, None]).sum()
                    + (self.tp.astype(np.float64) * self._cp[:, None]).sum())
        return (gpu + float((self.t_ret * np.maximum(self.loop_inventory, 0.02)).sum()) * self.loop_c
                + float(self.rack_cpu_c.sum()) * self.cpu.c_j_per_k)

    def summary(self) -> dict:
        acc = self.acc
        return {
            "facility": self.facility.name,
            "gpus": int(self.n_gpus),
            "racks": int(self.n_racks),
            "seed": self.seed,
            "duration_s": float(self.t),
            "it_energy_mwh": acc["it_j"] / 3.6e9,
            "facility_energy_mwh": acc["facility_j"] / 3.6e9,
            "cooling_energy_mwh": acc["cooling_j"] / 3.6e9,
            "pue_mean": acc["pue_sum"] / acc["pue_n"] if acc["pue_n"] else 0.0,
            "grid_peak_mw": acc["grid_peak_w"] / 1e6,
            "battery_soc_min": acc["soc_min"],
            "battery_out_mwh": acc["batt_out_j"] / 3.6e9,
            "unserved_mwh": acc["unserved_j"] / 3.6e9,
            "gpu_temp_max_c": acc["gpu_temp_max_c"] if math.isfinite(acc["gpu_temp_max_c"]) else None,
            "throttled_gpu_seconds": acc["throttled_gpu_s"],
            "interruptions": int(self.job_interruptions.sum()),
            "interruptions_by_cause": dict(sorted(self.interruptions_by_cause.items())),
            "failures_by_cause": dict(self.failures_by_cause),
            "goodput": self.goodput(),
            "events": len(self.events),
            "fabric": self.fabric.summary(),  # network/storage
            "storage": self.storage.summary(),
            "hall_air_max_c": acc["hall_air_max_c"],
            "jobs": self.job_mttf(),
        }

    def job_mttf(self) -> list[dict]:
        """Each job at its full size: interruptions and mean time to failure (hours per interruption over
        the run), to hold against published figures (Meta: 47.7 days at 8 GPUs, 7.9 h at 1,024, ~1.8 h at
        16k; Llama 3: 3.1 h at 16,384)."""
        gpt, hours = self.topo.gpus_per_tray, self.t / 3600.0
        size = np.bincount(self.tray_job, minlength=self.n_jobs + 1)[:self.n_jobs] * gpt
        out = []
        for j, job in enumerate(self.jobs):
            n = int(self.job_interruptions[j])
            out.append({"name": job.name, "gpus": int(size[j]), "interruptions": n,
                        "mttf_h": hours / n if n else None})
        return out
