"""What trainees and instructors can do in a training session: each ``_a_<action>`` handler checks and
carries out one action (``TrainingSession.do`` logs it). Mixed into TrainingSession, whose engine,
operations, scenario and timeline the handlers use."""

from __future__ import annotations

from pydantic import ValidationError

from ..model.faults import check_params, check_target
from ..model.training import CONTROL_ACTIONS
from ..sim.engine import RUNNING, SimError
from ..sim.health import is_failed, rack_has_failure
from .training_records import FaultState, Marker, TrainingError, _clock, _who_text
from .work_orders import FINAL

_EPS = 1e-6


class SessionActions:
    # -- trainee
    def _a_acknowledge(self, rec, alarms=None, component=None, rule=None) -> dict:
        am = self.raw_ops.alarms
        if isinstance(alarms, list):
            ids = [int(x) for x in alarms]
        else:
            cands = [a for a in am.alarms(include_shelved=True) if not a.acked]
            if component is not None:
                cands = [a for a in cands if a.component == component or a.component.startswith(component + "-")
                         or (a.rack >= 0 and a.rack == self._rack_of(component))]
            if rule is not None:
                cands = [a for a in cands if a.rule == rule]
            if alarms is None and component is None and rule is None:
                raise TrainingError("acknowledge what? give alarms (all or ids), component or rule")
            ids = [a.id for a in cands]
        done = self.raw_ops.acknowledge(ids, who=_who_text(rec.who))
        self._last_return = done
        return {"acknowledged": [a.id for a in done]}

    def _a_shelve(self, rec, alarm, seconds) -> dict:
        self._last_return = self.raw_ops.shelve(int(alarm), float(seconds), who=_who_text(rec.who))
        return {"alarm": int(alarm)}

    def _a_create_work_order(self, rec, target, note="", priority=None, fault="manual", recipe=None) -> dict:
        if not self._needed(target):
            rec.unnecessary = f"nothing is wrong at {target}"
        wo = self.raw_ops.create_work_order(target, fault=fault, priority=priority, who=_who_text(rec.who),
                                            note=note or "", recipe=recipe)
        self._last_return = wo
        return {"work_order": wo.id, "target": wo.target, "recipe": wo.recipe}

    def _a_assign(self, rec, technician, work_order=None, target=None) -> dict:
        wo = self._find_wo(work_order, target, prefer="open")
        name = technician
        if technician == "nearest":
            skill = self.ops_config.repairs.skills[wo.recipe]
            found = self.raw_ops.roster.nearest_free(skill, self._rack_of(wo.target))
            if found is None:
                raise TrainingError(f"no free {skill} technician on shift for work order {wo.id}")
            name = found[0].name
        self._last_return = self.raw_ops.assign(wo.id, name, who=_who_text(rec.who))
        return {"work_order": wo.id, "target": wo.target, "technician": name}

    def _a_unassign(self, rec, work_order=None, target=None) -> dict:
        wo = self._find_wo(work_order, target, prefer="assigned")
        self._last_return = self.raw_ops.unassign(wo.id, who=_who_text(rec.who))
        return {"work_order": wo.id, "target": wo.target}

    def _a_advance_work_order(self, rec, work_order=None, target=None) -> dict:
        wo = self._find_wo(work_order, target)
        self._last_return = self.raw_ops.advance(wo.id, who=_who_text(rec.who))
        return {"work_order": wo.id, "target": wo.target, "state": wo.state}

    def _a_cancel_work_order(self, rec, work_order=None, target=None, text="") -> dict:
        wo = self._find_wo(work_order, target)
        if wo.state not in FINAL and self._still_failed(wo):
            rec.unnecessary = f"work order {wo.id}: {wo.target} is still failed"
        self._last_return = self.raw_ops.cancel(wo.id, who=_who_text(rec.who), reason=text or "")
        return {"work_order": wo.id, "target": wo.target}

    def _a_set_priority(self, rec, work_order=None, target=None, priority=None) -> dict:
        wo = self._find_wo(work_order, target)
        self._last_return = self.raw_ops.set_priority(wo.id, priority, who=_who_text(rec.who))
        return {"work_order": wo.id, "priority": priority}

    def _a_power_cap(self, rec, hall=None, watts=None) -> dict:
        self._control(rec)
        if hall is not None and self.engine.parse(hall).kind != "hall":
            raise TrainingError(f"{hall}: power caps are per hall (H1, H2, ...)")
        if watts is not None:
            lo = float(self.engine.rack_pmin_w.min())
            hi = float(self.engine.rack_tdp_w.max())
            if not lo <= watts <= hi:
                raise TrainingError(f"power cap {watts:g} W per GPU is outside the settable range {lo:g}-{hi:g} W")
        self.engine.set_power_cap(hall, watts)
        return {"hall": hall or "ALL", "watts": watts}

    def _a_shed_load(self, rec, fraction, hall=None) -> dict:
        self._control(rec)
        halls = [self.engine.parse(hall).index] if hall is not None else range(self.topo.n_halls)
        caps = {}
        for h in halls:
            r = int(self.topo.hall_rack_start[h])
            tdp, pmin = float(self.engine.rack_tdp_w[r]), float(self.engine.rack_pmin_w[r])
            cap = None if fraction <= 0 else tdp - fraction * (tdp - pmin)
            name = self.topo.hall_names[h]
            self.engine.set_power_cap(name, cap)
            caps[name] = cap
        return {"caps_w": caps}

    def _a_set_setpoint(self, rec, supply_c) -> dict:
        self._control(rec)
        try:
            self.engine.facility.site.supply_setpoint_c = float(supply_c)
        except ValidationError as e:
            raise TrainingError(f"supply setpoint {supply_c}: {e.errors()[0]['msg']}") from None
        return {"supply_c": float(supply_c)}

    def _a_isolate_rack(self, rec, target) -> dict:
        self._control(rec)
        self.engine.set_rack_isolated(target, True)
        self.raw_ops.alarms.mark_all_dirty()
        return {"rack": self.topo.rack_address(self._rack_of(target))}

    def _a_restore_rack(self, rec, target) -> dict:
        self._control(rec)
        r = self._rack_of(target)
        if self.engine.leak[r]:
            raise TrainingError(f"{self.topo.rack_address(r)} still leaks: fix the leak first")
        self.engine.set_rack_isolated(target, False)
        self.raw_ops.alarms.mark_all_dirty()
        return {"rack": self.topo.rack_address(r)}

    def _a_checkpoint_now(self, rec, job=None) -> dict:
        self._control(rec)
        eng = self.engine
        idx = [self._job(job)] if job is not None else range(eng.n_jobs)
        done = []
        for j in idx:
            if eng.job_state[j] != RUNNING:
                if job is not None:
                    raise TrainingError(f"job {eng.jobs[j].name} is not running (restarting or checkpointing)")
                continue
            eng.job_since_ckpt_s[j] = eng.jobs[j].checkpoint_interval_s  # the next step checkpoints
            done.append(eng.jobs[j].name)
        return {"jobs": done}

    def _a_set_checkpoint_interval(self, rec, job, interval_s) -> dict:
        self._control(rec)
        j = self._job(job)
        try:
            self.engine.jobs[j].checkpoint_interval_s = float(interval_s)
        except ValidationError as e:
            raise TrainingError(f"checkpoint interval {interval_s}: {e.errors()[0]['msg']}") from None
        return {"job": job, "interval_s": float(interval_s)}

    def _a_set_dispatch_mode(self, rec, mode) -> dict:
        if mode != "manual":
            raise TrainingError("dispatch stays manual in a training session: the trainee dispatches")
        return {"mode": mode}

    def _a_note(self, rec, text, work_order=None) -> dict:
        if work_order is not None:
            self.raw_ops.add_note(int(work_order), text, who=_who_text(rec.who))
        return {}

    # -- instructor
    def _a_hint(self, rec, hint=None, text=None, cost=None) -> dict:
        if hint is not None:
            h = next((h for h in self.scenario.hints if h.id == hint), None)
            if h is None:
                raise TrainingError(f"no hint {hint!r} (hints: {', '.join(x.id for x in self.scenario.hints)})")
            if any(x["id"] == hint for x in self.keeper.hints):
                raise TrainingError(f"hint {hint!r} was already given")
            entry = {"id": h.id, "text": h.text, "cost": float(h.cost if cost is None else cost), "t_s": self.t}
        else:
            entry = {"id": f"free-{len(self.keeper.hints) + 1}", "text": text, "cost": float(5.0 if cost is None
                                                                                              else cost),
                     "t_s": self.t}
        self.keeper.hints.append(entry)
        return {"hint": entry["id"], "text": entry["text"], "cost": entry["cost"]}

    def _a_inject(self, rec, kind, target, depth=None, duration=None, delta_c=None, ramp_s=None) -> dict:
        problem = check_params(kind, {"depth": depth, "duration": duration, "delta_c": delta_c, "ramp_s": ramp_s})
        if problem:
            raise TrainingError(problem)
        if kind != "heat_wave":
            a = self.engine.parse(target)
            problem = check_target(kind, a.kind, a.text)
            if problem:
                raise TrainingError(problem)
        self._n_injected += 1
        params = {k: v for k, v in (("depth", depth), ("duration", duration), ("delta_c", delta_c),
                                    ("ramp_s", ramp_s)) if v is not None}
        fs = FaultState(f"inject-{self._n_injected}", kind, target, "instructor", "injected now", params)
        self.faults.append(fs)
        self._by_id[fs.id] = fs
        self._fire(fs, self.t)
        if fs.state == "skipped":
            raise TrainingError(f"{kind} on {target}: {fs.note}")
        return {"fault": fs.id, "address": fs.address}

    def _a_fire(self, rec, fault) -> dict:
        fs = self._by_id.get(fault)
        if fs is None:
            raise TrainingError(f"no fault {fault!r} (faults: {', '.join(self._by_id)})")
        if fs.state != "pending":
            raise TrainingError(f"fault {fault} is {fs.state}, not pending")
        self._fire(fs, self.t)
        return {"fault": fs.id, "state": fs.state}

    def _a_freeze(self, rec) -> dict:
        self.running = False
        return {}

    def _a_run(self, rec) -> dict:
        self.running = True
        return {}

    def _a_speed(self, rec, speed) -> dict:
        self.speed = float(speed)
        return {"speed": self.speed}

    def _a_snapshot(self, rec, name=None) -> dict:
        name = name or f"snapshot {len(self.snapshots) + 1} at {_clock(self.t)}"
        if any(m.name == name for m in self.snapshots):
            raise TrainingError(f"a snapshot named {name!r} exists")
        self.snapshots.append(Marker(name, self.t, rec.seq))
        return {"name": name}

    def _a_restore(self, rec, name=None, to_t=None) -> dict:
        if name is not None:
            m = next((m for m in self.snapshots + self.backtracks if m.name == name), None)
            if m is None:
                raise TrainingError(f"no snapshot or backtrack point {name!r}")
            to_t, seq = m.t_s, m.seq
        else:
            if to_t > self.t + _EPS:
                raise TrainingError(f"cannot restore to t={to_t:g} s: the session is at t={self.t:g} s")
            seq = 0
        return {"to_t": float(to_t), "marker_seq": int(seq)}

    def _a_end(self, rec, text=None) -> dict:
        return {"reason": text or "ended by the instructor"}

    # ------------------------------------------------------------------ helpers for actions
    def _control(self, rec) -> None:
        if rec.who == "trainee" and rec.action in CONTROL_ACTIONS and rec.action not in self._ref_kinds:
            rec.unnecessary = f"{rec.action} is not needed in this drill"

    def _rack_of(self, text: str) -> int | None:
        try:
            return self.topo.rack_of(self.engine.parse(text))
        except SimError:
            return None

    def _job(self, name: str) -> int:
        for j, job in enumerate(self.engine.jobs):
            if job.name == name:
                return j
        raise TrainingError(f"no job {name!r} (jobs: {', '.join(j.name for j in self.engine.jobs)})")

    def _find_wo(self, work_order=None, target=None, prefer: str | None = None):
        ops = self.raw_ops
        if work_order is not None:
            return ops.get(int(work_order))
        a = self.engine.parse(target)
        live = sorted((w for w in ops.work_orders.values() if w.state not in FINAL), key=lambda w: w.id)
        exact = [w for w in live if w.target == a.text or a.text in w.also]
        rack = self.topo.rack_of(a)
        near = [w for w in live if rack is not None and self._rack_of(w.target) == rack]
        if a.kind == "hall":  # the oldest open order anywhere in the hall
            lo, hi = int(self.topo.hall_rack_start[a.index]), int(self.topo.hall_rack_start[a.index + 1])
            near = [w for w in live if (r := self._rack_of(w.target)) is not None and lo <= r < hi]
        for group in (exact, near):
            if group:
                pref = [w for w in group if prefer is None or w.state == prefer]
                return (pref or group)[0]
        raise TrainingError(f"no open work order for {target}")

    def _needed(self, target: str) -> bool:
        """Is anything wrong at ``target`` (a failure in its rack or component, or an active alarm)?"""
        eng, topo = self.engine, self.topo
        try:
            a = eng.parse(target)
        except SimError:
            return True  # the action fails with its own message
        active = self.raw_ops.alarms.active()
        r = topo.rack_of(a)
        if r is not None:
            if any(al.rack == r for al in active):
                return True
            return rack_has_failure(eng, r)
        if a.kind in ("chiller", "turbine", "leaf", "spine", "superspine", "port", "storage_node", "drive",
                      "fe_leaf"):
            return is_failed(eng, a)  # network and storage parts: is the part itself failed?
        if a.kind == "hall":
            return any(al.hall == a.index for al in active)
        return any(al.component == a.text for al in active)

    def _still_failed(self, wo) -> bool:
        eng = self.engine
        try:
            a = eng.parse(wo.target)
        except SimError:
            return False
        if a.kind in ("pump", "fan", "chiller", "turbine", "cdu", "gpu"):
            return is_failed(eng, a)
        return self._needed(wo.target)
