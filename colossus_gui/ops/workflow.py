"""OpsManager: what the people of the facility do, advanced in simulated time after every engine step.

Failures (engine ``fault_started`` events) and critical alarms open work orders; technicians are dispatched
(automatically: the nearest free qualified one; or by the operator), walk to the rack, take the part from
stock and carry out the recipe's steps, each acting on the engine (drain the tray, slide it out, repair,
slide it in, return it to the pool, isolate the rack, ...). With OpsManager running, the engine's own
automatic repairs are switched off: people repair things now.

Timing: every phase (travel, each step) ends at its exact time (start + drawn duration) and the next phase
starts then, even between two engine steps; the engine sees the action at the first ``step()`` at or after
that time (at most one engine step late). So a closed work order's ``finished_t - assigned_t`` equals its
travel time plus the sum of its steps' actual durations (up to float rounding): that is its repair time, and
MTTR is the mean of it. A stock-out holds a work order in ``open`` until the part arrives: it adds to the time
to dispatch, not to MTTR (``mean_time_to_restore_s`` = created -> closed counts everything).

Randomness: step durations come from one seeded ``numpy.random.Generator`` (``seed``), drawn when a work order
is created, so a run is reproducible for an engine seed and an ops seed.
"""

from __future__ import annotations

import math

import numpy as np

from ..model.ops_config import OpsConfig
from ..sim.engine import SimError
from ..sim.events import OPS, PART, WORK_ORDER, Event, EventKind
from ..sim.health import turbines_tripped
from .alarms import CRITICAL, Alarm, AlarmManager
from .ops_persistence import OpsPersistence
from .run import new_run_id
from .spares import Spares
from .technicians import Roster, Technician
from .work_orders import (
    ASSIGNED,
    CANCELLED,
    CLOSED,
    FAULT_RECIPES,
    FINAL,
    IN_PROGRESS,
    OPEN,
    RECIPES,
    STATES,
    TESTING,
    Step,
    WorkOrder,
    WorkOrderError,
    recipe_for,
)

# causes for GPU-hours out of service (index into OpsManager.gpu_s_lost)
CAUSES = ("other", "gpu", "hbm", "nic", "psu", "leak", "maintenance")
_FAULT_CAUSE = {"gpu_failure": 1, "hbm_failure": 2, "nic_failure": 3, "psu_failure": 4, "coolant_leak": 5}
_RACK_KINDS = ("rack", "cdu", "pump", "rdhx", "fan")


class OpsError(ValueError):
    """A request that cannot be carried out (technician busy, off shift, lacking the skill, no part)."""


class OpsManager(OpsPersistence):
    def __init__(self, engine, config: OpsConfig | None = None, store=None, seed: int = 0,
                 run_id: str | None = None, state: dict | None = None):
        """``run_id``: the run this manager's records belong to (default: a new run). ``state``: resume a
        moment of a run exactly (``state_dict()`` of that moment, e.g. from a snapshot bundle), instead of
        resuming the run's open orders from the store."""
        self.engine = engine
        self.run_id = run_id or new_run_id()  # everything this manager stores carries it
        self.config = cfg = config or OpsConfig()
        self.topo = engine.topo
        # People repair things now: no automatic repairs behind their backs.
        engine.facility.failures.auto_repair = False
        engine.pending_repairs.clear()
        self.rng = np.random.default_rng(seed)
        self.dispatch_mode = cfg.dispatch
        self.store = store
        self.store_error: str | None = None
        self.t = float(engine.t)
        self._now: float | None = None
        self._parsed: dict = {}  # address text -> Address (work order targets are looked up every step)
        self.work_orders: dict[int, WorkOrder] = {}
        self._active: dict[int, WorkOrder] = {}  # not final
        self.withdrawn: dict[int, WorkOrder] = {}  # creations undone (``withdraw``), kept for ``reopen``
        self._next_wo = 1
        self.event_cursor = engine.events.cursor()
        self.roster = Roster(cfg, self.topo, engine.facility.site.ambient.start_hour)
        self.spares = Spares(cfg.spares)
        self._tray_cause = np.zeros(self.topo.n_trays, dtype=np.int8)
        self.gpu_s_lost = np.zeros(len(CAUSES))
        self.backlog_max = 0
        self.backlog_samples: list[tuple[float, int]] = []
        self._next_sample_t = self.t
        self.alarm_work_orders_suppressed = 0
        self._on_shift_s = 0.0  # technician-seconds on shift (for utilisation)
        self._backlog_s = self._waiting_s = self._elapsed_s = 0.0  # time integrals for mean backlogs
        next_alarm = 1
        if store is not None:
            next_alarm = store.max_alarm_id() + 1
        self.alarms = AlarmManager(engine, cfg.alarms, next_id=next_alarm)
        self.alarms.listeners.append(self._on_alarm_changed)
        self.roster.update_shifts(self.t)
        if state is not None:
            self.load_state(state)
        elif store is not None:
            self._load_from_store()
        if state is None:
            self._scan_existing_faults()

    def set_run_id(self, run_id: str) -> None:
        self.run_id = run_id

    # ================================================================== the clock
    def step(self, dt: float | None = None) -> None:
        """Advance to the engine's time (call after ``engine.step``); ``dt`` is accepted for symmetry, the
        engine's clock is the truth."""
        eng = self.engine
        t = float(eng.t)
        if t < self.t:  # the engine went back under us (not through a Run): nothing to replay, realign
            self.t = t
            self.event_cursor = eng.events.cursor()
            self.alarms.mark_all_dirty()
        self._read_engine_events()  # first: a tray that failed in this step is blamed for this step
        dt_s = t - self.t
        self._account_lost(dt_s)
        if dt_s > 0:
            self._on_shift_s += dt_s * self.roster.n_on_shift
            self._backlog_s += dt_s * len(self._active)
            self._waiting_s += dt_s * sum(1 for w in self._active.values() if w.state == OPEN)
            self._elapsed_s += dt_s
        self.t = t
        for alarm in self.alarms.evaluate(eng):
            if alarm.active and alarm.severity == CRITICAL and not alarm.acked and alarm.rule in \
                    self.config.alarms.work_order_rules:
                self._on_critical_alarm(alarm)
        for order in self.spares.deliver(t):
            self._part_delivered(order)
        self.roster.update_shifts(t)
        self._advance_all(t)
        if self.dispatch_mode == "auto":
            if self._dispatch_all(t):
                self._advance_all(t)
        backlog = len(self._active)
        self.backlog_max = max(self.backlog_max, backlog)
        if t >= self._next_sample_t:
            self.backlog_samples.append((t, backlog))
            self._next_sample_t = t + 3600.0

    def _account_lost(self, dt: float) -> None:
        """GPU-seconds out of the job pool in the last interval, by cause (array work, no per-tray loop)."""
        if dt <= 0:
            return
        eng = self.engine
        eng.tray_available()
        if int(eng.rack_gpus_up.sum()) == eng.n_gpus:
            return
        down = ~eng.tray_available()
        self.gpu_s_lost += np.bincount(self._tray_cause[down], minlength=len(CAUSES)) * (
            self.topo.gpus_per_tray * dt)

    # ================================================================== inputs: failures and alarms
    def _read_engine_events(self) -> None:
        batch = self.engine.events.since(self.event_cursor)
        self.event_cursor = batch.cursor
        for ev in batch.events:
            if ev.kind == EventKind.FAULT_STARTED and ev.fault in FAULT_RECIPES:
                self._on_fault(ev.fault, ev.address, ev.t_s)

    def _scan_existing_faults(self) -> None:
        """Failures present when ops starts (a restored snapshot, faults injected before): work orders too."""
        e, topo = self.engine, self.topo
        for g in np.flatnonzero(~e.gpu_ok.ravel()):
            self._on_fault("gpu_failure", topo.gpu_address(int(g)), self.t)
        for tray, n in zip(*np.nonzero(~e.nic_ok), strict=True):
            self._on_fault("nic_failure", f"{topo.tray_address(int(tray))}-N{int(n) + 1}", self.t)
        for tray, p in zip(*np.nonzero(~e.psu_ok), strict=True):
            self._on_fault("psu_failure", f"{topo.tray_address(int(tray))}-PSU{int(p) + 1}", self.t)
        for r, p in zip(*np.nonzero(~e.pump_ok), strict=True):
            self._on_fault("pump_failure", topo.pump_address(int(r), int(p)), self.t)
        for r, f in zip(*np.nonzero(~e.fan_ok), strict=True):
            self._on_fault("fan_failure", topo.fan_address(int(r), int(f)), self.t)
        for r in np.flatnonzero(e.leak):
            self._on_fault("coolant_leak", topo.rack_address(int(r)) + "-CDU", self.t)
        for i in np.flatnonzero(~e.chiller_ok):
            self._on_fault("chiller_trip", topo.chiller_address(int(i)), self.t)
        for i in np.flatnonzero(turbines_tripped(e)):
            self._on_fault("turbine_trip", topo.turbine_address(int(i)), self.t)
        net, fab, st = topo.net, e.fabric, e.storage  # network and storage
        for s in np.flatnonzero(~fab.switch_ok):
            self._on_fault("switch_failure", net.switch_address(int(s)), self.t)
        for k in np.flatnonzero(~fab.link_ok | fab.link_flapping):
            self._on_fault("link_failure", net.link_address(int(k)), self.t)
        for tray in np.flatnonzero(~fab.fe_nic_ok):
            self._on_fault("frontend_nic_failure", fab.fe_nic_address(int(tray)), self.t)
        for leaf in np.flatnonzero(~fab.fe_leaf_ok):
            self._on_fault("frontend_leaf_failure", net.fe_leaf_address(int(leaf)), self.t)
        for n in np.flatnonzero(~st.node_ok):
            self._on_fault("storage_node_failure", net.node_address(int(n)), self.t)
        for d in np.flatnonzero(~st.drive_ok):
            self._on_fault("drive_failure", net.drive_address(int(d)), self.t)
        for tray in np.flatnonzero(e.tray_hw_failed):
            self._on_fault("chassis_failure", topo.tray_address(int(tray)), self.t)

    def _on_fault(self, kind: str, address: str, t: float) -> WorkOrder | None:
        recipe = FAULT_RECIPES[kind]
        a = self.engine.parse(address)
        tray = self._tray_of(a)
        # the first cause that takes a tray out keeps the blame until the tray is back in the pool
        if tray is not None and kind in _FAULT_CAUSE and self._tray_cause[tray] == 0:
            self._tray_cause[tray] = _FAULT_CAUSE[kind]
        if kind == "coolant_leak":
            trays = self._rack_trays(self.topo.rack_of(a))
            self._tray_cause[trays[self._tray_cause[trays] == 0]] = _FAULT_CAUSE[kind]
        # de-duplicate: one order per failed part; failed GPUs of one tray share the baseboard swap
        for wo in self._active.values():
            if wo.target == a.text or a.text in wo.also:
                return None
            if recipe == "gpu" and wo.recipe in ("gpu", "tray") and tray is not None and \
                    self._tray_of_target(wo) == tray and not self._step_done(wo, "swap_baseboard"):
                wo.also.append(a.text)
                self._note(wo, f"{a.text} failed too ({kind}); the baseboard swap covers it")
                self._emit("wo_merged", wo, a.text)
                self._save(wo)
                return wo
        return self._create(a.text, kind, recipe, "failure", "system", t)

    def _on_critical_alarm(self, alarm: Alarm) -> None:
        rack = alarm.rack if alarm.rack >= 0 else None
        same = [wo for wo in self._active.values()
                if (rack is not None and self._rack_of_target(wo) == rack) or wo.target == alarm.component]
        for wo in same:  # already being dealt with: make it urgent, add nothing
            if wo.priority > 1:
                old, wo.priority = wo.priority, 1
                self._emit(EventKind.WO_PRIORITY, wo, f"priority {old} -> 1: critical alarm {alarm.id} "
                           f"({alarm.label}) on {alarm.component}")
                self._note(wo, f"critical alarm {alarm.id} ({alarm.label}) on {alarm.component}: priority 1")
                self._save(wo, who="system", from_state=wo.state, note="priority raised by a critical alarm")
        if same:
            return
        n_alarm_wos = sum(1 for wo in self._active.values() if wo.source == "alarm")
        if n_alarm_wos >= self.config.alarms.max_open_alarm_work_orders:
            self.alarm_work_orders_suppressed += 1
            return
        try:
            kind = self.engine.parse(alarm.component).kind
        except SimError:
            return  # SITE and such: nothing a technician walks to
        recipe = {"chiller": "chiller", "turbine": "turbine"}.get(kind, "inspect")
        target = self.topo.rack_address(rack) if rack is not None else alarm.component
        cap = getattr(self.engine, "pump_capacity", None)
        if rack is not None and cap is not None and (cap[rack] < 1.0).any():
            # a pump wearing out (no failure event): the inspection is a pump swap
            recipe, target = "pump", self.topo.pump_address(rack, int(np.argmin(cap[rack])))
        wo = self._create(target, f"alarm:{alarm.rule}", recipe, "alarm", "system", self.t, priority=1)
        wo.alarm_id = alarm.id
        self._note(wo, f"from critical alarm {alarm.id}: {alarm.message}")
        self._save(wo)

    # ================================================================== creating
    def create_work_order(self, target: str, fault: str = "manual", priority: int | None = None,
                          who: str = "operator", note: str = "", recipe: str | None = None) -> WorkOrder:
        """A work order by hand for any component address (the recipe follows the component's kind)."""
        try:
            a = self.engine.parse(target)
        except SimError as e:
            raise OpsError(f"work order target: {e}") from None
        recipe = recipe or recipe_for(a.kind)
        if recipe not in RECIPES:
            raise OpsError(f"unknown repair recipe {recipe!r} (known: {', '.join(RECIPES)})")
        if priority is not None and not (isinstance(priority, int) and 1 <= priority <= 4):
            raise OpsError(f"priority must be 1 (urgent) to 4 (low), not {priority!r}")
        wo = self._create(a.text, fault, recipe, "manual", who, self.t, priority=priority)
        if note:
            self._note(wo, note, who=who)
            self._emit(EventKind.WO_NOTE, wo, f"{who}: {note}", who=who)
            self._save(wo)
        return wo

    def _create(self, target: str, fault: str, recipe: str, source: str, who: str, t: float,
                priority: int | None = None) -> WorkOrder:
        st = self.config.repairs.steps
        steps = []
        for sd in RECIPES[recipe]:
            spec = getattr(st, sd.name)
            drawn = float(spec.median_s * math.exp(spec.sigma * self.rng.standard_normal()))
            steps.append(Step(sd.name, sd.label, float(spec.median_s), drawn, part=sd.part, test=sd.test))
        wo = WorkOrder(id=self._next_wo, target=target, fault=fault, recipe=recipe,
                       priority=priority or self.config.repairs.priorities[recipe], created_t=t, source=source,
                       created_by=who, steps=steps)
        self._next_wo += 1
        self.work_orders[wo.id] = wo
        self._active[wo.id] = wo
        if recipe in ("gpu", "tray") and source == "manual":
            tray = self._tray_of_target(wo)
            if tray is not None and self._tray_cause[tray] == 0:
                self._tray_cause[tray] = CAUSES.index("maintenance")
        self._emit("wo_created", wo, f"{fault} on {target} ({source})")
        self._save(wo, who=who, from_state=None, note=f"created: {fault}")
        return wo

    # ================================================================== dispatch
    def set_dispatch_mode(self, mode: str) -> None:
        if mode not in ("auto", "manual"):
            raise OpsError(f"dispatch mode must be auto or manual, not {mode!r}")
        self.dispatch_mode = mode
        self._emit_raw("dispatch_mode", "ops", mode)

    def _part_of(self, wo: WorkOrder) -> str | None:
        for s in wo.steps:
            if s.part and not s.done and s.part not in wo.parts:
                return s.part
        return None

    def _dispatch_all(self, t: float) -> bool:
        waiting = [wo for wo in self._active.values() if wo.state == OPEN]
        if not waiting:
            return False
        waiting.sort(key=lambda w: (w.priority, w.created_t, w.id))
        dispatched = False
        skills = self.config.repairs.skills
        free_skills = self._free_skills()
        for wo in waiting:
            part = self._part_of(wo)
            if part is not None and not self.spares.available(part):
                self._stock_out(wo, part, t)
                continue
            if skills[wo.recipe] not in free_skills:
                continue
            found = self.roster.nearest_free(skills[wo.recipe], self._rack_of_target(wo))
            if found is None:
                continue
            self._assign(wo, found[0], t, who="dispatch")
            dispatched = True
            free_skills = self._free_skills()
        return dispatched

    def _free_skills(self) -> set[str]:
        return {s for x in self.roster.techs if x.busy_wo is None and x.on_shift for s in x.skills}

    def _stock_out(self, wo: WorkOrder, part: str, t: float) -> None:
        if wo.waiting_part == part:
            return
        wo.waiting_part = part
        need = sum(1 for w in self._active.values() if w.waiting_part == part)
        for o in self.spares.check_reorder(part, t, need=need):
            self._order_placed(o)
        eta = self.spares.next_arrival(part)
        self.spares.stock_outs[part] += 1
        when = f"the delivery due at t={eta:.0f} s" if eta is not None else "a delivery (none on order)"
        self._note(wo, f"stock-out: no {part} in stock; waiting for {when}")
        self._emit("stock_out", wo, f"{part}: waiting for {when}")
        self._save(wo, who="stores", note=f"stock-out: {part}")

    def assign(self, wo_id: int, technician: str, who: str = "operator") -> WorkOrder:
        """Dispatch by hand: raises OpsError/WorkOrderError with the reason if it cannot be done."""
        wo = self.get(wo_id)
        wo.check_move(ASSIGNED)
        try:
            tech = self.roster.get(technician)
        except KeyError as e:
            raise OpsError(str(e.args[0])) from None
        if not tech.free:
            raise OpsError(f"{tech.name} is busy with work order {tech.busy_wo}")
        if not tech.on_shift:
            raise OpsError(f"{tech.name} is off shift ({tech.shift} shift)")
        skill = self.config.repairs.skills[wo.recipe]
        if skill not in tech.skills:
            raise OpsError(f"{tech.name} lacks the {skill} skill a {wo.recipe} repair needs "
                           f"({tech.name}: {', '.join(tech.skills)})")
        part = self._part_of(wo)
        if part is not None and not self.spares.available(part):
            self._stock_out(wo, part, self.t)
            eta = self.spares.next_arrival(part)
            raise OpsError(f"stock-out: no {part} in stock" + (f"; delivery due at t={eta:.0f} s" if eta else ""))
        self._assign(wo, tech, self.t, who=who)
        self._advance_all(self.t)
        return wo

    def _assign(self, wo: WorkOrder, tech: Technician, t: float, who: str) -> None:
        part = self._part_of(wo)
        if part is not None:
            for o in self.spares.take(part, t):
                self._order_placed(o)
            wo.parts.append(part)
            self._save_stock(part)
        if wo.waiting_part:
            wo.waiting_part = None
        rack = self._rack_of_target(wo)
        wo.travel_s = float(self.roster.travel_s(tech.location, rack))
        wo.technician = tech.name
        wo.assigned_t = t
        wo.phase = 0
        wo.phase_end_t = t + wo.travel_s
        tech.busy_wo = wo.id
        old = wo.state
        wo.state = ASSIGNED
        self._note(wo, f"{tech.name} dispatched from {self.roster.describe(tech.location)}, "
                       f"{wo.travel_s:.0f} s walk" + (f"; took a {part} from stock" if part else ""), who=who)
        self._emit("wo_assigned", wo, f"{tech.name}, travel {wo.travel_s:.0f} s")
        self._save(wo, who=who, from_state=old, note=f"assigned to {tech.name}")
        self._save_tech(tech)

    def unassign(self, wo_id: int, who: str = "operator") -> WorkOrder:
        """Take the technician off an order still on its way (assigned -> open); the part goes back."""
        wo = self.get(wo_id)
        wo.check_move(OPEN)
        tech = self.roster.by_name.get(wo.technician or "")
        self._release(wo, tech, arrived=False)
        wo.state, wo.technician, wo.assigned_t, wo.phase, wo.phase_end_t = OPEN, None, None, -1, None
        self._note(wo, "technician taken off", who=who)
        self._emit("wo_unassigned", wo, tech.name if tech is not None else "")
        self._save(wo, who=who, from_state=ASSIGNED, note="unassigned")
        return wo

    # ================================================================== progress
    def _advance_all(self, t: float) -> None:
        busy = [wo for wo in self._active.values() if wo.phase >= 0 and wo.phase_end_t is not None
                and wo.phase_end_t <= t + 1e-9]
        for wo in sorted(busy, key=lambda w: (w.phase_end_t, w.id)):
            self._advance(wo, t)

    def _advance(self, wo: WorkOrder, t: float) -> None:
        try:
            while wo.state not in FINAL and wo.phase_end_t is not None and wo.phase_end_t <= t + 1e-9:
                te = wo.phase_end_t
                self._now = te  # notes and events carry the time the phase really ended
                if wo.phase == 0:
                    self._arrive(wo, te)
                else:
                    self._end_step(wo, te)
        finally:
            self._now = None

    def _arrive(self, wo: WorkOrder, te: float) -> None:
        tech = self.roster.by_name.get(wo.technician or "")
        if tech is not None:
            tech.location = self.roster.location_of(self._rack_of_target(wo))
            self._save_tech(tech)
        wo.started_t = te
        wo.state = IN_PROGRESS
        self._emit("tech_arrived", wo, f"{wo.technician} at {wo.target}")
        self._save(wo, who=wo.technician or "technician", from_state=ASSIGNED, note="arrived; work started", t_s=te)
        self._start_step(wo, 1, te)

    def _start_step(self, wo: WorkOrder, k: int, ts: float) -> None:
        wo.phase = k
        step = wo.steps[k - 1]
        step.started_t = ts
        wo.phase_end_t = ts + step.drawn_s
        sd = RECIPES[wo.recipe][k - 1]
        if sd.test and wo.state == IN_PROGRESS:
            wo.state = TESTING
            self._save(wo, who=wo.technician or "technician", from_state=IN_PROGRESS, note=f"testing: {step.label}",
                       t_s=ts)
        self._emit("step_started", wo, step.label)  # before what the step does to the equipment (the log reads so)
        if sd.start:
            self._act(wo, sd.start, ts)
        self._save(wo)

    def _end_step(self, wo: WorkOrder, te: float, cut_short: bool = False) -> None:
        k = wo.phase
        step = wo.steps[k - 1]
        step.finished_t = te
        step.actual_s = te - step.started_t if cut_short else step.drawn_s
        sd = RECIPES[wo.recipe][k - 1]
        if sd.end:
            self._act(wo, sd.end, te)
        self._emit("step_finished", wo, f"{step.label} ({step.actual_s:.0f} s)")
        if k < len(wo.steps):
            self._start_step(wo, k + 1, te)
        else:
            self._close(wo, te)

    def _close(self, wo: WorkOrder, te: float) -> None:
        old = wo.state
        wo.check_move(CLOSED)
        wo.state = CLOSED
        wo.finished_t = te
        wo.phase, wo.phase_end_t = len(wo.steps) + 1, None
        tech = self.roster.by_name.get(wo.technician or "")
        if tech is not None:
            tech.busy_wo = None
            tech.jobs_done += 1
            tech.busy_s += te - wo.assigned_t
            self._save_tech(tech)
        self._active.pop(wo.id, None)
        self._clear_cause(wo)
        self._emit("wo_closed", wo, f"repair {te - wo.assigned_t:.0f} s")
        self._save(wo, who=wo.technician or "technician", from_state=old, note="closed", t_s=te)

    def advance(self, wo_id: int, who: str = "operator") -> WorkOrder:
        """Move an order on now (the instructor's fast-forward): open -> dispatch now (auto mode), assigned ->
        arrive now, in progress/testing -> finish the current step now."""
        wo = self.get(wo_id)
        t = self.t
        if wo.state in FINAL:
            raise WorkOrderError(f"work order {wo.id} is {wo.state}: nothing to advance")
        if wo.state == OPEN:
            if self.dispatch_mode != "auto":
                raise WorkOrderError(f"work order {wo.id} is open: assign a technician first")
            part = self._part_of(wo)
            if part is not None and not self.spares.available(part):
                self._stock_out(wo, part, t)
                raise OpsError(f"work order {wo.id}: stock-out, no {part} in stock")
            found = self.roster.nearest_free(self.config.repairs.skills[wo.recipe], self._rack_of_target(wo))
            if found is None:
                raise OpsError(f"work order {wo.id}: no free {self.config.repairs.skills[wo.recipe]} technician "
                               "on shift")
            self._assign(wo, found[0], t, who=who)
            return wo
        self._note(wo, "advanced by hand", who=who)
        if wo.phase == 0:
            wo.travel_s = t - wo.assigned_t
            wo.phase_end_t = t
            self._advance(wo, t)
        else:
            self._end_step(wo, t, cut_short=True)
            self._advance(wo, t)
        return wo

    def cancel(self, wo_id: int, who: str = "operator", reason: str = "") -> WorkOrder:
        wo = self.get(wo_id)
        wo.check_move(CANCELLED)
        old = wo.state
        tech = self.roster.by_name.get(wo.technician or "")
        self._release(wo, tech, arrived=old in (IN_PROGRESS, TESTING))
        wo.state = CANCELLED
        wo.finished_t = self.t
        wo.phase_end_t = None
        self._active.pop(wo.id, None)
        self._note(wo, "cancelled" + (f": {reason}" if reason else ""), who=who)
        self._emit("wo_cancelled", wo, reason)
        self._save(wo, who=who, from_state=old, note="cancelled" + (f": {reason}" if reason else ""))
        return wo

    # ------------------------------------------------------------------ undo (the board's undo stack)
    def withdraw(self, wo_id: int, who: str = "operator") -> WorkOrder:
        """Undo a creation: an order still open and never started is cancelled and taken off the books
        (``work_orders``); the database keeps it, cancelled, with its audit. ``reopen`` brings it back."""
        wo = self.get(wo_id)
        if wo.state != OPEN or wo.started_t is not None:
            raise WorkOrderError(f"work order {wo.id} is {wo.state}: only an open order can be withdrawn")
        self.cancel(wo.id, who=who, reason="withdrawn (undo)")
        self._clear_cause(wo)  # a manual tray order blamed the tray on maintenance; nothing happened
        del self.work_orders[wo.id]
        self.withdrawn[wo.id] = wo
        return wo

    def reopen(self, wo_id: int, who: str = "operator") -> WorkOrder:
        """Undo a cancel or a withdrawal: a cancelled order that never acted on the simulation (no technician
        arrived, no step started, nothing held) goes back to open, undispatched."""
        wo = self.withdrawn.get(int(wo_id)) if isinstance(wo_id, int) else None
        wo = wo or self.get(wo_id)
        if wo.state != CANCELLED:
            raise WorkOrderError(f"work order {wo.id} is {wo.state}, not cancelled: nothing to reopen")
        if wo.started_t is not None or any(s.started_t is not None for s in wo.steps) or any(wo.held.values()):
            raise WorkOrderError(f"work order {wo.id} was worked on before it was cancelled: it cannot be "
                                 "reopened (create a new one)")
        self.withdrawn.pop(wo.id, None)
        wo.state, wo.finished_t, wo.technician, wo.assigned_t = OPEN, None, None, None
        wo.phase, wo.phase_end_t, wo.travel_s, wo.waiting_part = -1, None, 0.0, None
        self.work_orders[wo.id] = wo
        self._active[wo.id] = wo
        self._note(wo, "reopened", who=who)
        self._emit("wo_reopened", wo)
        self._save(wo, who=who, from_state=CANCELLED, note="reopened")
        return wo

    def remove_note(self, wo_id: int, note: str, who: str = "operator") -> WorkOrder:
        """Undo of ``add_note``: take that exact note off again (the audit log keeps both entries)."""
        wo = self.get(wo_id)
        if note not in wo.notes:
            raise WorkOrderError(f"work order {wo.id} has no note {note!r}")
        del wo.notes[len(wo.notes) - 1 - wo.notes[::-1].index(note)]
        self._emit(EventKind.WO_NOTE_REMOVED, wo, f"{who}: {note}", who=who)
        self._save(wo, who=who, from_state=wo.state, note=f"note removed: {note}")
        return wo

    def _release(self, wo: WorkOrder, tech: Technician | None, arrived: bool) -> None:
        """Free the technician, put unused parts back, and hand back what the order held in the simulation."""
        if tech is not None and tech.busy_wo == wo.id:
            tech.busy_wo = None
            if wo.assigned_t is not None:
                tech.busy_s += self.t - wo.assigned_t
            self._save_tech(tech)
        for part in list(wo.parts):
            used = any(s.part == part and s.done for s in wo.steps)
            if not used:
                wo.parts.remove(part)
                self.spares.put_back(part)
                self._save_stock(part)
        eng = self.engine
        for tray in list(wo.held["slid_out"]):
            self._try(wo, lambda tr=tray: eng.set_tray_service(tr, slid_out=False), "slide the tray in")
            wo.held["slid_out"].remove(tray)
        for tray in list(wo.held["drained"]):
            self._try(wo, lambda tr=tray: eng.set_tray_service(tr, drained=False), "return the tray")
            wo.held["drained"].remove(tray)
        for rack in list(wo.held["isolated"]):
            r = eng.parse(rack).index
            if eng.leak[r]:
                self._note(wo, f"{rack} stays isolated: its leak is not fixed")
            else:
                self._try(wo, lambda ra=rack: eng.set_rack_isolated(ra, False), "restore the rack")
                wo.held["isolated"].remove(rack)

    # ================================================================== actions on the simulation
    def _act(self, wo: WorkOrder, action: str, t: float) -> None:
        eng, topo = self.engine, self.topo
        a = eng.parse(wo.target)
        tray = self._tray_of(a)
        tray_addr = topo.tray_address(tray) if tray is not None else None
        rack = topo.rack_of(a)
        if action in ("drain_tray", "undrain_tray") and tray is None:
            pass  # a network link with no server on it (an uplink): nothing to drain
        elif action == "drain_tray":
            self._try(wo, lambda: eng.set_tray_service(tray_addr, drained=True), "drain the tray")
            if tray_addr not in wo.held["drained"]:
                wo.held["drained"].append(tray_addr)
        elif action == "slide_out":
            self._try(wo, lambda: eng.set_tray_service(tray_addr, slid_out=True), "slide the tray out")
            if tray_addr not in wo.held["slid_out"]:
                wo.held["slid_out"].append(tray_addr)
        elif action == "slide_in":
            self._try(wo, lambda: eng.set_tray_service(tray_addr, slid_out=False), "slide the tray in")
            if tray_addr in wo.held["slid_out"]:
                wo.held["slid_out"].remove(tray_addr)
        elif action == "undrain_tray":
            self._try(wo, lambda: eng.set_tray_service(tray_addr, drained=False), "return the tray")
            if tray_addr in wo.held["drained"]:
                wo.held["drained"].remove(tray_addr)
            if not eng.tray_available()[tray]:
                self._note(wo, f"{tray_addr} is still out of the pool after the repair (another fault?)")
        elif action == "repair_gpus":
            r, t0 = divmod(tray, topo.trays_per_rack)
            gpt = topo.gpus_per_tray
            failed = np.flatnonzero(~eng.gpu_ok[r, t0 * gpt:(t0 + 1) * gpt])
            for g in failed:
                self._try(wo, lambda g=g: eng.repair(topo.gpu_address(tray * gpt + int(g))), "repair the GPUs")
            self._note(wo, f"baseboard swapped ({len(failed)} failed GPU(s) replaced)")
        elif action == "repair_target":
            ok = self._try(wo, lambda: eng.repair(wo.target), f"repair {wo.target}")
            if ok is False:
                self._note(wo, f"{wo.target} was not failed (nothing changed in the simulation)")
        elif action == "repair_cooling":
            self._try(wo, lambda: eng.repair(topo.rack_address(rack) + "-CDU"), "refill the loop")
        elif action == "isolate_rack":
            addr = topo.rack_address(rack)
            self._try(wo, lambda: eng.set_rack_isolated(addr, True), "isolate the rack")
            if addr not in wo.held["isolated"]:
                wo.held["isolated"].append(addr)
            trays = self._rack_trays(rack)
            self._tray_cause[trays[self._tray_cause[trays] == 0]] = CAUSES.index("leak")
        elif action == "restore_rack":
            addr = topo.rack_address(rack)
            self._try(wo, lambda: eng.set_rack_isolated(addr, False), "restore the rack")
            if addr in wo.held["isolated"]:
                wo.held["isolated"].remove(addr)
        elif action == "check_redundant":
            up = np.flatnonzero(eng.pump_ok[rack])
            if up.size:
                self._note(wo, f"redundant pump {topo.pump_address(rack, int(up[0]))} carries the flow "
                               f"({eng.flow_frac[rack]:.0%} of design)")
            else:
                self._note(wo, f"no working pump in {topo.rack_address(rack)}: flow {eng.flow_frac[rack]:.0%}")
        elif action == "check_flow":
            self._note(wo, f"flow {eng.flow_frac[rack]:.0%} of design after the swap")
        else:  # a recipe naming an action this version does not know is a programming error
            raise AssertionError(f"unknown action {action}")

    def _try(self, wo: WorkOrder, fn, what: str):
        try:
            return fn()
        except SimError as e:
            self._note(wo, f"could not {what}: {e}")
            self._emit("action_failed", wo, f"{what}: {e}")
            return None

    # ================================================================== small edits
    def get(self, wo_id: int) -> WorkOrder:
        try:
            return self.work_orders[int(wo_id)]
        except (KeyError, ValueError, TypeError):
            raise WorkOrderError(f"no work order {wo_id!r}") from None

    def set_priority(self, wo_id: int, priority: int, who: str = "operator") -> WorkOrder:
        wo = self.get(wo_id)
        if not (isinstance(priority, int) and 1 <= priority <= 4):
            raise OpsError(f"priority must be 1 (urgent) to 4 (low), not {priority!r}")
        if wo.state in FINAL:
            raise WorkOrderError(f"work order {wo.id} is {wo.state}: it cannot change")
        old, wo.priority = wo.priority, priority
        if old != priority:
            self._emit(EventKind.WO_PRIORITY, wo, f"priority {old} -> {priority} (by {who})", who=who)
        self._save(wo, who=who, from_state=wo.state, note=f"priority {old} -> {priority}")
        return wo

    def add_note(self, wo_id: int, text: str, who: str = "operator") -> WorkOrder:
        wo = self.get(wo_id)
        self._note(wo, text, who=who)
        self._emit(EventKind.WO_NOTE, wo, f"{who}: {text}", who=who)
        self._save(wo, who=who, from_state=wo.state, note=f"note: {text}")
        return wo

    def acknowledge(self, ids, who: str = "operator") -> list[Alarm]:
        return self.alarms.acknowledge(ids, who)

    def shelve(self, alarm_id: int, seconds: float, who: str = "operator") -> Alarm:
        return self.alarms.shelve(alarm_id, seconds, who)

    @property
    def now(self) -> float:
        return self.t if self._now is None else self._now

    def _note(self, wo: WorkOrder, text: str, who: str | None = None) -> None:
        wo.notes.append(f"t={self.now:.0f} s" + (f" {who}" if who else "") + f": {text}")

    # ================================================================== helpers on addresses
    def _tray_of(self, a) -> int | None:
        if a.kind == "gpu":
            return a.index // self.topo.gpus_per_tray
        if a.kind in ("tray", "psu", "nic", "cpu", "fe_nic"):
            return a.index
        if a.kind == "port" and a.index < self.topo.net.ls0:  # a GPU's link: its server
            return a.index // self.topo.gpus_per_tray
        return None

    def _parse(self, address: str):
        a = self._parsed.get(address)
        if a is None:
            a = self._parsed[address] = self.engine.parse(address)
        return a

    def _tray_of_target(self, wo: WorkOrder) -> int | None:
        return self._tray_of(self._parse(wo.target))

    def _rack_of_target(self, wo: WorkOrder) -> int | None:
        return self.topo.rack_of(self._parse(wo.target))

    def _rack_trays(self, rack: int) -> np.ndarray:
        tpr = self.topo.trays_per_rack
        return np.arange(rack * tpr, (rack + 1) * tpr)

    def _clear_cause(self, wo: WorkOrder) -> None:
        """Trays back in the pool lose their blame (a later outage gets its own cause)."""
        a = self.engine.parse(wo.target)
        tray = self._tray_of(a)
        rack = self.topo.rack_of(a)
        trays = np.array([tray]) if tray is not None else (self._rack_trays(rack) if rack is not None else None)
        if trays is not None:
            avail = self.engine.tray_available()[trays]
            self._tray_cause[trays[avail]] = 0

    @staticmethod
    def _step_done(wo: WorkOrder, name: str) -> bool:
        return any(s.name == name and s.done for s in wo.steps)

    # ================================================================== events, figures
    # The operations' events go into the run's one event log (the engine's), at the time they happened.
    def _emit(self, kind: str, wo: WorkOrder, detail: str = "", who: str | None = None) -> Event:
        rack = self._rack_of_target(wo)
        return self.engine.log_event(self.now, kind, wo.target, detail, component=WORK_ORDER, index=wo.id,
                                     rack=-1 if rack is None else int(rack), who=who)

    def _emit_raw(self, kind: str, ref: str, detail: str = "", component: str = OPS) -> Event:
        return self.engine.log_event(self.now, kind, ref, detail, component=component)

    def order_events(self, wo_id: int) -> list[Event]:
        """The events of one work order, oldest first (from the run's event log)."""
        wo_id = int(wo_id)
        return [ev for ev in self.engine.events if ev.component == WORK_ORDER and ev.index == wo_id]

    def _order_placed(self, order) -> None:
        self._emit_raw("part_ordered", order.part, f"{order.qty} due at t={order.arrive_t:.0f} s", PART)
        self._save_order(order)

    def _part_delivered(self, order) -> None:
        self._emit_raw("part_delivered", order.part, f"{order.qty} arrived", PART)
        self._save_order(order)
        self._save_stock(order.part)
        for wo in self._active.values():
            if wo.waiting_part == order.part:
                wo.waiting_part = None
                self._note(wo, f"{order.part} delivered ({order.qty})")
                self._save(wo)

    def backlog(self) -> dict[str, int]:
        out = dict.fromkeys(STATES, 0)
        for wo in self.work_orders.values():
            out[wo.state] += 1
        return out

    def figures(self) -> dict:
        """Operations figures for the panel and the run summary (plain JSON-able values)."""
        wos = list(self.work_orders.values())
        dispatched = [w.assigned_t - w.created_t for w in wos if w.assigned_t is not None]
        closed = [w for w in wos if w.state == CLOSED]
        by_state = self.backlog()
        hours = self.gpu_s_lost / 3600.0

        def mean(xs):
            return float(np.mean(xs)) if len(xs) else None

        eng = self.engine
        eng.tray_available()
        return {
            "mean_time_to_acknowledge_s": self.alarms.mean_time_to_acknowledge_s(),
            "mean_time_to_dispatch_s": mean(dispatched),
            "mttr_s": mean([w.finished_t - w.assigned_t for w in closed]),
            "mean_time_to_restore_s": mean([w.finished_t - w.created_t for w in closed]),
            "gpus_in_service": int(eng.rack_gpus_up.sum()),
            "gpus_total": int(eng.n_gpus),
            "gpu_hours_lost": float(hours.sum()),
            "gpu_hours_lost_by_cause": {c: float(h) for c, h in zip(CAUSES, hours, strict=True) if h > 0},
            "backlog": sum(by_state[s] for s in (OPEN, ASSIGNED, IN_PROGRESS, TESTING)),
            "backlog_by_state": by_state,
            "backlog_max": self.backlog_max,
            "backlog_mean": self._backlog_s / self._elapsed_s if self._elapsed_s > 0 else 0.0,
            "waiting_mean": self._waiting_s / self._elapsed_s if self._elapsed_s > 0 else 0.0,
            "work_orders": len(wos),
            "work_orders_by_source": {s: sum(w.source == s for w in wos) for s in ("failure", "alarm", "manual")},
            "alarm_work_orders_suppressed": self.alarm_work_orders_suppressed,
            "alarms_raised": {"warning": self.alarms.raised_count[1], "critical": self.alarms.raised_count[2]},
            "alarms_now": self.alarms.counts(),
            "stock": dict(self.spares.on_hand),
            "parts_used": dict(self.spares.used),
            "stock_outs": dict(self.spares.stock_outs),
            "technician_utilisation": (float(sum(x.busy_s for x in self.roster.techs) / self._on_shift_s)
                                       if self._on_shift_s > 0 else None),
            "store_error": self.store_error,
        }
