"""Training sessions, headless: the engine and the operations layer (manual dispatch) run a scenario; its
faults fire on their triggers; every trainee and instructor action is checked, carried out, time-stamped and
appended to the session log as it happens (one JSON line, flushed and synced: a crash loses nothing).

Determinism: the engine, the operations layer and the scenario's random faults draw from seeds; actions are
applied between steps at the simulated time they were taken. So the same scenario, seed and actions give the
same session, step for step, and the same score.

Backtrack and restore: the engine can snapshot itself, the operations layer cannot (work orders, technicians,
alarms and their clocks). Restore therefore rewinds the engine to its state at t = 0 (in place: views bound
to the engine stay valid), rebuilds the operations layer and replays the actions kept before the restore point
(exact, by the argument above). It costs a re-simulation to that point: ~1 s per 15 simulated minutes on the
100k-GPU facility. Automatic backtrack points are markers every ``backtrack_every_s``; a manual snapshot is a
marker too, and also keeps the actions taken at its instant before it was taken.

Order inside one step at time t: engine.step -> faults due at t fire -> operations step (alarms, work
orders, technicians) -> scoring accumulates -> actions taken at t (scripted, or from the GUI between ticks).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from pydantic import ValidationError

from .. import __version__
from ..model.facility import Facility
from ..model.network import quiet_network
from ..model.ops_config import OpsConfig
from ..model.scenario import FAULT_TARGETS
from ..model.training import (
    CONTROL_ACTIONS,
    ENGINE_EVENT_KINDS,
    INSTRUCTOR_ACTIONS,
    RAMPABLE,
    ScriptedAction,
    TrainingFault,
    TrainingScenario,
)
from ..sim.engine import RUNNING, Engine, SimError
from .alarms import AlarmError
from .conditions import parse_condition
from .scoring import Score, ScoreKeeper, match_reference
from .training_check import candidates, component_address
from .work_orders import FAULT_RECIPES, FINAL, WorkOrderError
from .workflow import OpsError, OpsManager

LOG_FORMAT = "colossus-gui-session/1"
_EPS = 1e-6
_SELF_CLEARING = ("grid_sag", "grid_outage", "heat_wave")


class TrainingError(ValueError):
    """An action that cannot be carried out; the message says why (shown to the user, logged)."""


# --------------------------------------------------------------------------- plain records
@dataclass
class FaultState:
    """One fault occurrence on the timeline: pending -> (ramping) -> active -> cleared, or skipped."""

    id: str
    kind: str
    target: str
    origin: str  # scenario | instructor
    trigger: str
    params: dict = field(default_factory=dict)
    label: str = ""
    state: str = "pending"
    due_t: float | None = None
    fired_t: float | None = None
    cleared_t: float | None = None
    address: str | None = None
    note: str = ""
    spec_index: int | None = None
    hold_since: float | None = None
    cond: object = None

    @property
    def repairable(self) -> bool:
        return self.kind in FAULT_RECIPES or (self.kind in RAMPABLE and bool(self.params.get("ramp_s")))

    def to_row(self) -> dict:
        d = {k: v for k, v in asdict(self).items() if k not in ("cond", "hold_since", "spec_index")}
        return d


@dataclass
class ActionRecord:
    seq: int
    t_s: float
    who: str
    action: str
    args: dict
    ok: bool = True
    error: str | None = None
    result: dict = field(default_factory=dict)
    unnecessary: str | None = None
    wall: str = ""

    def to_row(self) -> dict:
        return {"type": "action", **asdict(self)}

    @classmethod
    def from_row(cls, row: dict) -> ActionRecord:
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in row.items() if k in known})


@dataclass
class Marker:
    name: str
    t_s: float
    seq: int  # actions at t_s with a smaller seq are kept on restore (0 for automatic backtrack points)
    auto: bool = False


# --------------------------------------------------------------------------- facility and staff
def build_facility(sc: TrainingScenario, base: Facility) -> Facility:
    """A copy of ``base`` with the scenario's initial conditions (raises ValidationError/ValueError)."""
    f = base.model_copy(deep=True)
    ini = sc.initial
    data = f.model_dump()
    site = data["site"]
    if ini.start_hour is not None:
        site["ambient"]["start_hour"] = ini.start_hour
    if ini.ambient is not None:
        site["ambient"].update({k: v for k, v in ini.ambient.model_dump().items() if v is not None})
    if ini.supply_setpoint_c is not None:
        site["supply_setpoint_c"] = ini.supply_setpoint_c
    if ini.megapack_soc is not None:
        mp = site["megapacks"]
        mp["soc_initial"] = ini.megapack_soc
        mp["soc_min"] = min(mp["soc_min"], ini.megapack_soc)
        mp["soc_target"] = max(mp["soc_min"], min(mp["soc_target"], mp["soc_max"]))
    if ini.megapacks_in_service is not None:
        site["megapacks"]["units"] = ini.megapacks_in_service
    if ini.turbines_in_service is not None:
        site["turbines"]["count"] = ini.turbines_in_service
    if ini.jobs is not None:
        data["jobs"] = [j.model_dump() for j in ini.jobs]
    if not ini.random_failures:
        fl = data["failures"]
        for k in ("gpu_per_gpu_day", "hbm_per_gpu_day", "nic_per_gpu_day", "psu_per_gpu_day", "software_per_gpu_day",
                  "pump_per_pump_year", "leak_per_rack_year", "chiller_per_chiller_year", "turbine_trip_per_start"):
            fl[k] = 0.0
        fl["fan_due_frac"] = 0.0
        site["grid"]["fluctuation_sags_per_day"] = 0.0
        quiet_network(data)  # fabric and storage too
    return Facility.model_validate(data)


def build_ops_config(sc: TrainingScenario, facility: Facility, base: OpsConfig | None = None) -> OpsConfig:
    """Operations for a drill: manual dispatch (the trainee dispatches), the scenario's staff and stock."""
    data = (base or OpsConfig()).model_dump()
    data["dispatch"] = "manual"
    ini = sc.initial
    if ini.technicians is not None:
        data["technicians"] = [t.model_dump() for t in ini.technicians]
    for part, n in ini.stock.items():
        data["spares"][part]["stock"] = n
    cfg = OpsConfig.model_validate(data)
    halls = {h.name for h in facility.halls}
    for t in cfg.technicians:
        if t.home != "BASE" and t.home not in halls:
            raise ValueError(f"technicians: {t.name}: home {t.home!r} is not BASE or a hall of this facility")
    return cfg


# --------------------------------------------------------------------------- the session log
class SessionLog:
    """Append-only JSON lines; every record is flushed and synced as it is written. A new session starts a
    new file (an existing file at the path is replaced)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fh = open(self.path, "w", encoding="utf-8")  # noqa: SIM115 (kept open for the session)

    def write(self, record: dict) -> None:
        if self._fh is None:
            return
        self._fh.write(json.dumps(record, separators=(",", ":"), default=_json_default) + "\n")
        self._fh.flush()
        os.fsync(self._fh.fileno())

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None


def _json_default(o):
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    raise TypeError(type(o).__name__)


def read_log(path: str | Path) -> list[dict]:
    """The records of a session log; a last line cut short by a crash is skipped."""
    out = []
    with open(path, encoding="utf-8") as fh:
        lines = fh.read().split("\n")
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:
            if i >= len(lines) - 2:
                break  # torn last line
            raise ValueError(f"{path}:{i + 1}: not a session log line") from None
    if not out or out[0].get("type") != "header" or out[0].get("format") != LOG_FORMAT:
        raise ValueError(f"{path}: not a Colossus GUI session log (no {LOG_FORMAT} header)")
    return out


def _wall() -> str:
    # when a person did something (for the record); the simulation never reads it
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


# --------------------------------------------------------------------------- the session
class TrainingSession:
    """One trainee playing one scenario. Headless: call ``step()`` or ``play(script)``; in the GUI the sim
    driver steps the engine and calls ``after_engine_step(dt)`` as a step hook, and widgets act through
    ``session.ops`` (an OpsManager look-alike that logs) and the action methods."""

    def __init__(self, scenario: TrainingScenario, facility: Facility, *, seed: int | None = None,
                 trainee: str = "trainee", log_path: str | Path | None = None, scenario_name: str = "",
                 ops_config: OpsConfig | None = None, dt: float = 1.0, telemetry_capacity: int | None = None):
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
        self.raw_ops = OpsManager(eng, self.ops_config, seed=self.seed)
        self.raw_ops.alarms.listeners.append(self._on_alarm)
        self.keeper = ScoreKeeper(self.scenario, eng)
        self.faults: list[FaultState] = self._make_faults()
        self._by_id = {f.id: f for f in self.faults}
        self._event_cursor = len(eng.events)
        self._ops_cursor = 0
        self._ops_pending: list[tuple[float, str, str]] = []
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
        """One engine step and everything after it (headless)."""
        if self.ended:
            return
        self.engine.step(self.dt)
        self.after_engine_step(self.dt)

    def after_engine_step(self, dt: float | None = None) -> None:
        """The step hook: call after every ``engine.step`` (the GUI's sim driver does)."""
        if self.ended:
            return
        self._process(self.dt if dt is None else float(dt))

    def _process(self, dt: float) -> None:
        t = self.t
        self._fire_due(t)
        self.raw_ops.step()
        self._read_ops_events()
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
        new = eng.events[self._event_cursor:]
        self._event_cursor = len(eng.events)
        events = [(ev.t_s, ev.kind, ev.address) for ev in new] + self._ops_pending
        self._ops_pending = []
        if events:
            self._match_events(events)
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

    def _read_ops_events(self) -> None:
        evs = self.raw_ops.events
        new = evs[self._ops_cursor:]
        self._ops_cursor = len(evs)
        for ev in new:
            if ev.kind in ("wo_created", "wo_assigned", "wo_closed"):
                wo = self.raw_ops.work_orders.get(int(ev.ref)) if ev.ref.isdigit() else None
                self._ops_pending.append((ev.t_s, ev.kind, wo.target if wo else ev.ref))

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
                n0 = len(eng.events)
                eng.inject(fs.kind, fs.target, depth=p.get("depth"), duration=p.get("duration"),
                           delta_c=p.get("delta_c"), ramp_s=p.get("ramp_s"), cause=fs.origin)
                started = [ev for ev in eng.events[n0:] if ev.kind == "fault_started"]
                if not started:
                    fs.note = "already failed: nothing happened"
                    self._set_state(fs, "skipped", t)
                else:
                    fs.address = started[0].address
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

    def _on_alarm(self, alarm, what: str) -> None:
        self.keeper.on_alarm(alarm, what, self.raw_ops.alarms.t)
        if what in ("raised", "reactivated", "escalated"):
            self._ops_pending.append((self.raw_ops.alarms.t, "alarm_raised", alarm.component))
        elif what == "acknowledged":
            self._ops_pending.append((self.raw_ops.alarms.t, "alarm_acknowledged", alarm.component))

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
    def do(self, action: str, who: str = "trainee", raise_errors: bool = False, **args) -> ActionRecord:
        """Carry out an action now, log it, and return its record. With ``raise_errors`` a failed action
        raises TrainingError (after being logged); otherwise ``record.ok`` is False and ``record.error`` says why."""
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
            self._rebuild(rec.result["to_t"], rec.result["marker_seq"])
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
        if kind not in FAULT_TARGETS:
            raise TrainingError(f"unknown fault kind {kind!r} (kinds: {', '.join(FAULT_TARGETS)})")
        if kind == "grid_sag" and (depth is None or duration is None):
            raise TrainingError("grid_sag needs depth (0-1) and duration (s)")
        if kind == "grid_outage" and duration is None:
            raise TrainingError("grid_outage needs duration (s)")
        if kind != "heat_wave":
            a = self.engine.parse(target)
            if a.kind not in FAULT_TARGETS[kind]:
                raise TrainingError(f"{kind} needs a {' or '.join(FAULT_TARGETS[kind])} address, not {a.text} "
                                    f"({a.kind})")
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
            trays = slice(r * topo.trays_per_rack, (r + 1) * topo.trays_per_rack)
            return bool((~eng.pump_ok[r]).any() or (~eng.fan_ok[r]).any() or eng.leak[r]
                        or (~eng.gpu_ok[r]).any() or eng.gpu_tripped[r].any() or (~eng.psu_ok[trays]).any()
                        or (~eng.nic_ok[trays]).any() or (eng.pump_capacity[r] < 1).any())
        if a.kind == "chiller":
            return bool(not eng.chiller_ok[a.index] or eng.chiller_capacity[a.index] < 1)
        if a.kind == "turbine":
            return bool(eng.gt_state[a.index] == 3)
        if a.kind == "hall":
            return any(al.hall == a.index for al in active)
        if a.kind in ("leaf", "spine", "superspine"):  # network and storage: is the part itself failed?
            return bool(not eng.fabric.switch_ok[a.index])
        if a.kind == "port":
            return bool(not eng.fabric.link_ok[a.index] or eng.fabric.link_flapping[a.index])
        if a.kind == "storage_node":
            return bool(not eng.storage.node_ok[a.index])
        if a.kind == "drive":
            return bool(not eng.storage.drive_ok[self.topo.net.drive_index(a.index, a.sub)])
        return any(al.component == a.text for al in active)

    def _still_failed(self, wo) -> bool:
        eng = self.engine
        try:
            a = eng.parse(wo.target)
        except SimError:
            return False
        if a.kind == "pump":
            return bool(not eng.pump_ok[a.index, a.sub] or eng.pump_capacity[a.index, a.sub] < 1)
        if a.kind == "fan":
            return bool(not eng.fan_ok[a.index, a.sub])
        if a.kind == "chiller":
            return bool(not eng.chiller_ok[a.index])
        if a.kind == "turbine":
            return bool(eng.gt_state[a.index] == 3)
        if a.kind == "cdu":
            return bool(eng.leak[a.index])
        if a.kind == "gpu":
            r, g = divmod(a.index, self.topo.gpus_per_rack)
            return bool(not eng.gpu_ok[r, g])
        return self._needed(wo.target)

    # ------------------------------------------------------------------ restore (rewind + replay)
    def _rebuild(self, to_t: float, marker_seq: int) -> None:
        keep = [r for r in self._effective if r.t_s < to_t - _EPS or (abs(r.t_s - to_t) <= _EPS
                                                                     and r.seq < marker_seq)]
        self._effective = []
        self.replay_to(keep, to_t)
        self._notify("rebuilt", to_t)

    def replay_to(self, actions: list[ActionRecord], t_end: float) -> None:
        """Rewind to t = 0 and re-simulate to ``t_end`` applying ``actions`` at their times (no logging)."""
        eng = self.engine
        eng.restore(self._snap0)
        eng.telemetry.clear()
        self._reset_mutable()
        self.ended = self.aborted = False
        self.end_reason, self.final_score = None, None
        self.backtracks = []
        self.snapshots = []  # the kept snapshot actions put theirs back
        self._replaying = True
        try:
            self._build_runtime()
            pending = list(actions)
            while True:
                while pending and pending[0].t_s <= self.t + _EPS:
                    self._apply_record(pending.pop(0))
                if self.ended or self.t + _EPS >= t_end:
                    break
                self.step()
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

    def close(self) -> None:
        if self.log is not None:
            self.log.close()

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
    def from_log(cls, path: str | Path, until_t: float | None = None) -> TrainingSession:
        """Re-simulate a session from its log (complete, or cut short by a crash) to ``until_t`` (default: where
        it ended, or the last time the log knows)."""
        recs = read_log(path)
        head = recs[0]
        sc = TrainingScenario.model_validate(head["scenario"])
        fac = Facility.model_validate(head["facility"])
        s = cls(sc, fac, seed=head["seed"], trainee=head.get("trainee", "trainee"),
                scenario_name=head.get("scenario_name", ""), dt=head.get("dt", 1.0))
        s.started_wall = head.get("started", "")
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
            s.records.append(rec)
            s._seq = max(s._seq, rec.seq)
            if rec.action == "restore" and rec.ok:
                # the log goes on in wall-clock order: what follows belongs to the branch from to_t
                to_t, mseq = rec.result["to_t"], rec.result["marker_seq"]
                effective = [x for x in effective if x.t_s < to_t - _EPS or (abs(x.t_s - to_t) <= _EPS
                                                                             and x.seq < mseq)]
                end_t, last_t = None, to_t
                continue
            effective.append(rec)
            last_t = rec.t_s
        target = until_t if until_t is not None else (end_t if end_t is not None else last_t)
        s.replay_to(effective, target)
        if until_t is None and end_t is not None and not s.ended:
            s._finish(end_reason)
        return s


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


# --------------------------------------------------------------------------- small helpers
def _who_of(who: str) -> str:
    return "instructor" if who == "instructor" else "trainee"


def _who_text(who: str) -> str:
    return "instructor" if who == "instructor" else "trainee"


def _plain(args: dict) -> dict:
    out = {}
    for k, v in args.items():
        if isinstance(v, np.generic):
            v = v.item()
        elif isinstance(v, (list, tuple)):
            v = [x.item() if isinstance(x, np.generic) else x for x in v]
        out[k] = v
    return out


def _message(e: Exception) -> str:
    if isinstance(e, ValidationError):
        return e.errors()[0]["msg"]
    return str(e.args[0]) if e.args else str(e)


def _clock(t: float) -> str:
    t = max(0, int(round(t)))
    return f"{t // 3600:02d}:{t % 3600 // 60:02d}:{t % 60:02d}"


def _describe_trigger(f: TrainingFault) -> str:
    if f.at is not None:
        return f"at {_clock(f.at)}"
    if f.after is not None:
        what = f"fault {f.after.fault}" if f.after.fault else f"{f.after.event}" + (
            f" on {f.after.address}" if f.after.address else "")
        return f"{f.after.delay_s:g} s after {what}"
    if f.when is not None:
        return f"when {f.when}" + (f" for {f.hold_s:g} s" if f.hold_s else "")
    return "random"


__all__ = ["ENGINE_EVENT_KINDS", "ActionRecord", "FaultState", "Marker", "ScriptPlayer", "SessionLog",
           "TrainingError", "TrainingOps", "TrainingSession", "build_facility", "build_ops_config", "read_log"]
