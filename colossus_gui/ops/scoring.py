"""Scoring a training session: weighted criteria, each shown with its value, target and the points it cost.

A criterion loses no points at or below its ``target`` and all of its points at ``worst`` (linear between).
Weights are relative: they are scaled so that all criteria and objectives together are worth 100 points.
Hints and an aborted session cost points on top. The keeper accumulates per-step figures with array work only
(hot racks, halls under a power cap); everything else is read from the session when a score is asked for, so
the live score and the final score are the same computation at different times.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np

from ..model.training import Objective, ScriptedAction, TermRule, TrainingScenario
from ..sim.engine import RUNNING
from ..sim.events import ALARM, EventKind
from .conditions import parse_condition

# key -> (label, unit, how it is measured)
TERM_INFO: dict[str, tuple[str, str, str]] = {
    "time_to_acknowledge": ("Time to acknowledge", "s", "mean over alarm raises (an open one counts until now)"),
    "time_to_dispatch": ("Time to dispatch", "s", "mean over work orders, created to technician assigned"),
    "time_to_resolve": ("Time to resolve", "s", "mean over repairable faults, fired to repaired"),
    "gpu_seconds_above_limit": ("GPU-seconds above the limit", "GPU-s", "GPU junctions above the limit, summed "
                                                                        "every step"),
    "gpu_hours_lost": ("GPU-hours out of service", "GPU-h", "GPUs out of the job pool (failed, drained, "
                                                            "isolated)"),
    "goodput_lost_pct": ("Goodput lost", "%", "100 x (1 - goodput): work thrown away, restarts, checkpoints, "
                                              "throttling"),
    "capped_gpu_hours": ("Throughput given up to power caps", "GPU-h", "GPUs under an operator cap or load "
                                                                       "shedding, weighted by job value"),
    "unnecessary_actions": ("Unnecessary actions", "", "failed actions, work orders on healthy parts, cancelled "
                                                       "repairs, controls the drill does not need"),
    "reference_actions": ("Reference actions missed or late", "", "fraction of the reference solution not done "
                                                                  "by its time"),
}


@dataclass
class Term:
    key: str
    label: str
    value: float
    unit: str
    target: float
    worst: float
    weight: float
    max_points: float
    points_lost: float
    detail: str = ""
    kind: str = "criterion"  # criterion | objective | hints | abort

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class Score:
    total: float
    t_s: float
    terms: list[Term] = field(default_factory=list)
    aborted: bool = False
    final: bool = False

    def to_dict(self) -> dict:
        return {"total": round(self.total, 3), "t_s": self.t_s, "aborted": self.aborted, "final": self.final,
                "terms": [t.to_dict() for t in self.terms]}

    def term(self, key: str) -> Term:
        return next(t for t in self.terms if t.key == key)


def fraction_lost(value: float, rule: TermRule) -> float:
    if not math.isfinite(value):
        return 1.0
    return float(min(1.0, max(0.0, (value - rule.target) / (rule.worst - rule.target))))


@dataclass
class _ObjectiveState:
    spec: Objective
    cond: object
    violated_t: float | None = None  # always
    met_t: float | None = None       # by


_SEVERITY = {1: "warning", 2: "critical"}


class ScoreKeeper:
    """Per-step accumulators and the alarm acknowledgement ledger of one session run."""

    def __init__(self, scenario: TrainingScenario, engine):
        self.scenario = scenario
        self.rules = scenario.scoring
        self.engine = engine
        topo = engine.topo
        self.limit_c = float(self.rules.gpu_limit_c)
        self.gpu_s_above = 0.0
        self.capped_gpu_s = 0.0
        # one entry per alarm raise that needs an acknowledgement: [alarm id, rule, component, severity, raised, acked],
        # read from the run's event log (``ledger`` reads what is new first); ``_seqs``: the log positions of
        # each entry's raise and acknowledgement (-1 none), to undo what a rewound log no longer holds
        self._ledger: list[list] = []
        self._seqs: list[list[int]] = []
        self._open: dict[int, list[int]] = {}  # alarm id -> its open entries (positions in the ledger)
        self.event_cursor = engine.events.cursor()
        self.hints: list[dict] = []
        self.objectives = [_ObjectiveState(o, parse_condition(o.condition, topo)) for o in scenario.objectives]
        # per hall: the job running there (index) and its value weight
        hall_job = np.full(topo.n_halls, -1)
        for j, job in enumerate(engine.jobs):
            for h in job.halls:
                hall_job[topo.hall_names.index(h)] = j
        self._hall_job = hall_job
        self._job_weight = np.array([self.rules.job_weights.get(j.name, 1.0) for j in engine.jobs] or [1.0])
        first = topo.hall_rack_start[:-1]
        self._hall_tdp = engine.rack_tdp_w[first]
        self._hall_pmin = engine.rack_pmin_w[first]
        self._hall_start = first

    # ------------------------------------------------------------------ inputs
    @property
    def ledger(self) -> list[list]:
        """The alarm raises so far with their acknowledgement times (from the event log, up to now)."""
        self.read_alarm_events()
        return self._ledger

    def read_alarm_events(self) -> None:
        """Take the alarm raises and acknowledgements logged since the last read into the ledger."""
        batch = self.engine.events.since(self.event_cursor)
        self.event_cursor = batch.cursor
        if batch.rewound:  # the log was cut under us (not by a Run restore): forget what it no longer holds
            self._rewind(batch.cursor.seq - len(batch.events))
        for ev in batch.events:
            if ev.component != ALARM:
                continue
            if ev.kind == EventKind.ALARM_RAISED:
                self._open.setdefault(ev.index, []).append(len(self._ledger))
                self._ledger.append([ev.index, ev.cause, ev.address, _SEVERITY.get(ev.severity, str(ev.severity)),
                                     float(ev.t_s), None])
                self._seqs.append([ev.seq, -1])
            elif ev.kind == EventKind.ALARM_ACKED:
                for k in self._open.pop(ev.index, []):
                    self._ledger[k][5] = float(ev.t_s)
                    self._seqs[k][1] = ev.seq

    def adopt_cursor(self) -> None:
        """After a Run restore: the ledger came back with the state, so the cursor is right for it."""
        self.event_cursor = self.engine.events.adopt(self.event_cursor)

    def _rewind(self, seq: int) -> None:
        keep = [k for k, (raised, _) in enumerate(self._seqs) if raised < seq]
        self._ledger = [self._ledger[k] for k in keep]
        self._seqs = [self._seqs[k] for k in keep]
        self._open = {}
        for k, (entry, seqs) in enumerate(zip(self._ledger, self._seqs, strict=True)):
            if seqs[1] >= seq:
                entry[5], seqs[1] = None, -1
            if entry[5] is None:
                self._open.setdefault(entry[0], []).append(k)

    def accumulate(self, dt: float) -> None:
        e = self.engine
        t = float(e.t)
        if dt > 0:
            hot = np.flatnonzero(e.rack_hottest_c > self.limit_c)
            if hot.size:
                self.gpu_s_above += float(np.count_nonzero(e.tj[hot] > self.limit_c)) * dt
            if e.shed_frac > 0 or np.isfinite(e.power_cap_w).any():
                self.capped_gpu_s += self._capped_gpus() * dt
        for o in self.objectives:
            if o.spec.check == "always" and o.violated_t is None and not o.cond.holds(e):
                o.violated_t = t
            elif o.spec.check == "by" and o.met_t is None and t <= o.spec.by_s + 1e-9 and o.cond.holds(e):
                o.met_t = t

    def _capped_gpus(self) -> float:
        """GPU-equivalents of throughput given up to caps now: the engine's thermal-cap clock law
        (clock ~ (power / demand)^0.4) applied to the operator cap and load shedding, per hall."""
        e = self.engine
        cap = np.minimum(e.power_cap_w, self._hall_tdp)
        if e.shed_frac > 0:
            cap = np.maximum(self._hall_pmin, cap * (1.0 - e.shed_frac))
        e.tray_available()
        up = np.add.reduceat(e.rack_gpus_up, self._hall_start).astype(np.float64)
        total = 0.0
        for h, j in enumerate(self._hall_job):
            if j < 0 or e.job_state[j] != RUNNING:
                continue
            demand = e.jobs[j].compute_w
            if cap[h] >= demand:
                continue
            loss = 1.0 - (cap[h] / demand) ** 0.4
            total += loss * up[h] * self._job_weight[j]
        return total

    # ------------------------------------------------------------------ the score
    def score(self, session, final: bool = False) -> Score:
        e, ops, rules = self.engine, session.raw_ops, self.rules
        now = float(e.t)
        values: dict[str, tuple[float, str]] = {}
        # acknowledge
        if self.ledger:
            waits = [(acked if acked is not None else now) - raised for *_, raised, acked in self.ledger]
            n_open = sum(1 for entry in self.ledger if entry[5] is None)
            values["time_to_acknowledge"] = (float(np.mean(waits)), f"{len(waits)} alarm raise(s), {n_open} not "
                                                                    "acknowledged")
        else:
            values["time_to_acknowledge"] = (0.0, "no alarms")
        # dispatch
        wos = [w for w in ops.work_orders.values() if w.state != "cancelled"]
        if wos:
            waits = [(w.assigned_t if w.assigned_t is not None else now) - w.created_t for w in wos]
            n_open = sum(1 for w in wos if w.assigned_t is None)
            values["time_to_dispatch"] = (float(np.mean(waits)), f"{len(wos)} work order(s), {n_open} not "
                                                                 "dispatched")
        else:
            values["time_to_dispatch"] = (0.0, "no work orders")
        # resolve
        rep = [f for f in session.faults if f.repairable and f.fired_t is not None]
        if rep:
            waits = [(f.cleared_t if f.cleared_t is not None else now) - f.fired_t for f in rep]
            n_open = sum(1 for f in rep if f.cleared_t is None)
            values["time_to_resolve"] = (float(np.mean(waits)), f"{len(rep)} repairable fault(s), {n_open} not "
                                                                "repaired")
        else:
            values["time_to_resolve"] = (0.0, "no repairable faults fired")
        values["gpu_seconds_above_limit"] = (self.gpu_s_above, f"limit {self.limit_c:g} C")
        lost_h = float(ops.gpu_s_lost.sum()) / 3600.0
        values["gpu_hours_lost"] = (lost_h, f"{int(e.rack_gpus_up.sum()):,} of {e.n_gpus:,} GPUs in service now")
        values["goodput_lost_pct"] = (100.0 * (1.0 - e.goodput()), f"goodput {e.goodput():.4f}; "
                                                                    f"{int(e.job_interruptions.sum())} interruption(s)")
        values["capped_gpu_hours"] = (self.capped_gpu_s / 3600.0, "job weights " + (
            ", ".join(f"{k} {v:g}" for k, v in rules.job_weights.items()) or "all 1"))
        unn = [r for r in session.effective_actions() if r.unnecessary]
        values["unnecessary_actions"] = (float(len(unn)), "; ".join(f"t={r.t_s:.0f} s {r.action}: {r.unnecessary}"
                                                                    for r in unn[:6]) + (" ..." if len(unn) > 6 else ""))
        matches = session.reference_matches()
        if matches:
            bad = [m for m in matches if m["status"] != "on time" and (final or m["by_s"] is None or m["by_s"] < now)]
            values["reference_actions"] = (len(bad) / len(matches), f"{len(matches) - len(bad)} of {len(matches)} "
                                                                    "on time (or not yet due)")
        else:
            values["reference_actions"] = (0.0, "no reference solution")

        weights = {k: getattr(rules, k).weight for k in rules.TERMS}
        obj_w = {o.spec.id: o.spec.weight for o in self.objectives}
        total_w = sum(weights.values()) + sum(obj_w.values())
        scale = 100.0 / total_w if total_w > 0 else 0.0
        terms: list[Term] = []
        for k in rules.TERMS:
            rule: TermRule = getattr(rules, k)
            v, detail = values[k]
            label, unit, how = TERM_INFO[k]
            mx = rule.weight * scale
            terms.append(Term(k, label, float(v), unit, rule.target, rule.worst, rule.weight, mx,
                              mx * fraction_lost(v, rule), f"{how}; {detail}" if detail else how))
        for o in self.objectives:
            met, detail = self._objective_state(o, now, final)
            mx = o.spec.weight * scale
            terms.append(Term(f"objective:{o.spec.id}", o.spec.text, 1.0 if met else 0.0, "met", 1.0, 0.0,
                              o.spec.weight, mx, 0.0 if met else mx, f"{o.spec.condition} ({o.spec.check}); {detail}",
                              kind="objective"))
        hint_pts = sum(h["cost"] for h in self.hints)
        terms.append(Term("hints", "Hints used", float(len(self.hints)), "", 0.0, 0.0, 0.0, hint_pts, hint_pts,
                          ", ".join(f"{h['id']} (-{h['cost']:g})" for h in self.hints) or "none", kind="hints"))
        if session.aborted:
            pen = rules.abort.penalty if rules.abort else 30.0
            terms.append(Term("aborted", "Session aborted", 1.0, "", 0.0, 0.0, 0.0, pen, pen,
                              session.end_reason or "", kind="abort"))
        total = max(0.0, min(100.0, 100.0 - sum(t.points_lost for t in terms)))
        return Score(total=total, t_s=now, terms=terms, aborted=session.aborted, final=final)

    def _objective_state(self, o: _ObjectiveState, now: float, final: bool) -> tuple[bool, str]:
        chk = o.spec.check
        if chk == "always":
            if o.violated_t is not None:
                return False, f"violated at t={o.violated_t:.0f} s"
            return True, "held so far" if not final else "held throughout"
        if chk == "by":
            if o.met_t is not None:
                return True, f"met at t={o.met_t:.0f} s"
            if now < o.spec.by_s and not final:
                return True, f"not yet (due by t={o.spec.by_s:.0f} s)"
            return False, f"not met by t={o.spec.by_s:.0f} s"
        holds = bool(o.cond.holds(self.engine))
        return holds, ("holds" if holds else "does not hold") + (" at the end" if final else " now")


# --------------------------------------------------------------------------- reference solution
_MATCH_KEYS = ("target", "hall", "job", "component", "fault", "hint")


def match_reference(reference: list[ScriptedAction], actions: list, topo) -> list[dict]:
    """Pair each reference action with the first trainee action of the same kind and key arguments (target:
    the same component or the same rack). Each trainee action pairs with at most one reference action."""
    used: set[int] = set()
    out = []

    def rack(text):
        try:
            return topo.rack_of(topo.parse(text))
        except ValueError:
            return None

    def same_place(want: str, got: str | None) -> bool:
        if got is None:
            return False
        if got == want:
            return True
        try:
            w = topo.parse(want)
        except ValueError:
            return False
        rg = rack(got)
        if w.kind == "hall":  # a reference naming a hall: anything inside it
            return rg is not None and int(topo.rack_hall[rg]) == w.index
        rw = topo.rack_of(w)
        return rw is not None and rw == rg

    for ref in reference:
        if ref.action in ("note", "freeze", "run", "speed", "snapshot", "restore", "end"):
            continue
        want = ref.args()
        found = None
        for r in actions:
            if r.seq in used or r.action != ref.action or not r.ok:
                continue
            ok = True
            for k in _MATCH_KEYS:
                if k not in want:
                    continue
                got = r.args.get(k, r.result.get(k))
                ok = same_place(want[k], got) if k in ("target", "component") else got == want[k]
                if not ok:
                    break
            if ok:
                found = r
                break
        if found is not None:
            used.add(found.seq)
        by = ref.by_s
        status = "missing" if found is None else ("on time" if by is None or found.t_s <= by + 1e-9 else "late")
        out.append({"action": ref.action, "args": want, "when": ref.at if ref.at is not None else ref.when,
                    "by_s": by, "why": ref.why, "done_t": found.t_s if found else None, "status": status})
    return out
