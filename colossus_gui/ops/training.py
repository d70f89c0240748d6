"""Training sessions, headless: the engine and the operations layer (manual dispatch) run a scenario; its
faults fire on their triggers; every trainee and instructor action is checked, carried out, time-stamped and
appended to the session log as it happens (one JSON line, flushed and synced: a crash loses nothing).

Determinism: the engine, the operations layer and the scenario's random faults draw from seeds; actions are
applied between steps at the simulated time they were taken. So the same scenario, seed and actions give the
same session, step for step, and the same score.

Backtrack and restore: the session's Run keeps keyframes of everything (engine, operations, this session's
timeline) every 60 simulated seconds; a restore loads the latest keyframe at or before the restore point and
re-applies the kept actions from there (exact, by the argument above), so it costs at most one keyframe
interval of simulation. Automatic backtrack points are markers every ``backtrack_every_s``; a manual snapshot
is a marker too, and also keeps the actions taken at its instant before it was taken. When the session
closes its keyframes are cached beside the log, so a replay opens at any moment just as quickly.

Order inside one step at time t: engine.step -> faults due at t fire -> operations step (alarms, work
orders, technicians) -> scoring accumulates -> actions taken at t (scripted, or from the GUI between ticks).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from .. import __version__
from ..io.keyframes import KeyframeCacheError, read_keyframes, write_keyframes
from ..io.session_log import LOG_FORMAT, SessionLog, read_log
from ..model.facility import Facility
from ..model.ops_config import OpsConfig
from ..model.scenario import FAULT_TARGETS
from ..model.training import (
    ENGINE_EVENT_KINDS,
    INSTRUCTOR_ACTIONS,
    RAMPABLE,
    ScriptedAction,
    TrainingScenario,
)
from ..sim.engine import Engine, SimError
from .alarms import AlarmError
from .conditions import parse_condition
from .drill_setup import build_facility, build_ops_config
from .run import Run, RunState, SeekCancelled
from .scoring import Score, ScoreKeeper, match_reference
from .training_actions import SessionActions
from .training_check import candidates, component_address
from .training_records import (
    ActionRecord,
    FaultState,
    Marker,
    TrainingError,
    _clock,
    _describe_trigger,
    _message,
    _plain,
    _wall,
    _who_of,
)
from .work_orders import WorkOrderError
from .workflow import OpsError, OpsManager

_EPS = 1e-6
_SELF_CLEARING = ("grid_sag", "grid_outage", "heat_wave")


# --------------------------------------------------------------------------- facility and staff
# build_facility and build_ops_config live in drill_setup (the scenario checker uses them too)


# --------------------------------------------------------------------------- the session log
# SessionLog and read_log live in io/session_log.py (file I/O belongs to io)


# --------------------------------------------------------------------------- the session
class TrainingSession(SessionActions):
    """One trainee playing one scenario. The session's ``run`` (a Run) steps the engine, the faults, the
    operations and the score together: headless, call ``step()`` or ``play(script)``; in the GUI the driver
    advances ``run``. Widgets act through ``session.ops`` (an OpsManager look-alike that logs) and ``do``;
    the action handlers are in training_actions.py, the plain records in training_records.py."""

    def __init__(self, scenario: TrainingScenario, facility: Facility, *, seed: int | None = None,
                 trainee: str = "trainee", log_path: str | Path | None = None, scenario_name: str = "",
                 ops_config: OpsConfig | None = None, dt: float = 1.0, telemetry_capacity: int | None = None,
                 keyframe_every_s: float = 60.0):
        self.scenario = sc = scenario
        self.base_facility = facility
        self.scenario_name = scenario_name or sc.title
        self.trainee = trainee
        self.seed = int(seed if seed is not None else (sc.seed if sc.seed is not None else 0))
        self.dt = float(dt)
        self.facility = build_facility(sc, facility)
        self.ops_config = build_ops_config(sc, self.facility, ops_config)
        cap = telemetry_capacity or int(sc.time_limit_s / self.dt) + 16
        self.engine = Engine(self.facility, seed=self.seed, telemetry_capacity=cap)
        self._mutable0 = self._read_mutable()
        for f in sc.initial.failed:
            self.engine.inject(f.kind, f.target, cause="initial")
        for d in sc.initial.degraded:
            self.engine.degrade(d.target, d.level)
        self._snap0 = self.engine.snapshot()
        self.topo = self.engine.topo
        self.started_wall = _wall()
        self.records: list[ActionRecord] = []  # everything, in the order it happened (all branches)
        self._effective: list[ActionRecord] = []  # the actions of the current timeline
        self._seq = 0
        self.snapshots: list[Marker] = []
        self.backtracks: list[Marker] = []
        self.running = True
        self.speed = 1.0
        self.ended = False
        self.aborted = False
        self.end_reason: str | None = None
        self.final_score: Score | None = None
        self.listeners: list[Callable[[str, object], None]] = []  # (what, payload): action fault rebuilt ended
        self._replaying = False
        self._last_return = None
        self._ref_kinds = {a.action for a in sc.reference} | set(sc.allowed_actions)
        self.ops = TrainingOps(self)
        self.log = SessionLog(log_path) if log_path is not None else None
        if self.log is not None:
            self.log.write(self.header())
        self._build_runtime()
        # the one timeline: engine, operations and this session stepped together, with keyframes
        self.run = Run(session=self, keyframe_every_s=keyframe_every_s)

    # ------------------------------------------------------------------ set-up
    def header(self) -> dict:
        return {"type": "header", "format": LOG_FORMAT, "version": __version__, "trainee": self.trainee,
                "scenario_name": self.scenario_name, "scenario": self.scenario.model_dump(mode="json"),
                "facility": self.base_facility.model_dump(mode="json"), "seed": self.seed, "dt": self.dt,
                "started": self.started_wall}

    def _read_mutable(self) -> dict:
        f = self.engine.facility
        return {"supply_setpoint_c": f.site.supply_setpoint_c,
                "checkpoint_interval_s": [j.checkpoint_interval_s for j in f.jobs]}

    def _reset_mutable(self) -> None:
        f = self.engine.facility
        f.site.supply_setpoint_c = self._mutable0["supply_setpoint_c"]
        for j, v in zip(f.jobs, self._mutable0["checkpoint_interval_s"], strict=True):
            j.checkpoint_interval_s = v

    def _build_runtime(self) -> None:
        """Operations, fault timeline and score keeper for a run from t = 0 (the engine is at t = 0)."""
        eng = self.engine
        # before the operations start: work orders they open at once (failures already present) are read too
        self.event_cursor = eng.events.cursor()
        self.raw_ops = OpsManager(eng, self.ops_config, seed=self.seed)
        self.keeper = ScoreKeeper(self.scenario, eng)
        self.faults: list[FaultState] = self._make_faults()
        self._by_id = {f.id: f for f in self.faults}
        self._next_backtrack = self.scenario.backtrack_every_s
        self._n_injected = 0
        abort = self.scenario.scoring.abort
        self._abort_cond = parse_condition(abort.when, self.topo) if abort and abort.when else None
        self._abort_since: float | None = None
        self._process(0.0)

    def _make_faults(self) -> list[FaultState]:
        sc, topo = self.scenario, self.topo
        rng = np.random.default_rng([self.seed, 0x7EA1])  # the scenario's own stream: never the engine's
        out: list[FaultState] = []
        for i, (fid, f) in enumerate(zip(sc.fault_ids(), sc.faults, strict=True)):
            params = {k: getattr(f, k) for k in ("depth", "duration", "delta_c", "ramp_s", "level")
                      if getattr(f, k) is not None}
            if f.random is not None:
                end = f.random.end_s if f.random.end_s is not None else sc.time_limit_s
                n = int(rng.poisson(f.random.rate_per_h * (end - f.random.start_s) / 3600.0))
                if f.random.max_count is not None:
                    n = min(n, f.random.max_count)
                times = np.sort(rng.uniform(f.random.start_s, end, n))
                pool = [c for text in f.targets for c in self._pool(f.kind, text)]
                weights = np.array([hi - lo for _, lo, hi in pool], dtype=np.float64)
                for k, t in enumerate(times):
                    sub, lo, hi = pool[int(rng.choice(len(pool), p=weights / weights.sum()))]
                    target = component_address(topo, sub, int(rng.integers(lo, hi)))
                    out.append(FaultState(f"{fid}#{k + 1}", f.kind, target, "scenario",
                                          f"random {f.random.rate_per_h:g}/h", params, f.label, due_t=float(t),
                                          spec_index=i))
                continue
            fs = FaultState(fid, f.kind, f.target if isinstance(f.target, str) else f.target[0], "scenario",
                            _describe_trigger(f), params, f.label, spec_index=i)
            if f.at is not None:
                fs.due_t = float(f.at)
            if f.when is not None:
                fs.cond = parse_condition(f.when, topo)
            out.append(fs)
        return out

    def _pool(self, kind: str, text: str) -> list[tuple[str, int, int]]:
        a = self.topo.parse(text)
        if a.kind in FAULT_TARGETS[kind]:
            return [("addr:" + a.text, 0, 1)]
        return candidates(self.topo, kind, a)

    # ------------------------------------------------------------------ the clock
    @property
    def t(self) -> float:
        return float(self.engine.t)

    @property
    def time_limit_s(self) -> float:
        return self.scenario.time_limit_s

    def step(self) -> None:
        """One step of the session's run (engine, faults, operations, scoring)."""
        if self.ended:
            return
        self.run.step()

    # the parts of the session that belong to a moment of the timeline (a Run snapshot copies them)
    _TIMELINE = ("keeper", "faults", "_by_id", "event_cursor", "_next_backtrack",
                 "_n_injected", "_abort_since", "ended", "aborted", "end_reason", "final_score", "backtracks",
                 "snapshots", "_effective")

    def timeline_state(self) -> dict:
        """This moment's timeline (not yet copied: the Run deep-copies it with the operations state)."""
        out = {k: getattr(self, k) for k in self._TIMELINE}
        out["_mutable"] = self._read_mutable()
        return out

    def restore_timeline(self, state: dict) -> None:
        for k in self._TIMELINE:
            setattr(self, k, state[k])
        self.keeper.adopt_cursor()  # its ledger came back with this moment: its cursor is right for it
        f = self.engine.facility
        m = state["_mutable"]
        f.site.supply_setpoint_c = m["supply_setpoint_c"]
        for j, v in zip(f.jobs, m["checkpoint_interval_s"], strict=True):
            j.checkpoint_interval_s = v

    def after_engine_step(self, dt: float | None = None) -> None:
        """What follows every engine step (the session's Run calls it)."""
        if self.ended:
            return
        self._process(self.dt if dt is None else float(dt))

    def _process(self, dt: float) -> None:
        t = self.t
        self._fire_due(t)
        self.raw_ops.step()
        self.keeper.accumulate(dt)
        if t + _EPS >= self._next_backtrack:
            m = Marker(f"auto {_clock(t)}", t, 0, auto=True)
            self.backtracks.append(m)
            self._next_backtrack += self.scenario.backtrack_every_s
            if not self._replaying and self.log is not None:
                self.log.write({"type": "mark", "t_s": t, "name": m.name})
        if dt > 0:
            self._check_abort(t)
        if not self.ended and t + _EPS >= self.time_limit_s:
            self.end("time limit reached", who="system")

    def run_until(self, t_end: float, script: ScriptPlayer | None = None) -> None:
        t_end = min(t_end, self.time_limit_s)
        if script is not None:
            script.apply_due()
        while not self.ended and self.t + _EPS < t_end:
            self.step()
            if script is not None and not self.ended:
                script.apply_due()

    def play(self, actions: list[ScriptedAction] | None = None, until: float | None = None) -> Score:
        """Play to the time limit (or ``until``) with scripted actions; returns the score."""
        player = ScriptPlayer(self, actions or [])
        self.run_until(until if until is not None else self.time_limit_s, player)
        return self.final_score if self.final_score is not None else self.score()

    # ------------------------------------------------------------------ faults and triggers
    def _fire_due(self, t: float) -> None:
        eng = self.engine
        batch = eng.events.since(self.event_cursor)
        self.event_cursor = batch.cursor
        # the engine's, the operations' and the alarms' events (alarm raised / acknowledged), in log order
        events = [(ev.t_s, ev.kind, ev.address) for ev in batch.events]
        if events:
            self._match_events(events)
        self.keeper.read_alarm_events()
        for fs in self.faults:
            if fs.state == "pending":
                if fs.due_t is not None and fs.due_t <= t + _EPS:
                    self._fire(fs, t)
                elif fs.cond is not None:
                    if fs.cond.holds(eng):
                        if fs.hold_since is None:
                            fs.hold_since = t
                        if t - fs.hold_since + _EPS >= self.scenario.faults[fs.spec_index].hold_s:
                            self._fire(fs, t)
                    else:
                        fs.hold_since = None
            elif fs.state == "ramping":
                self._ramp(fs, t)
            elif fs.state == "active" and fs.kind == "heat_wave":
                dur = fs.params.get("duration")
                if dur is not None and t + _EPS >= fs.fired_t + dur:
                    self._set_state(fs, "cleared", t)

    def _match_events(self, events: list[tuple[float, str, str]]) -> None:
        for t_ev, kind, address in events:
            if kind == "fault_cleared":
                for fs in self.faults:
                    if fs.state in ("active", "ramping") and fs.address is not None and fs.address == address:
                        self._set_state(fs, "cleared", t_ev)
            for fs in self.faults:
                if fs.state != "pending" or fs.due_t is not None or fs.spec_index is None:
                    continue
                after = self.scenario.faults[fs.spec_index].after
                if after is None or after.event != kind:
                    continue
                a = after.address
                if a is None or a == "ALL" or address == a or address.startswith(a + "-"):
                    fs.due_t = t_ev + after.delay_s

    def _fire(self, fs: FaultState, t: float) -> None:
        eng = self.engine
        fs.fired_t = t
        if fs.target.startswith("addr:"):  # a random pick that was a whole address
            fs.target = fs.target[5:]
        p = fs.params
        try:
            if fs.kind in RAMPABLE and p.get("ramp_s"):
                fs.address = eng.parse(fs.target).text
                self._set_state(fs, "ramping", t)
                self._ramp(fs, t)
            else:
                started = eng.inject(fs.kind, fs.target, depth=p.get("depth"), duration=p.get("duration"),
                                     delta_c=p.get("delta_c"), ramp_s=p.get("ramp_s"), cause=fs.origin)
                if started is None:
                    fs.note = "already failed: nothing happened"
                    self._set_state(fs, "skipped", t)
                else:
                    fs.address = started.address
                    self._set_state(fs, "active", t)
        except SimError as e:
            fs.note = str(e)
            self._set_state(fs, "skipped", t)
        # faults waiting for this one
        for other in self.faults:
            if other.state == "pending" and other.spec_index is not None and other.due_t is None:
                after = self.scenario.faults[other.spec_index].after
                if after is not None and after.fault is not None and fs.id.split("#")[0] == after.fault:
                    other.due_t = t + after.delay_s
        # the events the fault caused now are read with the next step's; keep the cursor so clears are seen

    def _ramp(self, fs: FaultState, t: float) -> None:
        eng = self.engine
        ramp = float(fs.params["ramp_s"])
        final = float(fs.params.get("level", 0.0))
        a = eng.parse(fs.address)
        cur = eng.pump_capacity[a.index, a.sub] if a.kind == "pump" else eng.chiller_capacity[a.index]
        last = fs.params.get("_level_now")
        if last is not None and cur > last + 1e-9:  # repaired during the ramp
            self._set_state(fs, "cleared", t)
            return
        frac = min(1.0, (t - fs.fired_t) / ramp) if ramp > 0 else 1.0
        level = 1.0 - (1.0 - final) * frac
        eng.degrade(fs.address, level)
        fs.params["_level_now"] = level
        if frac >= 1.0 and "level" not in fs.params:
            eng.inject(fs.kind, fs.address, cause=fs.origin)
            self._set_state(fs, "active", t)
        elif frac >= 1.0:
            self._set_state(fs, "active", t)

    def _set_state(self, fs: FaultState, state: str, t: float) -> None:
        fs.state = state
        if state == "cleared":
            fs.cleared_t = t
        if not self._replaying and self.log is not None:
            self.log.write({"type": "fault", "t_s": t, "id": fs.id, "state": state, "kind": fs.kind,
                            "target": fs.target, "address": fs.address, "note": fs.note})
        self._notify("fault", fs)

    def _check_abort(self, t: float) -> None:
        abort = self.scenario.scoring.abort
        if abort is None or self.ended:
            return
        if self._abort_cond is not None:
            if self._abort_cond.holds(self.engine):
                if self._abort_since is None:
                    self._abort_since = t
                if t - self._abort_since + _EPS >= abort.hold_s:
                    self.aborted = True
                    self.end(f"aborted: {abort.when}", who="system")
                    return
            else:
                self._abort_since = None
        if abort.score_below is not None and int(t) % 10 == 0 and self.score().total < abort.score_below:
            self.aborted = True
            self.end(f"aborted: score below {abort.score_below:g}", who="system")

    # ------------------------------------------------------------------ actions
    def do(self, action: str, who: str = "trainee", raise_errors: bool = False, progress=None,
           **args) -> ActionRecord:
        """Carry out an action now, log it, and return its record. With ``raise_errors`` a failed action
        raises TrainingError (after being logged); otherwise ``record.ok`` is False and ``record.error`` says why.
        ``progress(fraction)``: how far a restore's re-simulation has come (a worker thread reports it)."""
        args = {k: v for k, v in args.items() if v is not None}
        handler = getattr(self, f"_a_{action}", None)
        if handler is None:
            raise TrainingError(f"unknown action {action!r}")
        rec = ActionRecord(self._seq + 1, self.t, who, action, _plain(args), wall=_wall())
        self._seq += 1
        self._last_return = None
        if self.ended and action not in ("note",):
            rec.ok, rec.error = False, "the session has ended"
        elif who == "trainee" and action in INSTRUCTOR_ACTIONS and action not in ("note", "hint"):
            rec.ok, rec.error = False, f"{action} is an instructor action"
        else:
            try:
                rec.result = handler(rec, **args) or {}
            except TypeError as e:
                rec.ok, rec.error = False, f"{action}: bad arguments ({e})"
            except (TrainingError, OpsError, WorkOrderError, AlarmError, SimError, ValueError) as e:
                rec.ok, rec.error = False, _message(e)
        if not rec.ok and who == "trainee" and not rec.unnecessary:
            rec.unnecessary = f"failed: {rec.error}"
        self._record(rec)
        if rec.action == "restore" and rec.ok:
            self._rebuild(rec.result["to_t"], rec.result["marker_seq"], progress)
        if rec.action == "end" and rec.ok:
            self._finish(rec.args.get("text") or "ended by the instructor")
        if raise_errors and not rec.ok:
            raise TrainingError(rec.error)
        return rec

    def _record(self, rec: ActionRecord) -> None:
        self.records.append(rec)
        if rec.action != "restore":
            self._effective.append(rec)
        if self.log is not None and not self._replaying:
            self.log.write(rec.to_row())
        self._notify("action", rec)

    def effective_actions(self) -> list[ActionRecord]:
        """The actions of the current timeline (what a restore kept, and everything since)."""
        return list(self._effective)

    # ------------------------------------------------------------------ restore (rewind + replay)
    def _rebuild(self, to_t: float, marker_seq: int, progress=None) -> None:
        keep = [r for r in self._effective if r.t_s < to_t - _EPS or (abs(r.t_s - to_t) <= _EPS
                                                                     and r.seq < marker_seq)]
        self._effective = []
        self.replay_to(keep, to_t, progress=progress)
        self._notify("rebuilt", to_t)

    def replay_to(self, actions: list[ActionRecord], t_end: float, same_timeline: bool = False,
                  progress=None, cancelled=None) -> None:
        """Go back to the latest keyframe of this timeline at or before the first action to re-apply (and
        at or before ``t_end``), then re-simulate to ``t_end`` applying ``actions`` at their times (no
        logging). Keyframes hold the state after a step and before that moment's actions, so the actions
        at the keyframe's own time are re-applied too. ``same_timeline``: ``actions`` are this timeline's own
        (a replay scrubbing a recorded session): later keyframes stay valid and a forward seek uses them.
        ``progress(fraction)`` and ``cancelled()`` as for ``Run.seek`` (SeekCancelled leaves a consistent
        moment between the keyframe and ``t_end``)."""
        run = self.run
        # valid: every action of this timeline before the keyframe is among ``actions`` (a restore keeps all
        # actions before its point; a session read from its log starts with the t = 0 keyframe alone)
        k = run.keyframe_before(t_end)
        if same_timeline and k.t <= self.t + _EPS <= t_end + _EPS:
            k = None  # already on the way: simulate on from here
        self._replaying = True
        try:
            if k is not None:
                run.restore(k)
                if not same_timeline:
                    run.branch()  # keyframes after k belong to the timeline being discarded
                pending = [a for a in actions if a.t_s >= k.t - _EPS]
                self._effective = [a for a in actions if a.t_s < k.t - _EPS]
            else:  # the actions up to now (those at now too) are applied already
                pending = [a for a in actions if a.t_s > self.t + _EPS]
            n_steps = max(1, int(round((t_end - self.t) / self.dt)))
            done = 0
            while True:
                while pending and pending[0].t_s <= self.t + _EPS:
                    self._apply_record(pending.pop(0))
                    if same_timeline:
                        run.same_timeline()
                if self.ended or self.t + _EPS >= t_end:
                    break
                if cancelled is not None and done % 16 == 0 and cancelled():
                    raise SeekCancelled(f"stopped at t={self.t:g} s")
                run.step()
                done += 1
                if progress is not None and done % 16 == 0:
                    progress(done / n_steps)
        finally:
            self._replaying = False

    def _apply_record(self, rec: ActionRecord) -> None:
        """Re-apply a logged action (replay): same handler, same record kept, nothing logged."""
        handler = getattr(self, f"_a_{rec.action}", None)
        if handler is None or rec.action in ("restore",):
            return
        if rec.action == "end":
            self._effective.append(rec)
            self._finish(rec.args.get("text") or "ended by the instructor")
            return
        if rec.ok:
            unnecessary = rec.unnecessary
            try:
                handler(rec, **rec.args)
            except (TrainingError, OpsError, WorkOrderError, AlarmError, SimError, ValueError, TypeError):
                pass  # it succeeded when it was taken; a replay that diverges is reported by the caller's checks
            rec.unnecessary = unnecessary
        self._effective.append(rec)
        self._notify("action", rec)

    # ------------------------------------------------------------------ the end
    def end(self, reason: str, who: str = "instructor") -> None:
        if self.ended:
            return
        if who == "system":
            self._finish(reason)
        else:
            self.do("end", who=who, text=reason)

    def _finish(self, reason: str) -> None:
        if self.ended:
            return
        self.ended = True
        self.end_reason = reason
        self.final_score = self.score(final=True)
        if self.log is not None and not self._replaying:
            self.log.write({"type": "end", "t_s": self.t, "reason": reason, "aborted": self.aborted,
                            "score": self.final_score.to_dict()})
        self._notify("ended", self.final_score)

    def close(self, keyframes: bool = True) -> None:
        """Close the log; with ``keyframes``, cache the run's keyframes beside it (a replay then opens at any
        moment without re-simulating; the cache is ignored if the log changes)."""
        if self.log is not None:
            self.log.close()
            if keyframes and self.run.keyframes and self.log.path.exists():
                try:
                    write_keyframes(self.log.path.parent, self.run.keyframes, self.run.persistent_objects(),
                                    self.log.path, telemetry=self.run.telemetry_rows())
                except (OSError, KeyframeCacheError):
                    pass  # a cache (not written when a keyframe holds what cannot be data): the log replays it
            self.log = None

    # ------------------------------------------------------------------ reading
    def score(self, final: bool = False) -> Score:
        if self.ended and self.final_score is not None and not final:
            return self.final_score
        return self.keeper.score(self, final=final)

    def reference_matches(self) -> list[dict]:
        trainee = [r for r in self._effective if r.who == "trainee"]
        return match_reference(self.scenario.reference, trainee, self.topo)

    def fault_rows(self) -> list[dict]:
        return [f.to_row() for f in self.faults]

    def _notify(self, what: str, payload) -> None:
        for fn in list(self.listeners):
            fn(what, payload)

    def debrief(self) -> dict:
        """Everything the report needs, as plain data."""
        eng, ops = self.engine, self.raw_ops
        sc = self.scenario
        score = self.final_score or self.score()
        tel = eng.telemetry
        channels = ("t_s", "hottest_gpu_c", "p99_gpu_c", "supply_c", "soc", "it_mw", "facility_mw", "grid_mw",
                    "battery_mw", "turbine_mw", "goodput", "throttled_gpus", "gpus_in_service", "shed_frac")
        series = {c: tel.series(c).tolist() for c in channels}
        alarms = [{"alarm": a, "rule": r, "component": c, "severity": s, "raised_t": t0, "acked_t": t1}
                  for a, r, c, s, t0, t1 in self.keeper.ledger]
        wos = [{"id": w.id, "target": w.target, "fault": w.fault, "recipe": w.recipe, "state": w.state,
                "created_t": w.created_t, "assigned_t": w.assigned_t, "finished_t": w.finished_t,
                "technician": w.technician, "source": w.source} for w in sorted(ops.work_orders.values(),
                                                                                key=lambda w: w.id)]
        return {
            "title": sc.title, "scenario_name": self.scenario_name, "briefing": sc.briefing or sc.description,
            "trainee": self.trainee, "facility": eng.facility.name, "gpus": int(eng.n_gpus), "seed": self.seed,
            "started": self.started_wall, "duration_s": self.t, "time_limit_s": sc.time_limit_s,
            "ended": self.ended, "end_reason": self.end_reason, "aborted": self.aborted,
            "score": score.to_dict(), "faults": self.fault_rows(),
            "actions": [r.to_row() for r in self._effective], "all_actions": [r.to_row() for r in self.records],
            "alarms": alarms, "work_orders": wos, "reference": self.reference_matches(),
            "hints": list(self.keeper.hints), "series": series,
            "objectives": [{"id": o.id, "text": o.text, "condition": o.condition, "check": o.check}
                           for o in sc.objectives],
            "summary": eng.summary(), "ops": ops.figures(),
        }

    # ------------------------------------------------------------------ from a log
    @classmethod
    def from_log(cls, path: str | Path, until_t: float | None = None, use_keyframes: bool = True,
                 progress=None, cancelled=None) -> TrainingSession:
        """Re-simulate a session from its log (complete, or cut short by a crash) to ``until_t`` (default: where
        it ended, or the last time the log knows). With the keyframes cached beside the log (written when the
        session closed) only the stretch after the nearest keyframe is simulated."""
        recs = read_log(path)
        head = recs[0]
        sc = TrainingScenario.model_validate(head["scenario"])
        fac = Facility.model_validate(head["facility"])
        s = cls(sc, fac, seed=head["seed"], trainee=head.get("trainee", "trainee"),
                scenario_name=head.get("scenario_name", ""), dt=head.get("dt", 1.0))
        s.started_wall = head.get("started", "")
        records, effective, end_t, end_reason, last_t = _log_timeline(recs)
        s.records.extend(records)
        s._seq = max([s._seq] + [r.seq for r in records])
        target = until_t if until_t is not None else (end_t if end_t is not None else last_t)
        if use_keyframes:
            try:
                frames, tel = read_keyframes(
                    Path(path).parent, s.run.persistent_objects(), path,
                    check=lambda k: isinstance(k, RunState) and all(hasattr(k, f) for f in RunState.__dataclass_fields__))
                if not frames or frames[0].t > 0:
                    raise KeyframeCacheError("keyframes of another layout")
                s.run.keyframes = frames
                s.run.adopt_telemetry(tel)
            except KeyframeCacheError:
                pass  # no cache, or not for this log: re-simulate from the start
        s.replay_to(effective, target, same_timeline=True, progress=progress, cancelled=cancelled)
        if until_t is None and end_t is not None and not s.ended:
            s._finish(end_reason)
        return s


def _log_timeline(recs: list[dict]):
    """From a session log's records: every action record, the actions of the final timeline, the end time
    and reason (None if it did not end) and the last time the log knows."""
    records: list[ActionRecord] = []
    effective: list[ActionRecord] = []
    last_t, end_t, end_reason = 0.0, None, None
    for r in recs[1:]:
        kind = r.get("type")
        if kind == "end":
            end_t, end_reason = float(r["t_s"]), r.get("reason", "ended")
            continue
        if kind != "action":
            last_t = float(r.get("t_s", last_t))
            continue
        rec = ActionRecord.from_row(r)
        records.append(rec)
        if rec.action == "restore" and rec.ok:
            # the log goes on in wall-clock order: what follows belongs to the branch from to_t
            to_t, mseq = rec.result["to_t"], rec.result["marker_seq"]
            effective = [x for x in effective if x.t_s < to_t - _EPS or (abs(x.t_s - to_t) <= _EPS
                                                                         and x.seq < mseq)]
            end_t, last_t = None, to_t
            continue
        effective.append(rec)
        last_t = rec.t_s
    return records, effective, end_t, end_reason, last_t


def session_length_s(path: str | Path) -> float:
    """How long the recorded session ran (its end, or the last moment its log knows), without simulating."""
    _, _, end_t, _, last_t = _log_timeline(read_log(path))
    return float(end_t if end_t is not None else last_t)


class ScriptPlayer:
    """Scripted actions (a reference solution or an actions file) applied at their times or conditions."""

    def __init__(self, session: TrainingSession, actions: list[ScriptedAction]):
        self.session = session
        self.items = []
        for a in actions:
            cond = parse_condition(a.when, session.topo) if a.when is not None else None
            self.items.append({"a": a, "next": a.at, "cond": cond, "done": False})

    def apply_due(self) -> None:
        s = self.session
        t = s.t
        for it in self.items:
            if it["done"] or s.ended:
                continue
            a: ScriptedAction = it["a"]
            if it["cond"] is not None:
                if (it["next"] is not None and it["next"] > t + _EPS) or not it["cond"].holds(s.engine):
                    continue
                it["done"] = True
            else:
                if it["next"] > t + _EPS:
                    continue
                if a.repeat_s:
                    it["next"] = it["next"] + a.repeat_s
                    if a.until_s is not None and it["next"] > a.until_s + _EPS:
                        it["done"] = True
                else:
                    it["done"] = True
            if a.repeat_s and not self._worth_it(a):
                continue  # a vigilant operator's sweep: nothing to do now, nothing logged
            s.do(a.action, who=a.actor, **a.args())

    def _worth_it(self, a: ScriptedAction) -> bool:
        """Would a repeated sweep do anything now (unacknowledged alarms; an open order and a free technician)?"""
        s = self.session
        if a.action == "acknowledge":
            return any(not al.acked for al in s.raw_ops.alarms.alarms(include_shelved=True))
        if a.action == "assign":
            try:
                wo = s._find_wo(a.work_order, a.target, prefer="open")
            except (TrainingError, WorkOrderError, SimError):
                return False
            if wo.state != "open":
                return False
            part = s.raw_ops._part_of(wo)
            if part is not None and not s.raw_ops.spares.available(part):
                return False
            skill = s.ops_config.repairs.skills[wo.recipe]
            if a.technician == "nearest":
                return s.raw_ops.roster.nearest_free(skill, s._rack_of(wo.target)) is not None
            tech = s.raw_ops.roster.by_name.get(a.technician)
            return tech is not None and tech.free and tech.on_shift
        return True


class TrainingOps:
    """What the ordinary alarm and work-order widgets talk to in a training session: the OpsManager's
    interface, with every operator action logged through the session. Reads pass through to the current
    OpsManager (which a restore replaces), so widgets keep one object for the whole session."""

    def __init__(self, session: TrainingSession):
        object.__setattr__(self, "_session", session)

    def __getattr__(self, name):
        return getattr(self._session.raw_ops, name)

    def step(self, dt=None) -> None:
        """The session steps its operations layer itself; a second hook must not."""

    def _do(self, action: str, who: str, **args):
        s = self._session
        s.do(action, who=_who_of(who), raise_errors=True, **args)
        return s._last_return

    def acknowledge(self, ids, who: str = "operator"):
        if not isinstance(ids, (list, tuple, set)):
            ids = [ids]
        return self._do("acknowledge", who, alarms=[int(getattr(a, "id", a)) for a in ids])

    def shelve(self, alarm_id, seconds: float, who: str = "operator"):
        return self._do("shelve", who, alarm=int(getattr(alarm_id, "id", alarm_id)), seconds=float(seconds))

    def create_work_order(self, target: str, fault: str = "manual", priority: int | None = None,
                          who: str = "operator", note: str = "", recipe: str | None = None):
        return self._do("create_work_order", who, target=target, note=note or None, priority=priority,
                        fault=None if fault == "manual" else fault, recipe=recipe)

    def assign(self, wo_id: int, technician: str, who: str = "operator"):
        return self._do("assign", who, work_order=int(wo_id), technician=technician)

    def unassign(self, wo_id: int, who: str = "operator"):
        return self._do("unassign", who, work_order=int(wo_id))

    def advance(self, wo_id: int, who: str = "operator"):
        return self._do("advance_work_order", who, work_order=int(wo_id))

    def cancel(self, wo_id: int, who: str = "operator", reason: str = ""):
        return self._do("cancel_work_order", who, work_order=int(wo_id), text=reason or None)

    def set_priority(self, wo_id: int, priority: int, who: str = "operator"):
        return self._do("set_priority", who, work_order=int(wo_id), priority=priority)

    def add_note(self, wo_id: int, text: str, who: str = "operator"):
        self._do("note", who, work_order=int(wo_id), text=text)
        return self._session.raw_ops.get(wo_id)

    def set_dispatch_mode(self, mode: str) -> None:
        # the work-order panel's mode box calls this from a slot: log the refusal, never raise into Qt
        if mode != self._session.raw_ops.dispatch_mode:
            self._session.do("set_dispatch_mode", who="trainee", mode=mode)


__all__ = ["ENGINE_EVENT_KINDS", "ActionRecord", "FaultState", "Marker", "ScriptPlayer", "SessionLog",
           "TrainingError", "TrainingOps", "TrainingSession", "build_facility", "build_ops_config", "read_log"]
